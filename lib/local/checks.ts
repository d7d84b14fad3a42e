/**
 * Binds the shared checks (one source of truth with the client) for the registry's validation at confirm:
 * safe extraction of tar.gz and zip (lib/pack/extract.ts), the structure check (lib/plugin/layout.ts), the
 * security scan (lib/scan/scan.ts).
 *
 * They run on worker threads (lib/local/checks_worker.ts), reused from one confirm to the next: a hostile
 * archive's huge files must not hold the registry's event loop, and a stream of confirms must not pile up
 * threads (a new Worker per job leaves its threads to wind down at the OS's pace). Where a worker cannot
 * load (a binary built without the module, a run that may not read lib/), they run on the event loop, each
 * giving it a turn every ~20 ms.
 */
import { extractArchive } from "../pack/extract.ts";
import { checkLayout } from "../plugin/layout.ts";
import { scanTree } from "../scan/scan.ts";
import { workerLoadable } from "../threads.ts";
import type { ChecksRequest, ChecksResponse } from "./checks_worker.ts";
import type { ArchiveChecks } from "./validate.ts";

const WORKER_URL = new URL("./checks_worker.ts", import.meta.url);

export function archiveChecks(): ArchiveChecks {
  if (!workerLoadable(WORKER_URL)) return _onThisThread();
  const threads = new ChecksThreads();
  return {
    extract: (archive, dest, limits) => threads.run({ op: "extract", archive, dest, limits }),
    checkLayout: (root) => threads.run({ op: "checkLayout", root }),
    scanTree: (root) => threads.run({ op: "scanTree", root }),
    close: () => threads.close(),
  };
}

function _onThisThread(): ArchiveChecks {
  return { extract: extractArchive, checkLayout, scanTree: (root) => scanTree(root, { offThread: true }) };
}

/** Worker threads that run one check at a time each; idle ones wait for the next. */
class ChecksThreads {
  readonly #idle: Worker[] = [];
  /** The busy ones, each with how to fail its check (when the registry closes under it). */
  readonly #busy = new Map<Worker, (error: Error) => void>();
  #closed = false;

  // deno-lint-ignore no-explicit-any
  run(job: ChecksRequest): Promise<any> {
    if (this.#closed) return Promise.reject(new Error("the registry is closing"));
    const worker = this.#idle.pop() ?? new Worker(WORKER_URL, { type: "module" });
    return new Promise((resolve, reject) => {
      this.#busy.set(worker, reject);
      worker.onmessage = (event: MessageEvent<ChecksResponse>) => {
        this.#busy.delete(worker);
        this.#idle.push(worker);
        const answer = event.data;
        if ("error" in answer) reject(new Error(answer.error));
        else resolve(answer.result);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        this.#busy.delete(worker);
        worker.terminate(); // a worker that failed is not reused
        reject(new Error(`the registry's check thread failed: ${event.message}`));
      };
      worker.postMessage(job);
    });
  }

  /** Ends every worker; a check still running on one is answered with an error. */
  close(): void {
    this.#closed = true;
    for (const worker of this.#idle.splice(0)) worker.terminate();
    for (const [worker, fail] of this.#busy) {
      worker.terminate();
      fail(new Error("the registry closed during the check"));
    }
    this.#busy.clear();
  }
}
