/**
 * gitignore-style patterns (https://git-scm.com/docs/gitignore#_pattern_format), used for the built-in
 * defaults, `.gitignore` and `.mixpeekignore`:
 *
 * - blank lines and `#` comments are skipped; `\#` and `\!` escape; trailing spaces are dropped unless
 *   escaped with `\`;
 * - `!pattern` re-includes what an earlier rule excluded; the last matching rule wins;
 * - `dir/` matches only folders; a pattern with a `/` at the start or in the middle is anchored to the
 *   folder of its ignore file, one without matches at any depth below it;
 * - `*` and `?` never match `/`, `[a-z]` / `[!a-z]` are character classes; `**` as a whole component
 *   (leading, trailing or between slashes) spans any number of folders.
 *
 * As in git, a file inside an excluded folder cannot be re-included (the folder is never walked): re-include
 * the folder (`!models/`) and exclude what you do not want inside it.
 *
 * @module
 */

export interface IgnoreRule {
  /** Where the rule comes from, e.g. `.gitignore:3` or `(default)`. */
  source: string;
  /** The folder the rule is relative to: "" for the plugin root, else `a/b`. */
  base: string;
  negate: boolean;
  dir_only: boolean;
  /** Tested against the path below `base` when anchored, else against the last component. */
  anchored: boolean;
  regex: RegExp;
}

/** Parses an ignore file's text into rules relative to `base` ("" = plugin root). */
export function parseIgnoreFile(text: string, base: string, source: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const rule = compilePattern(line, base, `${source}:${index + 1}`);
    if (rule) rules.push(rule);
  });
  return rules;
}

/** Compiles one pattern line, or returns undefined for blank lines and comments. */
export function compilePattern(line: string, base: string, source: string): IgnoreRule | undefined {
  let pattern = _trimTrailingSpaces(line);
  if (pattern === "" || pattern.startsWith("#")) return undefined;
  let negate = false;
  if (pattern.startsWith("!")) {
    negate = true;
    pattern = pattern.slice(1);
  } else if (pattern.startsWith("\\!") || pattern.startsWith("\\#")) {
    pattern = pattern.slice(1);
  }
  let dirOnly = false;
  if (pattern.endsWith("/") && !pattern.endsWith("\\/")) {
    dirOnly = true;
    pattern = pattern.replace(/\/+$/, "");
  }
  if (pattern === "") return undefined;
  const anchored = pattern.includes("/");
  if (pattern.startsWith("/")) pattern = pattern.slice(1);
  return {
    source,
    base,
    negate,
    dir_only: dirOnly,
    anchored,
    regex: new RegExp(`^${_toRegex(pattern)}$`, "u"),
  };
}

/** Does `rule` match `path` (relative to the plugin root, `/`-separated)? */
export function ruleMatches(rule: IgnoreRule, path: string, isDir: boolean): boolean {
  if (rule.dir_only && !isDir) return false;
  let sub = path;
  if (rule.base !== "") {
    if (!path.startsWith(rule.base + "/")) return false;
    sub = path.slice(rule.base.length + 1);
  }
  if (!rule.anchored) sub = sub.slice(sub.lastIndexOf("/") + 1);
  return rule.regex.test(sub);
}

/** The rule that decides for `path` in an ordered list (the last one that matches), if any. */
export function lastMatch(
  rules: readonly IgnoreRule[],
  path: string,
  isDir: boolean,
): IgnoreRule | undefined {
  for (let i = rules.length - 1; i >= 0; i--) {
    if (ruleMatches(rules[i], path, isDir)) return rules[i];
  }
  return undefined;
}

function _trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === " " || line[end - 1] === "\t")) {
    // An escaped space ("\ ") is kept: count the backslashes before it.
    let slashes = 0;
    for (let i = end - 2; i >= 0 && line[i] === "\\"; i--) slashes++;
    if (slashes % 2 === 1) break;
    end--;
  }
  return line.slice(0, end);
}

const SPECIAL = /[.*+?^${}()|[\]\\/]/g;

function _escape(text: string): string {
  return text.replace(SPECIAL, "\\$&");
}

/** Translates a gitignore glob (without leading `/` or trailing `/`) into a regular-expression body. */
function _toRegex(pattern: string): string {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "*") {
      let stars = 1;
      while (pattern[i + stars] === "*") stars++;
      const atStart = i === 0 || pattern[i - 1] === "/";
      const atEnd = i + stars === pattern.length || pattern[i + stars] === "/";
      if (stars >= 2 && atStart && atEnd) {
        if (i + stars === pattern.length) {
          // `a/**` matches everything inside a; a lone `**` matches everything.
          out += i === 0 ? ".*" : ".+";
          i += stars;
        } else {
          // `**/` matches zero or more folders.
          out += "(?:[^/]*/)*";
          i += stars + 1;
        }
      } else {
        out += "[^/]*";
        i += stars;
      }
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "[") {
      const cls = _charClass(pattern, i);
      if (cls) {
        out += cls.regex;
        i = cls.end;
      } else {
        out += "\\[";
        i++;
      }
    } else if (c === "\\" && i + 1 < pattern.length) {
      out += _escape(pattern[i + 1]);
      i += 2;
    } else {
      out += _escape(c);
      i++;
    }
  }
  return out;
}

/** Parses `[...]` at `start`; undefined when it is not closed (then `[` is literal, as in git). */
function _charClass(pattern: string, start: number): { regex: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === "!" || pattern[i] === "^") {
    negate = true;
    i++;
  }
  let body = "";
  let first = true;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "]" && !first) {
      // A class never matches "/", negated or not.
      return { regex: negate ? `[^/${body}]` : `(?![/])[${body}]`, end: i + 1 };
    }
    if (c === "\\" && i + 1 < pattern.length) {
      body += _escapeInClass(pattern[i + 1]);
      i += 2;
    } else {
      body += c === "-" && !first && pattern[i + 1] !== "]" ? "-" : _escapeInClass(c);
      i++;
    }
    first = false;
  }
  return undefined;
}

function _escapeInClass(c: string): string {
  return /[\\\]\[^-]/.test(c) ? `\\${c}` : c;
}
