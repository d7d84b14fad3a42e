/**
 * The Python parser: tree-sitter's C runtime and the tree-sitter-python grammar in one WASM module
 * (built by scripts/build_parser.ts from the pinned npm sources, embedded in lib/embedded/python_parser.js so
 * `deno compile` binaries and `deno run jsr:` need no files at run time).
 *
 * One call into the module parses a source and flattens the visible nodes into arrays (see
 * scripts/wasm/scan_parser.c); `Parser.parse` copies them into a SyntaxTree (lib/scan/tree.ts). The module
 * is compiled once per process (`compileParser`) and can be posted, compiled, to worker threads
 * (`Parser.fromModule`); each thread instantiates its own parser.
 *
 * tests/scan/parser_test.ts checks every tree against web-tree-sitter's public API on the same grammar.
 *
 * @module
 */
import { K, K_ERROR, kindTable, SyntaxTree, type TreeError } from "./tree.ts";

/** Parsing longer than this is abandoned (and reported) rather than hanging a scan. */
export const PARSE_TIME_LIMIT_MS = 30_000;

/**
 * The most memory a parse may take in the module: tree-sitter needs ~100–300 bytes per node (a flat list
 * literal is the worst case), so a hostile file under the size limit could take a gigabyte. Past this the
 * parse is abandoned and the file is a `source-too-large` finding (the scan fails closed). Ordinary code
 * takes ~50 MiB per MiB of source.
 */
export const PARSE_MEMORY_BUDGET = 128 * 1024 * 1024;
/** After a parse that grew the module's memory past this, the instance is replaced (WASM memory never shrinks). */
const RESET_MEMORY_BYTES = 48 * 1024 * 1024;

/** Kinds whose text is not covered by their children: their range is tree-sitter's own. */
const EXACT_RANGE = new Set<number>([K.string_content, K.format_specifier, K_ERROR]);

/** Byte offsets of Result's fields (scripts/wasm/scan_parser.c). */
const RESULT_COUNT = 0;
const RESULT_MAX_DEPTH = 4;
const RESULT_ERROR_COUNT = 8;
const RESULT_KIND = 16;
const RESULT_PARENT = 20;
const RESULT_FIRST = 24;
const RESULT_NEXT = 28;
const RESULT_START = 32;
const RESULT_END = 36;
const RESULT_ERRORS = 40;

/** A parse could not finish: the module trapped (e.g. out of memory) or ran out of memory for the tree. */
export class ParserFailedError extends Error {}

/** A parse needed more memory than PARSE_MEMORY_BUDGET: the file is too large to analyse. */
export class ParserBudgetError extends Error {}

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  mp_init(): number;
  mp_alloc(size: number): number;
  mp_free(pointer: number): void;
  mp_result(): number;
  mp_symbol_count(): number;
  mp_error_symbol(): number;
  mp_symbol_name(symbol: number): number;
  mp_symbol_named(symbol: number): number;
  mp_set_kind(symbol: number, kind: number, exact: number): void;
  mp_parse(text: number, units: number, timeLimitMs: number): number;
}

function _decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array<ArrayBuffer> })
    .fromBase64;
  if (fromBase64) return fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let _compiling: Promise<WebAssembly.Module> | undefined;

/** The compiled parser module (compiled once per process; a worker gets it from its parent). */
export function compileParser(): Promise<WebAssembly.Module> {
  _compiling ??= (async () => {
    const { PYTHON_PARSER_WASM } = await import("../embedded/python_parser.js");
    return await WebAssembly.compile(_decodeBase64(PYTHON_PARSER_WASM.base64));
  })();
  return _compiling;
}

/** The module's WASI imports: tree-sitter links them (clocks, stdio) but never calls them here. */
function _wasiStubs(): Record<string, () => number> {
  const ENOSYS = 52;
  return {
    clock_time_get: () => ENOSYS,
    fd_close: () => ENOSYS,
    fd_seek: () => ENOSYS,
    fd_write: () => ENOSYS,
  };
}

export interface ParserOptions {
  /** Milliseconds on a monotonic clock, for the time limit (default performance.now). */
  now?: () => number;
  /** The module memory a parse may take (default PARSE_MEMORY_BUDGET). */
  memoryBudget?: number;
}

/** What the progress callback watches besides the clock: the module's memory against a budget. */
interface Budget {
  bytes: number;
  exceeded: boolean;
  memory?: WebAssembly.Memory;
}

/** The module's instance with the scanner's kinds loaded, and the grammar's symbol names. */
function _instantiate(
  module: WebAssembly.Module,
  now: () => number,
  budget: Budget,
): { x: Exports; names: string[] } {
  // tree-sitter's progress callback asks for the time; past the memory budget the answer is "too late",
  // so the parse stops as it does at its deadline.
  const nowMs = () => {
    if (budget.memory && budget.memory.buffer.byteLength > budget.bytes) {
      budget.exceeded = true;
      return Number.POSITIVE_INFINITY;
    }
    return now();
  };
  const instance = new WebAssembly.Instance(module, {
    env: { now_ms: nowMs },
    wasi_snapshot_preview1: _wasiStubs(),
  });
  const x = instance.exports as unknown as Exports;
  budget.memory = x.memory;
  x._initialize();
  if (x.mp_init() !== 1) throw new Error("the Python grammar does not match the tree-sitter runtime");
  const count = x.mp_symbol_count();
  const names: string[] = [];
  const named: boolean[] = [];
  // One decoder for all ~270 names: creating a TextDecoder per name took 1.5 ms of every parser's start.
  const decoder = new TextDecoder();
  for (let id = 0; id < count; id++) {
    names.push(_cString(x, x.mp_symbol_name(id), decoder));
    named.push(x.mp_symbol_named(id) === 1);
  }
  const kinds = kindTable(names, (id) => named[id]);
  for (let id = 0; id < count; id++) x.mp_set_kind(id, kinds[id], EXACT_RANGE.has(kinds[id]) ? 1 : 0);
  x.mp_set_kind(x.mp_error_symbol(), K_ERROR, 1);
  names[x.mp_error_symbol()] = "ERROR";
  return { x, names };
}

function _cString(x: Exports, pointer: number, decoder: TextDecoder): string {
  const bytes = new Uint8Array(x.memory.buffer);
  let end = pointer;
  while (bytes[end] !== 0) end++;
  return decoder.decode(bytes.subarray(pointer, end));
}

/**
 * One tree-sitter parser (one WASM instance); not shared between threads. A parse that traps (or whose
 * clock throws) leaves the instance in an unknown state: it is replaced by a fresh one and the parse ends
 * in ParserFailedError, which the scan reports as a finding (fail closed).
 */
export class Parser {
  readonly #module: WebAssembly.Module;
  readonly #now: () => number;
  readonly #budget: Budget;
  #x: Exports;
  #symbolNames: string[];
  #input = 0;
  #inputSize = 0;

  private constructor(module: WebAssembly.Module, now: () => number, memoryBudget: number) {
    this.#module = module;
    this.#now = now;
    this.#budget = { bytes: memoryBudget, exceeded: false };
    const { x, names } = _instantiate(module, now, this.#budget);
    this.#x = x;
    this.#symbolNames = names;
  }

  /** A parser on an already compiled module (what worker threads use). */
  static fromModule(module: WebAssembly.Module, options: ParserOptions = {}): Parser {
    return new Parser(
      module,
      options.now ?? (() => performance.now()),
      options.memoryBudget ?? PARSE_MEMORY_BUDGET,
    );
  }

  /** A parser on this process's compiled module. */
  static async create(options: ParserOptions = {}): Promise<Parser> {
    return Parser.fromModule(await compileParser(), options);
  }

  #replaceInstance(): void {
    this.#budget.memory = undefined;
    const { x, names } = _instantiate(this.#module, this.#now, this.#budget);
    this.#x = x;
    this.#symbolNames = names;
    this.#input = 0;
    this.#inputSize = 0;
  }

  /**
   * Parses Python source; null when parsing took longer than the time limit. Throws ParserBudgetError when
   * it needs more memory than the budget (the instance is then replaced, releasing that memory).
   */
  parse(source: string, timeLimitMs = PARSE_TIME_LIMIT_MS): SyntaxTree | null {
    let status: number;
    this.#budget.exceeded = false;
    try {
      status = this.#parseInModule(source, timeLimitMs);
    } catch (error) {
      // A trap (or a throwing clock) may have left the instance half-way through a parse: start afresh.
      const reason = error instanceof Error ? error.message : String(error);
      try {
        this.#replaceInstance();
      } catch (replacing) {
        throw new ParserFailedError(`the parser stopped (${reason}) and could not restart: ${replacing}`);
      }
      throw error instanceof ParserFailedError
        ? error
        : new ParserFailedError(`the parser stopped: ${reason}`);
    }
    const grown = this.#x.memory.buffer.byteLength;
    if (this.#budget.exceeded || grown > this.#budget.bytes) {
      this.#replaceInstance();
      throw new ParserBudgetError(
        `parsing it needs more than ${Math.round(this.#budget.bytes / 1048576)} MiB, the scanner's limit`,
      );
    }
    if (status === 0) return null;
    if (status !== 1) throw new ParserFailedError("the parser ran out of memory");
    const tree = this.#read(source);
    if (grown > RESET_MEMORY_BYTES) this.#replaceInstance();
    return tree;
  }

  /** Copies the source into WASM memory as UTF-16 (what tree-sitter gets from web-tree-sitter) and parses. */
  #parseInModule(source: string, timeLimitMs: number): number {
    const x = this.#x;
    const needed = source.length * 2 + 2;
    if (needed > this.#inputSize) {
      if (this.#input) x.mp_free(this.#input);
      this.#inputSize = Math.max(needed, 64 * 1024);
      this.#input = x.mp_alloc(this.#inputSize);
      if (!this.#input) {
        this.#inputSize = 0;
        throw new ParserFailedError("the parser ran out of memory");
      }
    }
    const units = new Uint16Array(x.memory.buffer, this.#input, source.length);
    for (let i = 0; i < source.length; i++) units[i] = source.charCodeAt(i);
    return x.mp_parse(this.#input, source.length, timeLimitMs);
  }

  /** Copies the flattened tree out of WASM memory (the next parse reuses it). */
  #read(source: string): SyntaxTree {
    const buffer = this.#x.memory.buffer;
    const base = this.#x.mp_result();
    const view = new DataView(buffer, base, RESULT_ERRORS + 4 * 80);
    const u32 = (offset: number) => view.getUint32(offset, true);
    const count = u32(RESULT_COUNT);
    const ints = (offset: number) => new Int32Array(buffer, u32(offset), count).slice();
    const errors: TreeError[] = [];
    for (let e = 0; e < u32(RESULT_ERROR_COUNT); e++) {
      const at = RESULT_ERRORS + 16 * e;
      const missing = view.getInt32(at + 12, true) === 1;
      errors.push({
        start: view.getInt32(at, true),
        end: view.getInt32(at + 4, true),
        missing,
        expected: missing ? this.#symbolNames[view.getInt32(at + 8, true)] : undefined,
      });
    }
    return new SyntaxTree({
      source,
      count,
      kind: new Uint8Array(buffer, u32(RESULT_KIND), count).slice(),
      parent: ints(RESULT_PARENT),
      first: ints(RESULT_FIRST),
      next: ints(RESULT_NEXT),
      start: ints(RESULT_START),
      end: ints(RESULT_END),
      maxDepth: u32(RESULT_MAX_DEPTH),
      errors,
    });
  }
}

let _parser: Promise<Parser> | undefined;

/** This thread's parser (created on first use). */
export function threadParser(): Promise<Parser> {
  _parser ??= Parser.create();
  return _parser;
}

/** Parses Python source with this thread's parser; null when parsing took longer than the time limit. */
export async function parsePython(source: string): Promise<SyntaxTree | null> {
  return (await threadParser()).parse(source);
}
