/**
 * A scan worker: receives a root and a list of relative paths, scans them with its own parser and posts the
 * findings back. lib/scan/scan.ts starts these for large trees when the machine has spare cores.
 *
 * @module
 */
import { scanClaimed } from "./scan.ts";
import type { Finding } from "./scan.ts";

export interface WorkerRequest {
  root: string;
  /** All files of the scan; this worker takes the indices it claims from `counter`. */
  files: string[];
  counter: SharedArrayBuffer;
}

export interface WorkerResponse {
  findings?: Finding[];
  error?: string;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
};

scope.onmessage = async (event) => {
  try {
    const { root, files, counter } = event.data;
    const findings: Finding[] = await scanClaimed(root, files, new Int32Array(counter));
    scope.postMessage({ findings });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
