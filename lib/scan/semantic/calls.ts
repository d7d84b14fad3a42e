/**
 * Evaluation of calls: the callee's value decides what a call returns. Local functions return their return
 * values; known paths are modeled (getattr and `__getattribute__`, `sys.modules.get`, resolvers such as
 * import_module, decompressors, the builtins and helpers of fold_calls.ts); methods of folded values and
 * namespaces (`"".join`, `vars(os).get`); `operator.attrgetter` / `methodcaller` getters; `map()` and joins
 * over comprehensions are unrolled. Part of the evaluator (evaluate.ts).
 *
 * @module
 */
import { getattr, item } from "./access.ts";
import { type Evaluator, MAX_PRODUCT, MAX_UNROLL, MAX_UNROLLED, scalarOf } from "./evaluate.ts";
import { pyStr } from "./fold.ts";
import { builtinCall, strMethod } from "./fold_calls.ts";
import type { ArgValue, CallArgs } from "./hooks.ts";
import { canonicalPath, dottedName, RESOLVERS } from "./python_names.ts";
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
import { K, TK } from "../tree.ts";

/** Decompressors and buffers: their result from a constant is a constant (never folded). */
const DECOMPRESS = new Set([
  "zlib.decompress",
  "gzip.decompress",
  "bz2.decompress",
  "lzma.decompress",
  "io.BytesIO",
  "io.StringIO",
  "base64.a85decode",
  "base64.b85decode",
  "base64.z85decode",
]);

export function callArgs(ev: Evaluator, call: number): CallArgs {
  const tree = ev.model.tree;
  const positional: number[] = [];
  const keywords = new Map<string, number>();
  let splat = false;
  const args = tree.child(call, K.argument_list);
  const gen = tree.child(call, K.generator_expression);
  if (gen >= 0) positional.push(gen);
  if (args >= 0) {
    for (const a of tree.named(args)) {
      const k = tree.kind[a];
      if (k === K.keyword_argument) {
        const name = ev.model.firstNamed(a);
        if (name >= 0) keywords.set(ev.model.name(name), ev.model.after(a, TK["="]));
      } else if (k === K.list_splat || k === K.dictionary_splat) splat = true;
      else positional.push(a);
    }
  }
  return { positional, keywords, splat, args };
}

export function evalCall(ev: Evaluator, i: number): Value {
  const tree = ev.model.tree;
  const calleeNode = tree.first[i];
  const callee = ev.eval(calleeNode);
  const a = callArgs(ev, i);
  const argValue: ArgValue = (index, keyword) => {
    const n = keyword !== undefined && a.keywords.has(keyword)
      ? a.keywords.get(keyword)!
      : a.positional[index];
    return n === undefined ? undefined : ev.eval(n);
  };
  const results: Value[] = [];
  let modeled = false;
  for (const m of members(callee)) {
    if (m.t === "path") {
      const r = callPath(ev, m.path, i, a, argValue);
      if (ev.hooks.pathCall(i, m.path, a, argValue)) modeled = true;
      if (r !== undefined) {
        modeled = true;
        results.push(r);
      } else results.push({ t: "instance", of: m });
    } else if (m.t === "class") {
      results.push({ t: "instance", of: m });
    } else if (m.t === "func") {
      modeled = true;
      results.push(ev.returnValue(m.node));
    } else if (m.t === "getter") {
      modeled = true;
      const target = argValue(0);
      if (target && m.call) {
        // methodcaller(name)(obj) calls obj.name: the method itself is what is reached.
        ev.hooks.produced(i, getterValue(ev, target, m.names, i), [target]);
        results.push(UNKNOWN);
      } else results.push(target ? getterValue(ev, target, m.names, i) : UNKNOWN);
    } else if (m.t === "bound") {
      modeled = true;
      results.push(callMethod(ev, m, i, a, argValue));
    } else results.push(UNKNOWN);
  }
  const v = union(results);
  ev.hooks.call(i, callee, a, modeled, v);
  return v;
}

/**
 * What attrgetter(names)(target) / methodcaller(name)(target) reach: getattr for each name, and a dotted
 * name (`"path.os.system"`) followed one attribute at a time, as attrgetter does. (methodcaller takes its
 * name literally; following the dots there too only errs on the safe side.)
 */
export function getterValue(ev: Evaluator, target: Value, names: Value, node: number): Value {
  const out: Value[] = [];
  for (const n of members(names)) {
    if (n.t === "str" && n.s.includes(".")) {
      let v = target;
      for (const part of n.s.split(".")) v = getattr(ev, v, str(part), node);
      out.push(v);
    } else out.push(getattr(ev, target, n, node));
  }
  return union(out);
}

/** Calls of known functions by canonical path; undefined when not modeled. */
export function callPath(
  ev: Evaluator,
  p: string,
  call: number,
  a: CallArgs,
  arg: ArgValue,
): Value | undefined {
  if (p.endsWith(".__getattribute__") || p.endsWith(".__getattr__")) {
    const owner = p.slice(0, p.lastIndexOf("."));
    if (owner === "builtins.object" || owner === "builtins.type" || owner === "types.ModuleType") {
      const target = arg(0);
      const name = arg(1);
      return target && name ? getattr(ev, target, name, call) : UNKNOWN;
    }
    const name = arg(0);
    return name ? getattr(ev, path(owner), name, call) : UNKNOWN;
  }
  if (p.startsWith("sys.modules.")) {
    const method = p.slice("sys.modules.".length);
    if (method === "get" || method === "pop" || method === "setdefault" || method === "__getitem__") {
      const key = arg(0);
      return key ? item(ev, path("sys.modules"), key, call) : UNKNOWN;
    }
    if (method === "values" || method === "items" || method === "copy") {
      ev.hooks.enumerated(call, path("sys.modules"), method);
    }
    return UNKNOWN;
  }
  if (RESOLVERS.has(p)) return resolver(ev, p, call, arg);
  if (DECOMPRESS.has(p)) {
    const data = arg(0);
    return data && isConst(data) ? CONST : UNKNOWN;
  }
  return builtinCall(ev, p, call, a, arg);
}

export function resolver(ev: Evaluator, p: string, call: number, arg: ArgValue): Value {
  const keyword = p === "importlib.metadata.EntryPoint" ? "value" : "name";
  const index = p === "importlib.metadata.EntryPoint" ? 1 : 0;
  const nameValue = arg(index, keyword);
  const names = nameValue ? strings(nameValue) : undefined;
  const isImport = p === "importlib.import_module" || p.endsWith("__import__");
  if (!names) {
    ev.hooks.resolved(call, p, undefined, []);
    return UNKNOWN;
  }
  const out: Value[] = [];
  const paths: string[] = [];
  for (const n of names) {
    if (isImport) {
      if (n.startsWith(".")) {
        out.push(UNKNOWN);
        continue;
      }
      const fromlist = p.endsWith("__import__") ? arg(3, "fromlist") : undefined;
      const full = canonicalPath(n);
      const imported = p.endsWith("__import__") && !(fromlist && members(fromlist).some((m) =>
          m.t === "seq" && m.items.length
        ))
        ? full.split(".")[0]
        : full;
      paths.push(full);
      out.push(path(imported));
    } else {
      const dotted = dottedName(n);
      out.push(dotted ? path(dotted) : UNKNOWN);
    }
  }
  ev.hooks.resolved(call, p, names, paths);
  return union(out);
}

/** fn(x) for map(): builtins and local functions / lambdas of one argument. */
export function apply(ev: Evaluator, fn: Value, x: Value): Value {
  return mapValue(fn, (f) => {
    if (f.t === "path") {
      switch (f.path) {
        case "builtins.chr":
          return x.t === "num" && x.n >= 0 && x.n <= 0x10ffff ? str(String.fromCodePoint(x.n)) : CONST;
        case "builtins.str": {
          const s = scalarOf(x);
          const t = s === undefined ? undefined : pyStr(s);
          return t === undefined ? CONST : str(t);
        }
        case "builtins.ord":
          return x.t === "str" && [...x.s].length === 1 ? num(x.s.codePointAt(0)!) : CONST;
        case "builtins.int":
          return x.t === "num"
            ? x
            : x.t === "str" && /^\s*-?\d+\s*$/.test(x.s)
            ? num(parseInt(x.s, 10))
            : CONST;
      }
      return UNKNOWN;
    }
    if (f.t === "func") {
      const info = ev.model.funcs.get(f.node);
      if (info && info.lambdaBody >= 0 && info.params.length === 1) {
        return ev.withOverrides(new Map([[info.params[0].name, x]]), () => ev.eval(info.lambdaBody));
      }
    }
    return UNKNOWN;
  });
}

/** sep.join(parts): parts folded, including generator expressions over constant iterables. */
export function join(ev: Evaluator, sep: Value, parts: Value, partsNode: number | undefined): Value {
  const seps = strings(sep);
  let items: Value[][] | undefined;
  const unrolled = partsNode === undefined ? undefined : unroll(ev, partsNode);
  if (unrolled) items = [unrolled];
  else {
    items = [];
    for (const m of members(parts)) {
      if (m.t === "seq" && !m.open) items.push(m.items);
      else if (m.t === "str") items.push([...m.s].map((c) => str(c, m.bytes)));
      else return isConst(sep) && isConst(parts) ? CONST : UNKNOWN;
    }
  }
  if (!seps) return CONST;
  const out: Value[] = [];
  for (const s of seps) {
    for (const list of items) {
      const texts: string[][] = [[]];
      let ok = true;
      for (const item of list) {
        const options = strings(item);
        if (!options || options.length * texts.length > MAX_PRODUCT) {
          ok = false;
          break;
        }
        const next: string[][] = [];
        for (const t of texts) for (const o of options) next.push([...t, o]);
        texts.splice(0, texts.length, ...next);
      }
      if (!ok) {
        out.push(list.every(isConst) ? CONST : UNKNOWN);
        continue;
      }
      for (const t of texts) out.push(str(t.join(s)));
    }
  }
  return union(out);
}

/** The items of a comprehension over a constant iterable, evaluated one by one. */
export function unroll(ev: Evaluator, node: number): Value[] | undefined {
  const tree = ev.model.tree;
  const k = tree.kind[node];
  if (k !== K.generator_expression && k !== K.list_comprehension) return undefined;
  const named = tree.named(node);
  const clauses = named.filter((c) => tree.kind[c] === K.for_in_clause);
  if (clauses.length !== 1 || named.some((c) => tree.kind[c] === K.if_clause)) return undefined;
  const clause = clauses[0];
  const target = ev.model.firstNamed(clause);
  if (target < 0 || tree.kind[target] !== K.identifier) return undefined;
  const iterable = ev.eval(ev.model.after(clause, TK.in));
  let items: Value[] | undefined;
  if (iterable.t === "seq" && !iterable.open) items = iterable.items;
  else if (iterable.t === "str") {
    items = iterable.bytes
      ? iterable.s.split("").map((c) => num(c.charCodeAt(0)))
      : [...iterable.s].map((c) => str(c));
  }
  if (!items || items.length > MAX_UNROLL || (ev.unrolled += items.length) > MAX_UNROLLED) {
    return undefined;
  }
  const name = ev.model.name(target);
  const body = named[0];
  return items.map((item) => ev.withOverrides(new Map([[name, item]]), () => ev.eval(body)));
}

/** Methods of folded values (str methods, dict/namespace lookups). */
export function callMethod(
  ev: Evaluator,
  bound: Value & { t: "bound" },
  call: number,
  a: CallArgs,
  arg: ArgValue,
): Value {
  const { self, name } = bound;
  if (self.t === "str") return strMethod(ev, self, name, a, arg);
  if (self.t === "nsdict" || self.t === "globals") {
    if (name === "get" || name === "pop" || name === "setdefault" || name === "__getitem__") {
      const key = arg(0);
      return key ? item(ev, self, key, call) : UNKNOWN;
    }
    if (name === "copy") return self;
    if (name === "items" || name === "values" || name === "keys") ev.hooks.enumerated(call, self, name);
    return UNKNOWN;
  }
  if (self.t === "dict" && (name === "get" || name === "pop" || name === "setdefault")) {
    const key = arg(0);
    return key ? union([item(ev, self, key, call), arg(1) ?? NONE]) : UNKNOWN;
  }
  return isConst(self) ? CONST : UNKNOWN;
}
