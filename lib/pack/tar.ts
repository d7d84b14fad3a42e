/**
 * The tar format, both ways, for regular files and folders only.
 *
 * Writing (deterministic, POSIX ustar with pax extended headers): every header has mtime FIXED_MTIME,
 * uid/gid 0, empty user/group names, mode 0644 or 0755; a path that is not ASCII or longer than 100 bytes
 * goes in a pax `path` record (UTF-8) behind a `././@PaxHeader` entry, a size of 8 GiB or more in a pax
 * `size` record. The archive ends with two zero blocks, padded to a 10,240-byte record like GNU tar.
 *
 * Reading: ustar, GNU and v7 headers, checksums verified, octal or base-256 numbers, pax `path`/`size`
 * records and GNU long names.
 *
 * @module
 */

export const BLOCK = 512;
export const RECORD = 20 * BLOCK;

/**
 * 1985-10-26T08:15:00Z, the fixed mtime of every entry (the date npm uses): a constant makes archives
 * reproducible, and a date after 1980 keeps zip-minded tools and "implausibly old" checks quiet.
 */
export const FIXED_MTIME = 499162500;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function _writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  header.set(bytes.subarray(0, length), offset);
}

/** An octal field: `length - 1` zero-padded digits and a NUL. */
function _writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  _writeString(header, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits

/** True when the path can go in the ustar name field as is. */
function _fitsUstar(pathBytes: Uint8Array): boolean {
  return pathBytes.length <= 100 && pathBytes.every((b) => b >= 0x20 && b < 0x7f);
}

function _header(name: string, size: number, mode: number, type: string): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(BLOCK);
  _writeString(h, 0, 100, name);
  _writeOctal(h, 100, 8, mode);
  _writeOctal(h, 108, 8, 0); // uid
  _writeOctal(h, 116, 8, 0); // gid
  _writeOctal(h, 124, 12, Math.min(size, MAX_OCTAL_SIZE));
  _writeOctal(h, 136, 12, FIXED_MTIME);
  _writeString(h, 156, 1, type);
  _writeString(h, 257, 6, "ustar\0");
  _writeString(h, 263, 2, "00");
  _writeOctal(h, 329, 8, 0); // devmajor
  _writeOctal(h, 337, 8, 0); // devminor
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  _writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** One pax record: "<length> key=value\n", where length counts the whole record, itself included. */
function _paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = encoder.encode(body).length;
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

function _padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * The header block(s) for a regular file: one ustar block, or a pax header (with its data, padded) followed
 * by the ustar block when the path or size needs it.
 */
export function fileHeader(path: string, size: number, mode: 0o644 | 0o755): Uint8Array<ArrayBuffer> {
  const pathBytes = encoder.encode(path);
  let records = "";
  let name = path;
  if (!_fitsUstar(pathBytes)) {
    records += _paxRecord("path", path);
    // A readable ASCII stand-in for tools that ignore pax headers.
    name = path.replace(/[^\x20-\x7e]/g, "_").slice(-100);
  }
  if (size > MAX_OCTAL_SIZE) records += _paxRecord("size", String(size));
  const main = _header(name, size, mode, "0");
  if (records === "") return main;
  const data = encoder.encode(records);
  const out = new Uint8Array(BLOCK + data.length + _padding(data.length) + BLOCK);
  out.set(_header("././@PaxHeader", data.length, 0o644, "x"), 0);
  out.set(data, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}

/** Zero bytes that pad an entry's data to a whole block. */
export function dataPadding(size: number): number {
  return _padding(size);
}

/** The end of the archive: two zero blocks, then zeros up to a whole record (for an archive of `written`). */
export function endOfArchive(written: number): Uint8Array<ArrayBuffer> {
  const end = written + 2 * BLOCK;
  return new Uint8Array(2 * BLOCK + ((RECORD - (end % RECORD)) % RECORD));
}

// ---------------------------------------------------------------------------------------------------------
// Reading

export interface RawHeader {
  name: string;
  /** ustar prefix joined, when present. */
  size: number;
  mode: number;
  type: string;
  linkname: string;
}

export class TarFormatError extends Error {}

function _cString(block: Uint8Array, offset: number, length: number): Uint8Array {
  const field = block.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

/** A numeric field: octal text (spaces/NULs around it) or GNU base-256 (high bit of the first byte set). */
function _number(block: Uint8Array, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    if (field[0] === 0xff) throw new TarFormatError(`negative ${what}`);
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${what} is too large`);
    }
    return value;
  }
  const text = decoder.decode(field).replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TarFormatError(`${what} field is not a number (${JSON.stringify(text)})`);
  }
  return parseInt(text, 8);
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses and checks one header block (the checksum must match, unsigned or signed as old tars wrote it). */
export function parseHeader(block: Uint8Array): RawHeader {
  const stored = _number(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError("header checksum mismatch");
  const magic = decoder.decode(block.subarray(257, 263));
  let name = decoder.decode(_cString(block, 0, 100));
  if (magic === "ustar\0") {
    const prefix = decoder.decode(_cString(block, 345, 155));
    if (prefix !== "") name = `${prefix}/${name}`;
  }
  return {
    name,
    size: _number(block, 124, 12, "size"),
    mode: _number(block, 100, 8, "mode"),
    type: block[156] === 0 ? "0" : String.fromCharCode(block[156]),
    linkname: decoder.decode(_cString(block, 157, 100)),
  };
}

/** Parses pax extended header data into its records; throws on a malformed record. */
export function parsePaxRecords(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad with NULs
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw new TarFormatError("malformed pax record");
    const length = Number(decoder.decode(data.subarray(pos, space)));
    if (!Number.isInteger(length) || length <= space - pos || pos + length > data.length) {
      throw new TarFormatError("malformed pax record length");
    }
    const record = data.subarray(space + 1, pos + length);
    if (record[record.length - 1] !== 0x0a) {
      throw new TarFormatError("pax record does not end with a newline");
    }
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw new TarFormatError("pax record without '='");
    records.set(
      decoder.decode(record.subarray(0, eq)),
      decoder.decode(record.subarray(eq + 1, record.length - 1)),
    );
    pos += length;
  }
  return records;
}
