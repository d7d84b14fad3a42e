/**
 * The semantic half of the scan: name resolution per module and constant folding over the compact tree,
 * then the rules of lib/scan/rules.ts.
 *
 * - Scopes like Python's: module, class, function, lambda, comprehension; `global` / `nonlocal`; class
 *   bodies invisible to nested functions; the first iterable of a comprehension in the enclosing scope.
 * - Bindings are flow-insensitive (every value a name is ever given counts), with one refinement: a
 *   module-level name falls back to the builtin of that name only when some use may run before the name is
 *   bound (`from re import compile` at the top makes `compile(...)` below `re.compile`).
 * - Values (lib/scan/values.ts) follow imports, aliases, re-bindings, containers, attribute stores
 *   (field-based: `self.m = os` makes `x.m` possibly `os`), function parameters (from the calls in the
 *   file), return values, and fold constants (concatenation, join, f-strings, % and format, slicing,
 *   chr/ord, bytes.fromhex, base64, codecs rot13, …).
 * - A finding is reported where a forbidden object first appears: the import, the attribute or lookup that
 *   produces it, the builtin name; calling a forbidden object that arrived through a name is reported too.
 *
 * Evaluation is recursive over expressions (memoised per node); nesting deeper than the JavaScript stack
 * allows ends in a `source-too-deep` finding (the scan fails closed).
 *
 * @module
 */
import {
  base32Decode,
  base64Decode,
  base64Encode,
  convert,
  decodeBytes,
  decodeLiteral,
  encodeString,
  formatSpec,
  hexDecode,
  hexEncode,
  parseIntLiteral,
  percentFormat,
  pySlice,
  pyStr,
  rot13,
  type Scalar,
  strFormat,
} from "./fold.ts";
import {
  CALL_ONLY_PATHS,
  canonicalPath,
  DANGEROUS_NAMESPACES,
  FORBIDDEN_ATTRIBUTES,
  FORBIDDEN_BUILTINS,
  FORBIDDEN_MODULE_GLOBALS,
  FORBIDDEN_PATHS,
  forbiddenRule,
  MODULE_LIKE_ATTRIBUTES,
  PAYLOAD_LOADERS,
  RESOLVER_KEYS,
  RESOLVERS,
} from "./rules.ts";
import { isNamedKind, K, type SyntaxTree, TK } from "./tree.ts";
import {
  CONST,
  isConst,
  mapValue,
  members,
  NONE,
  num,
  path,
  str,
  strings,
  union,
  UNKNOWN,
  type Value,
} from "./values.ts";

export interface RawFinding {
  start: number;
  end: number;
  rule: string;
  /** What replaces `{name}` in the rule's message. */
  name: string;
  /** Where the code was found, when not plainly in the file (a string annotation, a timeit statement). */
  context?: string;
}

/** Parses a piece of Python source found in a string (annotations, timeit statements). */
export type SubParser = (source: string) => SyntaxTree | null;

/** Raised when expressions nest deeper than the evaluator can follow, or the file needs too many steps. */
export class TooDeepError extends Error {}

const MAX_EVAL_DEPTH = 3100;
/** Evaluation steps per file: hostile nesting of unrolled comprehensions must not hang the scan. */
const MAX_STEPS = 1_000_000;
/** Items evaluated one by one (joins over comprehensions, map()) per file. */
const MAX_UNROLLED = 20_000;
const MAX_UNROLL = 4096;
const MAX_PRODUCT = 64;
const MAX_SUBSCAN_DEPTH = 2;

type ScopeKind = "module" | "class" | "function" | "lambda" | "comprehension";

interface Scope {
  kind: ScopeKind;
  node: number;
  parent: number;
  bindings: Map<string, Binding[]>;
  globals: Set<string>;
  nonlocals: Set<string>;
  /** Modules star-imported into this scope (absolute imports only). */
  stars: string[];
  deleted: Set<string>;
}

type BindingKind = "value" | "aug" | "import" | "def" | "class" | "param" | "unknown";

/** Unpacking steps from a value to a target: an index, STARRED, or ELEMENT (an element of an iterable). */
const STARRED = -1;
const ELEMENT = -2;

interface Binding {
  kind: BindingKind;
  target: number;
  value: number;
  unpack: number[];
  path?: string;
  op?: number;
  func?: number;
  param?: Param;
  stmt: number;
  /** An unconditional statement directly in the module body. */
  top: boolean;
}

interface Param {
  name: string;
  /** Positional index, or -1 for keyword-only. */
  index: number;
  /** 0 plain, 1 *args, 2 **kwargs. */
  star: 0 | 1 | 2;
  defaultNode: number;
}

interface FuncInfo {
  node: number;
  name: string;
  scope: number;
  params: Param[];
  returns: number[];
  lambdaBody: number;
  /** Defined in a class body: calls through an attribute pass self first. */
  method: boolean;
  generator: boolean;
}

interface Store {
  value: number;
  unpack: number[];
}

const BUILTIN_NAMES = new Set(
  (
    "abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex " +
    "delattr dict dir divmod enumerate eval exec execfile filter float format frozenset getattr globals hasattr hash " +
    "help hex id input int isinstance issubclass iter len list locals map max memoryview min next object oct " +
    "open ord pow print property range repr reversed round set setattr slice sorted staticmethod str sum super " +
    "tuple type vars zip __import__ __build_class__ reload unicode basestring long file raw_input apply " +
    "intern coerce buffer cmp"
  ).split(" "),
);

/** Module-level names Python defines in every module. */
const MODULE_DUNDERS = new Set([
  "__name__",
  "__file__",
  "__doc__",
  "__package__",
  "__spec__",
  "__path__",
  "__cached__",
  "__annotations__",
  "__loader__",
  "__builtins__",
  "__dict__",
]);

/** Calls of these do not let a namespace handed to them escape the analysis. */
const SAFE_SINKS = new Set([
  "builtins.print",
  "builtins.repr",
  "builtins.str",
  "builtins.id",
  "builtins.type",
  "builtins.isinstance",
  "builtins.issubclass",
  "builtins.hasattr",
  "builtins.callable",
  "builtins.dir",
  "builtins.hash",
  "builtins.bool",
  "builtins.len",
  "builtins.getattr",
  "builtins.setattr",
  "builtins.delattr",
  "builtins.vars",
  "importlib.reload",
  "sys.getrefcount",
  "sys.getsizeof",
]);
/** Attribute calls that only patch a namespace (pytest's monkeypatch.setattr, unittest.mock.patch.object). */
const SAFE_SINK_METHODS = new Set(["setattr", "object", "delattr", "setitem"]);

/** Leaf names whose getattr on an unknown object is a finding anyway (no plugin reads them by string). */
const DISTINCTIVE = (() => {
  const out = new Map<string, string>();
  for (const [p, rule] of FORBIDDEN_PATHS) {
    const dot = p.lastIndexOf(".");
    if (dot < 0) continue;
    const head = p.slice(0, p.indexOf("."));
    const leaf = p.slice(dot + 1);
    if (
      (head === "os" || head === "builtins" || head === "asyncio") && leaf !== "compile" && leaf !== "eval"
    ) {
      out.set(leaf, rule);
    }
  }
  for (const [name, rule] of FORBIDDEN_ATTRIBUTES) out.set(name, rule);
  return out;
})();

/** Attribute names worth evaluating on their own (everything else is evaluated when a call needs it). */
const INTERESTING_ATTRIBUTES = (() => {
  const out = new Set<string>([
    ...FORBIDDEN_ATTRIBUTES.keys(),
    ...MODULE_LIKE_ATTRIBUTES.keys(),
    "__dict__",
    "__self__",
    "modules",
    "__code__",
  ]);
  for (const p of [...FORBIDDEN_PATHS.keys(), ...CALL_ONLY_PATHS.keys()]) {
    const dot = p.indexOf(".");
    if (dot >= 0) { for (const part of p.slice(dot + 1).split(".")) out.add(part); }
  }
  return out;
})();

const TIMEIT = new Set(["timeit.timeit", "timeit.repeat", "timeit.Timer"]);

/** Builtins that look names up dynamically: handing them to other code is a finding. */
const LOOKUP_FUNCTIONS = new Set(["getattr", "vars", "globals", "locals", "__import__"]);
/** Calls that return a namespace (or a module named by a string). */
const NAMESPACE_CALLS = new Set([
  "vars",
  "globals",
  "locals",
  "__import__",
  "import_module",
  "getattr",
  "resolve_name",
  "locate",
  "import_string",
  "getmembers",
  "currentframe",
  "_getframe",
]);
/** Attributes that are namespaces. */
const NAMESPACE_ATTRIBUTES = new Set([
  "__dict__",
  "modules",
  "__globals__",
  "f_globals",
  "f_locals",
  "f_builtins",
  "__builtins__",
  "__self__",
]);
const FORWARD_REFS = new Set(["typing.ForwardRef", "typing_extensions.ForwardRef"]);
const TYPEVARS = new Set(["typing.TypeVar", "typing_extensions.TypeVar"]);
const DICT_CONFIG = new Set(["logging.config.dictConfig"]);
const DECOMPRESS = new Set([
  "zlib.decompress",
  "gzip.decompress",
  "bz2.decompress",
  "lzma.decompress",
  "io.BytesIO",
  "io.StringIO",
  "base64.a85decode",
  "base64.b85decode",
  "base64.z85decode",
]);

/** Leaf names of the calls the evaluator models or that are forbidden: only these calls are evaluated. */
const MODELED_CALLS = (() => {
  const out = new Set<string>([
    ...INTERESTING_ATTRIBUTES,
    ...FORBIDDEN_BUILTINS,
    ...LOOKUP_FUNCTIONS,
    ...NAMESPACE_CALLS,
    "setattr",
    "type",
    "map",
    "reduce",
    "partial",
    "attrgetter",
    "methodcaller",
    "__getattribute__",
    "__getattr__",
    "timeit",
    "repeat",
    "Timer",
    "ForwardRef",
    "TypeVar",
    "dictConfig",
  ]);
  for (const p of [...RESOLVERS, ...PAYLOAD_LOADERS, ...CALL_ONLY_PATHS.keys()]) {
    out.add(p.slice(p.lastIndexOf(".") + 1));
  }
  return out;
})();

function _nfkc(name: string): string {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return name.normalize("NFKC");
  return name;
}

function _display(p: string): string {
  return p.startsWith("builtins.") ? p.slice("builtins.".length) : p;
}

function _scalar(v: Value): Scalar | undefined {
  if (v.t === "str") return { s: v.s, bytes: v.bytes };
  if (v.t === "num") return { n: v.n, bool: v.bool };
  if (v.t === "none") return null;
  return undefined;
}

/** A dotted name as resolvers read it: "pkg.mod:attr.sub" or "pkg.mod.attr". */
function _dotted(s: string): string | undefined {
  const t = s.trim();
  if (!/^[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?$/.test(t)) return undefined;
  return canonicalPath(t.replace(":", "."));
}

export interface AnalyzeOptions {
  parse?: SubParser;
  /** For sub-scans: resolves module-level names the sub-tree does not bind. */
  outer?: Analyzer;
  depth?: number;
}

/** One file's analysis. */
export class Analyzer {
  readonly tree: SyntaxTree;
  readonly findings: RawFinding[] = [];
  readonly #options: AnalyzeOptions;
  readonly #seen = new Set<string>();
  readonly #reported = new Set<number>();
  readonly #scopes: Scope[] = [];
  readonly #scopeOf: Int32Array;
  readonly #scopeFor = new Map<number, number>();
  /** 0 load, 1 store / definition, 2 neither (attribute names, keywords, import parts). */
  readonly #role: Uint8Array;
  readonly #funcs = new Map<number, FuncInfo>();
  readonly #callsByName = new Map<string, number[]>();
  readonly #callsByAttr = new Map<string, number[]>();
  readonly #fieldStores = new Map<string, Store[]>();
  readonly #itemStores: { target: number; store: Store }[] = [];
  readonly #setattrCalls: number[] = [];
  readonly #memo: (Value | undefined)[];
  readonly #busy: Uint8Array;
  readonly #bindingMemo = new Map<Binding, Value>();
  readonly #bindingBusy = new Set<Binding>();
  readonly #returnMemo = new Map<number, Value>();
  readonly #paramMemo = new Map<Param, Value>();
  readonly #fieldMemo = new Map<string, Value | null>();
  readonly #names: (string | undefined)[];
  #overrides: Map<string, Value> | null = null;
  #depth = 0;
  #steps = 0;
  #unrolled = 0;

  constructor(tree: SyntaxTree, options: AnalyzeOptions = {}) {
    this.tree = tree;
    this.#options = options;
    this.#scopeOf = new Int32Array(tree.count);
    this.#role = new Uint8Array(tree.count);
    this.#memo = new Array(tree.count);
    this.#busy = new Uint8Array(tree.count);
    this.#names = new Array(tree.count);
  }

  /** Runs the analysis; findings land in `findings`. */
  run(): RawFinding[] {
    this.#collect();
    this.#check();
    return this.findings;
  }

  // ---------------------------------------------------------------------------------------------------
  // Reporting

  #report(node: number, rule: string, name: string, context?: string): void {
    const key = `${node}:${rule}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#reported.add(node);
    this.findings.push({ start: this.tree.start[node], end: this.tree.end[node], rule, name, context });
  }

  /** Rules of the forbidden members of a value. */
  #rules(v: Value): Map<string, string> {
    const out = new Map<string, string>();
    for (const m of members(v)) {
      if (m.t === "path" || m.t === "nsdict") {
        const rule = forbiddenRule(m.path);
        if (rule && !out.has(rule)) out.set(rule, _display(m.path));
      }
    }
    return out;
  }

  /** Reports the forbidden rules of `v` that none of `inputs` already had (where the object first appears). */
  #introduce(node: number, v: Value, inputs: Value[]): void {
    if (!_mayBeForbidden(v)) return;
    const rules = this.#rules(v);
    if (rules.size === 0) return;
    const before = new Set<string>();
    for (const input of inputs) for (const r of this.#rules(input).keys()) before.add(r);
    for (const [rule, name] of rules) if (!before.has(rule)) this.#report(node, rule, name);
  }

  // ---------------------------------------------------------------------------------------------------
  // Pass 1: scopes, bindings, roles, call sites, stores

  #newScope(kind: ScopeKind, node: number, parent: number): number {
    this.#scopes.push({
      kind,
      node,
      parent,
      bindings: new Map(),
      globals: new Set(),
      nonlocals: new Set(),
      stars: [],
      deleted: new Set(),
    });
    const id = this.#scopes.length - 1;
    this.#scopeFor.set(node, id);
    return id;
  }

  #name(i: number): string {
    let name = this.#names[i];
    if (name === undefined) this.#names[i] = name = _nfkc(this.tree.text(i));
    return name;
  }

  /** The scope a binding of `name` made in scope `s` lands in (global / nonlocal declarations). */
  #bindingScope(s: number, name: string): number {
    const scope = this.#scopes[s];
    if (scope.globals.has(name)) return 0;
    if (scope.nonlocals.has(name)) {
      for (let p = scope.parent; p > 0; p = this.#scopes[p].parent) {
        if (this.#scopes[p].kind === "function" || this.#scopes[p].kind === "lambda") return p;
      }
    }
    return s;
  }

  #bind(s: number, name: string, b: Binding): void {
    const scope = this.#scopes[this.#bindingScope(s, name)];
    const list = scope.bindings.get(name);
    if (list) list.push(b);
    else scope.bindings.set(name, [b]);
  }

  /** The statement a node belongs to, and whether it runs unconditionally in the module body. */
  #statement(i: number): { stmt: number; top: boolean } {
    const { parent, kind } = this.tree;
    let s = i;
    while (parent[s] > 0 && kind[parent[s]] !== K.block && kind[parent[s]] !== K.module) s = parent[s];
    if (kind[parent[s]] === K.module || parent[s] === 0) return { stmt: s, top: true };
    return { stmt: s, top: false };
  }

  #bindTarget(s: number, t: number, value: number, unpack: number[], kind: BindingKind, stmt: number): void {
    const tree = this.tree;
    const k = tree.kind[t];
    if (k === K.identifier) {
      this.#role[t] = 1;
      const where = this.#statement(stmt);
      this.#bind(s, this.#name(t), { kind, target: t, value, unpack, stmt: where.stmt, top: where.top });
    } else if (
      k === K.pattern_list || k === K.tuple_pattern || k === K.list_pattern || k === K.tuple ||
      k === K.list || k === K.expression_list || k === K.parenthesized_expression
    ) {
      let index = 0;
      for (const c of tree.named(t)) {
        const ck = tree.kind[c];
        if (ck === K.list_splat_pattern || ck === K.list_splat) {
          for (const inner of tree.named(c)) {
            this.#bindTarget(s, inner, value, [...unpack, STARRED], kind, stmt);
          }
        } else this.#bindTarget(s, c, value, [...unpack, index], kind, stmt);
        index++;
      }
    } else if (k === K.as_pattern_target || k === K.list_splat_pattern) {
      for (const c of tree.named(t)) {
        this.#bindTarget(s, c, value, k === K.list_splat_pattern ? [STARRED] : unpack, kind, stmt);
      }
    } else if (k === K.attribute) {
      const name = tree.child(t, K.identifier) >= 0 ? this.#attrName(t) : "";
      if (name) {
        const list = this.#fieldStores.get(name);
        const store = { value: kind === "value" ? value : -1, unpack };
        if (list) list.push(store);
        else this.#fieldStores.set(name, [store]);
      }
    } else if (k === K.subscript) {
      this.#role[t] = 1; // a store, not a lookup
      this.#itemStores.push({ target: t, store: { value: kind === "value" ? value : -1, unpack } });
    }
  }

  /** The attribute name of an attribute node (its last identifier child). */
  #attrName(node: number): string {
    const tree = this.tree;
    let last = -1;
    for (let c = tree.first[node]; c >= 0; c = tree.next[c]) if (tree.kind[c] === K.identifier) last = c;
    return last >= 0 ? this.#name(last) : "";
  }

  #attrNameNode(node: number): number {
    const tree = this.tree;
    let last = -1;
    for (let c = tree.first[node]; c >= 0; c = tree.next[c]) if (tree.kind[c] === K.identifier) last = c;
    return last;
  }

  /** The named child after the given token, or -1. */
  #after(node: number, token: number): number {
    const tree = this.tree;
    let seen = false;
    for (let c = tree.first[node]; c >= 0; c = tree.next[c]) {
      if (
        seen && tree.kind[c] !== K.comment && tree.kind[c] !== K.line_continuation && tree.kind[c] !== token
      ) {
        return c;
      }
      if (tree.kind[c] === token) seen = true;
    }
    return -1;
  }

  #firstNamed(node: number): number {
    const { first, next, kind } = this.tree;
    for (let c = first[node]; c >= 0; c = next[c]) {
      const k = kind[c];
      if (isNamedKind(k) && k !== K.comment && k !== K.line_continuation) return c;
    }
    return -1;
  }

  #collect(): void {
    const tree = this.tree;
    const { kind, parent, count } = tree;
    this.#newScope("module", 0, -1);
    this.#scopeOf[0] = 0;
    for (let i = 1; i < count; i++) {
      const p = parent[i];
      let s = this.#scopeOf[p];
      const pk = kind[p];
      const k = kind[i];
      // Which scope this node is evaluated in.
      if (pk === K.function_definition && k === K.block) s = this.#scopeFor.get(p)!;
      else if (pk === K.class_definition && k === K.block) s = this.#scopeFor.get(p)!;
      else if (pk === K.lambda && this.#after(p, TK[":"]) === i) s = this.#scopeFor.get(p)!;
      else if (
        pk === K.list_comprehension || pk === K.set_comprehension || pk === K.dictionary_comprehension ||
        pk === K.generator_expression
      ) s = this.#scopeFor.get(p)!;
      else if (pk === K.for_in_clause && this.#isFirstClause(p) && this.#after(p, TK.in) === i) {
        s = this.#scopes[this.#scopeOf[p]].parent; // the first iterable runs in the enclosing scope
      }
      this.#scopeOf[i] = s;
      this.#visit(i, s);
    }
  }

  #isFirstClause(clause: number): boolean {
    const tree = this.tree;
    const comp = tree.parent[clause];
    for (let c = tree.first[comp]; c >= 0; c = tree.next[c]) {
      if (tree.kind[c] === K.for_in_clause) return c === clause;
    }
    return false;
  }

  #visit(i: number, s: number): void {
    const tree = this.tree;
    const k = tree.kind[i];
    switch (k) {
      case K.function_definition:
      case K.lambda:
        this.#visitFunction(i, s);
        break;
      case K.class_definition: {
        const name = tree.child(i, K.identifier);
        if (name >= 0) {
          this.#role[name] = 2;
          this.#bindTarget(s, name, i, [], "class", i);
          this.#role[name] = 2;
        }
        this.#newScope("class", i, s);
        break;
      }
      case K.list_comprehension:
      case K.set_comprehension:
      case K.dictionary_comprehension:
      case K.generator_expression:
        this.#newScope("comprehension", i, s);
        break;
      case K.assignment: {
        const left = this.#firstNamed(i);
        let value = this.#after(i, TK["="]);
        if (value < 0) {
          if (this.#scopes[s].kind !== "module" && this.#scopes[s].kind !== "class" && left >= 0) {
            this.#bindTarget(s, left, -1, [], "unknown", i);
          }
          break;
        }
        while (value >= 0 && tree.kind[value] === K.assignment) value = this.#after(value, TK["="]);
        if (left >= 0) this.#bindTarget(s, left, value, [], "value", i);
        break;
      }
      case K.augmented_assignment: {
        const left = this.#firstNamed(i);
        const op = tree.first[i] >= 0 ? tree.next[left] : -1;
        const value = tree.named(i)[1] ?? -1;
        if (left >= 0 && tree.kind[left] === K.subscript) this.#role[left] = 1;
        if (left >= 0 && tree.kind[left] === K.identifier) {
          this.#role[left] = 1;
          const where = this.#statement(i);
          this.#bind(s, this.#name(left), {
            kind: "aug",
            target: left,
            value,
            unpack: [],
            op: op >= 0 ? tree.kind[op] : -1,
            stmt: where.stmt,
            top: where.top,
          });
        }
        break;
      }
      case K.for_statement:
      case K.for_in_clause: {
        const left = this.#firstNamed(i);
        const right = this.#after(i, TK.in);
        if (left >= 0) this.#bindTarget(s, left, right, [ELEMENT], "value", i);
        break;
      }
      case K.as_pattern: {
        // with ... as x, except E as e: the bound value is not the expression.
        const target = tree.child(i, K.as_pattern_target);
        if (target >= 0) this.#bindTarget(s, target, -1, [], "unknown", i);
        else if (this.#inCase(i)) {
          const named = tree.named(i);
          const alias = named[named.length - 1];
          if (alias !== undefined && tree.kind[alias] === K.identifier) {
            this.#bindTarget(s, alias, -1, [], "unknown", i);
          }
        }
        break;
      }
      case K.named_expression: {
        const name = this.#firstNamed(i);
        const value = this.#after(i, TK[":="]);
        let target = s;
        while (this.#scopes[target].kind === "comprehension") target = this.#scopes[target].parent;
        if (name >= 0 && tree.kind[name] === K.identifier) {
          this.#bindTarget(target, name, value, [], "value", i);
        }
        break;
      }
      case K.import_statement:
        this.#visitImport(i, s);
        break;
      case K.import_from_statement:
        this.#visitImportFrom(i, s);
        break;
      case K.future_import_statement:
        this.#markOther(i);
        break;
      case K.global_statement:
      case K.nonlocal_statement:
        for (const c of tree.named(i)) {
          if (tree.kind[c] !== K.identifier) continue;
          this.#role[c] = 2;
          (k === K.global_statement ? this.#scopes[s].globals : this.#scopes[s].nonlocals).add(this.#name(c));
        }
        break;
      case K.delete_statement:
        for (const c of tree.named(i)) this.#visitDelete(c, s);
        break;
      case K.keyword_argument: {
        const name = this.#firstNamed(i);
        if (name >= 0 && tree.kind[name] === K.identifier) this.#role[name] = 2;
        break;
      }
      case K.attribute: {
        const name = this.#attrNameNode(i);
        if (name >= 0 && name !== this.#firstNamed(i)) this.#role[name] = 2;
        break;
      }
      case K.return_statement: {
        const value = this.#firstNamed(i);
        const f = this.#enclosingFunction(s);
        if (f && value >= 0) f.returns.push(value);
        break;
      }
      case K.yield: {
        const f = this.#enclosingFunction(s);
        if (f) f.generator = true;
        break;
      }
      case K.call:
        this.#visitCall(i);
        break;
      case K.keyword_pattern: {
        const name = this.#firstNamed(i);
        if (name >= 0 && tree.kind[name] === K.identifier) this.#role[name] = 2;
        break;
      }
      case K.splat_pattern:
        for (const c of tree.named(i)) {
          if (tree.kind[c] === K.identifier) this.#bindTarget(s, c, -1, [], "unknown", i);
        }
        break;
      case K.case_pattern: {
        const named = tree.named(i);
        if (named.length === 1 && tree.kind[named[0]] === K.dotted_name) {
          const ids = tree.named(named[0]);
          if (ids.length === 1 && tree.kind[ids[0]] === K.identifier && this.#name(ids[0]) !== "_") {
            this.#bindTarget(s, ids[0], -1, [], "unknown", i);
          }
        }
        break;
      }
      case K.type_parameter:
      case K.type_alias_statement:
        for (const c of tree.named(i)) if (tree.kind[c] === K.identifier) this.#role[c] = 2;
        break;
    }
  }

  #inCase(i: number): boolean {
    const tree = this.tree;
    for (let p = tree.parent[i]; p > 0; p = tree.parent[p]) {
      if (tree.kind[p] === K.case_clause) return true;
      if (tree.kind[p] === K.block) return false;
    }
    return false;
  }

  #enclosingFunction(s: number): FuncInfo | undefined {
    for (let p = s; p > 0; p = this.#scopes[p].parent) {
      const scope = this.#scopes[p];
      if (scope.kind === "function" || scope.kind === "lambda") return this.#funcs.get(scope.node);
    }
    return undefined;
  }

  #markOther(i: number): void {
    const tree = this.tree;
    const stack = [i];
    while (stack.length) {
      const n = stack.pop()!;
      if (tree.kind[n] === K.identifier) this.#role[n] = 2;
      for (let c = tree.first[n]; c >= 0; c = tree.next[c]) stack.push(c);
    }
  }

  #visitDelete(t: number, s: number): void {
    const tree = this.tree;
    const k = tree.kind[t];
    if (k === K.subscript) this.#role[t] = 1;
    if (k === K.identifier) {
      this.#role[t] = 2;
      this.#scopes[this.#bindingScope(s, this.#name(t))].deleted.add(this.#name(t));
    } else if (k === K.expression_list || k === K.tuple || k === K.list || k === K.parenthesized_expression) {
      for (const c of tree.named(t)) this.#visitDelete(c, s);
    }
  }

  #visitFunction(i: number, s: number): void {
    const tree = this.tree;
    const isLambda = tree.kind[i] === K.lambda;
    const scope = this.#newScope(isLambda ? "lambda" : "function", i, s);
    const nameNode = isLambda ? -1 : tree.child(i, K.identifier);
    const name = nameNode >= 0 ? this.#name(nameNode) : "";
    let method = this.#scopes[s].kind === "class";
    const decorated = tree.parent[i] > 0 && tree.kind[tree.parent[i]] === K.decorated_definition;
    if (decorated) {
      for (const d of tree.named(tree.parent[i])) {
        if (tree.kind[d] === K.decorator && /^@\s*staticmethod\b/.test(tree.text(d))) method = false;
      }
    }
    const info: FuncInfo = {
      node: i,
      name,
      scope,
      params: [],
      returns: [],
      lambdaBody: isLambda ? this.#after(i, TK[":"]) : -1,
      method,
      generator: false,
    };
    this.#funcs.set(i, info);
    if (nameNode >= 0) {
      this.#bindTarget(s, nameNode, i, [], "def", decorated ? tree.parent[i] : i);
      this.#role[nameNode] = 2;
    }
    const params = tree.child(i, isLambda ? K.lambda_parameters : K.parameters);
    if (params < 0) return;
    let index = 0;
    let keywordOnly = false;
    for (const p of tree.named(params)) {
      const pk = tree.kind[p];
      let id = -1;
      let star: 0 | 1 | 2 = 0;
      let defaultNode = -1;
      if (pk === K.identifier) id = p;
      else if (pk === K.default_parameter || pk === K.typed_default_parameter) {
        id = this.#firstNamed(p);
        defaultNode = this.#after(p, TK["="]);
      } else if (pk === K.typed_parameter) {
        const inner = this.#firstNamed(p);
        if (inner >= 0 && tree.kind[inner] === K.identifier) id = inner;
        else if (inner >= 0 && tree.kind[inner] === K.list_splat_pattern) {
          [id, star] = [this.#firstNamed(inner), 1];
        } else if (inner >= 0 && tree.kind[inner] === K.dictionary_splat_pattern) {
          [id, star] = [this.#firstNamed(inner), 2];
        }
      } else if (pk === K.list_splat_pattern) [id, star] = [this.#firstNamed(p), 1];
      else if (pk === K.dictionary_splat_pattern) [id, star] = [this.#firstNamed(p), 2];
      else if (tree.kindName(p) === "keyword_separator") {
        keywordOnly = true;
        continue;
      } else continue;
      if (id < 0 || tree.kind[id] !== K.identifier) continue;
      const param: Param = {
        name: this.#name(id),
        index: star || keywordOnly ? -1 : index++,
        star,
        defaultNode,
      };
      if (star === 1) keywordOnly = true;
      info.params.push(param);
      this.#role[id] = 1;
      this.#bind(scope, param.name, {
        kind: "param",
        target: id,
        value: -1,
        unpack: [],
        func: i,
        param,
        stmt: i,
        top: false,
      });
    }
  }

  #visitImport(i: number, s: number): void {
    const tree = this.tree;
    this.#markOther(i);
    for (const c of tree.named(i)) {
      const ck = tree.kind[c];
      if (ck === K.dotted_name) {
        const full = this.#dottedText(c);
        const head = full.split(".")[0];
        this.#importBinding(s, tree.named(c)[0], canonicalPath(head), i);
        this.#checkImport(c, canonicalPath(full));
      } else if (ck === K.aliased_import) {
        const dotted = tree.child(c, K.dotted_name);
        const alias = this.#after(c, TK.as);
        if (dotted < 0) continue;
        const full = canonicalPath(this.#dottedText(dotted));
        if (alias >= 0) this.#importBinding(s, alias, full, i);
        this.#checkImport(c, full);
      }
    }
  }

  #visitImportFrom(i: number, s: number): void {
    const tree = this.tree;
    this.#markOther(i);
    let module: string | null = null;
    let afterImport = false;
    for (let c = tree.first[i]; c >= 0; c = tree.next[c]) {
      const ck = tree.kind[c];
      if (ck === TK.import) {
        afterImport = true;
        continue;
      }
      if (!afterImport) {
        if (ck === K.dotted_name) module = canonicalPath(this.#dottedText(c));
        else if (ck === K.relative_import) module = null;
        continue;
      }
      if (ck === K.wildcard_import) {
        if (module !== null) {
          this.#scopes[s].stars.push(module);
          this.#checkImport(c, module);
        }
      } else if (ck === K.dotted_name || ck === K.aliased_import) {
        const dotted = ck === K.dotted_name ? c : tree.child(c, K.dotted_name);
        const bound = ck === K.dotted_name ? tree.named(c)[0] : this.#after(c, TK.as);
        if (dotted < 0 || bound === undefined || bound < 0) continue;
        const name = this.#dottedText(dotted);
        const full = module === null ? null : canonicalPath(`${module}.${name}`);
        if (full === null) {
          this.#role[bound] = 1;
          const where = this.#statement(i);
          this.#bind(s, this.#name(bound), {
            kind: "unknown",
            target: bound,
            value: -1,
            unpack: [],
            stmt: where.stmt,
            top: where.top,
          });
        } else {
          this.#importBinding(s, bound, full, i);
          this.#checkImport(c, full);
        }
      }
    }
  }

  #importBinding(s: number, target: number, fullPath: string, stmt: number): void {
    const where = this.#statement(stmt);
    this.#role[target] = 1;
    this.#bind(s, this.#name(target), {
      kind: "import",
      target,
      value: -1,
      unpack: [],
      path: fullPath,
      stmt: where.stmt,
      top: where.top,
    });
  }

  #checkImport(node: number, fullPath: string): void {
    const rule = forbiddenRule(fullPath);
    if (rule) this.#report(node, rule, _display(fullPath));
  }

  #dottedText(node: number): string {
    return this.tree.named(node).filter((c) => this.tree.kind[c] === K.identifier).map((c) => this.#name(c))
      .join(".");
  }

  #visitCall(i: number): void {
    const tree = this.tree;
    const callee = tree.first[i];
    if (callee < 0) return;
    if (tree.kind[callee] === K.identifier) {
      const name = this.#name(callee);
      const list = this.#callsByName.get(name);
      if (list) list.push(i);
      else this.#callsByName.set(name, [i]);
      if (name === "setattr") this.#setattrCalls.push(i);
    } else if (tree.kind[callee] === K.attribute) {
      const name = this.#attrName(callee);
      const list = this.#callsByAttr.get(name);
      if (list) list.push(i);
      else this.#callsByAttr.set(name, [i]);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Pass 2: checks

  #check(): void {
    const tree = this.tree;
    const { kind, count } = tree;
    for (let i = 1; i < count; i++) {
      const k = kind[i];
      if (k === K.identifier) {
        if (this.#role[i] !== 0) continue;
        if (this.#isInterestingName(i)) this.#eval(i);
        else if (LOOKUP_FUNCTIONS.has(this.#name(i))) this.#checkHandedOver(i);
      } else if (k === K.attribute) {
        if (INTERESTING_ATTRIBUTES.has(this.#attrName(i))) this.#eval(i);
        this.#checkAttributeStore(i);
      } else if (k === K.call) {
        if (this.#callWorthEvaluating(i)) this.#eval(i);
      } else if (k === K.subscript) {
        const object = this.#firstNamed(i);
        if (this.#role[i] === 0 && object >= 0 && this.#mayBeNamespace(object, 0)) this.#eval(i);
      } else if (k === K.exec_statement) {
        this.#report(i, "dynamic-code-exec", "exec");
      } else if (k === K.type) {
        if (!this.#insideType(i)) this.#checkAnnotation(i);
      } else if (k === K.pair) {
        this.#checkResolverKey(i);
      } else if (k === K.for_statement || k === K.for_in_clause) {
        const right = this.#after(i, TK.in);
        if (right >= 0 && this.#mayBeNamespace(right, 0)) this.#checkEscape(right, "iterates over");
      } else if (k === K.list_splat || k === K.dictionary_splat) {
        const inner = this.#firstNamed(i);
        if (inner >= 0 && this.#mayBeNamespace(inner, 0)) this.#checkEscape(inner, "unpacks");
      }
    }
  }

  /** The bindings a name may resolve to, without evaluating anything (first scope that binds it, and the module). */
  #bindingsOf(name: string, s: number): Binding[] {
    const out: Binding[] = [];
    for (let id = s; id >= 0; id = this.#scopes[id].parent) {
      const bound = this.#scopes[id].bindings.get(name);
      if (bound) {
        out.push(...bound);
        if (id !== 0 && this.#scopes[id].kind !== "class") break;
      }
    }
    return out;
  }

  /** The leftmost name of an attribute / call chain (`a` in `a.b.c()`), or -1. */
  #rootName(node: number): number {
    const kind = this.tree.kind;
    let n = node;
    for (let guard = 0; guard < 64 && n >= 0; guard++) {
      const k = kind[n];
      if (k === K.identifier) return n;
      if (k !== K.attribute && k !== K.call && k !== K.subscript && k !== K.parenthesized_expression) {
        return -1;
      }
      n = this.#firstNamed(n);
    }
    return -1;
  }

  /**
   * Whether an expression can evaluate to a namespace (a module like os or builtins, globals(), vars(),
   * sys.modules, a __dict__): a syntactic pre-check so only those lookups and hand-offs are evaluated.
   */
  #mayBeNamespace(node: number, depth: number): boolean {
    if (node < 0 || depth > 4) return false;
    const tree = this.tree;
    const k = tree.kind[node];
    switch (k) {
      case K.identifier: {
        const name = this.#name(node);
        if (name === "__builtins__") return true;
        for (const b of this.#bindingsOf(name, this.#scopeOf[node])) {
          if (b.kind === "import" && b.path && (DANGEROUS_NAMESPACES.has(b.path) || b.path === "builtins")) {
            return true;
          }
          if (b.kind === "value" && b.value >= 0 && this.#mayBeNamespace(b.value, depth + 1)) return true;
        }
        return false;
      }
      case K.call: {
        const callee = tree.first[node];
        if (callee < 0) return false;
        const ck = tree.kind[callee];
        if (ck === K.identifier) {
          const name = this.#name(callee);
          if (NAMESPACE_CALLS.has(name)) return true;
          return this.#bindingsOf(name, this.#scopeOf[callee]).some((b) =>
            b.kind === "def" || b.kind === "import"
          );
        }
        if (ck === K.attribute) return NAMESPACE_CALLS.has(this.#attrName(callee));
        return ck === K.call || ck === K.subscript || ck === K.parenthesized_expression;
      }
      case K.attribute: {
        const leaf = this.#attrName(node);
        if (NAMESPACE_ATTRIBUTES.has(leaf) || MODULE_LIKE_ATTRIBUTES.has(leaf)) return true;
        // A submodule of a dangerous namespace (importlib.util): only the first step is checked.
        const object = this.#firstNamed(node);
        return object >= 0 && tree.kind[object] === K.identifier && this.#mayBeNamespace(object, depth + 1);
      }
      case K.subscript:
      case K.parenthesized_expression:
        return this.#mayBeNamespace(this.#firstNamed(node), depth + 1);
      case K.list:
      case K.tuple:
      case K.set:
      case K.expression_list:
      case K.dictionary:
      case K.pair:
      case K.conditional_expression:
      case K.boolean_operator: {
        for (let c = tree.first[node]; c >= 0; c = tree.next[c]) {
          if (this.#mayBeNamespace(c, depth + 1)) return true;
        }
        return false;
      }
      default:
        return false;
    }
  }

  /** Calls that can produce or receive something forbidden; the rest (most of a program) are not evaluated. */
  #callWorthEvaluating(i: number): boolean {
    const tree = this.tree;
    const callee = tree.first[i];
    if (callee < 0) return false;
    const ck = tree.kind[callee];
    if (ck === K.identifier) {
      const name = this.#name(callee);
      if (MODELED_CALLS.has(name)) return true;
      for (const b of this.#bindingsOf(name, this.#scopeOf[callee])) {
        if (b.kind === "import") return true;
        if (b.kind === "value" && b.value >= 0) {
          const vk = tree.kind[b.value];
          const leaf = vk === K.identifier
            ? this.#name(b.value)
            : vk === K.attribute
            ? this.#attrName(b.value)
            : "";
          if (MODELED_CALLS.has(leaf) || vk === K.subscript || vk === K.call) return true;
        }
      }
    } else if (ck === K.attribute) {
      if (MODELED_CALLS.has(this.#attrName(callee))) return true;
      if (this.#mayBeNamespace(this.#firstNamed(callee), 0)) return true; // vars(os).items(), sys.modules.get(…)
      const root = this.#rootName(callee);
      if (root >= 0) {
        for (const b of this.#bindingsOf(this.#name(root), this.#scopeOf[root])) {
          if (b.kind === "import" && b.path && forbiddenRule(b.path)) return true;
        }
      }
    } else if (ck === K.call || ck === K.subscript || ck === K.parenthesized_expression || ck === K.lambda) {
      return true;
    }
    const args = tree.child(i, K.argument_list);
    if (args >= 0) {
      for (let a = tree.first[args]; a >= 0; a = tree.next[a]) {
        const ak = tree.kind[a];
        const value = ak === K.keyword_argument
          ? this.#after(a, TK["="])
          : ak === K.list_splat || ak === K.dictionary_splat
          ? this.#firstNamed(a)
          : a;
        if (this.#mayBeNamespace(value, 0)) return true;
      }
    }
    return false;
  }

  /** getattr / vars / globals handed to other code (functools.reduce(getattr, …), map(getattr, …)). */
  #checkHandedOver(i: number): void {
    const tree = this.tree;
    const p = tree.parent[i];
    const pk = tree.kind[p];
    const handed = pk === K.argument_list || pk === K.keyword_argument || pk === K.list || pk === K.tuple;
    if (!handed) return;
    const v = this.#eval(i);
    if (members(v).some((m) => m.t === "path" && m.path.startsWith("builtins."))) {
      this.#report(
        i,
        "introspection-dynamic-lookup",
        `${this.#name(i)} handed to other code looks up names the scanner cannot see`,
      );
    }
  }

  #isInterestingName(i: number): boolean {
    const name = this.#name(i);
    if (FORBIDDEN_BUILTINS.has(name) || FORBIDDEN_MODULE_GLOBALS.has(name)) return true;
    for (let s = this.#scopeOf[i]; s >= 0; s = this.#scopes[s].parent) {
      if (this.#scopes[s].stars.length) return true;
    }
    return false;
  }

  /** `f.__code__ = …` replaces what a function runs. */
  #checkAttributeStore(i: number): void {
    if (this.#role[this.#attrNameNode(i)] !== 2) return;
    const tree = this.tree;
    const p = tree.parent[i];
    if (tree.kind[p] === K.assignment && this.#firstNamed(p) === i && this.#attrName(i) === "__code__") {
      this.#report(i, "dynamic-code-function-type", "assigning __code__");
    }
  }

  #checkEscape(node: number, verb: string): void {
    const v = this.#eval(node);
    for (const m of members(v)) {
      const ns = this.#dangerousName(m);
      if (ns) {
        this.#report(
          node,
          "introspection-namespace-escape",
          `code that ${verb} ${ns} can reach everything in it (os.system, eval, …)`,
        );
        return;
      }
    }
  }

  /** A readable name when the value is a namespace with forbidden members. */
  #dangerousName(m: Value): string | undefined {
    if (m.t === "globals") return "globals()";
    if (m.t === "path" && DANGEROUS_NAMESPACES.has(m.path)) {
      return `the ${_display(m.path) || "builtins"} module`;
    }
    if (m.t === "path" && m.path === "builtins") return "the builtins module";
    if (m.t === "nsdict" && (DANGEROUS_NAMESPACES.has(m.path) || m.path === "builtins")) {
      return `the namespace of ${m.path}`;
    }
    return undefined;
  }

  /** Whether a `type` node is part of a larger annotation (checked from its top). */
  #insideType(i: number): boolean {
    const { kind, parent } = this.tree;
    for (let p = parent[i]; p > 0; p = parent[p]) {
      const k = kind[p];
      if (k === K.type) return true;
      if (k === K.block || k === K.expression_statement || k === K.parameters || k === K.lambda_parameters) {
        return false;
      }
    }
    return false;
  }

  /** String annotations are code: typing.get_type_hints and pydantic evaluate them. */
  #checkAnnotation(i: number): void {
    const tree = this.tree;
    const stack = [i];
    while (stack.length) {
      const n = stack.pop()!;
      const k = tree.kind[n];
      if (k === K.string) {
        this.#subscanString(n, "expression", "the string annotation");
        continue;
      }
      if (k === K.subscript || k === K.generic_type) {
        const head = tree.first[n];
        const headText = head >= 0 ? tree.text(head).replace(/\s+/g, "") : "";
        if (/(^|\.)Literal$/.test(headText)) continue; // Literal["x"] holds values, not types
        if (/(^|\.)Annotated$/.test(headText)) {
          // Annotated[T, metadata…]: only T is a type.
          const params = k === K.generic_type ? tree.child(n, K.type_parameter) : -1;
          const args = params >= 0 ? tree.named(params) : tree.named(n).slice(1);
          if (args[0] !== undefined) stack.push(args[0]);
          continue;
        }
      }
      if (k === K.lambda || k === K.call) continue;
      for (let c = tree.first[n]; c >= 0; c = tree.next[c]) stack.push(c);
    }
  }

  /** {"()": "os.system"} and friends: logging.config / hydra resolve these strings to objects. */
  #checkResolverKey(i: number): void {
    const key = this.#firstNamed(i);
    const value = this.#after(i, TK[":"]);
    if (key < 0 || value < 0) return;
    const keyText = strings(this.#eval(key));
    if (!keyText || keyText.length !== 1 || !RESOLVER_KEYS.has(keyText[0])) return;
    for (const s of strings(this.#eval(value)) ?? []) {
      const dotted = _dotted(s);
      const rule = dotted ? forbiddenRule(dotted) : undefined;
      if (dotted && rule) {
        this.#report(value, rule, `${_display(dotted)} (named by the ${JSON.stringify(keyText[0])} key)`);
      }
    }
  }

  #subscanString(node: number, mode: "expression" | "statements", what: string): void {
    const v = this.#eval(node);
    const texts = strings(v);
    if (!texts) return;
    for (const text of texts) this.#subscan(node, text, mode, what);
  }

  /** Scans Python source held in a string; findings are reported on the string. */
  #subscan(node: number, text: string, mode: "expression" | "statements", what: string): void {
    const depth = this.#options.depth ?? 0;
    const parse = this.#options.parse;
    if (!parse || text.trim() === "") return;
    const short = JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text);
    if (depth >= MAX_SUBSCAN_DEPTH) {
      this.#report(
        node,
        "dynamic-code-string",
        `${what} ${short} is evaluated as code (nested too deeply to scan)`,
      );
      return;
    }
    const source = mode === "expression" ? `(\n${text}\n)\n` : text.endsWith("\n") ? text : text + "\n";
    const sub = parse(source);
    if (!sub || sub.errors.length > 0) {
      if (
        /\b(eval|exec|compile|__import__|import|os|sys|subprocess|socket|getattr|globals|lambda|open)\b|__/
          .test(text)
      ) {
        this.#report(
          node,
          "dynamic-code-string",
          `${what} ${short} is not valid Python but is evaluated as code`,
        );
      }
      return;
    }
    const inner = new Analyzer(sub, { parse, outer: this, depth: depth + 1 });
    try {
      inner.run();
    } catch (error) {
      if (!(error instanceof TooDeepError || error instanceof RangeError)) throw error;
      this.#report(node, "dynamic-code-string", `${what} ${short} is too deeply nested to scan`);
      return;
    }
    for (const f of inner.findings) {
      this.#report(
        node,
        f.rule,
        f.name,
        `in ${what} ${short}, which Python evaluates${f.context ? `; ${f.context}` : ""}`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Names

  /** The value of a name loaded at node `at` in scope `s`. */
  #lookup(name: string, s: number, at: number): { value: Value; implicit: boolean } {
    if (this.#overrides?.has(name)) return { value: this.#overrides.get(name)!, implicit: false };
    let scope = this.#scopes[s];
    let id = s;
    if (scope.globals.has(name)) return this.#lookupModule(name, at);
    if (scope.nonlocals.has(name)) {
      id = scope.parent;
      scope = this.#scopes[id];
    }
    let first = true;
    while (id > 0) {
      scope = this.#scopes[id];
      if (scope.kind !== "class" || first) {
        const bound = scope.bindings.get(name);
        if (bound) {
          const value = this.#bindingsValue(bound);
          if (scope.kind !== "class") return { value, implicit: false };
          const outer = this.#lookupModule(name, at);
          return { value: union([value, outer.value]), implicit: outer.implicit };
        }
        if (scope.globals.has(name) && !first) return this.#lookupModule(name, at);
      }
      first = false;
      id = scope.parent;
    }
    return this.#lookupModule(name, at);
  }

  /** A module-level name: its bindings, plus star imports, builtins and module globals when it may be unbound. */
  #lookupModule(name: string, at: number): { value: Value; implicit: boolean } {
    const mod = this.#scopes[0];
    const bound = mod.bindings.get(name);
    const values: Value[] = [];
    if (bound) values.push(this.#bindingsValue(bound));
    let implicit = false;
    if (!bound || mod.deleted.has(name) || !this.#boundBefore(bound, at)) {
      const fallback = this.#fallback(name);
      if (fallback) {
        values.push(fallback);
        implicit = true;
      }
    }
    return { value: values.length ? union(values) : UNKNOWN, implicit };
  }

  /** Whether an unconditional module-level binding ends before the use. */
  #boundBefore(bound: Binding[], at: number): boolean {
    const start = this.tree.start[at];
    for (const b of bound) if (b.top && this.tree.end[b.stmt] <= start) return true;
    return false;
  }

  #fallback(name: string): Value | undefined {
    const outer = this.#options.outer;
    if (outer) {
      const v = outer.#lookupModule(name, 0);
      if (v.implicit || members(v.value).some((m) => m.t !== "unknown")) return v.value;
    }
    const values: Value[] = [];
    for (const star of this.#scopes[0].stars) values.push(path(canonicalPath(`${star}.${name}`)));
    if (name === "__builtins__") values.push(path("builtins"));
    else if (MODULE_DUNDERS.has(name)) values.push(UNKNOWN);
    else if (BUILTIN_NAMES.has(name)) values.push(path(`builtins.${name}`));
    return values.length ? union(values) : undefined;
  }

  #bindingsValue(bound: Binding[]): Value {
    if (bound.length === 1) return this.#bindingValue(bound[0], bound);
    return union(bound.map((b) => this.#bindingValue(b, bound)));
  }

  #bindingValue(b: Binding, all: Binding[]): Value {
    const cached = this.#bindingMemo.get(b);
    if (cached) return cached;
    if (this.#bindingBusy.has(b)) return UNKNOWN;
    this.#bindingBusy.add(b);
    let v: Value;
    try {
      switch (b.kind) {
        case "value":
          v = this.#unpack(b.value >= 0 ? this.#eval(b.value) : UNKNOWN, b.unpack);
          break;
        case "aug": {
          const base = union(
            all.filter((o) => o !== b && o.kind !== "aug").map((o) => this.#bindingValue(o, all)),
          );
          v = this.#binary(b.op ?? -1, base, b.value >= 0 ? this.#eval(b.value) : UNKNOWN);
          v = union([v, UNKNOWN]);
          break;
        }
        case "import":
          v = path(b.path!);
          break;
        case "def":
          v = { t: "func", node: b.value };
          break;
        case "class":
          v = { t: "class", node: b.value };
          break;
        case "param":
          v = this.#paramValue(b.func!, b.param!);
          break;
        default:
          v = UNKNOWN;
      }
    } finally {
      this.#bindingBusy.delete(b);
    }
    if (!this.#overrides) this.#bindingMemo.set(b, v);
    return v;
  }

  #unpack(v: Value, steps: number[]): Value {
    let out = v;
    for (const step of steps) {
      out = mapValue(out, (m) => {
        if (step === ELEMENT) return this.#elements(m);
        if (step === STARRED) return { t: "seq", kind: "list", items: [UNKNOWN], open: true };
        if (m.t === "seq") return m.items[step] ?? UNKNOWN;
        if (m.t === "str") return step < m.s.length ? str(m.s[step], m.bytes) : UNKNOWN;
        return UNKNOWN;
      });
    }
    return out;
  }

  /** Any one element of an iterable value. */
  #elements(m: Value): Value {
    if (m.t === "seq") return union(m.items);
    if (m.t === "str") {
      return union([...m.s].slice(0, 256).map((c) => (m.bytes ? num(c.charCodeAt(0)) : str(c))));
    }
    if (m.t === "dict") return union(m.keys);
    return UNKNOWN;
  }

  #paramValue(func: number, param: Param): Value {
    const cached = this.#paramMemo.get(param);
    if (cached) return cached;
    const info = this.#funcs.get(func)!;
    const values: Value[] = [UNKNOWN];
    if (param.star === 1) values.push({ t: "seq", kind: "tuple", items: [UNKNOWN], open: true });
    if (param.star === 2) values.push({ t: "dict", keys: [], values: [], open: true });
    if (param.defaultNode >= 0) values.push(this.#eval(param.defaultNode));
    if (param.star === 0 && info.name) {
      for (const call of this.#callsByName.get(info.name) ?? []) {
        const callee = this.tree.first[call];
        const resolved = this.#eval(callee);
        if (!members(resolved).some((m) => m.t === "func" && m.node === func)) continue;
        values.push(this.#argumentFor(call, param, 0));
      }
      if (info.method) {
        for (const call of this.#callsByAttr.get(info.name) ?? []) {
          values.push(this.#argumentFor(call, param, 1));
        }
      }
    }
    if (info.lambdaBody >= 0) {
      // (lambda m, n: …)(os, "system")
      const p = this.tree.parent[func];
      const call = this.tree.kind[p] === K.parenthesized_expression ? this.tree.parent[p] : -1;
      if (call >= 0 && this.tree.kind[call] === K.call && this.tree.first[call] === p) {
        values.push(this.#argumentFor(call, param, 0));
      }
    }
    const v = union(values);
    if (!this.#overrides) this.#paramMemo.set(param, v);
    return v;
  }

  /** The argument a call passes for a parameter (`shift` leading parameters, self, are bound implicitly). */
  #argumentFor(call: number, param: Param, shift: number): Value {
    const tree = this.tree;
    const args = tree.child(call, K.argument_list);
    if (args < 0) return UNKNOWN;
    let position = 0;
    let splat = false;
    for (const a of tree.named(args)) {
      const k = tree.kind[a];
      if (k === K.keyword_argument) {
        const name = this.#firstNamed(a);
        if (name >= 0 && this.#name(name) === param.name) return this.#eval(this.#after(a, TK["="]));
      } else if (k === K.list_splat || k === K.dictionary_splat) splat = true;
      else {
        if (param.index >= 0 && position === param.index - shift) return this.#eval(a);
        position++;
      }
    }
    return splat ? UNKNOWN : UNKNOWN;
  }

  #returnValue(func: number): Value {
    const cached = this.#returnMemo.get(func);
    if (cached) return cached;
    const info = this.#funcs.get(func);
    if (!info) return UNKNOWN;
    this.#returnMemo.set(func, UNKNOWN); // recursion
    let v: Value;
    if (info.lambdaBody >= 0) v = this.#eval(info.lambdaBody);
    else if (info.generator) v = UNKNOWN;
    else v = union([NONE, ...info.returns.map((r) => this.#eval(r))]);
    this.#returnMemo.set(func, v);
    return v;
  }

  /** Values stored to `anything.name` (and `setattr(anything, "name", value)`), plus class attributes. */
  #fieldValue(name: string): Value | undefined {
    const cached = this.#fieldMemo.get(name);
    if (cached !== undefined) return cached ?? undefined;
    this.#fieldMemo.set(name, null); // recursion, and names nothing is stored to
    const values: Value[] = [];
    for (const store of this.#fieldStores.get(name) ?? []) {
      values.push(store.value >= 0 ? this.#unpack(this.#eval(store.value), store.unpack) : UNKNOWN);
    }
    for (const call of this.#setattrCalls) {
      const args = this.tree.child(call, K.argument_list);
      const named = args >= 0 ? this.tree.named(args) : [];
      if (named.length < 3) continue;
      if ((strings(this.#eval(named[1])) ?? []).includes(name)) values.push(this.#eval(named[2]));
    }
    for (const scope of this.#scopes) {
      if (scope.kind !== "class") continue;
      const bound = scope.bindings.get(name);
      if (bound) values.push(this.#bindingsValue(bound));
    }
    if (values.length === 0) return undefined;
    const v = union([...values, UNKNOWN]);
    if (!this.#overrides) this.#fieldMemo.set(name, v);
    else this.#fieldMemo.delete(name);
    return v;
  }

  // ---------------------------------------------------------------------------------------------------
  // Expressions

  #eval(i: number): Value {
    if (i < 0) return UNKNOWN;
    if (!this.#overrides) {
      const cached = this.#memo[i];
      if (cached) return cached;
    }
    if (this.#busy[i]) return UNKNOWN;
    if (++this.#depth > MAX_EVAL_DEPTH) {
      throw new TooDeepError("expressions are nested too deeply for the scanner to follow");
    }
    if (++this.#steps > MAX_STEPS) {
      throw new TooDeepError("the file is too complex for the scanner to analyse");
    }
    this.#busy[i] = 1;
    let v: Value;
    try {
      v = this.#compute(i);
    } finally {
      this.#busy[i] = 0;
      this.#depth--;
    }
    if (!this.#overrides) this.#memo[i] = v;
    return v;
  }

  #compute(i: number): Value {
    const tree = this.tree;
    const k = tree.kind[i];
    switch (k) {
      case K.identifier:
        return this.#evalName(i);
      case K.attribute:
        return this.#evalAttribute(i);
      case K.call:
        return this.#evalCall(i);
      case K.subscript:
        return this.#evalSubscript(i);
      case K.string:
        return this.#evalString(i);
      case K.concatenated_string:
        return this.#concat(tree.named(i).map((c) => this.#eval(c)));
      case K.integer: {
        const n = parseIntLiteral(tree.text(i));
        return n !== undefined && Number.isSafeInteger(n) ? num(n) : CONST;
      }
      case K.float:
      case K.ellipsis:
        return CONST;
      case K.true:
        return { t: "num", n: 1, bool: true };
      case K.false:
        return { t: "num", n: 0, bool: true };
      case K.none:
        return NONE;
      case K.parenthesized_expression:
      case K.type:
      case K.expression_statement:
      case K.await:
        return this.#eval(this.#firstNamed(i));
      case K.named_expression:
        return this.#eval(this.#after(i, TK[":="]));
      case K.binary_operator: {
        const named = tree.named(i);
        const op = tree.next[named[0]];
        let opNode = op;
        while (
          opNode >= 0 && (tree.kind[opNode] === K.comment || tree.kind[opNode] === K.line_continuation)
        ) {
          opNode = tree.next[opNode];
        }
        return this.#binary(opNode >= 0 ? tree.kind[opNode] : -1, this.#eval(named[0]), this.#eval(named[1]));
      }
      case K.unary_operator: {
        const op = tree.kind[tree.first[i]];
        const v = this.#eval(this.#firstNamed(i));
        return mapValue(v, (m) => {
          if (m.t !== "num") return isConst(m) ? CONST : UNKNOWN;
          if (op === TK["-"]) return num(-m.n);
          if (op === TK["+"]) return num(m.n);
          if (op === TK["~"]) return num(~m.n);
          return CONST;
        });
      }
      case K.conditional_expression: {
        const named = tree.named(i);
        this.#eval(named[1]);
        return union([this.#eval(named[0]), this.#eval(named[2])]);
      }
      case K.boolean_operator: {
        const named = tree.named(i);
        return union(named.map((c) => this.#eval(c)));
      }
      case K.not_operator:
      case K.comparison_operator:
        for (const c of tree.named(i)) this.#eval(c);
        return UNKNOWN;
      case K.list:
      case K.tuple:
      case K.set:
      case K.expression_list:
        return this.#sequence(i, k === K.list ? "list" : k === K.set ? "set" : "tuple");
      case K.dictionary:
        return this.#dictionary(i);
      case K.list_comprehension:
      case K.set_comprehension:
      case K.generator_expression:
      case K.dictionary_comprehension: {
        const body = this.#firstNamed(i);
        return { t: "seq", kind: "list", items: [this.#eval(body)], open: true };
      }
      case K.lambda:
        return { t: "func", node: i };
      case K.pair:
        return this.#eval(this.#after(i, TK[":"]));
      default:
        return UNKNOWN;
    }
  }

  #evalName(i: number): Value {
    const name = this.#name(i);
    const { value, implicit } = this.#lookup(name, this.#scopeOf[i], i);
    if (implicit) {
      const moduleRule = FORBIDDEN_MODULE_GLOBALS.get(name);
      if (moduleRule) this.#report(i, moduleRule, name);
      this.#introduce(i, value, []);
    }
    return value;
  }

  #sequence(i: number, kind: "list" | "tuple" | "set"): Value {
    const items: Value[] = [];
    for (const c of this.tree.named(i)) {
      const ck = this.tree.kind[c];
      if (ck === K.list_splat || ck === K.parenthesized_list_splat) {
        const inner = this.#eval(this.#firstNamed(c));
        if (inner.t === "seq") items.push(...inner.items);
        else if (inner.t === "str") items.push(...[...inner.s].map((ch) => str(ch, inner.bytes)));
        else return { t: "seq", kind, items: [...items, UNKNOWN], open: true };
      } else items.push(this.#eval(c));
    }
    return { t: "seq", kind, items };
  }

  #dictionary(i: number): Value {
    const keys: Value[] = [];
    const values: Value[] = [];
    let open = false;
    for (const c of this.tree.named(i)) {
      if (this.tree.kind[c] === K.pair) {
        keys.push(this.#eval(this.#firstNamed(c)));
        values.push(this.#eval(this.#after(c, TK[":"])));
      } else if (this.tree.kind[c] === K.dictionary_splat) {
        const inner = this.#eval(this.#firstNamed(c));
        if (inner.t === "dict") {
          keys.push(...inner.keys);
          values.push(...inner.values);
          open ||= inner.open;
        } else open = true;
      } else open = true;
    }
    return { t: "dict", keys, values, open };
  }

  #evalString(i: number): Value {
    const tree = this.tree;
    let prefix = "";
    let outs = [""];
    let folded = true;
    let constant = true;
    let isF = false;
    for (let c = tree.first[i]; c >= 0; c = tree.next[c]) {
      const k = tree.kind[c];
      if (k === K.string_start) {
        prefix = /^[A-Za-z]*/.exec(tree.text(c))![0];
        isF = /f/i.test(prefix);
      } else if (k === K.string_content) {
        const decoded = decodeLiteral(tree.text(c), prefix.replace(/f/gi, ""));
        if (decoded === undefined) folded = false; // e.g. \N{…}: constant, but not folded here
        else {
          const piece = isF ? decoded.replaceAll("{{", "{").replaceAll("}}", "}") : decoded;
          outs = outs.map((o) => o + piece);
        }
      } else if (k === K.interpolation) {
        const pieces = this.#interpolation(c);
        if (pieces === undefined || pieces.length * outs.length > MAX_PRODUCT) {
          folded = false;
          if (!isConst(this.#eval(this.#firstNamed(c)))) constant = false;
        } else outs = outs.flatMap((o) => pieces.map((p) => o + p));
      }
    }
    if (folded) return union(outs.map((o) => str(o, /b/i.test(prefix))));
    return constant ? CONST : UNKNOWN;
  }

  /** `{expr!conv:spec}` of an f-string: the text for each constant value the expression can have. */
  #interpolation(i: number): string[] | undefined {
    const tree = this.tree;
    const expr = this.#firstNamed(i);
    const v = this.#eval(expr);
    const conv = tree.child(i, K.type_conversion);
    const specNode = tree.child(i, K.format_specifier);
    let spec = "";
    if (specNode >= 0) {
      // The spec is the text after ":", with nested {expressions} replaced by their values.
      let pos = tree.start[specNode];
      if (tree.source[pos] === ":") pos++;
      for (let c = tree.first[specNode]; c >= 0; c = tree.next[c]) {
        if (tree.kind[c] !== K.format_expression) continue;
        const inner = _scalar(this.#eval(this.#firstNamed(c)));
        const text = inner === undefined ? undefined : pyStr(inner);
        if (text === undefined) return undefined;
        spec += tree.source.slice(pos, tree.start[c]) + text;
        pos = tree.end[c];
      }
      spec += tree.source.slice(pos, tree.end[specNode]);
    }
    const afterExpr = conv >= 0 ? tree.start[conv] : specNode >= 0 ? tree.start[specNode] : tree.end[i];
    if (/=\s*$/.test(tree.source.slice(tree.end[expr], afterExpr))) return undefined; // f"{x=}": not folded
    const convText = conv >= 0 ? tree.text(conv).replace("!", "") : "";
    const out: string[] = [];
    for (const m of members(v)) {
      const s = _scalar(m);
      if (s === undefined) return undefined;
      let text: string | undefined;
      if (convText) {
        const converted = convert(s, convText);
        text = converted === undefined ? undefined : formatSpec({ s: converted, bytes: false }, spec);
      } else text = formatSpec(s, spec);
      if (text === undefined) return undefined;
      out.push(text);
    }
    return out;
  }

  #concat(parts: Value[]): Value {
    let v: Value = str("");
    let bytes: boolean | undefined;
    for (const p of parts) {
      if (p.t === "str" && v.t === "str" && (bytes === undefined || bytes === p.bytes)) {
        bytes = p.bytes;
        v = str(v.s + p.s, p.bytes);
      } else return parts.every(isConst) ? CONST : UNKNOWN;
    }
    return v;
  }

  #binary(op: number, a: Value, b: Value): Value {
    const am = members(a);
    const bm = members(b);
    if (am.length * bm.length > MAX_PRODUCT) return isConst(a) && isConst(b) ? CONST : UNKNOWN;
    const out: Value[] = [];
    for (const x of am) for (const y of bm) out.push(this.#binaryOne(op, x, y));
    return union(out);
  }

  #binaryOne(op: number, x: Value, y: Value): Value {
    const fallback = isConst(x) && isConst(y) ? CONST : UNKNOWN;
    if (op === TK["+"] || op === TK["+="]) {
      if (x.t === "str" && y.t === "str" && x.bytes === y.bytes) return str(x.s + y.s, x.bytes);
      if (x.t === "num" && y.t === "num") return num(x.n + y.n);
      if (x.t === "seq" && y.t === "seq") {
        return { t: "seq", kind: x.kind, items: [...x.items, ...y.items], open: x.open || y.open };
      }
      return fallback;
    }
    if (op === TK["*"] || op === TK["*="]) {
      if (x.t === "str" && y.t === "num" && y.n >= 0 && x.s.length * y.n <= 1 << 16) {
        return str(x.s.repeat(y.n), x.bytes);
      }
      if (x.t === "num" && y.t === "str" && x.n >= 0 && y.s.length * x.n <= 1 << 16) {
        return str(y.s.repeat(x.n), y.bytes);
      }
      if (x.t === "num" && y.t === "num") return num(x.n * y.n);
      return fallback;
    }
    if (op === TK["%"] || op === TK["%="]) {
      if (x.t === "str" && !x.bytes) return this.#percent(x.s, y) ?? fallback;
      if (x.t === "num" && y.t === "num" && y.n !== 0) return num(((x.n % y.n) + y.n) % y.n);
      return fallback;
    }
    if (x.t === "num" && y.t === "num") {
      switch (op) {
        case TK["-"]:
        case TK["-="]:
          return num(x.n - y.n);
        case TK["//"]:
          return y.n === 0 ? fallback : num(Math.floor(x.n / y.n));
        case TK["<<"]:
          return y.n < 0 || y.n > 31 ? fallback : num(x.n * 2 ** y.n);
        case TK[">>"]:
          return y.n < 0 ? fallback : num(Math.floor(x.n / 2 ** y.n));
        case TK["&"]:
          return num(x.n & y.n);
        case TK["|"]:
          return num(x.n | y.n);
        case TK["^"]:
          return num(x.n ^ y.n);
      }
    }
    return fallback;
  }

  #percent(template: string, args: Value): Value | undefined {
    if (args.t === "seq" && args.kind === "tuple") {
      const scalars = args.items.map(_scalar);
      if (scalars.some((s) => s === undefined)) return undefined;
      const out = percentFormat(template, scalars as Scalar[], false);
      return out === undefined ? undefined : str(out);
    }
    if (args.t === "dict" && !args.open) {
      const map = new Map<string, Scalar>();
      for (let k = 0; k < args.keys.length; k++) {
        const key = args.keys[k];
        const value = _scalar(args.values[k]);
        if (key.t !== "str" || value === undefined) return undefined;
        map.set(key.s, value);
      }
      const out = percentFormat(template, map, false);
      return out === undefined ? undefined : str(out);
    }
    const s = _scalar(args);
    if (s === undefined) return undefined;
    const out = percentFormat(template, [s], true);
    return out === undefined ? undefined : str(out);
  }

  // ---------------------------------------------------------------------------------------------------
  // Attributes, subscripts

  #evalAttribute(i: number): Value {
    const objectNode = this.#firstNamed(i);
    const nameNode = this.#attrNameNode(i);
    if (objectNode < 0 || nameNode < 0 || nameNode === objectNode) return UNKNOWN;
    const name = this.#name(nameNode);
    const obj = this.#eval(objectNode);
    const v = this.#attribute(obj, name, i);
    this.#introduce(i, v, [obj]);
    return v;
  }

  /** `obj.name` for every member of obj; forbidden attribute names are reported at `node`. */
  #attribute(obj: Value, name: string, node: number): Value {
    const forbidden = FORBIDDEN_ATTRIBUTES.get(name);
    if (forbidden) this.#report(node, forbidden, name);
    return mapValue(obj, (m) => this.#attributeOne(m, name));
  }

  #attributeOne(m: Value, name: string): Value {
    if (name === "__builtins__") return path("builtins");
    if (name === "__globals__" || name === "f_globals" || name === "f_locals" || name === "func_globals") {
      return { t: "globals" };
    }
    switch (m.t) {
      case "path": {
        if (name === "__dict__") return { t: "nsdict", path: m.path };
        if (name === "__self__" && m.path.startsWith("builtins.")) return path("builtins");
        const moduleLike = MODULE_LIKE_ATTRIBUTES.get(name);
        if (moduleLike && !FORBIDDEN_PATHS.has(`${m.path}.${name}`)) return path(moduleLike);
        return path(canonicalPath(`${m.path}.${name}`));
      }
      case "class": {
        const scope = this.#scopeFor.get(m.node);
        const bound = scope === undefined ? undefined : this.#scopes[scope].bindings.get(name);
        return bound ? union([this.#bindingsValue(bound), UNKNOWN]) : { t: "unknown" };
      }
      case "str":
      case "seq":
      case "dict":
      case "nsdict":
      case "globals":
      case "const":
        return { t: "bound", self: m, name };
      default: {
        const moduleLike = MODULE_LIKE_ATTRIBUTES.get(name);
        if (moduleLike) return path(moduleLike);
        return this.#fieldValue(name) ?? UNKNOWN;
      }
    }
  }

  #evalSubscript(i: number): Value {
    const tree = this.tree;
    const named = tree.named(i);
    const objectNode = named[0];
    const obj = this.#eval(objectNode);
    const indexNodes = named.slice(1);
    if (indexNodes.length !== 1) {
      for (const n of indexNodes) this.#eval(n);
      return UNKNOWN;
    }
    const indexNode = indexNodes[0];
    let v: Value;
    if (tree.kind[indexNode] === K.slice) v = this.#slice(obj, indexNode);
    else {
      const key = this.#eval(indexNode);
      v = this.#item(obj, key, i);
    }
    this.#introduce(i, v, [obj]);
    return v;
  }

  #slice(obj: Value, sliceNode: number): Value {
    const tree = this.tree;
    const parts: (number | undefined)[] = [undefined, undefined, undefined];
    let slot = 0;
    for (let c = tree.first[sliceNode]; c >= 0; c = tree.next[c]) {
      if (tree.kind[c] === TK[":"]) {
        slot++;
        continue;
      }
      const v = this.#eval(c);
      if (v.t === "num") parts[slot] = v.n;
      else if (v.t !== "none") return isConst(obj) && isConst(v) ? CONST : UNKNOWN;
    }
    return mapValue(obj, (m) => {
      if (m.t === "str") {
        const chars = m.bytes ? m.s.split("") : [...m.s];
        const out = pySlice(chars, parts[0], parts[1], parts[2] ?? 1);
        return out === undefined ? CONST : str(out.join(""), m.bytes);
      }
      if (m.t === "seq") {
        if (m.open) return m;
        const out = pySlice(m.items, parts[0], parts[1], parts[2] ?? 1);
        return out === undefined ? UNKNOWN : { t: "seq", kind: m.kind, items: out };
      }
      return isConst(m) ? CONST : UNKNOWN;
    });
  }

  /** obj[key] over every member; namespace lookups may reach forbidden objects. */
  #item(obj: Value, key: Value, node: number): Value {
    const keys = strings(key);
    return mapValue(obj, (m) => {
      switch (m.t) {
        case "nsdict":
          if (!keys) {
            this.#dynamicLookup(node, m, "a key");
            return UNKNOWN;
          }
          return union(
            keys.map((
              k,
            ) => (k === "__builtins__" ? path("builtins") : path(canonicalPath(`${m.path}.${k}`)))),
          );
        case "globals":
          if (!keys) {
            this.#dynamicLookup(node, m, "a key");
            return UNKNOWN;
          }
          return union(keys.map((k) => this.#globalsItem(k, node)));
        case "path": {
          if (m.path === "sys.modules") {
            if (!keys) {
              this.#report(node, "dynamic-import-sys-modules", "sys.modules[…] with a computed name");
              return UNKNOWN;
            }
            return union(keys.map((k) => path(canonicalPath(k))));
          }
          if (m.path === "builtins") {
            if (!keys) {
              this.#dynamicLookup(node, m, "a key");
              return UNKNOWN;
            }
            return union(keys.map((k) => path(`builtins.${k}`)));
          }
          return UNKNOWN;
        }
        case "str": {
          const ints = members(key).every((x) => x.t === "num")
            ? members(key).map((x) => (x as { n: number }).n)
            : null;
          if (!ints) return isConst(key) ? CONST : UNKNOWN;
          const chars = m.bytes ? m.s.split("") : [...m.s];
          return union(ints.map((n) => {
            const c = chars[n < 0 ? n + chars.length : n];
            if (c === undefined) return UNKNOWN;
            return m.bytes ? num(c.charCodeAt(0)) : str(c);
          }));
        }
        case "seq": {
          const ints = members(key).every((x) => x.t === "num")
            ? members(key).map((x) => (x as { n: number }).n)
            : null;
          if (!ints || m.open) return union([...m.items, UNKNOWN]);
          return union(ints.map((n) => m.items[n < 0 ? n + m.items.length : n] ?? UNKNOWN));
        }
        case "dict": {
          if (!keys) return union([...m.values, UNKNOWN]);
          const out: Value[] = [];
          for (let k = 0; k < m.keys.length; k++) {
            const ks = strings(m.keys[k]);
            if (!ks || ks.some((x) => keys.includes(x))) out.push(m.values[k]);
          }
          if (m.open || out.length === 0) out.push(UNKNOWN);
          return union(out);
        }
        default:
          return this.#itemStoreValue(keys);
      }
    });
  }

  /** Values stored with `x[key] = value` (for dictionaries the scanner cannot see whole). */
  #itemStoreValue(keys: string[] | undefined): Value {
    if (!keys || this.#itemStores.length === 0) return UNKNOWN;
    const out: Value[] = [UNKNOWN];
    for (const { target, store } of this.#itemStores) {
      const named = this.tree.named(target);
      if (named.length !== 2) continue;
      const k = strings(this.#eval(named[1]));
      if (k && k.some((x) => keys.includes(x)) && store.value >= 0) {
        out.push(this.#unpack(this.#eval(store.value), store.unpack));
      }
    }
    return union(out);
  }

  #globalsItem(key: string, node: number): Value {
    if (key === "__builtins__") {
      this.#report(node, "introspection-builtins", 'globals()["__builtins__"]');
      return path("builtins");
    }
    const bound = this.#scopes[0].bindings.get(key);
    const values: Value[] = [UNKNOWN];
    if (bound) values.push(this.#bindingsValue(bound));
    return union(values);
  }

  #dynamicLookup(node: number, m: Value, what: string): void {
    const ns = this.#dangerousName(m) ?? "a namespace";
    this.#report(
      node,
      "introspection-dynamic-lookup",
      `looking up ${what} computed at run time in ${ns} can reach anything in it (os.system, eval, …)`,
    );
  }

  /** getattr(obj, name) with folded names; computed names on dangerous namespaces are findings. */
  #getattr(obj: Value, name: Value, node: number): Value {
    const known: string[] = [];
    let computed = false;
    for (const m of members(name)) {
      if (m.t === "str") known.push(m.s);
      else computed = true;
    }
    // Built from literals only, but not foldable here (a decompressed blob, an exotic codec): obfuscation.
    const obfuscated = members(name).every((m) => m.t === "const");
    const out: Value[] = [];
    if (computed) {
      const ns = members(obj).find((m) => this.#dangerousName(m));
      if (ns) this.#dynamicLookup(node, ns, "an attribute name");
      else if (obfuscated) {
        this.#report(
          node,
          "introspection-dynamic-lookup",
          "getattr with an attribute name decoded from an obfuscated constant",
        );
      }
      out.push(UNKNOWN);
    }
    const unknownObject = members(obj).every((m) => m.t === "unknown");
    for (const n of known) {
      if (unknownObject) {
        const rule = DISTINCTIVE.get(n);
        if (rule) this.#report(node, rule, `getattr(…, ${JSON.stringify(n)})`);
      }
      out.push(this.#attribute(obj, n, node));
    }
    return union(out);
  }

  // ---------------------------------------------------------------------------------------------------
  // Calls

  #callArgs(
    call: number,
  ): { positional: number[]; keywords: Map<string, number>; splat: boolean; args: number } {
    const tree = this.tree;
    const positional: number[] = [];
    const keywords = new Map<string, number>();
    let splat = false;
    const args = tree.child(call, K.argument_list);
    const gen = tree.child(call, K.generator_expression);
    if (gen >= 0) positional.push(gen);
    if (args >= 0) {
      for (const a of tree.named(args)) {
        const k = tree.kind[a];
        if (k === K.keyword_argument) {
          const name = this.#firstNamed(a);
          if (name >= 0) keywords.set(this.#name(name), this.#after(a, TK["="]));
        } else if (k === K.list_splat || k === K.dictionary_splat) splat = true;
        else positional.push(a);
      }
    }
    return { positional, keywords, splat, args };
  }

  #evalCall(i: number): Value {
    const tree = this.tree;
    const calleeNode = tree.first[i];
    const callee = this.#eval(calleeNode);
    const a = this.#callArgs(i);
    const argValue = (index: number, keyword?: string): Value | undefined => {
      const n = keyword !== undefined && a.keywords.has(keyword)
        ? a.keywords.get(keyword)!
        : a.positional[index];
      return n === undefined ? undefined : this.#eval(n);
    };
    const results: Value[] = [];
    let modeled = false;
    let safeSink = false;
    for (const m of members(callee)) {
      if (m.t === "path") {
        const r = this.#callPath(m.path, i, a, argValue);
        if (r !== undefined) {
          modeled = true;
          results.push(r);
        } else results.push(UNKNOWN);
        if (SAFE_SINKS.has(m.path)) safeSink = true;
        const callOnly = CALL_ONLY_PATHS.get(m.path);
        if (callOnly) this.#report(i, callOnly, `calling ${_display(m.path)}`);
      } else if (m.t === "func") {
        modeled = true;
        results.push(this.#returnValue(m.node));
        this.#checkStarArguments(m.node, a);
      } else if (m.t === "getter") {
        modeled = true;
        const target = argValue(0);
        if (target && m.call) {
          // methodcaller(name)(obj) calls obj.name: the method itself is what is reached.
          this.#introduce(i, this.#getattr(target, m.names, i), [target]);
          results.push(UNKNOWN);
        } else results.push(target ? this.#getattr(target, m.names, i) : UNKNOWN);
      } else if (m.t === "bound") {
        modeled = true;
        results.push(this.#callMethod(m, i, a, argValue));
      } else results.push(UNKNOWN);
    }
    if (
      calleeNode >= 0 && tree.kind[calleeNode] === K.attribute &&
      SAFE_SINK_METHODS.has(this.#attrName(calleeNode))
    ) {
      safeSink = true;
    }
    // Calling a forbidden object that arrived through a name or attribute.
    if (_mayBeForbidden(callee) && !this.#reported.has(calleeNode)) {
      for (const [rule, name] of this.#rules(callee)) this.#report(i, rule, name);
    }
    if (!safeSink && !modeled) {
      for (const n of a.positional) this.#checkEscape(n, "receives");
      for (const n of a.keywords.values()) this.#checkEscape(n, "receives");
    } else if (!safeSink) {
      // Modeled functions still should not receive whole namespaces (map(getattr, [os], …), reduce(…, os)).
      for (const m of members(callee)) {
        if (
          m.t === "path" &&
          (m.path === "builtins.map" || m.path === "functools.reduce" || m.path === "functools.partial")
        ) {
          for (const n of a.positional) this.#checkEscape(n, "receives");
        }
      }
    }
    const v = union(results);
    if (_mayBeForbidden(v)) this.#introduce(i, v, [callee, ...a.positional.map((n) => this.#eval(n))]);
    return v;
  }

  /** Arguments a local function takes through *args / **kwargs are not followed: namespaces there escape. */
  #checkStarArguments(func: number, a: { positional: number[]; keywords: Map<string, number> }): void {
    const info = this.#funcs.get(func);
    if (!info) return;
    const positional = info.params.filter((p) => p.index >= 0).length;
    const names = new Set(info.params.map((p) => p.name));
    a.positional.forEach((n, index) => {
      if (index >= positional) this.#checkEscape(n, "receives through *args");
    });
    for (const [name, n] of a.keywords) {
      if (!names.has(name)) this.#checkEscape(n, "receives through **kwargs");
    }
  }

  /** Calls of known functions by canonical path; undefined when not modeled. */
  #callPath(
    p: string,
    call: number,
    a: { positional: number[]; keywords: Map<string, number>; splat: boolean },
    arg: (index: number, keyword?: string) => Value | undefined,
  ): Value | undefined {
    const tree = this.tree;
    if (p.endsWith(".__getattribute__") || p.endsWith(".__getattr__")) {
      const owner = p.slice(0, p.lastIndexOf("."));
      if (owner === "builtins.object" || owner === "builtins.type" || owner === "types.ModuleType") {
        const target = arg(0);
        const name = arg(1);
        return target && name ? this.#getattr(target, name, call) : UNKNOWN;
      }
      const name = arg(0);
      return name ? this.#getattr(path(owner), name, call) : UNKNOWN;
    }
    if (p.startsWith("sys.modules.")) {
      const method = p.slice("sys.modules.".length);
      if (method === "get" || method === "pop" || method === "setdefault" || method === "__getitem__") {
        const key = arg(0);
        return key ? this.#item(path("sys.modules"), key, call) : UNKNOWN;
      }
      if (method === "values" || method === "items" || method === "copy") {
        this.#report(
          call,
          "dynamic-import-sys-modules",
          `sys.modules.${method}() enumerates every loaded module`,
        );
      }
      return UNKNOWN;
    }
    if (RESOLVERS.has(p)) return this.#resolver(p, call, arg);
    if (PAYLOAD_LOADERS.has(p)) {
      const payload = arg(0, p === "shelve.open" ? "filename" : "data");
      if (payload && isConst(payload)) {
        const texts = strings(payload);
        const yaml = p.startsWith("yaml.");
        if (!yaml || !texts || texts.some((t) => t.includes("!!python/") || t.includes("!python/"))) {
          this.#report(call, "dynamic-code-payload", _display(p));
        }
      }
      return UNKNOWN;
    }
    if (TIMEIT.has(p)) {
      for (const [index, keyword] of [[0, "stmt"], [1, "setup"]] as const) {
        const n = a.keywords.get(keyword) ?? a.positional[index];
        if (n === undefined) continue;
        const v = this.#eval(n);
        const texts = strings(v);
        if (texts) { for (const t of texts) this.#subscan(n, t, "statements", `the ${p} statement`); }
        else if (!members(v).every((m) => m.t === "func" || m.t === "path")) {
          this.#report(n, "dynamic-code-string", `${p} runs a statement computed at run time`);
        }
      }
      return UNKNOWN;
    }
    if (FORWARD_REFS.has(p)) {
      const n = a.keywords.get("arg") ?? a.positional[0];
      if (n !== undefined) this.#subscanString(n, "expression", "the forward reference");
      return UNKNOWN;
    }
    if (TYPEVARS.has(p)) {
      const n = a.keywords.get("bound");
      if (n !== undefined && tree.kind[n] === K.string) {
        this.#subscanString(n, "expression", "the TypeVar bound");
      }
      return UNKNOWN;
    }
    if (DICT_CONFIG.has(p)) {
      const config = arg(0, "config");
      if (config && !members(config).every((m) => m.t === "dict")) {
        this.#report(
          call,
          "dynamic-import-resolver",
          "logging.config.dictConfig with a configuration built at run time",
        );
      }
      return UNKNOWN;
    }
    if (DECOMPRESS.has(p)) {
      const data = arg(0);
      return data && isConst(data) ? CONST : UNKNOWN;
    }
    return this.#builtinCall(p, call, a, arg);
  }

  #resolver(
    p: string,
    call: number,
    arg: (index: number, keyword?: string) => Value | undefined,
  ): Value {
    const keyword = p === "importlib.metadata.EntryPoint" ? "value" : "name";
    const index = p === "importlib.metadata.EntryPoint" ? 1 : 0;
    const nameValue = arg(index, keyword);
    const names = nameValue ? strings(nameValue) : undefined;
    const isImport = p === "importlib.import_module" || p.endsWith("__import__");
    if (!names) {
      if (p === "importlib.import_module") {
        this.#report(
          call,
          "dynamic-import-importlib",
          "importlib.import_module with a module name computed at run time",
        );
      } else if (!p.endsWith("__import__")) {
        this.#report(call, "dynamic-import-resolver", `${_display(p)} with a name computed at run time`);
      }
      return UNKNOWN;
    }
    const out: Value[] = [];
    for (const n of names) {
      if (isImport) {
        if (n.startsWith(".")) {
          out.push(UNKNOWN);
          continue;
        }
        const fromlist = p.endsWith("__import__") ? arg(3, "fromlist") : undefined;
        const full = canonicalPath(n);
        const imported = p.endsWith("__import__") && !(fromlist && members(fromlist).some((m) =>
            m.t === "seq" && m.items.length
          ))
          ? full.split(".")[0]
          : full;
        const rule = forbiddenRule(full);
        if (rule) this.#report(call, rule, _display(full));
        out.push(path(imported));
      } else {
        const dotted = _dotted(n);
        out.push(dotted ? path(dotted) : UNKNOWN);
      }
    }
    return union(out);
  }

  /** Builtins and pure helpers folded over constants. */
  #builtinCall(
    p: string,
    call: number,
    a: { positional: number[]; keywords: Map<string, number>; splat: boolean },
    arg: (index: number, keyword?: string) => Value | undefined,
  ): Value | undefined {
    const first = () => arg(0) ?? UNKNOWN;
    switch (p) {
      case "builtins.getattr": {
        if (a.splat) {
          this.#report(
            call,
            "introspection-dynamic-lookup",
            "getattr with unpacked arguments the scanner cannot see",
          );
          return UNKNOWN;
        }
        const target = arg(0);
        const name = arg(1);
        if (!target || !name) return UNKNOWN;
        const v = this.#getattr(target, name, call);
        const dflt = arg(2);
        return dflt ? union([v, dflt]) : v;
      }
      case "builtins.globals":
      case "builtins.locals":
        return { t: "globals" };
      case "builtins.vars": {
        if (a.positional.length === 0) return { t: "globals" };
        return mapValue(first(), (m) => (m.t === "path" ? { t: "nsdict", path: m.path } : UNKNOWN));
      }
      case "builtins.chr":
        return mapValue(
          first(),
          (
            m,
          ) => (m.t === "num" && m.n >= 0 && m.n <= 0x10ffff
            ? str(String.fromCodePoint(m.n))
            : isConst(m)
            ? CONST
            : UNKNOWN),
        );
      case "builtins.ord":
        return mapValue(
          first(),
          (
            m,
          ) => (m.t === "str" && [...m.s].length === 1
            ? num(m.s.codePointAt(0)!)
            : isConst(m)
            ? CONST
            : UNKNOWN),
        );
      case "builtins.str": {
        if (a.positional.length === 0) return str("");
        const enc = arg(1, "encoding");
        if (enc) {
          const e = strings(enc)?.[0] ?? "utf-8";
          return mapValue(
            first(),
            (
              m,
            ) => (m.t === "str" && m.bytes
              ? (decodeBytes(m.s, e) === undefined ? CONST : str(decodeBytes(m.s, e)!))
              : isConst(m)
              ? CONST
              : UNKNOWN),
          );
        }
        return mapValue(first(), (m) => {
          const s = _scalar(m);
          const t = s === undefined ? undefined : pyStr(s);
          return t !== undefined ? str(t) : isConst(m) ? CONST : m.t === "seq" ? CONST : UNKNOWN;
        });
      }
      case "builtins.repr":
      case "builtins.ascii":
        return mapValue(first(), (m) => {
          const s = _scalar(m);
          const t = s === undefined ? undefined : convert(s, p === "builtins.repr" ? "r" : "a");
          return t !== undefined ? str(t) : isConst(m) ? CONST : UNKNOWN;
        });
      case "builtins.format": {
        const spec = strings(arg(1) ?? str(""));
        return mapValue(first(), (m) => {
          const s = _scalar(m);
          const t = s === undefined || !spec ? undefined : formatSpec(s, spec[0]);
          return t !== undefined ? str(t) : isConst(m) ? CONST : UNKNOWN;
        });
      }
      case "builtins.int": {
        const base = arg(1, "base");
        const b = base && base.t === "num" ? base.n : 10;
        return mapValue(first(), (m) => {
          if (m.t === "num") return num(m.n);
          if (m.t === "str" && !m.bytes) {
            const t = m.s.trim().replaceAll("_", "");
            const n = b === 0 ? parseIntLiteral(t) : parseInt(t, b);
            return n !== undefined && Number.isSafeInteger(n) ? num(n) : CONST;
          }
          return isConst(m) ? CONST : UNKNOWN;
        });
      }
      case "builtins.hex":
      case "builtins.oct":
      case "builtins.bin":
        return mapValue(first(), (m) => {
          if (m.t !== "num") return isConst(m) ? CONST : UNKNOWN;
          const spec = p === "builtins.hex" ? "#x" : p === "builtins.oct" ? "#o" : "#b";
          const t = formatSpec({ n: m.n }, spec);
          return t === undefined ? CONST : str(t);
        });
      case "builtins.bytes":
      case "builtins.bytearray": {
        if (a.positional.length === 0) return str("", true);
        const enc = arg(1, "encoding");
        return mapValue(first(), (m) => {
          if (m.t === "str" && !m.bytes && enc) {
            const e = strings(enc)?.[0];
            const out = e ? encodeString(m.s, e) : undefined;
            return out === undefined ? CONST : str(out, true);
          }
          if (m.t === "str" && m.bytes) return m;
          if (m.t === "seq" && m.items.every((x) => x.t === "num" && x.n >= 0 && x.n <= 255)) {
            return str(m.items.map((x) => String.fromCharCode((x as { n: number }).n)).join(""), true);
          }
          return isConst(m) ? CONST : UNKNOWN;
        });
      }
      case "builtins.bytes.fromhex":
      case "builtins.bytearray.fromhex":
        return mapValue(
          first(),
          (
            m,
          ) => (m.t === "str" && !m.bytes
            ? (hexDecode(m.s) === undefined ? CONST : str(hexDecode(m.s)!, true))
            : isConst(m)
            ? CONST
            : UNKNOWN),
        );
      case "builtins.str.join": {
        const sep = arg(0);
        const parts = arg(1);
        return sep && parts ? this.#join(sep, parts, a.positional[1]) : UNKNOWN;
      }
      case "builtins.list":
      case "builtins.tuple":
      case "builtins.set":
      case "builtins.frozenset":
      case "builtins.reversed":
      case "builtins.sorted": {
        if (a.positional.length === 0) return { t: "seq", kind: "list", items: [] };
        return mapValue(first(), (m) => {
          let items: Value[] | undefined;
          if (m.t === "str") {
            items = m.bytes ? m.s.split("").map((c) => num(c.charCodeAt(0))) : [...m.s].map((c) => str(c));
          } else if (m.t === "seq") {
            if (m.open) return { ...m, kind: p === "builtins.tuple" ? "tuple" : "list" };
            items = [...m.items];
          } else if (m.t === "dict") items = [...m.keys];
          if (!items) return isConst(m) ? CONST : UNKNOWN;
          if (p === "builtins.reversed") items.reverse();
          if (p === "builtins.sorted") {
            const ss = items.map((x) => (x.t === "str" ? x.s : undefined));
            if (ss.some((x) => x === undefined)) return { t: "seq", kind: "list", items };
            items = (ss as string[]).sort().map((x) => str(x));
          }
          return { t: "seq", kind: p === "builtins.tuple" ? "tuple" : "list", items };
        });
      }
      case "builtins.map": {
        const fn = arg(0);
        const seq = arg(1);
        if (!fn || !seq || a.positional.length !== 2) return UNKNOWN;
        return mapValue(seq, (m) => {
          if (m.t === "seq" && m.open) {
            return {
              t: "seq",
              kind: "list",
              items: m.items.map((x) => this.#apply(fn, x)),
              open: true,
            };
          }
          const items = m.t === "seq" ? m.items : m.t === "str" ? [...m.s].map((c) => str(c)) : undefined;
          if (!items || items.length > MAX_UNROLL || (this.#unrolled += items.length) > MAX_UNROLLED) {
            return UNKNOWN;
          }
          return { t: "seq", kind: "list", items: items.map((x) => this.#apply(fn, x)) };
        });
      }
      case "builtins.type": {
        if (a.positional.length !== 1) return UNKNOWN;
        return mapValue(first(), (m) => (m.t === "func" ? path("types.FunctionType") : UNKNOWN));
      }
      case "operator.attrgetter":
        return { t: "getter", names: first(), call: false };
      case "operator.methodcaller":
        return { t: "getter", names: first(), call: true };
      case "base64.b64decode":
      case "base64.standard_b64decode":
      case "base64.decodebytes":
      case "base64.decodestring":
      case "base64.urlsafe_b64decode":
      case "binascii.a2b_base64": {
        const urlSafe = p === "base64.urlsafe_b64decode";
        return mapValue(
          first(),
          (m) => (m.t === "str" ? _bytesOr(base64Decode(m.s, urlSafe)) : isConst(m) ? CONST : UNKNOWN),
        );
      }
      case "base64.b32decode":
        return mapValue(
          first(),
          (m) => (m.t === "str" ? _bytesOr(base32Decode(m.s)) : isConst(m) ? CONST : UNKNOWN),
        );
      case "base64.b16decode":
      case "binascii.unhexlify":
      case "binascii.a2b_hex":
        return mapValue(
          first(),
          (m) => (m.t === "str" ? _bytesOr(hexDecode(m.s)) : isConst(m) ? CONST : UNKNOWN),
        );
      case "base64.b64encode":
      case "base64.standard_b64encode":
      case "base64.encodebytes":
        return mapValue(
          first(),
          (m) => (m.t === "str" && m.bytes ? _bytesOr(base64Encode(m.s)) : isConst(m) ? CONST : UNKNOWN),
        );
      case "binascii.hexlify":
      case "binascii.b2a_hex":
        return mapValue(
          first(),
          (m) => (m.t === "str" && m.bytes ? str(hexEncode(m.s), true) : isConst(m) ? CONST : UNKNOWN),
        );
      case "codecs.decode":
      case "codecs.encode": {
        const enc = strings(arg(1, "encoding") ?? str("utf-8"))?.[0]?.toLowerCase().replaceAll("-", "_");
        return mapValue(first(), (m) => {
          if (m.t !== "str") return isConst(m) ? CONST : UNKNOWN;
          if (enc === "rot13" || enc === "rot_13") return m.bytes ? CONST : str(rot13(m.s));
          if (p === "codecs.decode" && (enc === "hex" || enc === "hex_codec")) {
            return _bytesOr(hexDecode(m.s));
          }
          if (p === "codecs.decode" && (enc === "base64" || enc === "base64_codec")) {
            return _bytesOr(base64Decode(m.s));
          }
          if (p === "codecs.decode" && m.bytes && enc) {
            const out = decodeBytes(m.s, enc);
            return out === undefined ? CONST : str(out);
          }
          if (p === "codecs.encode" && !m.bytes && enc) {
            const out = encodeString(m.s, enc);
            return out === undefined ? CONST : str(out, true);
          }
          return CONST;
        });
      }
      default:
        return undefined;
    }
  }

  /** fn(x) for map(): builtins and local functions / lambdas of one argument. */
  #apply(fn: Value, x: Value): Value {
    return mapValue(fn, (f) => {
      if (f.t === "path") {
        switch (f.path) {
          case "builtins.chr":
            return x.t === "num" && x.n >= 0 && x.n <= 0x10ffff ? str(String.fromCodePoint(x.n)) : CONST;
          case "builtins.str": {
            const s = _scalar(x);
            const t = s === undefined ? undefined : pyStr(s);
            return t === undefined ? CONST : str(t);
          }
          case "builtins.ord":
            return x.t === "str" && [...x.s].length === 1 ? num(x.s.codePointAt(0)!) : CONST;
          case "builtins.int":
            return x.t === "num"
              ? x
              : x.t === "str" && /^\s*-?\d+\s*$/.test(x.s)
              ? num(parseInt(x.s, 10))
              : CONST;
        }
        return UNKNOWN;
      }
      if (f.t === "func") {
        const info = this.#funcs.get(f.node);
        if (info && info.lambdaBody >= 0 && info.params.length === 1) {
          return this.#withOverrides(new Map([[info.params[0].name, x]]), () => this.#eval(info.lambdaBody));
        }
      }
      return UNKNOWN;
    });
  }

  #withOverrides<T>(overrides: Map<string, Value>, f: () => T): T {
    const saved = this.#overrides;
    this.#overrides = saved ? new Map([...saved, ...overrides]) : overrides;
    try {
      return f();
    } finally {
      this.#overrides = saved;
    }
  }

  /** sep.join(parts): parts folded, including generator expressions over constant iterables. */
  #join(sep: Value, parts: Value, partsNode: number | undefined): Value {
    const seps = strings(sep);
    let items: Value[][] | undefined;
    const unrolled = partsNode === undefined ? undefined : this.#unroll(partsNode);
    if (unrolled) items = [unrolled];
    else {
      items = [];
      for (const m of members(parts)) {
        if (m.t === "seq" && !m.open) items.push(m.items);
        else if (m.t === "str") items.push([...m.s].map((c) => str(c, m.bytes)));
        else return isConst(sep) && isConst(parts) ? CONST : UNKNOWN;
      }
    }
    if (!seps) return CONST;
    const out: Value[] = [];
    for (const s of seps) {
      for (const list of items) {
        const texts: string[][] = [[]];
        let ok = true;
        for (const item of list) {
          const options = strings(item);
          if (!options || options.length * texts.length > MAX_PRODUCT) {
            ok = false;
            break;
          }
          const next: string[][] = [];
          for (const t of texts) for (const o of options) next.push([...t, o]);
          texts.splice(0, texts.length, ...next);
        }
        if (!ok) {
          out.push(list.every(isConst) ? CONST : UNKNOWN);
          continue;
        }
        for (const t of texts) out.push(str(t.join(s)));
      }
    }
    return union(out);
  }

  /** The items of a comprehension over a constant iterable, evaluated one by one. */
  #unroll(node: number): Value[] | undefined {
    const tree = this.tree;
    const k = tree.kind[node];
    if (k !== K.generator_expression && k !== K.list_comprehension) return undefined;
    const named = tree.named(node);
    const clauses = named.filter((c) => tree.kind[c] === K.for_in_clause);
    if (clauses.length !== 1 || named.some((c) => tree.kind[c] === K.if_clause)) return undefined;
    const clause = clauses[0];
    const target = this.#firstNamed(clause);
    if (target < 0 || tree.kind[target] !== K.identifier) return undefined;
    const iterable = this.#eval(this.#after(clause, TK.in));
    let items: Value[] | undefined;
    if (iterable.t === "seq" && !iterable.open) items = iterable.items;
    else if (iterable.t === "str") {
      items = iterable.bytes
        ? iterable.s.split("").map((c) => num(c.charCodeAt(0)))
        : [...iterable.s].map((c) => str(c));
    }
    if (!items || items.length > MAX_UNROLL || (this.#unrolled += items.length) > MAX_UNROLLED) {
      return undefined;
    }
    const name = this.#name(target);
    const body = named[0];
    return items.map((item) => this.#withOverrides(new Map([[name, item]]), () => this.#eval(body)));
  }

  /** Methods of folded values (str methods, dict/namespace lookups). */
  #callMethod(
    bound: Value & { t: "bound" },
    call: number,
    a: { positional: number[]; keywords: Map<string, number> },
    arg: (index: number, keyword?: string) => Value | undefined,
  ): Value {
    const { self, name } = bound;
    if (self.t === "str") return this.#strMethod(self, name, a, arg);
    if (self.t === "nsdict" || self.t === "globals") {
      if (name === "get" || name === "pop" || name === "setdefault" || name === "__getitem__") {
        const key = arg(0);
        return key ? this.#item(self, key, call) : UNKNOWN;
      }
      if (name === "copy") return self;
      if (name === "items" || name === "values" || name === "keys") {
        if (this.#dangerousName(self)) {
          this.#report(
            call,
            "introspection-namespace-escape",
            `enumerating ${this.#dangerousName(self)} reaches everything in it`,
          );
        }
      }
      return UNKNOWN;
    }
    if (self.t === "dict" && (name === "get" || name === "pop" || name === "setdefault")) {
      const key = arg(0);
      return key ? union([this.#item(self, key, call), arg(1) ?? NONE]) : UNKNOWN;
    }
    return isConst(self) ? CONST : UNKNOWN;
  }

  #strMethod(
    self: Value & { t: "str" },
    name: string,
    a: { positional: number[]; keywords: Map<string, number> },
    arg: (index: number, keyword?: string) => Value | undefined,
  ): Value {
    const s = self.s;
    const argStrings = (index: number) => {
      const v = arg(index);
      return v ? strings(v) : undefined;
    };
    const wrap = (out: string | undefined) => (out === undefined ? CONST : str(out, self.bytes));
    switch (name) {
      case "join": {
        const parts = arg(0);
        return parts ? this.#join(self, parts, a.positional[0]) : UNKNOWN;
      }
      case "format": {
        const positional = a.positional.map((n) => _scalar(this.#eval(n)));
        const named = new Map<string, Scalar>();
        for (const [k, n] of a.keywords) {
          const v = _scalar(this.#eval(n));
          if (v === undefined) return CONST;
          named.set(k, v);
        }
        if (positional.some((x) => x === undefined) || self.bytes) return CONST;
        return wrap(strFormat(s, positional as Scalar[], named));
      }
      case "replace": {
        const from = argStrings(0);
        const to = argStrings(1);
        if (!from || !to || from.length !== 1 || to.length !== 1) return CONST;
        return wrap(s.split(from[0]).join(to[0]));
      }
      case "lower":
      case "casefold":
        return wrap(s.toLowerCase());
      case "upper":
        return wrap(s.toUpperCase());
      case "swapcase":
        return wrap([...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(""));
      case "title":
        return wrap(s.toLowerCase().replace(/(^|[^A-Za-z])([a-z])/g, (_m, p1, p2) => p1 + p2.toUpperCase()));
      case "capitalize":
        return wrap(s.charAt(0).toUpperCase() + s.slice(1).toLowerCase());
      case "strip":
      case "lstrip":
      case "rstrip": {
        const chars = arg(0) ? argStrings(0)?.[0] : " \t\n\r\v\f";
        if (chars === undefined) return CONST;
        let out = s;
        if (name !== "rstrip") { while (out && chars.includes(out[0])) out = out.slice(1); }
        if (name !== "lstrip") { while (out && chars.includes(out[out.length - 1])) out = out.slice(0, -1); }
        return wrap(out);
      }
      case "encode": {
        const enc = arg(0, "encoding") ? argStrings(0)?.[0] : "utf-8";
        if (self.bytes || !enc) return CONST;
        const out = encodeString(s, enc);
        return out === undefined ? CONST : str(out, true);
      }
      case "decode": {
        const enc = arg(0, "encoding") ? argStrings(0)?.[0] : "utf-8";
        if (!self.bytes || !enc) return CONST;
        const out = decodeBytes(s, enc);
        return out === undefined ? CONST : str(out);
      }
      case "split": {
        const sep = arg(0) ? argStrings(0)?.[0] : undefined;
        const parts = sep === undefined ? s.trim().split(/\s+/).filter((x) => x) : s.split(sep);
        return { t: "seq", kind: "list", items: parts.map((x) => str(x, self.bytes)) };
      }
      case "hex":
        return self.bytes ? str(hexEncode(s)) : CONST;
      default:
        return CONST;
    }
  }
}

/** Cheap pre-check: only paths and namespace dictionaries can be forbidden. */
function _mayBeForbidden(v: Value): boolean {
  if (v.t === "path" || v.t === "nsdict") return true;
  if (v.t !== "union") return false;
  for (const m of v.vs) if (m.t === "path" || m.t === "nsdict") return true;
  return false;
}

function _bytesOr(latin1: string | undefined): Value {
  return latin1 === undefined ? CONST : str(latin1, true);
}

/** Analyses one parsed file; throws TooDeepError (or RangeError) when expressions nest too deeply. */
export function analyzeTree(tree: SyntaxTree, parse?: SubParser): RawFinding[] {
  return new Analyzer(tree, { parse }).run();
}
