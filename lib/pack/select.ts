/**
 * Which files of a plugin folder go into its archive, and whether the folder may be packed at all.
 *
 * Policy (the contract `plugin pack`, `plugin publish` and the local registry rely on):
 *
 * - **Excluded, always**: `.git` (folder or file) at any depth, folders holding a `pyvenv.cfg` (virtual
 *   environments, whatever their name), the archive being written and `.*.mixpeek-tmp` temp files.
 * - **Excluded by default** (gitignore patterns, which a `!` line can re-include): `__pycache__/`, `*.pyc`,
 *   `*.pyo`, `.venv/`, `venv/`, `node_modules/`, `.pytest_cache/`, `.mypy_cache/`, `.ruff_cache/`, `.tox/`,
 *   `.nox/`, `.hypothesis/`, `.coverage`, `*.egg-info/`, `.DS_Store`, `Thumbs.db`, `.idea/`, `.vscode/`,
 *   `.hg/`, `.svn/`, `dist/`, and previous archives `*.tar.gz` / `*.tgz`.
 * - **Ignore files**: `.gitignore` and `.mixpeekignore` in the plugin folder and any sub-folder, with
 *   gitignore semantics (lib/pack/ignore.ts). The order, last match wins: defaults, then every `.gitignore`
 *   (outer before inner), then every `.mixpeekignore` (outer before inner) — so a `.mixpeekignore` line like
 *   `!weights.onnx` brings back a file `.gitignore` keeps out of git, as Apify's `.actorignore` does.
 *   Ignore files above the plugin folder and git's global excludes are not read.
 * - **Secrets** (lib/pack/secrets.ts): a file flagged by name or content stops the pack, listing every
 *   such file; leave it out with `.mixpeekignore` or ship it anyway with `--allow-secret PATH` (a file, or a
 *   folder to allow everything flagged below it).
 * - **Symlinks**: one pointing inside the plugin is followed and stored as what it points to (a file's
 *   content, a folder's files under the link's path), because the archive holds regular files only. One
 *   pointing outside the plugin, a broken one and a loop are refused with their path.
 * - **Special files** (sockets, FIFOs, devices) are skipped with a warning.
 * - **Empty folders** are not stored (the archive holds files only, like git); empty files are.
 * - **Names** are stored NFC-normalised; a name with a backslash, a control character or invalid UTF-8, and
 *   two names that collide after NFC and case folding, are refused (lib/pack/paths.ts).
 * - **Modes**: 0755 when any execute bit is set, else 0644.
 * - **Limits** (DEFAULT_LIMITS, flags `--max-size`, `--max-files`, `--max-file-size`): the total of the
 *   files' sizes (uncompressed), the number of files, and each file's size.
 *
 * Every refusal is a `PackRejectedError` (a ValidationError, exit code 3) listing all offending files and what
 * to do; nothing here prints.
 *
 * @module
 */
import { FailedError, UsageError, ValidationError } from "../errors.ts";
import { compilePattern, type IgnoreRule, lastMatch, parseIgnoreFile } from "./ignore.ts";
import {
  collisionKey,
  componentProblem,
  isAbsolutePath,
  showPath,
  sortByArchivePath,
  toSlashes,
} from "./paths.ts";
import { SCAN_BUFFER_BYTES, scanFileForSecrets, secretByName } from "./secrets.ts";
import { formatBytes } from "./size.ts";

export interface SelectedFile {
  /** Archive path: relative, `/`-separated, NFC. */
  path: string;
  /** Where to read the content (a symlink's resolved target). */
  abs_path: string;
  size: number;
  mode: 0o644 | 0o755;
}

export interface PackLimits {
  /** Sum of the files' (uncompressed) sizes. */
  max_total_bytes: number;
  max_files: number;
  max_file_bytes: number;
}

const MiB = 1024 * 1024;

/**
 * Mixpeek's plugin limits (SPEC §7): 500 MB of files once extracted, at most 1,000 files (so no file can be
 * over 500 MB either). The archive's own 500 MB limit is checked by pack.ts once it is written.
 */
export const DEFAULT_LIMITS: PackLimits = Object.freeze({
  max_total_bytes: 500 * MiB,
  max_files: 1000,
  max_file_bytes: 500 * MiB,
});

export interface SelectOptions {
  /** Archive paths (or folders) of flagged secrets to pack anyway. */
  allow_secrets?: string[];
  limits?: Partial<PackLimits>;
  /** Absolute paths never packed (the archive being written, when it is inside the plugin). */
  exclude_paths?: string[];
  signal?: AbortSignal;
}

export interface SelectResult {
  /** Sorted by the UTF-8 bytes of `path`. */
  files: SelectedFile[];
  warnings: string[];
  /** Sum of the files' sizes. */
  total_bytes: number;
}

export type PackProblemKind = "secret" | "symlink" | "name" | "limit" | "unreadable";

export interface PackProblem {
  kind: PackProblemKind;
  /** Archive path of the offending file (or folder). */
  path: string;
  /** 1-based line of a secret found in the content. */
  line?: number;
  message: string;
}

/** The plugin folder cannot be packed as it is; `problems` lists every reason (exit code 3). */
export class PackRejectedError extends ValidationError {
  readonly problems: PackProblem[];

  constructor(message: string, problems: PackProblem[], hint: string) {
    super(message, { hint });
    this.problems = problems;
  }
}

const DEFAULT_PATTERNS = [
  "__pycache__/",
  "*.pyc",
  "*.pyo",
  ".venv/",
  "venv/",
  "node_modules/",
  ".pytest_cache/",
  ".mypy_cache/",
  ".ruff_cache/",
  ".tox/",
  ".nox/",
  ".hypothesis/",
  ".coverage",
  "*.egg-info/",
  ".DS_Store",
  "Thumbs.db",
  ".idea/",
  ".vscode/",
  ".hg/",
  ".svn/",
  "dist/",
  "*.tar.gz",
  "*.tgz",
];

const DEFAULT_RULES: IgnoreRule[] = DEFAULT_PATTERNS.map((p) => compilePattern(p, "", "(default)")!);

/** Temp files written beside an archive: `.<name>.<random>.mixpeek-tmp`. */
export const TEMP_SUFFIX = ".mixpeek-tmp";

interface Rules {
  git: IgnoreRule[];
  mix: IgnoreRule[];
}

interface WalkState {
  root: string;
  limits: PackLimits;
  exclude: Set<string>;
  signal?: AbortSignal;
  files: SelectedFile[];
  /** Secret kind by archive path, for files flagged by name (scanned no further). */
  flagged: Map<string, string>;
  warnings: string[];
  problems: PackProblem[];
  total: number;
}

function _isIgnored(rules: Rules, path: string, isDir: boolean): boolean {
  const rule = lastMatch(rules.mix, path, isDir) ?? lastMatch(rules.git, path, isDir) ??
    lastMatch(DEFAULT_RULES, path, isDir);
  return rule !== undefined && !rule.negate;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function _pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function _checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason;
}

async function _readIgnoreFile(abs: string, base: string, label: string): Promise<IgnoreRule[]> {
  try {
    return parseIgnoreFile((await Deno.readTextFile(abs)).normalize("NFC"), base, label);
  } catch (error) {
    throw new FailedError(`cannot read ${label}: ${(error as Error).message}`, {
      hint: "fix its permissions, or remove it",
      cause: error,
    });
  }
}

function _specialKind(info: Deno.FileInfo): string {
  if (info.isSocket) return "socket";
  if (info.isFifo) return "FIFO";
  if (info.isCharDevice) return "character device";
  if (info.isBlockDevice) return "block device";
  return "special file";
}

function _inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : root + "/");
}

function _rel(root: string, abs: string): string {
  return abs === root ? "." : abs.slice(root.length + (root === "/" ? 0 : 1));
}

/** What a symlink resolves to, without judging it yet (ignore rules decide first). */
type LinkTarget =
  | { ok: true; real: string; info: Deno.FileInfo }
  | { ok: false; why: string };

async function _resolveLink(abs: string, root: string): Promise<LinkTarget> {
  let real: string;
  try {
    real = toSlashes(await Deno.realPath(abs));
  } catch (error) {
    if (error instanceof Deno.errors.FilesystemLoop) return { ok: false, why: "is a symlink loop" };
    if (error instanceof Deno.errors.NotFound) {
      const target = await Deno.readLink(abs).catch(() => "?");
      return { ok: false, why: `is a broken symlink (→ ${target})` };
    }
    return { ok: false, why: `cannot be resolved: ${(error as Error).message}` };
  }
  if (!_inside(root, real)) {
    const target = await Deno.readLink(abs).catch(() => real);
    return { ok: false, why: `is a symlink pointing outside the plugin (→ ${target})` };
  }
  try {
    return { ok: true, real, info: await Deno.stat(real) };
  } catch (error) {
    return { ok: false, why: `cannot be read: ${(error as Error).message}` };
  }
}

function _addFile(state: WalkState, path: string, absPath: string, info: Deno.FileInfo) {
  if (state.files.length >= state.limits.max_files) {
    throw _tooManyFiles(state, path);
  }
  const mode = ((info.mode ?? 0o644) & 0o111) !== 0 ? 0o755 : 0o644;
  state.files.push({ path, abs_path: absPath, size: info.size, mode });
  state.total += info.size;
  if (info.size > state.limits.max_file_bytes) {
    state.problems.push({
      kind: "limit",
      path,
      message: `${formatBytes(info.size)}, over the ${
        formatBytes(state.limits.max_file_bytes)
      } limit for one file`,
    });
  }
  // A file reached through a symlink is also judged by its real name (`config -> .aws/credentials`).
  const realRel = _rel(state.root, absPath);
  const kind = secretByName(path) ?? (realRel !== path ? secretByName(realRel) : undefined);
  if (kind) state.flagged.set(path, kind);
}

function _tooManyFiles(state: WalkState, at: string): PackRejectedError {
  const counts = new Map<string, number>();
  for (const f of state.files) {
    const top = f.path.includes("/") ? f.path.slice(0, f.path.indexOf("/") + 1) : "(top level)";
    counts.set(top, (counts.get(top) ?? 0) + 1);
  }
  const biggest = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([d, n]) => `${d} ${n} files`);
  const problem: PackProblem = {
    kind: "limit",
    path: at,
    message: `more than the ${state.limits.max_files}-file limit (stopped at ${at}); most files so far: ${
      biggest.join(", ")
    }`,
  };
  return _rejection(state.root, [problem]);
}

async function _walk(state: WalkState, absDir: string, rel: string, parent: Rules, ancestors: string[]) {
  _checkAbort(state.signal);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(absDir));
  } catch (error) {
    state.problems.push({
      kind: "unreadable",
      path: rel || ".",
      message: `cannot list: ${(error as Error).message}`,
    });
    return;
  }
  if (rel !== "" && entries.some((e) => e.name === "pyvenv.cfg")) return; // a virtual environment
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const rules: Rules = { git: parent.git, mix: parent.mix };
  for (const [name, kind] of [[".gitignore", "git"], [".mixpeekignore", "mix"]] as const) {
    const entry = entries.find((e) => e.name === name && !e.isDirectory);
    if (!entry) continue;
    const label = rel ? `${rel}/${name}` : name;
    const own = await _readIgnoreFile(`${absDir}/${name}`, rel, label);
    if (own.length > 0) rules[kind] = [...rules[kind], ...own];
  }

  const lstats = new Map<string, Deno.FileInfo>();
  await _pool(entries.filter((e) => e.isFile), 32, async (e) => {
    lstats.set(e.name, await Deno.lstat(`${absDir}/${e.name}`));
  });

  for (const entry of entries) {
    const name = entry.name;
    const abs = `${absDir}/${name}`;
    const path = rel ? `${rel}/${name.normalize("NFC")}` : name.normalize("NFC");
    if (name === ".git" || (name.startsWith(".") && name.endsWith(TEMP_SUFFIX))) continue;
    if (state.exclude.has(abs)) {
      if (!_isIgnored(rules, path, false)) {
        state.warnings.push(
          `the archive ${
            showPath(path)
          } is inside the plugin and only skipped because it is being written: ` +
            "name it *.tar.gz, put it in dist/ or list it in .mixpeekignore, or a later pack will include it",
        );
      }
      continue;
    }

    let link: LinkTarget | undefined;
    let isDir = entry.isDirectory;
    if (entry.isSymlink) {
      link = await _resolveLink(abs, state.root);
      isDir = link.ok && link.info.isDirectory;
    }
    if (_isIgnored(rules, path, isDir)) continue;

    const nameProblem = componentProblem(name);
    if (nameProblem) {
      state.problems.push({ kind: "name", path, message: `the name ${nameProblem}` });
      continue;
    }
    if (link && !link.ok) {
      state.problems.push({ kind: "symlink", path, message: link.why });
      continue;
    }
    if (link && link.ok) {
      const target = link.real;
      if (link.info.isDirectory) {
        if (target === state.root || ancestors.includes(target)) {
          const shown = _rel(state.root, target);
          state.problems.push({
            kind: "symlink",
            path,
            message: `is a symlink loop (→ ${shown}, which contains it)`,
          });
          continue;
        }
        await _walk(state, target, path, rules, [...ancestors, target]);
      } else if (link.info.isFile) {
        _addFile(state, path, target, link.info);
      } else {
        state.warnings.push(`skipped ${showPath(path)}: a symlink to a ${_specialKind(link.info)}`);
      }
      continue;
    }
    if (entry.isDirectory) {
      await _walk(state, abs, path, rules, [...ancestors, abs]);
    } else if (entry.isFile) {
      _addFile(state, path, abs, lstats.get(name)!);
    } else {
      const info = await Deno.lstat(abs);
      state.warnings.push(`skipped ${showPath(path)}: a ${_specialKind(info)} cannot be packed`);
    }
  }
}

/** Checks names that would collide after NFC and case folding, a file against a folder included. */
function _collisions(files: SelectedFile[]): PackProblem[] {
  const problems: PackProblem[] = [];
  const fileKeys = new Map<string, string>();
  const dirKeys = new Map<string, string>();
  for (const f of files) {
    const key = collisionKey(f.path);
    const other = fileKeys.get(key);
    if (other !== undefined) {
      problems.push({
        kind: "name",
        path: f.path,
        message: `collides with ${showPath(other)} (names equal after Unicode normalisation or case folding)`,
      });
      continue;
    }
    fileKeys.set(key, f.path);
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const dk = collisionKey(dir);
      if (!dirKeys.has(dk)) dirKeys.set(dk, dir);
    }
  }
  for (const [key, path] of fileKeys) {
    const dir = dirKeys.get(key);
    if (dir !== undefined) {
      problems.push({
        kind: "name",
        path,
        message: `collides with the folder ${showPath(dir)} (names equal after case folding)`,
      });
    }
  }
  return problems;
}

/** Normalises an `--allow-secret` value to an archive path ("" allows everything). */
function _allowKey(root: string, value: string): string {
  let p = value.replaceAll("\\", "/");
  if (isAbsolutePath(p)) p = _inside(root, p) ? _rel(root, p) : p;
  p = p.replace(/^(\.\/)+/, "").replace(/\/+$/, "").replace(/\/+/g, "/");
  return p === "." ? "" : p.normalize("NFC");
}

function _allowed(allow: string[], path: string): string | undefined {
  return allow.find((a) => a === "" || path === a || path.startsWith(a + "/"));
}

function _rejection(root: string, problems: PackProblem[]): PackRejectedError {
  const kinds = new Set(problems.map((p) => p.kind));
  const n = problems.length;
  const what = kinds.size === 1 && kinds.has("secret")
    ? `${n} ${n === 1 ? "file looks" : "files look"} like ${n === 1 ? "a secret" : "secrets"}`
    : `${n} ${n === 1 ? "problem" : "problems"}`;
  const lines = [`cannot pack ${root}: ${what}`];
  for (const p of problems) lines.push(`  ${showPath(p.path)}${p.line ? `:${p.line}` : ""}: ${p.message}`);
  const secrets = problems.filter((p) => p.kind === "secret").map((p) => p.path);
  const hints: string[] = [];
  if (secrets.length > 0) {
    lines.push(
      "Leave a file out by adding its path to .mixpeekignore, or pack a flagged file anyway with",
      `(paths relative to the plugin folder): ${
        secrets.map((s) => `--allow-secret ${showPath(s)}`).join(" ")
      }`,
    );
    hints.push("add secrets to .mixpeekignore, or pass --allow-secret PATH for each file you mean to ship");
  }
  if (kinds.has("limit")) {
    hints.push(
      "raise the limit (--max-size, --max-files, --max-file-size) or exclude files in .mixpeekignore",
    );
  }
  if (kinds.has("symlink")) {
    hints.push("replace the link with a copy of its target, or exclude it in .mixpeekignore");
  }
  if (kinds.has("name")) hints.push("rename the file, or exclude it in .mixpeekignore");
  if (kinds.has("unreadable")) hints.push("fix its permissions, or exclude it in .mixpeekignore");
  return new PackRejectedError(lines.join("\n"), problems, hints.join("; "));
}

/** Resolves the plugin folder; a missing folder or a file is a usage error naming `--path`. */
export async function resolveRoot(root: string): Promise<string> {
  let real: string;
  try {
    real = toSlashes(await Deno.realPath(root));
  } catch (error) {
    throw new UsageError(`plugin folder ${root} does not exist`, {
      hint: "pass the folder with --path",
      cause: error,
    });
  }
  if (!(await Deno.stat(real)).isDirectory) {
    throw new UsageError(`${root} is not a folder`, { hint: "pass the plugin folder with --path" });
  }
  return real;
}

/**
 * Walks the plugin folder and returns the files to pack, sorted, after applying the ignore rules, the
 * secret guard, the symlink policy and the limits. Throws PackRejectedError listing every problem.
 */
export async function selectFiles(root: string, options: SelectOptions = {}): Promise<SelectResult> {
  const rootReal = await resolveRoot(root);
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const state: WalkState = {
    root: rootReal,
    limits,
    exclude: new Set((options.exclude_paths ?? []).map((p) => toSlashes(p))),
    signal: options.signal,
    files: [],
    flagged: new Map(),
    warnings: [],
    problems: [],
    total: 0,
  };
  await _walk(state, rootReal, "", { git: [], mix: [] }, [rootReal]);

  const problems = [...state.problems, ..._collisions(state.files)];
  if (state.total > limits.max_total_bytes) {
    const largest = [...state.files].sort((a, b) => b.size - a.size).slice(0, 5)
      .map((f) => `${showPath(f.path)} ${formatBytes(f.size)}`);
    problems.push({
      kind: "limit",
      path: ".",
      message: `the files add up to ${formatBytes(state.total)}, over the ${
        formatBytes(limits.max_total_bytes)
      } limit; largest: ${largest.join(", ")}`,
    });
  }

  const allow = (options.allow_secrets ?? []).map((a) => _allowKey(rootReal, a));
  const used = new Set<string>();
  const allowedSecrets: string[] = [];
  const secret = (path: string, kind: string, line?: number) => {
    const rule = _allowed(allow, path);
    if (rule !== undefined) {
      used.add(rule);
      allowedSecrets.push(path);
    } else problems.push({ kind: "secret", path, line, message: kind });
  };
  for (const [path, kind] of state.flagged) secret(path, kind);

  // Reading every text file is the expensive part: skip it when the pack is refused anyway for its size.
  if (!problems.some((p) => p.kind === "limit")) {
    const toScan = state.files.filter((f) => !state.flagged.has(f.path));
    const found = new Map<string, { kind: string; line: number }>();
    const buffers: Uint8Array[] = [];
    await _pool(toScan, 8, async (f) => {
      _checkAbort(state.signal);
      const buffer = buffers.pop() ?? new Uint8Array(SCAN_BUFFER_BYTES);
      try {
        const hit = await scanFileForSecrets(f.abs_path, buffer);
        if (hit) found.set(f.path, hit);
      } catch (error) {
        problems.push({
          kind: "unreadable",
          path: f.path,
          message: `cannot read: ${(error as Error).message}`,
        });
      } finally {
        buffers.push(buffer);
      }
    });
    for (const f of toScan) {
      const hit = found.get(f.path);
      if (hit) secret(f.path, hit.kind, hit.line);
    }
  }
  _checkAbort(state.signal);

  if (problems.length > 0) {
    throw _rejection(rootReal, sortByArchivePath(problems, (p) => p.path));
  }
  const warnings = [...state.warnings];
  if (allowedSecrets.length > 0) {
    warnings.push(
      `packing flagged files because of --allow-secret: ${allowedSecrets.map(showPath).join(", ")}`,
    );
  }
  for (const a of allow) {
    if (!used.has(a)) warnings.push(`--allow-secret ${a === "" ? "." : showPath(a)} matched no flagged file`);
  }
  return { files: sortByArchivePath(state.files, (f) => f.path), warnings, total_bytes: state.total };
}
