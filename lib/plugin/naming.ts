/**
 * Plugin names. The author types a name with letters, digits, `_` or `-` (Mixpeek's CLI takes hyphens too);
 * the plugin's package, its folder and `feature_extractor_name` are the snake_case spelling, which must
 * match Mixpeek's name rule (lib/plugin/identity.ts): `sentiment-scorer` → `sentiment_scorer/`.
 */
import { UsageError } from "../errors.ts";
import { PYTHON_KEYWORDS } from "../python_keywords.ts";
import { pluginNameProblem } from "./identity.ts";

/** Names the plugin's own modules (and the platform runtime's packages) use; a package of the same name would clash. */
const RESERVED = new Set([
  "manifest",
  "pipeline",
  "processors",
  "realtime",
  "tests",
  "conftest",
  "engine",
  "shared",
  "mixpeek_local",
]);

export interface PluginName {
  /** The Python package name: the folder, metadata["feature_extractor_name"], e.g. `sentiment_scorer`. */
  package: string;
  /** The default folder name: the package name (the folder is the package Mixpeek imports). */
  folder: string;
  /** A human title for READMEs, e.g. `Sentiment Scorer`. */
  title: string;
  /** The class-name prefix of the template's classes, e.g. `SentimentScorer`. */
  className: string;
}

/** Why a name is not acceptable, or undefined when it is (used by prompts and by `parsePluginName`). */
export function nameProblem(raw: string): string | undefined {
  if (raw === "") return "the name is empty";
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(raw)) {
    return `"${raw}" is not a valid plugin name: use letters, digits, "_" and "-", starting with a letter ` +
      `(e.g. sentiment_scorer or sentiment-scorer)`;
  }
  const pkg = raw.replace(/-/g, "_");
  const rule = pluginNameProblem(pkg);
  if (rule) return rule;
  if (PYTHON_KEYWORDS.has(pkg)) return `"${pkg}" is a Python keyword`;
  if (RESERVED.has(pkg)) {
    return `"${pkg}" is the name of a module inside every plugin or of the platform runtime`;
  }
  return undefined;
}

export function parsePluginName(raw: string): PluginName {
  const problem = nameProblem(raw);
  if (problem) {
    throw new UsageError(problem, { hint: "pass a name such as `mixpeek plugin init sentiment-scorer`" });
  }
  const pkg = raw.replace(/-/g, "_");
  const words = pkg.split("_").filter((w) => w !== "");
  const title = words.map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");
  const className = words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return {
    package: pkg,
    folder: pkg,
    title,
    className: /^[0-9]/.test(className) ? `P${className}` : className,
  };
}

/** Description and author end up inside Python string literals and a README: one line, printable. */
export function textProblem(label: string, value: string, max = 300): string | undefined {
  if (value.trim() === "") return `${label} is empty`;
  if (value.length > max) return `${label} is longer than ${max} characters`;
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${label} must be a single line without control characters`;
  return undefined;
}
