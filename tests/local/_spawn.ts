/**
 * `mixpeek local` as its own process (as a user starts it), for the tests that attack it from outside:
 * its pid (for /proc and signals), its URL and key from the `--json` line, its stderr; and raw TCP
 * connections that speak HTTP/1.1 byte by byte, as an attacker does.
 */
import { baseEnv, MAIN, PERMISSIONS } from "../helpers/cli.ts";
import { startLocalProcess } from "../helpers/local_process.ts";

export interface Spawned extends AsyncDisposable {
  child: Deno.ChildProcess;
  pid: number;
  url: string;
  key: string;
  dataDir: string;
  stderr(): string;
  /** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM) or as a number (Threads). */
  status(field: "VmRSS" | "VmHWM" | "Threads"): number;
  /** An API call with the key. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stderr: string }>;
}

/** Starts `mixpeek --json local --port 0 --data-dir dataDir …args` and waits for its JSON line. */
export async function spawnRegistry(dataDir: string, home: string, args: string[] = []): Promise<Spawned> {
  const local = await startLocalProcess(
    [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN],
    dataDir,
    await baseEnv(home),
    args,
  );
  const { url, key, pid } = local;
  return {
    child: local.child,
    pid,
    url,
    key,
    dataDir,
    stderr: local.stderr,
    status(field) {
      const text = Deno.readTextFileSync(`/proc/${pid}/status`);
      const value = Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(text)?.[1]);
      return field === "Threads" ? value : value * 1024;
    },
    async api(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch { /* not JSON */ }
      return { status: response.status, json, text };
    },
    stop: local.stop,
    async [Symbol.asyncDispose]() {
      await local.stop("SIGKILL");
    },
  };
}

export const ENCODER = new TextEncoder();

/** A raw TCP connection to the registry's port. */
export async function connect(url: string): Promise<Deno.Conn> {
  const { hostname, port } = new URL(url);
  return await Deno.connect({ hostname, port: Number(port) });
}

/** Everything the server sends until it closes the connection (a reset counts as closing). */
export async function readUntilClosed(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(16 * 1024);
  let text = "";
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } catch { /* reset */ }
  try {
    conn.close();
  } catch { /* closed */ }
  return text;
}

/** The head of a presigned PUT of `length` bytes, as a client sends it (asking to close after the answer). */
export function putHead(presignedUrl: string, length: number, contentType = "application/gzip"): Uint8Array {
  const url = new URL(presignedUrl);
  return ENCODER.encode(
    `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${length}\r\nConnection: close\r\n\r\n`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value other than undefined (a cap, not a timing assertion). */
export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 60_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(25);
  }
}

/** The names in a folder (none when it does not exist). */
export async function names(folder: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) out.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

/**
 * Runs `mixpeek local …args` to its end, killed after `capMs` if it keeps running (exit 137 then: a start that
 * should have been refused was not).
 */
export async function runLocal(
  args: string[],
  home: string,
  capMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, MAIN, "local", ...args],
    env: await baseEnv(home),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), capMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
