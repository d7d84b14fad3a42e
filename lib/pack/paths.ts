/**
 * Archive path rules shared by the packer (lib/pack/select.ts) and the safe reader (lib/pack/extract.ts),
 * so what `plugin pack` writes is exactly what the local registry accepts:
 *
 * - relative, `/`-separated, Unicode NFC, no empty, `.` or `..` components, no leading `/`, no drive letter;
 * - no backslash (a separator on Windows, so `..\x` would be a traversal there) and no control characters;
 * - two paths collide when they are equal after NFC and lower-casing: they would overwrite each other on
 *   macOS and Windows (case-insensitive, normalising file systems), so both sides refuse them.
 *
 * Entries are ordered by the UTF-8 bytes of their path, which is the same order in every language.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Why a single path component cannot be stored, or undefined when it can. */
export function componentProblem(name: string): string | undefined {
  if (name === "" || name === "." || name === "..") return `"${name}" is not a valid file name`;
  if (name.includes("\\")) return "contains a backslash (a path separator on Windows)";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) return "contains a control character (newline, tab, …)";
  if (name.includes("\uFFFD")) return "is not valid UTF-8";
  return undefined;
}

/** The key two paths collide on: NFC, lower case. */
export function collisionKey(path: string): string {
  return path.normalize("NFC").toLowerCase();
}

/** Compares two archive paths by their UTF-8 bytes (code point order), the archive's entry order. */
export function compareArchivePaths(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Sorts items by archive path without re-encoding the paths on every comparison. */
export function sortByArchivePath<T>(items: T[], path: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: encoder.encode(path(item)) }));
  keyed.sort((a, b) => {
    const n = Math.min(a.key.length, b.key.length);
    for (let i = 0; i < n; i++) if (a.key[i] !== b.key[i]) return a.key[i] - b.key[i];
    return a.key.length - b.key.length;
  });
  return keyed.map((k) => k.item);
}

/** Quotes a path for a message when it has spaces or odd characters, so the user sees where it ends. */
export function showPath(path: string): string {
  return /^[\p{L}\p{N}_./@+-]+$/u.test(path) ? path : JSON.stringify(path);
}

/**
 * A local file path with `/` separators: on Windows `\` becomes `/` (Windows accepts both), so the packer
 * joins, compares and splits paths one way everywhere; elsewhere a backslash is part of a name and stays.
 */
export function toSlashes(path: string, os: string = Deno.build.os): string {
  return os === "windows" ? path.replaceAll("\\", "/") : path;
}

/** True for `/…`, and on Windows for `C:/…` and `//server/share…` (after toSlashes). */
export function isAbsolutePath(path: string, os: string = Deno.build.os): boolean {
  return path.startsWith("/") || (os === "windows" && /^[A-Za-z]:\//.test(path));
}
