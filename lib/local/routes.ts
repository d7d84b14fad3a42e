/**
 * The handlers of every path of the vendored OpenAPI document (lib/api/openapi/plugins.openapi.json), keyed by
 * `METHOD template`. Auth and the namespace are checked by the dispatcher in registry.ts first. A handler
 * returns [200, body] with a body of the operation's generated type, or throws HttpError (an ErrorResponse, or
 * FastAPI's 422 for an invalid body or query).
 */
import {
  ARCHIVE_CONTENT_TYPES,
  type AvailablePlugins,
  type ConfirmResponse,
  type CreateUploadRequest,
  type DeleteResponse,
  type DeploymentType,
  type DeployResponse,
  type DisableResponse,
  type EnableRequest,
  type EnableResponse,
  type Extractor,
  type ExtractorList,
  type FeatureExtractor,
  type OrgDeleteResponse,
  type OrgPluginDetail,
  type OrgPluginList,
  type OrgPresignedUpload,
  type PluginDetail,
  type PluginList,
  type PresignedUpload,
  type RealtimeTestRequest,
  type UndeployResponse,
  type UploadResponse,
} from "../api/types.ts";
import { featureUriOf, normalizeVersion, pluginIdOf } from "../plugin/identity.ts";
import type { BlobStore } from "./blobs.ts";
import type { Deployments } from "./deployments.ts";
import { checkBody } from "./fastapi.ts";
import { HttpError, readBodyBytes, readJsonBody, validationError } from "./http.ts";
import {
  availableItem,
  customExtractor,
  customFeatureExtractor,
  deploymentName,
  listItem,
  orgPluginDocument,
  pluginDocument,
  routePrefix,
  seedExtractor,
  statusDocument,
  wireStatus,
} from "./records.ts";
import { ORGANIZATION_ID, SEED_EXTRACTORS } from "./seed.ts";
import {
  newId,
  type NewPlugin,
  now,
  type PluginRow,
  type RegistryStore,
  type Scope,
  type UploadRow,
  validatedPlugin,
} from "./store.ts";
import type { ArchiveVerdict } from "./validate.ts";

export interface ApiDeps {
  store: RegistryStore;
  blobs: BlobStore;
  deployments: Deployments;
  /** Runs the archive checks (ArchiveChecks) on a stored blob; at most a few at a time, the others queue. */
  validate(blobKey: string, format: "tar.gz" | "zip", signal: AbortSignal): Promise<ArchiveVerdict>;
  /**
   * Removes the archives no record holds (store.ts dead_blobs): these keys, or all of them (after a
   * delete). Failures are logged and retried by the next sweep; never throws.
   */
  collectGarbage(keys?: string[]): Promise<void>;
  /** The confirms in progress, by upload id: a concurrent confirm of the same upload shares the answer. */
  confirming: Map<string, Promise<Answer>>;
  /** Multipart uploads are held in memory whole: one at a time (the others wait, unread). */
  multipart: Gate;
  /** A presigned GET of a plugin's archive (return_presigned_urls). */
  presignDownload(row: PluginRow): Promise<string>;
  uploadTtlSeconds: number;
  maxUploadBytes: number;
  /** Plugins per namespace (Mixpeek's default quota: 10). */
  quota: number;
  /** The format upload URLs name (`s3_key`), and the one archives must be in. */
  archiveFormat: "tar.gz" | "zip";
  closing: AbortSignal;
  log(line: string): void;
}

export interface RouteContext {
  request: Request;
  url: URL;
  /** The template's path parameters, decoded. */
  params: Record<string, string>;
  /** The `expire` fault is active for this request. */
  expired: boolean;
  deps: ApiDeps;
}

export type Answer = [status: number, body: unknown];
export type Handler = (ctx: RouteContext) => Promise<Answer> | Answer;

// --- helpers -----------------------------------------------------------------------------------------------

function _notFound(message: string, details?: Record<string, unknown>): HttpError {
  return new HttpError(404, "NotFoundError", message, { details });
}

function _describe(row: { name: string; version: string }): string {
  return `${row.name}@${row.version}`;
}

function _namespacePlugin(ctx: RouteContext): PluginRow {
  const row = ctx.deps.store.getPlugin("namespace", ctx.params.namespace_id, ctx.params.plugin_id);
  if (!row) throw _notFound(`Plugin not found: ${ctx.params.plugin_id}`, { plugin_id: ctx.params.plugin_id });
  return row;
}

function _orgPlugin(ctx: RouteContext, message = "Plugin not found"): PluginRow {
  const row = ctx.deps.store.getPlugin("org", ORGANIZATION_ID, ctx.params.plugin_id);
  if (!row) throw _notFound(`${message}: ${ctx.params.plugin_id}`, { plugin_id: ctx.params.plugin_id });
  return row;
}

const BOOLEAN_TRUE = ["true", "1", "yes", "on", "t", "y"];
const BOOLEAN_FALSE = ["false", "0", "no", "off", "f", "n"];

/** A boolean query parameter as pydantic reads one; 422 for anything else. */
function _boolQuery(url: URL, name: string, fallback: boolean): boolean {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  if (BOOLEAN_TRUE.includes(raw.toLowerCase())) return true;
  if (BOOLEAN_FALSE.includes(raw.toLowerCase())) return false;
  throw validationError([{
    type: "bool_parsing",
    loc: ["query", name],
    msg: "Input should be a valid boolean, unable to interpret input",
  }]);
}

function _enumQuery<T extends string>(url: URL, name: string, allowed: readonly T[]): T | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw validationError([{
    type: "enum",
    loc: ["query", name],
    msg: `Input should be ${allowed.map((a) => `'${a}'`).join(" or ")}`,
  }]);
}

/** Archives whose record went away are removed now (on disk or in the bucket), and any others pending. */
async function _dropBlob(deps: ApiDeps, key?: string): Promise<void> {
  await deps.collectGarbage(key === undefined ? undefined : [key]);
}

// --- uploads -----------------------------------------------------------------------------------------------

/** The namespace service normalises `v1`, `1.0` and `v2.1` before it validates (SOURCE.md); so do we. */
function _normalizedBody(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const version = (body as Record<string, unknown>).version;
  if (typeof version !== "string") return body;
  const normal = normalizeVersion(version);
  return normal === undefined ? body : { ...body, version: normal };
}

function _conflict(scope: Scope, name: string, version: string): HttpError {
  return new HttpError(
    409,
    "ConflictError",
    `Plugin ${name}@${version} already exists in this ${scope === "org" ? "organization" : "namespace"}`,
    { details: { plugin_id: pluginIdOf(name, version) } },
  );
}

function _quota(deps: ApiDeps, namespaceId: string): void {
  const count = deps.store.countPlugins("namespace", namespaceId);
  if (count >= deps.quota) {
    throw new HttpError(403, "QuotaExceededError", `Plugin quota exceeded (${count}/${deps.quota})`, {
      details: { current_count: count, max_allowed: deps.quota },
    });
  }
}

function _blobKey(scope: Scope, owner: string, uploadId: string, pluginId: string, format: string): string {
  return scope === "org"
    ? `${owner}/plugin_custom/${uploadId}/${pluginId}.${format}`
    : `${owner}/plugins/${uploadId}/${pluginId}.${format}`;
}

async function _createUpload(ctx: RouteContext, scope: Scope, template: string): Promise<Answer> {
  const { deps } = ctx;
  const body = _normalizedBody(await readJsonBody(ctx.request));
  checkBody(template, "post", body);
  const request = body as CreateUploadRequest;
  const owner = scope === "org" ? ORGANIZATION_ID : ctx.params.namespace_id;
  const pluginId = pluginIdOf(request.name, request.version);
  if (deps.store.getPlugin(scope, owner, pluginId)) throw _conflict(scope, request.name, request.version);
  if (scope === "namespace") _quota(deps, owner);
  const declared = request.file_size_bytes ?? null;
  if (declared !== null && declared > deps.maxUploadBytes) {
    throw new HttpError(
      400,
      "BadRequestError",
      `file_size_bytes ${declared} is over this registry's limit of ${deps.maxUploadBytes} bytes`,
      { details: { max_allowed: deps.maxUploadBytes } },
    );
  }
  const ttl = request.presigned_url_expiration ?? deps.uploadTtlSeconds;
  const uploadId = newId("plu");
  const created = Date.now();
  const expires = ctx.expired ? Math.floor(created / 1000) - 1 : Math.floor(created / 1000) + ttl;
  const format = deps.archiveFormat;
  const key = _blobKey(scope, owner, uploadId, pluginId, format);
  const url = await deps.blobs.presignPut({
    upload_id: uploadId,
    key,
    content_type: ARCHIVE_CONTENT_TYPES[format],
    expires,
    origin: ctx.url.origin,
  });
  const row: UploadRow = {
    upload_id: uploadId,
    scope,
    owner,
    name: request.name,
    version: request.version,
    description: request.description ?? null,
    declared_size: declared,
    format,
    blob_key: key,
    state: "created",
    etag: null,
    size_bytes: null,
    plugin_id: null,
    result: null,
    expires_at: new Date(expires * 1000).toISOString(),
    created_at: new Date(created).toISOString(),
    uploaded_at: null,
  };
  deps.store.insertUpload(row);
  const common = {
    upload_id: uploadId,
    presigned_url: url,
    s3_key: key,
    expires_at: row.expires_at,
    name: request.name,
    version: request.version,
  };
  if (scope === "org") {
    const answer: OrgPresignedUpload = { ...common, organization_id: owner };
    return [200, answer];
  }
  const answer: PresignedUpload = { ...common, namespace_id: owner };
  return [200, answer];
}

function _failed(upload: UploadRow, errors: string[], message: string): ConfirmResponse {
  return {
    success: false,
    upload_id: upload.upload_id,
    plugin_id: null,
    validation_status: "failed",
    validation_errors: errors,
    deployment_status: "not_deployed",
    feature_uri: null,
    s3_archive_url: null,
    message,
  };
}

function _strip(etag: string | null | undefined): string | undefined {
  return etag ? etag.trim().replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase() : undefined;
}

/** Only so many archives are unpacked and scanned at once; the others wait their turn. */
export class Gate {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(slots: number) {
    this.#free = slots;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

async function _confirm(ctx: RouteContext, scope: Scope, template: string): Promise<Answer> {
  const { deps } = ctx;
  const body = await readJsonBody(ctx.request);
  checkBody(template, "post", body);
  const request = (body ?? {}) as { etag?: string | null; file_size_bytes?: number | null };
  const owner = scope === "org" ? ORGANIZATION_ID : ctx.params.namespace_id;
  const upload = deps.store.getUpload(ctx.params.upload_id);
  if (!upload || upload.scope !== scope || upload.owner !== owner) {
    // A deleted plugin's upload: its record went with it, so it cannot be confirmed again. Its archive is
    // removed (again: an S3 upload URL still works until it expires, and may have put it back).
    const dead = upload ? undefined : deps.store.deadBlobOfUpload(ctx.params.upload_id);
    if (dead !== undefined) await deps.collectGarbage([dead]);
    throw _notFound(
      `Upload not found: ${ctx.params.upload_id}${dead !== undefined ? " (its plugin was deleted)" : ""}`,
      { upload_id: ctx.params.upload_id },
    );
  }
  if (upload.result !== null) { // a repeated confirm: the same answer
    if (upload.state === "failed") await deps.collectGarbage([upload.blob_key]); // PUT again on S3?
    return [200, JSON.parse(upload.result)];
  }
  // Concurrent confirms of one upload share one validation (and one answer).
  const running = deps.confirming.get(upload.upload_id);
  if (running) return await running;
  const answer = _confirmUpload(ctx, upload, request, scope, owner);
  deps.confirming.set(upload.upload_id, answer);
  try {
    return await answer;
  } finally {
    deps.confirming.delete(upload.upload_id);
  }
}

async function _confirmUpload(
  ctx: RouteContext,
  upload: UploadRow,
  request: { etag?: string | null; file_size_bytes?: number | null },
  scope: Scope,
  owner: string,
): Promise<Answer> {
  const { deps } = ctx;
  // Is the object there? The disk route records arrival itself; on S3 the object's HEAD says.
  let stored: { size: number; etag?: string } | undefined;
  if (deps.blobs.kind === "s3") stored = await deps.blobs.stat(upload.blob_key);
  else if (upload.state === "uploaded") {
    stored = { size: upload.size_bytes ?? 0, etag: upload.etag ?? undefined };
  }
  if (!stored) {
    if (Date.parse(upload.expires_at) <= Date.now()) {
      throw new HttpError(
        400,
        "BadRequestError",
        `Upload ${upload.upload_id} expired at ${upload.expires_at}`,
      );
    }
    throw _notFound(
      `S3 object missing for upload ${upload.upload_id}: PUT the archive to presigned_url first, then confirm`,
      { s3_key: upload.blob_key },
    );
  }

  const finish = async (answer: ConfirmResponse, pluginId: string | null): Promise<Answer> => {
    deps.store.finishUpload(upload.upload_id, answer.success ? "confirmed" : "failed", answer, pluginId);
    if (!answer.success) await _dropBlob(deps, upload.blob_key);
    deps.log(
      `${_describe(upload)} (${upload.upload_id}) confirm → ${answer.validation_status}` +
        (answer.success ? ` as ${pluginId}` : `: ${answer.validation_errors?.join("; ")}`),
    );
    return [200, answer];
  };

  const integrity: string[] = [];
  const sentEtag = _strip(request.etag);
  if (sentEtag !== undefined && stored.etag !== undefined && sentEtag !== _strip(stored.etag)) {
    integrity.push(`etag ${request.etag} does not match the uploaded object's ETag "${stored.etag}"`);
  }
  if (typeof request.file_size_bytes === "number" && request.file_size_bytes !== stored.size) {
    integrity.push(
      `file_size_bytes ${request.file_size_bytes} does not match the uploaded object (${stored.size} bytes)`,
    );
  }
  if (upload.declared_size !== null && upload.declared_size !== stored.size) {
    integrity.push(
      `the upload URL was requested for ${upload.declared_size} bytes, but ${stored.size} bytes were uploaded`,
    );
  }
  if (integrity.length > 0) return await finish(_failed(upload, integrity, "Integrity check failed"), null);

  const pluginId = pluginIdOf(upload.name, upload.version);
  if (deps.store.getPlugin(scope, owner, pluginId)) {
    return await finish(
      _failed(upload, [`Plugin ${_describe(upload)} already exists`], "Plugin already exists"),
      null,
    );
  }
  if (scope === "namespace") _quota(deps, owner);

  const verdict = await deps.validate(upload.blob_key, upload.format, deps.closing);
  if (verdict.md5 && stored.etag && _strip(stored.etag) !== verdict.md5 && deps.blobs.kind === "disk") {
    verdict.validation_errors.push("the archive changed after it was uploaded");
    verdict.passed = false;
  }
  if (!verdict.passed) {
    return await finish(
      _failed(
        upload,
        verdict.validation_errors,
        `Validation failed (${verdict.validation_errors.length} problems)`,
      ),
      null,
    );
  }
  const row = _validatedRow(verdict, {
    scope,
    owner,
    plugin_id: pluginId,
    name: upload.name,
    version: upload.version,
    description: upload.description,
    format: upload.format,
    blob_key: upload.blob_key,
    upload_id: upload.upload_id,
  });
  // Checked again: another upload of this name@version may have been confirmed while this one was validated.
  const count = scope === "namespace" ? deps.store.countPlugins("namespace", owner) : 0;
  if (scope === "namespace" && count >= deps.quota) {
    return await finish(
      _failed(upload, [`Plugin quota exceeded (${count}/${deps.quota})`], "Plugin quota exceeded"),
      null,
    );
  }
  if (!deps.store.insertPluginIfAbsent(row)) {
    return await finish(
      _failed(upload, [`Plugin ${_describe(upload)} already exists`], "Plugin already exists"),
      null,
    );
  }
  const answer: ConfirmResponse = {
    success: true,
    upload_id: upload.upload_id,
    plugin_id: pluginId,
    validation_status: "passed",
    validation_errors: [],
    deployment_status: "pending",
    feature_uri: featureUriOf(row.name, row.version),
    s3_archive_url: deps.blobs.archiveUrl(row.blob_key),
    message: verdict.warnings.length > 0
      ? `Plugin created with ${verdict.warnings.length} warning(s): ${verdict.warnings.join("; ")}`
      : scope === "org"
      ? "Plugin created for the organization; enable it in a namespace"
      : "Plugin created; deploy it with POST …/deploy",
  };
  return await finish(answer, pluginId);
}

/** The record of a plugin whose archive passed validation (presigned confirm and multipart upload alike). */
function _validatedRow(
  verdict: ArchiveVerdict,
  identity: Omit<NewPlugin, "code_hash" | "size_bytes" | "security_scan_passed" | "realtime">,
): PluginRow {
  return validatedPlugin({
    ...identity,
    code_hash: verdict.code_hash,
    size_bytes: verdict.size,
    security_scan_passed: verdict.security_scan_passed,
    realtime: verdict.realtime,
  });
}

/** POST /v1/namespaces/{ns}/plugins: the archive in a multipart body (held in memory: one at a time). */
function _multipartUpload(ctx: RouteContext): Promise<Answer> {
  return ctx.deps.multipart.run(() => _multipartUploadNow(ctx));
}

async function _multipartUploadNow(ctx: RouteContext): Promise<Answer> {
  const { deps, request } = ctx;
  const namespaceId = ctx.params.namespace_id;
  const type = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data/i.test(type)) {
    await request.body?.cancel();
    throw validationError(["file", "name", "version"].map((field) => ({
      type: "missing",
      loc: ["body", field],
      msg: "Field required",
    })));
  }
  const bytes = await readBodyBytes(request, deps.maxUploadBytes + 1024 * 1024);
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": type } })
      .formData();
  } catch (error) {
    throw validationError([{ type: "value_error", loc: ["body"], msg: `Invalid multipart body: ${error}` }]);
  }
  const missing = ["file", "name", "version"].filter((f) => form.get(f) === null);
  if (missing.length > 0) {
    throw validationError(
      missing.map((field) => ({ type: "missing", loc: ["body", field], msg: "Field required" })),
    );
  }
  const file = form.get("file");
  if (!(file instanceof File)) {
    throw validationError([{ type: "value_error", loc: ["body", "file"], msg: "Expected UploadFile" }]);
  }
  const fields = _normalizedBody({
    name: String(form.get("name")),
    version: String(form.get("version")),
    description: form.get("description") === null ? undefined : String(form.get("description")),
  }) as CreateUploadRequest;
  checkBody("/v1/namespaces/{namespace_id}/plugins/uploads", "post", fields);
  const pluginId = pluginIdOf(fields.name, fields.version);
  if (deps.store.getPlugin("namespace", namespaceId, pluginId)) {
    throw _conflict("namespace", fields.name, fields.version);
  }
  _quota(deps, namespaceId);
  const data = new Uint8Array(await file.arrayBuffer());
  const format = deps.archiveFormat;
  const uploadId = newId("plu");
  const key = _blobKey("namespace", namespaceId, uploadId, pluginId, format);
  deps.store.provisionalBlob(key); // garbage unless the plugin is recorded below
  await deps.blobs.put(key, data, ARCHIVE_CONTENT_TYPES[format]);
  const verdict = await deps.validate(key, format, deps.closing);
  if (!verdict.passed) {
    await _dropBlob(deps, key);
    throw new HttpError(
      400,
      "ValidationError",
      `Plugin validation failed: ${verdict.validation_errors.join("; ")}`,
      {
        details: { validation_errors: verdict.validation_errors },
      },
    );
  }
  const row = _validatedRow(verdict, {
    scope: "namespace",
    owner: namespaceId,
    plugin_id: pluginId,
    name: fields.name,
    version: fields.version,
    description: fields.description ?? null,
    format,
    blob_key: key,
    upload_id: null,
  });
  if (!deps.store.insertPluginIfAbsent(row)) {
    await _dropBlob(deps, key);
    throw _conflict("namespace", fields.name, fields.version);
  }
  deps.log(`${_describe(row)} uploaded (multipart) as ${pluginId}`);
  const answer: UploadResponse = {
    success: true,
    plugin_id: pluginId,
    validation_status: "passed",
    validation_errors: null,
    deployment_status: "pending",
    feature_uri: featureUriOf(row.name, row.version),
    s3_archive_url: deps.blobs.archiveUrl(key),
  };
  return [200, answer];
}

// --- namespace plugins ---------------------------------------------------------------------------------------

function _listNamespace(ctx: RouteContext): Answer {
  const rows = ctx.deps.store.listPlugins("namespace", ctx.params.namespace_id);
  const answer: PluginList = {
    success: true,
    plugins: rows.map(listItem),
    total: rows.length,
    namespace_id: ctx.params.namespace_id,
  };
  return [200, answer];
}

async function _getNamespace(ctx: RouteContext): Promise<Answer> {
  const presign = _boolQuery(ctx.url, "return_presigned_urls", false);
  const row = _namespacePlugin(ctx);
  const answer: PluginDetail = {
    success: true,
    plugin: pluginDocument(row, ctx.deps.blobs.archiveUrl(row.blob_key)),
    presigned_download_url: presign ? await ctx.deps.presignDownload(row) : null,
  };
  return [200, answer];
}

async function _deleteNamespace(ctx: RouteContext): Promise<Answer> {
  const row = _namespacePlugin(ctx);
  const removed = row.deployment_type === "realtime" &&
    !["not_deployed", "validated"].includes(row.deployment_status);
  await ctx.deps.deployments.stop(row);
  ctx.deps.store.deletePlugin("namespace", row.owner, row.plugin_id);
  await _dropBlob(ctx.deps);
  ctx.deps.log(`${_describe(row)} (${row.plugin_id}) deleted`);
  const answer: DeleteResponse = {
    success: true,
    plugin_id: row.plugin_id,
    message: removed
      ? `Plugin ${row.plugin_id} deleted. Its realtime deployment was stopped.`
      : `Plugin ${row.plugin_id} deleted successfully.`,
    deployment_removed: removed,
  };
  return [200, answer];
}

function _deploy(ctx: RouteContext): Answer {
  const requested = _enumQuery<DeploymentType>(ctx.url, "deployment_type", ["batch_only", "realtime"]);
  const row = _namespacePlugin(ctx);
  if (row.validation_status !== "passed") {
    throw new HttpError(400, "BadRequestError", `Plugin not validated: ${row.plugin_id}`);
  }
  if (requested === "realtime" && !row.realtime) {
    throw new HttpError(
      400,
      "BadRequestError",
      `Plugin ${row.plugin_id} has no realtime.py, so it cannot be deployed for realtime inference`,
    );
  }
  const type: DeploymentType = requested ?? (row.realtime ? "realtime" : "batch_only");
  const next = ctx.deps.deployments.deploy(row, type);
  if (type === "batch_only") {
    const answer: DeployResponse = {
      status: "deployed",
      deployment_type: "batch_only",
      message: row.realtime
        ? "Plugin deployed for batch processing; its realtime.py is not deployed (batch_only was asked for)."
        : "Plugin deployed for batch processing (no realtime endpoint)",
    };
    return [200, answer];
  }
  const answer: DeployResponse = {
    status: next.deployment_status,
    deployment_type: "realtime",
    message: "Plugin queued for deployment: a worker of mixpeek local will host its realtime service at " +
      `${routePrefix(row.plugin_id)}. Follow it with GET …/status.`,
    deployment_name: deploymentName(row.plugin_id),
    route_prefix: routePrefix(row.plugin_id),
    estimated_completion_seconds: 5,
    queue_position: 1,
    deployment_method: ctx.deps.deployments.method,
    status_endpoint: `/namespaces/${row.owner}/plugins/${row.plugin_id}/status`,
  };
  return [200, answer];
}

async function _undeploy(ctx: RouteContext): Promise<Answer> {
  const row = _namespacePlugin(ctx);
  const removed = row.deployment_type === "realtime" &&
    !["not_deployed", "validated"].includes(row.deployment_status);
  await ctx.deps.deployments.undeploy(row);
  const answer: UndeployResponse = {
    success: true,
    plugin_id: row.plugin_id,
    message: `Plugin ${row.plugin_id} undeployed; its archive is kept and it can be deployed again.`,
    deployment_removed: removed,
  };
  return [200, answer];
}

function _status(ctx: RouteContext): Answer {
  return [200, statusDocument(_namespacePlugin(ctx), ctx.params.namespace_id)];
}

const REALTIME_TEST = "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/realtime/test";

/** realtime/test's body, checked against the OpenAPI document (422 otherwise). */
export function realtimeTestBody(body: unknown): RealtimeTestRequest {
  checkBody(REALTIME_TEST, "post", body);
  return (body ?? {}) as RealtimeTestRequest;
}

/** The plugin realtime/test calls: in the namespace and deployed for realtime inference (else 404). */
export function realtimeTestRow(deps: ApiDeps, namespaceId: string, pluginId: string): PluginRow {
  const row = deps.store.getPlugin("namespace", namespaceId, pluginId);
  if (!row) throw _notFound(`Plugin not found: ${pluginId}`, { plugin_id: pluginId });
  if (row.deployment_type !== "realtime" || row.deployment_status !== "deployed") {
    throw _notFound(
      `Plugin ${row.plugin_id} is not deployed for realtime inference (status: ${wireStatus(row)}${
        row.deployment_type === "batch_only" && row.deployment_status === "deployed" ? ", batch_only" : ""
      })`,
      { status: wireStatus(row) },
    );
  }
  return row;
}

async function _realtimeTest(ctx: RouteContext): Promise<Answer> {
  const body = realtimeTestBody(await readJsonBody(ctx.request));
  const row = realtimeTestRow(ctx.deps, ctx.params.namespace_id, ctx.params.plugin_id);
  return [200, await ctx.deps.deployments.invoke(row, body)];
}

// --- organisation plugins in a namespace --------------------------------------------------------------------

function _available(ctx: RouteContext): Answer {
  const enabled = new Set(ctx.deps.store.enabledIn(ctx.params.namespace_id).map((e) => e.plugin_id));
  const rows = ctx.deps.store.listPlugins("org", ORGANIZATION_ID);
  const answer: AvailablePlugins = {
    success: true,
    plugins: rows.map((r) => availableItem(r, enabled.has(r.plugin_id))),
    total: rows.length,
    organization_id: ORGANIZATION_ID,
    namespace_id: ctx.params.namespace_id,
  };
  return [200, answer];
}

async function _enable(ctx: RouteContext): Promise<Answer> {
  const template = "/v1/namespaces/{namespace_id}/plugins/org/{plugin_id}/enable";
  const body = await readJsonBody(ctx.request);
  checkBody(template, "post", body);
  const request = (body ?? {}) as EnableRequest;
  const row = _orgPlugin(ctx, "Org plugin not found");
  if (row.validation_status !== "passed") {
    throw new HttpError(
      400,
      "BadRequestError",
      `Plugin validation failed: ${row.plugin_id} cannot be enabled`,
    );
  }
  const deploy = request.deploy !== false;
  ctx.deps.store.enable({
    namespace_id: ctx.params.namespace_id,
    plugin_id: row.plugin_id,
    params: request.params ?? null,
    deployment_status: deploy ? "deployed" : "skipped",
    enabled_at: now(),
  });
  const answer: EnableResponse = {
    success: true,
    plugin_id: row.plugin_id,
    namespace_id: ctx.params.namespace_id,
    feature_uri: featureUriOf(row.name, row.version),
    message: `Plugin ${_describe(row)} enabled for namespace`,
    deployment_status: deploy ? "deployed" : "skipped",
  };
  return [200, answer];
}

function _disable(ctx: RouteContext): Answer {
  const row = _orgPlugin(ctx, "Org plugin not found");
  if (!ctx.deps.store.disable(ctx.params.namespace_id, row.plugin_id)) {
    throw _notFound(`Org plugin ${row.plugin_id} is not enabled in namespace ${ctx.params.namespace_id}`);
  }
  const answer: DisableResponse = {
    success: true,
    plugin_id: row.plugin_id,
    namespace_id: ctx.params.namespace_id,
    message: `Plugin ${_describe(row)} disabled for namespace`,
  };
  return [200, answer];
}

// --- organisation plugins -------------------------------------------------------------------------------------

function _listOrg(ctx: RouteContext): Answer {
  const rows = ctx.deps.store.listPlugins("org", ORGANIZATION_ID);
  const answer: OrgPluginList = {
    success: true,
    plugins: rows.map(listItem),
    total: rows.length,
    organization_id: ORGANIZATION_ID,
  };
  return [200, answer];
}

function _getOrg(ctx: RouteContext): Answer {
  const row = _orgPlugin(ctx);
  const answer: OrgPluginDetail = {
    success: true,
    plugin: orgPluginDocument(row, ctx.deps.blobs.archiveUrl(row.blob_key)),
  };
  return [200, answer];
}

async function _deleteOrg(ctx: RouteContext): Promise<Answer> {
  const row = _orgPlugin(ctx);
  ctx.deps.store.deletePlugin("org", ORGANIZATION_ID, row.plugin_id);
  await _dropBlob(ctx.deps);
  ctx.deps.log(`${_describe(row)} (${row.plugin_id}, organization) deleted`);
  const answer: OrgDeleteResponse = {
    success: true,
    plugin_id: row.plugin_id,
    message: `Plugin ${row.plugin_id} deleted from the organization (and disabled in every namespace).`,
  };
  return [200, answer];
}

// --- extractors ----------------------------------------------------------------------------------------------

/** Every extractor of a namespace: the seeds, its own plugins and the organisation plugins it enabled. */
function _extractors(deps: ApiDeps, namespaceId: string, includeDisabled: boolean): Extractor[] {
  const custom = deps.store.listPlugins("namespace", namespaceId)
    .filter((r) => includeDisabled || r.deployment_status === "deployed")
    .map((r) => customExtractor(r));
  for (const enabled of deps.store.enabledIn(namespaceId)) {
    const row = deps.store.getPlugin("org", ORGANIZATION_ID, enabled.plugin_id);
    if (row && (includeDisabled || enabled.deployment_status === "deployed")) {
      custom.push(customExtractor(row, enabled));
    }
  }
  return [...SEED_EXTRACTORS.map(seedExtractor), ...custom];
}

function _listExtractors(ctx: RouteContext): Answer {
  const source = _enumQuery(ctx.url, "source", ["builtin", "custom", "all"] as const) ?? "all";
  const includeDisabled = _boolQuery(ctx.url, "include_disabled", false);
  const all = _extractors(ctx.deps, ctx.params.namespace_id, includeDisabled);
  const extractors = source === "all" ? all : all.filter((e) => e.source === source);
  const answer: ExtractorList = {
    success: true,
    extractors,
    total: extractors.length,
    namespace_id: ctx.params.namespace_id,
    builtin_count: extractors.filter((e) => e.source === "builtin").length,
    custom_count: extractors.filter((e) => e.source === "custom").length,
  };
  return [200, answer];
}

function _getExtractor(ctx: RouteContext): Answer {
  const found = _extractors(ctx.deps, ctx.params.namespace_id, true)
    .find((e) => e.feature_extractor_id === ctx.params.extractor_id);
  if (!found) throw _notFound(`Extractor '${ctx.params.extractor_id}' not found`);
  return [200, found];
}

/** GET /v1/collections/features/extractors: Mixpeek's original CLI lists this, with X-Namespace. */
function _featureExtractors(ctx: RouteContext): Answer {
  const namespaceId = ctx.request.headers.get("x-namespace");
  const out: FeatureExtractor[] = [...SEED_EXTRACTORS];
  if (namespaceId !== null) {
    if (!ctx.deps.store.namespaceExists(namespaceId)) {
      throw _notFound("Namespace not found", { id: namespaceId, resource: "namespace" });
    }
    out.push(...ctx.deps.store.listPlugins("namespace", namespaceId).map(customFeatureExtractor));
    for (const enabled of ctx.deps.store.enabledIn(namespaceId)) {
      const row = ctx.deps.store.getPlugin("org", ORGANIZATION_ID, enabled.plugin_id);
      if (row) out.push(customFeatureExtractor(row));
    }
  }
  return [200, out];
}

// --- the table -----------------------------------------------------------------------------------------------

const NS = "/v1/namespaces/{namespace_id}";

/** Every documented operation (`METHOD template`) and its handler; registry.ts dispatches through it. */
export const ROUTES: Readonly<Record<string, Handler>> = {
  "GET /v1/plugins": _listOrg,
  "GET /v1/plugins/{plugin_id}": _getOrg,
  "DELETE /v1/plugins/{plugin_id}": _deleteOrg,
  "POST /v1/plugins/uploads": (ctx) => _createUpload(ctx, "org", "/v1/plugins/uploads"),
  "POST /v1/plugins/uploads/{upload_id}/confirm": (ctx) =>
    _confirm(ctx, "org", "/v1/plugins/uploads/{upload_id}/confirm"),
  [`POST ${NS}/plugins`]: _multipartUpload,
  [`GET ${NS}/plugins`]: _listNamespace,
  [`GET ${NS}/plugins/available`]: _available,
  [`GET ${NS}/plugins/{plugin_id}`]: _getNamespace,
  [`DELETE ${NS}/plugins/{plugin_id}`]: _deleteNamespace,
  [`POST ${NS}/plugins/{plugin_id}/deploy`]: _deploy,
  [`GET ${NS}/plugins/{plugin_id}/status`]: _status,
  [`POST ${NS}/plugins/{plugin_id}/undeploy`]: _undeploy,
  [`POST ${NS}/plugins/uploads`]: (ctx) => _createUpload(ctx, "namespace", `${NS}/plugins/uploads`),
  [`POST ${NS}/plugins/uploads/{upload_id}/confirm`]: (ctx) =>
    _confirm(ctx, "namespace", `${NS}/plugins/uploads/{upload_id}/confirm`),
  [`POST ${NS}/plugins/org/{plugin_id}/enable`]: _enable,
  [`POST ${NS}/plugins/org/{plugin_id}/disable`]: _disable,
  [`GET ${NS}/extractors`]: _listExtractors,
  [`GET ${NS}/extractors/{extractor_id}`]: _getExtractor,
  "GET /v1/collections/features/extractors": _featureExtractors,
  [`POST ${REALTIME_TEST}`]: _realtimeTest,
};
