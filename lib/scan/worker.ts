/**
 * The scanner's worker thread, for two jobs (lib/scan/scan.ts):
 *
 * - a parse worker gets the compiled parser module, a root and the files of a scan, claims files from a
 *   shared counter, reads, decodes and parses each (lib/scan/prepare.ts) and posts the result, its arrays
 *   transferred, to the thread that analyses them. It waits while the analysing thread is more than
 *   `aheadBytes` of source behind, so queued trees never pile up in memory;
 * - an off-thread scan (`{ scan: root }`) runs the whole scan here, in low-memory mode, and posts the
 *   report: the thread that asked (the local registry's) keeps serving requests meanwhile.
 *
 * @module
 */
import { Parser } from "./parser.ts";
import { type PreparedSource, preparePath, transferables } from "./prepare.ts";
import type { ScanReport } from "./scan.ts";

export interface WorkerRequest {
  /** The compiled parser (compiling once per process and sharing it saves each worker the work). */
  module: WebAssembly.Module;
  root: string;
  /** All files of the scan (relative paths) and their weights (sizes, capped); a worker takes the indices it claims. */
  files: string[];
  sizes: number[];
  /** Int32 cells: [0] the next index to try, [1] bytes parsed and not yet analysed, [2 + i] file i claimed. */
  shared: SharedArrayBuffer;
  aheadBytes: number;
}

/** Scan a whole tree here and post its report. */
export interface ScanRequest {
  scan: string;
  /** The files to scan (relative to `scan`); undefined: every .py file under it. */
  files?: string[];
}

export type WorkerResponse =
  | { index: number; prepared: PreparedSource }
  | { report: ScanReport }
  | { error: string; usage?: boolean };

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest | ScanRequest>) => void) | null;
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
};

function _run(request: WorkerRequest): void {
  const parser = Parser.fromModule(request.module);
  const shared = new Int32Array(request.shared);
  const root = request.root.endsWith("/") ? request.root : `${request.root}/`;
  for (;;) {
    for (let ahead = Atomics.load(shared, 1); ahead > request.aheadBytes; ahead = Atomics.load(shared, 1)) {
      Atomics.wait(shared, 1, ahead, 100);
    }
    const index = Atomics.add(shared, 0, 1);
    // Past the end, or taken by the analysing thread (which claims from the back): nothing left.
    if (index >= request.files.length || Atomics.compareExchange(shared, 2 + index, 0, 1) !== 0) break;
    const prepared = preparePath(root + request.files[index], parser);
    Atomics.add(shared, 1, request.sizes[index]);
    scope.postMessage({ index, prepared }, transferables(prepared));
  }
}

async function _scan(request: ScanRequest): Promise<void> {
  // Loaded only for this job: parse workers never need the analysis.
  const { scanFiles, scanTree } = await import("./scan.ts");
  const { UsageError } = await import("../errors.ts");
  try {
    const options = { lowMemory: true };
    const report = request.files === undefined
      ? await scanTree(request.scan, options)
      : await scanFiles(request.scan, request.files, options);
    scope.postMessage({ report });
  } catch (error) {
    scope.postMessage({
      error: error instanceof Error ? error.message : String(error),
      usage: error instanceof UsageError,
    });
  }
}

scope.onmessage = (event) => {
  const data = event.data;
  if ("scan" in data) {
    _scan(data);
    return;
  }
  try {
    _run(data);
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
