/**
 * Packs a plugin folder into a deterministic `.tar.gz` or `.zip` (SPEC §7), streaming end to end:
 * walk (lib/pack/select.ts) → tar (lib/pack/tar.ts) → gzip, or zip (lib/pack/zip.ts) → sha256 → disk, with
 * memory bounded by a 1 MiB read buffer and the pieces being deflated whatever the plugin's size.
 *
 * - One top-level folder holds the files, named like the package: the platform imports the plugin as that
 *   package (SPEC §3), and Ray's working_dir wants a single top-level folder. `folder` names it (publish
 *   passes the manifest's plugin name); otherwise it is the plugin folder's own name when that is a Python
 *   package name, or that name with `-` as `_` (an old kebab-case folder), and a folder that is neither is
 *   refused with the rename to make.
 * - Mixpeek's limits, checked before anything is sent (the message names the limit): 500 MB of files
 *   (extracted), 1,000 files, 500 MB archived (DEFAULT_LIMITS; flags can change them for `plugin pack`).
 *
 * - Same folder, same bytes, on any machine and any day: entries sorted by path, fixed mtime, uid/gid 0, no
 *   user/group names, modes 0644/0755; gzip with a header fixed to no file name, mtime 0, XFL 0 and OS 3
 *   (Unix). The deflate stream is made of 1 MiB pieces deflated independently on every core
 *   (lib/pack/deflate.ts: node:zlib's zlib-rs, level 6), so the bytes do not depend on the thread count.
 *   One thread (Deno's CompressionStream, or `tar -czf`) was the limit on a 500 MB plugin; each piece's
 *   fresh window costs ~0.1% of size. zlib-rs does not match classic zlib byte for byte; it gives the same
 *   output on every CPU, but a later Deno release may bundle a zlib-rs that compresses differently: the
 *   guarantee is per mixpeek build, which pins its Deno.
 * - Default output: `<plugin>/dist/<plugin folder name>.tar.gz` (`dist/` is excluded from packing, like
 *   `python -m build`). `--output FILE` writes elsewhere; an existing folder, or a path ending in `/`, gets
 *   the default file name inside it. Missing parent folders are created once the plugin passed its checks
 *   (and removed again if the pack then fails). Whatever the output, the archive itself, previous archives
 *   (`*.tar.gz`, `*.tgz`, anything in `dist/`) and temp files are never packed; an output inside the plugin
 *   that no rule would exclude gets a warning, since a later pack to another path would include it.
 * - The archive is written to `.<name>.<random>.mixpeek-tmp` beside the output and renamed into place; on
 *   any failure or an abort (Ctrl-C, through `signal`) the temp file is removed and nothing is left behind.
 * - A file that changes size between the walk and the read fails the pack (the tar header already holds
 *   its size).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { FailedError, InterruptedError, MixpeekError, UsageError } from "../errors.ts";
import { PYTHON_KEYWORDS } from "../python_keywords.ts";
import { isAbsolutePath, toSlashes } from "./paths.ts";
import {
  PackRejectedError,
  resolveRoot,
  type SelectedFile,
  selectFiles,
  type SelectOptions,
  TEMP_SUFFIX,
} from "./select.ts";
import { formatBytes } from "./size.ts";
import { dataPadding, endOfArchive, fileHeader } from "./tar.ts";
import { deflateStream, OrderedWriter, PieceDeflater, SEGMENT_BYTES } from "./deflate.ts";
import { writeZip } from "./zip.ts";

/** The archive formats (SPEC §7). */
export type PackFormat = "tar.gz" | "zip";
export const PACK_FORMATS: readonly PackFormat[] = ["tar.gz", "zip"];

/** `--format zip|tar.gz`; undefined when not given; a usage error naming the choices otherwise. */
export function parsePackFormat(raw: string | undefined): PackFormat | undefined {
  if (raw === undefined) return undefined;
  if ((PACK_FORMATS as readonly string[]).includes(raw)) return raw as PackFormat;
  throw new UsageError(`--format ${JSON.stringify(raw)} is not an archive format`, {
    hint: `pass --format ${PACK_FORMATS.join(" or --format ")}`,
  });
}

export interface PackResult {
  /** Absolute path of the archive. */
  path: string;
  format: PackFormat;
  /** The archive's one top-level folder (the package name); `files` are inside it. */
  folder: string;
  /** Archive size in bytes. */
  size: number;
  /** Hex sha256 of the archive. */
  sha256: string;
  file_count: number;
  /** Paths inside the top-level folder, in archive order. */
  files: string[];
  /** Sum of the files' sizes before compression. */
  unpacked_size: number;
  /** Skipped special files, packed-anyway secrets, unused --allow-secret values. */
  warnings: string[];
}

export interface PackOptions extends SelectOptions {
  /** Archive path; default `<plugin>/dist/<folder>.tar.gz` (or `.zip`). */
  output?: string;
  /** Default tar.gz. */
  format?: PackFormat;
  /** The top-level folder (a Python package name); default from the plugin folder's name. */
  folder?: string;
  /** Largest archive (compressed) accepted; default DEFAULT_MAX_ARCHIVE_BYTES. */
  max_archive_bytes?: number;
  signal?: AbortSignal;
  /** Progress: bytes of file data read (and compressed and hashed) so far, of the files' total. */
  onProgress?: (done: number, total: number) => void;
}

/** Mixpeek's upload limit: 500 MB (524,288,000 bytes, as the API's file_size_bytes maximum). */
export const DEFAULT_MAX_ARCHIVE_BYTES = 500 * 1024 * 1024;

const PACKAGE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function _isPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name) && !PYTHON_KEYWORDS.has(name);
}

/**
 * The top-level folder for a plugin folder: its name when that is a Python package name, else that name
 * with `-` as `_`; a UsageError naming the rename otherwise.
 */
export function archiveFolderName(rootReal: string): string {
  const base = _basename(rootReal).normalize("NFC");
  if (_isPackageName(base)) return base;
  const snake = base.replace(/-/g, "_");
  if (_isPackageName(snake)) return snake;
  throw new UsageError(
    `the plugin folder's name ${JSON.stringify(base)} is not a Python package name, and the archive's top ` +
      "folder must be one (the platform imports the plugin as that package)",
    { hint: "rename the folder to a name like my_plugin (letters, digits and _, not starting with a digit)" },
  );
}

function _basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || "plugin";
}

function _dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function _absolute(path: string): string {
  const p = toSlashes(path);
  return isAbsolutePath(p) ? p : `${toSlashes(Deno.cwd())}/${p}`;
}

/** The default archive path for a plugin folder (already resolved). */
export function defaultOutputPath(
  rootReal: string,
  format: PackFormat = "tar.gz",
  name: string = _basename(rootReal),
): string {
  return `${rootReal}/dist/${name}.${format}`;
}

/** `/a/./b/../c` → `/a/c` (lexically, for folders that do not exist yet); a Windows drive (`C:`) is kept. */
function _normalize(abs: string): string {
  const drive = abs.match(/^[A-Za-z]:(?=\/)/)?.[0] ?? "";
  const parts: string[] = [];
  for (const part of abs.slice(drive.length).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return drive + "/" + parts.join("/");
}

interface OutputPlan {
  /** The archive path, through the real path of its nearest existing folder. */
  path: string;
  /** Folders to create before writing, outermost first (removed again when the pack fails). */
  missing: string[];
}

/** Decides the archive path without touching the disk, so a refused pack leaves nothing behind. */
async function _planOutput(
  rootReal: string,
  output: string | undefined,
  format: PackFormat,
  name: string,
): Promise<OutputPlan> {
  let target = _normalize(
    output === undefined ? defaultOutputPath(rootReal, format, name) : _absolute(output),
  );
  const info = await Deno.stat(target).catch(() => undefined);
  if (output !== undefined && (output.endsWith("/") || info?.isDirectory)) {
    target = `${target === "/" ? "" : target}/${name}.${format}`;
  }
  const names: string[] = [];
  let dir = _dirname(target);
  let dirInfo = await Deno.stat(dir).catch(() => undefined);
  while (dirInfo === undefined && dir !== "/") {
    names.unshift(_basename(dir));
    dir = _dirname(dir);
    dirInfo = await Deno.stat(dir).catch(() => undefined);
  }
  if (!dirInfo?.isDirectory) {
    throw new UsageError(`cannot write ${target}: ${dir} is not a folder`, {
      hint: "pass a writable --output FILE",
    });
  }
  let real = await Deno.realPath(dir);
  const missing: string[] = [];
  for (const name of names) {
    real = `${real === "/" ? "" : real}/${name}`;
    missing.push(real);
  }
  const path = `${real === "/" ? "" : real}/${_basename(target)}`;
  if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) {
    throw new UsageError(`the output ${path} is a folder`, { hint: "pass --output FILE" });
  }
  return { path, missing };
}

async function _makeFolders(plan: OutputPlan): Promise<void> {
  for (const dir of plan.missing) {
    try {
      await Deno.mkdir(dir);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw new UsageError(`cannot create the output folder ${dir}: ${(error as Error).message}`, {
        hint: "pass a writable --output FILE",
        cause: error,
      });
    }
  }
}

/** Removes the folders `_makeFolders` created, innermost first, only while they are empty. */
async function _removeFolders(plan: OutputPlan): Promise<void> {
  for (const dir of [...plan.missing].reverse()) {
    try {
      await Deno.remove(dir);
    } catch {
      return;
    }
  }
}

/**
 * Produces the uncompressed tar stream of `files` (already sorted and checked) into buffers the caller owns,
 * so the hot loop allocates nothing per chunk. Each file must still have the size it had when selected.
 */
class TarFiller {
  readonly #files: readonly SelectedFile[];
  readonly #prefix: string;
  #index = 0;
  #written = 0;
  #ended = false;
  #pending: Uint8Array[] = [];
  #current: { file: Deno.FsFile; entry: SelectedFile; remaining: number } | undefined;
  readonly #probe = new Uint8Array(1);

  readonly #onData?: (bytes: number) => void;

  constructor(files: readonly SelectedFile[], prefix: string, onData?: (bytes: number) => void) {
    this.#files = files;
    this.#prefix = prefix;
    this.#onData = onData;
  }

  /** Fills `buffer` with the next tar bytes; returns how many (less than its length only at the end). */
  async fill(buffer: Uint8Array): Promise<number> {
    let pos = 0;
    while (pos < buffer.length) {
      const current = this.#current;
      if (this.#pending.length > 0) {
        const head = this.#pending[0];
        const n = Math.min(head.length, buffer.length - pos);
        buffer.set(head.subarray(0, n), pos);
        pos += n;
        if (n === head.length) this.#pending.shift();
        else this.#pending[0] = head.subarray(n);
      } else if (current && current.remaining > 0) {
        const want = Math.min(current.remaining, buffer.length - pos);
        const n = await current.file.read(buffer.subarray(pos, pos + want));
        if (n === null) throw _changed(current.entry, "shrank");
        pos += n;
        current.remaining -= n;
        this.#onData?.(n);
      } else if (current) {
        await this.#finishCurrent(current);
      } else if (this.#index < this.#files.length) {
        await this.#openNext();
      } else if (!this.#ended) {
        this.#ended = true;
        this.#pending.push(endOfArchive(this.#written + pos));
      } else {
        break;
      }
    }
    this.#written += pos;
    return pos;
  }

  close(): void {
    this.#current?.file.close();
    this.#current = undefined;
  }

  async #openNext(): Promise<void> {
    const entry = this.#files[this.#index++];
    this.#pending.push(fileHeader(`${this.#prefix}${entry.path}`, entry.size, entry.mode));
    let file: Deno.FsFile;
    try {
      file = await Deno.open(entry.abs_path, { read: true });
    } catch (error) {
      throw new FailedError(`cannot read ${entry.path} while packing: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#current = { file, entry, remaining: entry.size };
  }

  async #finishCurrent(current: { file: Deno.FsFile; entry: SelectedFile }): Promise<void> {
    const extra = await current.file.read(this.#probe);
    this.close();
    if (extra !== null) throw _changed(current.entry, "grew");
    const pad = dataPadding(current.entry.size);
    if (pad > 0) this.#pending.push(ZEROS.subarray(0, pad));
  }
}

const ZEROS = new Uint8Array(512);

function _changed(entry: SelectedFile, how: string): FailedError {
  return new FailedError(`${entry.path} changed while packing (it ${how}); nothing was written`, {
    hint: "stop whatever is writing to the plugin folder, then pack again",
  });
}

/** The gzip header, fixed for reproducibility: deflate, no flags, MTIME 0, XFL 0, OS 3 (Unix). */
const GZIP_HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

/** The gzip trailer: CRC-32 and the input's size modulo 2^32, little-endian. */
function _gzipTrailer(crc: number, size: number): Uint8Array {
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, size % 2 ** 32, true);
  return trailer;
}

/** Writes all of `bytes` (a file's write may take only part). */
async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/** Counts, hashes and writes the archive's bytes. */
class _HashingSink {
  size = 0;
  readonly #hash = createHash("sha256");
  readonly #file: Deno.FsFile;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  readonly write = async (bytes: Uint8Array): Promise<void> => {
    this.#hash.update(bytes);
    this.size += bytes.length;
    await _writeAll(this.#file, bytes);
  };

  sha256(): string {
    return this.#hash.digest("hex");
  }
}

/**
 * Streams `files` as a deterministic .tar.gz into `file`, each under `folder/`; returns its size and sha256.
 * The tar stream is cut into SEGMENT_BYTES pieces that `deflater` compresses (on worker threads when it has
 * them) while the next piece is read; one gzip member holds them all (lib/pack/deflate.ts).
 */
export async function writeTarGz(
  files: readonly SelectedFile[],
  file: Deno.FsFile,
  signal?: AbortSignal,
  folder = "",
  onData?: (bytes: number) => void,
  deflater?: PieceDeflater,
): Promise<{ size: number; sha256: string }> {
  using own = deflater ? undefined : await PieceDeflater.open(0);
  const compressor = deflater ?? own!;
  const sink = new _HashingSink(file);
  const out = new OrderedWriter(sink.write, 2 * compressor.workers + 2);
  const tar = new TarFiller(files, folder === "" ? "" : `${folder}/`, onData);
  try {
    await out.push(GZIP_HEADER);
    const buffer = new Uint8Array(SEGMENT_BYTES);
    const { crc, size } = await deflateStream((b) => tar.fill(b), compressor, out, buffer, signal);
    await out.push(_gzipTrailer(crc, size));
    await out.flush();
  } finally {
    tar.close();
  }
  return { size: sink.size, sha256: sink.sha256() };
}

/** Streams `files` as a deterministic .zip into `file`, each under `folder/`; returns its size and sha256. */
export async function writeZipFile(
  files: readonly SelectedFile[],
  file: Deno.FsFile,
  signal?: AbortSignal,
  folder = "",
  onData?: (bytes: number) => void,
  deflater?: PieceDeflater,
): Promise<{ size: number; sha256: string }> {
  const sink = new _HashingSink(file);
  const prefix = folder === "" ? "" : `${folder}/`;
  await writeZip(
    files.map((f) => ({ name: `${prefix}${f.path}`, file: f })),
    sink.write,
    signal,
    onData,
    deflater,
  );
  return { size: sink.size, sha256: sink.sha256() };
}

function _randomTag(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
}

/**
 * Packs the plugin folder `root` into a .tar.gz or .zip. Throws PackRejectedError (exit 3) for secrets,
 * limits, symlinks or names; InterruptedError when `signal` aborts; FailedError for file-system failures.
 * Nothing is left behind on failure.
 */
export async function packPlugin(root: string, options: PackOptions = {}): Promise<PackResult> {
  const { signal } = options;
  const format = options.format ?? "tar.gz";
  let plan: OutputPlan | undefined;
  let temp: string | undefined;
  try {
    const rootReal = await resolveRoot(root);
    const folder = options.folder ?? archiveFolderName(rootReal);
    if (!_isPackageName(folder)) {
      throw new UsageError(`the archive folder ${JSON.stringify(folder)} is not a Python package name`);
    }
    plan = await _planOutput(rootReal, options.output, format, folder);
    const output = plan.path;
    const selection = await selectFiles(rootReal, {
      ...options,
      exclude_paths: [...(options.exclude_paths ?? []), output],
    });
    if (selection.files.length === 0) {
      // An empty archive is never what anyone wants (and the platform would reject it): say so, write nothing.
      throw new UsageError(`nothing to pack: ${rootReal} holds no file that goes into an archive`, {
        hint: "pass the plugin folder (the one holding manifest.py); .gitignore / .mixpeekignore rules " +
          "may leave out everything",
      });
    }
    await _makeFolders(plan);
    temp = `${_dirname(output)}/.${_basename(output)}.${_randomTag()}${TEMP_SUFFIX}`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    } catch (error) {
      temp = undefined;
      throw new FailedError(`cannot write ${output}: ${(error as Error).message}`, {
        hint: "pass a writable --output FILE",
        cause: error,
      });
    }
    let written: { size: number; sha256: string };
    let done = 0;
    const total = selection.total_bytes;
    const onData = options.onProgress && ((n: number) => options.onProgress!(done += n, total));
    try {
      using deflater = await PieceDeflater.open(selection.total_bytes);
      written = format === "zip"
        ? await writeZipFile(selection.files, file, signal, folder, onData, deflater)
        : await writeTarGz(selection.files, file, signal, folder, onData, deflater);
    } finally {
      file.close();
    }
    const { size, sha256 } = written;
    const maxArchive = options.max_archive_bytes ?? DEFAULT_MAX_ARCHIVE_BYTES;
    if (size > maxArchive) {
      throw new PackRejectedError(
        `cannot pack ${rootReal}: the archive is ${formatBytes(size)}, over the ${
          formatBytes(maxArchive)
        } archive limit (Mixpeek accepts uploads up to 500 MB)`,
        [{ kind: "limit", path: ".", message: `archive of ${size} bytes over the ${maxArchive}-byte limit` }],
        "leave large files out with .mixpeekignore (model weights can be downloaded at run time)",
      );
    }
    await Deno.rename(temp, output);
    temp = undefined;
    return {
      path: output,
      format,
      folder,
      size,
      sha256,
      file_count: selection.files.length,
      files: selection.files.map((f) => f.path),
      unpacked_size: selection.total_bytes,
      warnings: selection.warnings,
    };
  } catch (error) {
    if (temp !== undefined) await Deno.remove(temp).catch(() => {});
    if (plan !== undefined) await _removeFolders(plan);
    if (signal?.aborted) {
      // Whatever failed on the way out, the user asked to stop.
      const reason = signal.reason;
      throw reason instanceof InterruptedError
        ? reason
        : new InterruptedError("pack interrupted; nothing was written");
    }
    if (error instanceof MixpeekError) throw error;
    throw new FailedError(`packing failed: ${(error as Error).message}`, { cause: error });
  }
}
