/**
 * The JSON API of SPEC.md §5 under /v1/namespaces/{namespace_id} (auth and the namespace are checked by the
 * dispatcher in registry.ts before these run). Each handler returns [status, body] or throws HttpError.
 */
import type { BlobStore } from "./blobs.ts";
import { blobKey } from "./blobs.ts";
import { HttpError, readJsonObject } from "./http.ts";
import type { JobRunner } from "./jobs.ts";
import {
  PLUGIN_SOURCES,
  type PluginList,
  pluginNameProblem,
  type PluginSource,
  type PluginStatusDocument,
  semverProblem,
  SHA256_PATTERN,
  type UploadTicket,
  versionSortKey,
} from "./records.ts";
import { type ListPosition, newId, now, type PluginRow, publicRecord, type RegistryStore } from "./store.ts";

export interface ApiDeps {
  store: RegistryStore;
  blobs: BlobStore;
  jobs: JobRunner;
  uploadTtlSeconds: number;
  maxUploadBytes: number;
  log(line: string): void;
}

export type Answer = [status: number, body: unknown];

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

function _field(body: Record<string, unknown>, name: string, kind: "string" | "integer"): string | number {
  const value = body[name];
  if (kind === "string" && typeof value === "string") return value;
  if (kind === "integer" && typeof value === "number" && Number.isSafeInteger(value)) return value;
  throw new HttpError(
    400,
    "validation_error",
    value === undefined
      ? `"${name}" is required`
      : `"${name}" must be ${kind === "string" ? "a string" : "an integer"}`,
  );
}

function _sha256(body: Record<string, unknown>): string {
  const sha256 = (_field(body, "sha256", "string") as string).toLowerCase();
  if (!SHA256_PATTERN.test(sha256)) {
    throw new HttpError(
      400,
      "validation_error",
      `"sha256" must be 64 hexadecimal characters (the archive's SHA-256)`,
    );
  }
  return sha256;
}

function _describe(plugin: PluginRow): string {
  return `${plugin.name}@${plugin.version} (${plugin.plugin_id})`;
}

/** POST /plugins/uploads */
export async function createUpload(
  request: Request,
  namespaceId: string,
  deps: ApiDeps,
  options: { expired: boolean },
): Promise<Answer> {
  const body = await readJsonObject(request);
  const name = _field(body, "name", "string") as string;
  const nameIssue = pluginNameProblem(name);
  if (nameIssue) throw new HttpError(400, "validation_error", `"name": ${nameIssue}`);
  const version = _field(body, "version", "string") as string;
  const versionIssue = semverProblem(version);
  if (versionIssue) throw new HttpError(400, "validation_error", `"version": ${versionIssue}`);
  const size = _field(body, "size_bytes", "integer") as number;
  if (size <= 0) throw new HttpError(400, "validation_error", `"size_bytes" must be greater than 0`);
  if (size > deps.maxUploadBytes) {
    throw new HttpError(
      413,
      "payload_too_large",
      `"size_bytes" ${size} is over this registry's limit of ${deps.maxUploadBytes} bytes for an archive`,
    );
  }
  const sha256 = _sha256(body);
  const live = deps.store.liveVersion(namespaceId, name, version);
  if (live) {
    throw new HttpError(
      409,
      "conflict",
      `${_describe(live)} already exists in namespace ${namespaceId} (status ${live.status}): versions are ` +
        "immutable, so bump the version in manifest.py (or delete the existing one first)",
    );
  }
  const uploadId = newId("upl");
  const created = Date.now();
  const expires = options.expired
    ? Math.floor(created / 1000) - 1
    : Math.floor(created / 1000) + deps.uploadTtlSeconds;
  const key = blobKey(namespaceId, uploadId);
  const presigned = await deps.blobs.presignPut({
    upload_id: uploadId,
    key,
    size_bytes: size,
    sha256,
    expires,
    origin: new URL(request.url).origin,
  });
  deps.store.insertUpload({
    upload_id: uploadId,
    namespace_id: namespaceId,
    name,
    version,
    size_bytes: size,
    sha256,
    blob_key: key,
    state: "created",
    plugin_id: null,
    expires_at: new Date(expires * 1000).toISOString(),
    created_at: new Date(created).toISOString(),
    uploaded_at: null,
  });
  const ticket: UploadTicket = {
    upload_id: uploadId,
    upload_url: presigned.url,
    method: "PUT",
    headers: presigned.headers,
    expires_at: new Date(expires * 1000).toISOString(),
  };
  return [201, ticket];
}

/** POST /plugins/uploads/{upload_id}/confirm */
export async function confirmUpload(
  request: Request,
  namespaceId: string,
  uploadId: string,
  deps: ApiDeps,
): Promise<Answer> {
  const body = await readJsonObject(request);
  const sha256 = _sha256(body);
  const upload = deps.store.getUpload(uploadId);
  if (!upload || upload.namespace_id !== namespaceId) {
    throw new HttpError(404, "upload_not_found", `no upload ${uploadId} in namespace ${namespaceId}`);
  }
  if (sha256 !== upload.sha256) {
    throw new HttpError(
      400,
      "bad_digest",
      `"sha256" ${sha256} does not match the sha256 declared when the upload was created (${upload.sha256})`,
    );
  }
  if (upload.state === "created") {
    // The disk route records arrival itself; on S3 the object's existence is the only signal (HEAD).
    const stored = deps.blobs.kind === "s3" ? await deps.blobs.size(upload.blob_key) : undefined;
    if (stored === undefined) {
      throw new HttpError(
        409,
        "conflict",
        `upload ${uploadId} has not been received yet: PUT the archive to the upload_url first, then confirm`,
      );
    }
    deps.store.markUploaded(uploadId);
  }
  const outcome = deps.store.confirmUpload(upload);
  if (outcome.kind === "conflict") {
    throw new HttpError(
      409,
      "conflict",
      `${
        _describe(outcome.plugin)
      } already exists in namespace ${namespaceId} (status ${outcome.plugin.status}): ` +
        "bump the version in manifest.py",
    );
  }
  if (outcome.kind === "created") {
    if (outcome.replaced?.blob_key && !deps.store.blobInUse(outcome.replaced.blob_key)) {
      await deps.blobs.delete(outcome.replaced.blob_key).catch(() => {});
    }
    deps.log(`${_describe(outcome.plugin)} confirmed → pending`);
    deps.jobs.validate(outcome.plugin.plugin_id);
  }
  // The new record as created (pending); a repeated confirm answers the same plugin as it is now (202 again).
  if (outcome.kind === "created") return [202, publicRecord(outcome.plugin)];
  return [202, publicRecord(deps.store.getPluginById(outcome.plugin.plugin_id) ?? outcome.plugin)];
}

function _encodeCursor(position: ListPosition): string {
  const json = JSON.stringify([position.name, position.version_key, position.plugin_id]);
  return btoa(json).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function _decodeCursor(cursor: string): ListPosition {
  try {
    const json = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    const [name, version_key, plugin_id] = JSON.parse(json);
    if ([name, version_key, plugin_id].every((v) => typeof v === "string")) {
      return { name, version_key, plugin_id };
    }
  } catch {
    // fall through to the error
  }
  throw new HttpError(
    400,
    "validation_error",
    `"cursor" is not a cursor this registry issued (use next_cursor as given)`,
  );
}

/** GET /plugins?source=&limit=&cursor= */
export function listPlugins(url: URL, namespaceId: string, deps: ApiDeps): Answer {
  const source = url.searchParams.get("source") ?? "all";
  if (source !== "all" && !(PLUGIN_SOURCES as readonly string[]).includes(source)) {
    throw new HttpError(
      400,
      "validation_error",
      `"source" must be one of all, ${PLUGIN_SOURCES.join(", ")} (got ${JSON.stringify(source)})`,
    );
  }
  const limitText = url.searchParams.get("limit");
  const limit = limitText === null ? DEFAULT_PAGE_SIZE : Number(limitText);
  if (limitText !== null && (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_PAGE_SIZE)) {
    throw new HttpError(400, "validation_error", `"limit" must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const cursor = url.searchParams.get("cursor");
  const after = cursor === null || cursor === "" ? undefined : _decodeCursor(cursor);
  const rows = deps.store.listPlugins(namespaceId, source as PluginSource | "all", limit + 1, after);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const list: PluginList = {
    plugins: page.map(publicRecord),
    next_cursor: rows.length > limit && last
      ? _encodeCursor({
        name: last.name,
        version_key: versionSortKey(last.version),
        plugin_id: last.plugin_id,
      })
      : null,
  };
  return [200, list];
}

function _plugin(namespaceId: string, pluginId: string, deps: ApiDeps): PluginRow {
  const plugin = deps.store.getPlugin(namespaceId, pluginId);
  if (!plugin) {
    throw new HttpError(404, "plugin_not_found", `no plugin ${pluginId} in namespace ${namespaceId}`);
  }
  return plugin;
}

/** GET /plugins/{plugin_id} */
export function getPlugin(namespaceId: string, pluginId: string, deps: ApiDeps): Answer {
  return [200, publicRecord(_plugin(namespaceId, pluginId, deps))];
}

/** GET /plugins/{plugin_id}/status */
export function pluginStatus(namespaceId: string, pluginId: string, deps: ApiDeps): Answer {
  const plugin = _plugin(namespaceId, pluginId, deps);
  const doc: PluginStatusDocument = {
    plugin_id: plugin.plugin_id,
    status: plugin.status,
    error: plugin.error,
    updated_at: plugin.updated_at,
  };
  return [200, doc];
}

/** DELETE /plugins/{plugin_id}: the records and the archive go; builtin and community entries cannot. */
export async function deletePlugin(namespaceId: string, pluginId: string, deps: ApiDeps): Promise<Answer> {
  const plugin = _plugin(namespaceId, pluginId, deps);
  if (plugin.source !== "custom") {
    throw new HttpError(
      403,
      "forbidden",
      `${_describe(plugin)} is a ${plugin.source} plugin and cannot be deleted`,
    );
  }
  await deps.jobs.cancel(pluginId);
  const deleted = deps.store.deletePlugin(namespaceId, pluginId);
  if (deleted?.blob_key && !deps.store.blobInUse(deleted.blob_key)) await deps.blobs.delete(deleted.blob_key);
  deps.log(`${_describe(plugin)} deleted`);
  return [200, { plugin_id: pluginId, deleted: true }];
}

/** POST /plugins/{plugin_id}/deploy */
export async function deployPlugin(
  request: Request,
  namespaceId: string,
  pluginId: string,
  deps: ApiDeps,
): Promise<Answer> {
  await readJsonObject(request, true);
  const plugin = _plugin(namespaceId, pluginId, deps);
  if (plugin.status === "failed") {
    throw new HttpError(
      409,
      "conflict",
      `${_describe(plugin)} failed validation and cannot be deployed: ${plugin.error}`,
    );
  }
  if (plugin.status === "deploying") {
    throw new HttpError(409, "conflict", `${_describe(plugin)} is already being deployed; poll its status`);
  }
  if (plugin.status !== "ready") {
    throw new HttpError(
      409,
      "conflict",
      `${_describe(plugin)} is not ready yet (status ${plugin.status}); wait until validation finishes`,
    );
  }
  if (!plugin.realtime) {
    throw new HttpError(
      400,
      "realtime_not_supported",
      `${
        _describe(plugin)
      } has no realtime.py, so it cannot be deployed for realtime serving: add realtime.py ` +
        "(`mixpeek plugin init --realtime` shows one) and publish a new version",
    );
  }
  const deployment = { status: "deploying" as const, endpoint: null, updated_at: now() };
  const next = deps.store.transition(pluginId, ["ready"], "deploying", { deployment });
  if (!next) throw new HttpError(409, "conflict", `${_describe(plugin)} changed status meanwhile; try again`);
  deps.jobs.deploy(pluginId);
  return [202, publicRecord(next)];
}
