/**
 * The connection guard: the registry's public listener. Deno.serve has no timeouts at all (an idle
 * connection, a request head sent one byte a minute, or an upload body that stops arriving are all held
 * forever), so the HTTP server listens on a private socket (the data dir's http.sock) and this guard
 * accepts the TCP connections, follows each one's HTTP/1.1 framing just far enough to know what it is
 * waiting for, and pipes the bytes through unchanged. It closes a connection that
 * - is idle (no request in progress and nothing sent either way) for `idle_ms`: a fresh connection that
 *   never sends a request, or a keep-alive one after its answer;
 * - has not sent a whole request head `header_ms` after its first byte (slowloris): 408, then closed;
 *   a head larger than `max_header_bytes` gets 431;
 * - sends nothing of a request body for `body_ms` (a stalled upload): closed, so the server's read of the
 *   body fails and the upload route removes its temp file. Only silence counts: a body that keeps arriving,
 *   however slowly, is never cut; and time spent waiting for the server to take the bytes is not the
 *   client's silence.
 * At most `max_connections` are open at once; the next ones get 503 (ErrorResponse, Retry-After) and are
 * closed. A quiet connection waits on small read buffers (16 KiB from the client, 4 KiB from the server);
 * 64 KiB ones serve only while reads fill the small ones (buffers.ts), so a stalled connection stays small.
 *
 * The realtime routes are the exception to piping (GuardLane, realtime_lane.ts): a call the lane takes is
 * answered here, while the server owes that connection no answer (http1_framing.ts AnswerTracker follows
 * the server's answers to know it).
 *
 * Anything the guard cannot follow (an Upgrade, CONNECT, HTTP/2, a malformed length or chunk) is piped on
 * with only the idle timeout; the HTTP server answers it as it would have. Request heads reach the server
 * whole, so a slow head never ties up the server at all.
 *
 * Where the platform has no Unix sockets (Windows) or the socket path is too long, the server listens on
 * a loopback port instead, and the guard adds a secret header to every request head so that the server
 * refuses requests that did not come through it (`isGuarded`).
 */

import { concatBytes } from "../bytes.ts";
import { ReadBuffers } from "./buffers.ts";
import { AnswerTracker, type ChunkedBody, type Framing, headEnd, requestFraming } from "./http1_framing.ts";

export interface GuardLimits {
  idle_ms: number;
  header_ms: number;
  body_ms: number;
  max_connections: number;
  max_header_bytes: number;
}

export const DEFAULT_GUARD_LIMITS: GuardLimits = {
  idle_ms: 60_000,
  header_ms: 30_000,
  body_ms: 60_000,
  max_connections: 512,
  max_header_bytes: 64 * 1024,
};

/** The header the guard adds in front of a loopback-port server (its value is a per-process secret). */
export const GUARD_HEADER = "x-mixpeek-guard";

export interface GuardStats {
  open: number;
  /** Connections closed by each timeout and refused at the cap, since the start. */
  idle_closed: number;
  header_timeouts: number;
  body_timeouts: number;
  refused: number;
  /** Requests the lane answered (GuardLane), since the start. */
  lane_answered: number;
}

export interface GuardOptions {
  hostname: string;
  port: number;
  limits: GuardLimits;
  /** Opens a connection to the HTTP server. */
  connectBackend(): Promise<Deno.Conn>;
  /** Set when the server is on a loopback port: added as `x-mixpeek-guard: <secret>` to each head. */
  secret?: string;
  /** Requests the guard answers itself, when the server owes their connection nothing. */
  lane?: GuardLane;
  log(line: string): void;
}

/**
 * Requests the guard may answer itself instead of passing them on to the HTTP server: the registry's
 * realtime routes (realtime_lane.ts), for which the hop through the server was the largest part of what
 * the registry added to a call. A request is offered only when it has a Content-Length of at most `maxBody`
 * (or no body), and only while the server owes its connection no answer (AnswerTracker), so answers stay
 * in the order of the requests. Its body is held until it is complete (under the body timeout).
 */
export interface GuardLane {
  readonly maxBody: number;
  /** Whether to hold this request's body and offer the request to `answer` (called with each head). */
  wants(head: string): boolean;
  /** The whole answer, or undefined: the request then goes on to the server, unchanged. Never rejects. */
  answer(head: string, body: Uint8Array): Promise<LaneAnswer> | undefined;
}

export interface LaneAnswer {
  /** A whole HTTP/1.1 response. */
  bytes: Uint8Array;
  /** The connection closes after it (the request asked for that). */
  close: boolean;
}

const CLIENT_READ_BYTES = 16 * 1024;
const SERVER_READ_BYTES = 4 * 1024;
const LARGE_READ_BYTES = 64 * 1024;
const ENCODER = new TextEncoder();
/** Request heads are bytes (HTTP/1.1 is Latin-1 on the wire); one decoder for all of them. */
const LATIN1 = new TextDecoder("latin1");

/**
 * lane: a request's body is held for the lane (GuardLane); done: the guard answered with an error of its own
 * and closes; what the client still sends is read and dropped.
 */
type Phase = "head" | "body" | "raw" | "lane" | "done";
/** How long a connection the guard answered is drained before it is closed (a lingering close). */
const LINGER_MS = 1000;

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function _errorAnswer(status: number, reason: string, type: string, message: string, extra = ""): Uint8Array {
  const body = JSON.stringify({ success: false, status, error: { message, type, details: null } }) + "\n";
  return ENCODER.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n${extra}\r\n${body}`,
  );
}

class _Connection {
  readonly client: Deno.Conn;
  backend?: Deno.Conn;
  /** The copy of the server's answers to the client; ends when either side closes. */
  backendDone?: Promise<void>;
  phase: Phase = "head";
  /** Bytes of the request head being read (copied: the read buffer is reused). */
  head = new Uint8Array(0);
  headLength = 0;
  headStarted = 0;
  remaining = 0;
  chunked?: ChunkedBody;
  /** The server's answers so far, whether it owes this connection any (followed only for a lane). */
  readonly answers?: AnswerTracker;
  /** The request being held for the lane: its head and its body as it arrives. */
  held?: { head: Uint8Array; text: string; body: Uint8Array; filled: number };
  /** A request was sent whole and nothing of its answer came back yet. */
  awaiting = false;
  /** When the read of the client that is pending started (0: none pending, e.g. writing to the server). */
  waitingSince = 0;
  lastActivity = performance.now();
  closed = false;
  /** Closes the connection at the end of a lingering close. */
  linger?: ReturnType<typeof setTimeout>;

  constructor(client: Deno.Conn, followAnswers: boolean) {
    this.client = client;
    if (followAnswers) this.answers = new AnswerTracker();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.linger);
    try {
      this.client.close();
    } catch { /* closed */ }
    try {
      this.backend?.close();
    } catch { /* closed */ }
  }
}

export class ConnectionGuard {
  readonly #listener: Deno.TcpListener;
  readonly #options: GuardOptions;
  readonly #connections = new Set<_Connection>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #stats: GuardStats = {
    open: 0,
    idle_closed: 0,
    header_timeouts: 0,
    body_timeouts: 0,
    refused: 0,
    lane_answered: 0,
  };
  readonly #accepting: Promise<void>;
  readonly #secretLine?: Uint8Array;
  #closing = false;

  private constructor(listener: Deno.TcpListener, options: GuardOptions) {
    this.#listener = listener;
    this.#options = options;
    if (options.secret) this.#secretLine = ENCODER.encode(`${GUARD_HEADER}: ${options.secret}\r\n`);
    const limits = options.limits;
    const tick = Math.max(20, Math.min(1000, Math.min(limits.idle_ms, limits.header_ms, limits.body_ms) / 4));
    this.#timer = setInterval(() => this.#sweep(), tick);
    Deno.unrefTimer(this.#timer);
    this.#accepting = this.#accept();
  }

  /** Listens on hostname:port (AddrInUse as Deno.listen throws it). */
  static listen(options: GuardOptions): ConnectionGuard {
    const listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    return new ConnectionGuard(listener, options);
  }

  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  stats(): GuardStats {
    return { ...this.#stats, open: this.#connections.size };
  }

  /** Stops accepting and closes the connections that wait for nothing; the others end with their answer. */
  stopAccepting(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const conn of this.#connections) {
      if (conn.phase === "head" && conn.headLength === 0 && !conn.awaiting) conn.close();
    }
  }

  /** Closes everything still open. */
  async close(): Promise<void> {
    this.stopAccepting();
    clearInterval(this.#timer);
    for (const conn of this.#connections) conn.close();
    await this.#accepting;
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // the listener was closed
      }
      if (this.#closing) {
        client.close();
        continue;
      }
      // Answers are passed on in the pieces the server writes them: without TCP_NODELAY, Nagle's algorithm
      // holds a small second piece until the client acknowledges the first.
      (client as Deno.TcpConn).setNoDelay?.(true);
      if (this.#connections.size >= this.#options.limits.max_connections) {
        this.#stats.refused++;
        void this.#refuse(client);
        continue;
      }
      const conn = new _Connection(client, this.#options.lane !== undefined);
      this.#connections.add(conn);
      void this.#serve(conn).finally(() => {
        conn.close();
        this.#connections.delete(conn);
      });
    }
  }

  async #refuse(client: Deno.Conn): Promise<void> {
    const answer = _errorAnswer(
      503,
      "Service Unavailable",
      "ServiceUnavailableError",
      `too many connections (${this.#options.limits.max_connections} are open): try again shortly`,
      "retry-after: 1\r\n",
    );
    try {
      await Promise.race([_writeAll(client, answer), new Promise((r) => setTimeout(r, 1000))]);
    } catch { /* gone */ }
    try {
      client.close();
    } catch { /* closed */ }
  }

  #sweep(): void {
    const now = performance.now();
    const limits = this.#options.limits;
    const [heads, bodies] = [this.#stats.header_timeouts, this.#stats.body_timeouts];
    for (const conn of this.#connections) {
      if (conn.closed || conn.phase === "done") continue;
      if (conn.phase === "head" && conn.headLength > 0) {
        if (now - conn.headStarted > limits.header_ms) {
          this.#stats.header_timeouts++;
          void this.#answerAndClose(
            conn,
            _errorAnswer(
              408,
              "Request Timeout",
              "RequestTimeoutError",
              `the request head did not arrive within ${limits.header_ms / 1000} s`,
            ),
          );
        }
      } else if (conn.phase === "body" || conn.phase === "lane") {
        if (conn.waitingSince > 0 && now - conn.waitingSince > limits.body_ms) {
          this.#stats.body_timeouts++;
          conn.close();
        }
      } else if (!conn.awaiting && now - conn.lastActivity > limits.idle_ms) {
        this.#stats.idle_closed++;
        conn.close();
      }
    }
    // One line per sweep, however many: an attack does not flood the log.
    if (this.#stats.header_timeouts > heads) {
      this.#options.log(
        `answered 408 to ${this.#stats.header_timeouts - heads} connection(s) whose request head took over ` +
          `${limits.header_ms / 1000} s`,
      );
    }
    if (this.#stats.body_timeouts > bodies) {
      this.#options.log(
        `closed ${this.#stats.body_timeouts - bodies} connection(s) whose request body sent nothing for ` +
          `${limits.body_ms / 1000} s`,
      );
    }
  }

  /**
   * Sends an answer of the guard's own (only when the server owes this connection nothing), then closes,
   * after draining what the client still sends for a moment: closing with unread bytes would reset the
   * connection, and the client could lose the answer.
   */
  async #answerAndClose(conn: _Connection, answer: Uint8Array): Promise<void> {
    if (conn.awaiting || conn.closed) return conn.close();
    conn.phase = "done";
    try {
      await Promise.race([_writeAll(conn.client, answer), new Promise((r) => setTimeout(r, LINGER_MS))]);
      await conn.client.closeWrite();
    } catch {
      return conn.close();
    }
    conn.linger = setTimeout(() => conn.close(), LINGER_MS);
  }

  async #serve(conn: _Connection): Promise<void> {
    const buffers = new ReadBuffers(CLIENT_READ_BYTES, LARGE_READ_BYTES);
    try {
      for (;;) {
        const buffer = buffers.next();
        conn.waitingSince = performance.now();
        let n: number | null;
        try {
          n = await conn.client.read(buffer);
        } catch {
          n = null;
        }
        conn.waitingSince = 0;
        if (conn.closed) break;
        if (n === null) {
          // The client is done sending. Mid-request: abandon it. Waiting for an answer: pass the half-close on.
          if (conn.backend && conn.awaiting && conn.phase === "head" && conn.headLength === 0) {
            await conn.backend.closeWrite().catch(() => {});
            await conn.backendDone;
          }
          break;
        }
        conn.lastActivity = performance.now();
        buffers.read(n, buffer);
        try {
          await this.#consume(conn, buffer.subarray(0, n));
        } catch {
          // The server stopped reading (it answered early, e.g. 400 EntityTooLarge, and closed): let its answer
          // through, reading no more of the client, under the idle timeout.
          conn.phase = "raw";
          conn.awaiting = false;
          conn.lastActivity = performance.now();
          await conn.backendDone;
          break;
        }
      }
    } finally {
      conn.close();
      await conn.backendDone;
    }
  }

  /** Server → client, unchanged; any byte of an answer ends the wait for it. */
  async #pipeBack(conn: _Connection): Promise<void> {
    const backend = conn.backend!;
    const buffers = new ReadBuffers(SERVER_READ_BYTES, LARGE_READ_BYTES);
    try {
      for (;;) {
        const buffer = buffers.next();
        const n = await backend.read(buffer);
        if (n === null) break;
        buffers.read(n, buffer);
        conn.awaiting = false;
        conn.lastActivity = performance.now();
        await _writeAll(conn.client, buffer.subarray(0, n));
        // Counted once written: the lane answers only after the server's last byte went out.
        conn.answers?.feed(buffer.subarray(0, n));
        conn.lastActivity = performance.now();
      }
    } catch {
      // either side went away
    }
    conn.close();
  }

  async #toBackend(conn: _Connection, bytes: Uint8Array): Promise<void> {
    if (!conn.backend) {
      conn.backend = await this.#options.connectBackend();
      if (conn.closed) conn.backend.close();
      conn.backendDone = this.#pipeBack(conn);
    }
    await _writeAll(conn.backend, bytes);
  }

  /**
   * Follows the framing of what the client sent and passes it on, in one write: a request's head and body
   * that came in one read go to the server together, so the server wakes once for them, not twice.
   */
  async #consume(conn: _Connection, bytes: Uint8Array): Promise<void> {
    const out: Uint8Array[] = [];
    await this.#frame(conn, bytes, out);
    if (out.length === 0 || conn.closed) return;
    await this.#toBackend(conn, out.length === 1 ? out[0] : concatBytes(out));
  }

  /** What #consume passes on, in `out` (pieces of `bytes`, valid until the next read, and request heads). */
  async #frame(conn: _Connection, bytes: Uint8Array, out: Uint8Array[]): Promise<void> {
    let rest = bytes;
    while (rest.length > 0 && !conn.closed) {
      if (conn.phase === "done") return;
      if (conn.phase === "raw") {
        out.push(rest);
        return;
      }
      if (conn.phase === "lane") {
        const held = conn.held!;
        const take = Math.min(held.body.length - held.filled, rest.length);
        held.body.set(rest.subarray(0, take), held.filled);
        held.filled += take;
        rest = rest.subarray(take);
        if (held.filled === held.body.length) await this.#offer(conn, out);
        continue;
      }
      if (conn.phase === "body") {
        let take: number;
        if (conn.chunked) {
          take = conn.chunked.feed(rest);
          if (conn.chunked.malformed) {
            conn.phase = "raw"; // the server will refuse it
            out.push(rest);
            return;
          }
          if (conn.chunked.done) this.#endBody(conn);
        } else {
          take = Math.min(conn.remaining, rest.length);
          conn.remaining -= take;
          if (conn.remaining === 0) this.#endBody(conn);
        }
        out.push(rest.subarray(0, take));
        rest = rest.subarray(take);
        continue;
      }
      // The head: blank lines before a request line are skipped, as HTTP/1.1 allows.
      if (conn.headLength === 0) {
        let skip = 0;
        while (skip < rest.length && (rest[skip] === 13 || rest[skip] === 10)) skip++;
        rest = rest.subarray(skip);
        if (rest.length === 0) return;
        // A request line starts with a method (A-Z). Anything else (a TLS ClientHello begins with 0x16) is
        // not HTTP: answer at once, as the server itself would, instead of waiting out the header timeout.
        if (rest[0] < 0x41 || rest[0] > 0x5a) {
          await this.#answerAndClose(
            conn,
            _errorAnswer(
              400,
              "Bad Request",
              "BadRequestError",
              "this port speaks plain HTTP/1.1 (is the client using https:// for an http:// URL?)",
            ),
          );
          return;
        }
        conn.headStarted = performance.now();
      }
      const limit = this.#options.limits.max_header_bytes;
      const from = conn.headLength;
      const copy = Math.min(rest.length, limit + 4 - conn.headLength);
      if (conn.head.length < conn.headLength + copy) {
        const grown = new Uint8Array(
          Math.min(limit + 4, Math.max(conn.head.length * 2, conn.headLength + copy, 1024)),
        );
        grown.set(conn.head.subarray(0, conn.headLength));
        conn.head = grown;
      }
      conn.head.set(rest.subarray(0, copy), conn.headLength);
      conn.headLength += copy;
      const end = headEnd(conn.head, conn.headLength, from);
      if (end < 0) {
        if (conn.headLength > limit) {
          await this.#answerAndClose(
            conn,
            _errorAnswer(
              431,
              "Request Header Fields Too Large",
              "RequestHeaderFieldsTooLargeError",
              `the request head is larger than ${limit} bytes`,
            ),
          );
        }
        return;
      }
      const head = conn.head.subarray(0, end);
      rest = rest.subarray(end - from);
      const text = LATIN1.decode(head);
      const framing = requestFraming(text);
      conn.head = new Uint8Array(0);
      conn.headLength = 0;
      if (this.#laneWants(conn, text, framing)) {
        conn.phase = "lane";
        conn.held = { head, text, body: new Uint8Array(framing.length ?? 0), filled: 0 };
        if (framing.phase === "head") await this.#offer(conn, out);
        continue;
      }
      if (conn.answers && framing.phase === "raw") conn.answers.lost = true;
      else conn.answers?.sent(text.startsWith("HEAD "));
      conn.phase = framing.phase;
      conn.remaining = framing.length ?? 0;
      conn.chunked = framing.chunked;
      if (framing.phase === "head") conn.awaiting = true;
      const passed = this.#secretLine ? this.#withSecret(head) : head;
      out.push(passed);
    }
  }

  #laneWants(conn: _Connection, head: string, framing: Framing): boolean {
    const lane = this.#options.lane;
    if (!lane || !conn.answers?.idle || this.#closing) return false;
    const small = framing.phase === "head" ||
      (framing.phase === "body" && framing.chunked === undefined && framing.length! <= lane.maxBody);
    return small && lane.wants(head);
  }

  /** The held request, whole: answered by the lane, or passed on to the server as it came. */
  async #offer(conn: _Connection, out: Uint8Array[]): Promise<void> {
    const { head, text, body } = conn.held!;
    conn.held = undefined;
    conn.phase = "head";
    conn.awaiting = true;
    const answering = this.#options.lane!.answer(text, body);
    if (!answering) {
      out.push(this.#secretLine ? this.#withSecret(head) : head);
      if (body.length > 0) out.push(body);
      conn.answers!.sent(false);
      return;
    }
    const answer = await answering;
    this.#stats.lane_answered++;
    conn.awaiting = false;
    conn.lastActivity = performance.now();
    if (conn.closed) return;
    if (answer.close) return await this.#answerAndClose(conn, answer.bytes);
    await _writeAll(conn.client, answer.bytes);
    conn.lastActivity = performance.now();
  }

  #endBody(conn: _Connection): void {
    conn.phase = "head";
    conn.chunked = undefined;
    conn.awaiting = true;
  }

  /** The head with the guard's header added after the request line. */
  #withSecret(head: Uint8Array): Uint8Array {
    const lineEnd = head.indexOf(10) + 1;
    const out = new Uint8Array(head.length + this.#secretLine!.length);
    out.set(head.subarray(0, lineEnd));
    out.set(this.#secretLine!, lineEnd);
    out.set(head.subarray(lineEnd), lineEnd + this.#secretLine!.length);
    return out;
  }
}

/** Whether a request came through the guard (servers on a loopback port check the secret header). */
export function isGuarded(request: Request, secret: string | undefined): boolean {
  return secret === undefined || request.headers.get(GUARD_HEADER) === secret;
}
