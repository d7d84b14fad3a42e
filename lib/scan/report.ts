/**
 * Renders a ScanReport: text with a code frame per finding, and SARIF 2.1.0 as GitHub code scanning
 * accepts it (tool.driver.rules, results with physicalLocation regions, partial fingerprints).
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "../paths.ts";
import type { Palette } from "../output.ts";
import { blockingFindings, type PolicyOptions } from "./policy.ts";
import { CATEGORIES, ruleById, RULES } from "./rules/registry.ts";
import type { Finding, ScanReport } from "./scan.ts";

const PLAIN: Palette = { red: (t) => t, green: (t) => t, yellow: (t) => t, dim: (t) => t, bold: (t) => t };

/** How findings' paths are shown: relative to a folder (the current one by default), or absolute. */
export interface PathOptions {
  /** Absolute paths instead of relative ones (`--absolute`). */
  absolute?: boolean;
  /** The folder relative paths start from (default: the current folder). */
  cwd?: string;
}

/** A finding's file as a terminal (or code scanning) opens it: relative to the current folder, or absolute. */
export function shownPath(report: ScanReport, f: Finding, options: PathOptions = {}): string {
  const abs = resolve(report.root, f.file);
  if (options.absolute) return abs;
  const rel = relative(options.cwd ?? Deno.cwd(), abs);
  return rel === "" || isAbsolute(rel) ? abs : rel;
}

function _plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "3 findings in 2 of 5 Python files (shell 2, network 1)", with the warnings counted apart when any. */
export function summary(report: ScanReport, policy: PolicyOptions = {}): string {
  const n = report.findings.length;
  if (n === 0) return `No findings in ${_plural(report.files_scanned, "Python file")}.`;
  const files = new Set(report.findings.map((f) => f.file)).size;
  const counts = CATEGORIES.map((c) => [c, report.findings.filter((f) => f.category === c).length] as const)
    .filter(([, count]) => count > 0)
    .map(([c, count]) => `${c} ${count}`);
  const warnings = report.findings.filter((f) => f.severity === "warning").length;
  const split = warnings === 0
    ? ""
    : `: ${_plural(n - warnings, "error")}, ${_plural(warnings, "warning")}${
      policy.strict ? " (strict: warnings reject too)" : " (shown, not rejected; --strict rejects them)"
    }`;
  return `${_plural(n, "finding")} in ${files} of ${_plural(report.files_scanned, "Python file")} (${
    counts.join(", ")
  })${split}.`;
}

function _expandTabs(text: string): string {
  return text.replaceAll("\t", "    ");
}

/** The caret line under a finding's first line. */
function _carets(f: Finding, source: string): string {
  const chars = [...source];
  const start = Math.max(0, f.column - 1);
  const stop = f.end_line === f.line ? Math.max(start + 1, f.end_column - 1) : chars.length;
  const pad = chars.slice(0, start).map((c) => (c === "\t" ? "    " : " ")).join("");
  const width = Math.max(1, _expandTabs(chars.slice(start, Math.min(stop, chars.length)).join("")).length);
  return pad + "^".repeat(width);
}

export interface TextOptions extends PathOptions, PolicyOptions {}

/** One finding: location, rule (and `warning` for a warning), message, and the source line with carets. */
export function renderFinding(f: Finding, p: Palette = PLAIN, file: string = f.file): string {
  const where = p.bold(`${file}:${f.line}:${f.column}`);
  const gutter = String(f.line).length;
  const rule = f.severity === "warning"
    ? `${p.yellow(f.rule_id)} ${p.dim(`[${f.category}, warning]`)}`
    : `${p.red(f.rule_id)} ${p.dim(`[${f.category}]`)}`;
  const lines = [`${where}  ${rule}`, `  ${f.message}`];
  if (f.source !== "") {
    const mark = f.severity === "warning" ? p.yellow : p.red;
    lines.push(
      `  ${p.dim(`${f.line} |`)} ${_expandTabs(f.source)}`,
      `  ${p.dim(`${" ".repeat(gutter)} |`)} ${mark(_carets(f, f.source))}`,
    );
  }
  return lines.join("\n");
}

/** The text report: a code frame per finding (paths relative to the current folder), then the summary. */
export function renderText(report: ScanReport, p: Palette = PLAIN, options: TextOptions = {}): string {
  const parts = report.findings.map((f) => renderFinding(f, p, shownPath(report, f, options)));
  const blocking = blockingFindings(report, options).length > 0;
  const text = summary(report, options);
  const line = blocking ? p.bold(text) : report.findings.length ? p.yellow(text) : p.green(text);
  return [...parts, line].join("\n\n") + "\n";
}

// ---------------------------------------------------------------------------------------------------------
// SARIF 2.1.0

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI = "https://docs.mixpeek.com";

/** GitHub's security-severity (0–10) per category. */
const SEVERITY: Record<string, string> = {
  shell: "9.0",
  "dynamic-code": "9.0",
  network: "7.5",
  memory: "8.5",
  "dynamic-import": "8.0",
  "file-access": "6.5",
  concurrency: "5.0",
  system: "7.0",
  introspection: "8.0",
  deserialization: "8.0",
  source: "6.0",
};

/** FNV-1a, 64-bit as two 32-bit halves: a stable fingerprint without async crypto. */
function _fingerprint(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

function _rootUri(root: string): string {
  const withSlash = root.endsWith("/") ? root : root + "/";
  return "file://" + withSlash.split("/").map(encodeURIComponent).join("/");
}

export interface SarifOptions extends PathOptions, PolicyOptions {
  toolVersion: string;
}

/** A path as a URI reference: each segment encoded. */
function _uriPath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

/** The report as a SARIF 2.1.0 log with one run. */
export function toSarif(report: ScanReport, options: SarifOptions): Record<string, unknown> {
  const ids = Object.keys(RULES).sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const rules = ids.map((id) => {
    const r = ruleById(id);
    return {
      id,
      name: id.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
      shortDescription: { text: `${r.category}: ${r.title}` },
      fullDescription: {
        text: r.problem.includes("{name}") && r.problem !== "{name}"
          ? r.problem.replaceAll("`{name}`", r.title)
          : `${r.category}: ${r.title}`,
      },
      help: { text: `Instead: ${r.instead}.`, markdown: `**Instead:** ${r.instead}.` },
      defaultConfiguration: { level: r.severity === "warning" ? "warning" : "error" },
      properties: {
        tags: ["security", r.category],
        "security-severity": SEVERITY[r.category] ?? "7.0",
        precision: "high",
      },
    };
  });
  const seen = new Map<string, number>();
  const results = report.findings.map((f) => {
    const base = _fingerprint(`${f.rule_id}\u0000${f.file}\u0000${f.source.trim()}`);
    const occurrence = (seen.get(base) ?? 0) + 1;
    seen.set(base, occurrence);
    const region: Record<string, unknown> = {
      startLine: f.line,
      startColumn: f.column,
      endLine: f.end_line,
      endColumn: Math.max(f.end_column, f.end_line === f.line ? f.column : 1),
    };
    if (f.source !== "") region.snippet = { text: f.source };
    return {
      ruleId: f.rule_id,
      ruleIndex: index.get(f.rule_id) ?? 0,
      level: f.severity === "error" || options.strict ? "error" : "warning",
      kind: "fail",
      message: { text: f.message },
      locations: [{
        physicalLocation: {
          artifactLocation: options.absolute
            ? { uri: "file://" + _uriPath(shownPath(report, f, options)) }
            : { uri: _uriPath(shownPath(report, f, options)), uriBaseId: "%SRCROOT%" },
          region,
        },
      }],
      partialFingerprints: { "mixpeekScan/v1": `${base}:${occurrence}` },
      properties: { category: f.category, severity: f.severity },
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [{
      tool: {
        driver: {
          name: "mixpeek-plugin-scan",
          fullName: "Mixpeek plugin security scan",
          version: options.toolVersion,
          semanticVersion: options.toolVersion,
          informationUri: INFORMATION_URI,
          rules,
        },
      },
      // Relative URIs start from the folder the scan was run in, so code scanning and editors open them.
      originalUriBaseIds: { "%SRCROOT%": { uri: _rootUri(resolve(options.cwd ?? Deno.cwd())) } },
      columnKind: "unicodeCodePoints",
      results,
      properties: { files_scanned: report.files_scanned, scanned_root: report.root },
    }],
  };
}
