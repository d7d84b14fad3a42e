/**
 * The local registry's records in SQLite (`node:sqlite`, WAL): API keys (their sha256 only), namespaces,
 * uploads, plugins (namespace and organisation scope) and the organisation plugins enabled in a namespace.
 * All calls are synchronous, so each method is atomic with respect to the server's other requests.
 *
 * The schema is versioned (`schema_version`). Version 1 was this project's first, invented wire (plugin ids
 * `plg_…`, statuses pending|validating|ready|failed). Opening a version-1 data dir first writes a complete
 * copy of the database beside it (`registry.v1.db`, by `VACUUM INTO`), then converts it in one transaction:
 * every custom plugin that was `ready` with an X.Y.Z version becomes a validated plugin with Mixpeek's id
 * (`{name}_{1_0_0}`), keeping its archive; what cannot be carried over (failed or unfinished uploads, other
 * versions) is listed in `migrationNotes` and stays in the copy. If the copy cannot be written nothing is
 * changed. A data dir written by a newer schema is refused rather than misread.
 */
import { DatabaseSync } from "node:sqlite";
import { FailedError } from "../errors.ts";
import { normalizeVersion, PLUGIN_NAME_PATTERN, pluginIdOf } from "../plugin/identity.ts";

/** Version 2: Mixpeek's published plugin API. */
const SCHEMA_V2 = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS api_keys (key_hash TEXT PRIMARY KEY, label TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS namespaces (namespace_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
  CREATE TABLE uploads (
    upload_id TEXT PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('namespace', 'org')),
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT,
    declared_size INTEGER,
    format TEXT NOT NULL CHECK (format IN ('tar.gz', 'zip')),
    blob_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('created', 'uploaded', 'confirmed', 'failed')),
    etag TEXT,
    size_bytes INTEGER,
    plugin_id TEXT,
    result TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    uploaded_at TEXT
  );
  CREATE TABLE plugins (
    scope TEXT NOT NULL CHECK (scope IN ('namespace', 'org')),
    owner TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT,
    code_hash TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    format TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    upload_id TEXT,
    validation_status TEXT NOT NULL,
    validation_errors TEXT NOT NULL DEFAULT '[]',
    security_scan_passed INTEGER NOT NULL DEFAULT 0,
    realtime INTEGER NOT NULL DEFAULT 0,
    deployment_status TEXT NOT NULL DEFAULT 'validated',
    deployment_type TEXT,
    deployment_error TEXT,
    queued_at TEXT,
    deployed_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (scope, owner, plugin_id)
  );
  CREATE TABLE enabled_plugins (
    namespace_id TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    params TEXT,
    deployment_status TEXT NOT NULL,
    enabled_at TEXT NOT NULL,
    PRIMARY KEY (namespace_id, plugin_id)
  );`;

/**
 * Tables added to version 2 without a new version (an older mixpeek ignores them): `dead_blobs` lists the
 * archives whose record is gone (a deleted plugin, a failed or expired upload), written in the same
 * transaction as the change that made them garbage, so a crash or an unreachable bucket never leaves an
 * archive that nothing will remove. `keep_until` is when its upload URL stops working: until then the
 * object can be PUT again, so every sweep deletes it again.
 */
const ADDITIONS = `
  CREATE TABLE IF NOT EXISTS dead_blobs (
    blob_key TEXT PRIMARY KEY,
    upload_id TEXT,
    keep_until TEXT NOT NULL,
    created_at TEXT NOT NULL
  );`;

export const SCHEMA_VERSION = 2;

export type Scope = "namespace" | "org";
export type UploadState = "created" | "uploaded" | "confirmed" | "failed";
export type StoredFormat = "tar.gz" | "zip";

export interface UploadRow {
  upload_id: string;
  scope: Scope;
  /** The namespace id, or the organisation id for org uploads. */
  owner: string;
  name: string;
  version: string;
  description: string | null;
  /** file_size_bytes of the upload request, when given. */
  declared_size: number | null;
  format: StoredFormat;
  blob_key: string;
  state: UploadState;
  /** The ETag the PUT answered (disk backend: the MD5 of what arrived). */
  etag: string | null;
  size_bytes: number | null;
  plugin_id: string | null;
  /** The confirm answer, JSON, once confirmed or failed (a repeated confirm gets it again). */
  result: string | null;
  expires_at: string;
  created_at: string;
  uploaded_at: string | null;
}

export interface PluginRow {
  scope: Scope;
  owner: string;
  plugin_id: string;
  name: string;
  version: string;
  description: string | null;
  code_hash: string;
  size_bytes: number;
  format: StoredFormat;
  blob_key: string;
  upload_id: string | null;
  validation_status: "passed" | "failed" | "pending";
  validation_errors: string[];
  security_scan_passed: boolean;
  realtime: boolean;
  /**
   * validated (never deployed; the wire says `pending`) | queued | pending | in_progress | deployed | failed |
   * not_deployed
   */
  deployment_status: string;
  deployment_type: "batch_only" | "realtime" | null;
  deployment_error: string | null;
  queued_at: string | null;
  deployed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EnabledRow {
  namespace_id: string;
  plugin_id: string;
  params: Record<string, unknown> | null;
  deployment_status: "deployed" | "pending" | "skipped";
  enabled_at: string;
}

type SqlValue = string | number | null;
type Row = Record<string, SqlValue>;

export function now(): string {
  return new Date().toISOString();
}

/** What a new plugin record is made of: its identity and what validating its archive found. */
export type NewPlugin = Pick<
  PluginRow,
  | "scope"
  | "owner"
  | "plugin_id"
  | "name"
  | "version"
  | "description"
  | "format"
  | "blob_key"
  | "upload_id"
  | "code_hash"
  | "size_bytes"
  | "security_scan_passed"
  | "realtime"
>;

/** The record of a plugin whose archive passed validation: validated, never deployed yet. */
export function validatedPlugin(fields: NewPlugin): PluginRow {
  const at = now();
  return {
    ...fields,
    validation_status: "passed",
    validation_errors: [],
    deployment_status: "validated",
    deployment_type: null,
    deployment_error: null,
    queued_at: null,
    deployed_at: null,
    created_at: at,
    updated_at: at,
  };
}

export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

export class RegistryStore {
  readonly #db: DatabaseSync;
  /** What a migration could not carry over (shown once by the registry at start). */
  readonly migrationNotes: string[] = [];

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database and brings its schema up to date. */
  static open(path: string): RegistryStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      const version = RegistryStore.#versionOf(db);
      if (version > SCHEMA_VERSION) {
        db.close();
        throw new FailedError(
          `the registry database ${path} has schema version ${version}, newer than this mixpeek knows ` +
            `(${SCHEMA_VERSION}); nothing was changed`,
          { hint: "upgrade mixpeek, or pass another --data-dir" },
        );
      }
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
      db.exec("PRAGMA busy_timeout = 5000;");
    } catch (error) {
      if (error instanceof FailedError) throw error;
      throw new FailedError(`cannot open the registry database ${path}: ${(error as Error).message}`, {
        cause: error,
        hint: "check that the data dir is writable, or pass another --data-dir",
      });
    }
    const store = new RegistryStore(db);
    try {
      store.#migrate(path);
    } catch (error) {
      db.close();
      throw error;
    }
    return store;
  }

  /** The schema version of a database, read before anything (even the WAL switch) changes the file. */
  static #versionOf(db: DatabaseSync): number {
    const table = db.prepare(
      "SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
    )
      .get();
    if (table === undefined) return 0;
    const row = db.prepare("SELECT max(version) AS version FROM schema_version").get() as Row | undefined;
    return (row?.version as number | null) ?? 0;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #migrate(path: string): void {
    this.#db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = this.#get("SELECT max(version) AS version FROM schema_version");
    const current = (row?.version as number | null) ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new FailedError(
        `the registry database ${path} has schema version ${current}, newer than this mixpeek knows ` +
          `(${SCHEMA_VERSION}); nothing was changed`,
        { hint: "upgrade mixpeek, or pass another --data-dir" },
      );
    }
    if (current === SCHEMA_VERSION) {
      this.#db.exec(ADDITIONS);
      return;
    }
    if (current === 1) this.#backupV1(path);
    this.#transaction(() => {
      if (current === 1) {
        this.#db.exec("ALTER TABLE plugins RENAME TO v1_plugins; ALTER TABLE uploads RENAME TO v1_uploads;");
      }
      this.#db.exec(SCHEMA_V2);
      this.#db.exec(ADDITIONS);
      if (current === 1) this.#convertV1();
      this.#run("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
    });
  }

  /** A complete, consistent copy of the version-1 database beside it, before anything changes. */
  #backupV1(path: string): void {
    const backup = path.replace(/\.db$/, "") + ".v1.db";
    try {
      try {
        Deno.removeSync(backup); // a copy from an earlier attempt that did not finish
      } catch { /* none */ }
      this.#db.prepare("VACUUM INTO ?").run(backup);
    } catch (error) {
      throw new FailedError(
        `the data dir holds a registry of the first mixpeek local (schema 1); converting it needs a copy at ` +
          `${backup} first, and that failed: ${(error as Error).message}. Nothing was changed.`,
        { hint: "free some space or fix the permissions, or pass another --data-dir", cause: error },
      );
    }
    this.migrationNotes.push(`converted the registry from schema 1; the original is kept in ${backup}`);
  }

  #convertV1(): void {
    const at = now();
    const old = this.#all("SELECT * FROM v1_plugins WHERE source = 'custom' ORDER BY created_at");
    for (const p of old) {
      const name = p.name as string;
      const version = normalizeVersion(p.version as string);
      const label = `${name}@${p.version} (${p.plugin_id})`;
      if (p.status !== "ready") {
        this.migrationNotes.push(`not carried over: ${label} was ${p.status}, never published`);
        continue;
      }
      if (!version || version !== p.version || !PLUGIN_NAME_PATTERN.test(name)) {
        this.migrationNotes.push(`not carried over: ${label} has no Mixpeek name and X.Y.Z version`);
        continue;
      }
      const pluginId = pluginIdOf(name, version);
      if (this.getPlugin("namespace", p.namespace_id as string, pluginId)) {
        this.migrationNotes.push(`not carried over: ${label}, a second copy of ${pluginId}`);
        continue;
      }
      const deployment = p.deployment === null ? null : JSON.parse(p.deployment as string);
      const active = deployment?.status === "active";
      this.#insertPlugin({
        scope: "namespace",
        owner: p.namespace_id as string,
        plugin_id: pluginId,
        name,
        version,
        description: null,
        code_hash: (p.sha256 as string | null) ?? "",
        size_bytes: (p.size_bytes as number | null) ?? 0,
        format: "tar.gz",
        blob_key: p.blob_key as string,
        upload_id: null,
        validation_status: "passed",
        validation_errors: [],
        security_scan_passed: true,
        realtime: p.realtime === 1,
        deployment_status: active ? "deployed" : "validated",
        deployment_type: active ? "realtime" : null,
        deployment_error: null,
        queued_at: null,
        deployed_at: active ? (deployment.updated_at ?? at) : null,
        created_at: p.created_at as string,
        updated_at: at,
      });
    }
    const unconfirmed = this.#get("SELECT count(*) AS n FROM v1_uploads WHERE state <> 'confirmed'");
    if (Number(unconfirmed?.n ?? 0) > 0) {
      this.migrationNotes.push(`dropped ${unconfirmed?.n} unconfirmed upload(s) of the old protocol`);
    }
    this.#db.exec("DROP TABLE v1_plugins; DROP TABLE v1_uploads;");
  }

  /** Runs `fn` inside BEGIN IMMEDIATE … COMMIT, rolling back when it throws. */
  #transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      this.#plugins.clear(); // rows read inside the transaction were never committed
      throw error;
    }
  }

  /** Prepared once per SQL text: preparing costs more than running the small queries of a request. */
  readonly #statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  /**
   * Plugin rows read since the last write (any write clears them all; writes are rare next to reads). A
   * deployed service's every call reads its plugin's row, and a query that waits on SQLite's locks and
   * builds the row is a tenth of what the registry adds to the call (scripts/bench_invoke.ts). The rows are
   * frozen: a caller that changed one would change every later answer.
   */
  readonly #plugins = new Map<string, Readonly<PluginRow>>();
  /** Namespaces found in their table (see namespaceExists). */
  readonly #knownNamespaces = new Set<string>();

  #prepared(sql: string): ReturnType<DatabaseSync["prepare"]> {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.#db.prepare(sql));
    return statement;
  }

  #get(sql: string, ...params: SqlValue[]): Row | undefined {
    return this.#prepared(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: SqlValue[]): Row[] {
    return this.#prepared(sql).all(...params) as Row[];
  }

  #run(sql: string, ...params: SqlValue[]): number {
    this.#plugins.clear();
    return Number(this.#prepared(sql).run(...params).changes);
  }

  // --- meta and keys -------------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    return this.#get("SELECT value FROM meta WHERE key = ?", key)?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.#run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** Whether the key with this sha256 is one of the registry's (the registry remembers the keys it let in). */
  hasApiKeyHash(hash: string): boolean {
    return this.#get("SELECT 1 AS ok FROM api_keys WHERE key_hash = ?", hash) !== undefined;
  }

  addApiKeyHash(hash: string, label: string): void {
    this.#run(
      "INSERT OR IGNORE INTO api_keys (key_hash, label, created_at) VALUES (?, ?, ?)",
      hash,
      label,
      now(),
    );
  }

  // --- namespaces ----------------------------------------------------------------------------------------

  /** Namespaces are only ever added, so one found once is checked in memory after that. */
  namespaceExists(namespaceId: string): boolean {
    if (this.#knownNamespaces.has(namespaceId)) return true;
    const found =
      this.#get("SELECT 1 AS ok FROM namespaces WHERE namespace_id = ?", namespaceId) !== undefined;
    if (found) this.#knownNamespaces.add(namespaceId);
    return found;
  }

  ensureNamespace(namespaceId: string): void {
    this.#run(
      "INSERT OR IGNORE INTO namespaces (namespace_id, created_at) VALUES (?, ?)",
      namespaceId,
      now(),
    );
  }

  // --- uploads -------------------------------------------------------------------------------------------

  insertUpload(upload: UploadRow): void {
    this.#run(
      `INSERT INTO uploads (upload_id, scope, owner, name, version, description, declared_size, format, blob_key,
         state, etag, size_bytes, plugin_id, result, expires_at, created_at, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      upload.upload_id,
      upload.scope,
      upload.owner,
      upload.name,
      upload.version,
      upload.description,
      upload.declared_size,
      upload.format,
      upload.blob_key,
      upload.state,
      upload.etag,
      upload.size_bytes,
      upload.plugin_id,
      upload.result,
      upload.expires_at,
      upload.created_at,
      upload.uploaded_at,
    );
  }

  getUpload(uploadId: string): UploadRow | undefined {
    const row = this.#get("SELECT * FROM uploads WHERE upload_id = ?", uploadId);
    return row === undefined ? undefined : (row as unknown as UploadRow);
  }

  /** Records what a PUT delivered (an unconfirmed upload may be PUT again: the last one counts). */
  markUploaded(uploadId: string, etag: string | null, size: number): void {
    this.#run(
      `UPDATE uploads SET state = 'uploaded', etag = ?, size_bytes = ?, uploaded_at = ?
       WHERE upload_id = ? AND state IN ('created', 'uploaded')`,
      etag,
      size,
      now(),
      uploadId,
    );
  }

  /**
   * Ends an upload with its confirm answer (`confirmed` with the new plugin, or `failed`: then its archive
   * is garbage, see dead_blobs).
   */
  finishUpload(
    uploadId: string,
    state: "confirmed" | "failed",
    result: unknown,
    pluginId: string | null,
  ): void {
    this.#transaction(() => {
      this.#run(
        "UPDATE uploads SET state = ?, result = ?, plugin_id = ? WHERE upload_id = ?",
        state,
        JSON.stringify(result),
        pluginId,
        uploadId,
      );
      const upload = this.getUpload(uploadId);
      if (state === "failed" && upload) this.#bury(upload.blob_key, uploadId, upload.expires_at);
    });
  }

  /** Uploads never confirmed whose URL expired before `before`: their blobs are garbage. */
  staleUploads(before: string): UploadRow[] {
    return this.#all(
      "SELECT * FROM uploads WHERE state IN ('created', 'uploaded') AND expires_at < ?",
      before,
    ) as unknown as UploadRow[];
  }

  /** Deletes an upload record; its archive becomes garbage (dead_blobs) unless a plugin holds it. */
  deleteUpload(uploadId: string): void {
    this.#transaction(() => this.#deleteUpload(uploadId));
  }

  #deleteUpload(uploadId: string): void {
    const upload = this.getUpload(uploadId);
    if (!upload) return;
    this.#run("DELETE FROM uploads WHERE upload_id = ?", uploadId);
    this.#bury(upload.blob_key, uploadId, upload.expires_at);
  }

  // --- archives without a record ---------------------------------------------------------------------------

  /** Lists an archive as garbage; its `keep_until` only grows. */
  #bury(blobKey: string, uploadId: string | null, keepUntil: string): void {
    const until = keepUntil > now() ? keepUntil : now();
    this.#run(
      `INSERT INTO dead_blobs (blob_key, upload_id, keep_until, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (blob_key) DO UPDATE SET keep_until = max(keep_until, excluded.keep_until),
       upload_id = coalesce(dead_blobs.upload_id, excluded.upload_id)`,
      blobKey,
      uploadId,
      until,
      now(),
    );
  }

  /**
   * Lists an archive about to be written without a record yet (the multipart upload): should the server
   * stop before the plugin is recorded, the next sweep removes it. Recording the plugin takes it off.
   */
  provisionalBlob(blobKey: string): void {
    this.#bury(blobKey, null, now());
  }

  /** The archives listed as garbage (a key in use again is skipped and taken off by the sweep). */
  deadBlobs(keys?: string[]): { blob_key: string; upload_id: string | null; keep_until: string }[] {
    const rows = keys === undefined
      ? this.#all("SELECT blob_key, upload_id, keep_until FROM dead_blobs ORDER BY created_at")
      : keys.map((key) =>
        this.#get("SELECT blob_key, upload_id, keep_until FROM dead_blobs WHERE blob_key = ?", key)
      )
        .filter((row): row is Row => row !== undefined);
    return rows as unknown as { blob_key: string; upload_id: string | null; keep_until: string }[];
  }

  /** The garbage archive of a deleted upload (its record is gone), if any. */
  deadBlobOfUpload(uploadId: string): string | undefined {
    return this.#get("SELECT blob_key FROM dead_blobs WHERE upload_id = ?", uploadId)?.blob_key as
      | string
      | undefined;
  }

  forgetDeadBlob(blobKey: string): void {
    this.#run("DELETE FROM dead_blobs WHERE blob_key = ?", blobKey);
  }

  /** Every archive a record points at: plugins, and uploads not ended (their PUT may still come). */
  liveBlobKeys(): Set<string> {
    const rows = this.#all(
      `SELECT blob_key FROM plugins UNION SELECT blob_key FROM uploads WHERE state IN ('created', 'uploaded')`,
    );
    return new Set(rows.map((r) => r.blob_key as string));
  }

  // --- plugins -------------------------------------------------------------------------------------------

  insertPlugin(p: PluginRow): void {
    this.#transaction(() => this.#insertPlugin(p));
  }

  /** Inserts the plugin unless one with its id exists (checked in the same transaction); whether it did. */
  insertPluginIfAbsent(p: PluginRow): boolean {
    return this.#transaction(() => {
      if (this.getPlugin(p.scope, p.owner, p.plugin_id)) return false;
      this.#insertPlugin(p);
      return true;
    });
  }

  #insertPlugin(p: PluginRow): void {
    this.#run("DELETE FROM dead_blobs WHERE blob_key = ?", p.blob_key);
    this.#run(
      `INSERT INTO plugins (scope, owner, plugin_id, name, version, description, code_hash, size_bytes, format,
         blob_key, upload_id, validation_status, validation_errors, security_scan_passed, realtime,
         deployment_status, deployment_type, deployment_error, queued_at, deployed_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      p.scope,
      p.owner,
      p.plugin_id,
      p.name,
      p.version,
      p.description,
      p.code_hash,
      p.size_bytes,
      p.format,
      p.blob_key,
      p.upload_id,
      p.validation_status,
      JSON.stringify(p.validation_errors),
      p.security_scan_passed ? 1 : 0,
      p.realtime ? 1 : 0,
      p.deployment_status,
      p.deployment_type,
      p.deployment_error,
      p.queued_at,
      p.deployed_at,
      p.created_at,
      p.updated_at,
    );
  }

  getPlugin(scope: Scope, owner: string, pluginId: string): Readonly<PluginRow> | undefined {
    const key = `${scope}\0${owner}\0${pluginId}`;
    const cached = this.#plugins.get(key);
    if (cached) return cached;
    const row = this.#get(
      "SELECT * FROM plugins WHERE scope = ? AND owner = ? AND plugin_id = ?",
      scope,
      owner,
      pluginId,
    );
    if (row === undefined) return undefined;
    const plugin = _pluginRow(row);
    Object.freeze(plugin.validation_errors);
    this.#plugins.set(key, Object.freeze(plugin));
    return plugin;
  }

  /** The plugins of a namespace (or the organisation), by name then version then id. */
  listPlugins(scope: Scope, owner: string): PluginRow[] {
    return this.#all(
      "SELECT * FROM plugins WHERE scope = ? AND owner = ? ORDER BY name, version, plugin_id",
      scope,
      owner,
    ).map(_pluginRow);
  }

  countPlugins(scope: Scope, owner: string): number {
    return Number(
      this.#get("SELECT count(*) AS n FROM plugins WHERE scope = ? AND owner = ?", scope, owner)?.n,
    );
  }

  /** Plugins whose deployment is in one of these states (to resume after a restart). */
  pluginsInDeployment(statuses: string[]): PluginRow[] {
    const marks = statuses.map(() => "?").join(", ");
    return this.#all(
      `SELECT * FROM plugins WHERE deployment_status IN (${marks}) ORDER BY updated_at`,
      ...statuses,
    ).map(_pluginRow);
  }

  /** Updates a plugin's deployment fields; returns the row after, or undefined when it is gone. */
  setDeployment(
    key: { scope: Scope; owner: string; plugin_id: string },
    fields: Partial<
      Pick<
        PluginRow,
        "deployment_status" | "deployment_type" | "deployment_error" | "queued_at" | "deployed_at"
      >
    >,
    onlyFrom?: string[],
  ): PluginRow | undefined {
    return this.#transaction(() => {
      const row = this.getPlugin(key.scope, key.owner, key.plugin_id);
      if (!row || (onlyFrom && !onlyFrom.includes(row.deployment_status))) return undefined;
      const next: PluginRow = { ...row, ...fields, updated_at: now() };
      this.#run(
        `UPDATE plugins SET deployment_status = ?, deployment_type = ?, deployment_error = ?, queued_at = ?,
           deployed_at = ?, updated_at = ? WHERE scope = ? AND owner = ? AND plugin_id = ?`,
        next.deployment_status,
        next.deployment_type,
        next.deployment_error,
        next.queued_at,
        next.deployed_at,
        next.updated_at,
        key.scope,
        key.owner,
        key.plugin_id,
      );
      return next;
    });
  }

  /**
   * Deletes the plugin (and, for an org plugin, its enablements) with its upload record, so the upload can
   * never be confirmed again; its archive becomes garbage (dead_blobs). Returns the deleted row.
   */
  deletePlugin(scope: Scope, owner: string, pluginId: string): PluginRow | undefined {
    return this.#transaction(() => {
      const row = this.getPlugin(scope, owner, pluginId);
      if (!row) return undefined;
      this.#run(
        "DELETE FROM plugins WHERE scope = ? AND owner = ? AND plugin_id = ?",
        scope,
        owner,
        pluginId,
      );
      if (scope === "org") this.#run("DELETE FROM enabled_plugins WHERE plugin_id = ?", pluginId);
      if (row.upload_id) this.#deleteUpload(row.upload_id);
      this.#bury(row.blob_key, row.upload_id, now());
      return row;
    });
  }

  /** Whether any row (plugin or upload) still points at this blob. */
  blobInUse(blobKey: string): boolean {
    return this.#get("SELECT 1 AS ok FROM plugins WHERE blob_key = ?", blobKey) !== undefined ||
      this.#get("SELECT 1 AS ok FROM uploads WHERE blob_key = ? AND state <> 'failed'", blobKey) !==
        undefined;
  }

  // --- organisation plugins enabled in a namespace ---------------------------------------------------------

  enable(row: EnabledRow): void {
    this.#run(
      `INSERT INTO enabled_plugins (namespace_id, plugin_id, params, deployment_status, enabled_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace_id, plugin_id) DO UPDATE SET params = excluded.params,
       deployment_status = excluded.deployment_status`,
      row.namespace_id,
      row.plugin_id,
      row.params === null ? null : JSON.stringify(row.params),
      row.deployment_status,
      row.enabled_at,
    );
  }

  disable(namespaceId: string, pluginId: string): boolean {
    return this.#run(
      "DELETE FROM enabled_plugins WHERE namespace_id = ? AND plugin_id = ?",
      namespaceId,
      pluginId,
    ) > 0;
  }

  enabledIn(namespaceId: string): EnabledRow[] {
    return this.#all("SELECT * FROM enabled_plugins WHERE namespace_id = ? ORDER BY plugin_id", namespaceId)
      .map((r) => ({
        namespace_id: r.namespace_id as string,
        plugin_id: r.plugin_id as string,
        params: r.params === null ? null : JSON.parse(r.params as string),
        deployment_status: r.deployment_status as EnabledRow["deployment_status"],
        enabled_at: r.enabled_at as string,
      }));
  }
}

function _pluginRow(row: Row): PluginRow {
  return {
    scope: row.scope as Scope,
    owner: row.owner as string,
    plugin_id: row.plugin_id as string,
    name: row.name as string,
    version: row.version as string,
    description: row.description as string | null,
    code_hash: row.code_hash as string,
    size_bytes: row.size_bytes as number,
    format: row.format as StoredFormat,
    blob_key: row.blob_key as string,
    upload_id: row.upload_id as string | null,
    validation_status: row.validation_status as PluginRow["validation_status"],
    validation_errors: JSON.parse(row.validation_errors as string) as string[],
    security_scan_passed: row.security_scan_passed === 1,
    realtime: row.realtime === 1,
    deployment_status: row.deployment_status as string,
    deployment_type: row.deployment_type as PluginRow["deployment_type"],
    deployment_error: row.deployment_error as string | null,
    queued_at: row.queued_at as string | null,
    deployed_at: row.deployed_at as string | null,
    created_at: row.created_at as string,
    updated_at: row.updated_at as string,
  };
}
