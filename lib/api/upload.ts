/**
 * The presigned upload: a PUT of the archive streamed from disk with a real Content-Length. Deno's fetch
 * sends a streamed body chunked, which S3 refuses for presigned PUTs, so this speaks HTTP/1.1 itself over
 * Deno.connect / Deno.connectTls: a request head with the declared length, then the file in 1 MiB reads,
 * each written before the next is read, so memory stays bounded whatever the archive's size. TLS is Deno's
 * own (its root store, DENO_CERT and --cert apply). The upload URL carries its own signature: no
 * Authorization header is ever sent to it. Proxies follow lib/api/proxy.ts (loopback direct; absolute-form
 * requests through an HTTP proxy, a CONNECT tunnel for https).
 *
 * Nothing is written to the socket before every part of the request is checked: the URL as the API gave it
 * (no control characters or spaces: a CR/LF in it would split the request line and smuggle headers), the
 * request target and Host as they go on the wire (visible ASCII only), and each header (a token for a name,
 * no CR/LF for a value; no Authorization, Host or framing header from a ticket). A refusal says which part.
 *
 * A connection on which no byte moves for `idleTimeoutMs` (MIXPEEK_UPLOAD_STALL_TIMEOUT for publish) is a
 * stall: an UploadError the caller retries with a fresh URL, since the storage may hold half an object.
 */
import { concatBytes } from "../bytes.ts";
import { ApiError, InterruptedError } from "../errors.ts";
import { classifyNetError, isRetryableNetFailure, netError } from "./net_errors.ts";
import { proxyAuthorization, proxyFor } from "./proxy.ts";
import type { RequestLogEntry } from "./request_log.ts";

/** An upload the caller may try again: `freshUrl` when the URL itself was refused (expired, tampered). */
export class UploadError extends ApiError {
  readonly retryable: boolean;
  readonly freshUrl: boolean;
  /** No byte moved for the idle limit (the caller may report the last one as a timeout). */
  readonly stalled: boolean;

  constructor(
    message: string,
    details: {
      status?: number;
      retryable: boolean;
      freshUrl: boolean;
      stalled?: boolean;
      cause?: unknown;
      hint?: string;
    },
  ) {
    super(message, { status: details.status, cause: details.cause, hint: details.hint });
    this.retryable = details.retryable;
    this.freshUrl = details.freshUrl;
    this.stalled = details.stalled === true;
  }
}

/** The default stall limit: no byte moving for this long ends an attempt. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

export interface PutOptions {
  /** No bytes moving for this long ends the attempt with a stalled UploadError (default 60 s). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number, total: number) => void;
  /** The attempt, once answered or failed (for --verbose; the URL's query is redacted there). */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** Where an archive goes: the presigned URL and the Content-Type of its format (the only header it needs). */
export interface PutTarget {
  url: string;
  contentType: string;
  /**
   * Headers the ticket requires beside Content-Type (a presigned URL may sign some; Mixpeek's document
   * names none today). Checked like every other part of the request before anything is sent.
   */
  headers?: Record<string, string>;
}

/** What the storage answered: its ETag (quotes and all, as sent), when it sent one. */
export interface PutResult {
  etag?: string;
}
const CHUNK = 1 << 20;
/** Response bodies are only read for error messages: keep this much. */
const KEEP_BODY = 64 * 1024;
const MAX_HEAD = 64 * 1024;

/** S3 answers with XML (`<Code>…</Code><Message>…</Message>`); the local registry too, or JSON. */
function _describeBody(body: string): string {
  const code = body.match(/<Code>([^<]*)<\/Code>/)?.[1];
  const message = body.match(/<Message>([^<]*)<\/Message>/)?.[1];
  if (code || message) return [code, message].filter(Boolean).join(": ");
  try {
    const json = JSON.parse(body);
    if (json?.error?.message) return json.error.message;
    if (typeof json?.detail === "string") return json.detail;
  } catch { /* plain text */ }
  return body.trim().slice(0, 200);
}

function _statusError(status: number, body: string): UploadError {
  const detail = _describeBody(body) || "no details";
  const message = `the upload URL answered HTTP ${status}: ${detail}`;
  // A URL that no longer works (expired) gets a fresh one; one the request itself does not match (a header
  // the signature covers, a changed URL) would fail the same way again.
  if (status === 403 && /SignatureDoesNotMatch/.test(body)) {
    return new UploadError(message, { status, retryable: false, freshUrl: false });
  }
  if (status === 403) return new UploadError(message, { status, retryable: true, freshUrl: true });
  const retryable = status === 429 || status >= 500;
  return new UploadError(message, { status, retryable, freshUrl: false });
}

function _networkError(error: unknown, url: URL): UploadError {
  if (error instanceof UploadError) return error;
  const kind = classifyNetError(error);
  const proxy = proxyFor(url);
  const described = netError(kind, url, error, {
    label: "the upload",
    setting: "--base-url / MIXPEEK_BASE_URL (the API there gave this upload URL)",
    proxy,
  });
  return new UploadError(described.message, {
    retryable: isRetryableNetFailure(kind, url.hostname),
    freshUrl: false,
    cause: error,
    hint: described.hint,
  });
}

/** A part of the request that may not be sent: nothing is, and the message names the part. */
function _unsafe(what: string): UploadError {
  return new UploadError(`refusing to send the upload: ${what}`, {
    retryable: false,
    freshUrl: false,
    hint: "the upload ticket came from the API at --base-url; if that is really Mixpeek, report it",
  });
}

/** What may not appear in a URL as given (a raw space or control character, CR/LF above all). */
// deno-lint-ignore no-control-regex
const CONTROL_OR_SPACE = /[\x00-\x20\x7f]/;
/** What may not appear in a header value (HTAB and spaces may). */
// deno-lint-ignore no-control-regex
const CONTROL_IN_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII: what a request target or a Host may hold once the URL is serialised. */
const VISIBLE = /^[\x21-\x7e]+$/;
/** Headers the uploader writes itself (framing, routing) or never sends (the key). */
const RESERVED = new Set([
  "host",
  "content-length",
  "content-type",
  "transfer-encoding",
  "connection",
  "authorization",
  "proxy-authorization",
  "te",
  "upgrade",
]);

function _describeChar(text: string, spaceAllowed = false): string {
  const bad = text.match(spaceAllowed ? CONTROL_IN_VALUE : CONTROL_OR_SPACE)?.[0] ?? "";
  if (bad === "\r" || bad === "\n") return "a line break (CR/LF)";
  if (bad === " ") return "a space";
  return `a control character (0x${bad.charCodeAt(0).toString(16).padStart(2, "0")})`;
}

/** Checks the URL and headers as given, and returns the URL to connect to and the extra header lines. */
export function checkPutTarget(target: PutTarget): { url: URL; headerLines: string[] } {
  if (CONTROL_OR_SPACE.test(target.url)) {
    throw _unsafe(`the presigned URL contains ${_describeChar(target.url)}`);
  }
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw _unsafe(`the presigned URL is not a URL: ${target.url.slice(0, 80)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw _unsafe(`the presigned URL is not http(s): ${url.protocol}`);
  }
  if (url.username || url.password) throw _unsafe("the presigned URL carries user credentials");
  const requestTarget = `${url.pathname}${url.search}`;
  if (!VISIBLE.test(requestTarget)) throw _unsafe("the presigned URL's path or query is not plain ASCII");
  if (!VISIBLE.test(url.host)) throw _unsafe("the presigned URL's host is not plain ASCII");
  const headerLines: string[] = [];
  for (
    const [name, value] of [["Content-Type", target.contentType], ...Object.entries(target.headers ?? {})]
  ) {
    if (!TOKEN.test(name)) throw _unsafe(`the header name ${JSON.stringify(name)} is not an HTTP token`);
    if (headerLines.length > 0 && RESERVED.has(name.toLowerCase())) {
      throw _unsafe(`the ticket sets the ${name} header, which the uploader never takes from a ticket`);
    }
    if (CONTROL_IN_VALUE.test(value)) {
      throw _unsafe(`the value of ${name} contains ${_describeChar(value, true)}`);
    }
    headerLines.push(`${name}: ${value.trim()}`);
  }
  return { url, headerLines };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

/** Reads from a connection, with what was read past the last consumed byte kept for the next call. */
class _Reader {
  #conn: Deno.Conn;
  #buffered: Uint8Array = new Uint8Array(0);
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const merged = new Uint8Array(this.#buffered.length + n);
    merged.set(this.#buffered);
    merged.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = merged;
    return true;
  }

  /** Bytes up to and including `delimiter`, or undefined at end of stream. */
  async until(delimiter: string, limit: number): Promise<Uint8Array | undefined> {
    const needle = encoder.encode(delimiter);
    for (;;) {
      const at = _indexOf(this.#buffered, needle);
      if (at >= 0) {
        const out = this.#buffered.subarray(0, at + needle.length);
        this.#buffered = this.#buffered.slice(at + needle.length);
        return out;
      }
      if (this.#buffered.length > limit) throw new Error("the response head is too large");
      if (!(await this.#more())) return undefined;
    }
  }

  /** Exactly `length` bytes (only the first `keep` are returned); throws at a premature end. */
  async exactly(length: number, keep: number): Promise<Uint8Array> {
    const kept: Uint8Array[] = [];
    let keptBytes = 0;
    let left = length;
    while (left > 0) {
      if (this.#buffered.length === 0 && !(await this.#more())) {
        throw new Error(`the response ended ${left} bytes before its declared length`);
      }
      const take = this.#buffered.subarray(0, Math.min(left, this.#buffered.length));
      if (keptBytes < keep) {
        kept.push(take.slice(0, keep - keptBytes));
        keptBytes += Math.min(take.length, keep - keptBytes);
      }
      this.#buffered = this.#buffered.slice(take.length);
      left -= take.length;
    }
    return concatBytes(kept);
  }

  /** Everything until the peer closes (only the first `keep` bytes returned). */
  async rest(keep: number): Promise<Uint8Array> {
    while (await this.#more()) {
      if (this.#buffered.length > keep) this.#buffered = this.#buffered.slice(0, keep);
    }
    return this.#buffered.slice(0, keep);
  }
}

function _indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

async function _readHead(reader: _Reader): Promise<Head> {
  const raw = await reader.until("\r\n\r\n", MAX_HEAD);
  if (!raw) throw new Error("the connection closed before a response");
  const [statusLine, ...lines] = decoder.decode(raw).trimEnd().split("\r\n");
  const match = statusLine.match(/^HTTP\/1\.[01] (\d{3})/);
  if (!match) throw new Error(`not an HTTP response: ${statusLine.slice(0, 80)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

/** The whole response (body read to its end, so a connection cut mid-body is a network error). */
async function _readResponse(
  reader: _Reader,
): Promise<{ status: number; headers: Map<string, string>; body: string }> {
  let head = await _readHead(reader);
  while (head.status === 100) head = await _readHead(reader); // 100 Continue: the real answer follows
  let body: Uint8Array;
  const length = head.headers.get("content-length");
  if (head.headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    const parts: Uint8Array[] = [];
    let kept = 0;
    for (;;) {
      const sizeLine = await reader.until("\r\n", 1024);
      if (!sizeLine) throw new Error("the response ended inside a chunk");
      const size = parseInt(decoder.decode(sizeLine).trim(), 16); // "1a;ext=x" parses as 0x1a
      if (Number.isNaN(size)) throw new Error("a malformed chunked response");
      if (size === 0) break; // trailers, if any, are not needed
      const chunk = await reader.exactly(size, KEEP_BODY - kept);
      kept += chunk.length;
      parts.push(chunk);
      await reader.exactly(2, 0); // the CRLF after each chunk's data
    }
    body = concatBytes(parts);
  } else if (length !== undefined) {
    body = await reader.exactly(Number(length), KEEP_BODY);
  } else {
    body = await reader.rest(KEEP_BODY);
  }
  return { status: head.status, headers: head.headers, body: decoder.decode(body) };
}

interface Connecting {
  /** Rejects when the upload is aborted or stalls: every await while connecting races it. */
  cancelled: Promise<never>;
  /** Each socket opened, so that an abort or the idle timer can close it. */
  track: (conn: Deno.Conn) => void;
}

/** `step`, unless the upload is cancelled first. */
async function _race<T>(step: Promise<T>, connecting: Connecting): Promise<T> {
  return await Promise.race([step, connecting.cancelled]);
}

/** Opens a socket, tracked so that a cancellation closes it even when it arrives after the race. */
async function _open<C extends Deno.Conn>(opening: Promise<C>, connecting: Connecting): Promise<C> {
  opening.then(connecting.track, () => {});
  return await _race(opening, connecting);
}

/** A connection to the upload host: direct, to an HTTP proxy, or through a CONNECT tunnel (https). */
async function _connect(
  url: URL,
  connecting: Connecting,
): Promise<{ conn: Deno.Conn; target: string; proxied: boolean }> {
  const https = url.protocol === "https:";
  const port = Number(url.port || (https ? 443 : 80));
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const proxy = proxyFor(url);
  if (proxy && proxy.protocol !== "http:" && proxy.protocol !== "https:") {
    throw new UploadError(
      `the upload cannot go through the proxy ${proxy.host}: only http:// and https:// proxies are supported`,
      {
        retryable: false,
        freshUrl: false,
        hint: "set HTTPS_PROXY to an http:// proxy, or list the host in NO_PROXY",
      },
    );
  }
  if (!proxy) {
    const conn: Deno.Conn = https
      ? await _open(Deno.connectTls({ hostname, port }), connecting)
      : await _open(Deno.connect({ hostname, port }), connecting);
    return { conn, target: `${url.pathname}${url.search}`, proxied: false };
  }
  const proxyTls = proxy.protocol === "https:";
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, "");
  const proxyPort = Number(proxy.port || (proxyTls ? 443 : 80));
  if (!https) {
    const viaProxy: Deno.Conn = proxyTls
      ? await _open(Deno.connectTls({ hostname: proxyHost, port: proxyPort }), connecting)
      : await _open(Deno.connect({ hostname: proxyHost, port: proxyPort }), connecting);
    return { conn: viaProxy, target: url.href, proxied: true };
  }
  if (proxyTls) {
    throw new Error(
      `an https:// proxy (${proxy.host}) for an https upload is not supported; use http://${proxy.host}`,
    );
  }
  const viaProxy = await _open(Deno.connect({ hostname: proxyHost, port: proxyPort }), connecting);
  const auth = proxyAuthorization(proxy);
  const authLine = auth ? `Proxy-Authorization: ${auth}\r\n` : "";
  const authority = `${url.hostname}:${port}`;
  await _race(
    _writeAll(
      viaProxy,
      encoder.encode(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${authLine}\r\n`),
    ),
    connecting,
  );
  const head = await _race(_readHead(new _Reader(viaProxy)), connecting);
  if (head.status !== 200) {
    throw new Error(`the proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${head.status}`);
  }
  const conn = await _open(Deno.startTls(viaProxy, { hostname }), connecting);
  return { conn, target: `${url.pathname}${url.search}`, proxied: false };
}

/**
 * PUTs `file` (exactly `size` bytes) to the presigned URL with its Content-Type and a real Content-Length,
 * and nothing else that a signature could cover (Mixpeek's own CLI sends only Content-Type); resolves with the
 * ETag of a 2xx answer.
 */
export async function putFile(
  target: PutTarget,
  file: string,
  size: number,
  options: PutOptions = {},
): Promise<PutResult> {
  const { url, headerLines } = checkPutTarget(target);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (options.signal?.aborted) throw new InterruptedError("upload interrupted");
  const started = performance.now();
  const log = (outcome: { status?: number; failure?: string }) =>
    options.onRequest?.({
      method: "PUT",
      url: target.url,
      ms: performance.now() - started,
      attempt: 1,
      presigned: true,
      ...outcome,
    });

  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const sockets: Deno.Conn[] = [];
  const close = () => {
    for (const socket of sockets) {
      try {
        socket.close();
      } catch { /* already closed */ }
    }
  };
  let cancel!: (reason: Error) => void;
  const cancelled = new Promise<never>((_, reject) => (cancel = reject));
  cancelled.catch(() => {});
  const stop = (reason: Error) => {
    cancel(reason);
    close();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      stop(new Error("stalled"));
    }, idleTimeoutMs);
  };
  const onAbort = () => stop(new Error("aborted"));
  options.signal?.addEventListener("abort", onAbort, { once: true });
  using source = await Deno.open(file, { read: true });
  try {
    arm();
    const connection = await _connect(url, {
      cancelled,
      track: (socket) => {
        sockets.push(socket);
        if (stalled || options.signal?.aborted) close();
      },
    }).catch((error) => {
      throw _networkError(error, url);
    });
    const conn = connection.conn;
    const lines = [
      `PUT ${connection.target} HTTP/1.1`,
      `Host: ${url.host}`,
      ...headerLines,
      `Content-Length: ${size}`,
      "Connection: close",
      "User-Agent: mixpeek-cli",
    ];
    const proxyAuth = connection.proxied ? proxyAuthorization(proxyFor(url)!) : undefined;
    if (proxyAuth) lines.push(`Proxy-Authorization: ${proxyAuth}`);
    // The answer is read while the body is still being sent: a server may refuse early (403, 411).
    const answer = _readResponse(new _Reader(conn));
    answer.catch(() => {}); // observed below
    let writeError: unknown;
    try {
      await _writeAll(conn, encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
      const buffer = new Uint8Array(CHUNK);
      let sent = 0;
      while (sent < size) {
        const n = await source.read(buffer.subarray(0, Math.min(CHUNK, size - sent)));
        if (n === null) throw new ApiError(`${file} is shorter than the ${size} bytes declared for it`);
        await _writeAll(conn, buffer.subarray(0, n));
        sent += n;
        arm();
        options.onProgress?.(sent, size);
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      writeError = error; // the server may have answered (and closed) before taking the whole body
    }
    let response: { status: number; headers: Map<string, string>; body: string };
    try {
      response = await answer;
    } catch (error) {
      throw _networkError(writeError ?? error, url);
    }
    log({ status: response.status });
    if (response.status < 200 || response.status >= 300) throw _statusError(response.status, response.body);
    return { etag: response.headers.get("etag") };
  } catch (error) {
    if (options.signal?.aborted) throw new InterruptedError("upload interrupted");
    // A server that answered (403 expired, 411 …) and stopped reading is that answer, not a stall.
    if (error instanceof UploadError && error.status !== undefined) throw error;
    if (stalled) {
      log({ failure: "stalled" });
      throw new UploadError(`the upload stalled: no progress for ${idleTimeoutMs / 1000} s`, {
        retryable: true,
        freshUrl: true,
        stalled: true,
        hint:
          "the network or the storage stopped taking data; raise MIXPEEK_UPLOAD_STALL_TIMEOUT (seconds) " +
          "for a slow link",
      });
    }
    if (error instanceof UploadError) log({ failure: classifyNetError(error.cause ?? error) });
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    close();
  }
}
