/**
 * The scan cache: a plugin's findings per file, keyed by the file's sha256 and the scanner's own
 * (SCANNER_SHA256, taken from its sources when they are embedded). An author runs `plugin scan`, `test` and
 * `validate` over and over on files that mostly did not change; a file whose bytes and scanner are the
 * same as last time gets last time's findings without being parsed again. A 16 KB plugin's scan is then
 * a few milliseconds of reading and hashing instead of tens of milliseconds of parsing and analysis.
 *
 * One JSON file per scanned folder, `<user cache dir>/mixpeek/scan/<sha256 of the folder's path>.json`,
 * written whole under a temporary name and renamed into place, so a reader never sees half of one. A file
 * that cannot be read, is not ours, or was written by another scanner is ignored: the scan runs as if
 * there were no cache. Results that depend on the clock (a parse that passed its time limit) are never
 * stored. publish and the local registry do not use it: what they accept is always scanned afresh.
 *
 * @module
 */
import { SCANNER_SHA256 } from "../embedded/scanner_sha256.ts";
import type { Finding } from "./finding.ts";

/** Folders whose results are kept; past this, starting a new one drops the least recently scanned. */
export const MAX_FOLDERS = 200;

/** Rules whose findings may depend on the machine (time or memory limits): never cached. */
const UNCACHED_RULES: ReadonlySet<string> = new Set([
  "source-too-deep",
  "source-too-large",
  "source-unreadable",
]);

interface Entry {
  sha256: string;
  findings: Finding[];
}

interface CacheFile {
  scanner: string;
  root: string;
  files: Record<string, Entry>;
}

function _get(env: Pick<Deno.Env, "get">, name: string): string | undefined {
  try {
    const value = env.get(name);
    return value === "" ? undefined : value;
  } catch {
    return undefined; // a scoped --allow-env without this variable
  }
}

/** `<user cache dir>/mixpeek/scan`, or undefined without a home. */
export function scanCacheDir(
  env: Pick<Deno.Env, "get"> = Deno.env,
  os: string = Deno.build.os,
): string | undefined {
  const home = _get(env, "HOME") ?? _get(env, "USERPROFILE");
  if (os === "windows") {
    const local = _get(env, "LOCALAPPDATA") ?? (home ? `${home}\\AppData\\Local` : undefined);
    return local ? `${local}\\mixpeek\\cache\\scan` : undefined;
  }
  if (os === "darwin") return home ? `${home}/Library/Caches/mixpeek/scan` : undefined;
  const cache = _get(env, "XDG_CACHE_HOME") ?? (home ? `${home}/.cache` : undefined);
  return cache ? `${cache}/mixpeek/scan` : undefined;
}

function _granted(name: "read" | "write", path: string): boolean {
  try {
    return Deno.permissions.querySync({ name, path }).state === "granted";
  } catch {
    return false;
  }
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

function _isEntry(value: unknown): value is Entry {
  const e = value as Entry;
  return typeof e === "object" && e !== null && typeof e.sha256 === "string" && Array.isArray(e.findings);
}

/** One folder's cached findings: look files up by content, record new results, save once at the end. */
export class ScanCache {
  #changed = false;

  private constructor(
    readonly path: string,
    readonly root: string,
    readonly scanner: string,
    private files: Record<string, Entry>,
    private readonly existed: boolean,
  ) {}

  /**
   * The cache of the folder `root` (an absolute, real path), or undefined where there is none to have: no
   * home, or no permission to read and write the cache folder (a scoped run is never asked for more).
   */
  static async open(
    root: string,
    dir = scanCacheDir(),
    scanner = SCANNER_SHA256,
  ): Promise<ScanCache | undefined> {
    if (dir === undefined || !_granted("read", dir) || !_granted("write", dir)) return undefined;
    const path = `${dir}/${(await sha256Hex(root)).slice(0, 32)}.json`;
    let files: Record<string, Entry> = {};
    let existed = false;
    try {
      const text = await Deno.readTextFile(path);
      existed = true;
      const data = JSON.parse(text) as CacheFile;
      if (data.scanner === scanner && data.root === root && typeof data.files === "object" && data.files) {
        files = Object.fromEntries(Object.entries(data.files).filter(([, e]) => _isEntry(e)));
      }
    } catch {
      // none yet, unreadable or not ours: start empty
    }
    return new ScanCache(path, root, scanner, files, existed);
  }

  /** The findings recorded for `rel` with exactly this content, or undefined. */
  get(rel: string, sha256: string): Finding[] | undefined {
    const entry = this.files[rel];
    return entry?.sha256 === sha256 ? entry.findings : undefined;
  }

  /** Records a file's findings (unless they depend on the machine). */
  set(rel: string, sha256: string, findings: Finding[]): void {
    if (findings.some((f) => UNCACHED_RULES.has(f.rule_id))) {
      if (rel in this.files) [this.#changed, this.files] = [true, _without(this.files, rel)];
      return;
    }
    this.files[rel] = { sha256, findings };
    this.#changed = true;
  }

  /** Keeps only these files (the others were deleted or are no longer scanned). */
  retain(rels: ReadonlySet<string>): void {
    for (const rel of Object.keys(this.files)) {
      if (!rels.has(rel)) [this.#changed, this.files] = [true, _without(this.files, rel)];
    }
  }

  /** Writes the cache if it changed. Failing to write only costs the next scan its speed. */
  async save(): Promise<void> {
    if (!this.#changed) return;
    const dir = this.path.slice(0, Math.max(this.path.lastIndexOf("/"), this.path.lastIndexOf("\\")));
    const body: CacheFile = { scanner: this.scanner, root: this.root, files: this.files };
    const staging = `${this.path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(staging, JSON.stringify(body), { mode: 0o600 });
      await Deno.rename(staging, this.path);
      this.#changed = false;
    } catch {
      await Deno.remove(staging).catch(() => {});
      return;
    }
    if (!this.existed) await _prune(dir, this.path);
  }
}

function _without(files: Record<string, Entry>, rel: string): Record<string, Entry> {
  const { [rel]: _, ...rest } = files;
  return rest;
}

/** Keeps the cache folder to MAX_FOLDERS files: the least recently written go (never `keep`). */
async function _prune(dir: string, keep: string): Promise<void> {
  try {
    const files: { path: string; mtime: number }[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const path = `${dir}/${entry.name}`;
      files.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
    }
    files.sort((a, b) => a.mtime - b.mtime);
    for (const file of files.slice(0, Math.max(0, files.length - MAX_FOLDERS))) {
      if (file.path !== keep) await Deno.remove(file.path).catch(() => {});
    }
  } catch {
    // pruning is housekeeping: a failure only leaves more files
  }
}
