/**
 * What tree-sitter accepts but CPython 3 does not (or reads differently), checked on the compact tree:
 * parse errors and missing tokens, Python 2 statements and literals, keywords used as names, CPython's
 * indentation rules (TabError, unindent mismatch, unexpected indent), nesting limits, and characters
 * tree-sitter skips as whitespace that CPython refuses outside strings and comments.
 *
 * @module
 */
import { allBelow, PY3_FLOAT, PY3_INT } from "./semantic/fold.ts";
import { K, type SyntaxTree, TK } from "./tree.ts";
import { PYTHON_KEYWORDS } from "../python_keywords.ts";

export interface RawIssue {
  start: number;
  end: number;
  rule: string;
  message: string;
}

/** CPython compiles expressions nested up to about this depth (tree-sitter depth ≈ 1–2× CPython's). */
export const MAX_TREE_DEPTH = 3000;
/** CPython's tokenizer refuses more nested brackets than this (MAXLEVEL). */
const MAX_BRACKETS = 200;

const HARD_KEYWORDS = PYTHON_KEYWORDS;

const STRING_PREFIXES = new Set(["", "r", "u", "f", "b", "br", "rb", "fr", "rf"]);
const OPEN = new Set([TK["("], TK["["], TK["{"]]);
const CLOSE = new Set([TK[")"], TK["]"], TK["}"]]);
/** Characters outside strings and comments that need a closer look. */
const UNUSUAL = /[^\t\n\f\x20-\x7e]/g;

function _snippet(text: string): string {
  const s = text.length > 30 ? text.slice(0, 30) + "…" : text;
  return JSON.stringify(s);
}

/** The source-level issues of a parsed file. */
export function checkSyntax(tree: SyntaxTree): RawIssue[] {
  const issues: RawIssue[] = [];
  const text = tree.source;
  for (const e of tree.errors) {
    issues.push({
      start: e.start,
      end: Math.max(e.end, e.start),
      rule: "source-syntax",
      message: e.missing
        ? `the code does not parse: missing ${e.expected ? JSON.stringify(e.expected) : "a token"} here`
        : `the code does not parse: unexpected ${
          _snippet(text.slice(e.start, Math.min(e.end, e.start + 40)))
        }`,
    });
  }
  if (tree.maxDepth > MAX_TREE_DEPTH) {
    issues.push({
      start: 0,
      end: 0,
      rule: "source-too-deep",
      message:
        `the code is nested ${tree.maxDepth} levels deep; CPython and the scanner stop at about ${MAX_TREE_DEPTH}`,
    });
    return issues; // the other checks would only repeat the point
  }
  _checkNodes(tree, issues);
  _checkLines(tree, issues);
  _checkCharacters(tree, issues);
  return issues;
}

function _python2(issues: RawIssue[], tree: SyntaxTree, i: number, what: string): void {
  issues.push({
    start: tree.start[i],
    end: tree.end[i],
    rule: "source-python2",
    message: `${what} (Python 2 syntax)`,
  });
}

function _checkNodes(tree: SyntaxTree, issues: RawIssue[]): void {
  const { kind, count } = tree;
  for (let i = 0; i < count; i++) {
    const k = kind[i];
    if (k === K.print_statement) _python2(issues, tree, i, "a print statement: use print(...)");
    else if (k === K.exec_statement) _python2(issues, tree, i, "an exec statement");
    else if (k === TK["<>"]) _python2(issues, tree, i, "the <> operator: use !=");
    else if (k === K.integer) {
      const t = tree.text(i);
      if (!PY3_INT.test(t) && !/^\d(?:_?\d)*[jJ]$/.test(t)) {
        const old = /^0\d+$/.test(t)
          ? "an old-style octal literal: use 0o"
          : /[lL]$/.test(t)
          ? "a long literal"
          : "";
        if (old) _python2(issues, tree, i, `${old} ${t}`);
        else {
          issues.push({
            start: tree.start[i],
            end: tree.end[i],
            rule: "source-syntax",
            message: `invalid number literal ${t}`,
          });
        }
      }
    } else if (k === K.float) {
      const t = tree.text(i);
      if (!PY3_FLOAT.test(t)) {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-syntax",
          message: `invalid number literal ${t}`,
        });
      }
    } else if (k === K.string_start) {
      const t = tree.text(i);
      const m = /^([A-Za-z]*)('''|"""|'|")$/.exec(t);
      if (!m) {
        _python2(
          issues,
          tree,
          i,
          `a ${t === "`" ? "backquote (repr) expression" : `string opened with ${t}`}`,
        );
      } else if (!STRING_PREFIXES.has(m[1].toLowerCase())) {
        _python2(issues, tree, i, `the string prefix ${m[1]}`);
      }
    } else if (k === K.block) {
      if (tree.first[i] < 0) {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-indentation",
          message: "expected an indented block",
        });
      }
    } else if (k === K.parameters || k === K.lambda_parameters) {
      if (tree.has(i, K.tuple_pattern)) {
        _python2(issues, tree, i, "a tuple parameter: unpack inside the function instead");
      }
    } else if (k === K.for_in_clause) {
      if (tree.has(i, TK[","])) {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-syntax",
          message: "a comprehension over an unparenthesised tuple (for x in a, b): CPython 3 refuses it",
        });
      }
    } else if (k === K.type_conversion) {
      const t = tree.text(i);
      if (t !== "!r" && t !== "!s" && t !== "!a") {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-syntax",
          message: `invalid f-string conversion ${t}`,
        });
      }
    } else if (k === K.string_content) {
      const start = tree.first[tree.parent[i]];
      if (start >= 0 && _isBytesStart(tree, start) && !allBelow(tree.text(i), 0x80)) {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-syntax",
          message: "a bytes literal with non-ASCII characters: CPython refuses it",
        });
      }
    } else if (k === K.except_clause) {
      if (tree.has(i, TK[","])) _python2(issues, tree, i, "except X, name: use except X as name");
    } else if (k === K.raise_statement) {
      if (tree.has(i, K.expression_list)) _python2(issues, tree, i, "raise E, value: use raise E(value)");
    } else if (k === K.identifier) {
      const length = tree.end[i] - tree.start[i];
      const c = tree.source.charCodeAt(tree.start[i]);
      if (length < 2 || length > 8 || !(c >= 0x61 && c <= 0x7a || c === 0x46 || c === 0x4e || c === 0x54)) {
        continue;
      }
      const t = tree.text(i);
      if (HARD_KEYWORDS.has(t)) {
        issues.push({
          start: tree.start[i],
          end: tree.end[i],
          rule: "source-syntax",
          message: `${t} is a keyword in Python 3 and cannot be used as a name`,
        });
      }
    }
  }
}

/** Whether a string_start token (`b"`, `rb'`, …) opens a bytes literal. */
function _isBytesStart(tree: SyntaxTree, start: number): boolean {
  for (let p = tree.start[start]; p < tree.end[start]; p++) {
    const c = tree.source.charCodeAt(p);
    if (c === 0x62 || c === 0x42) return true;
    if (c === 0x27 || c === 0x22) return false;
  }
  return false;
}

/** Pre-order walk over tokens: leaves, with each string (and its f-string parts) as one token. */
function _tokens(tree: SyntaxTree, visit: (i: number) => void): void {
  const { kind, first, next, parent } = tree;
  let i = first[0];
  while (i >= 0) {
    const k = kind[i];
    const atomic = k === K.string || k === K.comment;
    if (!atomic && first[i] >= 0) {
      i = first[i];
      continue;
    }
    if (tree.end[i] > tree.start[i]) visit(i); // zero-width leaves (empty blocks, MISSING) are not tokens
    while (i >= 0 && next[i] < 0) i = parent[i] === 0 ? -1 : parent[i];
    if (i >= 0) i = next[i];
  }
}

interface Indent {
  col: number;
  alt: number;
}

/** CPython's column and tab-size-1 column of a line's indentation. */
function _indentation(text: string, lineStart: number): Indent {
  let col = 0;
  let alt = 0;
  for (let p = lineStart; p < text.length; p++) {
    const c = text.charCodeAt(p);
    if (c === 0x20) {
      col++;
      alt++;
    } else if (c === 0x09) {
      col = (Math.floor(col / 8) + 1) * 8;
      alt++;
    } else if (c === 0x0c) {
      col = 0;
      alt = 0;
    } else break;
  }
  return { col, alt };
}

/** Logical lines and indentation exactly as CPython's tokenizer computes them. */
function _checkLines(tree: SyntaxTree, issues: RawIssue[]): void {
  const text = tree.source;
  const lineStarts: number[] = [0];
  for (let p = text.indexOf("\n"); p >= 0; p = text.indexOf("\n", p + 1)) lineStarts.push(p + 1);
  const stack: Indent[] = [{ col: 0, alt: 0 }];
  let line = 0;
  let prevEndLine = -1;
  let depth = 0;
  let tooDeep = false;
  let prevKind = -1;
  let prevWasContinuation = false;
  const report = (i: number, message: string) =>
    issues.push({ start: tree.start[i], end: tree.end[i], rule: "source-indentation", message });
  const tabError = "inconsistent use of tabs and spaces in indentation (CPython: TabError)";

  let commentStart = -1;
  let commentEnd = -1;
  _tokens(tree, (i) => {
    const k = tree.kind[i];
    if (k === K.comment) {
      commentStart = tree.start[i];
      commentEnd = tree.end[i];
      return;
    }
    const start = tree.start[i];
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= start) line++;
    // A backslash ending the previous physical line (outside a comment) joins the lines.
    const backslash = lineStarts[line] - 2;
    const joined = prevWasContinuation ||
      (backslash >= 0 && text.charCodeAt(backslash) === 0x5c &&
        !(backslash >= commentStart && backslash < commentEnd));
    if (line > prevEndLine && depth === 0 && !joined) {
      const ind = _indentation(text, lineStarts[line]);
      const top = stack[stack.length - 1];
      const afterColon = prevKind === TK[":"];
      if (ind.col === top.col) {
        if (ind.alt !== top.alt) report(i, tabError);
        else if (afterColon) report(i, "expected an indented block");
      } else if (ind.col > top.col) {
        if (ind.alt <= top.alt) report(i, tabError);
        else if (!afterColon) report(i, "unexpected indent");
        stack.push(ind);
      } else {
        while (stack.length > 1 && ind.col < stack[stack.length - 1].col) stack.pop();
        const now = stack[stack.length - 1];
        if (ind.col !== now.col) report(i, "unindent does not match any outer indentation level");
        else if (ind.alt !== now.alt) report(i, tabError);
        if (afterColon) report(i, "expected an indented block");
      }
    }
    if (OPEN.has(k)) {
      depth++;
      if (depth > MAX_BRACKETS && !tooDeep) {
        tooDeep = true;
        issues.push({
          start,
          end: tree.end[i],
          rule: "source-too-deep",
          message: `more than ${MAX_BRACKETS} nested brackets (CPython: too many nested parentheses)`,
        });
      }
    } else if (CLOSE.has(k) && depth > 0) depth--;
    prevWasContinuation = k === K.line_continuation;
    if (!prevWasContinuation) prevKind = k;
    const end = tree.end[i];
    prevEndLine = line + 1 < lineStarts.length && end > lineStarts[line + 1]
      ? _lineOf(lineStarts, end - 1)
      : line;
  });
}

function _lineOf(starts: number[], index: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Kinds of leaves whose text may hold any character CPython accepts there. */
function _holdsAnything(k: number): boolean {
  return k === K.string_content || k === K.comment || k === K.escape_sequence || k === K.identifier;
}

function _checkCharacters(tree: SyntaxTree, issues: RawIssue[]): void {
  const text = tree.source;
  UNUSUAL.lastIndex = 0;
  if (!UNUSUAL.test(text)) return;
  const starts: number[] = [];
  const ends: number[] = [];
  const kinds: number[] = [];
  const { kind, first, next, parent } = tree;
  // Every token in order, inside strings too (f-string expressions are code); a string's literal text
  // (string_content, escapes included) and comments are single tokens.
  let i = first[0];
  while (i >= 0) {
    const k = kind[i];
    if (first[i] >= 0 && k !== K.string_content && k !== K.comment) {
      i = first[i];
      continue;
    }
    starts.push(tree.start[i]);
    ends.push(tree.end[i]);
    kinds.push(kind[i]);
    while (i >= 0 && next[i] < 0) i = parent[i] === 0 ? -1 : parent[i];
    if (i >= 0) i = next[i];
  }
  UNUSUAL.lastIndex = 0;
  let reported = 0;
  for (let m = UNUSUAL.exec(text); m !== null && reported < 20; m = UNUSUAL.exec(text)) {
    const at = m.index;
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= at) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && at < ends[found] && _holdsAnything(kinds[found])) continue;
    const code = text.codePointAt(at)!;
    reported++;
    issues.push({
      start: at,
      end: at + (code > 0xffff ? 2 : 1),
      rule: "source-invisible-character",
      message: `the character U+${
        code.toString(16).toUpperCase().padStart(4, "0")
      } outside a string or comment: tree-sitter skips it, CPython refuses it`,
    });
  }
}
