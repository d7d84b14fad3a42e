/**
 * Lookups the scanner cannot follow: a computed key or attribute name in a namespace with forbidden members
 * (`vars(os)[name]`, `getattr(os, name)`, `sys.modules[name]`, `globals()[key]`), enumerating such a
 * namespace, and handing it whole to code the scanner does not follow (`f(os)`, `map(getattr, [os], …)`,
 * `for k in vars(os)`). Rules: introspection-dynamic-lookup, introspection-namespace-escape,
 * introspection-builtins, dynamic-import-sys-modules (and the rules of leaf names getattr reaches on
 * objects the scanner cannot see).
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import { FORBIDDEN_ATTRIBUTES, FORBIDDEN_PATHS } from "../rules/registry.ts";
import { DANGEROUS_NAMESPACES } from "../rules/tables.ts";
import type { CallArgs } from "../semantic/hooks.ts";
import { displayPath } from "../semantic/python_names.ts";
import { members, type Value } from "../semantic/values.ts";
import { K } from "../tree.ts";

/** Leaves of forbidden paths that are also everyday method names (model.eval(), re.compile, Image.open). */
const COMMON_METHOD_NAMES = new Set(["compile", "eval", "open", "help", "vars", "run"]);

/** Leaf names whose getattr on an unknown object is a finding anyway (no plugin reads them by string). */
const DISTINCTIVE = (() => {
  const out = new Map<string, string>();
  for (const [p, rule] of FORBIDDEN_PATHS) {
    const dot = p.lastIndexOf(".");
    if (dot < 0) continue;
    const head = p.slice(0, p.indexOf("."));
    const leaf = p.slice(dot + 1);
    if (
      (head === "os" || head === "builtins" || head === "asyncio") && !COMMON_METHOD_NAMES.has(leaf)
    ) {
      out.set(leaf, rule);
    }
  }
  for (const [name, rule] of FORBIDDEN_ATTRIBUTES) out.set(name, rule);
  return out;
})();

/** Calls of these do not let a namespace handed to them escape the analysis. */
const SAFE_SINKS = new Set([
  "builtins.print",
  "builtins.repr",
  "builtins.str",
  "builtins.id",
  "builtins.type",
  "builtins.isinstance",
  "builtins.issubclass",
  "builtins.hasattr",
  "builtins.callable",
  "builtins.dir",
  "builtins.hash",
  "builtins.bool",
  "builtins.len",
  "builtins.getattr",
  "builtins.setattr",
  "builtins.delattr",
  "builtins.vars",
  "importlib.reload",
  "sys.getrefcount",
  "sys.getsizeof",
]);
/** Attribute calls that only patch a namespace (pytest's monkeypatch.setattr, unittest.mock.patch.object). */
const SAFE_SINK_METHODS = new Set(["setattr", "object", "delattr", "setitem"]);
/** Modeled calls that still hand their arguments to other code (map(getattr, [os], …), reduce(…, os)). */
const FORWARDING_CALLS = new Set(["builtins.map", "functools.reduce", "functools.partial"]);

/** A readable name when the value is a namespace with forbidden members. */
export function dangerousName(m: Value): string | undefined {
  if (m.t === "globals") return "globals()";
  if (m.t === "path" && DANGEROUS_NAMESPACES.has(m.path)) {
    return `the ${displayPath(m.path) || "builtins"} module`;
  }
  if (m.t === "path" && m.path === "builtins") return "the builtins module";
  if (m.t === "nsdict" && (DANGEROUS_NAMESPACES.has(m.path) || m.path === "builtins")) {
    return `the namespace of ${m.path}`;
  }
  return undefined;
}

function _dynamicLookup(c: Checker, node: number, m: Value, what: string): void {
  const ns = dangerousName(m) ?? "a namespace";
  c.report(
    node,
    "introspection-dynamic-lookup",
    `looking up ${what} computed at run time in ${ns} can reach anything in it (os.system, eval, …)`,
  );
}

/** `ns[key]` with a key the scanner cannot compute. */
export function onComputedKey(c: Checker, node: number, m: Value): void {
  if (m.t === "path" && m.path === "sys.modules") {
    c.report(node, "dynamic-import-sys-modules", "sys.modules[…] with a computed name");
  } else _dynamicLookup(c, node, m, "a key");
}

export function onGlobalsItem(c: Checker, node: number, key: string): void {
  if (key === "__builtins__") c.report(node, "introspection-builtins", 'globals()["__builtins__"]');
}

/** getattr(obj, name): computed names on dangerous namespaces, obfuscated names, distinctive leaf names. */
export function onGetattr(c: Checker, node: number, obj: Value, name: Value | undefined): void {
  if (name === undefined) {
    c.report(node, "introspection-dynamic-lookup", "getattr with unpacked arguments the scanner cannot see");
    return;
  }
  const known: string[] = [];
  let computed = false;
  for (const m of members(name)) {
    if (m.t === "str") known.push(m.s);
    else computed = true;
  }
  // Built from literals only, but not foldable here (a decompressed blob, an exotic codec): obfuscation.
  const obfuscated = members(name).every((m) => m.t === "const");
  if (computed) {
    const ns = members(obj).find((m) => dangerousName(m));
    if (ns) _dynamicLookup(c, node, ns, "an attribute name");
    else if (obfuscated) {
      c.report(
        node,
        "introspection-dynamic-lookup",
        "getattr with an attribute name decoded from an obfuscated constant",
      );
    }
  }
  const unknownObject = members(obj).every((m) => m.t === "unknown");
  if (!unknownObject) return;
  for (const n of known) {
    const rule = DISTINCTIVE.get(n);
    if (rule) c.report(node, rule, `getattr(…, ${JSON.stringify(n)})`);
  }
}

/** `sys.modules.items()`, `vars(os).values()`: every member of the namespace at once. */
export function onEnumerated(c: Checker, node: number, ns: Value, method: string): void {
  if (ns.t === "path" && ns.path === "sys.modules") {
    c.report(node, "dynamic-import-sys-modules", `sys.modules.${method}() enumerates every loaded module`);
    return;
  }
  const name = dangerousName(ns);
  if (name) c.report(node, "introspection-namespace-escape", `enumerating ${name} reaches everything in it`);
}

/** A namespace with forbidden members reaching code the scanner does not follow. */
export function checkEscape(c: Checker, node: number, verb: string): void {
  const v = c.eval(node);
  for (const m of members(v)) {
    const ns = dangerousName(m);
    if (ns) {
      c.report(
        node,
        "introspection-namespace-escape",
        `code that ${verb} ${ns} can reach everything in it (os.system, eval, …)`,
      );
      return;
    }
  }
}

/** getattr / vars / globals handed to other code (functools.reduce(getattr, …), map(getattr, …)). */
export function checkHandedOver(c: Checker, i: number): void {
  const tree = c.model.tree;
  const p = tree.parent[i];
  const pk = tree.kind[p];
  const handed = pk === K.argument_list || pk === K.keyword_argument || pk === K.list || pk === K.tuple;
  if (!handed) return;
  const v = c.eval(i);
  if (members(v).some((m) => m.t === "path" && m.path.startsWith("builtins."))) {
    c.report(
      i,
      "introspection-dynamic-lookup",
      `${c.model.name(i)} handed to other code looks up names the scanner cannot see`,
    );
  }
}

/** Arguments a local function takes through *args / **kwargs are not followed: namespaces there escape. */
export function checkStarArguments(c: Checker, func: number, a: CallArgs): void {
  const info = c.model.funcs.get(func);
  if (!info) return;
  const positional = info.params.filter((p) => p.index >= 0).length;
  const names = new Set(info.params.map((p) => p.name));
  a.positional.forEach((n, index) => {
    if (index >= positional) checkEscape(c, n, "receives through *args");
  });
  for (const [name, n] of a.keywords) {
    if (!names.has(name)) checkEscape(c, n, "receives through **kwargs");
  }
}

/** Namespaces passed to a call the scanner does not model (or to one that forwards them). */
export function checkCallEscapes(
  c: Checker,
  node: number,
  callee: Value,
  a: CallArgs,
  modeled: boolean,
): void {
  const tree = c.model.tree;
  const calleeNode = tree.first[node];
  let safeSink = members(callee).some((m) => m.t === "path" && SAFE_SINKS.has(m.path));
  if (
    calleeNode >= 0 && tree.kind[calleeNode] === K.attribute &&
    SAFE_SINK_METHODS.has(c.model.attrName(calleeNode))
  ) {
    safeSink = true;
  }
  if (safeSink) return;
  if (!modeled) {
    for (const n of a.positional) checkEscape(c, n, "receives");
    for (const n of a.keywords.values()) checkEscape(c, n, "receives");
    return;
  }
  for (const m of members(callee)) {
    if (m.t === "path" && FORWARDING_CALLS.has(m.path)) {
      for (const n of a.positional) checkEscape(c, n, "receives");
    }
  }
}
