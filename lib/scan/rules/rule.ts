/**
 * What a scan rule is: a stable id, a category, a severity, and the message parts (what the code does, what
 * to do instead). Each category's rules live in one file of this folder (shell.ts, network.ts, …), one table
 * entry per rule id, with the dotted paths that trigger it; lib/scan/rules/registry.ts gathers them, and the
 * checks that need more than a path (lib/scan/checks/) name the ids they report.
 *
 * @module
 */

/** SPEC §6's categories (Mixpeek's server-side rules), then `source` (ours: the scan fails closed). */
export const CATEGORIES = [
  "shell",
  "dynamic-code",
  "network",
  "memory",
  "dynamic-import",
  "file-access",
  "concurrency",
  "system",
  "introspection",
  "deserialization",
  "source",
] as const;
export type Category = typeof CATEGORIES[number];

/** `error` rejects the plugin; `warning` is shown, and rejects only in strict mode (the platform's). */
export type Severity = "error" | "warning";

export interface Rule {
  id: string;
  category: Category;
  severity: Severity;
  /** Short name (SARIF shortDescription). */
  title: string;
  /** What the flagged code does; `{name}` is replaced with the Python name found. */
  problem: string;
  /** What to do instead. */
  instead: string;
}

/** A rule and the dotted paths (or prefixes) that trigger it: `os.system`, `subprocess`, `builtins.eval`. */
export interface RuleEntry extends Rule {
  /** Reaching any of these paths (importing, naming, getattr with a folded name, …) is a finding. */
  paths?: readonly string[];
  /** Calling these is a finding; merely naming them (isinstance, annotations) is not. */
  callPaths?: readonly string[];
  /** Attribute names forbidden on any object (the owner is usually unknown: an event loop, a frame). */
  attributes?: readonly string[];
}

export function rule(
  id: string,
  category: Category,
  title: string,
  problem: string,
  instead: string,
  match: Pick<RuleEntry, "paths" | "callPaths" | "attributes"> & { severity?: Severity } = {},
): RuleEntry {
  const { severity = "error", ...rest } = match;
  return { id, category, severity, title, problem, instead, ...rest };
}
