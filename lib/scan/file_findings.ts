/**
 * One file's findings from its prepared source (lib/scan/prepare.ts): the source issues, the syntax and
 * compiler checks, then the analysis (lib/scan/analyze.ts). The heavy half of the scanner: lib/scan/scan.ts
 * loads it when a file has to be analysed, never for a scan the cache answers.
 *
 * @module
 */
import { analyzeTree, type RawFinding, TooDeepError } from "./analyze.ts";
import { type Finding, sortUnique } from "./finding.ts";
import { type PreparedSource, syntaxTree } from "./prepare.ts";
import { ruleById, ruleMessage } from "./rules/registry.ts";
import { LineIndex } from "./source.ts";
import { checkSyntax, type RawIssue } from "./syntax.ts";
import type { SyntaxTree } from "./tree.ts";

const MAX_SOURCE_LINE = 500;

/**
 * Files with more syntax nodes are a `source-too-large` finding rather than analysed: the analysis keeps
 * ~150 bytes per node, and this bounds one file's share of the scan's memory (~1 MiB of dense code).
 */
export const MAX_ANALYSED_NODES = 1_000_000;

function _finding(
  file: string,
  lines: LineIndex,
  rule: string,
  name: string,
  start: number,
  end: number,
  context?: string,
): Finding {
  const from = lines.position(start);
  const lineEnd = lines.starts[from.line] === undefined ? lines.text.length : lines.starts[from.line] - 1;
  const stop = end > start ? end : Math.min(start + 1, Math.max(start, lineEnd));
  const to = lines.position(stop);
  const source = lines.lineText(from.line);
  return {
    file,
    line: from.line,
    column: from.column,
    end_line: to.line,
    end_column: to.column,
    rule_id: rule,
    category: ruleById(rule).category,
    severity: ruleById(rule).severity,
    message: ruleMessage(rule, name, context),
    source: source.length > MAX_SOURCE_LINE ? source.slice(0, MAX_SOURCE_LINE) + "…" : source,
  };
}

/** The findings of a prepared file (lib/scan/prepare.ts): source issues, syntax, then the analysis. */
export function findingsFor(
  file: string,
  prepared: PreparedSource,
  subParse: (source: string) => SyntaxTree | null,
): Finding[] {
  if (prepared.unreadable !== undefined) {
    return [{
      file,
      line: 1,
      column: 1,
      end_line: 1,
      end_column: 1,
      rule_id: "source-unreadable",
      category: "source",
      severity: "error",
      message: ruleMessage("source-unreadable", `the file cannot be read (${prepared.unreadable})`),
      source: "",
    }];
  }
  const findings: Finding[] = [];
  const lines = new LineIndex(prepared.linesText);
  for (const issue of prepared.issues) {
    if (issue.index !== undefined) {
      findings.push(_finding(file, lines, issue.rule, issue.message, issue.index, issue.index + 1));
    } else {
      const line = issue.line ?? 1;
      const text = lines.lineText(line);
      findings.push({
        file,
        line,
        column: issue.column ?? 1,
        end_line: line,
        end_column: (issue.column ?? 1) + 1,
        rule_id: issue.rule,
        category: ruleById(issue.rule).category,
        severity: ruleById(issue.rule).severity,
        message: ruleMessage(issue.rule, issue.message),
        source: text.length > MAX_SOURCE_LINE ? text.slice(0, MAX_SOURCE_LINE) + "…" : text,
      });
    }
  }
  if (prepared.tooComplex !== undefined) {
    findings.push(_finding(file, lines, "source-too-large", prepared.tooComplex, 0, 0));
    return sortUnique(findings);
  }
  if (prepared.parseFailure !== undefined) {
    findings.push(
      _finding(file, lines, "source-too-deep", `${prepared.parseFailure}; please report it`, 0, 0),
    );
    return sortUnique(findings);
  }
  const tree = syntaxTree(prepared);
  if (tree === undefined) return sortUnique(findings);
  if (tree === null) {
    findings.push(_finding(file, lines, "source-too-deep", "the file took too long to parse", 0, 0));
    return sortUnique(findings);
  }
  if (tree.count > MAX_ANALYSED_NODES) {
    findings.push(
      _finding(
        file,
        lines,
        "source-too-large",
        `the file has ${tree.count.toLocaleString("en")} syntax nodes; the scanner analyses up to ${
          MAX_ANALYSED_NODES.toLocaleString("en")
        }`,
        0,
        0,
      ),
    );
    return sortUnique(findings);
  }
  const issues: RawIssue[] = checkSyntax(tree);
  for (const i of issues) findings.push(_finding(file, lines, i.rule, i.message, i.start, i.end));
  if (!issues.some((i) => i.rule === "source-too-deep" && i.start === 0 && i.end === 0)) {
    let raw: RawFinding[];
    try {
      raw = analyzeTree(tree, subParse);
    } catch (error) {
      // Fail closed: a file the analysis cannot finish is a finding, never a pass.
      const name = error instanceof TooDeepError
        ? error.message
        : error instanceof RangeError
        ? "expressions are nested too deeply for the scanner to follow"
        : `the scanner failed on this file (${
          error instanceof Error ? error.message : String(error)
        }); please report it`;
      raw = [{ start: 0, end: 0, rule: "source-too-deep", name }];
    }
    for (const f of raw) findings.push(_finding(file, lines, f.rule, f.name, f.start, f.end, f.context));
  }
  return sortUnique(findings);
}
