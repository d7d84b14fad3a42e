/**
 * Reaching a forbidden path: importing it, naming a forbidden builtin or module global, producing it through
 * an attribute, a lookup or a call, naming a forbidden attribute on any object, or calling a forbidden
 * object that arrived through a name. The rules are the entries of lib/scan/rules/ with `paths`,
 * `callPaths` and `attributes`.
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import {
  CALL_ONLY_PATHS,
  FORBIDDEN_ATTRIBUTES,
  FORBIDDEN_MODULE_GLOBALS,
  forbiddenRule,
} from "../rules/registry.ts";
import { WARNED_DUNDERS } from "../rules/introspection.ts";
import { definesAttribute } from "../semantic/access.ts";
import { displayPath } from "../semantic/python_names.ts";
import { members, type Value } from "../semantic/values.ts";

const WARNED: ReadonlySet<string> = new Set(WARNED_DUNDERS);

/** Cheap pre-check: only paths and namespace dictionaries can be forbidden. */
export function mayBeForbidden(v: Value): boolean {
  if (v.t === "path" || v.t === "nsdict") return true;
  if (v.t !== "union") return false;
  for (const m of v.vs) if (m.t === "path" || m.t === "nsdict") return true;
  return false;
}

/** Rules of the forbidden members of a value (rule id → the name to show). */
export function rulesOf(v: Value): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of members(v)) {
    if (m.t === "path" || m.t === "nsdict") {
      const rule = forbiddenRule(m.path);
      if (rule && !out.has(rule)) out.set(rule, displayPath(m.path));
    }
  }
  return out;
}

/** Reports the forbidden rules of `v` that none of `inputs` already had (where the object first appears). */
export function introduce(c: Checker, node: number, v: Value, inputs: Value[]): void {
  if (!mayBeForbidden(v)) return;
  const rules = rulesOf(v);
  if (rules.size === 0) return;
  const before = new Set<string>();
  for (const input of inputs) for (const r of rulesOf(input).keys()) before.add(r);
  for (const [rule, name] of rules) if (!before.has(rule)) c.report(node, rule, name);
}

/** `import subprocess`, `from os import system`, `from pty import *`. */
export function checkImports(c: Checker): void {
  for (const { node, path } of c.model.imports) {
    const rule = forbiddenRule(path);
    if (rule) c.report(node, rule, displayPath(path));
  }
}

/** A name Python supplies: `__loader__` / `__builtins__` themselves, and what builtins and star imports give. */
export function onImplicitName(c: Checker, node: number, name: string, v: Value): void {
  const moduleRule = FORBIDDEN_MODULE_GLOBALS.get(name);
  if (moduleRule) c.report(node, moduleRule, name);
  introduce(c, node, v, []);
}

/**
 * Whether `obj.name` is the plugin's own: every object it may be is a class of this file (or an instance of
 * one) that defines `name` itself or through a base in the file (`self.open_connection()` calling the
 * plugin's own method is not asyncio's).
 */
function _ownAttribute(c: Checker, obj: Value, name: string): boolean {
  const ms = members(obj);
  return ms.length > 0 && ms.every((m) => {
    const cls = m.t === "class" ? m : m.t === "instance" && m.of.t === "class" ? m.of : undefined;
    return cls !== undefined && cls.t === "class" && definesAttribute(c.ev, cls.node, name);
  });
}

/** Whether every object `obj` may be is a class of this file. */
function _ownClass(obj: Value): boolean {
  const ms = members(obj);
  return ms.length > 0 && ms.every((m) => m.t === "class");
}

/**
 * Attribute names forbidden on any object (`loop.create_connection`, `frame.f_globals`) unless the
 * object is the plugin's own and defines them; the dunders the platform warns about.
 */
export function onAttribute(c: Checker, node: number, obj: Value, name: string): void {
  const forbidden = FORBIDDEN_ATTRIBUTES.get(name);
  if (forbidden && !_ownAttribute(c, obj, name)) c.report(node, forbidden, name);
  if (!WARNED.has(name) || forbidden) return;
  // `__subclasses__` of a class the plugin does not own lists every class of the process (the classic
  // way from `()` to os.system); of its own classes it is a registry of plugin code: a warning.
  if (name === "__subclasses__" && !_ownClass(obj)) c.report(node, "introspection-dunder", name);
  else c.report(node, "introspection-dunder-access", name);
}

/** Paths forbidden only when called (`types.FunctionType(code, …)`). */
export function callOnly(c: Checker, node: number, p: string): void {
  const rule = CALL_ONLY_PATHS.get(p);
  if (rule) c.report(node, rule, `calling ${displayPath(p)}`);
}

/** Calling a forbidden object that arrived through a name or attribute reported nowhere yet. */
export function checkCalledObject(c: Checker, node: number, callee: Value): void {
  const calleeNode = c.model.tree.first[node];
  if (mayBeForbidden(callee) && !c.reported.has(calleeNode)) {
    for (const [rule, name] of rulesOf(callee)) c.report(node, rule, name);
  }
}
