/**
 * The safe reader for uploaded plugin archives (used by the local registry): extracts a `.tar.gz` stream or a
 * `.zip` file into an empty folder, or refuses it with a ValidationError (exit code 3) naming the offending
 * entry. `extractArchive` tells the two apart by their first bytes (gzip 1f 8b, zip "PK\3\4").
 *
 * Zip specifics: the central directory is the authority (read from the end, like Python's zipfile), each
 * local header must agree with it, entries may not overlap or leave gaps before the first one (the
 * overlapping-entry bomb), data must inflate to exactly the declared size (counted as it inflates, so a
 * lying header cannot expand further) with a matching CRC-32; encrypted entries, methods other than stored and
 * deflate, zip64, multi-disk archives and Unix symlinks or special files in the external attributes are
 * refused.
 *
 * Accepted: regular files and folders (ustar, GNU or v7 headers; pax and GNU long-name headers). Refused:
 * absolute paths, drive letters, `..` components, backslashes and control characters in names, symlinks,
 * hard links, devices, FIFOs and any other entry type, names that collide after NFC and case folding (or a
 * file where a folder is), a file over `max_file_bytes`, more than `max_files` entries, files adding up to
 * more than `max_total_bytes`, a decompressed stream larger than those limits allow (a gzip bomb: reading
 * stops as soon as the limit is passed), an expansion ratio over `max_compression_ratio` when set, bad
 * header checksums, a truncated or corrupt gzip or tar stream, and non-zero data (or more than 1 MiB of zero
 * padding) after the end of the archive.
 *
 * Safety: each header is validated before anything is written for it; folders are created one level at a
 * time by this function inside a destination that must be empty, and files are opened with `createNew`, so
 * nothing can be written outside `dest`. On failure everything written so far is removed (and `dest`
 * itself, when this call created it). Modes are normalised to 0644/0755 (no setuid, no umask surprises).
 * Memory stays bounded: compressed input is fed to the decompressor 4 KiB at a time, so one step expands to
 * at most ~4 MiB.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { FailedError, MixpeekError, ValidationError } from "../errors.ts";
import { collisionKey, compareArchivePaths, componentProblem } from "./paths.ts";
import { DEFAULT_LIMITS } from "./select.ts";
import { formatBytes } from "./size.ts";
import { BLOCK, isZeroBlock, parseHeader, parsePaxRecords, TarFormatError } from "./tar.ts";
import {
  CENTRAL_HEADER_SIGNATURE,
  END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  LOCAL_HEADER_SIGNATURE,
} from "./zip.ts";

export interface ExtractLimits {
  /** Sum of the files' sizes. */
  max_total_bytes: number;
  /** Files and folders. */
  max_files: number;
  max_file_bytes: number;
  /** Decompressed ÷ compressed bytes, checked once 1 MiB has been expanded; unset = not checked. */
  max_compression_ratio?: number;
}

/** The same limits `plugin pack` enforces (1 GiB total, 20,000 entries, 512 MiB per file); no ratio check. */
export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = Object.freeze({ ...DEFAULT_LIMITS });

export interface ExtractResult {
  /** Archive paths of the regular files written, sorted. */
  files: string[];
  /** Sum of their sizes. */
  total_bytes: number;
}

/** Largest pax or GNU long-name header data accepted. */
const MAX_META_BYTES = 1024 * 1024;
/** Compressed bytes handed to the decompressor at a time (deflate expands 1 byte to at most ~1032). */
const INPUT_SLICE = 4096;
const RATIO_GRACE = 1024 * 1024;
/** Zero padding accepted after the end-of-archive marker. */
const MAX_TRAILING_ZEROS = 1024 * 1024;

function _refuse(entry: string, why: string): ValidationError {
  return new ValidationError(`archive entry ${JSON.stringify(entry)} ${why}`, {
    hint: "the archive is unsafe or damaged: rebuild it with `mixpeek plugin pack`",
  });
}

function _corrupt(why: string): ValidationError {
  return new ValidationError(`the archive is corrupt or truncated: ${why}`, {
    hint: "rebuild it with `mixpeek plugin pack` and upload it again",
  });
}

/** Splits compressed chunks into INPUT_SLICE pieces and counts them. */
class Slicer extends TransformStream<Uint8Array, Uint8Array<ArrayBuffer>> {
  consumed = 0;
  constructor() {
    super({
      transform: (chunk, controller) => {
        for (let i = 0; i < chunk.length; i += INPUT_SLICE) {
          const piece = chunk.subarray(i, i + INPUT_SLICE) as Uint8Array<ArrayBuffer>;
          this.consumed += piece.length;
          controller.enqueue(piece);
        }
      },
    });
  }
}

/** Reads the decompressed stream in exact amounts, enforcing the expansion limits on every chunk. */
class ByteSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #slicer: Slicer;
  #maxExpanded: number;
  #ratio?: number;
  expanded = 0;

  constructor(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    slicer: Slicer,
    maxExpanded: number,
    ratio?: number,
  ) {
    this.#reader = reader;
    this.#slicer = slicer;
    this.#maxExpanded = maxExpanded;
    this.#ratio = ratio;
  }

  /** The next decompressed bytes (at most `max`), or null at the end of the stream. */
  async next(max: number): Promise<Uint8Array | null> {
    if (this.#offset >= this.#chunk.length) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await this.#reader.read();
      } catch (error) {
        if (error instanceof MixpeekError) throw error;
        throw _corrupt((error as Error).message);
      }
      if (result.done) return null;
      this.expanded += result.value.length;
      if (this.expanded > this.#maxExpanded) {
        throw new ValidationError(
          `the archive expands to more than ${
            formatBytes(this.#maxExpanded)
          } (a gzip bomb?); extraction stopped`,
          { hint: "keep the plugin within the size limits" },
        );
      }
      const compressed = Math.max(1, this.#slicer.consumed);
      if (
        this.#ratio !== undefined && this.expanded > RATIO_GRACE && this.expanded / compressed > this.#ratio
      ) {
        throw new ValidationError(
          `the archive expands more than ${this.#ratio}× its compressed size (a gzip bomb?); extraction stopped`,
        );
      }
      this.#chunk = result.value;
      this.#offset = 0;
    }
    const n = Math.min(max, this.#chunk.length - this.#offset);
    const out = this.#chunk.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  /** Exactly `n` bytes copied into a new buffer, or null at a clean end of stream (nothing read). */
  async exact(n: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = await this.next(n - filled);
      if (piece === null) {
        if (filled === 0) return null;
        throw _corrupt("the tar stream ends in the middle of a block");
      }
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  /** Hands the next `n` bytes to `sink` chunk by chunk (no copy). */
  async each(n: number, what: string, sink: (piece: Uint8Array) => Promise<void>): Promise<void> {
    let left = n;
    while (left > 0) {
      const piece = await this.next(left);
      if (piece === null) throw _corrupt(`${what} is cut short`);
      await sink(piece);
      left -= piece.length;
    }
  }

  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

function _padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Validates and normalises an entry name; "" means the archive root (`./`), which is skipped. */
function _entryPath(raw: string): string {
  if (raw === "") throw _refuse(raw, "has an empty name");
  if (raw.startsWith("/")) throw _refuse(raw, "has an absolute path");
  if (/^[A-Za-z]:/.test(raw)) throw _refuse(raw, "starts with a drive letter");
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw _refuse(raw, 'climbs out of the destination with ".."');
  for (const part of parts) {
    const problem = componentProblem(part);
    if (problem) throw _refuse(raw, `has a name that ${problem}`);
  }
  return parts.map((p) => p.normalize("NFC")).join("/");
}

const REFUSED_TYPES: Record<string, string> = {
  "1": "is a hard link",
  "2": "is a symbolic link",
  "3": "is a character device",
  "4": "is a block device",
  "6": "is a FIFO",
  "K": "is a long link name (links are not accepted)",
  "S": "is a sparse file",
  "D": "is a GNU dump directory",
};

interface Writer {
  dest: string;
  createdDest: boolean;
  /** Top-level names this call created inside dest (removed on failure). */
  created: Set<string>;
  dirs: Set<string>;
  fileKeys: Set<string>;
  dirKeys: Set<string>;
  open?: Deno.FsFile;
}

async function _ensureDir(w: Writer, path: string, entry: string): Promise<void> {
  const parts = path.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join("/");
    const key = collisionKey(sub);
    if (w.fileKeys.has(key)) {
      throw _refuse(entry, `needs the folder ${JSON.stringify(sub)} where a file already is`);
    }
    w.dirKeys.add(key);
    if (w.dirs.has(sub)) continue;
    await Deno.mkdir(`${w.dest}/${sub}`, { mode: 0o755 });
    await Deno.chmod(`${w.dest}/${sub}`, 0o755);
    w.dirs.add(sub);
    if (i === 1) w.created.add(sub);
  }
}

async function _writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

async function _prepareDest(dest: string): Promise<{ real: string; created: boolean }> {
  const info = await Deno.lstat(dest).catch(() => undefined);
  if (info === undefined) {
    await Deno.mkdir(dest, { recursive: true });
    return { real: await Deno.realPath(dest), created: true };
  }
  if (!info.isDirectory) throw new FailedError(`cannot extract into ${dest}: it is not a folder`);
  for await (const _ of Deno.readDir(dest)) {
    throw new FailedError(`cannot extract into ${dest}: the folder is not empty`);
  }
  return { real: await Deno.realPath(dest), created: false };
}

async function _cleanup(w: Writer): Promise<void> {
  try {
    w.open?.close();
  } catch { /* already closed */ }
  if (w.createdDest) {
    await Deno.remove(w.dest, { recursive: true }).catch(() => {});
    return;
  }
  for (const name of w.created) await Deno.remove(`${w.dest}/${name}`, { recursive: true }).catch(() => {});
}

/**
 * Extracts a .tar.gz stream into `dest` (created when missing, else it must be an empty folder). Throws
 * ValidationError for an unsafe, oversized or damaged archive, after removing everything it wrote.
 */
export async function extractTarGz(
  source: ReadableStream<Uint8Array>,
  dest: string,
  limits: Partial<ExtractLimits> = {},
): Promise<ExtractResult> {
  const lim: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...limits };
  const prepared = await _prepareDest(dest);
  const w: Writer = {
    dest: prepared.real,
    createdDest: prepared.created,
    created: new Set(),
    dirs: new Set(),
    fileKeys: new Set(),
    dirKeys: new Set(),
  };
  // Headers, pax data and padding of every allowed entry, plus the end-of-archive record, on top of content.
  const maxExpanded = lim.max_total_bytes + (2 * lim.max_files + 1) * 4 * BLOCK + 2 * MAX_META_BYTES;
  const slicer = new Slicer();
  const src = new ByteSource(
    source.pipeThrough(slicer).pipeThrough(new DecompressionStream("gzip")).getReader(),
    slicer,
    maxExpanded,
    lim.max_compression_ratio,
  );
  try {
    const result = await _extract(src, w, lim);
    return result;
  } catch (error) {
    src.cancel();
    await _cleanup(w);
    if (error instanceof TarFormatError) throw _corrupt(error.message);
    throw error;
  }
}

async function _extract(src: ByteSource, w: Writer, lim: ExtractLimits): Promise<ExtractResult> {
  const files: string[] = [];
  let total = 0;
  let entries = 0;
  let folders = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let lastName = "(start of archive)";

  for (;;) {
    const block = await src.exact(BLOCK);
    if (block === null) {
      throw _corrupt(`the archive ends without its end marker (after ${JSON.stringify(lastName)})`);
    }
    if (isZeroBlock(block)) {
      if (pax || longName !== undefined) throw _corrupt(`an extended header is not followed by an entry`);
      break;
    }
    let header;
    try {
      header = parseHeader(block);
    } catch (error) {
      throw _corrupt(`bad header after ${JSON.stringify(lastName)}: ${(error as Error).message}`);
    }
    if (header.type === "x" || header.type === "g" || header.type === "L") {
      if (header.size > MAX_META_BYTES) {
        throw _corrupt(`an extended header of ${header.size} bytes is too large`);
      }
      const data = (await src.exact(_padded(header.size)) ?? new Uint8Array(0)).subarray(0, header.size);
      if (data.length < header.size) throw _corrupt("an extended header is cut short");
      if (header.type === "x") pax = parsePaxRecords(data);
      else if (header.type === "g") parsePaxRecords(data); // validated, then ignored: it cannot name an entry
      else {
        const nul = data.indexOf(0);
        longName = new TextDecoder().decode(nul === -1 ? data : data.subarray(0, nul));
      }
      continue;
    }

    const raw = pax?.get("path") ?? longName ?? header.name;
    let size = header.size;
    const paxSize = pax?.get("size");
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
        throw _refuse(raw, "has a bad pax size");
      }
      size = Number(paxSize);
    }
    pax = undefined;
    longName = undefined;
    lastName = raw;

    const refused = REFUSED_TYPES[header.type];
    if (refused) {
      const target = header.linkname ? ` (→ ${JSON.stringify(header.linkname)})` : "";
      throw _refuse(raw, `${refused}${target}; only regular files and folders are accepted`);
    }
    const isFile = header.type === "0" || header.type === "7";
    if (!isFile && header.type !== "5") {
      throw _refuse(raw, `has an unsupported entry type ${JSON.stringify(header.type)}`);
    }

    const path = _entryPath(raw);
    if (header.type === "5") {
      if (size !== 0) throw _refuse(raw, "is a folder entry with data");
      if (path === "") continue;
      if (++folders > lim.max_files) {
        throw _refuse(raw, `is one folder more than the ${lim.max_files}-folder limit`);
      }
      await _ensureDir(w, path, raw);
      continue;
    }

    if (path === "") throw _refuse(raw, "is a file without a name");
    if (++entries > lim.max_files) {
      throw _refuse(raw, `is one file more than the ${lim.max_files}-file limit`);
    }
    if (size > lim.max_file_bytes) {
      throw _refuse(
        raw,
        `is ${formatBytes(size)}, over the ${formatBytes(lim.max_file_bytes)} limit for one file`,
      );
    }
    if (total + size > lim.max_total_bytes) {
      throw _refuse(raw, `takes the archive past the ${formatBytes(lim.max_total_bytes)} total size limit`);
    }
    const key = collisionKey(path);
    if (w.fileKeys.has(key)) {
      throw _refuse(raw, "collides with an earlier entry (same name after normalisation)");
    }
    if (w.dirKeys.has(key)) throw _refuse(raw, "collides with a folder of the same name");
    const slash = path.lastIndexOf("/");
    if (slash !== -1) await _ensureDir(w, path.slice(0, slash), raw);
    w.fileKeys.add(key);

    const abs = `${w.dest}/${path}`;
    const mode = (header.mode & 0o111) !== 0 ? 0o755 : 0o644;
    const file = await Deno.open(abs, { write: true, createNew: true, mode });
    w.open = file;
    if (slash === -1) w.created.add(path);
    await src.each(size, `the data of ${JSON.stringify(raw)}`, (piece) => _writeAll(file, piece));
    file.close();
    w.open = undefined;
    await Deno.chmod(abs, mode);
    const pad = _padded(size) - size;
    if (pad > 0) await src.each(pad, `the padding of ${JSON.stringify(raw)}`, () => Promise.resolve());
    files.push(path);
    total += size;
  }

  // After the end marker only zero padding may follow (tar writers pad to their record size, 10 KiB for GNU
  // tar, rarely more than 1 MiB); reading to the end also checks the gzip trailer.
  let padding = 0;
  for (;;) {
    const piece = await src.next(64 * 1024);
    if (piece === null) break;
    if (!isZeroBlock(piece)) throw _corrupt("there is data after the end-of-archive marker");
    padding += piece.length;
    if (padding > MAX_TRAILING_ZEROS) {
      throw _corrupt(
        `more than ${formatBytes(MAX_TRAILING_ZEROS)} of padding follows the end of the archive`,
      );
    }
  }
  return { files: files.sort(compareArchivePaths), total_bytes: total };
}

// ---------------------------------------------------------------------------------------------------------
// Zip

/** The archive formats this reader knows, by their first bytes. */
export type ArchiveKind = "tar.gz" | "zip";

/** Which format a file is, from its magic bytes; undefined for anything else. */
export async function sniffArchive(path: string): Promise<ArchiveKind | undefined> {
  using file = await Deno.open(path, { read: true });
  const head = new Uint8Array(4);
  let n = 0;
  while (n < 4) {
    const got = await file.read(head.subarray(n));
    if (got === null) break;
    n += got;
  }
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
  if (n === 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return "zip";
  return undefined;
}

/** Extracts the archive file at `path` (tar.gz or zip, told apart by its first bytes) into `dest`. */
export async function extractArchive(
  path: string,
  dest: string,
  limits: Partial<ExtractLimits> = {},
): Promise<ExtractResult & { format: ArchiveKind }> {
  const kind = await sniffArchive(path);
  if (kind === "zip") return { ...(await extractZip(path, dest, limits)), format: "zip" };
  if (kind === "tar.gz") {
    const file = await Deno.open(path, { read: true });
    return { ...(await extractTarGz(file.readable, dest, limits)), format: "tar.gz" };
  }
  throw new ValidationError("the archive is neither a .tar.gz (gzip) nor a .zip file", {
    hint: "upload the archive `mixpeek plugin pack` writes (--format tar.gz or zip)",
  });
}

interface ZipCentralEntry {
  name: string;
  nameBytes: Uint8Array;
  flags: number;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  isDir: boolean;
  executable: boolean;
}

const MAX_EOCD_SEARCH = 22 + 0xffff;
const MAX_CENTRAL_BYTES = 64 * 1024 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

async function _readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) throw _corrupt("the zip file ends early");
    filled += n;
  }
  return out;
}

/** Finds and reads the end-of-central-directory record; refuses zip64, multi-disk and trailing data. */
async function _endRecord(file: Deno.FsFile, size: number) {
  if (size < 22) throw _corrupt("the zip file is too short");
  const tailLength = Math.min(size, MAX_EOCD_SEARCH);
  const tail = await _readAt(file, size - tailLength, tailLength);
  const view = new DataView(tail.buffer);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) !== END_OF_CENTRAL_DIRECTORY_SIGNATURE) continue;
    const commentLength = view.getUint16(i + 20, true);
    if (i + 22 + commentLength !== tail.length) continue; // a signature inside the comment, or junk after
    const record = {
      disk: view.getUint16(i + 4, true),
      cdDisk: view.getUint16(i + 6, true),
      entriesHere: view.getUint16(i + 8, true),
      entries: view.getUint16(i + 10, true),
      cdSize: view.getUint32(i + 12, true),
      cdOffset: view.getUint32(i + 16, true),
      at: size - tailLength + i,
    };
    if (record.entries === 0xffff || record.cdSize === 0xffffffff || record.cdOffset === 0xffffffff) {
      throw _corrupt("zip64 archives are not accepted (Mixpeek's limits do not need them)");
    }
    if (i >= 20 && view.getUint32(i - 20, true) === 0x07064b50) {
      throw _corrupt("zip64 archives are not accepted (Mixpeek's limits do not need them)");
    }
    if (record.disk !== 0 || record.cdDisk !== 0 || record.entriesHere !== record.entries) {
      throw _corrupt("multi-part (split) zip archives are not accepted");
    }
    if (record.cdOffset + record.cdSize !== record.at) {
      throw _corrupt("the central directory is not where the end record says");
    }
    return record;
  }
  throw _corrupt("no end-of-central-directory record (not a zip file, or cut short)");
}

function _zipEntries(cd: Uint8Array, count: number): ZipCentralEntry[] {
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: ZipCentralEntry[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos + 46 > cd.length || view.getUint32(pos, true) !== CENTRAL_HEADER_SIGNATURE) {
      throw _corrupt(`central directory entry ${i + 1} is malformed`);
    }
    const madeBy = view.getUint16(pos + 4, true) >> 8;
    const flags = view.getUint16(pos + 8, true);
    const method = view.getUint16(pos + 10, true);
    const nameLength = view.getUint16(pos + 28, true);
    const extraLength = view.getUint16(pos + 30, true);
    const commentLength = view.getUint16(pos + 32, true);
    const external = view.getUint32(pos + 38, true);
    const end = pos + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw _corrupt(`central directory entry ${i + 1} runs past the directory`);
    const nameBytes = cd.slice(pos + 46, pos + 46 + nameLength);
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      throw _refuse(`entry ${i + 1}`, "has a name that is not valid UTF-8");
    }
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    const type = unixMode & 0o170000;
    if (type === 0o120000) {
      throw _refuse(name, "is a symbolic link; only regular files and folders are accepted");
    }
    if (type !== 0 && type !== 0o100000 && type !== 0o040000) {
      throw _refuse(
        name,
        "is a special file (device, FIFO or socket); only regular files and folders are accepted",
      );
    }
    if (flags & 0x0001) throw _refuse(name, "is encrypted");
    const isDir = name.endsWith("/") || type === 0o040000;
    if (!isDir && method !== 0 && method !== 8) {
      throw _refuse(name, `uses compression method ${method}; only stored (0) and deflate (8) are accepted`);
    }
    entries.push({
      name,
      nameBytes,
      flags,
      method,
      crc: view.getUint32(pos + 16, true),
      compressed: view.getUint32(pos + 20, true),
      size: view.getUint32(pos + 24, true),
      offset: view.getUint32(pos + 42, true),
      isDir,
      executable: (unixMode & 0o111) !== 0,
    });
    pos = end;
  }
  if (pos !== cd.length) throw _corrupt("the central directory holds more than its entry count");
  return entries;
}

/** Streams `length` compressed bytes from `file` (at its position) through `sink`, 4 KiB at a time. */
function _slices(file: Deno.FsFile, length: number): ReadableStream<Uint8Array<ArrayBuffer>> {
  let left = length;
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(controller) {
      if (left === 0) return controller.close();
      const piece = new Uint8Array(Math.min(INPUT_SLICE, left));
      const n = await file.read(piece);
      if (n === null) return controller.error(_corrupt("the zip file ends inside an entry's data"));
      left -= n;
      controller.enqueue(piece.subarray(0, n));
    },
  });
}

/**
 * Extracts the zip file at `path` into `dest` (created when missing, else it must be an empty folder). Throws
 * ValidationError for an unsafe, oversized or damaged archive, after removing everything it wrote.
 */
export async function extractZip(
  path: string,
  dest: string,
  limits: Partial<ExtractLimits> = {},
): Promise<ExtractResult> {
  const lim: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...limits };
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const end = await _endRecord(file, size);
  if (end.cdSize > MAX_CENTRAL_BYTES) throw _corrupt("the central directory is implausibly large");
  if (end.entries > 2 * lim.max_files) {
    throw _refuse(`(${end.entries} entries)`, `are more than the ${lim.max_files}-file limit allows`);
  }
  const entries = _zipEntries(await _readAt(file, end.cdOffset, end.cdSize), end.entries);

  // Every entry's local header and data must lie before the central directory, one after another.
  const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
  if (byOffset.length > 0 && byOffset[0].offset !== 0) throw _corrupt("there is data before the first entry");

  const prepared = await _prepareDest(dest);
  const w: Writer = {
    dest: prepared.real,
    createdDest: prepared.created,
    created: new Set(),
    dirs: new Set(),
    fileKeys: new Set(),
    dirKeys: new Set(),
  };
  try {
    return await _extractZipEntries(file, byOffset, entries, end.cdOffset, w, lim);
  } catch (error) {
    await _cleanup(w);
    throw error;
  }
}

async function _extractZipEntries(
  file: Deno.FsFile,
  byOffset: ZipCentralEntry[],
  entries: ZipCentralEntry[],
  cdOffset: number,
  w: Writer,
  lim: ExtractLimits,
): Promise<ExtractResult> {
  const files: string[] = [];
  let total = 0;
  let count = 0;
  let folders = 0;
  // Bounds first (cheap, before anything is written): sizes, counts and the layout of the data.
  for (const entry of entries) {
    if (entry.isDir) {
      if (++folders > lim.max_files) {
        throw _refuse(entry.name, `is one folder more than the ${lim.max_files}-folder limit`);
      }
      if (entry.size !== 0) throw _refuse(entry.name, "is a folder entry with data");
      continue;
    }
    if (++count > lim.max_files) {
      throw _refuse(entry.name, `is one file more than the ${lim.max_files}-file limit`);
    }
    if (entry.size > lim.max_file_bytes) {
      throw _refuse(
        entry.name,
        `is ${formatBytes(entry.size)}, over the ${formatBytes(lim.max_file_bytes)} limit for one file`,
      );
    }
    total += entry.size;
    if (total > lim.max_total_bytes) {
      throw _refuse(
        entry.name,
        `takes the archive past the ${formatBytes(lim.max_total_bytes)} total size limit`,
      );
    }
    if (entry.method === 0 && entry.compressed !== entry.size) {
      throw _corrupt(`${JSON.stringify(entry.name)} is stored with a compressed size unlike its size`);
    }
    if (
      lim.max_compression_ratio !== undefined && entry.size > RATIO_GRACE &&
      entry.size / Math.max(1, entry.compressed) > lim.max_compression_ratio
    ) {
      throw new ValidationError(
        `archive entry ${JSON.stringify(entry.name)} expands more than ${lim.max_compression_ratio}× its ` +
          "compressed size (a zip bomb?); extraction stopped",
      );
    }
  }

  const dataStart = new Map<ZipCentralEntry, number>();
  for (let i = 0; i < byOffset.length; i++) {
    const entry = byOffset[i];
    const head = await _readAt(file, entry.offset, 30);
    const view = new DataView(head.buffer);
    if (view.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) {
      throw _corrupt(`no local header for ${JSON.stringify(entry.name)} where the directory says`);
    }
    const nameLength = view.getUint16(26, true);
    const extraLength = view.getUint16(28, true);
    const localName = await _readAt(file, entry.offset + 30, nameLength);
    if (localName.length !== entry.nameBytes.length || localName.some((b, j) => b !== entry.nameBytes[j])) {
      throw _corrupt(`the local header of ${JSON.stringify(entry.name)} names another file`);
    }
    if (view.getUint16(8, true) !== entry.method) {
      throw _corrupt(`the local header of ${JSON.stringify(entry.name)} disagrees on the compression method`);
    }
    const start = entry.offset + 30 + nameLength + extraLength;
    const next = i + 1 < byOffset.length ? byOffset[i + 1].offset : cdOffset;
    const gap = next - (start + entry.compressed);
    if (gap < 0) throw _corrupt(`the data of ${JSON.stringify(entry.name)} overlaps what follows it`);
    // Between entries only a data descriptor (12 bytes, or 16 with its signature) may sit.
    if ((entry.flags & 0x0008) ? gap !== 12 && gap !== 16 : gap !== 0) {
      throw _corrupt(`unexpected data after ${JSON.stringify(entry.name)}`);
    }
    dataStart.set(entry, start);
  }

  for (const entry of entries) {
    const path = _entryPath(entry.name);
    if (path === "") continue;
    if (entry.isDir) {
      await _ensureDir(w, path, entry.name);
      continue;
    }
    const key = collisionKey(path);
    if (w.fileKeys.has(key)) {
      throw _refuse(entry.name, "collides with an earlier entry (same name after normalisation)");
    }
    if (w.dirKeys.has(key)) throw _refuse(entry.name, "collides with a folder of the same name");
    const slash = path.lastIndexOf("/");
    if (slash !== -1) await _ensureDir(w, path.slice(0, slash), entry.name);
    w.fileKeys.add(key);
    const abs = `${w.dest}/${path}`;
    const mode = entry.executable ? 0o755 : 0o644;
    const out = await Deno.open(abs, { write: true, createNew: true, mode });
    w.open = out;
    if (slash === -1) w.created.add(path);
    await file.seek(dataStart.get(entry)!, Deno.SeekMode.Start);
    const raw = _slices(file, entry.compressed);
    const stream: ReadableStream<Uint8Array> = entry.method === 8
      ? raw.pipeThrough(
        new DecompressionStream("deflate-raw") as TransformStream<Uint8Array<ArrayBuffer>, Uint8Array>,
      )
      : raw;
    let written = 0;
    let crc = 0;
    try {
      for await (const chunk of stream) {
        written += chunk.length;
        if (written > entry.size) {
          throw new ValidationError(
            `archive entry ${JSON.stringify(entry.name)} inflates past its declared ${entry.size} bytes ` +
              "(a zip bomb?); extraction stopped",
          );
        }
        crc = crc32(chunk, crc);
        await _writeAll(out, chunk);
      }
    } catch (error) {
      if (error instanceof MixpeekError) throw error;
      throw _corrupt(
        `the data of ${JSON.stringify(entry.name)} does not inflate: ${(error as Error).message}`,
      );
    }
    out.close();
    w.open = undefined;
    if (written !== entry.size) throw _corrupt(`${JSON.stringify(entry.name)} is cut short`);
    if ((crc >>> 0) !== entry.crc) throw _corrupt(`${JSON.stringify(entry.name)} fails its CRC-32 check`);
    await Deno.chmod(abs, mode);
    files.push(path);
  }
  return { files: files.sort(compareArchivePaths), total_bytes: total };
}
