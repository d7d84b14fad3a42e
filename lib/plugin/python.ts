/**
 * Finding the author's Python and running it as a child process that cannot hang the CLI: each child gets
 * its own process group, and a timeout (or an abort) stops the whole group — SIGTERM first, so the harness
 * can say where it was, then SIGKILL.
 */
import { delimiter, isAbsolute, join, resolve } from "../paths.ts";
import { FailedError, UsageError } from "../errors.ts";

export type PythonSource = "--python" | "MIXPEEK_PYTHON" | ".venv" | "PATH";

export interface PythonChoice {
  /** What to spawn: an absolute path. */
  command: string;
  source: PythonSource;
}

export interface EnvLike {
  get(key: string): string | undefined;
}

export interface FindPythonOptions {
  /** The `--python` flag. */
  flag?: string;
  env?: EnvLike;
  cwd?: string;
  os?: typeof Deno.build.os;
}

async function _isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** `name` on PATH (with PATHEXT on Windows), or undefined. */
export async function which(name: string, env: EnvLike, os = Deno.build.os): Promise<string | undefined> {
  const dirs = (env.get("PATH") ?? env.get("Path") ?? "").split(os === "windows" ? ";" : delimiter);
  const exts = os === "windows" ? ["", ...(env.get("PATHEXT") ?? ".EXE;.BAT;.CMD").split(";")] : [""];
  for (const dir of dirs) {
    if (dir === "") continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (!(await _isFile(candidate))) continue;
      if (os !== "windows") {
        const mode = (await Deno.stat(candidate)).mode;
        if (mode !== null && (mode & 0o111) === 0) continue;
      }
      return candidate;
    }
  }
  return undefined;
}

/** A path (anything with a separator) must exist; a bare name is looked up on PATH. */
async function _explicit(value: string, origin: string, options: FindPythonOptions): Promise<string> {
  const env = options.env ?? Deno.env;
  if (/[\\/]/.test(value) || isAbsolute(value)) {
    const path = resolve(options.cwd ?? Deno.cwd(), value);
    if (await _isFile(path)) return path;
    throw new UsageError(`${origin} ${value}: no such file`, { hint: "point it at a Python 3 interpreter" });
  }
  const found = await which(value, env, options.os);
  if (found) return found;
  throw new UsageError(`${origin} ${value}: not found on PATH`, { hint: "give the interpreter's full path" });
}

/** Python discovery: `--python`, `MIXPEEK_PYTHON`, the plugin's `.venv`, then `python3` / `python` on PATH. */
export async function findPython(root: string, options: FindPythonOptions = {}): Promise<PythonChoice> {
  const env = options.env ?? Deno.env;
  const os = options.os ?? Deno.build.os;
  if (options.flag !== undefined && options.flag !== "") {
    return { command: await _explicit(options.flag, "--python", options), source: "--python" };
  }
  const fromEnv = env.get("MIXPEEK_PYTHON");
  if (fromEnv) {
    return { command: await _explicit(fromEnv, "MIXPEEK_PYTHON=", options), source: "MIXPEEK_PYTHON" };
  }
  const venv = os === "windows"
    ? join(root, ".venv", "Scripts", "python.exe")
    : join(root, ".venv", "bin", "python");
  if (await _isFile(venv)) return { command: venv, source: ".venv" };
  for (const name of ["python3", "python"]) {
    const found = await which(name, env, os);
    if (found) return { command: found, source: "PATH" };
  }
  throw new FailedError(
    "no Python found: tried --python, MIXPEEK_PYTHON, .venv/ in the plugin, python3 and python",
    {
      hint: "install Python 3.8+ with pydantic (and pytest for tests/), or pass --python /path/to/python",
    },
  );
}

export interface ChildOptions {
  args: string[];
  cwd: string;
  /** Added to the inherited environment; with `clearEnv`, the whole environment (see childEnv()). */
  env?: Record<string, string>;
  /** Start from an empty environment instead of this process's (plugin code: always, via childEnv()). */
  clearEnv?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Written to the child's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** Called with each line of stdout as it arrives (stdout is then not collected). */
  onStdoutLine?: (line: string) => void;
}

export interface ChildResult {
  code: number;
  signal: Deno.Signal | null;
  timed_out: boolean;
  aborted: boolean;
  /** Collected stdout (empty when onStdoutLine is given), capped at the last MAX_CAPTURE characters. */
  stdout: string;
  stderr: string;
  duration_ms: number;
}

export const MAX_CAPTURE = 1_000_000;
/** How long the child gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1_500;
/** How long to wait for pipes to close after the child exited (a leftover grandchild may hold them). */
const DRAIN_MS = 300;

/** Signals the child's whole process group (what the plugin started too), or the child alone on Windows. */
export function killGroup(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    if (Deno.build.os === "windows") child.kill(signal);
    else Deno.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function _readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  if (pending !== "") onLine(pending);
}

/** Writes `text` and closes the pipe; a child that exits without reading it is not an error. */
function _feed(stdin: WritableStream<Uint8Array>, text: string): void {
  const writer = stdin.getWriter();
  writer.write(new TextEncoder().encode(text)).then(() => writer.close()).catch(() => {});
}

async function _collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    sink.text += chunk;
    if (sink.text.length > 2 * MAX_CAPTURE) sink.text = sink.text.slice(-MAX_CAPTURE);
  }
}

/**
 * Runs `command` in its own process group, with stdin closed (or fed `options.stdin`). Never rejects for the child's own failures
 * (they are in the result); throws FailedError only when the command cannot be started.
 */
export async function runChild(command: string, options: ChildOptions): Promise<ChildResult> {
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: options.args,
      cwd: options.cwd,
      env: options.env,
      clearEnv: options.clearEnv === true,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      detached: Deno.build.os !== "windows",
    }).spawn();
  } catch (error) {
    throw new FailedError(`cannot run ${command}: ${(error as Error).message}`, {
      cause: error,
      hint: "pass a working interpreter with --python or MIXPEEK_PYTHON",
    });
  }
  if (options.stdin !== undefined) _feed(child.stdin, options.stdin);
  const out = { text: "" };
  const err = { text: "" };
  const readers = Promise.all([
    options.onStdoutLine ? _readLines(child.stdout, options.onStdoutLine) : _collect(child.stdout, out),
    _collect(child.stderr, err),
  ]).catch(() => {});

  let timedOut = false;
  let aborted = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    killGroup(child, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child, "SIGKILL"), KILL_GRACE_MS);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const status = await child.status;
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", onAbort);
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    readers.then(() => true),
    new Promise<boolean>((r) => drainTimer = setTimeout(() => r(false), DRAIN_MS)),
  ]);
  clearTimeout(drainTimer);
  if (!drained) {
    // Something the child started still holds the pipes: stop the rest of the group.
    killGroup(child, "SIGKILL");
    await readers;
  }
  if (killTimer !== undefined) clearTimeout(killTimer);
  return {
    code: status.code,
    signal: status.signal,
    timed_out: timedOut,
    aborted,
    stdout: out.text.slice(-MAX_CAPTURE),
    stderr: err.text.slice(-MAX_CAPTURE),
    duration_ms: Math.round(performance.now() - started),
  };
}
