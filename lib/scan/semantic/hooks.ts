/**
 * What the evaluator tells the rule checks while it computes values: the points where an object appears
 * (an attribute, a lookup, a call result, a name Python supplies), where a lookup is computed at run time,
 * and where a known function is called. The evaluator decides values only; lib/scan/checks/ implements
 * these hooks and decides what is a finding.
 *
 * @module
 */
import type { Value } from "./values.ts";

/** A call's arguments, as nodes. */
export interface CallArgs {
  positional: number[];
  keywords: Map<string, number>;
  /** `*args` / `**kwargs` present. */
  splat: boolean;
  args: number;
}

/** The value of the argument at a position (or keyword), evaluated; undefined when absent. */
export type ArgValue = (index: number, keyword?: string) => Value | undefined;

export interface EvaluationHooks {
  /** `v` appeared at `node`, computed from `inputs` (an attribute, a subscript, a call's result). */
  produced(node: number, v: Value, inputs: Value[]): void;
  /** A module-level name Python supplies (a builtin, a star import, `__builtins__`) was read at `node`. */
  implicitName(node: number, name: string, v: Value): void;
  /** `obj.name` (or getattr with a folded `name`) at `node`. */
  attribute(node: number, obj: Value, name: string): void;
  /** getattr(obj, name) at `node`, before the attribute is taken; `name` undefined for unpacked arguments. */
  getattr(node: number, obj: Value, name: Value | undefined): void;
  /** `container[key]` with a key the scanner cannot compute, on a namespace member of a value. */
  computedKey(node: number, container: Value): void;
  /** `globals()[key]` with a folded key. */
  globalsItem(node: number, key: string): void;
  /** `ns.items()` / `.values()` / `.keys()` / `.copy()` on a namespace (`method` names which). */
  enumerated(node: number, ns: Value, method: string): void;
  /** A resolver (import_module, __import__, pkgutil.resolve_name, …) called with these names (undefined: computed). */
  resolved(node: number, resolver: string, names: string[] | undefined, paths: string[]): void;
  /**
   * A call of the known path `p` (for every path the callee may be). Returns true when the call is a sink
   * the checks model themselves (its arguments do not escape the analysis).
   */
  pathCall(node: number, p: string, args: CallArgs, arg: ArgValue): boolean;
  /** The whole call, after its value is known: `modeled` when the evaluator or a check models the callee. */
  call(node: number, callee: Value, args: CallArgs, modeled: boolean, result: Value): void;
}
