/**
 * `mixpeek local`: an API-compatible local registry (SPEC.md §5, §6), strict like the real services so it
 * is an honest peer for the CLI's end-to-end tests and the embedded default behind the README demo.
 *
 * ## The API (all JSON; every response has an `X-Request-Id` header)
 * Under `/v1/namespaces/{namespace_id}`, with `Authorization: Bearer <key>`:
 *
 * | Route | Success | Body |
 * |---|---|---|
 * | POST `/plugins/uploads` | 201 | in `{name, version, size_bytes, sha256}` → `{upload_id, upload_url, method: "PUT", headers, expires_at}` |
 * | PUT `upload_url` | 200 | the archive bytes, with Content-Length and the ticket's `headers`; no Authorization |
 * | POST `/plugins/uploads/{upload_id}/confirm` | 202 | in `{sha256}` → the plugin record, status `pending` |
 * | GET `/plugins?source=all\|builtin\|custom\|community&limit=1..100&cursor=` | 200 | `{plugins: [record…], next_cursor}` |
 * | GET `/plugins/{plugin_id}` | 200 | the record |
 * | DELETE `/plugins/{plugin_id}` | 200 | `{plugin_id, deleted: true}` (record, upload and archive removed) |
 * | POST `/plugins/{plugin_id}/deploy` | 202 | (optional `{}`) → the record, status `deploying`, then `ready` |
 * | GET `/plugins/{plugin_id}/status` | 200 | `{plugin_id, status, error, updated_at}` (error: null unless failed) |
 *
 * Upload rules: `name` is the plugin's Python package name (snake_case), `version` semver, `size_bytes` an
 * integer > 0 and ≤ the limit (`--max-upload-size`, default 1 GiB; 413 over it), `sha256` 64 hex digits;
 * a live plugin with that name and version already is 409 `conflict`.
 * The upload URL expires after `--upload-ttl` seconds (default 3600). Disk backend: a route of this server
 * signed by it (see upload_route.ts for its S3 rules: 405/411/400 BadDigest/403 expired or tampered, XML
 * errors); S3 backend: a SigV4 presigned PUT to the bucket. Either way send exactly the ticket's `headers`
 * (`Content-Type: application/gzip`, `x-amz-checksum-sha256: <base64 sha256>`) and a Content-Length.
 *
 * Confirm: 409 when the archive has not arrived yet, 400 `bad_digest` when `sha256` is not the declared one,
 * 409 `conflict` when a live plugin (any status but failed) has that name and version (a failed one is
 * replaced: it never got published). Confirming the same upload again is idempotent: 202, the same record.
 * Then, in the background: pending → validating (object exists with the declared size and sha256, safe
 * extraction, structure check, security scan) → ready, or failed with `error` saying why (the path, or the
 * finding's file:line:column and rule). Deploy: 409 unless ready; 400 `realtime_not_supported` without
 * realtime.py; then deploying → ready with `deployment: {status: "active", endpoint, updated_at}`.
 * Restarting the server resumes whatever was pending, validating or deploying.
 *
 * The list (every status) is ordered by name, then version precedence (1.2.0 < 1.10.0), then plugin_id, and
 * paged: `limit` defaults to 50, `next_cursor` is opaque (null on the last page). A few builtin entries
 * and one community entry are seeded into every namespace (they have no archive and cannot be deleted:
 * 403 `forbidden`).
 *
 * ## The plugin record (stable field names)
 * `plugin_id` (plg_…), `namespace_id`, `name`, `version`, `source` (builtin | custom | community), `status`
 * (pending | validating | deploying | ready | failed), `error` (null or why it failed), `sha256` and
 * `size_bytes` (null for builtin/community), `realtime` (the archive has realtime.py; false until
 * validated), `deployment` (null, or `{status: "deploying" | "active", endpoint, updated_at}`),
 * `created_at`, `updated_at` (ISO 8601 UTC).
 *
 * ## Errors: `{"error": {"type", "message"}}`
 * 400 `validation_error` (bad field, malformed JSON, bad query), `bad_digest`, `realtime_not_supported`,
 * 401 `unauthorized` (missing or unknown key), 403 `forbidden`, 404 `not_found` (no such route),
 * `namespace_not_found`, `plugin_not_found`, `upload_not_found`, 405 `method_not_allowed` (with Allow),
 * 409 `conflict`, 413 `payload_too_large`, 415 `unsupported_media_type` (a body not sent as JSON),
 * 429 `rate_limited` / 500 `internal_error` / 503 `service_unavailable` (injected faults, see faults.ts),
 * 501 `not_implemented` (…/plugins/{id}/realtime: deployments are recorded, plugin code is not run).
 *
 * Request bodies must be `Content-Type: application/json` (at most 64 KiB); unknown fields are ignored.
 * Also: GET `/healthz` (no auth) → `{status: "ok"}`; `/_faults` when fault admin is on (faults.ts).
 * The data dir layout and default location are in paths.ts.
 */
import { createHash } from "node:crypto";
import { UsageError } from "../errors.ts";
import { type BlobStore, DiskBlobStore, S3BlobStore, type S3Options } from "./blobs.ts";
import { archiveChecks } from "./checks.ts";
import { FaultInjector, type FaultRule, type FaultRuleInput, parseFaults } from "./faults.ts";
import {
  errorResponse,
  HttpError,
  jsonResponse,
  newRequestId,
  readJsonObject,
  s3ErrorResponse,
} from "./http.ts";
import { JobRunner } from "./jobs.ts";
import {
  type DataPaths,
  dataPaths,
  prepareDataDir,
  privateDbFile,
  readApiKeyFile,
  writeApiKeyFile,
} from "./paths.ts";
import * as api from "./routes.ts";
import { DEFAULT_NAMESPACE, SEED_ENTRIES } from "./seed.ts";
import { UploadSigner } from "./signing.ts";
import { RegistryStore } from "./store.ts";
import { handleUploadPut } from "./upload_route.ts";
import type { ArchiveChecks, ExtractLimits } from "./validate.ts";

export interface LocalRegistryOptions {
  /** Where records and archives live (created on first start). */
  dataDir: string;
  /** Default 127.0.0.1; anything but loopback needs `allowRemote`. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  allowRemote?: boolean;
  /** Store archives in this S3-compatible bucket instead of the data dir. */
  s3?: S3Options;
  /** Lifetime of upload URLs, seconds (default 3600). */
  uploadTtlSeconds?: number;
  /** Largest archive accepted (default 1 GiB; `--max-upload-size`). */
  maxUploadBytes?: number;
  /** Fault rules (format: faults.ts); validated like a --faults file (a UsageError names the bad rule). */
  faults?: FaultRuleInput[];
  /** Enables the /_faults admin route. */
  faultAdmin?: boolean;
  /** How long a simulated realtime deployment takes (default 500 ms). */
  deployDelayMs?: number;
  extractLimits?: Partial<ExtractLimits>;
  /** Replaces the shared checks (tests of the registry's own failure handling only). */
  checks?: ArchiveChecks;
  /** One line per request and per background transition; never contains the API key or URL signatures. */
  onLog?: (line: string) => void;
}

export interface LocalRegistry {
  /** Base URL for MIXPEEK_BASE_URL, e.g. http://127.0.0.1:8787 */
  url: string;
  api_key: string;
  namespace: string;
  data_dir: string;
  backend: "disk" | "s3";
  /** A new API key was created by this start (first start, or its file was removed): show it to the user. */
  new_api_key: boolean;
  close(): Promise<void>;
}

export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;
export const DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
/** Source code compresses 3–10×; far beyond that is a gzip bomb, refused after the first MiB. */
export const DEFAULT_MAX_COMPRESSION_RATIO = 200;
const STALE_UPLOAD_GRACE_MS = 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 5000;
const INJECTED_DROP = "mixpeek local: injected connection drop";

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function _sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Starts the registry and resolves once it is listening. */
export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.allowRemote) {
    throw new UsageError(`refusing to listen on ${host}: the local registry is for this machine only`, {
      hint: "use --host 127.0.0.1, or pass --allow-remote if you really mean to expose it",
    });
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port ${port} is not a port number (0–65535; 0 picks a free one)`);
  }
  const ttl = options.uploadTtlSeconds ?? DEFAULT_UPLOAD_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new UsageError(`--upload-ttl must be a whole number of seconds ≥ 1`);
  }
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (!Number.isSafeInteger(maxUpload) || maxUpload < 1) {
    throw new UsageError(`--max-upload-size must be at least 1 byte`);
  }

  const faultRules = parseFaults(options.faults ?? [], "the faults option");

  const paths = dataPaths(options.dataDir);
  await prepareDataDir(paths);
  await privateDbFile(paths);
  const store = RegistryStore.open(paths.db);
  try {
    return await _start(options, { host, port, ttl, maxUpload, paths, store, faultRules });
  } catch (error) {
    store.close();
    throw error;
  }
}

interface _Setup {
  host: string;
  port: number;
  ttl: number;
  maxUpload: number;
  paths: DataPaths;
  store: RegistryStore;
  faultRules: FaultRule[];
}

async function _start(options: LocalRegistryOptions, setup: _Setup): Promise<LocalRegistry> {
  const { paths, store } = setup;
  const log = options.onLog ?? (() => {});

  let secret = store.getMeta("upload_signing_secret");
  if (!secret) store.setMeta("upload_signing_secret", secret = UploadSigner.newSecret());
  const signer = new UploadSigner(secret);

  let apiKey = await readApiKeyFile(paths);
  const newKey = apiKey === undefined;
  if (apiKey === undefined) {
    apiKey = `mxp_local_${crypto.randomUUID().replaceAll("-", "")}`;
    await writeApiKeyFile(paths, apiKey);
  }
  store.addApiKeyHash(_sha256Hex(apiKey), "dev key");
  store.ensureNamespace(DEFAULT_NAMESPACE, [...SEED_ENTRIES]);

  let baseUrl = "";
  // Upload URLs use the origin the client reached us by (the Host header), falling back to the bound address.
  const disk = new DiskBlobStore(paths.blobs, (request) => signer.url(request.origin ?? baseUrl, request));
  const blobs: BlobStore = options.s3 ? new S3BlobStore(options.s3) : disk;
  await blobs.check();

  const closing = new AbortController();
  const faults = new FaultInjector(setup.faultRules);
  const jobs = new JobRunner({
    store,
    blobs,
    workDir: paths.work,
    checks: options.checks ?? archiveChecks(),
    limits: { max_compression_ratio: DEFAULT_MAX_COMPRESSION_RATIO, ...options.extractLimits },
    deployDelayMs: options.deployDelayMs ?? 500,
    endpointOf: (p) => `${baseUrl}/v1/namespaces/${p.namespace_id}/plugins/${p.plugin_id}/realtime`,
    concurrency: 2,
    log,
  });
  const deps: api.ApiDeps = {
    store,
    blobs,
    jobs,
    uploadTtlSeconds: setup.ttl,
    maxUploadBytes: setup.maxUpload,
    log,
  };
  const context: _Context = {
    options,
    store,
    disk,
    signer,
    paths,
    faults,
    closing: closing.signal,
    deps,
    log,
    blobs,
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: setup.host,
      port: setup.port,
      onListen: () => {},
      onError: (error) => {
        if ((error as Error)?.message !== INJECTED_DROP) {
          log(`internal error: ${(error as Error)?.stack ?? error}`);
        }
        return errorResponse(new HttpError(500, "internal_error", "internal error"), newRequestId());
      },
    }, (request) => _handle(request, context));
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`port ${setup.port} on ${setup.host} is already in use`, {
        hint: "pass --port N for another port (0 picks a free one), or stop the other server",
      });
    }
    throw error;
  }
  const addr = server.addr;
  const hostPart = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  baseUrl = `http://${hostPart}:${addr.port}`;

  jobs.resume();
  const sweep = () => _sweep(store, blobs, log).catch((e) => log(`sweep failed: ${(e as Error).message}`));
  await sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweeper);

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    api_key: apiKey,
    namespace: DEFAULT_NAMESPACE,
    data_dir: paths.root,
    backend: blobs.kind,
    new_api_key: newKey,
    close() {
      closed ??= (async () => {
        clearInterval(sweeper);
        closing.abort();
        await jobs.close();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
        ]);
        clearTimeout(timer);
        store.close();
      })();
      return closed;
    },
  };
}

/** Removes uploads that were never confirmed, a day after their URL expired, with their archives. */
async function _sweep(store: RegistryStore, blobs: BlobStore, log: (line: string) => void): Promise<void> {
  const stale = store.staleUploads(new Date(Date.now() - STALE_UPLOAD_GRACE_MS).toISOString());
  for (const upload of stale) {
    store.deleteUpload(upload.upload_id);
    if (!store.blobInUse(upload.blob_key)) await blobs.delete(upload.blob_key).catch(() => {});
  }
  if (stale.length > 0) log(`removed ${stale.length} unconfirmed upload(s) that expired over a day ago`);
}

interface _Context {
  options: LocalRegistryOptions;
  store: RegistryStore;
  blobs: BlobStore;
  disk: DiskBlobStore;
  signer: UploadSigner;
  paths: DataPaths;
  faults: FaultInjector;
  closing: AbortSignal;
  deps: api.ApiDeps;
  log(line: string): void;
}

async function _handle(request: Request, ctx: _Context): Promise<Response> {
  const requestId = newRequestId();
  const started = performance.now();
  const url = new URL(request.url);
  const isUploadRoute = url.pathname.startsWith("/_uploads/");
  let response: Response;
  try {
    response = await _route(request, url, requestId, ctx);
  } catch (error) {
    let http: HttpError;
    if (error instanceof HttpError) http = error;
    else {
      ctx.log(
        `internal error on ${request.method} ${url.pathname} (${requestId}): ${
          (error as Error)?.stack ?? error
        }`,
      );
      http = new HttpError(
        500,
        "internal_error",
        `internal error (request ${requestId}): ${(error as Error)?.message}`,
      );
    }
    response = isUploadRoute
      ? s3ErrorResponse(isUploadRoute && http.status === 500 ? _s3Code(http) : http, requestId, url.pathname)
      : errorResponse(http, requestId);
  }
  const ms = Math.round(performance.now() - started);
  ctx.log(`${request.method} ${url.pathname} → ${response.status} (${ms} ms) ${requestId}`);
  return response;
}

function _s3Code(error: HttpError): HttpError {
  return new HttpError(error.status, "InternalError", error.message, error.headers);
}

async function _route(request: Request, url: URL, requestId: string, ctx: _Context): Promise<Response> {
  const path = url.pathname;
  const method = request.method;
  if (path === "/healthz") {
    _allow(method, ["GET", "HEAD"]);
    return jsonResponse(200, { status: "ok" }, requestId);
  }
  if (path === "/_faults" && ctx.options.faultAdmin) return await _faultAdmin(request, requestId, ctx);

  const segments = path.split("/").slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return "\u0000";
    }
  });
  const isUploadRoute = segments[0] === "_uploads" && segments.length === 2 && ctx.blobs.kind === "disk";
  const isCreateUpload = method === "POST" && segments.length === 5 && segments[3] === "plugins" &&
    segments[4] === "uploads";
  const fault = ctx.faults.take(method, path, isUploadRoute || isCreateUpload);
  let expired = false;
  if (fault) {
    if (fault.fault === "expire") expired = true;
    else {
      const injected = await _injectFault(request, fault, requestId, ctx, isUploadRoute);
      if (injected) return injected;
    }
  }

  if (isUploadRoute) {
    return await handleUploadPut(request, segments[1], {
      store: ctx.store,
      signer: ctx.signer,
      disk: ctx.disk,
      tmpDir: ctx.paths.tmp,
      closing: ctx.closing,
    }, { expired, requestId });
  }

  if (
    segments.length < 4 || segments[0] !== "v1" || segments[1] !== "namespaces" || segments[3] !== "plugins"
  ) {
    throw new HttpError(
      404,
      "not_found",
      `no route ${method} ${path} (the API lives under /v1/namespaces/{id}/plugins)`,
    );
  }
  const namespaceId = segments[2];
  const rest = segments.slice(4);
  const deps = ctx.deps;
  let handler: () => Promise<api.Answer> | api.Answer;
  if (rest.length === 0) {
    _allow(method, ["GET"]);
    handler = () => api.listPlugins(url, namespaceId, deps);
  } else if (rest.length === 1 && rest[0] === "uploads") {
    _allow(method, ["POST"]);
    handler = () => api.createUpload(request, namespaceId, deps, { expired });
  } else if (rest.length === 3 && rest[0] === "uploads" && rest[2] === "confirm") {
    _allow(method, ["POST"]);
    handler = () => api.confirmUpload(request, namespaceId, rest[1], deps);
  } else if (rest.length === 1) {
    _allow(method, ["GET", "DELETE"]);
    handler = method === "DELETE"
      ? () => api.deletePlugin(namespaceId, rest[0], deps)
      : () => api.getPlugin(namespaceId, rest[0], deps);
  } else if (rest.length === 2 && rest[1] === "deploy") {
    _allow(method, ["POST"]);
    handler = () => api.deployPlugin(request, namespaceId, rest[0], deps);
  } else if (rest.length === 2 && rest[1] === "status") {
    _allow(method, ["GET"]);
    handler = () => api.pluginStatus(namespaceId, rest[0], deps);
  } else if (rest.length === 2 && rest[1] === "realtime") {
    handler = () => {
      api.getPlugin(namespaceId, rest[0], deps);
      throw new HttpError(
        501,
        "not_implemented",
        "the local registry records realtime deployments but does not run plugin code; " +
          "test realtime.py with `mixpeek plugin test`",
      );
    };
  } else {
    throw new HttpError(404, "not_found", `no route ${method} ${path}`);
  }
  _authorize(request, ctx.store);
  if (!ctx.store.namespaceExists(namespaceId)) {
    throw new HttpError(
      404,
      "namespace_not_found",
      `namespace ${
        JSON.stringify(namespaceId)
      } does not exist in this registry (it has "${DEFAULT_NAMESPACE}")`,
    );
  }
  const [status, body] = await handler();
  return jsonResponse(status, body, requestId);
}

function _allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method)) {
    throw new HttpError(
      405,
      "method_not_allowed",
      `${method} is not allowed here (allowed: ${allowed.join(", ")})`,
      {
        allow: allowed.join(", "),
      },
    );
  }
}

function _authorize(request: Request, store: RegistryStore): void {
  const header = request.headers.get("authorization");
  const challenge = { "www-authenticate": 'Bearer realm="mixpeek local"' };
  if (header === null) {
    throw new HttpError(
      401,
      "unauthorized",
      "missing API key: send it as `Authorization: Bearer <key>`",
      challenge,
    );
  }
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) {
    throw new HttpError(401, "unauthorized", "the Authorization header must be `Bearer <key>`", challenge);
  }
  if (!store.hasApiKeyHash(_sha256Hex(match[1]))) {
    throw new HttpError(
      401,
      "unauthorized",
      "this API key is not valid for this registry (its key is in the data dir's api_key file)",
      challenge,
    );
  }
}

/** Answers for an injected fault, or undefined when the request goes on normally (after a `slow` delay). */
async function _injectFault(
  request: Request,
  rule: FaultRule,
  requestId: string,
  ctx: _Context,
  uploadRoute: boolean,
): Promise<Response | undefined> {
  const retryAfter: Record<string, string> = rule.retry_after === undefined
    ? {}
    : { "retry-after": String(rule.retry_after) };
  const fail = (status: number, type: string, s3Code: string, headers: Record<string, string>) => {
    const message = `injected fault: ${status} for ${request.method} ${new URL(request.url).pathname}`;
    throw new HttpError(status, uploadRoute ? s3Code : type, message, headers);
  };
  switch (rule.fault) {
    case "500":
      return fail(500, "internal_error", "InternalError", retryAfter);
    case "503":
      return fail(503, "service_unavailable", "SlowDown", retryAfter);
    case "429":
      return fail(429, "rate_limited", "TooManyRequests", { "retry-after": String(rule.retry_after ?? 1) });
    case "slow":
      await _sleep(rule.delay_ms ?? 1000, ctx.closing);
      return undefined;
    case "hang":
      // Held until the server stops (request.signal is not used: Deno warns about its legacy semantics).
      await new Promise<void>((resolve) => {
        if (ctx.closing.aborted) return resolve();
        ctx.closing.addEventListener("abort", () => resolve(), { once: true });
      });
      await request.body?.cancel().catch(() => {});
      return new Response(null, { status: 503, headers: { "x-request-id": requestId } });
    case "drop":
      return await _drop(request, rule, requestId);
    default:
      return undefined;
  }
}

/** Reads part of the body, then sends headers and a partial body and resets the connection (faults.ts). */
async function _drop(request: Request, rule: FaultRule, requestId: string): Promise<Response> {
  const declared = Number(request.headers.get("content-length") ?? "0") || 0;
  const budget = rule.after_bytes ?? Math.floor(declared / 2);
  if (request.body) {
    const reader = request.body.getReader();
    let read = 0;
    try {
      while (read < budget) {
        const { done, value } = await reader.read();
        if (done) break;
        read += value.length;
      }
    } catch {
      // the client went away first
    }
    await reader.cancel().catch(() => {});
  }
  let sent = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new TextEncoder().encode('{"'));
      } else controller.error(new Error(INJECTED_DROP));
    },
  });
  return new Response(body, {
    status: rule.status ?? 200,
    headers: { "content-type": "application/json", "content-length": "1024", "x-request-id": requestId },
  });
}

function _sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function _faultAdmin(request: Request, requestId: string, ctx: _Context): Promise<Response> {
  _allow(request.method, ["GET", "POST", "DELETE"]);
  _authorize(request, ctx.store);
  if (request.method === "POST") {
    const document = await readJsonObject(request);
    let rules: FaultRule[];
    try {
      rules = parseFaults(document, "POST /_faults");
    } catch (error) {
      throw new HttpError(400, "validation_error", (error as Error).message);
    }
    ctx.faults.add(rules);
  } else if (request.method === "DELETE") ctx.faults.clear();
  return jsonResponse(200, { faults: ctx.faults.list() }, requestId);
}
