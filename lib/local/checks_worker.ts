/**
 * The local registry's archive checks on a worker thread (lib/local/checks.ts): extraction, the structure
 * check and the security scan of an upload all run here, so the registry's event loop only hands out jobs.
 * Each of them, on the event loop, held it in slices of up to ~20 ms, and a request needs several turns
 * of the loop: on a loaded 2-core machine a hostile upload's checks held `/healthz` for over 250 ms.
 *
 * @module
 */
import { extractArchive, type ExtractLimits } from "../pack/extract.ts";
import { checkLayout } from "../plugin/layout.ts";
import { scanTree } from "../scan/scan.ts";

/** One check, with its arguments. A thread runs one at a time, so each answer is the last request's. */
export type ChecksRequest =
  | { op: "extract"; archive: string; dest: string; limits?: Partial<ExtractLimits> }
  | { op: "checkLayout"; root: string }
  | { op: "scanTree"; root: string };

export type ChecksResponse = { result: unknown } | { error: string };

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<ChecksRequest>) => void) | null;
  postMessage(message: ChecksResponse): void;
};

function _run(request: ChecksRequest): Promise<unknown> {
  switch (request.op) {
    case "extract":
      return extractArchive(request.archive, request.dest, request.limits);
    case "checkLayout":
      return checkLayout(request.root);
    case "scanTree":
      // This thread is the registry's one for checks: no parse workers of its own, the lowest memory.
      return scanTree(request.root, { lowMemory: true });
  }
}

scope.onmessage = async (event) => {
  try {
    scope.postMessage({ result: await _run(event.data) });
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
};
