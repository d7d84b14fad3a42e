/**
 * The disk backend's upload route, `PUT /_uploads/{upload_id}?expires=…&signature=…`, with S3's rules for a
 * presigned PUT, so a client that works here works against S3:
 * - PUT only (405); no Authorization header (400: the URL is the credential, and a client sending its API key
 *   to a storage URL leaks it);
 * - the signature covers upload id, Content-Type and expiry (403 SignatureDoesNotMatch when anything was
 *   changed, or the Content-Type is not the one the upload's format names), an expired URL is 403
 *   AccessDenied "Request has expired"; no other header is demanded (Mixpeek's original CLI sends only
 *   Content-Type);
 * - Content-Length is required and chunked bodies are refused (411 MissingContentLength); more than the
 *   registry's upload limit is 400 EntityTooLarge; a Content-MD5, when sent, must match (400 BadDigest);
 * - the body is streamed to a temp file (bounded memory) while its MD5 is computed, then renamed into place:
 *   nothing half-written is ever visible. The answer's ETag is the quoted MD5 hex, as S3's. Until the upload
 *   is confirmed it may be PUT again (the last one counts, as on S3); after that the URL is refused.
 * Errors are S3-style XML (`<Error><Code>…</Code><Message>…</Message>…`) with a message that says what to do.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { ARCHIVE_CONTENT_TYPES } from "../api/types.ts";
import type { DiskBlobStore } from "./blobs.ts";
import type { BufferPool, Ticker } from "./buffers.ts";
import { HttpError } from "./http.ts";
import type { UploadSigner } from "./signing.ts";
import type { RegistryStore } from "./store.ts";

export interface UploadRouteDeps {
  store: RegistryStore;
  signer: UploadSigner;
  disk: DiskBlobStore;
  tmpDir: string;
  /** Largest body accepted. */
  maxUploadBytes: number;
  /** Aborted when the server stops: an upload in progress is abandoned (and its temp file removed). */
  closing: AbortSignal;
  /** WRITE_BUFFER_BYTES buffers shared by the uploads in progress. */
  buffers: BufferPool;
  /** Ticks every PAUSE_MS: a read still pending at a tick means the body paused. */
  ticker: Ticker;
}

/**
 * Memory per upload. A pending read of a request body costs Deno about twice its view whether or not bytes
 * come, so bodies are read READ_BYTES at a time (reads are cheap: Deno hands a body over in ~64 KiB
 * pieces) and gathered into a WRITE_BUFFER_BYTES buffer from a shared pool, hashed and written when it is
 * full, and also when the body pauses for PAUSE_MS: then the buffer goes back to the pool (when all of
 * the pool's buffers are in use, each read is written as it comes). A stalled
 * upload holds one 16 KiB read, however much it sent before (when every read was 1 MiB, 200 stalled uploads
 * held 1.2 MiB each), and a fast one is still written in 1 MiB pieces.
 */
const READ_BYTES = 16 * 1024;
export const WRITE_BUFFER_BYTES = 1 << 20;
export const PAUSE_MS = 50;

function _sameType(sent: string | null, wanted: string): boolean {
  return sent !== null && sent.split(";")[0].trim().toLowerCase() === wanted;
}

export async function handleUploadPut(
  request: Request,
  uploadId: string,
  deps: UploadRouteDeps,
  options: { expired?: boolean; requestId: string },
): Promise<Response> {
  if (request.method !== "PUT") {
    throw new HttpError(
      405,
      "MethodNotAllowed",
      "The specified method is not allowed against this resource: upload URLs take PUT only " +
        `(got ${request.method}).`,
      { headers: { allow: "PUT" } },
    );
  }
  if (request.headers.has("authorization")) {
    throw new HttpError(
      400,
      "InvalidArgument",
      "Only one auth mechanism allowed: the upload URL is already signed. Do not send an Authorization " +
        "header to an upload URL (it would hand your API key to the storage service).",
    );
  }
  const url = new URL(request.url);
  const expires = url.searchParams.get("expires");
  const signature = url.searchParams.get("signature");
  if (expires === null || signature === null || !/^\d{1,12}$/.test(expires)) {
    throw new HttpError(
      403,
      "AccessDenied",
      "Query-string authentication requires the expires and signature parameters: use the presigned_url " +
        "exactly as POST …/plugins/uploads returned it.",
    );
  }
  const upload = deps.store.getUpload(uploadId);
  if (!upload) {
    throw new HttpError(
      404,
      "NoSuchUpload",
      `The upload ${uploadId} does not exist (never created, or deleted).`,
    );
  }
  const contentType = ARCHIVE_CONTENT_TYPES[upload.format];
  const fields = { upload_id: uploadId, content_type: contentType, expires: Number(expires) };
  if (!(await deps.signer.verify(fields, signature))) {
    throw new HttpError(
      403,
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided: the upload URL was " +
        "changed. Use presigned_url exactly as POST …/plugins/uploads returned it.",
    );
  }
  if (options.expired || Number(expires) * 1000 <= Date.now()) {
    throw new HttpError(
      403,
      "AccessDenied",
      `Request has expired: this upload URL expired at ${new Date(Number(expires) * 1000).toISOString()}. ` +
        "Request a new one with POST …/plugins/uploads.",
    );
  }
  if (upload.state === "confirmed" || upload.state === "failed") {
    throw new HttpError(
      403,
      "AccessDenied",
      `The upload ${uploadId} was already confirmed: create a new upload.`,
    );
  }
  const sentType = request.headers.get("content-type");
  if (!_sameType(sentType, contentType)) {
    throw new HttpError(
      403,
      "SignatureDoesNotMatch",
      `The request signature we calculated does not match the signature you provided: this URL was signed ` +
        `for "Content-Type: ${contentType}" (a ${upload.format} archive, as s3_key says), ` +
        (sentType === null ? "and none was sent." : `not ${JSON.stringify(sentType)}.`),
    );
  }
  if (request.headers.has("transfer-encoding")) {
    throw new HttpError(
      411,
      "MissingContentLength",
      `You must provide the Content-Length HTTP header: chunked transfer encoding ` +
        `(${
          request.headers.get("transfer-encoding")
        }) is not accepted for uploads. Stream the file with an ` +
        "explicit Content-Length instead (fetch() with a stream body sends chunked).",
    );
  }
  const lengthHeader = request.headers.get("content-length");
  if (lengthHeader === null) {
    throw new HttpError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  const length = Number(lengthHeader);
  if (!/^\d+$/.test(lengthHeader) || !Number.isSafeInteger(length)) {
    throw new HttpError(
      400,
      "InvalidArgument",
      `Content-Length ${JSON.stringify(lengthHeader)} is not a number.`,
    );
  }
  if (length > deps.maxUploadBytes) {
    throw new HttpError(
      400,
      "EntityTooLarge",
      `Your proposed upload of ${length} bytes exceeds the maximum allowed size of ${deps.maxUploadBytes} bytes.`,
    );
  }
  const md5 = await _receive(request, length, deps, upload.blob_key, uploadId, options.requestId);
  deps.store.markUploaded(uploadId, md5, length);
  return new Response(null, {
    status: 200,
    headers: {
      etag: `"${md5}"`,
      "x-request-id": options.requestId,
      "x-amz-request-id": options.requestId,
    },
  });
}

/** Streams the body into a temp file, checks its size and Content-MD5, then moves it into place atomically. */
async function _receive(
  request: Request,
  size: number,
  deps: UploadRouteDeps,
  key: string,
  uploadId: string,
  requestId: string,
): Promise<string> {
  const temp = join(deps.tmpDir, `${uploadId}.${requestId}.part`);
  // The temp file is created with the first bytes: a connection that never sends any leaves nothing.
  let file: Deno.FsFile | undefined;
  const open = async () => (file ??= await Deno.open(temp, { write: true, createNew: true, mode: 0o600 }));
  const md5 = createHash("md5");
  let gathered: Uint8Array | undefined;
  let gatheredBytes = 0;
  const flush = async (keep: boolean) => {
    if (gathered && gatheredBytes > 0) {
      const bytes = gathered.subarray(0, gatheredBytes);
      md5.update(bytes);
      await _writeAll(await open(), bytes); // a write error (disk full) is the server's: 500 InternalError
    }
    gatheredBytes = 0;
    if (!keep && gathered) {
      deps.buffers.give(gathered);
      gathered = undefined;
    }
  };
  try {
    let received = 0;
    const body = new _BodyReader(request.body ?? new ReadableStream<Uint8Array>());
    // A stalled client must not hold up shutdown: cancelling ends the read loop; the upload is incomplete.
    // (A client that stops sending is cut off by the connection guard's body timeout, guard.ts.)
    const onClosing = () => void body.cancel();
    deps.closing.addEventListener("abort", onClosing, { once: true });
    if (deps.closing.aborted) onClosing();
    try {
      for (;;) {
        let bytes: Uint8Array | null;
        try {
          const pending = body.next();
          if (gatheredBytes > 0) {
            // The body paused with bytes gathered: write them now and give the buffer back while it waits.
            const paused = await Promise.race([pending.then(() => false), deps.ticker.next.then(() => true)]);
            if (paused) await flush(false);
          }
          bytes = await pending;
        } catch (error) { // the client went away or sent less than its Content-Length
          await body.cancel();
          throw new HttpError(
            400,
            "IncompleteBody",
            `You did not provide the number of bytes specified by the Content-Length HTTP header: the body ` +
              `ended after ${received} of ${size} bytes (${(error as Error).message}).`,
          );
        }
        if (bytes === null) break;
        received += bytes.length;
        if (gatheredBytes + bytes.length > deps.buffers.size) await flush(true);
        gathered ??= deps.buffers.take();
        if (!gathered || bytes.length > deps.buffers.size) { // every buffer is in use, or a huge chunk
          md5.update(bytes);
          await _writeAll(await open(), bytes);
          continue;
        }
        gathered.set(bytes, gatheredBytes);
        gatheredBytes += bytes.length;
      }
      await flush(false);
    } finally {
      deps.closing.removeEventListener("abort", onClosing);
    }
    if (received !== size) {
      throw new HttpError(
        400,
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header: " +
          `got ${received} of ${size}.`,
      );
    }
    const digest = md5.digest();
    const contentMd5 = request.headers.get("content-md5");
    if (contentMd5 !== null && contentMd5 !== btoa(String.fromCharCode(...digest))) {
      throw new HttpError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
    (await open()).close();
    file = undefined;
    const target = deps.disk.pathOf(key);
    await Deno.mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await Deno.rename(temp, target);
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  } finally {
    if (gathered) deps.buffers.give(gathered);
    file?.close();
    await Deno.remove(temp).catch(() => {});
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/**
 * Reads a body READ_BYTES at a time with a BYOB reader into one reused buffer, so a 1 GB upload makes no
 * garbage per chunk. Falls back to the stream's own chunks when the body is not a byte stream.
 */
class _BodyReader {
  readonly #byob?: ReadableStreamBYOBReader;
  readonly #plain?: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: ArrayBuffer = new ArrayBuffer(READ_BYTES);
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.#byob = stream.getReader({ mode: "byob" });
    } catch {
      this.#plain = stream.getReader();
    }
  }

  /** The next bytes (valid until the next call), or null at the end of the body. */
  async next(): Promise<Uint8Array | null> {
    if (this.#ended) return null;
    if (this.#plain) {
      const { done, value } = await this.#plain.read();
      if (done) this.#ended = true;
      return done ? null : value;
    }
    const { done, value } = await this.#byob!.read(new Uint8Array(this.#buffer));
    if (value === undefined) { // cancelled: the buffer went with the read
      this.#ended = true;
      return null;
    }
    this.#buffer = value.buffer as ArrayBuffer;
    if (done) this.#ended = true;
    return done && value.byteLength === 0 ? null : value;
  }

  async cancel(): Promise<void> {
    this.#ended = true;
    await (this.#byob ?? this.#plain)!.cancel().catch(() => {});
  }
}
