/**
 * The one source of truth for what the security scan forbids (SPEC.md §6): every rule of this folder's
 * category files, keyed by id, and the tables derived from their entries (forbidden paths, call-only paths,
 * attribute names forbidden on any object). `plugin scan`, `plugin test`, `plugin publish` and the local
 * registry all read this module through lib/scan/scan.ts.
 *
 * To find a rule: its id is one entry in one category file (`shell-os-system` in shell.ts); the checks that
 * report it beyond its paths are in lib/scan/checks/ and name the id.
 *
 * @module
 */
import { CONCURRENCY_RULES } from "./concurrency.ts";
import { DESERIALIZATION_RULES } from "./deserialization.ts";
import { DYNAMIC_CODE_RULES } from "./dynamic_code.ts";
import { DYNAMIC_IMPORT_RULES } from "./dynamic_import.ts";
import { FILE_ACCESS_RULES } from "./file_access.ts";
import { INTROSPECTION_RULES } from "./introspection.ts";
import { MEMORY_RULES } from "./memory.ts";
import { NETWORK_RULES } from "./network.ts";
import type { Rule, RuleEntry } from "./rule.ts";
import { SHELL_RULES } from "./shell.ts";
import { SOURCE_RULES } from "./source.ts";
import { SYSTEM_RULES } from "./system.ts";

export { CATEGORIES, type Category, type Rule, type Severity } from "./rule.ts";

const ENTRIES: readonly RuleEntry[] = [
  ...SHELL_RULES,
  ...DYNAMIC_CODE_RULES,
  ...NETWORK_RULES,
  ...MEMORY_RULES,
  ...DYNAMIC_IMPORT_RULES,
  ...FILE_ACCESS_RULES,
  ...CONCURRENCY_RULES,
  ...SYSTEM_RULES,
  ...INTROSPECTION_RULES,
  ...DESERIALIZATION_RULES,
  ...SOURCE_RULES,
];

function _table(key: "paths" | "callPaths" | "attributes"): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const entry of ENTRIES) {
    for (const p of entry[key] ?? []) {
      if (out.has(p)) throw new Error(`scan rules: ${p} is in both ${out.get(p)} and ${entry.id}`);
      out.set(p, entry.id);
    }
  }
  return out;
}

/** Every rule, keyed by id. Ids are stable: tools (SARIF, CI filters) refer to them. */
export const RULES: Readonly<Record<string, Rule>> = Object.fromEntries(
  ENTRIES.map(({ paths: _p, callPaths: _c, attributes: _a, ...r }) => [r.id, r]),
);

/** Dotted path (or prefix) → rule id: a path is forbidden when it or one of its prefixes is here. */
export const FORBIDDEN_PATHS: ReadonlyMap<string, string> = _table("paths");

/** Rules applied to a call of the path only (referring to it, e.g. in isinstance, is fine). */
export const CALL_ONLY_PATHS: ReadonlyMap<string, string> = _table("callPaths");

/** Attribute names that are forbidden on any object. */
export const FORBIDDEN_ATTRIBUTES: ReadonlyMap<string, string> = _table("attributes");

/** Builtin names whose mere use is a finding (looked up like Python does: not when shadowed). */
export const FORBIDDEN_BUILTINS: ReadonlySet<string> = new Set(
  [...FORBIDDEN_PATHS.keys()].filter((p) => p.startsWith("builtins.")).map((p) =>
    p.slice("builtins.".length)
  ),
);

/** Module-level names Python defines in every module that lead to the loader or the builtins. */
export const FORBIDDEN_MODULE_GLOBALS: ReadonlyMap<string, string> = new Map([
  ["__loader__", "dynamic-import-loader"],
  ["__builtins__", "introspection-dunder-access"],
]);

/** Whether a rule's findings reject the plugin: errors always, warnings in strict mode. */
export function isBlocking(id: string, strict = false): boolean {
  return strict || ruleById(id).severity === "error";
}

/** The rule with this id (throws on an unknown id: a programming error). */
export function ruleById(id: string): Rule {
  const rule = RULES[id];
  if (!rule) throw new Error(`unknown scan rule ${id}`);
  return rule;
}

/** The finding message: what the code does (and where, for code inside strings), then what to do instead. */
export function ruleMessage(id: string, name: string, context?: string): string {
  const rule = ruleById(id);
  const problem = rule.problem.replaceAll("{name}", name);
  return `${problem}${context ? ` (${context})` : ""}; ${rule.instead}`;
}

/** The forbidden rule for a dotted path (longest matching prefix), or undefined. */
export function forbiddenRule(path: string): string | undefined {
  let p = path;
  for (;;) {
    const rule = FORBIDDEN_PATHS.get(p);
    if (rule !== undefined) return rule;
    const dot = p.lastIndexOf(".");
    if (dot < 0) return undefined;
    p = p.slice(0, dot);
  }
}
