/**
 * Value evaluation over the semantic model (lib/scan/semantic/model.ts): what each expression may be.
 *
 * - Bindings are flow-insensitive (every value a name is ever given counts), with one refinement: a
 *   module-level name falls back to the builtin of that name only when some use may run before the name is
 *   bound (`from re import compile` at the top makes `compile(...)` below `re.compile`).
 * - Values (lib/scan/semantic/values.ts) follow imports, aliases, re-bindings, containers, attribute stores
 *   (field-based: `self.m = os` makes `x.m` possibly `os`), function parameters (from the calls in the
 *   file), return values, and fold constants (concatenation, join, f-strings, % and format, slicing,
 *   chr/ord, bytes.fromhex, base64, codecs rot13, …).
 * - Attributes and subscripts are in lib/scan/semantic/access.ts, calls in calls.ts, constant folding of
 *   builtin calls in fold_calls.ts. The evaluator decides values only: it tells the rule checks what it sees
 *   through EvaluationHooks (hooks.ts).
 *
 * Evaluation is recursive over expressions (memoised per node); nesting deeper than the JavaScript stack
 * allows ends in TooDeepError (the scan reports `source-too-deep`: it fails closed).
 *
 * @module
 */
import { evalAttribute, evalAttributeOf, evalSubscript, itemOf } from "./access.ts";
import { evalCall } from "./calls.ts";
import {
  convert,
  decodeLiteral,
  formatSpec,
  parseIntLiteral,
  percentFormat,
  pyStr,
  type Scalar,
} from "./fold.ts";
import type { EvaluationHooks } from "./hooks.ts";
import { type Binding, ELEMENT, type Param, type SemanticModel, STARRED, type UnpackStep } from "./model.ts";
import { BUILTIN_NAMES, canonicalPath, MODULE_DUNDERS } from "./python_names.ts";
import { K, TK } from "../tree.ts";
import {
  CONST,
  isConst,
  mapValue,
  members,
  NONE,
  num,
  path,
  str,
  strings,
  union,
  UNKNOWN,
  type Value,
} from "./values.ts";

/** Raised when expressions nest deeper than the evaluator can follow, or the file needs too many steps. */
export class TooDeepError extends Error {}

const MAX_EVAL_DEPTH = 3100;
/** Evaluation steps per file: hostile nesting of unrolled comprehensions must not hang the scan. */
const MAX_STEPS = 1_000_000;
/** Items evaluated one by one (joins over comprehensions, map()) per file. */
export const MAX_UNROLLED = 20_000;
export const MAX_UNROLL = 4096;
export const MAX_PRODUCT = 64;

export function scalarOf(v: Value): Scalar | undefined {
  if (v.t === "str") return { s: v.s, bytes: v.bytes };
  if (v.t === "num") return { n: v.n, bool: v.bool };
  if (v.t === "none") return null;
  return undefined;
}

/** What every expression of one file may evaluate to. */
export class Evaluator {
  readonly model: SemanticModel;
  readonly hooks: EvaluationHooks;
  /** For sub-scans (code in strings): resolves module-level names the sub-tree does not bind. */
  readonly outer: Evaluator | undefined;
  readonly memo: (Value | undefined)[];
  readonly busy: Uint8Array;
  readonly bindingMemo = new Map<Binding, Value>();
  readonly bindingBusy = new Set<Binding>();
  readonly returnMemo = new Map<number, Value>();
  readonly paramMemo = new Map<Param, Value>();
  readonly paramBusy = new Set<Param>();
  readonly fieldMemo = new Map<string, Value | null>();
  readonly classAttributeMemo = new Map<string, Value | null>();
  /** Names bound to one item while a comprehension or map() is unrolled. */
  overrides: Map<string, Value> | null = null;
  depth = 0;
  steps = 0;
  unrolled = 0;

  constructor(model: SemanticModel, hooks: EvaluationHooks, outer?: Evaluator) {
    this.model = model;
    this.hooks = hooks;
    this.outer = outer;
    this.memo = new Array(model.tree.count);
    this.busy = new Uint8Array(model.tree.count);
  }

  withOverrides<T>(overrides: Map<string, Value>, f: () => T): T {
    const saved = this.overrides;
    this.overrides = saved ? new Map([...saved, ...overrides]) : overrides;
    try {
      return f();
    } finally {
      this.overrides = saved;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Names

  /** The value of a name loaded at node `at` in scope `s`. */
  lookup(name: string, s: number, at: number): { value: Value; implicit: boolean } {
    if (this.overrides?.has(name)) return { value: this.overrides.get(name)!, implicit: false };
    let scope = this.model.scopes[s];
    let id = s;
    if (scope.globals.has(name)) return this.lookupModule(name, at);
    if (scope.nonlocals.has(name)) {
      id = scope.parent;
      scope = this.model.scopes[id];
    }
    let first = true;
    while (id > 0) {
      scope = this.model.scopes[id];
      if (scope.kind !== "class" || first) {
        const bound = scope.bindings.get(name);
        if (bound) {
          const value = this.bindingsValue(bound);
          if (scope.kind !== "class") return { value, implicit: false };
          const outer = this.lookupModule(name, at);
          return { value: union([value, outer.value]), implicit: outer.implicit };
        }
        if (scope.globals.has(name) && !first) return this.lookupModule(name, at);
      }
      first = false;
      id = scope.parent;
    }
    return this.lookupModule(name, at);
  }

  /** A module-level name: its bindings, plus star imports, builtins and module globals when it may be unbound. */
  lookupModule(name: string, at: number): { value: Value; implicit: boolean } {
    const mod = this.model.scopes[0];
    const bound = mod.bindings.get(name);
    const values: Value[] = [];
    if (bound) values.push(this.bindingsValue(bound));
    let implicit = false;
    if (!bound || mod.deleted.has(name) || !this.boundBefore(bound, at)) {
      const fallback = this.fallback(name);
      if (fallback) {
        values.push(fallback);
        implicit = true;
      }
    }
    return { value: values.length ? union(values) : UNKNOWN, implicit };
  }

  /** Whether an unconditional module-level binding ends before the use. */
  boundBefore(bound: Binding[], at: number): boolean {
    const start = this.model.tree.start[at];
    for (const b of bound) if (b.top && this.model.tree.end[b.stmt] <= start) return true;
    return false;
  }

  fallback(name: string): Value | undefined {
    const outer = this.outer;
    if (outer) {
      const v = outer.lookupModule(name, 0);
      if (v.implicit || members(v.value).some((m) => m.t !== "unknown")) return v.value;
    }
    const values: Value[] = [];
    for (const star of this.model.scopes[0].stars) values.push(path(canonicalPath(`${star}.${name}`)));
    if (name === "__builtins__") values.push(path("builtins"));
    else if (MODULE_DUNDERS.has(name)) values.push(UNKNOWN);
    else if (BUILTIN_NAMES.has(name)) values.push(path(`builtins.${name}`));
    return values.length ? union(values) : undefined;
  }

  bindingsValue(bound: Binding[]): Value {
    if (bound.length === 1) return this.bindingValue(bound[0], bound);
    return union(bound.map((b) => this.bindingValue(b, bound)));
  }

  bindingValue(b: Binding, all: Binding[]): Value {
    const cached = this.bindingMemo.get(b);
    if (cached) return cached;
    if (this.bindingBusy.has(b)) return UNKNOWN;
    this.bindingBusy.add(b);
    let v: Value;
    try {
      switch (b.kind) {
        case "value":
          v = this.unpack(b.value >= 0 ? this.eval(b.value) : UNKNOWN, b.unpack);
          break;
        case "aug": {
          const base = union(
            all.filter((o) => o !== b && o.kind !== "aug").map((o) => this.bindingValue(o, all)),
          );
          v = this.binary(b.op ?? -1, base, b.value >= 0 ? this.eval(b.value) : UNKNOWN);
          v = union([v, UNKNOWN]);
          break;
        }
        case "import":
          v = path(b.path!);
          break;
        case "def":
          v = { t: "func", node: b.value };
          break;
        case "class":
          v = { t: "class", node: b.value };
          break;
        case "param":
          v = this.paramValue(b.func!, b.param!);
          break;
        default:
          v = UNKNOWN;
      }
    } finally {
      this.bindingBusy.delete(b);
    }
    if (!this.overrides) this.bindingMemo.set(b, v);
    return v;
  }

  unpack(v: Value, steps: UnpackStep[]): Value {
    let out = v;
    for (const step of steps) {
      if (typeof step === "object") {
        out = "attr" in step ? evalAttributeOf(this, out, step.attr) : itemOf(this, out, step.key);
        continue;
      }
      out = mapValue(out, (m) => {
        if (step === ELEMENT) return this.elements(m);
        if (step === STARRED) return { t: "seq", kind: "list", items: [UNKNOWN], open: true };
        if (m.t === "seq") return m.items[step] ?? UNKNOWN;
        if (m.t === "str") return step < m.s.length ? str(m.s[step], m.bytes) : UNKNOWN;
        return UNKNOWN;
      });
    }
    return out;
  }

  /** Any one element of an iterable value. */
  elements(m: Value): Value {
    if (m.t === "seq") return union(m.items);
    if (m.t === "str") {
      return union([...m.s].slice(0, 256).map((c) => (m.bytes ? num(c.charCodeAt(0)) : str(c))));
    }
    if (m.t === "dict") return union(m.keys);
    return UNKNOWN;
  }

  paramValue(func: number, param: Param): Value {
    const cached = this.paramMemo.get(param);
    if (cached) return cached;
    if (this.paramBusy.has(param)) return UNKNOWN; // recursion through the call sites
    this.paramBusy.add(param);
    try {
      return this.#paramValue(func, param);
    } finally {
      this.paramBusy.delete(param);
    }
  }

  #paramValue(func: number, param: Param): Value {
    const info = this.model.funcs.get(func)!;
    // The first parameter of a method is the instance (or, for a classmethod, the class) it is called on:
    // the class's own attributes resolve through it. Unbound calls (`C.f(obj)`) pass it explicitly.
    const self = info.method && info.owner >= 0 && param.index === 0 && param.star === 0;
    const cls: Value = { t: "class", node: info.owner };
    const values: Value[] = self ? [info.classmethod ? cls : { t: "instance", of: cls }] : [UNKNOWN];
    if (param.star === 1) values.push({ t: "seq", kind: "tuple", items: [UNKNOWN], open: true });
    if (param.star === 2) values.push({ t: "dict", keys: [], values: [], open: true });
    if (param.defaultNode >= 0) values.push(this.eval(param.defaultNode));
    if (param.star === 0 && info.name) {
      for (const call of this.model.callsByName.get(info.name) ?? []) {
        const callee = this.model.tree.first[call];
        const resolved = this.eval(callee);
        if (!members(resolved).some((m) => m.t === "func" && m.node === func)) continue;
        values.push(this.argumentFor(call, param, 0));
      }
      if (info.method) {
        for (const call of this.model.callsByAttr.get(info.name) ?? []) {
          values.push(this.argumentFor(call, param, 1));
          // C.f(obj, …) on a class of the file (named directly): obj is self.
          const receiver = this.model.firstNamed(this.model.tree.first[call]);
          if (
            receiver >= 0 && this.model.tree.kind[receiver] === K.identifier &&
            this.model.bindingsOf(this.model.name(receiver), this.model.scopeOf[receiver]).some((b) =>
              b.kind === "class"
            ) && members(this.eval(receiver)).some((m) => m.t === "class")
          ) {
            values.push(this.argumentFor(call, param, 0));
          }
        }
      }
    }
    if (info.lambdaBody >= 0) {
      // (lambda m, n: …)(os, "system")
      const p = this.model.tree.parent[func];
      const call = this.model.tree.kind[p] === K.parenthesized_expression ? this.model.tree.parent[p] : -1;
      if (call >= 0 && this.model.tree.kind[call] === K.call && this.model.tree.first[call] === p) {
        values.push(this.argumentFor(call, param, 0));
      }
    }
    const v = union(values);
    if (!this.overrides) this.paramMemo.set(param, v);
    return v;
  }

  /** The argument a call passes for a parameter (`shift` leading parameters, self, are bound implicitly). */
  argumentFor(call: number, param: Param, shift: number): Value {
    const tree = this.model.tree;
    const args = tree.child(call, K.argument_list);
    if (args < 0) return UNKNOWN;
    let position = 0;
    let splat = false;
    for (const a of tree.named(args)) {
      const k = tree.kind[a];
      if (k === K.keyword_argument) {
        const name = this.model.firstNamed(a);
        if (name >= 0 && this.model.name(name) === param.name) return this.eval(this.model.after(a, TK["="]));
      } else if (k === K.list_splat || k === K.dictionary_splat) splat = true;
      else {
        if (param.index >= 0 && position === param.index - shift) return this.eval(a);
        position++;
      }
    }
    return splat ? UNKNOWN : UNKNOWN;
  }

  returnValue(func: number): Value {
    const cached = this.returnMemo.get(func);
    if (cached) return cached;
    const info = this.model.funcs.get(func);
    if (!info) return UNKNOWN;
    this.returnMemo.set(func, UNKNOWN); // recursion
    let v: Value;
    if (info.lambdaBody >= 0) v = this.eval(info.lambdaBody);
    else if (info.generator) v = UNKNOWN;
    else v = union([NONE, ...info.returns.map((r) => this.eval(r))]);
    this.returnMemo.set(func, v);
    return v;
  }

  /** Values stored to `anything.name` (and `setattr(anything, "name", value)`), plus class attributes. */
  fieldValue(name: string): Value | undefined {
    const cached = this.fieldMemo.get(name);
    if (cached !== undefined) return cached ?? undefined;
    this.fieldMemo.set(name, null); // recursion, and names nothing is stored to
    const values: Value[] = [];
    for (const store of this.model.fieldStores.get(name) ?? []) {
      values.push(store.value >= 0 ? this.unpack(this.eval(store.value), store.unpack) : UNKNOWN);
    }
    for (const call of this.model.setattrCalls) {
      const args = this.model.tree.child(call, K.argument_list);
      const named = args >= 0 ? this.model.tree.named(args) : [];
      if (named.length < 3) continue;
      if ((strings(this.eval(named[1])) ?? []).includes(name)) values.push(this.eval(named[2]));
    }
    for (const scope of this.model.scopes) {
      if (scope.kind !== "class") continue;
      const bound = scope.bindings.get(name);
      if (bound) values.push(this.bindingsValue(bound));
    }
    if (values.length === 0) return undefined;
    const v = union([...values, UNKNOWN]);
    if (!this.overrides) this.fieldMemo.set(name, v);
    else this.fieldMemo.delete(name);
    return v;
  }

  // ---------------------------------------------------------------------------------------------------
  // Expressions

  eval(i: number): Value {
    if (i < 0) return UNKNOWN;
    if (!this.overrides) {
      const cached = this.memo[i];
      if (cached) return cached;
    }
    if (this.busy[i]) return UNKNOWN;
    if (++this.depth > MAX_EVAL_DEPTH) {
      throw new TooDeepError("expressions are nested too deeply for the scanner to follow");
    }
    if (++this.steps > MAX_STEPS) {
      throw new TooDeepError("the file is too complex for the scanner to analyse");
    }
    this.busy[i] = 1;
    let v: Value;
    try {
      v = this.compute(i);
    } finally {
      this.busy[i] = 0;
      this.depth--;
    }
    if (!this.overrides) this.memo[i] = v;
    return v;
  }

  compute(i: number): Value {
    const tree = this.model.tree;
    const k = tree.kind[i];
    switch (k) {
      case K.identifier:
        return this.evalName(i);
      case K.attribute:
        return evalAttribute(this, i);
      case K.call:
        return evalCall(this, i);
      case K.subscript:
        return evalSubscript(this, i);
      case K.string:
        return this.evalString(i);
      case K.concatenated_string:
        return this.concat(tree.named(i).map((c) => this.eval(c)));
      case K.integer: {
        const n = parseIntLiteral(tree.text(i));
        return n !== undefined && Number.isSafeInteger(n) ? num(n) : CONST;
      }
      case K.float:
      case K.ellipsis:
        return CONST;
      case K.true:
        return { t: "num", n: 1, bool: true };
      case K.false:
        return { t: "num", n: 0, bool: true };
      case K.none:
        return NONE;
      case K.parenthesized_expression:
      case K.type:
      case K.expression_statement:
      case K.await:
        return this.eval(this.model.firstNamed(i));
      case K.named_expression:
        return this.eval(this.model.after(i, TK[":="]));
      case K.binary_operator: {
        const named = tree.named(i);
        const op = tree.next[named[0]];
        let opNode = op;
        while (
          opNode >= 0 && (tree.kind[opNode] === K.comment || tree.kind[opNode] === K.line_continuation)
        ) {
          opNode = tree.next[opNode];
        }
        return this.binary(opNode >= 0 ? tree.kind[opNode] : -1, this.eval(named[0]), this.eval(named[1]));
      }
      case K.unary_operator: {
        const op = tree.kind[tree.first[i]];
        const v = this.eval(this.model.firstNamed(i));
        return mapValue(v, (m) => {
          if (m.t !== "num") return isConst(m) ? CONST : UNKNOWN;
          if (op === TK["-"]) return num(-m.n);
          if (op === TK["+"]) return num(m.n);
          if (op === TK["~"]) return num(~m.n);
          return CONST;
        });
      }
      case K.conditional_expression: {
        const named = tree.named(i);
        this.eval(named[1]);
        return union([this.eval(named[0]), this.eval(named[2])]);
      }
      case K.boolean_operator: {
        const named = tree.named(i);
        return union(named.map((c) => this.eval(c)));
      }
      case K.not_operator:
      case K.comparison_operator:
        for (const c of tree.named(i)) this.eval(c);
        return UNKNOWN;
      case K.list:
      case K.tuple:
      case K.set:
      case K.expression_list:
        return this.sequence(i, k === K.list ? "list" : k === K.set ? "set" : "tuple");
      case K.dictionary:
        return this.dictionary(i);
      case K.list_comprehension:
      case K.set_comprehension:
      case K.generator_expression:
      case K.dictionary_comprehension: {
        const body = this.model.firstNamed(i);
        return { t: "seq", kind: "list", items: [this.eval(body)], open: true };
      }
      case K.lambda:
        return { t: "func", node: i };
      case K.pair:
        return this.eval(this.model.after(i, TK[":"]));
      default:
        return UNKNOWN;
    }
  }

  evalName(i: number): Value {
    const name = this.model.name(i);
    const { value, implicit } = this.lookup(name, this.model.scopeOf[i], i);
    if (implicit) this.hooks.implicitName(i, name, value);
    return value;
  }

  sequence(i: number, kind: "list" | "tuple" | "set"): Value {
    const items: Value[] = [];
    for (const c of this.model.tree.named(i)) {
      const ck = this.model.tree.kind[c];
      if (ck === K.list_splat || ck === K.parenthesized_list_splat) {
        const inner = this.eval(this.model.firstNamed(c));
        if (inner.t === "seq") items.push(...inner.items);
        else if (inner.t === "str") items.push(...[...inner.s].map((ch) => str(ch, inner.bytes)));
        else return { t: "seq", kind, items: [...items, UNKNOWN], open: true };
      } else items.push(this.eval(c));
    }
    return { t: "seq", kind, items };
  }

  dictionary(i: number): Value {
    const keys: Value[] = [];
    const values: Value[] = [];
    let open = false;
    for (const c of this.model.tree.named(i)) {
      if (this.model.tree.kind[c] === K.pair) {
        keys.push(this.eval(this.model.firstNamed(c)));
        values.push(this.eval(this.model.after(c, TK[":"])));
      } else if (this.model.tree.kind[c] === K.dictionary_splat) {
        const inner = this.eval(this.model.firstNamed(c));
        if (inner.t === "dict") {
          keys.push(...inner.keys);
          values.push(...inner.values);
          open ||= inner.open;
        } else open = true;
      } else open = true;
    }
    return { t: "dict", keys, values, open };
  }

  evalString(i: number): Value {
    const tree = this.model.tree;
    let prefix = "";
    let outs = [""];
    let folded = true;
    let constant = true;
    let isF = false;
    for (let c = tree.first[i]; c >= 0; c = tree.next[c]) {
      const k = tree.kind[c];
      if (k === K.string_start) {
        prefix = /^[A-Za-z]*/.exec(tree.text(c))![0];
        isF = /f/i.test(prefix);
      } else if (k === K.string_content) {
        const decoded = decodeLiteral(tree.text(c), prefix.replace(/f/gi, ""));
        if (decoded === undefined) folded = false; // e.g. \N{…}: constant, but not folded here
        else {
          const piece = isF ? decoded.replaceAll("{{", "{").replaceAll("}}", "}") : decoded;
          outs = outs.map((o) => o + piece);
        }
      } else if (k === K.interpolation) {
        const pieces = this.interpolation(c);
        if (pieces === undefined || pieces.length * outs.length > MAX_PRODUCT) {
          folded = false;
          if (!isConst(this.eval(this.model.firstNamed(c)))) constant = false;
        } else outs = outs.flatMap((o) => pieces.map((p) => o + p));
      }
    }
    if (folded) return union(outs.map((o) => str(o, /b/i.test(prefix))));
    return constant ? CONST : UNKNOWN;
  }

  /** `{expr!conv:spec}` of an f-string: the text for each constant value the expression can have. */
  interpolation(i: number): string[] | undefined {
    const tree = this.model.tree;
    const expr = this.model.firstNamed(i);
    const v = this.eval(expr);
    const conv = tree.child(i, K.type_conversion);
    const specNode = tree.child(i, K.format_specifier);
    let spec = "";
    if (specNode >= 0) {
      // The spec is the text after ":", with nested {expressions} replaced by their values.
      let pos = tree.start[specNode];
      if (tree.source[pos] === ":") pos++;
      for (let c = tree.first[specNode]; c >= 0; c = tree.next[c]) {
        if (tree.kind[c] !== K.format_expression) continue;
        const inner = scalarOf(this.eval(this.model.firstNamed(c)));
        const text = inner === undefined ? undefined : pyStr(inner);
        if (text === undefined) return undefined;
        spec += tree.source.slice(pos, tree.start[c]) + text;
        pos = tree.end[c];
      }
      spec += tree.source.slice(pos, tree.end[specNode]);
    }
    const afterExpr = conv >= 0 ? tree.start[conv] : specNode >= 0 ? tree.start[specNode] : tree.end[i];
    if (/=\s*$/.test(tree.source.slice(tree.end[expr], afterExpr))) return undefined; // f"{x=}": not folded
    const convText = conv >= 0 ? tree.text(conv).replace("!", "") : "";
    const out: string[] = [];
    for (const m of members(v)) {
      const s = scalarOf(m);
      if (s === undefined) return undefined;
      let text: string | undefined;
      if (convText) {
        const converted = convert(s, convText);
        text = converted === undefined ? undefined : formatSpec({ s: converted, bytes: false }, spec);
      } else text = formatSpec(s, spec);
      if (text === undefined) return undefined;
      out.push(text);
    }
    return out;
  }

  concat(parts: Value[]): Value {
    let v: Value = str("");
    let bytes: boolean | undefined;
    for (const p of parts) {
      if (p.t === "str" && v.t === "str" && (bytes === undefined || bytes === p.bytes)) {
        bytes = p.bytes;
        v = str(v.s + p.s, p.bytes);
      } else return parts.every(isConst) ? CONST : UNKNOWN;
    }
    return v;
  }

  binary(op: number, a: Value, b: Value): Value {
    const am = members(a);
    const bm = members(b);
    if (am.length * bm.length > MAX_PRODUCT) return isConst(a) && isConst(b) ? CONST : UNKNOWN;
    const out: Value[] = [];
    for (const x of am) for (const y of bm) out.push(this.binaryOne(op, x, y));
    return union(out);
  }

  binaryOne(op: number, x: Value, y: Value): Value {
    const fallback = isConst(x) && isConst(y) ? CONST : UNKNOWN;
    if (op === TK["+"] || op === TK["+="]) {
      if (x.t === "str" && y.t === "str" && x.bytes === y.bytes) return str(x.s + y.s, x.bytes);
      if (x.t === "num" && y.t === "num") return num(x.n + y.n);
      if (x.t === "seq" && y.t === "seq") {
        return { t: "seq", kind: x.kind, items: [...x.items, ...y.items], open: x.open || y.open };
      }
      return fallback;
    }
    if (op === TK["*"] || op === TK["*="]) {
      if (x.t === "str" && y.t === "num" && y.n >= 0 && x.s.length * y.n <= 1 << 16) {
        return str(x.s.repeat(y.n), x.bytes);
      }
      if (x.t === "num" && y.t === "str" && x.n >= 0 && y.s.length * x.n <= 1 << 16) {
        return str(y.s.repeat(x.n), y.bytes);
      }
      if (x.t === "num" && y.t === "num") return num(x.n * y.n);
      return fallback;
    }
    if (op === TK["%"] || op === TK["%="]) {
      if (x.t === "str" && !x.bytes) return this.percent(x.s, y) ?? fallback;
      if (x.t === "num" && y.t === "num" && y.n !== 0) return num(((x.n % y.n) + y.n) % y.n);
      return fallback;
    }
    if (x.t === "num" && y.t === "num") {
      switch (op) {
        case TK["-"]:
        case TK["-="]:
          return num(x.n - y.n);
        case TK["//"]:
          return y.n === 0 ? fallback : num(Math.floor(x.n / y.n));
        case TK["<<"]:
          return y.n < 0 || y.n > 31 ? fallback : num(x.n * 2 ** y.n);
        case TK[">>"]:
          return y.n < 0 ? fallback : num(Math.floor(x.n / 2 ** y.n));
        case TK["&"]:
          return num(x.n & y.n);
        case TK["|"]:
          return num(x.n | y.n);
        case TK["^"]:
          return num(x.n ^ y.n);
      }
    }
    return fallback;
  }

  percent(template: string, args: Value): Value | undefined {
    if (args.t === "seq" && args.kind === "tuple") {
      const scalars = args.items.map(scalarOf);
      if (scalars.some((s) => s === undefined)) return undefined;
      const out = percentFormat(template, scalars as Scalar[], false);
      return out === undefined ? undefined : str(out);
    }
    if (args.t === "dict" && !args.open) {
      const map = new Map<string, Scalar>();
      for (let k = 0; k < args.keys.length; k++) {
        const key = args.keys[k];
        const value = scalarOf(args.values[k]);
        if (key.t !== "str" || value === undefined) return undefined;
        map.set(key.s, value);
      }
      const out = percentFormat(template, map, false);
      return out === undefined ? undefined : str(out);
    }
    const s = scalarOf(args);
    if (s === undefined) return undefined;
    const out = percentFormat(template, [s], true);
    return out === undefined ? undefined : str(out);
  }
}
