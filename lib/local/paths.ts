/**
 * Where the local registry keeps its data. The default data dir is the user data dir + mixpeek/local:
 * `$XDG_DATA_HOME/mixpeek/local` (else `~/.local/share/mixpeek/local`) on Linux,
 * `~/Library/Application Support/mixpeek/local` on macOS, `%LOCALAPPDATA%\mixpeek\local` on Windows;
 * `MIXPEEK_LOCAL_DATA_DIR` or `--data-dir` override it.
 *
 * Inside it: registry.db (SQLite, WAL), api_key (the dev key, mode 0600), blobs/ (archives, disk backend),
 * tmp/ (uploads being received), work/ (archives being validated), lock and lock.json (who runs on it, see
 * lockDataDir) and http.sock (the socket between the connection guard and the HTTP server, guard.ts).
 * Nothing is written anywhere else (but for a socket in a private temp folder when the data dir's path is
 * too long for one).
 *
 * One registry per data dir: `lockDataDir` takes an exclusive lock (flock on Unix, LockFileEx on Windows) on
 * the `lock` file before anything in the data dir is touched, so a second `mixpeek local` on it never wipes
 * the first one's tmp/ and work/ or migrates its database under it. The operating system releases the lock
 * when its holder dies, even by `kill -9`, so a stale lock never blocks a new start; lock.json (pid, URL,
 * start time) is only there to name the running one in the refusal.
 */
import { join } from "node:path";
import type { Env } from "../config.ts";
import { UsageError } from "../errors.ts";

export interface DataPaths {
  root: string;
  db: string;
  api_key: string;
  blobs: string;
  tmp: string;
  work: string;
  /** The file the data dir's lock is taken on (empty). */
  lock: string;
  /** Who holds the lock: {pid, url, started_at} (a separate file: a Windows lock also blocks reads). */
  lock_info: string;
  /** The connection guard's socket to the HTTP server (guard.ts). */
  socket: string;
}

function _nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The default data dir for this platform (see the module doc). */
export function defaultDataDir(env: Env = Deno.env, os: string = Deno.build.os): string {
  const override = _nonEmpty(env.get("MIXPEEK_LOCAL_DATA_DIR"));
  if (override) return override;
  const home = _nonEmpty(env.get("HOME")) ?? _nonEmpty(env.get("USERPROFILE"));
  if (os === "windows") {
    const local = _nonEmpty(env.get("LOCALAPPDATA")) ?? (home ? `${home}\\AppData\\Local` : undefined);
    if (local) return `${local}\\mixpeek\\local`;
  } else if (os === "darwin") {
    if (home) return `${home}/Library/Application Support/mixpeek/local`;
  } else {
    const xdg = _nonEmpty(env.get("XDG_DATA_HOME")) ?? (home ? `${home}/.local/share` : undefined);
    if (xdg) return `${xdg}/mixpeek/local`;
  }
  throw new UsageError("cannot find a user data directory for the local registry (HOME is not set)", {
    hint: "pass --data-dir DIR (or set MIXPEEK_LOCAL_DATA_DIR)",
  });
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    db: join(root, "registry.db"),
    api_key: join(root, "api_key"),
    blobs: join(root, "blobs"),
    tmp: join(root, "tmp"),
    work: join(root, "work"),
    lock: join(root, "lock"),
    lock_info: join(root, "lock.json"),
    socket: join(root, "http.sock"),
  };
}

/** Creates the data dir (private to the user) when it does not exist. Returns whether it was new. */
export async function ensureDataDir(paths: DataPaths): Promise<boolean> {
  try {
    const info = await Deno.stat(paths.root);
    if (!info.isDirectory) {
      throw new UsageError(`the data dir ${paths.root} is a file`, { hint: "pass --data-dir with a folder" });
    }
    return false;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(paths.root, { recursive: true, mode: 0o700 });
    return true;
  }
}

/**
 * Creates blobs/ and empties tmp/ and work/, which only hold what an interrupted run left behind. Only
 * under the data dir's lock: a running registry's tmp/ and work/ are its uploads and validations in flight.
 */
export async function prepareDataDir(paths: DataPaths, _lock: DataDirLock): Promise<void> {
  await Deno.mkdir(paths.blobs, { recursive: true, mode: 0o700 });
  for (const scratch of [paths.tmp, paths.work]) {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    await Deno.mkdir(scratch, { recursive: true, mode: 0o700 });
  }
}

/** What lock.json says about the registry that holds (or held) the lock. */
export interface LockOwner {
  pid: number;
  /** null while it is starting (the lock is taken before the port is bound). */
  url: string | null;
  started_at: string;
}

/** The data dir's lock, held until `release` (or until the process ends, however it ends). */
export interface DataDirLock {
  /**
   * The registry that had the data dir before this one and did not stop cleanly (its lock.json was left
   * behind), or undefined.
   */
  readonly previous?: LockOwner;
  /** Records where this registry listens (lock.json), so a second start can name it. */
  publish(url: string): Promise<void>;
  release(): void;
}

async function _readOwner(paths: DataPaths): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await Deno.readTextFile(paths.lock_info));
    if (typeof owner?.pid !== "number") return undefined;
    return {
      pid: owner.pid,
      url: typeof owner.url === "string" ? owner.url : null,
      started_at: owner.started_at,
    };
  } catch {
    return undefined; // missing, or being rewritten
  }
}

async function _writeOwner(paths: DataPaths, owner: LockOwner): Promise<void> {
  const temp = `${paths.lock_info}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(owner) + "\n", { mode: 0o600 });
  await Deno.rename(temp, paths.lock_info);
}

/**
 * Takes the data dir's exclusive lock, or refuses (UsageError, exit 2) naming the registry that holds it:
 * "the data dir … is in use by another mixpeek local (pid N, http://127.0.0.1:P, started …)". Nothing in
 * the data dir is changed by a refused start.
 */
export async function lockDataDir(paths: DataPaths): Promise<DataDirLock> {
  const file = await Deno.open(paths.lock, { read: true, write: true, create: true, mode: 0o600 });
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (error) {
    file.close();
    throw error;
  }
  if (!locked) {
    file.close();
    const owner = await _readOwner(paths);
    const who = owner
      ? `pid ${owner.pid}, ${owner.url ?? "still starting"}, started ${owner.started_at}`
      : "its pid is not recorded yet: it is starting";
    throw new UsageError(`the data dir ${paths.root} is in use by another mixpeek local (${who})`, {
      hint: owner?.url
        ? `use that one (export MIXPEEK_BASE_URL=${owner.url}), stop it (kill ${owner.pid}), or pass another --data-dir`
        : "wait for it, stop it, or pass another --data-dir",
    });
  }
  const previous = await _readOwner(paths);
  const started = new Date().toISOString();
  let released = false;
  try {
    await _writeOwner(paths, { pid: Deno.pid, url: null, started_at: started });
  } catch (error) {
    file.close();
    throw error;
  }
  return {
    previous,
    async publish(url) {
      if (!released) await _writeOwner(paths, { pid: Deno.pid, url, started_at: started });
    },
    release() {
      if (released) return;
      released = true;
      try {
        Deno.removeSync(paths.lock_info);
      } catch { /* already gone */ }
      file.close(); // closing the file releases the lock
    },
  };
}

/**
 * Makes the database file private before SQLite opens it (it holds the URL-signing secret; SQLite gives its
 * -wal and -shm files the same mode).
 */
export async function privateDbFile(paths: DataPaths): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    await Deno.writeFile(paths.db, new Uint8Array(), { createNew: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    await Deno.chmod(paths.db, 0o600);
  }
}

/** The dev API key file's content, or undefined when there is none yet. */
export async function readApiKeyFile(paths: DataPaths): Promise<string | undefined> {
  try {
    const key = (await Deno.readTextFile(paths.api_key)).trim();
    return key === "" ? undefined : key;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes the dev API key with mode 0600 through a temp file, so a crash never leaves half a key. */
export async function writeApiKeyFile(paths: DataPaths, key: string): Promise<void> {
  const temp = `${paths.api_key}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, key + "\n", { mode: 0o600 });
  await Deno.rename(temp, paths.api_key);
}
