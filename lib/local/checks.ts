/**
 * Binds the shared checks (one source of truth with the client) for the registry's re-validation:
 * safe extraction (lib/pack/extract.ts), the structure check (lib/plugin/layout.ts), the security scan
 * (lib/scan/scan.ts).
 */
import { extractTarGz } from "../pack/extract.ts";
import { checkLayout } from "../plugin/layout.ts";
import { scanTree } from "../scan/scan.ts";
import type { ArchiveChecks } from "./validate.ts";

export function archiveChecks(): ArchiveChecks {
  return { extract: extractTarGz, checkLayout, scanTree };
}
