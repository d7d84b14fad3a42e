/**
 * Reads a `.py` file's bytes the way CPython does before any parsing happens: size limit, PEP 263 encoding
 * declaration, strict UTF-8, NUL bytes, and universal newlines (`\r\n` and a lone `\r` both end a line, even
 * inside what looks like a comment). Anything CPython would read differently from what the parser sees is
 * a `source` issue, so the scan fails closed.
 *
 * @module
 */

/** Larger files are a finding rather than a multi-second, 100+ MB parse: plugins ship code, not data. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface SourceIssue {
  rule: string;
  message: string;
  /** Offset in the normalised text (for issues found after decoding). */
  index?: number;
  /** 1-based line and column when there is no normalised text (undecodable files). */
  line?: number;
  column?: number;
}

export interface DecodedSource {
  /** The text the parser sees (line endings normalised, NULs blanked), or null when it cannot be decoded. */
  text: string | null;
  /** The text findings point into (the lossy decoding when `text` is null). */
  linesText: string;
  issues: SourceIssue[];
}

/** Maps offsets in a text to 1-based lines and code-point columns. */
export class LineIndex {
  readonly text: string;
  readonly starts: number[];

  constructor(text: string) {
    this.text = text;
    const starts = [0];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    this.starts = starts;
  }

  /** 0-based line of an offset. */
  lineOf(index: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** 1-based line and column (in Unicode code points) of an offset. */
  position(index: number): { line: number; column: number } {
    const line = this.lineOf(index);
    return { line: line + 1, column: _codePoints(this.text, this.starts[line], index) + 1 };
  }

  /** The text of a 1-based line, without its newline. */
  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.text.length;
    const next = this.starts[line];
    return this.text.slice(start, next === undefined ? this.text.length : next - 1);
  }
}

function _codePoints(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > from) {
      const prev = text.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) continue; // second half of a surrogate pair
    }
    n++;
  }
  return n;
}

const UTF8_NAMES = new Set(["utf-8", "utf8", "u8", "utf", "cp65001", "utf8-ucs2", "utf8-ucs4"]);
/** Codecs that decode pure-ASCII bytes exactly like UTF-8 (utf-7 and unicode_escape do not). */
const ASCII_COMPATIBLE =
  /^(ascii|us-ascii|646|latin-?1|l1|iso-?8859-\d{1,2}|iso-latin-1|cp125[0-8]|windows-125[0-8]|cp437|cp850|koi8-[ru])$/;
const CODING = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;
const BOM = [0xef, 0xbb, 0xbf];

/** CPython's get_normal_name plus the lower-casing codec lookup does. */
function _normalEncoding(name: string): string {
  const n = name.toLowerCase().replaceAll("_", "-");
  if (n === "utf-8" || n.startsWith("utf-8-")) return "utf-8";
  if (/^(latin-1|iso-8859-1|iso-latin-1)(-|$)/.test(n)) return "iso-8859-1";
  return n;
}

/** The first two physical lines as Latin-1 text (how the encoding declaration is looked for). */
function _firstLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length && lines.length < 2; i++) {
    const b = bytes[i];
    if (b === 0x0a || b === 0x0d) {
      lines.push(_latin1(bytes.subarray(start, i)));
      if (b === 0x0d && bytes[i + 1] === 0x0a) i++;
      start = i + 1;
    }
  }
  if (lines.length < 2 && start < bytes.length) {
    lines.push(_latin1(bytes.subarray(start, Math.min(bytes.length, start + 4096))));
  }
  return lines;
}

function _latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length && i < 4096; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function _isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

/** The declared encoding (PEP 263): line 1, or line 2 when line 1 is blank or a comment. */
function _declaredEncoding(bytes: Uint8Array): { name: string; line: number } | undefined {
  const [first, second] = _firstLines(bytes);
  const m1 = first === undefined ? null : CODING.exec(first);
  if (m1) return { name: m1[1], line: 1 };
  if (first !== undefined && second !== undefined && /^[ \t\f]*(#.*)?$/.test(first)) {
    const m2 = CODING.exec(second);
    if (m2) return { name: m2[1], line: 2 };
  }
  return undefined;
}

/** Line and column (1-based, in bytes) of a byte offset, counting `\n`, `\r\n` and `\r` as line ends. */
function _bytePosition(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    const b = bytes[i];
    if (b === 0x0a || (b === 0x0d && bytes[i + 1] !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** The offset of the first byte that is not part of valid UTF-8. */
function _firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let n = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

const FATAL_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const LOSSY_UTF8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The result for a file over MAX_FILE_BYTES (its bytes are never read: see lib/scan/prepare.ts). */
export function tooLargeSource(size: number): DecodedSource {
  const mb = (n: number) => (n / (1024 * 1024)).toFixed(1);
  return {
    text: null,
    linesText: "",
    issues: [{
      rule: "source-too-large",
      message:
        `the file is ${size > MAX_FILE_BYTES ? `${mb(size)} MiB` : "larger than the limit"}; the scanner ` +
        `analyses Python files up to ${mb(MAX_FILE_BYTES)} MiB`,
      line: 1,
      column: 1,
    }],
  };
}

/** Decodes a file like CPython's tokenizer does; issues say where CPython would read it differently. */
export function decodeSource(bytes: Uint8Array): DecodedSource {
  const issues: SourceIssue[] = [];
  if (bytes.length > MAX_FILE_BYTES) return tooLargeSource(bytes.length);
  const hasBom = bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
  const body = hasBom ? bytes.subarray(3) : bytes;

  const declared = _declaredEncoding(body);
  if (declared) {
    const normal = _normalEncoding(declared.name);
    const utf8 = UTF8_NAMES.has(normal);
    if (!utf8 && (hasBom || !ASCII_COMPATIBLE.test(normal) || !_isAscii(body))) {
      issues.push({
        rule: "source-encoding",
        message: hasBom
          ? `the file starts with a UTF-8 byte order mark but declares "coding: ${declared.name}" (CPython refuses it)`
          : `the file declares "coding: ${declared.name}" (PEP 263): CPython decodes it with that codec, so what runs is not what the scanner reads`,
        line: declared.line,
        column: 1,
      });
    }
  }

  let text: string;
  try {
    text = FATAL_UTF8.decode(body);
  } catch {
    const offset = _firstInvalidUtf8(body);
    const at = _bytePosition(body, Math.max(0, offset));
    const lossy = LOSSY_UTF8.decode(body).replace(/\r\n?/g, "\n");
    // A declared other encoding is already the finding (CPython would decode with it).
    if (issues.length > 0) return { text: null, linesText: lossy, issues };
    issues.push({
      rule: "source-encoding",
      message: `the file is not valid UTF-8 (byte 0x${
        (body[offset] ?? 0).toString(16).padStart(2, "0")
      } at line ${at.line}, column ${at.column}); CPython refuses it`,
      line: at.line,
      column: at.column,
    });
    return { text: null, linesText: lossy, issues };
  }

  text = text.replace(/\r\n?/g, "\n");
  const nul = text.indexOf("\0");
  if (nul >= 0) {
    issues.push({
      rule: "source-null-byte",
      message: "the file contains NUL bytes; CPython refuses source code with NUL bytes",
      index: nul,
    });
    // Blank them so the parser still sees (and the scan still reports on) what follows.
    text = text.replaceAll("\0", " ");
  }
  return { text, linesText: text, issues };
}
