/**
 * Category `introspection`: namespace manipulation the platform forbids (`globals()`, `locals()`, `vars()`,
 * `setattr()`, `delattr()`, and the same namespaces reached as `f.__globals__` or a frame's `f_globals`),
 * the interpreter internals that lead to every other category (`__subclasses__` of classes the plugin does
 * not own, gc.get_objects, sys._current_frames), lookups by names computed at run time in namespaces with
 * forbidden members, and hand-offs of such namespaces; plus the platform's dunder warnings.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_INTROSPECTION =
  "use the object you need directly instead of reaching it through interpreter internals";

/** The dunders the platform warns about (strict mode rejects them). */
export const WARNED_DUNDERS: readonly string[] = [
  "__builtins__",
  "__class__",
  "__bases__",
  "__subclasses__",
  "__mro__",
  "__code__",
  "__globals__",
];

export const INTROSPECTION_RULES: RuleEntry[] = [
  rule(
    "introspection-globals",
    "introspection",
    "globals(), locals() and function or frame globals",
    "`{name}` hands out a module's namespace",
    "refer to names directly, and keep dynamic state in a dict or a class the plugin owns",
    {
      paths: ["builtins.globals", "builtins.locals"],
      attributes: ["__globals__", "func_globals", "f_globals", "f_locals", "f_builtins"],
    },
  ),
  rule(
    "introspection-vars",
    "introspection",
    "vars()",
    "`{name}` hands out an object's namespace",
    "read the attributes you need directly (or use dataclasses.asdict / model.model_dump())",
    { paths: ["builtins.vars"] },
  ),
  rule(
    "introspection-setattr",
    "introspection",
    "setattr() and delattr()",
    "`{name}` changes attributes by a name given as data",
    "assign attributes in code (obj.name = value), or keep dynamic data in a dict",
    { paths: ["builtins.setattr", "builtins.delattr"] },
  ),
  rule(
    "introspection-builtins",
    "introspection",
    "the builtins namespace",
    "`{name}` reaches the builtins namespace (eval, exec, open, __import__)",
    "call the builtin you need by its name",
  ),
  rule(
    "introspection-dunder",
    "introspection",
    "interpreter internals",
    "`{name}` walks interpreter internals (every class, object or frame of the process)",
    INSTEAD_INTROSPECTION,
    { paths: ["gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames"] },
  ),
  rule(
    "introspection-dunder-access",
    "introspection",
    "dunder attributes the platform warns about",
    "`{name}` reaches interpreter internals",
    "use the public API (type(obj).__name__, isinstance, issubclass, a registry dict the plugin fills)",
    { severity: "warning" },
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
