/**
 * Strings Python evaluates as code, scanned as code (the findings inside are reported on the string):
 * string annotations (typing.get_type_hints and pydantic evaluate them), `typing.ForwardRef`, TypeVar
 * bounds, timeit statements; and replacing what a function runs (`f.__code__ = …`). Rules:
 * dynamic-code-string, dynamic-code-function-type, and whatever the code in the string does.
 *
 * @module
 */
import { Checker } from "./checker.ts";
import { FORWARD_REFS, TIMEIT, TYPEVARS } from "../rules/tables.ts";
import { TooDeepError } from "../semantic/evaluate.ts";
import type { CallArgs } from "../semantic/hooks.ts";
import type { SemanticModel } from "../semantic/model.ts";
import { members, strings } from "../semantic/values.ts";
import { K } from "../tree.ts";

const MAX_SUBSCAN_DEPTH = 2;

/** Whether a `type` node is part of a larger annotation (checked from its top). */
export function insideType(model: SemanticModel, i: number): boolean {
  const { kind, parent } = model.tree;
  for (let p = parent[i]; p > 0; p = parent[p]) {
    const k = kind[p];
    if (k === K.type) return true;
    if (k === K.block || k === K.expression_statement || k === K.parameters || k === K.lambda_parameters) {
      return false;
    }
  }
  return false;
}

/** String annotations are code: typing.get_type_hints and pydantic evaluate them. */
export function checkAnnotation(c: Checker, i: number): void {
  const tree = c.model.tree;
  const stack = [i];
  while (stack.length) {
    const n = stack.pop()!;
    const k = tree.kind[n];
    if (k === K.string) {
      subscanString(c, n, "expression", "the string annotation");
      continue;
    }
    if (k === K.subscript || k === K.generic_type) {
      const head = tree.first[n];
      const headText = head >= 0 ? tree.text(head).replace(/\s+/g, "") : "";
      if (/(^|\.)Literal$/.test(headText)) continue; // Literal["x"] holds values, not types
      if (/(^|\.)Annotated$/.test(headText)) {
        // Annotated[T, metadata…]: only T is a type.
        const params = k === K.generic_type ? tree.child(n, K.type_parameter) : -1;
        const args = params >= 0 ? tree.named(params) : tree.named(n).slice(1);
        if (args[0] !== undefined) stack.push(args[0]);
        continue;
      }
    }
    if (k === K.lambda || k === K.call) continue;
    for (let ch = tree.first[n]; ch >= 0; ch = tree.next[ch]) stack.push(ch);
  }
}

/** `f.__code__ = …` replaces what a function runs. */
export function checkCodeStore(c: Checker, i: number): void {
  const model = c.model;
  if (model.role[model.attrNameNode(i)] !== 2) return;
  const tree = model.tree;
  const p = tree.parent[i];
  if (tree.kind[p] === K.assignment && model.firstNamed(p) === i && model.attrName(i) === "__code__") {
    c.report(i, "dynamic-code-function-type", "assigning __code__");
  }
}

/** timeit statements, ForwardRef arguments, TypeVar bounds; true when `p` is one of those. */
export function codeStringCall(c: Checker, p: string, a: CallArgs): boolean {
  if (TIMEIT.has(p)) {
    for (const [index, keyword] of [[0, "stmt"], [1, "setup"]] as const) {
      const n = a.keywords.get(keyword) ?? a.positional[index];
      if (n === undefined) continue;
      const v = c.eval(n);
      const texts = strings(v);
      if (texts) { for (const t of texts) subscan(c, n, t, "statements", `the ${p} statement`); }
      else if (!members(v).every((m) => m.t === "func" || m.t === "path")) {
        c.report(n, "dynamic-code-string", `${p} runs a statement computed at run time`);
      }
    }
    return true;
  }
  if (FORWARD_REFS.has(p)) {
    const n = a.keywords.get("arg") ?? a.positional[0];
    if (n !== undefined) subscanString(c, n, "expression", "the forward reference");
    return true;
  }
  if (TYPEVARS.has(p)) {
    const n = a.keywords.get("bound");
    if (n !== undefined && c.model.tree.kind[n] === K.string) {
      subscanString(c, n, "expression", "the TypeVar bound");
    }
    return true;
  }
  return false;
}

function subscanString(c: Checker, node: number, mode: "expression" | "statements", what: string): void {
  const texts = strings(c.eval(node));
  if (!texts) return;
  for (const text of texts) subscan(c, node, text, mode, what);
}

/** Scans Python source held in a string; findings are reported on the string. */
function subscan(
  c: Checker,
  node: number,
  text: string,
  mode: "expression" | "statements",
  what: string,
): void {
  const depth = c.options.depth ?? 0;
  const parse = c.options.parse;
  if (!parse || text.trim() === "") return;
  const short = JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text);
  if (depth >= MAX_SUBSCAN_DEPTH) {
    c.report(
      node,
      "dynamic-code-string",
      `${what} ${short} is evaluated as code (nested too deeply to scan)`,
    );
    return;
  }
  const source = mode === "expression" ? `(\n${text}\n)\n` : text.endsWith("\n") ? text : text + "\n";
  const sub = parse(source);
  if (!sub || sub.errors.length > 0) {
    if (
      /\b(eval|exec|compile|__import__|import|os|sys|subprocess|socket|getattr|globals|lambda|open)\b|__/
        .test(text)
    ) {
      c.report(node, "dynamic-code-string", `${what} ${short} is not valid Python but is evaluated as code`);
    }
    return;
  }
  const inner = new Checker(sub, { parse, outer: c, depth: depth + 1 });
  try {
    inner.run();
  } catch (error) {
    if (!(error instanceof TooDeepError || error instanceof RangeError)) throw error;
    c.report(node, "dynamic-code-string", `${what} ${short} is too deeply nested to scan`);
    return;
  }
  for (const f of inner.findings) {
    c.report(
      node,
      f.rule,
      f.name,
      `in ${what} ${short}, which Python evaluates${f.context ? `; ${f.context}` : ""}`,
    );
  }
}
