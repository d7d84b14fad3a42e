/**
 * `mixpeek local` in its own process, as a user starts it: the one starter the suites share (the
 * distribution, contract, deploy and registry tests), whatever the command that runs the CLI (a `deno run`
 * with some permission set, a compiled binary).
 */

/** How long a registry may take to print its start document. */
const START_CAP_MS = 60_000;

export interface LocalProcess extends AsyncDisposable {
  url: string;
  key: string;
  /** host:port, what --allow-net needs. */
  host: string;
  /** The registry's process id (its memory can be read from /proc/<pid>/status). */
  pid: number;
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` unless it already exited, and waits for the exit and the end of its output. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/**
 * Starts `<command> --json local --port 0 --data-dir <dataDir> [localArgs…]` in `env` alone and waits for
 * its start document. Disposing it stops it with SIGTERM.
 */
export async function startLocalProcess(
  command: string[],
  dataDir: string,
  env: Record<string, string>,
  localArgs: string[] = [],
): Promise<LocalProcess> {
  const child = new Deno.Command(command[0], {
    args: [...command.slice(1), "--json", "local", "--port", "0", "--data-dir", dataDir, ...localArgs],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let out = "";
  let err = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (err += t) }),
  ).catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // A cap, not a timing assertion: a registry that never says it started is killed, and the test fails.
  const cap = setTimeout(() => child.kill("SIGKILL"), START_CAP_MS);
  let info: { base_url: string; api_key: string } | undefined;
  try {
    while (!info) {
      const { value, done } = await reader.read();
      if (done) {
        await status;
        await errDone;
        throw new Error(`mixpeek local did not start:\nstdout: ${out}\nstderr: ${err}`);
      }
      out += value;
      try {
        info = JSON.parse(out);
      } catch { /* not the whole document yet */ }
    }
  } finally {
    clearTimeout(cap);
  }
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    const { code } = await status;
    await Promise.all([drain, errDone]);
    return { code, stderr: err };
  };
  return {
    url: info.base_url,
    key: info.api_key,
    host: new URL(info.base_url).host,
    pid: child.pid,
    child,
    stderr: () => err,
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
    },
  };
}
