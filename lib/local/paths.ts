/**
 * Where the local registry keeps its data. The default data dir is the user data dir + mixpeek/local:
 * `$XDG_DATA_HOME/mixpeek/local` (else `~/.local/share/mixpeek/local`) on Linux,
 * `~/Library/Application Support/mixpeek/local` on macOS, `%LOCALAPPDATA%\mixpeek\local` on Windows;
 * `MIXPEEK_LOCAL_DATA_DIR` or `--data-dir` override it.
 *
 * Inside it: registry.db (SQLite, WAL), api_key (the dev key, mode 0600), blobs/ (archives, disk backend),
 * tmp/ (uploads being received) and work/ (archives being validated). Nothing is written anywhere else.
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
  };
}

/**
 * Creates the data dir (private to the user) and its folders; empties tmp/ and work/, which only hold what
 * an interrupted run left behind. Returns whether the data dir was new.
 */
export async function prepareDataDir(paths: DataPaths): Promise<boolean> {
  let created = false;
  try {
    const info = await Deno.stat(paths.root);
    if (!info.isDirectory) {
      throw new UsageError(`the data dir ${paths.root} is a file`, { hint: "pass --data-dir with a folder" });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(paths.root, { recursive: true, mode: 0o700 });
    created = true;
  }
  await Deno.mkdir(paths.blobs, { recursive: true, mode: 0o700 });
  for (const scratch of [paths.tmp, paths.work]) {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
    await Deno.mkdir(scratch, { recursive: true, mode: 0o700 });
  }
  return created;
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
