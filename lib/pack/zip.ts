/**
 * The zip format, written deterministically and streamed (SPEC §7: `plugin pack --format zip`, the format
 * Mixpeek's zip-only hosts ask for, since Ray Serve's working_dir takes only .zip from a remote URI).
 *
 * Writing: one local header, deflated data and a data descriptor per file, then the central directory. Same
 * files, same bytes: entries in the packer's order, a fixed DOS date (1985-10-26 08:15:00, tar.ts's
 * FIXED_MTIME), "made by" Unix with modes 0644/0755 in the external attributes, no extra fields, no comment,
 * the UTF-8 flag only on names that need it. Each file's data is one deflate stream made of independently
 * deflated 1 MiB pieces (lib/pack/deflate.ts: on every core, the same bytes on any number of them); the
 * CRC-32 is node:zlib's. Memory stays bounded by one read buffer and the pieces being deflated. The
 * data descriptor (flag bit 3) lets the header go out before the data is compressed, so nothing is buffered
 * or rewritten; Python's zipfile, Info-ZIP's unzip and Ray read it. No zip64: an archive that would need it
 * (a file or the archive over 4 GiB, more than 65,535 entries) is refused: Mixpeek's limits are far below.
 *
 * Why our own writer and not a zip library: on this project's machine, deflating the same 256 MB of half-random
 * data ran at 100 MB/s through Deno's zlib-rs (CompressionStream) and 44 MB/s through fflate 0.8.2 (pure JS,
 * level 6); the format around the deflate streams is these few records, and our own writer can share each
 * entry's pieces between threads (bench_pack prints the result against `zip -r`).
 *
 * Reading is lib/pack/extract.ts (the registry's safe extractor reads both formats).
 *
 * @module
 */
import { FailedError } from "../errors.ts";
import { deflateStream, OrderedWriter, PieceDeflater, SEGMENT_BYTES } from "./deflate.ts";
import type { SelectedFile } from "./select.ts";

export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
export const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;
export const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
export const END_OF_CENTRAL_DIRECTORY_SIGNATURE = 0x06054b50;

/** 1985-10-26 08:15:00 in MS-DOS date and time fields (local time, no zone: the same everywhere). */
export const DOS_TIME = (8 << 11) | (15 << 5) | 0;
export const DOS_DATE = ((1985 - 1980) << 9) | (10 << 5) | 26;

const VERSION_NEEDED = 20; // 2.0: deflate
const VERSION_MADE_BY = (3 << 8) | 20; // Unix, 2.0
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;
const MAX_32 = 0xffffffff;
const MAX_ENTRIES = 0xffff;

const encoder = new TextEncoder();

export interface ZipEntry {
  /** Name inside the archive (`<folder>/<path>`). */
  name: string;
  file: SelectedFile;
}

interface Written {
  nameBytes: Uint8Array;
  utf8: boolean;
  mode: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

/** Where the archive's bytes go: counted, hashed and written by the caller. */
export type ZipSink = (bytes: Uint8Array) => Promise<void>;

function _localHeader(nameBytes: Uint8Array, utf8: boolean): Uint8Array {
  const h = new Uint8Array(30 + nameBytes.length);
  const v = new DataView(h.buffer);
  v.setUint32(0, LOCAL_HEADER_SIGNATURE, true);
  v.setUint16(4, VERSION_NEEDED, true);
  v.setUint16(6, FLAG_DATA_DESCRIPTOR | (utf8 ? FLAG_UTF8 : 0), true);
  v.setUint16(8, METHOD_DEFLATE, true);
  v.setUint16(10, DOS_TIME, true);
  v.setUint16(12, DOS_DATE, true);
  // crc-32, compressed and uncompressed sizes (14..25) are zero: they follow in the data descriptor.
  v.setUint16(26, nameBytes.length, true);
  v.setUint16(28, 0, true); // no extra field
  h.set(nameBytes, 30);
  return h;
}

function _dataDescriptor(w: Written): Uint8Array {
  const d = new Uint8Array(16);
  const v = new DataView(d.buffer);
  v.setUint32(0, DATA_DESCRIPTOR_SIGNATURE, true);
  v.setUint32(4, w.crc, true);
  v.setUint32(8, w.compressed, true);
  v.setUint32(12, w.size, true);
  return d;
}

function _centralHeader(w: Written): Uint8Array {
  const h = new Uint8Array(46 + w.nameBytes.length);
  const v = new DataView(h.buffer);
  v.setUint32(0, CENTRAL_HEADER_SIGNATURE, true);
  v.setUint16(4, VERSION_MADE_BY, true);
  v.setUint16(6, VERSION_NEEDED, true);
  v.setUint16(8, FLAG_DATA_DESCRIPTOR | (w.utf8 ? FLAG_UTF8 : 0), true);
  v.setUint16(10, METHOD_DEFLATE, true);
  v.setUint16(12, DOS_TIME, true);
  v.setUint16(14, DOS_DATE, true);
  v.setUint32(16, w.crc, true);
  v.setUint32(20, w.compressed, true);
  v.setUint32(24, w.size, true);
  v.setUint16(28, w.nameBytes.length, true);
  // extra (30), comment (32), disk number start (34), internal attributes (36): zero
  v.setUint32(38, ((0o100000 | w.mode) << 16) >>> 0, true); // regular file with its Unix mode
  v.setUint32(42, w.offset, true);
  h.set(w.nameBytes, 46);
  return h;
}

function _endOfCentralDirectory(entries: number, size: number, offset: number): Uint8Array {
  const e = new Uint8Array(22);
  const v = new DataView(e.buffer);
  v.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true);
  v.setUint16(8, entries, true);
  v.setUint16(10, entries, true);
  v.setUint32(12, size, true);
  v.setUint32(16, offset, true);
  return e;
}

function _tooLarge(what: string): FailedError {
  return new FailedError(`the plugin is too large for a zip archive without zip64 (${what})`, {
    hint: "pack it as tar.gz (--format tar.gz), or keep it within Mixpeek's limits (500 MB, 1,000 files)",
  });
}

function _changed(entry: SelectedFile, how: string): FailedError {
  return new FailedError(`${entry.path} changed while packing (it ${how}); nothing was written`, {
    hint: "stop whatever is writing to the plugin folder, then pack again",
  });
}

/** Reads `entry` in whole-buffer pieces (less only at its end), checking it still has its selected size. */
async function _openReader(
  entry: SelectedFile,
): Promise<{ file: Deno.FsFile; read(b: Uint8Array): Promise<number> }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(entry.abs_path, { read: true });
  } catch (error) {
    throw new FailedError(`cannot read ${entry.path} while packing: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let size = 0;
  const read = async (buffer: Uint8Array) => {
    let n = 0;
    while (n < buffer.length) {
      const got = await file.read(buffer.subarray(n));
      if (got === null) break;
      n += got;
    }
    size += n;
    if (size > entry.size) throw _changed(entry, "grew");
    if (n < buffer.length && size !== entry.size) throw _changed(entry, "shrank");
    return n;
  };
  return { file, read };
}

/**
 * Streams `entries` as a deterministic zip into `sink` (which sees every byte, in order). The entries must
 * already be sorted and checked (lib/pack/select.ts).
 */
export async function writeZip(
  entries: readonly ZipEntry[],
  sink: ZipSink,
  signal?: AbortSignal,
  /** Called with the byte count of each piece of file data read (progress). */
  onData?: (bytes: number) => void,
  /** Deflates the pieces (default: on this thread). */
  deflater?: PieceDeflater,
): Promise<void> {
  if (entries.length > MAX_ENTRIES) throw _tooLarge(`${entries.length} files`);
  using own = deflater ? undefined : await PieceDeflater.open(0);
  const compressor = deflater ?? own!;
  const out = new OrderedWriter(sink, 2 * compressor.workers + 2);
  const buffer = new Uint8Array(SEGMENT_BYTES);
  const written: Written[] = [];
  for (const { name, file } of entries) {
    if (signal?.aborted) throw signal.reason;
    if (file.size > MAX_32) throw _tooLarge(`${file.path} is over 4 GiB`);
    const nameBytes = encoder.encode(name);
    const w: Written = {
      nameBytes,
      utf8: nameBytes.some((b) => b >= 0x80),
      mode: file.mode,
      crc: 0,
      compressed: 0,
      size: 0,
      offset: 0,
    };
    let dataStart = 0;
    // Offsets and the compressed size are only known when the bytes before them are written.
    await out.push(() => {
      w.offset = out.offset;
      if (w.offset > MAX_32) throw _tooLarge("the archive passes 4 GiB");
      const header = _localHeader(nameBytes, w.utf8);
      dataStart = w.offset + header.length;
      return header;
    });
    const reader = await _openReader(file);
    try {
      const result = await deflateStream(reader.read, compressor, out, buffer, signal, (piece) => {
        onData?.(piece.length);
      });
      w.crc = result.crc;
      w.size = result.size;
    } finally {
      reader.file.close();
    }
    await out.push(() => {
      w.compressed = out.offset - dataStart;
      if (w.compressed > MAX_32) throw _tooLarge(`${file.path} compressed`);
      return _dataDescriptor(w);
    });
    written.push(w);
  }
  await out.flush();
  const centralStart = out.offset;
  for (const w of written) await out.push(_centralHeader(w));
  await out.flush();
  const centralSize = out.offset - centralStart;
  if (centralStart > MAX_32 || centralSize > MAX_32) throw _tooLarge("the archive passes 4 GiB");
  await out.push(_endOfCentralDirectory(written.length, centralSize, centralStart));
  await out.flush();
}
