/**
 * The zip format, written deterministically and streamed (SPEC §7: `plugin pack --format zip`, the format
 * Mixpeek's zip-only hosts ask for, since Ray Serve's working_dir takes only .zip from a remote URI).
 *
 * Writing: one local header, deflated data and a data descriptor per file, then the central directory. Same
 * files, same bytes: entries in the packer's order, a fixed DOS date (1985-10-26 08:15:00, tar.ts's
 * FIXED_MTIME), "made by" Unix with modes 0644/0755 in the external attributes, no extra fields, no comment,
 * the UTF-8 flag only on names that need it. Deflate is Deno's CompressionStream("deflate-raw") (zlib-rs),
 * fed in fixed STAGE pieces because its output depends on how the input is split; the CRC-32 is node:zlib's.
 * Memory stays bounded by two read buffers and the compressor's output chunks, whatever the files' sizes. The
 * data descriptor (flag bit 3) lets the header go out before the data is compressed, so nothing is buffered
 * or rewritten; Python's zipfile, Info-ZIP's unzip and Ray read it. No zip64: an archive that would need it
 * (a file or the archive over 4 GiB, more than 65,535 entries) is refused: Mixpeek's limits are far below.
 *
 * Why our own writer and not a zip library: on this project's machine, deflating the same 256 MB of half-random
 * data ran at 100 MB/s through CompressionStream and 44 MB/s through fflate 0.8.2 (pure JS, level 6), and
 * the format around the deflate streams is these few records (bench_pack prints the result against `zip -r`).
 *
 * Reading is lib/pack/extract.ts (the registry's safe extractor reads both formats).
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { FailedError } from "../errors.ts";
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

/** Size of the read buffers fed to the compressor (its output depends on the split: keep it fixed). */
const STAGE = 128 * 1024;

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

/**
 * Frees a compressor output chunk's memory now rather than at the next garbage collection (see pack.ts).
 */
function _release(chunk: Uint8Array): void {
  const buffer = chunk.buffer;
  if (buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength) {
    buffer.transfer(0);
  }
}

/** Deflates one file into `sink`; returns its CRC-32, size and compressed size. */
async function _deflateFile(
  entry: SelectedFile,
  sink: ZipSink,
  buffers: Uint8Array<ArrayBuffer>[],
  signal?: AbortSignal,
  onData?: (bytes: number) => void,
): Promise<{ crc: number; size: number; compressed: number }> {
  const deflate = new CompressionStream("deflate-raw");
  const input = deflate.writable.getWriter();
  let compressed = 0;
  const output = (async () => {
    for await (const chunk of deflate.readable) {
      compressed += chunk.length;
      await sink(chunk);
      _release(chunk);
    }
  })();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(entry.abs_path, { read: true });
  } catch (error) {
    await input.abort(error).catch(() => {});
    await output.catch(() => {});
    throw new FailedError(`cannot read ${entry.path} while packing: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let crc = 0;
  let size = 0;
  let inFlight: Promise<void> | undefined;
  try {
    for (let turn = 0;; turn ^= 1) {
      if (signal?.aborted) throw signal.reason;
      const buffer = buffers[turn];
      // Fill the whole buffer (a read may return less), so the compressor always sees STAGE pieces.
      let n = 0;
      while (n < buffer.length) {
        const got = await file.read(buffer.subarray(n));
        if (got === null) break;
        n += got;
      }
      if (inFlight) await inFlight;
      if (n === 0) break;
      crc = crc32(buffer.subarray(0, n), crc);
      size += n;
      onData?.(n);
      if (size > entry.size) throw _changed(entry, "grew");
      inFlight = input.write(buffer.subarray(0, n));
      if (n < buffer.length) {
        await inFlight;
        inFlight = undefined;
        break;
      }
    }
    if (size !== entry.size) throw _changed(entry, size > entry.size ? "grew" : "shrank");
    await input.close();
  } catch (error) {
    inFlight?.catch(() => {});
    await input.abort(error).catch(() => {});
    const outputError = await output.then(() => undefined, (e) => e);
    throw signal?.aborted ? error : outputError ?? error;
  } finally {
    file.close();
  }
  await output;
  return { crc: crc >>> 0, size, compressed };
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
): Promise<void> {
  if (entries.length > MAX_ENTRIES) throw _tooLarge(`${entries.length} files`);
  const buffers = [new Uint8Array(STAGE), new Uint8Array(STAGE)];
  const written: Written[] = [];
  let offset = 0;
  const emit = async (bytes: Uint8Array) => {
    offset += bytes.length;
    await sink(bytes);
  };
  for (const { name, file } of entries) {
    if (signal?.aborted) throw signal.reason;
    if (file.size > MAX_32) throw _tooLarge(`${file.path} is over 4 GiB`);
    const nameBytes = encoder.encode(name);
    const utf8 = nameBytes.some((b) => b >= 0x80);
    const start = offset;
    if (start > MAX_32) throw _tooLarge("the archive passes 4 GiB");
    await emit(_localHeader(nameBytes, utf8));
    let data = 0;
    const result = await _deflateFile(
      file,
      async (chunk) => {
        data += chunk.length;
        await emit(chunk);
      },
      buffers,
      signal,
      onData,
    );
    if (data !== result.compressed || result.compressed > MAX_32) throw _tooLarge(`${file.path} compressed`);
    const w: Written = { nameBytes, utf8, mode: file.mode, ...result, offset: start };
    await emit(_dataDescriptor(w));
    written.push(w);
  }
  const centralStart = offset;
  for (const w of written) await emit(_centralHeader(w));
  const centralSize = offset - centralStart;
  if (centralStart > MAX_32 || centralSize > MAX_32) throw _tooLarge("the archive passes 4 GiB");
  await emit(_endOfCentralDirectory(written.length, centralSize, centralStart));
}
