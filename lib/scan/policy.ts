/**
 * The one rejection rule every caller applies (`plugin scan`, `plugin test`, `plugin publish` and the local
 * registry), as Mixpeek's confirm does: errors reject a plugin; the platform's warnings (pickle, marshal
 * and shelve use, the dunders it lists) are shown and reject it only in strict mode.
 *
 * @module
 */
import type { Finding, ScanReport } from "./scan.ts";

export interface PolicyOptions {
  /** The platform's strict mode: warnings reject too. */
  strict?: boolean;
}

/** The findings that reject the plugin under this policy (all of them in strict mode). */
export function blockingFindings(
  report: Pick<ScanReport, "findings">,
  options: PolicyOptions = {},
): Finding[] {
  return options.strict ? report.findings : report.findings.filter((f) => f.severity === "error");
}

/** Whether the scan rejects the plugin. */
export function rejects(report: Pick<ScanReport, "findings">, options: PolicyOptions = {}): boolean {
  return blockingFindings(report, options).length > 0;
}

/** The warnings that do not reject (none in strict mode): shown beside a passing scan. */
export function nonBlockingFindings(
  report: Pick<ScanReport, "findings">,
  options: PolicyOptions = {},
): Finding[] {
  return options.strict ? [] : report.findings.filter((f) => f.severity === "warning");
}
