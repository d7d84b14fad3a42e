/**
 * The presigned upload: a PUT of the archive streamed from disk with a real Content-Length. Deno's fetch
 * sends a streamed body chunked, which S3 refuses for presigned PUTs, so this uses node:http(s), which
 * streams a file with the length we declare. Memory stays bounded (a read buffer or two in flight).
 * The upload URL carries its own signature: no Authorization header is ever sent to it.
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured (lib/api/proxy.ts), as Deno's fetch does for API calls.
 */
import { Buffer } from "node:buffer";
import { createReadStream } from "node:fs";
import type { ClientRequest, IncomingMessage } from "node:http";
import { ApiError, InterruptedError, TimeoutError } from "../errors.ts";
import { proxyAuthorization, proxyFor } from "./proxy.ts";
import type { UploadTicket } from "./types.ts";

/** An upload the caller may try again: `freshUrl` when the URL itself was refused (expired, tampered). */
export class UploadError extends ApiError {
  readonly retryable: boolean;
  readonly freshUrl: boolean;

  constructor(
    message: string,
    details: { status?: number; retryable: boolean; freshUrl: boolean; cause?: unknown },
  ) {
    super(message, { status: details.status, cause: details.cause });
    this.retryable = details.retryable;
    this.freshUrl = details.freshUrl;
  }
}

export interface PutOptions {
  /** No bytes moving for this long aborts the upload. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number, total: number) => void;
}

const FORBIDDEN_HEADERS = new Set(["authorization", "content-length", "transfer-encoding", "host"]);

/** S3 answers with XML (`<Code>…</Code><Message>…</Message>`); the local registry too, or JSON. */
function _describeBody(body: string): string {
  const code = body.match(/<Code>([^<]*)<\/Code>/)?.[1];
  const message = body.match(/<Message>([^<]*)<\/Message>/)?.[1];
  if (code || message) return [code, message].filter(Boolean).join(": ");
  try {
    const json = JSON.parse(body);
    if (json?.error?.message) return json.error.message;
  } catch { /* plain text */ }
  return body.trim().slice(0, 200);
}

function _statusError(status: number, body: string): UploadError {
  const detail = _describeBody(body) || "no details";
  const message = `the upload URL answered HTTP ${status}: ${detail}`;
  if (status === 403) return new UploadError(message, { status, retryable: true, freshUrl: true });
  const retryable = status === 429 || status >= 500;
  return new UploadError(message, { status, retryable, freshUrl: false });
}

/**
 * Extra trusted CAs for https uploads: node:https does not see Deno's `--cert` / DENO_CERT, so the same
 * files (and Node's NODE_EXTRA_CA_CERTS) are added to the default roots here, e.g. for a corporate CA.
 */
async function _tlsOptions(): Promise<{ ca?: string[] }> {
  const files = ["DENO_CERT", "NODE_EXTRA_CA_CERTS"].map((name) => Deno.env.get(name)).filter((f) => !!f);
  if (files.length === 0) return {};
  const tls = await import("node:tls");
  const extra = await Promise.all(files.map((f) => Deno.readTextFile(f!)));
  return { ca: [...tls.rootCertificates, ...extra] };
}

/** A CONNECT tunnel through the proxy to `url`'s host, wrapped in TLS (for an https upload URL). */
async function _tunnel(url: URL, proxy: URL): Promise<import("node:tls").TLSSocket> {
  const http = await import("node:http");
  const tls = await import("node:tls");
  const target = `${url.hostname}:${url.port || 443}`;
  const auth = proxyAuthorization(proxy);
  return await new Promise((resolve, reject) => {
    const connect = http.request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: "CONNECT",
      path: target,
      headers: { host: target, ...(auth ? { "proxy-authorization": auth } : {}) },
    });
    connect.on("connect", (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(
          _networkError(new Error(`the proxy ${proxy.host} refused CONNECT ${target}: ${res.statusCode}`)),
        );
      }
      _tlsOptions().then(
        (options) => resolve(tls.connect({ socket, servername: url.hostname, ...options })),
        reject,
      );
    });
    connect.on("error", (error: Error) => reject(_networkError(error)));
    connect.end();
  });
}

/** The request for the upload: direct, through an HTTP proxy (absolute-form), or through a CONNECT tunnel. */
async function _openRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
): Promise<ClientRequest> {
  const proxy = proxyFor(url);
  if (url.protocol === "https:") {
    const https = await import("node:https");
    if (!proxy) return https.request(url, { method, headers, ...(await _tlsOptions()) });
    const socket = await _tunnel(url, proxy);
    return https.request(url, { method, headers, createConnection: () => socket });
  }
  const http = await import("node:http");
  if (!proxy) return http.request(url, { method, headers });
  const auth = proxyAuthorization(proxy);
  return http.request({
    host: proxy.hostname,
    port: Number(proxy.port || 80),
    method,
    path: url.href,
    headers: { ...headers, host: url.host, ...(auth ? { "proxy-authorization": auth } : {}) },
  });
}

/** PUTs `file` (exactly `size` bytes) to the ticket's URL; resolves on a 2xx answer. */
export async function putFile(
  ticket: UploadTicket,
  file: string,
  size: number,
  options: PutOptions = {},
): Promise<void> {
  const url = new URL(ticket.upload_url);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(ticket.headers ?? {})) {
    if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  headers["Content-Length"] = String(size);
  const req: ClientRequest = await _openRequest(url, ticket.method || "PUT", headers);
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  return await new Promise<void>((resolve, reject) => {
    let settled = false;
    let sent = 0;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      reader.destroy();
      if (error) {
        req.destroy();
        reject(error);
      } else resolve();
    };
    const onAbort = () => finish(new InterruptedError("upload interrupted"));

    req.setTimeout(idleTimeoutMs, () => {
      finish(new TimeoutError(`the upload stalled: no progress for ${idleTimeoutMs / 1000}s`));
    });
    req.on("response", (res: IncomingMessage) => {
      const chunks: Uint8Array[] = [];
      let kept = 0;
      res.on("data", (chunk: Uint8Array) => {
        if (kept < 65536) chunks.push(chunk);
        kept += chunk.length;
      });
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return finish();
        finish(_statusError(status, new TextDecoder().decode(Buffer.concat(chunks))));
      });
      res.on("error", (error: Error) => finish(_networkError(error)));
    });
    req.on("error", (error: Error) => finish(_networkError(error)));

    // 8 MiB reads: a third less CPU per byte than 1 MiB, and still a bounded buffer.
    const reader = createReadStream(file, { highWaterMark: 8 << 20 });
    reader.on("data", (chunk: string | Uint8Array) => {
      sent += chunk.length;
      options.onProgress?.(sent, size);
    });
    reader.on(
      "error",
      (error: Error) => finish(new ApiError(`cannot read ${file}: ${error.message}`, { cause: error })),
    );
    reader.pipe(req);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function _networkError(error: Error): UploadError {
  return new UploadError(`the upload connection failed: ${error.message}`, {
    retryable: true,
    freshUrl: false,
    cause: error,
  });
}
