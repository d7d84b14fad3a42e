/**
 * What the scanner reports, and its order: the types and the comparison every part of the scanner shares.
 * Kept apart from the analysis so that a scan answered from the cache never loads the analysis.
 *
 * @module
 */
import type { Severity } from "./rules/registry.ts";

export interface Finding {
  /** Relative to the scanned root, '/'-separated. */
  file: string;
  line: number;
  /** 1-based, in Unicode code points. */
  column: number;
  end_line: number;
  /** 1-based, exclusive (the column after the last character), like SARIF's endColumn. */
  end_column: number;
  rule_id: string;
  category: string;
  /** `error` rejects the plugin; `warning` (the platform's warnings) rejects it in strict mode only. */
  severity: Severity;
  /** What the code does and what to use instead. */
  message: string;
  /** The source line. */
  source: string;
}

export interface ScanReport {
  root: string;
  files_scanned: number;
  /** Sorted by file, line, column, rule_id. */
  findings: Finding[];
}

export function compareFindings(a: Finding, b: Finding): number {
  return (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column ||
    (a.rule_id < b.rule_id ? -1 : a.rule_id > b.rule_id ? 1 : 0) || a.end_line - b.end_line ||
    a.end_column - b.end_column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

export function sortUnique(findings: Finding[]): Finding[] {
  findings.sort(compareFindings);
  return findings.filter((f, i) => i === 0 || compareFindings(f, findings[i - 1]) !== 0);
}
