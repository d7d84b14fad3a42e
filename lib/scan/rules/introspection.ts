/**
 * Category `introspection`: reaching interpreter internals that lead to the other categories
 * (__builtins__, __subclasses__, __globals__, frame globals, gc.get_objects, computed lookups in, or
 * hand-offs of, namespaces such as os, builtins and globals()).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_INTROSPECTION =
  "use the object you need directly instead of reaching it through interpreter internals";

export const INTROSPECTION_RULES: RuleEntry[] = [
  rule(
    "introspection-builtins",
    "introspection",
    "__builtins__",
    "`{name}` reaches the builtins namespace (eval, exec, __import__)",
    "call the builtin you need by its name",
    { attributes: ["__builtins__"] },
  ),
  rule(
    "introspection-dunder",
    "introspection",
    "interpreter internals",
    "`{name}` walks interpreter internals (classes, function or frame globals)",
    INSTEAD_INTROSPECTION,
    {
      paths: ["gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames"],
      attributes: ["__subclasses__", "__globals__", "f_globals", "f_locals", "f_builtins", "func_globals"],
    },
  ),
  rule(
    "introspection-dynamic-lookup",
    "introspection",
    "computed lookups",
    "{name}",
    "access attributes by name in code (module.attribute), not through strings computed at run time",
  ),
  rule(
    "introspection-namespace-escape",
    "introspection",
    "namespace hand-offs",
    "{name}",
    "pass the specific function you need, not the whole module or namespace",
  ),
];
