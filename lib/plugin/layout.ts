/**
 * The structure check of SPEC.md §3, in pure TypeScript (no Python): `plugin test` runs it first, and the
 * local registry runs it on uploaded archives. Mixpeek imports a plugin as a package named after its folder,
 * so: the folder name is a package name, `__init__.py`, `manifest.py` and `pipeline.py` exist, every folder
 * of Python modules is a package, and the plugin's modules import one another relatively. It reports every
 * problem at once, each naming the exact path (and line).
 */
import { basename, join, resolve } from "../paths.ts";
import { PYTHON_KEYWORDS } from "../python_keywords.ts";
import { MAX_FILE_BYTES } from "../scan/source.ts";
import { type PythonImport, pythonImportsYielding, relativeSpelling } from "./imports.ts";

export interface LayoutProblem {
  /** Relative to the plugin root, '/'-separated ("." for the root itself). */
  path: string;
  message: string;
  /** 1-based line, where the problem is inside a file. */
  line?: number;
}

/** The files every plugin has, and why (the message says so when one is missing). */
export const REQUIRED_FILES: readonly { path: string; why: string }[] = [
  { path: "__init__.py", why: "Mixpeek imports the plugin folder as a Python package" },
  {
    path: "manifest.py",
    why: "it exports metadata, input_schema, output_schema and parameter_schema",
  },
  { path: "pipeline.py", why: "it exports build_steps()" },
];

/** Package names the local platform runtime (and Mixpeek's engine) already uses. */
const RUNTIME_PACKAGES = new Set(["engine", "shared", "mixpeek_local"]);

/** Folders that are not part of the plugin's importable code. */
const SKIPPED_DIRS = new Set([
  "__pycache__",
  "venv",
  "env",
  "node_modules",
  "build",
  "dist",
  "site-packages",
]);
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

/** Why `name` cannot be the plugin's folder (its package name), with the name to use; or undefined. */
export function packageNameProblem(name: string): string | undefined {
  const keyword = PYTHON_KEYWORDS.has(name);
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !keyword && !RUNTIME_PACKAGES.has(name)) return undefined;
  let suggestion = name.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+|_+$/g, "");
  if (/^[0-9]/.test(suggestion)) suggestion = `plugin_${suggestion}`;
  if (suggestion === "" || PYTHON_KEYWORDS.has(suggestion) || RUNTIME_PACKAGES.has(suggestion)) {
    suggestion = `${suggestion || "my"}_plugin`;
  }
  const why = keyword
    ? "is a Python keyword"
    : RUNTIME_PACKAGES.has(name)
    ? "is a package of the platform runtime"
    : "is not a Python package name";
  return `the folder name "${name}" ${why}: Mixpeek imports the plugin as a package named after its ` +
    `folder, so rename the folder (e.g. to "${suggestion}")`;
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
  const folder = basename(resolve(root));
  const nameProblem = packageNameProblem(folder);
  if (nameProblem) problems.push({ path: ".", message: nameProblem });
  for (const { path, why } of REQUIRED_FILES) {
    const file = await statOrUndefined(join(root, ...path.split("/")));
    if (!file) problems.push({ path, message: `${path} is missing (required: ${why})` });
    else if (!file.isFile) problems.push({ path, message: `${path} is not a regular file` });
  }
  const walk = await _walk(root);
  for (const dir of [...walk.packageDirs].sort()) {
    const init = `${dir}/__init__.py`;
    if (!walk.files.has(init)) {
      const tests = dir === "tests" || dir.startsWith("tests/");
      problems.push({
        path: init,
        message: `${init} is missing: ${dir}/ holds Python modules, so it needs an __init__.py (it may be ` +
          `empty)${
            tests ? "; tests import the plugin relatively, e.g. from ..manifest import input_schema" : ""
          }`,
      });
    }
  }
  const own = _ownModules(walk);
  const absolute: { file: string; imp: PythonImport }[] = [];
  for (const file of [...walk.files].sort()) {
    if (!file.endsWith(".py")) continue;
    const path = join(root, ...file.split("/"));
    // A file over the scanner's limit is its finding (source-too-large), never read here either: a hostile
    // archive's 500 MB .py must not be loaded into memory or tokenised on the registry's event loop.
    if ((await Deno.stat(path)).size > MAX_FILE_BYTES) continue;
    const bytes = await Deno.readFile(path);
    const bad = _firstInvalidUtf8(bytes);
    if (bad) {
      problems.push({
        path: file,
        line: bad.line,
        message: `${file}:${bad.line}: not valid UTF-8 (byte 0x${bad.byte.toString(16).padStart(2, "0")}); ` +
          "save the file as UTF-8",
      });
      continue;
    }
    for (const imp of await pythonImportsYielding(new TextDecoder().decode(bytes))) {
      if (
        imp.level === 0 &&
        imp.names.some((n) => own.has((imp.kind === "from" ? imp.module : n.name).split(".")[0]))
      ) {
        absolute.push({ file, imp });
      }
    }
  }
  for (const { file, imp } of absolute) {
    const depth = file.split("/").length - 1;
    const written = imp.kind === "from"
      ? `from ${imp.module} import …`
      : `import ${imp.names.map((n) => n.name).join(", ")}`;
    problems.push({
      path: file,
      line: imp.line,
      message: `\`${written}\` imports the plugin's own module by its top-level name, which does not exist ` +
        `on Mixpeek (it imports the plugin as the package "${folder}"): write \`${
          relativeSpelling(imp, depth)
        }\``,
    });
  }
  if (absolute.length > 0 && (await _looksLikeV1(root, walk))) {
    problems.push({ path: ".", message: V1_STEPS });
  }
  if (walk.truncated) {
    problems.push({ path: ".", message: `more than ${MAX_ENTRIES} files: is this really a plugin folder?` });
  }
  return problems;
}

/** How to turn a plugin made from this CLI's first templates into one Mixpeek can load. */
export const V1_STEPS =
  "this plugin follows the first mixpeek CLI templates (top-level imports, build_steps() " +
  "returning a list of per-record functions, handle() in realtime.py), which Mixpeek cannot load. To convert " +
  "it: 1. make every import of the plugin's own modules relative (listed above); 2. in manifest.py export " +
  "input_schema, output_schema and parameter_schema (pydantic models) and metadata = {feature_extractor_name, " +
  "version, description, category}; 3. in pipeline.py define build_steps(extractor_request, container=None, " +
  'base_steps=None, dataset_size=None, content_flags=None) returning {"steps": build_pipeline_steps(' +
  'PipelineDefinition(...)), "prepare": lambda ds: ds}, with processors that take and return pandas ' +
  "DataFrames (from engine.plugins.extractors.pipeline); 4. in realtime.py subclass BaseInferenceService " +
  "(from shared.plugins.inference.serve) instead of handle(). Or run `mixpeek plugin init NAME -c CATEGORY` " +
  "and move your code into the new files.";

interface Walk {
  /** Regular files, relative and '/'-separated. */
  files: Set<string>;
  /** Folders below the root (outside virtualenvs) that directly hold .py files. */
  packageDirs: Set<string>;
  truncated: boolean;
}

/** The plugin's top-level module names: root .py files and root folders of Python code. */
function _ownModules(walk: Walk): Set<string> {
  const own = new Set<string>();
  for (const file of walk.files) {
    const parts = file.split("/");
    if (!file.endsWith(".py")) continue;
    if (parts.length === 1) {
      if (file !== "__init__.py") own.add(file.slice(0, -3));
    } else own.add(parts[0]);
  }
  return own;
}

async function _looksLikeV1(root: string, walk: Walk): Promise<boolean> {
  if (walk.files.has("schemas.py") || walk.files.has("processors/runner.py")) return true;
  const read = (f: string) => walk.files.has(f) ? Deno.readTextFile(join(root, f)).catch(() => "") : "";
  const [pipeline, realtime] = await Promise.all([read("pipeline.py"), read("realtime.py")]);
  return /^def build_steps\(\s*\)/m.test(pipeline) || /^def handle\(/m.test(realtime);
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
