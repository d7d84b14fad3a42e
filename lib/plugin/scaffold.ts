/**
 * `plugin init`: writes a rendered template into a new folder. Everything is written into a temporary
 * folder beside the target first and moved into place at the end, so a failure never leaves a
 * half-written plugin behind.
 */
import { basename, dirname, join, resolve } from "node:path";
import { FailedError, UsageError } from "../errors.ts";
import type { Category, Resource } from "./categories.ts";
import { packageNameProblem } from "./layout.ts";
import { parsePluginName, textProblem } from "./naming.ts";
import { renderPlugin } from "./templates.ts";

export const INITIAL_VERSION = "0.1.0";

export interface ScaffoldOptions {
  name: string;
  category: Category;
  description: string;
  author: string;
  resource: Resource;
  realtime: boolean;
  /** The plugin folder to create; defaults to ./<package name>. Its name must be a package name. */
  target?: string;
  /** Write into a non-empty folder, replacing the files the template writes and keeping the rest. */
  force: boolean;
  cwd?: string;
}

export interface ScaffoldResult {
  name: string;
  title: string;
  folder: string;
  category: Category;
  resource_type: Resource;
  realtime: boolean;
  version: string;
  files: string[];
}

async function _existing(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return undefined;
    throw error;
  }
}

async function _isEmptyDir(path: string): Promise<boolean> {
  for await (const _ of Deno.readDir(path)) return false;
  return true;
}

/** Creates missing parent folders and returns the ones it created, outermost first, for clean-up. */
async function _makeParents(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = dir; !(await _existing(d)); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) await Deno.mkdir(d);
  return missing;
}

/** A file-system failure as a FailedError naming the path; a missing Deno permission passes through. */
function _ioError(action: string, path: string, error: unknown): Error {
  if (error instanceof Deno.errors.NotCapable) return error;
  const reason = error instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : (error as Error).message;
  return new FailedError(`cannot ${action} ${path}: ${reason}`, {
    cause: error,
    hint: "choose another folder with --output, or fix its permissions",
  });
}

function _validate(options: ScaffoldOptions): void {
  for (
    const [label, flag, value] of [
      ["the description", "--description", options.description],
      ["the author", "--author", options.author],
    ] as const
  ) {
    const problem = textProblem(label, value);
    if (problem) throw new UsageError(problem, { hint: `pass ${flag} "…"` });
  }
}

async function _checkTarget(target: string, force: boolean): Promise<"absent" | "empty" | "nonempty"> {
  const info = await _existing(target);
  if (!info) return "absent";
  if (!info.isDirectory) {
    throw new UsageError(`${target} exists and is not a folder`, {
      hint: "choose another folder with --output",
    });
  }
  if (await _isEmptyDir(target)) return "empty";
  if (!force) {
    throw new UsageError(`${target} already exists and is not empty`, {
      hint: "choose another folder with --output, or pass --force to write the template's files into it",
    });
  }
  return "nonempty";
}

/** Moves every file of `from` into `to` (both on the same file system), creating folders as needed. */
async function _moveInto(from: string, to: string, files: string[]): Promise<void> {
  for (const file of files) {
    const dest = join(to, file);
    await Deno.mkdir(dirname(dest), { recursive: true });
    const existing = await _existing(dest);
    if (existing?.isDirectory) throw new UsageError(`${dest} is a folder; the template writes a file there`);
    await Deno.rename(join(from, file), dest);
  }
}

export async function scaffoldPlugin(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const name = parsePluginName(options.name);
  _validate(options);
  const target = resolve(options.cwd ?? Deno.cwd(), options.target ?? name.folder);
  const folder = basename(target);
  if (packageNameProblem(folder)) {
    throw new UsageError(
      `--output ${options.target}: the folder name "${folder}" is not a Python package name, and the folder ` +
        "is the package Mixpeek imports",
      {
        hint: `name the folder like the package, e.g. --output ${
          join(dirname(options.target ?? "."), name.package)
        }`,
      },
    );
  }
  const state = await _checkTarget(target, options.force).catch((error) => {
    throw error instanceof UsageError ? error : _ioError("use", target, error);
  });
  const files = renderPlugin({
    name: name.package,
    title: name.title,
    className: name.className,
    description: options.description,
    author: options.author,
    category: options.category,
    resource: options.resource,
    realtime: options.realtime,
    version: INITIAL_VERSION,
  });

  const parent = dirname(target);
  let createdParents: string[] = [];
  let staging: string | undefined;
  try {
    createdParents = await _makeParents(parent).catch((e) => {
      throw _ioError("create folder", parent, e);
    });
    staging = await Deno.makeTempDir({ dir: parent, prefix: ".mixpeek-init-" }).catch((e) => {
      throw _ioError("write to", parent, e);
    });
    for (const [path, content] of files) {
      const dest = join(staging, path);
      await Deno.mkdir(dirname(dest), { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(dest, content);
      else await Deno.writeFile(dest, content);
    }
    // makeTempDir creates the folder private (0700); a plugin folder is an ordinary one (0755).
    if (Deno.build.os !== "windows") await Deno.chmod(staging, 0o755);
    if (state === "nonempty") {
      await _moveInto(staging, target, [...files.keys()]);
    } else {
      if (state === "empty") await Deno.remove(target);
      await Deno.rename(staging, target);
      staging = undefined;
    }
  } catch (error) {
    if (staging) await Deno.remove(staging, { recursive: true }).catch(() => {});
    for (const d of createdParents.reverse()) await Deno.remove(d).catch(() => {});
    if (error instanceof UsageError || error instanceof FailedError) throw error;
    throw _ioError("write plugin to", target, error);
  }
  if (staging) await Deno.remove(staging, { recursive: true }).catch(() => {});

  return {
    name: name.package,
    title: name.title,
    folder: target,
    category: options.category,
    resource_type: options.resource,
    realtime: options.realtime,
    version: INITIAL_VERSION,
    files: [...files.keys()],
  };
}
