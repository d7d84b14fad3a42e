/**
 * The structure check of SPEC.md §3, in pure TypeScript (no Python): `plugin test` runs it first, and the
 * local registry runs it on uploaded archives. It reports every problem at once, each naming the exact path.
 */
import { join } from "node:path";

export interface LayoutProblem {
  /** Relative to the plugin root, '/'-separated ("." for the root itself). */
  path: string;
  message: string;
  /** 1-based line, where the problem is inside a file. */
  line?: number;
}

/** The files every plugin has, and why (the message says so when one is missing). */
export const REQUIRED_FILES: readonly { path: string; why: string }[] = [
  { path: "__init__.py", why: "the plugin folder is a Python package" },
  { path: "manifest.py", why: "it exports `metadata` and the InputSchema / OutputSchema models" },
  { path: "pipeline.py", why: "it exports build_steps()" },
  { path: "processors/__init__.py", why: "processors/ is a Python package" },
  { path: "processors/core.py", why: "it holds the processing code the steps call" },
];

/** Folders that are not part of the plugin's importable code. */
const SKIPPED_DIRS = new Set(["__pycache__", "tests", "venv", "node_modules", "build", "dist"]);
const MAX_DEPTH = 16;
const MAX_ENTRIES = 20_000;

/** The path's info, or undefined when nothing is there. */
export async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Checks the plugin folder at `root`; [] means the structure is fine. */
export async function checkLayout(root: string): Promise<LayoutProblem[]> {
  const info = await statOrUndefined(root);
  if (!info) return [{ path: ".", message: `${root} does not exist` }];
  if (!info.isDirectory) {
    return [{
      path: ".",
      message: `${root} is a file, not a plugin folder; pass the folder holding manifest.py`,
    }];
  }
  const problems: LayoutProblem[] = [];
  for (const { path, why } of REQUIRED_FILES) {
    const file = await statOrUndefined(join(root, ...path.split("/")));
    if (!file) problems.push({ path, message: `${path} is missing (required: ${why})` });
    else if (!file.isFile) problems.push({ path, message: `${path} is not a regular file` });
  }
  const walk = await _walk(root);
  const required = new Set(REQUIRED_FILES.map((f) => f.path));
  for (const dir of walk.packageDirs) {
    const init = `${dir}/__init__.py`;
    if (!walk.files.has(init) && !required.has(init)) {
      problems.push({
        path: init,
        message:
          `${init} is missing: ${dir}/ holds Python modules, so it needs an __init__.py (it may be empty)`,
      });
    }
  }
  for (const file of [...walk.files].sort()) {
    if (!file.endsWith(".py")) continue;
    const bad = _firstInvalidUtf8(await Deno.readFile(join(root, ...file.split("/"))));
    if (bad) {
      problems.push({
        path: file,
        line: bad.line,
        message: `${file}:${bad.line}: not valid UTF-8 (byte 0x${bad.byte.toString(16).padStart(2, "0")}); ` +
          "save the file as UTF-8",
      });
    }
  }
  if (walk.truncated) {
    problems.push({ path: ".", message: `more than ${MAX_ENTRIES} files: is this really a plugin folder?` });
  }
  return problems;
}

interface Walk {
  /** Regular files, relative and '/'-separated. */
  files: Set<string>;
  /** Folders below the root (outside tests/ and virtualenvs) that directly hold .py files. */
  packageDirs: Set<string>;
  truncated: boolean;
}

/** Lists the plugin's files without following folder symlinks (no loops), skipping hidden and build folders. */
async function _walk(root: string): Promise<Walk> {
  const walk: Walk = { files: new Set(), packageDirs: new Set(), truncated: false };
  let entries = 0;
  const visit = async (rel: string, depth: number): Promise<void> => {
    const dir = rel === "" ? root : join(root, ...rel.split("/"));
    for await (const entry of Deno.readDir(dir)) {
      if (++entries > MAX_ENTRIES) {
        walk.truncated = true;
        return;
      }
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory) {
        if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name) || depth >= MAX_DEPTH) continue;
        await visit(path, depth + 1);
      } else if (
        entry.isFile || (entry.isSymlink && (await statOrUndefined(join(dir, entry.name)))?.isFile)
      ) {
        walk.files.add(path);
        if (rel !== "" && entry.name.endsWith(".py")) walk.packageDirs.add(rel);
      }
    }
  };
  await visit("", 0);
  return walk;
}

/** The first byte that breaks UTF-8, with its 1-based line, or undefined when the bytes are valid UTF-8. */
function _firstInvalidUtf8(bytes: Uint8Array): { byte: number; line: number } | undefined {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    // Find where: walk the sequences by hand (only on the rare invalid file).
  }
  let line = 1;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b === 0x0a) line++;
    const length = b < 0x80
      ? 1
      : b >= 0xc2 && b <= 0xdf
      ? 2
      : b >= 0xe0 && b <= 0xef
      ? 3
      : b >= 0xf0 && b <= 0xf4
      ? 4
      : 0;
    if (length === 0) return { byte: b, line };
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      const low = k === 1 ? (b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80) : 0x80;
      const high = k === 1 ? (b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf) : 0xbf;
      if (c === undefined || c < low || c > high) return { byte: b, line };
    }
    i += length;
  }
  return undefined;
}
