/**
 * One file's analysis: the semantic model (lib/scan/semantic/model.ts), the evaluator over it
 * (semantic/evaluate.ts) and the rule checks (lib/scan/checks/, rules in lib/scan/rules/), run together.
 *
 * @module
 */
import { Checker, type RawFinding, type SubParser } from "./checks/checker.ts";
import type { SyntaxTree } from "./tree.ts";

export type { RawFinding, SubParser } from "./checks/checker.ts";
export { TooDeepError } from "./semantic/evaluate.ts";

/** Analyses one parsed file; throws TooDeepError (or RangeError) when expressions nest too deeply. */
export function analyzeTree(tree: SyntaxTree, parse?: SubParser): RawFinding[] {
  return new Checker(tree, { parse }).run();
}
