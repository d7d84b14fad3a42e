/**
 * tree-sitter-python through web-tree-sitter, loaded lazily (only when something is scanned) from the WASM
 * bytes embedded in lib/embedded/tree_sitter.ts, so `deno compile` binaries and `deno run jsr:` need no
 * files at run time. `parsePython` returns the compact SyntaxTree (lib/scan/tree.ts).
 *
 * Speed: copying the tree out of WASM dominates after parsing. web-tree-sitter's TreeCursor marshals the
 * cursor through a transfer buffer on every call; the fast path calls the same exported cursor functions of
 * the emscripten module (the options object handed to Parser.init becomes that module) and leaves the
 * cursor in the transfer buffer between calls, which halves the cost. It is used only when the module has
 * the expected exports, is checked against the public API at load time, and the public API is the fallback.
 *
 * @module
 */
import type { Language, Parser, Tree, TreeCursor } from "web-tree-sitter";
import { K, K_ERROR, kindTable, SyntaxTree, type TreeError } from "./tree.ts";

/** Parsing longer than this is abandoned (and reported) rather than hanging a scan. */
export const PARSE_TIME_LIMIT_MS = 30_000;

interface CursorOps {
  typeId(): number;
  first(): boolean;
  next(): boolean;
  up(): boolean;
  start(): number;
  end(): number;
}

// deno-lint-ignore no-explicit-any
type EmscriptenModule = Record<string, any>;

interface Loaded {
  parser: Parser;
  language: Language;
  kinds: Uint8Array;
  /** The emscripten module when the fast cursor path is usable. */
  module: EmscriptenModule | null;
  transferBuffer: number;
}

let _loading: Promise<Loaded> | undefined;

function _decodeBase64(text: string): Uint8Array {
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (fromBase64) return fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function _load(): Promise<Loaded> {
  const [{ TREE_SITTER_WASM }, { Language, Parser }] = await Promise.all([
    import("../embedded/tree_sitter.ts"),
    import("web-tree-sitter"),
  ]);
  const runtime = _decodeBase64(TREE_SITTER_WASM["web-tree-sitter.wasm"].base64);
  const grammar = _decodeBase64(TREE_SITTER_WASM["tree-sitter-python.wasm"].base64);
  const module: EmscriptenModule = { wasmBinary: runtime };
  await Parser.init(module);
  const language = await Language.load(grammar);
  const parser = new Parser();
  parser.setLanguage(language);
  const kinds = kindTable(language.types, (id) => language.nodeTypeIsNamed(id));
  const fast = _hasFastExports(module) ? module : null;
  const loaded: Loaded = {
    parser,
    language,
    kinds,
    module: fast,
    transferBuffer: fast ? fast._ts_init() : 0,
  };
  if (fast && !_fastPathAgrees(loaded)) loaded.module = null;
  return loaded;
}

const FAST_EXPORTS = [
  "_ts_init",
  "_ts_tree_cursor_goto_first_child_wasm",
  "_ts_tree_cursor_goto_next_sibling_wasm",
  "_ts_tree_cursor_goto_parent_wasm",
  "_ts_tree_cursor_current_node_type_id_wasm",
  "_ts_tree_cursor_start_index_wasm",
  "_ts_tree_cursor_end_index_wasm",
];

function _hasFastExports(module: EmscriptenModule): boolean {
  return FAST_EXPORTS.every((name) => typeof module[name] === "function") &&
    module.HEAP32 instanceof Int32Array;
}

/** Both paths must give the same tree for a sample exercising strings, nesting and errors. */
function _fastPathAgrees(loaded: Loaded): boolean {
  const sample =
    'import os as o\n@d(1)\ndef f(a, *b, c="x{y}"):\n    return f"{a!r:>{b}}" + o.path[1:2]\nx = (1 +\n'
      .repeat(3);
  try {
    const a = _extract(loaded, sample, true);
    const b = _extract(loaded, sample, false);
    if (!a || !b || a.count !== b.count) return false;
    for (let i = 0; i < a.count; i++) {
      if (
        a.kind[i] !== b.kind[i] || a.parent[i] !== b.parent[i] || a.start[i] !== b.start[i] ||
        a.end[i] !== b.end[i] || a.next[i] !== b.next[i]
      ) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Loads the parser (once per process or worker). */
export function loadParser(): Promise<Loaded> {
  _loading ??= _load();
  return _loading;
}

function _fastOps(module: EmscriptenModule, treePtr: number): CursorOps {
  const first = module._ts_tree_cursor_goto_first_child_wasm;
  const next = module._ts_tree_cursor_goto_next_sibling_wasm;
  const up = module._ts_tree_cursor_goto_parent_wasm;
  const typeId = module._ts_tree_cursor_current_node_type_id_wasm;
  const start = module._ts_tree_cursor_start_index_wasm;
  const end = module._ts_tree_cursor_end_index_wasm;
  return {
    typeId: () => typeId(treePtr),
    first: () => first(treePtr) === 1,
    next: () => next(treePtr) === 1,
    up: () => up(treePtr) === 1,
    start: () => start(treePtr),
    end: () => end(treePtr),
  };
}

function _publicOps(cursor: TreeCursor): CursorOps {
  return {
    typeId: () => cursor.nodeTypeId,
    first: () => cursor.gotoFirstChild(),
    next: () => cursor.gotoNextSibling(),
    up: () => cursor.gotoParent(),
    start: () => cursor.startIndex,
    end: () => cursor.endIndex,
  };
}

/** The cursor fields web-tree-sitter keeps on the TreeCursor object (what marshalTreeCursor copies). */
type CursorFields = TreeCursor & Record<0 | 1 | 2 | 3, number>;

/**
 * Kinds whose text is not covered by their children (raw text around escape sequences, format spec text,
 * skipped input in ERROR nodes): their range is read from tree-sitter instead of derived from children.
 */
const EXACT_RANGE = new Uint8Array(256);
for (const k of [K.string_content, K.format_specifier, K_ERROR]) EXACT_RANGE[k] = 1;

function _walk(ops: CursorOps, kinds: Uint8Array, length: number, sourceLength: number) {
  let cap = Math.max(64, (length >> 2) + 64);
  let kind = new Uint8Array(cap);
  let parent = new Int32Array(cap);
  let first = new Int32Array(cap);
  let next = new Int32Array(cap);
  let start = new Int32Array(cap);
  let end = new Int32Array(cap);
  let stackNode = new Int32Array(256);
  let stackLast = new Int32Array(256);
  let n = 0;
  let depth = 0;
  let maxDepth = 0;

  const grow = () => {
    cap *= 2;
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    const g32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    kind = g8(kind);
    parent = g32(parent);
    first = g32(first);
    next = g32(next);
    start = g32(start);
    end = g32(end);
  };
  const visit = () => {
    if (n === cap) grow();
    if (depth >= stackNode.length) {
      const s1 = new Int32Array(stackNode.length * 2);
      s1.set(stackNode);
      stackNode = s1;
      const s2 = new Int32Array(stackLast.length * 2);
      s2.set(stackLast);
      stackLast = s2;
    }
    const i = n++;
    const id = ops.typeId();
    kind[i] = id < kinds.length ? kinds[id] : K_ERROR;
    first[i] = -1;
    next[i] = -1;
    if (depth > 0) {
      const p = stackNode[depth - 1];
      parent[i] = p;
      const last = stackLast[depth - 1];
      if (last < 0) first[p] = i;
      else next[last] = i;
      stackLast[depth - 1] = i;
    } else parent[i] = -1;
    stackNode[depth] = i;
    stackLast[depth] = -1;
  };

  visit();
  outer: for (;;) {
    const current = stackNode[depth];
    const exact = EXACT_RANGE[kind[current]] === 1;
    if (exact) {
      start[current] = ops.start();
      end[current] = ops.end();
    }
    if (ops.first()) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      visit();
      continue;
    }
    const leaf = stackNode[depth];
    start[leaf] = ops.start();
    end[leaf] = ops.end();
    for (;;) {
      if (ops.next()) {
        visit();
        continue outer;
      }
      if (!ops.up()) break outer;
      depth--;
      const p = stackNode[depth];
      if (EXACT_RANGE[kind[p]] !== 1) {
        start[p] = start[first[p]];
        end[p] = end[stackLast[depth]];
      }
    }
  }
  start[0] = 0;
  end[0] = sourceLength;
  return { count: n, kind, parent, first, next, start, end, maxDepth };
}

function _errors(tree: Tree): TreeError[] {
  const errors: TreeError[] = [];
  const cursor = tree.walk();
  try {
    outer: for (;;) {
      const isError = cursor.nodeTypeId === 65535 || cursor.nodeType === "ERROR";
      if (isError || cursor.nodeIsMissing) {
        errors.push({
          start: cursor.startIndex,
          end: cursor.endIndex,
          missing: !isError,
          expected: isError ? undefined : cursor.nodeType,
        });
        if (errors.length >= 20) break;
        if (isError) {
          // Do not descend into an ERROR node: one finding per error region.
          while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) break outer;
          continue;
        }
      }
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) break outer;
    }
  } finally {
    cursor.delete();
  }
  return errors;
}

function _extract(loaded: Loaded, source: string, fast: boolean): SyntaxTree | null {
  const deadline = performance.now() + PARSE_TIME_LIMIT_MS;
  const tree = loaded.parser.parse(source, null, { progressCallback: () => performance.now() > deadline });
  if (!tree) return null;
  try {
    const cursor = tree.walk() as CursorFields;
    let walked;
    try {
      if (fast && loaded.module) {
        const m = loaded.module;
        const base = loaded.transferBuffer >> 2;
        let heap = m.HEAP32 as Int32Array;
        for (let k = 0; k < 4; k++) heap[base + k] = cursor[k as 0 | 1 | 2 | 3];
        try {
          walked = _walk(
            _fastOps(m, (tree as unknown as Record<0, number>)[0]),
            loaded.kinds,
            source.length,
            source.length,
          );
        } finally {
          // The C cursor may have reallocated its stack: copy its state back before it is freed.
          heap = m.HEAP32 as Int32Array;
          for (let k = 0; k < 4; k++) cursor[k as 0 | 1 | 2 | 3] = heap[base + k];
        }
      } else {
        walked = _walk(_publicOps(cursor), loaded.kinds, source.length, source.length);
      }
    } finally {
      cursor.delete();
    }
    const errors = tree.rootNode.hasError ? _errors(tree) : [];
    return new SyntaxTree({ source, ...walked, errors });
  } finally {
    tree.delete();
  }
}

/** Parses Python source; null when parsing took longer than PARSE_TIME_LIMIT_MS. */
export async function parsePython(source: string): Promise<SyntaxTree | null> {
  const loaded = await loadParser();
  return _extract(loaded, source, true);
}

/** A synchronous parser once the WASM is loaded (the analyser parses strings it finds, e.g. annotations). */
export async function syncParser(): Promise<(source: string) => SyntaxTree | null> {
  const loaded = await loadParser();
  return (source) => _extract(loaded, source, true);
}

/** For tests: parse with the public cursor API only (the reference for the fast path). */
export async function parsePythonSlow(source: string): Promise<SyntaxTree | null> {
  return _extract(await loadParser(), source, false);
}

/** Whether the fast cursor path is in use (for tests and --verbose diagnostics). */
export async function fastPathEnabled(): Promise<boolean> {
  return (await loadParser()).module !== null;
}
