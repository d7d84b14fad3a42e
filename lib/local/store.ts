/**
 * The local registry's records in SQLite (`node:sqlite`, WAL): API keys (their sha256 only), namespaces,
 * uploads and plugins. The schema is versioned (`schema_version`), migrations run in a transaction at open,
 * and a data dir written by a newer schema is refused rather than misread. All calls are synchronous, so
 * each method is atomic with respect to the server's other requests.
 */
import { DatabaseSync } from "node:sqlite";
import { FailedError } from "../errors.ts";
import type { Deployment, PluginRecord, PluginSource, PluginStatus } from "./records.ts";
import { versionSortKey } from "./records.ts";

/** Each entry upgrades the schema by one version; never edit a shipped entry, append a new one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, label TEXT NOT NULL, created_at TEXT NOT NULL);
   CREATE TABLE namespaces (namespace_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
   CREATE TABLE uploads (
     upload_id TEXT PRIMARY KEY,
     namespace_id TEXT NOT NULL REFERENCES namespaces(namespace_id),
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     size_bytes INTEGER NOT NULL,
     sha256 TEXT NOT NULL,
     blob_key TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('created', 'uploaded', 'confirmed')),
     plugin_id TEXT,
     expires_at TEXT NOT NULL,
     created_at TEXT NOT NULL,
     uploaded_at TEXT
   );
   CREATE TABLE plugins (
     plugin_id TEXT PRIMARY KEY,
     namespace_id TEXT NOT NULL REFERENCES namespaces(namespace_id),
     name TEXT NOT NULL,
     version TEXT NOT NULL,
     version_key TEXT NOT NULL,
     source TEXT NOT NULL CHECK (source IN ('builtin', 'custom', 'community')),
     status TEXT NOT NULL CHECK (status IN ('pending', 'validating', 'deploying', 'ready', 'failed')),
     error TEXT,
     sha256 TEXT,
     size_bytes INTEGER,
     realtime INTEGER NOT NULL DEFAULT 0,
     deployment TEXT,
     blob_key TEXT,
     upload_id TEXT,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   -- one live (not failed) plugin per name and version in a namespace: the 409 of SPEC.md §6
   CREATE UNIQUE INDEX plugins_live_version ON plugins (namespace_id, name, version) WHERE status <> 'failed';
   CREATE INDEX plugins_order ON plugins (namespace_id, name, version_key, plugin_id);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface UploadRow {
  upload_id: string;
  namespace_id: string;
  name: string;
  version: string;
  size_bytes: number;
  sha256: string;
  blob_key: string;
  state: "created" | "uploaded" | "confirmed";
  plugin_id: string | null;
  expires_at: string;
  created_at: string;
  uploaded_at: string | null;
}

/** A plugin row: the public record plus where its archive lives. */
export interface PluginRow extends PluginRecord {
  blob_key: string | null;
  upload_id: string | null;
}

/** Position in the list order (name, version precedence, id): what a cursor encodes. */
export interface ListPosition {
  name: string;
  version_key: string;
  plugin_id: string;
}

export type ConfirmOutcome =
  | { kind: "created"; plugin: PluginRow; replaced: PluginRow | undefined }
  | { kind: "existing"; plugin: PluginRow }
  | { kind: "conflict"; plugin: PluginRow };

type SqlValue = string | number | null;
type Row = Record<string, SqlValue>;

export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

export function now(): string {
  return new Date().toISOString();
}

export class RegistryStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database and brings its schema up to date. */
  static open(path: string): RegistryStore {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
      db.exec("PRAGMA busy_timeout = 5000;");
    } catch (error) {
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

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #migrate(path: string): void {
    this.#db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = this.#db.prepare("SELECT max(version) AS version FROM schema_version").get() as
      | Row
      | undefined;
    const current = (row?.version as number | null) ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new FailedError(
        `the registry database ${path} has schema version ${current}, newer than this mixpeek knows ` +
          `(${SCHEMA_VERSION})`,
        { hint: "upgrade mixpeek, or pass another --data-dir" },
      );
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      this.#transaction(() => {
        this.#db.exec(MIGRATIONS[version - 1]);
        this.#db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(version);
      });
    }
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
      throw error;
    }
  }

  #get(sql: string, ...params: SqlValue[]): Row | undefined {
    return this.#db.prepare(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: SqlValue[]): Row[] {
    return this.#db.prepare(sql).all(...params) as Row[];
  }

  #run(sql: string, ...params: SqlValue[]): number {
    return Number(this.#db.prepare(sql).run(...params).changes);
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

  namespaceExists(namespaceId: string): boolean {
    return this.#get("SELECT 1 AS ok FROM namespaces WHERE namespace_id = ?", namespaceId) !== undefined;
  }

  /** Creates the namespace with its seeded catalogue entries; a no-op when it exists. */
  ensureNamespace(namespaceId: string, seeds: SeedEntry[]): boolean {
    return this.#transaction(() => {
      if (this.namespaceExists(namespaceId)) return false;
      const at = now();
      this.#run("INSERT INTO namespaces (namespace_id, created_at) VALUES (?, ?)", namespaceId, at);
      for (const seed of seeds) {
        this.#insertPlugin({
          plugin_id: newId("plg"),
          namespace_id: namespaceId,
          name: seed.name,
          version: seed.version,
          source: seed.source,
          status: "ready",
          error: null,
          sha256: null,
          size_bytes: null,
          realtime: seed.realtime,
          deployment: null,
          blob_key: null,
          upload_id: null,
          created_at: at,
          updated_at: at,
        });
      }
      return true;
    });
  }

  // --- uploads -------------------------------------------------------------------------------------------

  insertUpload(upload: UploadRow): void {
    this.#run(
      `INSERT INTO uploads (upload_id, namespace_id, name, version, size_bytes, sha256, blob_key, state,
         plugin_id, expires_at, created_at, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      upload.upload_id,
      upload.namespace_id,
      upload.name,
      upload.version,
      upload.size_bytes,
      upload.sha256,
      upload.blob_key,
      upload.state,
      upload.plugin_id,
      upload.expires_at,
      upload.created_at,
      upload.uploaded_at,
    );
  }

  getUpload(uploadId: string): UploadRow | undefined {
    const row = this.#get("SELECT * FROM uploads WHERE upload_id = ?", uploadId);
    return row === undefined ? undefined : (row as unknown as UploadRow);
  }

  /** Records that the archive arrived (the first time only; a repeated PUT changes nothing). */
  markUploaded(uploadId: string): void {
    this.#run(
      "UPDATE uploads SET state = 'uploaded', uploaded_at = ? WHERE upload_id = ? AND state = 'created'",
      now(),
      uploadId,
    );
  }

  /** Uploads never confirmed whose URL expired before `before`: their blobs are garbage. */
  staleUploads(before: string): UploadRow[] {
    return this.#all(
      "SELECT * FROM uploads WHERE state <> 'confirmed' AND expires_at < ?",
      before,
    ) as unknown as UploadRow[];
  }

  deleteUpload(uploadId: string): void {
    this.#run("DELETE FROM uploads WHERE upload_id = ?", uploadId);
  }

  // --- plugins -------------------------------------------------------------------------------------------

  /** The live (not failed) plugin with this name and version, if any. */
  liveVersion(namespaceId: string, name: string, version: string): PluginRow | undefined {
    const row = this.#get(
      "SELECT * FROM plugins WHERE namespace_id = ? AND name = ? AND version = ? AND status <> 'failed'",
      namespaceId,
      name,
      version,
    );
    return row === undefined ? undefined : _pluginRow(row);
  }

  /**
   * Turns an uploaded archive into a pending plugin, atomically: a second confirm of the same upload gets the
   * same plugin back; a live plugin with the same name and version is a conflict; a failed one is replaced
   * (it was never published, so its name and version are free again).
   */
  confirmUpload(upload: UploadRow): ConfirmOutcome {
    return this.#transaction((): ConfirmOutcome => {
      const current = this.getUpload(upload.upload_id);
      if (current?.plugin_id) {
        const existing = this.getPlugin(upload.namespace_id, current.plugin_id);
        if (existing) return { kind: "existing", plugin: existing };
      }
      const live = this.liveVersion(upload.namespace_id, upload.name, upload.version);
      if (live) return { kind: "conflict", plugin: live };
      const failed = this.#get(
        "SELECT * FROM plugins WHERE namespace_id = ? AND name = ? AND version = ? AND status = 'failed'",
        upload.namespace_id,
        upload.name,
        upload.version,
      );
      if (failed) this.#run("DELETE FROM plugins WHERE plugin_id = ?", failed.plugin_id);
      const at = now();
      const plugin: PluginRow = {
        plugin_id: newId("plg"),
        namespace_id: upload.namespace_id,
        name: upload.name,
        version: upload.version,
        source: "custom",
        status: "pending",
        error: null,
        sha256: upload.sha256,
        size_bytes: upload.size_bytes,
        realtime: false,
        deployment: null,
        blob_key: upload.blob_key,
        upload_id: upload.upload_id,
        created_at: at,
        updated_at: at,
      };
      this.#insertPlugin(plugin);
      this.#run(
        "UPDATE uploads SET state = 'confirmed', plugin_id = ? WHERE upload_id = ?",
        plugin.plugin_id,
        upload.upload_id,
      );
      return { kind: "created", plugin, replaced: failed === undefined ? undefined : _pluginRow(failed) };
    });
  }

  #insertPlugin(p: PluginRow): void {
    this.#run(
      `INSERT INTO plugins (plugin_id, namespace_id, name, version, version_key, source, status, error,
         sha256, size_bytes, realtime, deployment, blob_key, upload_id, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      p.plugin_id,
      p.namespace_id,
      p.name,
      p.version,
      versionSortKey(p.version),
      p.source,
      p.status,
      p.error,
      p.sha256,
      p.size_bytes,
      p.realtime ? 1 : 0,
      p.deployment === null ? null : JSON.stringify(p.deployment),
      p.blob_key,
      p.upload_id,
      p.created_at,
      p.updated_at,
    );
  }

  getPlugin(namespaceId: string, pluginId: string): PluginRow | undefined {
    const row = this.#get(
      "SELECT * FROM plugins WHERE namespace_id = ? AND plugin_id = ?",
      namespaceId,
      pluginId,
    );
    return row === undefined ? undefined : _pluginRow(row);
  }

  getPluginById(pluginId: string): PluginRow | undefined {
    const row = this.#get("SELECT * FROM plugins WHERE plugin_id = ?", pluginId);
    return row === undefined ? undefined : _pluginRow(row);
  }

  /** One page in (name, version precedence, id) order, after `after` when given. */
  listPlugins(
    namespaceId: string,
    source: PluginSource | "all",
    limit: number,
    after?: ListPosition,
  ): PluginRow[] {
    const where = ["namespace_id = ?"];
    const params: SqlValue[] = [namespaceId];
    if (source !== "all") {
      where.push("source = ?");
      params.push(source);
    }
    if (after) {
      where.push("(name, version_key, plugin_id) > (?, ?, ?)");
      params.push(after.name, after.version_key, after.plugin_id);
    }
    params.push(limit);
    return this.#all(
      `SELECT * FROM plugins WHERE ${where.join(" AND ")} ORDER BY name, version_key, plugin_id LIMIT ?`,
      ...params,
    ).map(_pluginRow);
  }

  /**
   * Moves a plugin to `status`, only from one of `from` (so a deleted or already-moved plugin is left alone);
   * returns the updated row, or undefined when nothing changed.
   */
  transition(
    pluginId: string,
    from: PluginStatus[],
    status: PluginStatus,
    fields: { error?: string | null; realtime?: boolean; deployment?: Deployment | null } = {},
  ): PluginRow | undefined {
    return this.#transaction(() => {
      const row = this.getPluginById(pluginId);
      if (!row || !from.includes(row.status)) return undefined;
      const next: PluginRow = {
        ...row,
        status,
        error: fields.error !== undefined ? fields.error : status === "failed" ? row.error : null,
        realtime: fields.realtime ?? row.realtime,
        deployment: fields.deployment !== undefined ? fields.deployment : row.deployment,
        updated_at: now(),
      };
      this.#run(
        `UPDATE plugins SET status = ?, error = ?, realtime = ?, deployment = ?, updated_at = ?
         WHERE plugin_id = ?`,
        next.status,
        next.error,
        next.realtime ? 1 : 0,
        next.deployment === null ? null : JSON.stringify(next.deployment),
        next.updated_at,
        pluginId,
      );
      return next;
    });
  }

  /** Plugins in one of these statuses, oldest first (background work to resume after a restart). */
  pluginsIn(statuses: PluginStatus[]): PluginRow[] {
    const marks = statuses.map(() => "?").join(", ");
    return this.#all(`SELECT * FROM plugins WHERE status IN (${marks}) ORDER BY created_at`, ...statuses).map(
      _pluginRow,
    );
  }

  /** Deletes the plugin and its upload record; returns the deleted row. */
  deletePlugin(namespaceId: string, pluginId: string): PluginRow | undefined {
    return this.#transaction(() => {
      const row = this.getPlugin(namespaceId, pluginId);
      if (!row) return undefined;
      this.#run("DELETE FROM plugins WHERE plugin_id = ?", pluginId);
      if (row.upload_id) this.deleteUpload(row.upload_id);
      return row;
    });
  }

  /** Whether any row (plugin or upload) still points at this blob. */
  blobInUse(blobKey: string): boolean {
    return this.#get("SELECT 1 AS ok FROM plugins WHERE blob_key = ?", blobKey) !== undefined ||
      this.#get("SELECT 1 AS ok FROM uploads WHERE blob_key = ?", blobKey) !== undefined;
  }
}

/** A builtin or community catalogue entry seeded into every new namespace. */
export interface SeedEntry {
  name: string;
  version: string;
  source: PluginSource;
  realtime: boolean;
}

function _pluginRow(row: Row): PluginRow {
  return {
    plugin_id: row.plugin_id as string,
    namespace_id: row.namespace_id as string,
    name: row.name as string,
    version: row.version as string,
    source: row.source as PluginSource,
    status: row.status as PluginStatus,
    error: row.error as string | null,
    sha256: row.sha256 as string | null,
    size_bytes: row.size_bytes as number | null,
    realtime: row.realtime === 1,
    deployment: row.deployment === null ? null : JSON.parse(row.deployment as string) as Deployment,
    blob_key: row.blob_key as string | null,
    upload_id: row.upload_id as string | null,
    created_at: row.created_at as string,
    updated_at: row.updated_at as string,
  };
}

/** The public record of a row (drops storage-only fields, fixes the field order). */
export function publicRecord(row: PluginRow): PluginRecord {
  return {
    plugin_id: row.plugin_id,
    namespace_id: row.namespace_id,
    name: row.name,
    version: row.version,
    source: row.source,
    status: row.status,
    error: row.error,
    sha256: row.sha256,
    size_bytes: row.size_bytes,
    realtime: row.realtime,
    deployment: row.deployment,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
