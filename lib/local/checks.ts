/**
 * Binds the shared checks (one source of truth with the client) for the registry's validation at confirm:
 * safe extraction of tar.gz and zip (lib/pack/extract.ts), the structure check (lib/plugin/layout.ts), the
 * security scan (lib/scan/scan.ts).
 */
import { extractArchive } from "../pack/extract.ts";
import { checkLayout } from "../plugin/layout.ts";
import { OffThreadScanner } from "../scan/scan.ts";
import type { ArchiveChecks } from "./validate.ts";

export function archiveChecks(): ArchiveChecks {
  // Off the event loop, on reused worker threads: a hostile archive's huge files must not freeze /healthz or
  // other requests, and a stream of confirms must not pile up threads.
  const scanner = new OffThreadScanner();
  return {
    extract: extractArchive,
    checkLayout,
    scanTree: (root) => scanner.scanTree(root),
    close: () => scanner.close(),
  };
}
