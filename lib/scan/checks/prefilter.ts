/**
 * Syntactic pre-checks that decide which nodes are worth evaluating: most of a program (arithmetic, method
 * calls on data, string handling) can never reach a forbidden object, and evaluating only what can keeps the
 * scan fast. Each test errs on the side of evaluating.
 *
 * @module
 */
import { DANGEROUS_NAMESPACES, PAYLOAD_LOADERS } from "../rules/tables.ts";
import {
  CALL_ONLY_PATHS,
  FORBIDDEN_ATTRIBUTES,
  FORBIDDEN_BUILTINS,
  FORBIDDEN_MODULE_GLOBALS,
  FORBIDDEN_PATHS,
  forbiddenRule,
} from "../rules/registry.ts";
import { WARNED_DUNDERS } from "../rules/introspection.ts";
import type { SemanticModel } from "../semantic/model.ts";
import { MODULE_LIKE_ATTRIBUTES, RESOLVERS } from "../semantic/python_names.ts";
import { MODULE_ATTRIBUTES, REEXPORTS } from "../semantic/stdlib_data.ts";
import { K, TK } from "../tree.ts";

/** Attribute names worth evaluating on their own (everything else is evaluated when a call needs it). */
export const INTERESTING_ATTRIBUTES: ReadonlySet<string> = (() => {
  const out = new Set<string>([
    ...FORBIDDEN_ATTRIBUTES.keys(),
    ...MODULE_LIKE_ATTRIBUTES.keys(),
    ...WARNED_DUNDERS,
    "__dict__",
    "__self__",
    "modules",
    "__code__",
  ]);
  for (const p of [...FORBIDDEN_PATHS.keys(), ...CALL_ONLY_PATHS.keys()]) {
    const dot = p.indexOf(".");
    if (dot >= 0) { for (const part of p.slice(dot + 1).split(".")) out.add(part); }
  }
  // Attributes of standard-library modules that carry a module or a forbidden object (`mailbox.fcntl`).
  for (const table of [MODULE_ATTRIBUTES, REEXPORTS]) {
    for (const attrs of Object.values(table)) for (const name of Object.keys(attrs)) out.add(name);
  }
  return out;
})();

/** Builtins that look names up dynamically: handing them to other code is a finding. */
export const LOOKUP_FUNCTIONS: ReadonlySet<string> = new Set([
  "getattr",
  "vars",
  "globals",
  "locals",
  "__import__",
]);

/** Calls that return a namespace (or a module named by a string). */
const NAMESPACE_CALLS = new Set([
  "vars",
  "globals",
  "locals",
  "__import__",
  "import_module",
  "getattr",
  "resolve_name",
  "locate",
  "import_string",
  "getmembers",
  "currentframe",
  "_getframe",
]);

/** Attributes that are namespaces. */
const NAMESPACE_ATTRIBUTES = new Set([
  "__dict__",
  "modules",
  "__globals__",
  "f_globals",
  "f_locals",
  "f_builtins",
  "__builtins__",
  "__self__",
]);

/** Leaf names of the calls the evaluator models or that are forbidden: only these calls are evaluated. */
const MODELED_CALLS = (() => {
  const out = new Set<string>([
    ...INTERESTING_ATTRIBUTES,
    ...FORBIDDEN_BUILTINS,
    ...LOOKUP_FUNCTIONS,
    ...NAMESPACE_CALLS,
    "setattr",
    "type",
    "map",
    "reduce",
    "partial",
    "attrgetter",
    "methodcaller",
    "__getattribute__",
    "__getattr__",
    "timeit",
    "repeat",
    "Timer",
    "ForwardRef",
    "TypeVar",
    "dictConfig",
  ]);
  for (const p of [...RESOLVERS, ...PAYLOAD_LOADERS, ...CALL_ONLY_PATHS.keys()]) {
    out.add(p.slice(p.lastIndexOf(".") + 1));
  }
  return out;
})();

/** Whether a loaded name may be a builtin or module global that is forbidden, or come from a star import. */
export function isInterestingName(model: SemanticModel, i: number): boolean {
  const name = model.name(i);
  if (FORBIDDEN_BUILTINS.has(name) || FORBIDDEN_MODULE_GLOBALS.has(name)) return true;
  // Reading `stars` only in files that star-import: a scope's array changes its V8 elements kind when it first
  // holds a string, and that change reaching the optimized checks loop made V8 compile it again.
  if (!model.hasStarImports) return false;
  for (let s = model.scopeOf[i]; s >= 0; s = model.scopes[s].parent) {
    if (model.scopes[s].stars.length) return true;
  }
  return false;
}

/**
 * Whether an expression can evaluate to a namespace (a module like os or builtins, globals(), vars(),
 * sys.modules, a __dict__): a syntactic pre-check so only those lookups and hand-offs are evaluated.
 */
export function mayBeNamespace(model: SemanticModel, node: number, depth = 0): boolean {
  if (node < 0 || depth > 4) return false;
  const tree = model.tree;
  const k = tree.kind[node];
  switch (k) {
    case K.identifier: {
      const name = model.name(node);
      if (name === "__builtins__") return true;
      for (const b of model.bindingsOf(name, model.scopeOf[node])) {
        if (b.kind === "import" && b.path && (DANGEROUS_NAMESPACES.has(b.path) || b.path === "builtins")) {
          return true;
        }
        if (b.kind === "value" && b.value >= 0 && mayBeNamespace(model, b.value, depth + 1)) return true;
      }
      return false;
    }
    case K.call: {
      const callee = tree.first[node];
      if (callee < 0) return false;
      const ck = tree.kind[callee];
      if (ck === K.identifier) {
        const name = model.name(callee);
        if (NAMESPACE_CALLS.has(name)) return true;
        return model.bindingsOf(name, model.scopeOf[callee]).some((b) =>
          b.kind === "def" || b.kind === "import"
        );
      }
      if (ck === K.attribute) return NAMESPACE_CALLS.has(model.attrName(callee));
      return ck === K.call || ck === K.subscript || ck === K.parenthesized_expression;
    }
    case K.attribute: {
      const leaf = model.attrName(node);
      if (NAMESPACE_ATTRIBUTES.has(leaf) || MODULE_LIKE_ATTRIBUTES.has(leaf)) return true;
      // A submodule of a dangerous namespace (importlib.util): only the first step is checked.
      const object = model.firstNamed(node);
      return object >= 0 && tree.kind[object] === K.identifier && mayBeNamespace(model, object, depth + 1);
    }
    case K.subscript:
    case K.parenthesized_expression:
      return mayBeNamespace(model, model.firstNamed(node), depth + 1);
    case K.list:
    case K.tuple:
    case K.set:
    case K.expression_list:
    case K.dictionary:
    case K.pair:
    case K.conditional_expression:
    case K.boolean_operator: {
      for (let c = tree.first[node]; c >= 0; c = tree.next[c]) {
        if (mayBeNamespace(model, c, depth + 1)) return true;
      }
      return false;
    }
    default:
      return false;
  }
}

/** Calls that can produce or receive something forbidden; the rest (most of a program) are not evaluated. */
export function callWorthEvaluating(model: SemanticModel, i: number): boolean {
  const tree = model.tree;
  const callee = tree.first[i];
  if (callee < 0) return false;
  const ck = tree.kind[callee];
  if (ck === K.identifier) {
    const name = model.name(callee);
    if (MODELED_CALLS.has(name)) return true;
    for (const b of model.bindingsOf(name, model.scopeOf[callee])) {
      if (b.kind === "import") return true;
      if (b.kind === "value" && b.value >= 0) {
        const vk = tree.kind[b.value];
        const leaf = vk === K.identifier
          ? model.name(b.value)
          : vk === K.attribute
          ? model.attrName(b.value)
          : "";
        if (MODELED_CALLS.has(leaf) || vk === K.subscript || vk === K.call) return true;
      }
    }
  } else if (ck === K.attribute) {
    if (MODELED_CALLS.has(model.attrName(callee))) return true;
    if (mayBeNamespace(model, model.firstNamed(callee))) return true; // vars(os).items(), sys.modules.get(…)
    const root = model.rootName(callee);
    if (root >= 0) {
      for (const b of model.bindingsOf(model.name(root), model.scopeOf[root])) {
        if (b.kind === "import" && b.path && forbiddenRule(b.path)) return true;
      }
    }
  } else if (ck === K.call || ck === K.subscript || ck === K.parenthesized_expression || ck === K.lambda) {
    return true;
  }
  const args = tree.child(i, K.argument_list);
  if (args >= 0) {
    for (let a = tree.first[args]; a >= 0; a = tree.next[a]) {
      const ak = tree.kind[a];
      const value = ak === K.keyword_argument
        ? model.after(a, TK["="])
        : ak === K.list_splat || ak === K.dictionary_splat
        ? model.firstNamed(a)
        : a;
      if (mayBeNamespace(model, value)) return true;
    }
  }
  return false;
}
