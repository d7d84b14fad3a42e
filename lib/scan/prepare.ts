/**
 * The first half of scanning a file, the part worker threads do: read it, decode it like CPython
 * (lib/scan/source.ts) and parse it (lib/scan/parser.ts). The result is plain data (strings, typed arrays)
 * so a worker can post it, the arrays transferred rather than copied, to the thread that analyses it.
 *
 * @module
 */
import { type Parser, ParserBudgetError, ParserFailedError } from "./parser.ts";
import { type DecodedSource, decodeSource, MAX_FILE_BYTES, tooLargeSource } from "./source.ts";
import { SyntaxTree, type TreeData } from "./tree.ts";

/** A decoded file (the text the parser saw, or null with issues saying why) and its tree. */
export interface PreparedSource extends DecodedSource {
  /** The tree; null when parsing passed the time limit, undefined when there was nothing to parse. */
  tree?: TreeData | null;
  /** Set when the parser could not finish (the scan reports it: fail closed). */
  parseFailure?: string;
  /** Set when parsing needed more memory than the parser's budget (a `source-too-large` finding). */
  tooComplex?: string;
  /** Set when the file could not be read at all. */
  unreadable?: string;
}

function _treeData(tree: SyntaxTree): TreeData {
  const { count, kind, parent, first, next, start, end, maxDepth, errors } = tree;
  return { count, kind, parent, first, next, start, end, maxDepth, errors };
}

/** Decodes and parses one file's bytes. */
export function prepareSource(bytes: Uint8Array, parser: Parser): PreparedSource {
  const decoded = decodeSource(bytes);
  const prepared: PreparedSource = { ...decoded };
  if (decoded.text !== null) {
    try {
      const tree = parser.parse(decoded.text);
      prepared.tree = tree ? _treeData(tree) : null;
    } catch (error) {
      if (error instanceof ParserBudgetError) prepared.tooComplex = error.message;
      else if (error instanceof ParserFailedError) prepared.parseFailure = error.message;
      else throw error;
    }
  }
  return prepared;
}

/**
 * A file's bytes, or its size when it is over MAX_FILE_BYTES: the size is checked on the open file before
 * anything is read, and reading stops one byte past the limit (a file growing meanwhile is caught too), so
 * a scan never holds more than MAX_FILE_BYTES + 1 bytes of one file.
 */
export function readBounded(path: string): { bytes: Uint8Array } | { tooLarge: number } {
  using file = Deno.openSync(path, { read: true });
  const size = file.statSync().size;
  if (size > MAX_FILE_BYTES) return { tooLarge: size };
  const buffer = new Uint8Array(Math.min(size, MAX_FILE_BYTES) + 1);
  let length = 0;
  while (length < buffer.length) {
    const n = file.readSync(buffer.subarray(length));
    if (n === null || n === 0) break;
    length += n;
  }
  if (length > MAX_FILE_BYTES) return { tooLarge: length };
  return { bytes: buffer.subarray(0, length) };
}

/** Reads (synchronously: the work is CPU-bound) and prepares one file; unreadable files are reported. */
export function preparePath(path: string, parser: Parser): PreparedSource {
  let read: ReturnType<typeof readBounded>;
  try {
    read = readBounded(path);
  } catch (error) {
    return { text: null, linesText: "", issues: [], unreadable: (error as Error).message };
  }
  if ("tooLarge" in read) return tooLargeSource(read.tooLarge);
  return prepareSource(read.bytes, parser);
}

/** The typed arrays' buffers, for postMessage's transfer list. */
export function transferables(prepared: PreparedSource): ArrayBuffer[] {
  const t = prepared.tree;
  if (!t) return [];
  return [t.kind, t.parent, t.first, t.next, t.start, t.end].map((a) => a.buffer as ArrayBuffer);
}

/** The SyntaxTree of a prepared source (null/undefined as in PreparedSource.tree). */
export function syntaxTree(prepared: PreparedSource): SyntaxTree | null | undefined {
  if (prepared.tree === undefined || prepared.text === null) return undefined;
  if (prepared.tree === null) return null;
  return new SyntaxTree({ source: prepared.text, ...prepared.tree });
}
