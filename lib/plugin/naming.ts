/** Plugin names: a Python package name (snake_case); a kebab-case spelling is accepted for the folder. */
import { UsageError } from "../errors.ts";
import { PYTHON_KEYWORDS } from "../python_keywords.ts";

/** Names the plugin's own top-level modules use; a package of the same name would shadow them. */
const RESERVED = new Set(["manifest", "pipeline", "processors", "realtime", "tests", "conftest"]);

export const MAX_NAME_LENGTH = 64;

export interface PluginName {
  /** The Python package name written into metadata, e.g. `sentiment_scorer`. */
  package: string;
  /** The default folder name: the name as the author typed it, e.g. `sentiment-scorer`. */
  folder: string;
  /** A human title for READMEs, e.g. `Sentiment Scorer`. */
  title: string;
}

/** Why a name is not acceptable, or undefined when it is (used by prompts and by `parsePluginName`). */
export function nameProblem(raw: string): string | undefined {
  if (raw === "") return "the name is empty";
  if (raw.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!/^[a-z][a-z0-9]*([_-][a-z0-9]+)*$/.test(raw)) {
    return `"${raw}" is not a valid plugin name: use lowercase letters, digits and single "_" or "-" ` +
      `between them, starting with a letter (e.g. sentiment_scorer or sentiment-scorer)`;
  }
  const pkg = raw.replace(/-/g, "_");
  if (PYTHON_KEYWORDS.has(pkg)) return `"${pkg}" is a Python keyword`;
  if (RESERVED.has(pkg)) return `"${pkg}" is the name of a module inside every plugin`;
  return undefined;
}

export function parsePluginName(raw: string): PluginName {
  const problem = nameProblem(raw);
  if (problem) {
    throw new UsageError(problem, { hint: "pass a name such as `mixpeek plugin init sentiment-scorer`" });
  }
  const pkg = raw.replace(/-/g, "_");
  const title = pkg.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
  return { package: pkg, folder: raw, title };
}

/** Description and author end up inside Python string literals and a README: one line, printable. */
export function textProblem(label: string, value: string, max = 300): string | undefined {
  if (value.trim() === "") return `${label} is empty`;
  if (value.length > max) return `${label} is longer than ${max} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${label} must be a single line without control characters`;
  return undefined;
}
