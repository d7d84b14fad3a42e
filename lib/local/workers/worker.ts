/**
 * One deployment worker: a Python process running the embedded serve_worker.py (lib/local/workers/serve/),
 * which imports one plugin, builds its realtime service and answers HTTP on 127.0.0.1. This module starts
 * it, reads its protocol lines (ready / failed on its stdout), keeps the tail of its stderr (the plugin's
 * own output, passed on to the registry's log line by line), calls it, and stops it.
 *
 * The worker runs in its own process group, so stopping it stops anything it started. Its stdin is a pipe
 * the registry holds open and never writes: closing it is the polite stop, and when the registry dies (even
 * by kill -9) the pipe closes and the worker exits by itself, so a worker never outlives its registry.
 */
import type { CallOutcome } from "../deployer.ts";
import { killGroup } from "../../plugin/python.ts";

export interface WorkerSpec {
  /** The interpreter (an absolute path). */
  python: string;
  /** serve_worker.py, written into the deployment's folder. */
  script: string;
  /** The deployment's private folder (the worker's working directory). */
  cwd: string;
  /** The plugin folder (the package) and its package name. */
  root: string;
  package: string;
  /** `/inference/custom_plugin_{plugin_id}` */
  route: string;
  /** The whole environment (childEnv: no API key, no cloud credentials, the runtime on PYTHONPATH). */
  env: Record<string, string>;
  /** How long the worker may take to import the plugin and build its service. */
  startTimeoutMs: number;
  /** Each line the plugin writes (stdout and stderr both end up on the worker's stderr). */
  onLine?: (line: string) => void;
}

/** What the worker reported once its service was built and it listens. */
export interface ReadyFacts {
  port: number;
  service: string;
  entry_point: string;
  max_ongoing_requests: number;
  python: string;
  pid: number;
}

/** The worker could not start: `error` says why (the plugin's exception and traceback tail, or its stderr). */
export class WorkerStartError extends Error {}

/** Lines of stderr kept for error messages. */
const TAIL_LINES = 40;
const MAX_LINE = 2000;
/** How long a stopped worker gets to exit after its stdin closes, before SIGKILL. */
const STOP_GRACE_MS = 1000;
/** Past the call's own limit, how long the worker gets to answer its 504 before it counts as wedged. */
export const UNRESPONSIVE_GRACE_MS = 1500;

/** Idle connections kept per worker (more calls than this at once open and close their own). */
const MAX_IDLE = 64;
/** Largest answer read from a worker. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;
const _encoder = new TextEncoder();
const _decoder = new TextDecoder();

async function _writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** The index of CRLF CRLF in `bytes`, or -1. */
function _headEnd(bytes: Uint8Array, length: number): number {
  for (let i = 3; i < length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  }
  return -1;
}

/** A kept-alive connection to the worker and its read buffer (reused: one call reads at a time on it). */
interface _Link {
  conn: Deno.TcpConn;
  buffer: Uint8Array;
}

const LINK_BUFFER_BYTES = 16 * 1024;

/**
 * One HTTP/1.1 answer with a Content-Length (what serve_worker.py always sends), read into the link's
 * buffer; a larger answer gets a buffer of its own, which is not kept.
 */
async function _readResponse(
  link: _Link,
): Promise<{ status: number; headers: Map<string, string>; text: string }> {
  const conn = link.conn;
  let buffer = link.buffer;
  let length = 0;
  let bodyStart = -1;
  let total = -1;
  const headers = new Map<string, string>();
  let status = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await conn.read(buffer.subarray(length));
    if (n === null) throw new Error("the connection closed before the answer was complete");
    length += n;
    if (bodyStart < 0) {
      bodyStart = _headEnd(buffer, length);
      if (bodyStart < 0) continue;
      const lines = _decoder.decode(buffer.subarray(0, bodyStart - 4)).split("\r\n");
      status = Number(lines[0].split(" ")[1]);
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const declared = Number(headers.get("content-length"));
      if (!Number.isSafeInteger(declared) || declared < 0 || declared > MAX_ANSWER_BYTES) {
        throw new Error(`the worker's answer has no usable Content-Length`);
      }
      total = bodyStart + declared;
      if (total > buffer.length) {
        const exact = new Uint8Array(total);
        exact.set(buffer.subarray(0, length));
        buffer = exact;
      }
    }
    if (length >= total) {
      return { status, headers, text: _decoder.decode(buffer.subarray(bodyStart, total)) };
    }
  }
}

export interface WorkerExit {
  code: number;
  signal: Deno.Signal | null;
}

async function _lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let pending = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        onLine(pending.slice(0, newline).replace(/\r$/, ""));
        pending = pending.slice(newline + 1);
      }
    }
  } catch {
    // the pipe broke: the process is gone
  }
  if (pending !== "") onLine(pending);
}

export class Worker {
  readonly child: Deno.ChildProcess;
  readonly facts: ReadyFacts;
  /** Settles when the process has exited (whoever stopped it). */
  readonly exited: Promise<WorkerExit>;
  readonly #tail: string[];
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #route: string;
  readonly #io: Promise<unknown>;
  /** Kept-alive connections to the worker, free for the next call. */
  readonly #idle: _Link[] = [];
  #stopping = false;

  private constructor(
    child: Deno.ChildProcess,
    facts: ReadyFacts,
    exited: Promise<WorkerExit>,
    tail: string[],
    stdin: WritableStreamDefaultWriter<Uint8Array>,
    route: string,
    io: Promise<unknown>,
  ) {
    this.child = child;
    this.facts = facts;
    this.exited = exited;
    this.#tail = tail;
    this.#stdin = stdin;
    this.#route = route;
    this.#io = io;
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Whether stop() or kill() was asked for (an exit then is no crash). */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** The last lines the worker wrote to stderr. */
  tail(lines = 12): string {
    return this.#tail.slice(-lines).join("\n");
  }

  /**
   * Starts the worker and resolves once it is ready (its service is built and it listens), or throws
   * WorkerStartError with the reason: the plugin's exception, the worker's exit and the tail of its stderr,
   * or the start timeout. `signal` stops a start in progress.
   */
  static async start(spec: WorkerSpec, signal: AbortSignal): Promise<Worker> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(spec.python, {
        args: [
          "-B",
          "-u",
          spec.script,
          JSON.stringify({ root: spec.root, package: spec.package, route: spec.route }),
        ],
        cwd: spec.cwd,
        env: spec.env,
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        detached: Deno.build.os !== "windows",
      }).spawn();
    } catch (error) {
      throw new WorkerStartError(`cannot run ${spec.python}: ${(error as Error).message}`);
    }
    const stdin = child.stdin.getWriter();
    const tail: string[] = [];
    const stderr = _lines(child.stderr, (line) => {
      tail.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
      if (tail.length > TAIL_LINES) tail.shift();
      spec.onLine?.(line);
    });
    let settle!: (event: Record<string, unknown> | undefined) => void;
    const firstEvent = new Promise<Record<string, unknown> | undefined>((resolve) => (settle = resolve));
    const stdout = _lines(child.stdout, (line) => {
      try {
        const event = JSON.parse(line);
        if (event && typeof event === "object") settle(event);
      } catch {
        // not a protocol line (nothing else is written there)
      }
    }).then(() => settle(undefined));
    const exited = child.status.then((s) => ({ code: s.code, signal: s.signal }));
    const io = Promise.all([stderr, stdout]);

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), spec.startTimeoutMs)));
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"aborted">((resolve) => {
      onAbort = () => resolve("aborted");
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    const first = await Promise.race([firstEvent, exited.then(() => undefined), timedOut, aborted]);
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort!);

    const fail = async (reason: string): Promise<never> => {
      killGroup(child, "SIGKILL");
      await stdin.close().catch(() => {});
      const status = await exited;
      await io;
      const how = status.signal ? `killed by ${status.signal}` : `exit ${status.code}`;
      const text = tail.slice(-12).join("\n").trim();
      throw new WorkerStartError(
        reason.replace("{exit}", how) + (text && !reason.includes(text) ? `\n${text}` : ""),
      );
    };
    if (first === "aborted") return await fail("stopped while starting");
    if (first === "timeout") {
      return await fail(`the worker did not become ready within ${Math.round(spec.startTimeoutMs / 1000)} s`);
    }
    if (first === undefined || first.event !== "ready") {
      const event = first as { event?: string; error?: string } | undefined;
      if (event?.event === "failed" && typeof event.error === "string") return await fail(event.error);
      return await fail("the worker exited ({exit}) before it was ready");
    }
    const facts = first as unknown as ReadyFacts;
    return new Worker(child, facts, exited, tail, stdin, spec.route, io);
  }

  /**
   * One call: POSTs the body with the call's limit in X-Timeout-Ms. The worker answers 504 itself when the
   * service does not finish in time (and cancels it); if even that answer does not come (the service blocks
   * the worker's event loop), the outcome is `timeout` with `wedged` set, and the caller replaces the worker.
   *
   * HTTP/1.1 over a pool of kept-alive loopback connections, written and read here rather than with fetch:
   * the worker is ours and always answers with a Content-Length, and this hop is most of what the registry
   * adds to a call's latency (scripts/bench_invoke.ts).
   */
  async call(body: string, timeoutMs: number): Promise<CallOutcome & { wedged?: boolean }> {
    const payload = _encoder.encode(body);
    const head = _encoder.encode(
      `POST ${this.#route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${payload.length}\r\nX-Timeout-Ms: ${Math.max(1, Math.round(timeoutMs))}\r\n\r\n`,
    );
    const request = new Uint8Array(head.length + payload.length);
    request.set(head);
    request.set(payload, head.length);
    let link: _Link | undefined;
    let wedged = false;
    const timer = setTimeout(() => {
      wedged = true;
      try {
        link?.conn.close();
      } catch { /* closed already */ }
    }, timeoutMs + UNRESPONSIVE_GRACE_MS);
    let answer: { status: number; headers: Map<string, string>; text: string };
    try {
      link = this.#idle.pop() ?? { conn: await this.#connect(), buffer: new Uint8Array(LINK_BUFFER_BYTES) };
      if (wedged) link.conn.close();
      await _writeAll(link.conn, request);
      answer = await _readResponse(link);
      if (this.#stopping || answer.headers.get("connection") === "close" || this.#idle.length >= MAX_IDLE) {
        link.conn.close();
      } else this.#idle.push(link);
    } catch (error) {
      try {
        link?.conn.close();
      } catch { /* closed already */ }
      if (wedged) return { ok: false, reason: "timeout", error: "", wedged: true };
      return {
        ok: false,
        reason: "not_running",
        error: `the worker did not answer (${(error as Error).message}); it may have died`,
      };
    } finally {
      clearTimeout(timer);
    }
    const type = answer.headers.get("x-response-type");
    if (answer.status === 200 && type) return { ok: true, json: answer.text, type };
    if (answer.status === 504) return { ok: false, reason: "timeout", error: "" };
    let detail: { error?: string; where?: string | null; traceback?: string } = {};
    try {
      detail = JSON.parse(answer.text);
    } catch {
      // not the worker's JSON
    }
    const error = detail.error ?? `the worker answered HTTP ${answer.status}`;
    return {
      ok: false,
      reason: "raised",
      error: detail.where ? `${error} (${detail.where})` : error,
      message: detail.traceback || undefined,
    };
  }

  async #connect(): Promise<Deno.TcpConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.facts.port });
    conn.setNoDelay(true);
    return conn;
  }

  #closeIdle(): void {
    for (const { conn } of this.#idle.splice(0)) {
      try {
        conn.close();
      } catch { /* closed already */ }
    }
  }

  /** Stops the worker: closes its stdin (it exits at once), then SIGKILLs the group if it lingers. */
  async stop(): Promise<WorkerExit> {
    this.#stopping = true;
    this.#closeIdle();
    await this.#stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exit = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), STOP_GRACE_MS))),
    ]);
    clearTimeout(timer);
    // Anything the plugin started in the worker's group goes too, whether or not the worker left by itself.
    killGroup(this.child, "SIGKILL");
    const status = exit ?? await this.exited;
    await this.#io;
    return status;
  }

  /** Stops it at once (SIGKILL to the group): for a worker that no longer answers. */
  async kill(): Promise<WorkerExit> {
    this.#stopping = true;
    this.#closeIdle();
    killGroup(this.child, "SIGKILL");
    await this.#stdin.close().catch(() => {});
    const status = await this.exited;
    await this.#io;
    return status;
  }
}
