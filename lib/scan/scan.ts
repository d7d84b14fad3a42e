/**
 * The security scanner's entry points, shared by `plugin scan`, `plugin test`, `plugin publish` and the
 * local registry: scan one file's bytes, a list of files, or every `.py` under a folder. Reports are
 * deterministic: findings sorted by file, line, column, rule id.
 *
 * Trees over 1 MiB use parse workers (lib/scan/worker.ts; cores - 1, or MIXPEEK_SCAN_WORKERS): they read,
 * decode and parse files from the front of a largest-first list while this thread analyses their trees and,
 * when idle, parses from the back (see `_scanParallel`). A worker that cannot start (e.g. a `deno compile`
 * binary built without `--include lib/scan/worker.ts`, or a run that may not read lib/) makes the scan fall
 * back to one thread: same report, only slower.
 *
 * With `cache` (plugin scan, test, validate), a tree under 1 MiB is scanned through the scan cache
 * (lib/scan/cache.ts): a file whose bytes were scanned before by this scanner is not parsed again, and the
 * parser is not even loaded when no file changed.
 *
 * @module
 */
import { compileParser, threadParser } from "./parser.ts";
import { coreCount, workerLoadable } from "../threads.ts";
import { type PreparedSource, preparePath, prepareSource, readBounded } from "./prepare.ts";
import { ScanCache, sha256Hex } from "./cache.ts";
import { type Finding, type ScanReport, sortUnique } from "./finding.ts";
import { MAX_FILE_BYTES } from "./source.ts";
import type { ScanRequest, WorkerRequest, WorkerResponse } from "./worker.ts";
import { UsageError } from "../errors.ts";

export { compareFindings, type Finding, type ScanReport } from "./finding.ts";

/** The analysis, loaded when a file has to be analysed (a scan the cache answers never needs it). */
const _analysis = () => import("./file_findings.ts");

/** Folders never scanned (tools' caches and environments, not plugin code). */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set([
  ".git",
  "__pycache__",
  ".venv",
  "venv",
  "node_modules",
  ".pytest_cache",
  ".mypy_cache",
  "dist",
]);

/** Scans one file's bytes (`file` is only used in the findings). Only the content decides the result. */
export async function scanSource(file: string, bytes: Uint8Array): Promise<Finding[]> {
  const [parser, { findingsFor }] = await Promise.all([threadParser(), _analysis()]);
  return findingsFor(file, prepareSource(bytes, parser), (source) => parser.parse(source));
}

function _join(root: string, rel: string): string {
  return root.endsWith("/") ? root + rel : `${root}/${rel}`;
}

async function _absolute(root: string): Promise<string> {
  try {
    const info = await Deno.stat(root);
    if (!info.isDirectory) {
      throw new UsageError(`${root} is not a folder`, { hint: "pass the plugin folder (--path)" });
    }
    return await Deno.realPath(root);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`${root}: no such folder`, { hint: "pass the plugin folder (--path)" });
    }
    throw error;
  }
}

/** Trees smaller than this are scanned on the calling thread (starting workers costs tens of ms). */
const PARALLEL_THRESHOLD_BYTES = 1024 * 1024;
const MAX_WORKERS = 4;
/**
 * Parsed but not yet analysed source the workers may run ahead by: bounds the memory queued trees take
 * (a tree's arrays are ~4× its source) when the analysing thread is the slower side.
 */
const AHEAD_BYTES = 16 * 1024 * 1024;

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** Parse workers for a tree of this size: one per spare core while the tree is large enough to repay them. */
function _workerCount(totalBytes: number): number {
  if (totalBytes < PARALLEL_THRESHOLD_BYTES || !workerLoadable(WORKER_URL)) return 0;
  const cores = coreCount();
  try {
    const granted =
      Deno.permissions.querySync({ name: "env", variable: "MIXPEEK_SCAN_WORKERS" }).state === "granted";
    const forced = granted ? Deno.env.get("MIXPEEK_SCAN_WORKERS") : undefined;
    if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(parseInt(forced, 10), MAX_WORKERS);
  } catch {
    // no env access: use the core count
  }
  const byBytes = Math.floor(totalBytes / (PARALLEL_THRESHOLD_BYTES / 2));
  return Math.max(0, Math.min(cores - 1, MAX_WORKERS, byBytes));
}

/** Bytes of source between two full collections in low-memory mode (measured: 1 MiB costs ~3% time). */
const GC_EVERY_BYTES = 1024 * 1024;
/** Files from this size on get a collection between their parse and their analysis in low-memory mode. */
const GC_FILE_BYTES = 256 * 1024;

/**
 * A full garbage collection, or undefined where it cannot be had. V8 grows its heap with the scan's
 * allocation rate and returns little of it; collecting now and then keeps the peak near the live size.
 */
async function _collector(): Promise<(() => void) | undefined> {
  try {
    const v8 = (await import("node:v8")).default;
    const vm = (await import("node:vm")).default;
    v8.setFlagsFromString("--expose_gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? gc : undefined;
  } catch {
    return undefined;
  }
}

interface SizedFile {
  rel: string;
  size: number;
}

/**
 * What a file counts for in the workers' run-ahead window: its size, capped just above the largest file
 * that is parsed (bigger ones are reported unparsed), so a huge file cannot overflow the Int32 counter.
 */
function _weight(file: SizedFile): number {
  return Math.min(file.size, MAX_FILE_BYTES + 1);
}

async function _scanSequential(
  root: string,
  files: SizedFile[],
  lowMemory = false,
  yieldEachFile = false,
): Promise<Finding[]> {
  const gc = lowMemory ? await _collector() : undefined;
  const [parser, { findingsFor }] = await Promise.all([threadParser(), _analysis()]);
  const subParse = (source: string) => parser.parse(source);
  const out: Finding[] = [];
  let sinceGc = 0;
  for (const { rel, size } of files) {
    const prepared = preparePath(_join(root, rel), parser);
    // A large file's parse may have left the parser's old memory to collect: free it before analysing.
    if (gc && size > GC_FILE_BYTES) gc();
    out.push(...findingsFor(rel, prepared, subParse));
    sinceGc += size;
    if (gc && sinceGc >= GC_EVERY_BYTES) {
      gc();
      sinceGc = 0;
    }
    if (yieldEachFile) await _turn();
  }
  return out;
}

/** Lets queued events (worker messages) run: a macrotask turn, without timers' clamping. */
function _turn(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/**
 * Scans with parse workers: workers claim files from the front of the list (largest first, so the threads
 * finish together), read, decode and parse them, and post the trees here; this thread analyses them as they
 * arrive (so the analysis code warms up once) and, whenever none is waiting, parses a file itself from the
 * back of the list (the smallest). Every file is claimed once (a flag per file). Null when a worker cannot
 * start or fails.
 */
async function _scanParallel(root: string, files: SizedFile[], workers: number): Promise<Finding[] | null> {
  const order = [...files].sort((a, b) => b.size - a.size || (a.rel < b.rel ? -1 : 1));
  const module = await compileParser();
  // [0] the next index workers try, [1] bytes parsed and not yet analysed, then one claim flag per file.
  const shared = new Int32Array(new SharedArrayBuffer(4 * (2 + order.length)));
  const [parser, { findingsFor }] = await Promise.all([threadParser(), _analysis()]);
  const subParse = (source: string) => parser.parse(source);
  const started: Worker[] = [];
  const out: Finding[] = [];
  const queue: { index: number; prepared: PreparedSource }[] = [];
  let failed = false;
  let wake: (() => void) | undefined;
  const onMessage = (event: MessageEvent<WorkerResponse>) => {
    const data = event.data;
    if ("error" in data) failed = true;
    else if ("prepared" in data) queue.push(data);
    wake?.();
  };
  try {
    const request: WorkerRequest = {
      module,
      root,
      files: order.map((f) => f.rel),
      sizes: order.map(_weight),
      shared: shared.buffer as SharedArrayBuffer,
      aheadBytes: AHEAD_BYTES,
    };
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(WORKER_URL, { type: "module" });
      started.push(worker);
      worker.onmessage = onMessage;
      worker.onerror = (event) => {
        event.preventDefault();
        failed = true;
        wake?.();
      };
      worker.postMessage(request);
    }
    let analysed = 0;
    let back = order.length - 1;
    while (analysed < order.length) {
      if (failed) return null;
      const next = queue.shift();
      if (next) {
        out.push(...findingsFor(order[next.index].rel, next.prepared, subParse));
        Atomics.sub(shared, 1, _weight(order[next.index]));
        Atomics.notify(shared, 1);
        analysed++;
        continue;
      }
      // Nothing to analyse: parse one from the back, unless the workers have claimed the rest.
      while (back >= 0 && Atomics.compareExchange(shared, 2 + back, 0, 1) !== 0) back = -1;
      if (back >= 0) {
        const index = back--;
        const prepared = preparePath(_join(root, order[index].rel), parser);
        out.push(...findingsFor(order[index].rel, prepared, subParse));
        analysed++;
        await _turn();
        continue;
      }
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
    return out;
  } catch {
    return null; // e.g. workers cannot start in this build: the caller scans on one thread
  } finally {
    for (const worker of started) worker.terminate();
  }
}

export interface ScanOptions {
  /**
   * At most this many worker threads (default: the core count allows). 0 scans on the calling thread:
   * slower on large trees but lighter on memory, which `publish` prefers while it also packs and uploads.
   */
  maxWorkers?: number;
  /** One thread and a full collection every MiB of source: the lowest peak memory, ~3% slower. */
  lowMemory?: boolean;
  /**
   * Run the whole scan in a worker thread, in low-memory mode, so the caller's event loop is never blocked
   * (the local registry scans uploads while it serves requests). Where a worker cannot start (a binary
   * built without lib/scan/worker.ts, a run that may not read lib/), the scan runs here and yields to the
   * event loop after every file instead.
   */
  offThread?: boolean;
  /**
   * Look files up in a scan cache and record what was scanned (lib/scan/cache.ts): true for the user's, or
   * this one. Trees of 1 MiB and more, low-memory and off-thread scans do not use it.
   */
  cache?: boolean | ScanCache;
}

/**
 * The scan in a worker thread (see ScanOptions.offThread); null when the worker cannot start or fails, and
 * the caller scans on its own thread.
 */
async function _offThread(root: string, files: string[] | undefined): Promise<ScanReport | null> {
  if (!workerLoadable(WORKER_URL)) return null;
  let worker: Worker | undefined;
  try {
    worker = new Worker(WORKER_URL, { type: "module" });
    const started = worker;
    return await new Promise<ScanReport | null>((resolve) => {
      started.onmessage = (event: MessageEvent<WorkerResponse>) => {
        const data = event.data;
        resolve("report" in data ? data.report : null);
      };
      started.onerror = (event) => {
        event.preventDefault();
        resolve(null);
      };
      const request: ScanRequest = { scan: root, files };
      started.postMessage(request);
    });
  } catch {
    return null;
  } finally {
    worker?.terminate();
  }
}

/** Scans the given files (relative to root, '/'-separated); only `.py` files are parsed. */
export async function scanFiles(
  root: string,
  files: string[],
  options: ScanOptions = {},
): Promise<ScanReport> {
  const abs = await _absolute(root);
  if (options.offThread) {
    const report = await _offThread(abs, files);
    if (report) return report;
  }
  return _scanHere(abs, files, options);
}

/** The scan on this thread (with parse workers for large trees, unless low-memory or off-thread was asked). */
async function _scanHere(abs: string, files: string[], options: ScanOptions): Promise<ScanReport> {
  const python = [...new Set(files.map((f) => f.replaceAll("\\", "/")).filter((f) => f.endsWith(".py")))]
    .sort();
  // statSync, one file at a time: a few microseconds each, and no burst of async file ops, each of which
  // takes a thread of the runtime's blocking pool (a worker thread has a pool of its own: 90 files made ~40
  // threads per off-thread scan).
  const sized = python.map((rel) => {
    let size = 0;
    try {
      size = Deno.statSync(_join(abs, rel)).size;
    } catch { /* unreadable: reported when the file is read */ }
    return { rel, size };
  });
  const lowMemory = options.lowMemory || options.offThread;
  const totalBytes = sized.reduce((n, f) => n + f.size, 0);
  if (options.cache && !lowMemory && totalBytes < PARALLEL_THRESHOLD_BYTES) {
    const cache = options.cache === true ? await ScanCache.open(abs) : options.cache;
    if (cache) {
      return { root: abs, files_scanned: python.length, findings: await _scanCached(abs, python, cache) };
    }
  }
  const workers = Math.min(
    _workerCount(totalBytes),
    lowMemory ? 0 : options.maxWorkers ?? MAX_WORKERS,
  );
  // A worker that cannot start (e.g. a binary built without lib/scan/worker.ts) or fails: one thread.
  const findings = (workers > 0 ? await _scanParallel(abs, sized, workers) : null) ??
    await _scanSequential(abs, sized, lowMemory, options.offThread);
  return { root: abs, files_scanned: python.length, findings: sortUnique(findings) };
}

/**
 * Scans on this thread through the cache: each file is read once, hashed, and either found in the cache or
 * prepared from those same bytes (so what is stored is what was hashed, even if the file changes meanwhile).
 */
async function _scanCached(abs: string, python: string[], cache: ScanCache): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const rel of python) {
    let read: ReturnType<typeof readBounded> | undefined;
    try {
      read = readBounded(_join(abs, rel));
    } catch {
      read = undefined; // reported by the scan below
    }
    if (read === undefined || "tooLarge" in read) {
      out.push(...await _scanSequential(abs, [{ rel, size: 0 }]));
      continue;
    }
    const bytes = read.bytes as Uint8Array<ArrayBuffer>;
    const sha256 = await sha256Hex(bytes);
    let findings = cache.get(rel, sha256);
    if (findings === undefined) {
      const [parser, { findingsFor }] = await Promise.all([threadParser(), _analysis()]);
      findings = findingsFor(rel, prepareSource(bytes, parser), (source) => parser.parse(source));
      cache.set(rel, sha256, findings);
    }
    out.push(...findings);
  }
  cache.retain(new Set(python));
  await cache.save();
  return out;
}

/** Every `.py` file under root (relative, '/'-separated, sorted), skipping SKIPPED_DIRS and symlinked folders. */
export async function listPythonFiles(root: string): Promise<string[]> {
  const abs = await _absolute(root);
  const out: string[] = [];
  const pending = [""];
  while (pending.length) {
    const dir = pending.pop()!;
    for await (const entry of Deno.readDir(dir === "" ? abs : _join(abs, dir))) {
      const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        if (!SKIPPED_DIRS.has(entry.name)) pending.push(rel);
      } else if (entry.name.endsWith(".py")) {
        if (entry.isFile) out.push(rel);
        else if (entry.isSymlink) {
          const target = await Deno.stat(_join(abs, rel)).catch(() => null);
          if (!target || target.isFile) out.push(rel); // a dangling link is reported as unreadable
        }
      }
    }
  }
  return out.sort();
}

/** Scans every `.py` file under root, skipping .git, __pycache__, virtual environments and build output. */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<ScanReport> {
  const abs = await _absolute(root);
  if (options.offThread) {
    const report = await _offThread(abs, undefined);
    if (report) return report;
  }
  return _scanHere(abs, await listPythonFiles(abs), options);
}
