/**
 * The one rejection rule every caller applies (`plugin scan`, `plugin test`, `plugin publish` and the local
 * registry), as Mixpeek's confirm does: errors reject a plugin; the platform's warnings (pickle, marshal
 * and shelve use, the dunders it lists) are shown and reject it only in strict mode.
 *
 * @module
 */
/** What the policy reads of a finding (the registry's records carry the same field). */
interface Graded {
  severity?: "error" | "warning";
}

export interface PolicyOptions {
  /** The platform's strict mode: warnings reject too. */
  strict?: boolean;
}

/** The findings that reject the plugin under this policy (all of them in strict mode). */
export function blockingFindings<F extends Graded>(
  report: { findings: readonly F[] },
  options: PolicyOptions = {},
): F[] {
  // A finding without a severity is an error: the policy fails closed.
  return options.strict ? [...report.findings] : report.findings.filter((f) => f.severity !== "warning");
}

/** Whether the scan rejects the plugin. */
export function rejects(report: { findings: readonly Graded[] }, options: PolicyOptions = {}): boolean {
  return blockingFindings(report, options).length > 0;
}

/** The warnings that do not reject (none in strict mode): shown beside a passing scan. */
export function nonBlockingFindings<F extends Graded>(
  report: { findings: readonly F[] },
  options: PolicyOptions = {},
): F[] {
  return options.strict ? [] : report.findings.filter((f) => f.severity === "warning");
}
