/**
 * `mixpeek local`: the API-compatible local registry (SPEC.md §9). It serves every path of Mixpeek's plugin
 * API as the vendored OpenAPI document (lib/api/openapi/plugins.openapi.json) describes it, shape for shape,
 * so it is an honest peer for the CLI's end-to-end tests, for Mixpeek's own Python CLI, and the embedded
 * default behind the README demo.
 *
 * ## The API
 * The namespace paths `/v1/namespaces/{namespace_id}/plugins…` (presigned uploads and their confirm, the
 * multipart upload, list, get, delete, deploy, undeploy, status, realtime/test, the organisation plugins
 * available/enable/disable), the organisation paths `/v1/plugins…`, and the extractor lists
 * `/v1/namespaces/{ns}/extractors[/{id}]` and `/v1/collections/features/extractors` (with `X-Namespace`, as
 * Mixpeek's original CLI lists). Every request needs `Authorization: Bearer <key>` (the dev key of the data
 * dir); the namespace is `default`, the organisation `org_local`. Handlers: routes.ts.
 *
 * - Success is 200 with the operation's documented body. Request bodies are validated against the document
 *   (ajv): an invalid one is FastAPI's 422 `{"detail": [{"loc", "msg", "type"}]}`; everything else that goes
 *   wrong is an `ErrorResponse` (`{"success": false, "status", "error": {"message", "type", "details"}}`):
 *   401 without a valid key, 404 `NotFoundError` for an unknown namespace, plugin or upload, 409
 *   `ConflictError` for a name@version that exists, 403 `QuotaExceededError` past the quota (10 plugins per
 *   namespace by default, `--plugin-quota`). A path the document does not have is FastAPI's
 *   `{"detail": "Not Found"}`, a method it does not list `{"detail": "Method Not Allowed"}` (405).
 * - Versions `v1`, `1.0`, `v2.1` are normalised to X.Y.Z before validation (as the newer server does). Plugin
 *   ids are `{name}_{1_0_0}`, feature URIs `mixpeek://{name}@{version}`.
 * - Upload URLs: the answer's `s3_key` ends in `.tar.gz` (or `.zip` with `--archive-format zip`, like the
 *   zip-only deployments), and the archive must be in that format. The presigned PUT follows S3's rules
 *   (upload_route.ts on disk, SigV4 on S3): Content-Type signed, no other header demanded, Content-Length
 *   required, expiry, tamper check, an MD5 ETag. URLs live `presigned_url_expiration` seconds (default
 *   `--upload-ttl`, 3600).
 * - Confirm (`{etag, file_size_bytes}`, both optional) compares them with the object, then unpacks it safely,
 *   runs the structure check and the security scan (validate.ts) and answers 200 either way: `success: true`
 *   with the new plugin (validation_status `passed`, deployment_status `pending`), or `success: false` with
 *   `validation_errors`. A repeated confirm gets the same answer.
 * - Deploy: `?deployment_type=batch_only`, or a plugin without realtime.py, is `deployed` at once
 *   (deployment_type batch_only); a realtime deploy is `queued` and goes pending → in_progress → deployed
 *   through the Deployer (deployer.ts): by default a supervised Python worker that hosts the plugin's
 *   realtime service on 127.0.0.1 (workers/deployer.ts says how it starts, fails, times out and stops).
 *   realtime/test calls it and answers PluginRealtimeTestResponse. Undeploy and delete stop the worker
 *   (`not_deployed`); so does shutdown. Restarting the server resumes what was queued or in progress and
 *   brings back what was deployed.
 * - `POST /inference/custom_plugin_{plugin_id}` (the deployment's route_prefix; not in the document, as on
 *   Mixpeek, where Ray Serve serves it): inference_route.ts.
 *
 * Also: GET `/healthz` (no auth) → `{status: "ok"}`; `/_faults` when fault admin is on (faults.ts); the disk
 * backend's upload route `/_uploads/{upload_id}` and archive route `/_archives/…` (signed URLs only). Every
 * response has an `X-Request-Id`. The data dir layout and default location are in paths.ts.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { documentedOperations, matchTemplate } from "../api/openapi/document.ts";
import { UsageError } from "../errors.ts";
import { type BlobStore, DiskBlobStore, S3BlobStore, type S3Options } from "./blobs.ts";
import { archiveChecks } from "./checks.ts";
import type { Deployer, DeployerHost } from "./deployer.ts";
import { Deployments } from "./deployments.ts";
import { handleInference } from "./inference_route.ts";
import { WorkerDeployer } from "./workers/deployer.ts";
import { FaultInjector, type FaultRule, type FaultRuleInput, parseFaults } from "./faults.ts";
import {
  ConnectionGuard,
  DEFAULT_GUARD_LIMITS,
  type GuardLimits,
  type GuardStats,
  isGuarded,
} from "./guard.ts";
import { realtimeLane } from "./realtime_lane.ts";
import {
  errorResponse,
  HttpError,
  jsonResponse,
  methodNotAllowed,
  newRequestId,
  notFoundRoute,
  readBodyBytes,
  s3ErrorResponse,
} from "./http.ts";
import {
  type DataDirLock,
  type DataPaths,
  dataPaths,
  ensureDataDir,
  lockDataDir,
  prepareDataDir,
  privateDbFile,
  readApiKeyFile,
  writeApiKeyFile,
} from "./paths.ts";
import { type ApiDeps, Gate, ROUTES } from "./routes.ts";
import { DEFAULT_NAMESPACE } from "./seed.ts";
import { UploadSigner } from "./signing.ts";
import { RegistryStore } from "./store.ts";
import { handleUploadPut, PAUSE_MS, WRITE_BUFFER_BYTES } from "./upload_route.ts";
import { BufferPool, Ticker } from "./buffers.ts";
import { type ArchiveChecks, type ExtractLimits, validateArchive } from "./validate.ts";

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
  /** Default lifetime of upload URLs, seconds (default 3600; a request's presigned_url_expiration wins). */
  uploadTtlSeconds?: number;
  /** Largest archive accepted (default 500 MB, Mixpeek's limit; `--max-upload-size`). */
  maxUploadBytes?: number;
  /** Plugins per namespace (default 10, Mixpeek's default quota). */
  quota?: number;
  /** The archive format upload URLs name (default tar.gz; zip like the zip-only deployments). */
  archiveFormat?: "tar.gz" | "zip";
  /** Fault rules (format: faults.ts); validated like a --faults file (a UsageError names the bad rule). */
  faults?: FaultRuleInput[];
  /** Enables the /_faults admin route. */
  faultAdmin?: boolean;
  /**
   * What runs realtime deployments: default, supervised Python workers (WorkerDeployer, with `python` and
   * `invokeTimeoutMs`); a function is given the registry's archive store and extractor to build one.
   */
  deployer?: Deployer | ((host: DeployerHost) => Deployer);
  /** The interpreter of deployment workers (`--python`, an absolute path); default: Python discovery. */
  python?: string;
  /** The limit of one realtime call (`--invoke-timeout`; default 20 s). */
  invokeTimeoutMs?: number;
  extractLimits?: Partial<ExtractLimits>;
  /** Replaces the shared checks (tests of the registry's own failure handling only). */
  checks?: ArchiveChecks;
  /**
   * Connection timeouts and limits (guard.ts): idle, request-head and stalled-body timeouts in ms, the most
   * connections open at once, the largest request head. Defaults: DEFAULT_GUARD_LIMITS.
   */
  limits?: Partial<GuardLimits>;
  /**
   * The private link between the connection guard and the HTTP server: a Unix socket in the data dir
   * (the default), or a loopback port that refuses requests without the guard's secret (the default on
   * Windows, which has no Unix sockets for Deno).
   */
  backendTransport?: "unix" | "tcp";
  /**
   * Whether the guard answers realtime calls itself (realtime_lane.ts; the default) or passes them on to the
   * HTTP server like every other request (tests compare the two).
   */
  realtimeLane?: boolean;
  /** One line per request and per transition; never contains the API key or URL signatures. */
  onLog?: (line: string) => void;
}

export interface LocalRegistry {
  /** Base URL for MIXPEEK_BASE_URL, e.g. http://127.0.0.1:8787 */
  url: string;
  api_key: string;
  namespace: string;
  data_dir: string;
  backend: "disk" | "s3";
  /** The connection guard's counters (guard.ts GuardStats). */
  connectionStats(): GuardStats;
  /** A new API key was created by this start (first start, or its file was removed): show it to the user. */
  new_api_key: boolean;
  close(): Promise<void>;
}

export const DEFAULT_UPLOAD_TTL_SECONDS = 3600;
/** Mixpeek's upload limit (500 MB; the API's file_size_bytes maximum). */
export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;
export const DEFAULT_QUOTA = 10;
/** Source code compresses 3–10×; far beyond that is a gzip bomb, refused after the first MiB. */
export const DEFAULT_MAX_COMPRESSION_RATIO = 200;
/** Archives unpacked and scanned at once (the others wait): bounds the server's memory and CPU. */
const VALIDATION_SLOTS = 2;
const STALE_UPLOAD_GRACE_MS = 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 5000;
/** The upload route's 1 MiB write buffers (uploads beyond that many at full speed write each read). */
const POOLED_UPLOAD_BUFFERS = 8;
const INJECTED_DROP = "mixpeek local: injected connection drop";
const DOWNLOAD_TTL_SECONDS = 3600;
/** Keys remembered as valid (a registry has one, or a few after key rotations). */
const ACCEPTED_KEYS = 16;

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
  const quota = options.quota ?? DEFAULT_QUOTA;
  if (!Number.isSafeInteger(quota) || quota < 0) {
    throw new UsageError(`--plugin-quota must be a whole number ≥ 0`);
  }

  const faultRules = parseFaults(options.faults ?? [], "the faults option");

  const limits: GuardLimits = { ...DEFAULT_GUARD_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new UsageError(`the ${name} limit must be a positive number`);
    }
  }

  // The lock comes first: until it is held, nothing in the data dir may be touched (a registry may be
  // running on it, with uploads in tmp/ and validations in work/).
  const paths = dataPaths(options.dataDir);
  await ensureDataDir(paths);
  const lock = await lockDataDir(paths);
  let store: RegistryStore | undefined;
  try {
    await prepareDataDir(paths, lock);
    await privateDbFile(paths);
    store = RegistryStore.open(paths.db);
    return await _start(options, {
      host,
      port,
      ttl,
      maxUpload,
      quota,
      paths,
      store,
      faultRules,
      lock,
      limits,
    });
  } catch (error) {
    store?.close();
    lock.release();
    throw error;
  }
}

interface _Setup {
  host: string;
  port: number;
  ttl: number;
  maxUpload: number;
  quota: number;
  paths: DataPaths;
  store: RegistryStore;
  faultRules: FaultRule[];
  lock: DataDirLock;
  limits: GuardLimits;
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
  deps: ApiDeps;
  maxUpload: number;
  /** Set when the HTTP server is on a loopback port: requests must carry it (they came through the guard). */
  guardSecret?: string;
  /** The upload route's write buffers and its pause ticker (upload_route.ts). */
  uploadBuffers: BufferPool;
  ticker: Ticker;
  /**
   * Keys a request has already been let in with (at most ACCEPTED_KEYS): keys are only ever added, so one
   * that matched stays valid, and hashing it again was a twentieth of a realtime call's cost in the registry.
   */
  acceptedKeys: Set<string>;
  log(line: string): void;
}

async function _start(options: LocalRegistryOptions, setup: _Setup): Promise<LocalRegistry> {
  const { paths, store, lock } = setup;
  const log = options.onLog ?? (() => {});
  if (lock.previous) {
    log(
      `the previous mixpeek local on this data dir (pid ${lock.previous.pid}) did not stop cleanly; ` +
        "its unfinished uploads and validations were discarded",
    );
  }
  for (const note of store.migrationNotes) log(note);

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
  store.ensureNamespace(DEFAULT_NAMESPACE);

  let baseUrl = "";
  // Upload URLs use the origin the client reached us by (the Host header), falling back to the bound address.
  const disk = new DiskBlobStore(paths.blobs, (request) =>
    signer.url(request.origin ?? baseUrl, {
      upload_id: request.upload_id,
      content_type: request.content_type,
      expires: request.expires,
    }));
  const blobs: BlobStore = options.s3 ? new S3BlobStore(options.s3) : disk;
  await blobs.check();

  const closing = new AbortController();
  const faults = new FaultInjector(setup.faultRules);
  const checks = options.checks ?? archiveChecks();
  const limits = { max_compression_ratio: DEFAULT_MAX_COMPRESSION_RATIO, ...options.extractLimits };
  const gate = new Gate(VALIDATION_SLOTS);
  const host: DeployerHost = { blobs, workDir: paths.work, extract: checks.extract, limits, log };
  const deployer = typeof options.deployer === "function"
    ? options.deployer(host)
    : options.deployer ?? new WorkerDeployer(host, {
      python: options.python,
      invokeTimeoutMs: options.invokeTimeoutMs,
    });
  const garbage = new _Garbage(store, blobs, blobs.kind === "disk" ? disk : undefined, log);
  const deployments = new Deployments(store, deployer, log);
  const deps: ApiDeps = {
    store,
    blobs,
    deployments,
    validate: (key, format, signal) =>
      gate.run(() => validateArchive(key, format, { blobs, workDir: paths.work, checks, limits }, signal)),
    collectGarbage: (keys) => garbage.collect({ keys }),
    confirming: new Map(),
    multipart: new Gate(1),
    presignDownload: (row) => {
      const expires = Math.floor(Date.now() / 1000) + DOWNLOAD_TTL_SECONDS;
      if (blobs.presignGet) return blobs.presignGet(row.blob_key, expires);
      return signer.downloadUrl(baseUrl, `/_archives/${row.scope}/${row.owner}/${row.plugin_id}`, expires);
    },
    uploadTtlSeconds: setup.ttl,
    maxUploadBytes: setup.maxUpload,
    quota: setup.quota,
    archiveFormat: options.archiveFormat ?? "tar.gz",
    closing: closing.signal,
    log,
  };
  const context: _Context = {
    options,
    store,
    blobs,
    disk,
    signer,
    paths,
    faults,
    closing: closing.signal,
    deps,
    maxUpload: setup.maxUpload,
    uploadBuffers: new BufferPool(WRITE_BUFFER_BYTES, POOLED_UPLOAD_BUFFERS),
    acceptedKeys: new Set(),
    ticker: new Ticker(PAUSE_MS),
    log,
  };

  // The HTTP server listens on a private socket; the public port is the connection guard's (guard.ts).
  const backend = await _backendAddress(
    paths,
    options.backendTransport ?? (Deno.build.os === "windows" ? "tcp" : "unix"),
  );
  if (backend.secret) context.guardSecret = backend.secret;
  const serveOptions = {
    onListen: () => {},
    onError: (error: unknown) => {
      if ((error as Error)?.message !== INJECTED_DROP) {
        log(`internal error: ${(error as Error)?.stack ?? error}`);
      }
      return errorResponse(new HttpError(500, "InternalServerError", "internal error"), newRequestId());
    },
  };
  const handler = (request: Request) => _handle(request, context);
  const server: Deno.HttpServer = "path" in backend.listen
    ? Deno.serve({ ...serveOptions, transport: "unix", path: backend.listen.path }, handler)
    : Deno.serve({ ...serveOptions, ...backend.listen }, handler);
  const serverAddr = server.addr as Deno.Addr;
  // The socket is the user's alone, whatever the data dir's mode (requests through it skip the guard).
  if ("path" in backend.listen) await Deno.chmod(backend.listen.path, 0o600);
  const connectBackend = () =>
    serverAddr.transport === "unix"
      ? Deno.connect({ transport: "unix", path: (serverAddr as Deno.UnixAddr).path })
      : Deno.connect({ hostname: "127.0.0.1", port: (serverAddr as Deno.NetAddr).port });
  let guard: ConnectionGuard;
  try {
    guard = ConnectionGuard.listen({
      hostname: setup.host,
      port: setup.port,
      limits: setup.limits,
      connectBackend,
      secret: backend.secret,
      lane: options.realtimeLane === false ? undefined : realtimeLane({
        deps: context.deps,
        authorize: (header) => _authorizeHeader(header, context),
        namespaceExists: (id) => store.namespaceExists(id),
        faultsArmed: () => context.faults.armed,
        closing: closing.signal,
        log,
      }),
      log,
    });
  } catch (error) {
    await server.shutdown();
    await backend.cleanup();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`port ${setup.port} on ${setup.host} is already in use`, {
        hint: "pass --port N for another port (0 picks a free one), or stop the other server",
      });
    }
    throw error;
  }
  const addr = guard.addr;
  const hostPart = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  baseUrl = `http://${hostPart}:${addr.port}`;
  await lock.publish(baseUrl).catch((e) => log(`cannot write ${paths.lock_info}: ${(e as Error).message}`));

  deployments.resume();
  // At start-up, every stray file of the disk backend goes too (nothing is in flight yet).
  await garbage.collect({ strays: true });
  const sweeper = setInterval(() => void garbage.collect(), SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweeper);

  let closed: Promise<void> | undefined;
  return {
    url: baseUrl,
    api_key: apiKey,
    namespace: DEFAULT_NAMESPACE,
    data_dir: paths.root,
    backend: blobs.kind,
    new_api_key: newKey,
    connectionStats: () => guard.stats(),
    close() {
      closed ??= (async () => {
        clearInterval(sweeper);
        guard.stopAccepting();
        await garbage.idle();
        closing.abort();
        await deployments.close();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          server.shutdown(),
          new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
        ]);
        clearTimeout(timer);
        await guard.close();
        context.ticker.stop();
        await backend.cleanup();
        checks.close?.();
        store.close();
        lock.release();
      })();
      return closed;
    },
  };
}

interface _Backend {
  listen: { transport: "unix"; path: string } | { hostname: string; port: number };
  /** Set for a loopback port, which other local users could reach: only the guard knows it. */
  secret?: string;
  cleanup(): Promise<void>;
}

/** Longest socket path every Unix accepts (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 100;

/**
 * Where the HTTP server listens behind the guard: the data dir's http.sock (private to the user, and ours
 * alone: the lock is held), a socket in a private temp folder when that path is too long, or a loopback
 * port with a secret where there are no Unix sockets (Windows).
 */
async function _backendAddress(paths: DataPaths, transport: "unix" | "tcp"): Promise<_Backend> {
  if (transport === "tcp") {
    const secret = crypto.randomUUID().replaceAll("-", "");
    return { listen: { hostname: "127.0.0.1", port: 0 }, secret, cleanup: () => Promise.resolve() };
  }
  let path = paths.socket;
  let folder: string | undefined;
  if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH) {
    folder = await Deno.makeTempDir({ prefix: "mixpeek-sock-" });
    path = `${folder}/http.sock`;
  }
  await Deno.remove(path).catch(() => {}); // a socket left by a registry that was killed
  return {
    listen: { transport: "unix", path },
    async cleanup() {
      await Deno.remove(folder ?? path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Removes archives that no record holds: those listed in dead_blobs (a deleted plugin's, a failed upload's,
 * an expired upload's; store.ts), deleted again until their upload URL has expired (an S3 URL keeps working
 * and may put the object back), and at start-up every file of the disk backend that no record names
 * (left by a crash), with the empty folders. Uploads never confirmed are dropped a day after their URL
 * expired. Runs one at a time; never throws (a failure is logged and retried by the next run).
 */
class _Garbage {
  readonly #store: RegistryStore;
  readonly #blobs: BlobStore;
  readonly #disk?: DiskBlobStore;
  readonly #log: (line: string) => void;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    store: RegistryStore,
    blobs: BlobStore,
    disk: DiskBlobStore | undefined,
    log: (line: string) => void,
  ) {
    this.#store = store;
    this.#blobs = blobs;
    this.#disk = disk;
    this.#log = log;
  }

  /** `keys`: only these archives (a failed confirm's); none: all of them; `strays`: the disk scan too. */
  collect(options: { keys?: string[]; strays?: boolean } = {}): Promise<void> {
    const run = this.#chain.then(() => this.#collect(options)).catch((error) =>
      this.#log(`removing archives without a record failed: ${(error as Error).message}`)
    );
    this.#chain = run;
    return run;
  }

  /** Resolves when no run is in progress. */
  idle(): Promise<void> {
    return this.#chain;
  }

  async #collect(options: { keys?: string[]; strays?: boolean }): Promise<void> {
    if (options.keys === undefined) {
      const stale = this.#store.staleUploads(new Date(Date.now() - STALE_UPLOAD_GRACE_MS).toISOString());
      for (const upload of stale) this.#store.deleteUpload(upload.upload_id);
      if (stale.length > 0) {
        this.#log(`removed ${stale.length} unconfirmed upload(s) that expired over a day ago`);
      }
    }
    const at = new Date().toISOString();
    for (const dead of this.#store.deadBlobs(options.keys)) {
      if (this.#store.blobInUse(dead.blob_key)) {
        this.#store.forgetDeadBlob(dead.blob_key); // recorded again (a multipart upload that completed)
        continue;
      }
      try {
        await this.#blobs.delete(dead.blob_key);
      } catch (error) {
        this.#log(`cannot remove the archive ${dead.blob_key} (will retry): ${(error as Error).message}`);
        continue;
      }
      if (dead.keep_until <= at) this.#store.forgetDeadBlob(dead.blob_key);
    }
    if (options.strays && this.#disk) {
      const removed = await this.#strays(this.#disk.root, "", this.#store.liveBlobKeys());
      if (removed > 0) this.#log(`removed ${removed} archive file(s) without a record from the data dir`);
    }
  }

  /** Removes the files under root/prefix that no record names, and the folders left empty; how many files. */
  async #strays(root: string, prefix: string, live: Set<string>): Promise<number> {
    let removed = 0;
    const folder = prefix === "" ? root : join(root, ...prefix.split("/"));
    for await (const entry of Deno.readDir(folder)) {
      const key = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory) {
        removed += await this.#strays(root, key, live);
        await Deno.remove(join(folder, entry.name)).catch(() => {}); // only when empty
      } else if (!live.has(key)) {
        await Deno.remove(join(folder, entry.name));
        removed++;
      }
    }
    return removed;
  }
}

async function _handle(request: Request, ctx: _Context): Promise<Response> {
  const requestId = newRequestId();
  const started = performance.now();
  // Behind the guard's Unix socket Deno names the scheme http+unix: the client spoke plain http.
  const url = new URL(request.url.startsWith("http+unix:") ? `http:${request.url.slice(10)}` : request.url);
  if (!isGuarded(request, ctx.guardSecret)) {
    await request.body?.cancel().catch(() => {});
    return errorResponse(
      new HttpError(403, "ForbiddenError", "requests must come through the registry's own port"),
      requestId,
    );
  }
  const storageRoute = url.pathname.startsWith("/_uploads/") || url.pathname.startsWith("/_archives/");
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
        storageRoute ? "InternalError" : "InternalServerError",
        `internal error (request ${requestId}): ${(error as Error)?.message}`,
      );
    }
    // Whatever was not read of the request body is dropped, so the connection can answer at once.
    await request.body?.cancel().catch(() => {});
    response = storageRoute ? s3ErrorResponse(http, requestId, url.pathname) : errorResponse(http, requestId);
  }
  const ms = Math.round(performance.now() - started);
  ctx.log(`${request.method} ${url.pathname} → ${response.status} (${ms} ms) ${requestId}`);
  return response;
}

const ALLOWED_METHODS = new Map<string, string[]>();
for (const op of documentedOperations()) {
  ALLOWED_METHODS.set(op.template, [...(ALLOWED_METHODS.get(op.template) ?? []), op.method.toUpperCase()]);
}

async function _route(request: Request, url: URL, requestId: string, ctx: _Context): Promise<Response> {
  const path = url.pathname;
  const method = request.method;
  if (path === "/healthz") {
    if (method !== "GET" && method !== "HEAD") throw methodNotAllowed(["GET", "HEAD"]);
    return jsonResponse(200, { status: "ok" }, requestId);
  }
  if (path === "/_faults" && ctx.options.faultAdmin) return await _faultAdmin(request, requestId, ctx);

  const uploadMatch = /^\/_uploads\/([^/]+)$/.exec(path);
  const isUploadRoute = uploadMatch !== null && ctx.blobs.kind === "disk";
  const matched = matchTemplate(path, method);
  const isCreateUpload = method === "POST" && matched !== undefined && matched.template.endsWith("/uploads");
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
    return await handleUploadPut(request, decodeURIComponent(uploadMatch[1]), {
      store: ctx.store,
      signer: ctx.signer,
      disk: ctx.disk,
      tmpDir: ctx.paths.tmp,
      maxUploadBytes: ctx.maxUpload,
      closing: ctx.closing,
      buffers: ctx.uploadBuffers,
      ticker: ctx.ticker,
    }, { expired, requestId });
  }
  if (path.startsWith("/_archives/") && ctx.blobs.kind === "disk") return await _download(request, url, ctx);

  if (!matched && path.startsWith("/inference/")) {
    _authorize(request, ctx);
    return await handleInference(request, path, requestId, ctx.deps);
  }
  if (!matched) throw notFoundRoute();
  const handler = ROUTES[`${method} ${matched.template}`];
  if (!handler) throw methodNotAllowed(ALLOWED_METHODS.get(matched.template) ?? []);
  _authorize(request, ctx);
  const namespaceId = matched.params.namespace_id;
  if (namespaceId !== undefined && !ctx.store.namespaceExists(namespaceId)) {
    throw new HttpError(404, "NotFoundError", "Namespace not found", {
      details: { id: namespaceId, resource: "namespace", known: [DEFAULT_NAMESPACE] },
    });
  }
  const [status, body] = await handler({ request, url, params: matched.params, expired, deps: ctx.deps });
  return jsonResponse(status, body, requestId);
}

/** GET /_archives/{scope}/{owner}/{plugin_id}?expires&signature: a presigned download (disk backend). */
async function _download(request: Request, url: URL, ctx: _Context): Promise<Response> {
  if (request.method !== "GET") throw new HttpError(405, "MethodNotAllowed", "Archive URLs take GET only.");
  const expires = Number(url.searchParams.get("expires"));
  const signature = url.searchParams.get("signature") ?? "";
  if (
    !Number.isSafeInteger(expires) || !(await ctx.signer.verifyDownload(url.pathname, expires, signature))
  ) {
    throw new HttpError(403, "SignatureDoesNotMatch", "The archive URL was changed or is not signed.");
  }
  if (expires * 1000 <= Date.now()) throw new HttpError(403, "AccessDenied", "Request has expired.");
  const [, , scope, owner, pluginId] = url.pathname.split("/").map(decodeURIComponent);
  const row = ctx.store.getPlugin(scope as "namespace" | "org", owner, pluginId);
  const stored = row ? await ctx.blobs.stat(row.blob_key) : undefined;
  if (!row || !stored) throw new HttpError(404, "NoSuchKey", "The archive does not exist (deleted?).");
  return new Response(await ctx.blobs.open(row.blob_key), {
    headers: {
      "content-type": row.format === "zip" ? "application/zip" : "application/gzip",
      "content-length": String(stored.size),
    },
  });
}

function _authorize(request: Request, ctx: _Context): void {
  _authorizeHeader(request.headers.get("authorization"), ctx);
}

/** Throws the 401 unless the Authorization header carries a valid key. */
function _authorizeHeader(header: string | null, ctx: _Context): void {
  const headers = { "www-authenticate": 'Bearer realm="mixpeek local"' };
  const refuse = (message: string) => new HttpError(401, "AuthenticationError", message, { headers });
  if (header === null) throw refuse("Missing API key: send it as `Authorization: Bearer <key>`");
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) throw refuse("The Authorization header must be `Bearer <key>`");
  const key = match[1];
  if (ctx.acceptedKeys.has(key)) return;
  if (!ctx.store.hasApiKeyHash(_sha256Hex(key))) {
    throw refuse("Invalid API key for this registry (its key is in the data dir's api_key file)");
  }
  if (ctx.acceptedKeys.size < ACCEPTED_KEYS) ctx.acceptedKeys.add(key);
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
    throw new HttpError(status, uploadRoute ? s3Code : type, message, { headers });
  };
  switch (rule.fault) {
    case "500":
      return fail(500, "InternalServerError", "InternalError", retryAfter);
    case "503":
      return fail(503, "ServiceUnavailableError", "SlowDown", retryAfter);
    case "429":
      return fail(429, "RateLimitError", "TooManyRequests", { "retry-after": String(rule.retry_after ?? 1) });
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
  if (!["GET", "POST", "DELETE"].includes(request.method)) throw methodNotAllowed(["GET", "POST", "DELETE"]);
  _authorize(request, ctx);
  if (request.method === "POST") {
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder().decode(await readBodyBytes(request)));
    } catch (error) {
      throw new HttpError(400, "BadRequestError", `the body is not valid JSON: ${(error as Error).message}`);
    }
    let rules: FaultRule[];
    try {
      rules = parseFaults(document, "POST /_faults");
    } catch (error) {
      throw new HttpError(400, "BadRequestError", (error as Error).message);
    }
    ctx.faults.add(rules);
  } else if (request.method === "DELETE") ctx.faults.clear();
  return jsonResponse(200, { faults: ctx.faults.list() }, requestId);
}
