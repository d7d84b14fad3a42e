/**
 * Spawns the CLI as a user would (`deno run` of main.ts with an explicit permission set) in a clean
 * environment: a temporary HOME and config dir, no MIXPEEK_* variables unless the test passes them.
 */

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const MAIN = `${ROOT}/main.ts`;

/** The permission set the CLI is run with in tests; the least-privilege invocation is tested separately. */
export const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-net",
  "--allow-sys",
];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  stdin?: string;
  /** Extra arguments for `deno run` before main.ts. */
  denoArgs?: string[];
}

let denoDir: string | undefined;

/** Deno's cache dir, passed on explicitly so a temporary HOME does not trigger a fresh download. */
export async function cacheDir(): Promise<string> {
  if (denoDir) return denoDir;
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return (denoDir = fromEnv);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  denoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  return denoDir;
}

/** The environment a fresh user would have: PATH, a HOME of its own and the Deno cache. */
export async function baseEnv(home: string): Promise<Record<string, string>> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    MIXPEEK_CONFIG_DIR: `${home}/.config/mixpeek`,
    DENO_DIR: await cacheDir(),
    DENO_NO_UPDATE_CHECK: "1",
    TMPDIR: Deno.env.get("TMPDIR") ?? "/tmp",
  };
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  await using home = await tempDir("mixpeek-home-");
  const env = { ...(await baseEnv(home.path)), ...(options.env ?? {}) };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, ...(options.denoArgs ?? []), MAIN, ...args],
    cwd: options.cwd,
    env,
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

export interface TempDir extends AsyncDisposable {
  path: string;
}

/** A temporary folder that removes itself (`await using dir = await tempDir()`). */
export async function tempDir(prefix = "mixpeek-test-"): Promise<TempDir> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.chmod(path, 0o755).catch(() => {});
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Runs a process and returns its exit code and output (for python3, pytest, tar …). */
export async function runProcess(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Typed answers for runInTerminal: wait for the regex, then send the keys ("\r" is Enter). */
export type TerminalScript = [expect: string, keys: string | string[]][];

/**
 * Runs `mixpeek args…` in a real pseudo-terminal (tests/helpers/pty_drive.py), typing `script` at the
 * prompts, with a fresh HOME in `home`; returns the CLI's exit code and what the screen showed (`output`:
 * ANSI codes stripped; `raw`: as written, for tests of what a redrawn line leaves on screen).
 */
export async function runInTerminal(
  args: string[],
  script: TerminalScript,
  options: { home: string; cwd?: string; env?: Record<string, string> },
): Promise<{ exit_code: number; output: string; raw: string }> {
  const scriptFile = `${options.home}/pty-script-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(scriptFile, JSON.stringify(script));
  const env = { ...(await baseEnv(options.home)), ...(options.env ?? {}), TERM: "xterm" };
  const drive = await runProcess("python3", [
    `${ROOT}/tests/helpers/pty_drive.py`,
    scriptFile,
    "--",
    Deno.execPath(),
    "run",
    "--quiet",
    ...PERMISSIONS,
    MAIN,
    ...args,
  ], { cwd: options.cwd, env });
  if (drive.code !== 0) throw new Error(`the terminal session failed:\n${drive.stdout}${drive.stderr}`);
  return JSON.parse(drive.stdout);
}
