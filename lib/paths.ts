/**
 * Path functions for the commands that start often (`plugin scan`, `test`, `validate`), without loading
 * node:path: the first `node:` module a process imports brings up Deno's Node layer, ~10 ms before the
 * command does anything. On POSIX systems they are written here, with node:path's results (tests/unit/
 * paths_test.ts compares them on hundreds of inputs); on Windows, with its drives and UNC names, they are
 * node:path's own.
 *
 * @module
 */

/** Collapses `.`, `..` and repeated slashes; keeps a leading `/` and (like node) a trailing one. */
function _normalize(path: string): string {
  if (path === "") return ".";
  const absolute = path.startsWith("/");
  const trailing = path.endsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  let joined = out.join("/");
  if (joined === "") return absolute ? "/" : trailing ? "./" : ".";
  if (trailing) joined += "/";
  return absolute ? `/${joined}` : joined;
}

function _join(...paths: string[]): string {
  const parts = paths.filter((p) => p !== "");
  return parts.length === 0 ? "." : _normalize(parts.join("/"));
}

function _resolve(...paths: string[]): string {
  let resolved = "";
  for (let i = paths.length - 1; i >= 0 && !resolved.startsWith("/"); i--) {
    if (paths[i] !== "") resolved = resolved === "" ? paths[i] : `${paths[i]}/${resolved}`;
  }
  if (!resolved.startsWith("/")) resolved = resolved === "" ? Deno.cwd() : `${Deno.cwd()}/${resolved}`;
  const normal = _normalize(resolved);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

function _relative(from: string, to: string): string {
  const a = _resolve(from);
  const b = _resolve(to);
  if (a === b) return "";
  const left = a === "/" ? [] : a.slice(1).split("/");
  const right = b === "/" ? [] : b.slice(1).split("/");
  let common = 0;
  while (common < left.length && common < right.length && left[common] === right[common]) common++;
  return [...left.slice(common).map(() => ".."), ...right.slice(common)].join("/");
}

/** Everything before the last segment, repeated slashes kept as they were (node's rule: "a//b" → "a/"). */
function _dirname(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  let end = -1;
  let inTrailingSlashes = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inTrailingSlashes = false;
    else if (!inTrailingSlashes) {
      end = i;
      break;
    }
  }
  if (end === -1) return rooted ? "/" : ".";
  if (rooted && end === 1) return "//";
  return path.slice(0, end);
}

function _basename(path: string, suffix?: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return suffix !== undefined && base !== suffix && base.endsWith(suffix)
    ? base.slice(0, -suffix.length)
    : base;
}

interface PathFunctions {
  join(...paths: string[]): string;
  resolve(...paths: string[]): string;
  relative(from: string, to: string): string;
  dirname(path: string): string;
  basename(path: string, suffix?: string): string;
  isAbsolute(path: string): boolean;
  delimiter: string;
}

/** The POSIX functions, exported for the comparison test (it runs on every OS). */
export const posixPaths: PathFunctions = {
  join: _join,
  resolve: _resolve,
  relative: _relative,
  dirname: _dirname,
  basename: _basename,
  isAbsolute: (path) => path.startsWith("/"),
  delimiter: ":",
};

const paths: PathFunctions = Deno.build.os === "windows" ? await import("node:path") : posixPaths;

export const { join, resolve, relative, dirname, basename, isAbsolute, delimiter } = paths;
