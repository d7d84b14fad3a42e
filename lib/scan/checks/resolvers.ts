/**
 * Dotted names given as data and resolved to objects: import_module / __import__ / pkgutil.resolve_name and
 * friends (with a forbidden or a computed name), `{"()": "os.system"}`-style keys that logging.config and
 * hydra resolve, dictConfig with a configuration built at run time; and embedded payloads for deserialisers
 * that run code from their input. Rules: dynamic-import-importlib, dynamic-import-resolver,
 * dynamic-code-payload, and the rules of the paths named.
 *
 * @module
 */
import type { Checker } from "./checker.ts";
import { forbiddenRule } from "../rules/registry.ts";
import { DICT_CONFIG, PAYLOAD_LOADERS, RESOLVER_KEYS } from "../rules/tables.ts";
import type { ArgValue } from "../semantic/hooks.ts";
import { displayPath, dottedName } from "../semantic/python_names.ts";
import { isConst, members, strings } from "../semantic/values.ts";
import { TK } from "../tree.ts";

/** A resolver call: computed names are findings, and so are forbidden modules named by a constant. */
export function onResolved(
  c: Checker,
  node: number,
  resolver: string,
  names: string[] | undefined,
  paths: string[],
): void {
  if (!names) {
    if (resolver === "importlib.import_module") {
      c.report(
        node,
        "dynamic-import-importlib",
        "importlib.import_module with a module name computed at run time",
      );
    } else if (!resolver.endsWith("__import__")) {
      c.report(node, "dynamic-import-resolver", `${displayPath(resolver)} with a name computed at run time`);
    }
    return;
  }
  for (const full of paths) {
    const rule = forbiddenRule(full);
    if (rule) c.report(node, rule, displayPath(full));
  }
}

/** {"()": "os.system"} and friends: logging.config / hydra resolve these strings to objects. */
export function checkResolverKey(c: Checker, i: number): void {
  const key = c.model.firstNamed(i);
  const value = c.model.after(i, TK[":"]);
  if (key < 0 || value < 0) return;
  const keyText = strings(c.eval(key));
  if (!keyText || keyText.length !== 1 || !RESOLVER_KEYS.has(keyText[0])) return;
  for (const s of strings(c.eval(value)) ?? []) {
    const dotted = dottedName(s);
    const rule = dotted ? forbiddenRule(dotted) : undefined;
    if (dotted && rule) {
      c.report(value, rule, `${displayPath(dotted)} (named by the ${JSON.stringify(keyText[0])} key)`);
    }
  }
}

/** Payload loaders with a constant payload, and dictConfig with a configuration built at run time. */
export function resolverCall(c: Checker, node: number, p: string, arg: ArgValue): boolean {
  if (PAYLOAD_LOADERS.has(p)) {
    const payload = arg(0, p === "shelve.open" ? "filename" : "data");
    if (payload && isConst(payload)) {
      const texts = strings(payload);
      const yaml = p.startsWith("yaml.");
      if (!yaml || !texts || texts.some((t) => t.includes("!!python/") || t.includes("!python/"))) {
        c.report(node, "dynamic-code-payload", displayPath(p));
      }
    }
    return true;
  }
  if (DICT_CONFIG.has(p)) {
    const config = arg(0, "config");
    if (config && !members(config).every((m) => m.t === "dict")) {
      c.report(
        node,
        "dynamic-import-resolver",
        "logging.config.dictConfig with a configuration built at run time",
      );
    }
    return true;
  }
  return false;
}
