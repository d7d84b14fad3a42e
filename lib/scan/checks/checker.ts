/**
 * The rule checks of one file, over its semantic model and evaluator: pass 2 walks the tree and evaluates
 * the nodes the pre-checks (prefilter.ts) find worth it; while the evaluator computes values it calls the
 * hooks below, which hand each event to the check module that owns it:
 *
 * - forbidden_objects.ts: imports, names, attributes and calls that reach a forbidden path;
 * - lookups.ts: computed lookups in namespaces, namespaces handed to code the scanner does not follow;
 * - code_strings.ts: strings Python evaluates as code (annotations, ForwardRef, timeit), `__code__` stores;
 * - resolvers.ts: dotted names given as data (import_module, resolver keys, dictConfig), embedded payloads.
 *
 * A finding is reported where a forbidden object first appears: the import, the attribute or lookup that
 * produces it, the builtin name; calling a forbidden object that arrived through a name is reported too.
 *
 * @module
 */
import { checkCompiler } from "./compiler.ts";
import { checkAnnotation, checkCodeStore, codeStringCall, insideType } from "./code_strings.ts";
import {
  callOnly,
  checkCalledObject,
  checkImports,
  introduce,
  mayBeForbidden,
  onAttribute,
  onImplicitName,
} from "./forbidden_objects.ts";
import {
  checkCallEscapes,
  checkEscape,
  checkHandedOver,
  checkStarArguments,
  onComputedKey,
  onEnumerated,
  onGetattr,
  onGlobalsItem,
} from "./lookups.ts";
import {
  callWorthEvaluating,
  INTERESTING_ATTRIBUTES,
  isInterestingName,
  LOOKUP_FUNCTIONS,
  mayBeNamespace,
} from "./prefilter.ts";
import { checkResolverKey, onResolved, resolverCall } from "./resolvers.ts";
import { Evaluator } from "../semantic/evaluate.ts";
import type { ArgValue, CallArgs, EvaluationHooks } from "../semantic/hooks.ts";
import { SemanticModel } from "../semantic/model.ts";
import { members, UNKNOWN, type Value } from "../semantic/values.ts";
import { K, type SyntaxTree, TK } from "../tree.ts";

export interface RawFinding {
  start: number;
  end: number;
  rule: string;
  /** What replaces `{name}` in the rule's message. */
  name: string;
  /** Where the code was found, when not plainly in the file (a string annotation, a timeit statement). */
  context?: string;
}

/** Parses a piece of Python source found in a string (annotations, timeit statements). */
export type SubParser = (source: string) => SyntaxTree | null;

export interface CheckOptions {
  parse?: SubParser;
  /** For sub-scans: the checker of the file the string is in (it resolves the names the string uses). */
  outer?: Checker;
  depth?: number;
}

/** One file's checks; findings land in `findings`. */
export class Checker implements EvaluationHooks {
  readonly model: SemanticModel;
  readonly ev: Evaluator;
  readonly options: CheckOptions;
  readonly findings: RawFinding[] = [];
  /** Nodes some finding was reported on. */
  readonly reported = new Set<number>();
  readonly #seen = new Set<string>();

  constructor(tree: SyntaxTree, options: CheckOptions = {}) {
    // One object shape for every checker (a file's and a code string's): a second shape reaching run's
    // optimized code makes V8 compile it again.
    this.options = { parse: options.parse, outer: options.outer, depth: options.depth ?? 0 };
    this.model = new SemanticModel(tree);
    this.ev = new Evaluator(this.model, this, options.outer?.ev);
  }

  /** Reports a finding once per node and rule (the first message wins). */
  report(node: number, rule: string, name: string, context?: string): void {
    const key = `${node}:${rule}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.reported.add(node);
    this.findings.push({
      start: this.model.tree.start[node],
      end: this.model.tree.end[node],
      rule,
      name,
      context,
    });
  }

  eval(node: number): Value {
    return this.ev.eval(node);
  }

  run(): RawFinding[] {
    // Compiler errors are the file's own (code in strings is compiled only when it runs).
    if (!this.options.depth) { for (const f of checkCompiler(this.model)) this.findings.push(f); }
    checkImports(this);
    const model = this.model;
    // Names a match statement binds: the forbidden object appears at the capture (`case {"system": f}`).
    for (const capture of model.patternCaptures) {
      const subject = this.eval(capture.subject);
      introduce(this, capture.target, this.ev.unpack(subject, capture.steps), [subject]);
    }
    const { kind, count } = model.tree;
    for (let i = 1; i < count; i++) {
      const k = kind[i];
      if (k === K.identifier) {
        if (model.role[i] !== 0) continue;
        if (isInterestingName(model, i)) this.eval(i);
        else if (LOOKUP_FUNCTIONS.has(model.name(i))) checkHandedOver(this, i);
      } else if (k === K.attribute) {
        if (INTERESTING_ATTRIBUTES.has(model.attrName(i))) this.eval(i);
        checkCodeStore(this, i);
      } else if (k === K.call) {
        if (callWorthEvaluating(model, i)) this.eval(i);
      } else if (k === K.subscript) {
        const object = model.firstNamed(i);
        if (model.role[i] === 0 && object >= 0 && mayBeNamespace(model, object)) this.eval(i);
      } else this.#rareNode(i, k);
    }
    return this.findings;
  }

  /**
   * The node kinds few files have, apart from run's loop: V8 compiles an optimized loop again each time it
   * meets a branch it had not run yet, and the smaller the loop the cheaper that is.
   */
  #rareNode(i: number, k: number): void {
    const model = this.model;
    const kind = model.tree.kind;
    if (k === K.exec_statement) {
      this.report(i, "dynamic-code-exec", "exec");
    } else if (k === K.type) {
      if (!insideType(model, i)) checkAnnotation(this, i);
    } else if (k === K.pair) {
      checkResolverKey(this, i);
    } else if (k === K.keyword_pattern) {
      // `case C(name=…)` reads the attribute `name` of the subject.
      const key = model.firstNamed(i);
      if (key >= 0 && kind[key] === K.identifier) onAttribute(this, key, UNKNOWN, model.name(key));
    } else if (k === K.for_statement || k === K.for_in_clause) {
      const right = model.after(i, TK.in);
      if (right >= 0 && mayBeNamespace(model, right)) checkEscape(this, right, "iterates over");
    } else if (k === K.list_splat || k === K.dictionary_splat) {
      const inner = model.firstNamed(i);
      if (inner >= 0 && mayBeNamespace(model, inner)) checkEscape(this, inner, "unpacks");
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // EvaluationHooks: each event goes to the check module that owns it.

  produced(node: number, v: Value, inputs: Value[]): void {
    introduce(this, node, v, inputs);
  }

  implicitName(node: number, name: string, v: Value): void {
    onImplicitName(this, node, name, v);
  }

  attribute(node: number, obj: Value, name: string): void {
    onAttribute(this, node, obj, name);
  }

  getattr(node: number, obj: Value, name: Value | undefined): void {
    onGetattr(this, node, obj, name);
  }

  computedKey(node: number, container: Value): void {
    onComputedKey(this, node, container);
  }

  globalsItem(node: number, key: string): void {
    onGlobalsItem(this, node, key);
  }

  enumerated(node: number, ns: Value, method: string): void {
    onEnumerated(this, node, ns, method);
  }

  resolved(node: number, resolver: string, names: string[] | undefined, paths: string[]): void {
    onResolved(this, node, resolver, names, paths);
  }

  pathCall(node: number, p: string, args: CallArgs, arg: ArgValue): boolean {
    const a = resolverCall(this, node, p, arg);
    const b = codeStringCall(this, p, args);
    return a || b;
  }

  call(node: number, callee: Value, args: CallArgs, modeled: boolean, result: Value): void {
    for (const m of members(callee)) {
      if (m.t === "path") callOnly(this, node, m.path);
      else if (m.t === "func") checkStarArguments(this, m.node, args);
    }
    checkCalledObject(this, node, callee);
    checkCallEscapes(this, node, callee, args, modeled);
    if (mayBeForbidden(result)) {
      introduce(this, node, result, [
        callee,
        ...args.positional.map((n) => this.eval(n)),
      ]);
    }
  }
}
