/**
 * The semantic model of one file (after ruff's `ruff_python_semantic`): scopes like Python's (module, class,
 * function, lambda, comprehension; `global` / `nonlocal`; class bodies invisible to nested functions; the
 * first iterable of a comprehension in the enclosing scope), the bindings each scope makes (assignments,
 * imports, definitions, parameters, loop and pattern targets), each identifier's role (load, store, or
 * neither), and the indexes later passes need: functions, call sites by callee name, attribute and item
 * stores, imports.
 *
 * It is built in one pre-order pass over the compact tree and evaluates nothing: values are the business of
 * lib/scan/semantic/evaluate.ts, and what is forbidden that of lib/scan/rules/ and lib/scan/checks/.
 *
 * @module
 */
import { canonicalPath } from "./python_names.ts";
import { isNamedKind, K, type SyntaxTree, TK } from "../tree.ts";

export type ScopeKind = "module" | "class" | "function" | "lambda" | "comprehension";

export interface Scope {
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

export type BindingKind = "value" | "aug" | "import" | "def" | "class" | "param" | "unknown";

/** Unpacking steps from a value to a target: an index, STARRED, or ELEMENT (an element of an iterable). */
export const STARRED = -1;
export const ELEMENT = -2;
/** A step from a value to a target: the attribute of this name (class patterns: `case C(attr=x)`). */
export type UnpackStep = number | { attr: string } | { key: number };

export interface Binding {
  kind: BindingKind;
  target: number;
  value: number;
  unpack: UnpackStep[];
  path?: string;
  op?: number;
  func?: number;
  param?: Param;
  stmt: number;
  /** An unconditional statement directly in the module body. */
  top: boolean;
}

export interface Param {
  name: string;
  /** Positional index, or -1 for keyword-only. */
  index: number;
  /** 0 plain, 1 *args, 2 **kwargs. */
  star: 0 | 1 | 2;
  defaultNode: number;
  /** The parameter's name node. */
  node: number;
}

export interface FuncInfo {
  node: number;
  name: string;
  scope: number;
  params: Param[];
  returns: number[];
  lambdaBody: number;
  /** Defined in a class body: calls through an attribute pass self first. */
  method: boolean;
  /** A classmethod (or `__new__`, `__init_subclass__`): the first parameter is the class. */
  classmethod: boolean;
  /** The class whose body defines it, or -1. */
  owner: number;
  generator: boolean;
}

export interface Store {
  value: number;
  unpack: UnpackStep[];
}

/** An imported dotted path (canonical) and the node that names it. */
export interface ImportRecord {
  node: number;
  path: string;
}

export function nfkc(name: string): string {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return name.normalize("NFKC");
  return name;
}

/** Scopes, bindings, roles and indexes of one file. */
export class SemanticModel {
  readonly tree: SyntaxTree;
  readonly scopes: Scope[] = [];
  /** The scope each node is evaluated in. */
  readonly scopeOf: Int32Array;
  /** The scope a function, lambda, class or comprehension node opens. */
  readonly scopeFor = new Map<number, number>();
  /** 0 load, 1 store / definition, 2 neither (attribute names, keywords, import parts). */
  readonly role: Uint8Array;
  readonly funcs = new Map<number, FuncInfo>();
  readonly callsByName = new Map<string, number[]>();
  readonly callsByAttr = new Map<string, number[]>();
  readonly fieldStores = new Map<string, Store[]>();
  readonly itemStores: { target: number; store: Store }[] = [];
  readonly setattrCalls: number[] = [];
  readonly imports: ImportRecord[] = [];
  /** Names bound by match patterns, with the subject and the steps that lead to them. */
  readonly patternCaptures: { target: number; subject: number; steps: UnpackStep[] }[] = [];
  /** Class definitions by name (every scope): bases are resolved through them. */
  readonly classes: number[] = [];
  /** Whether some scope star-imports a module: only then does a name's scope chain need walking for one. */
  hasStarImports = false;
  readonly #names: (string | undefined)[];

  constructor(tree: SyntaxTree) {
    this.tree = tree;
    this.scopeOf = new Int32Array(tree.count);
    this.role = new Uint8Array(tree.count);
    this.#names = new Array(tree.count);
    this.#collect();
  }

  // ---------------------------------------------------------------------------------------------------
  // Reading the tree

  /** An identifier's name, NFKC-normalised as CPython's tokenizer does. */
  name(i: number): string {
    let name = this.#names[i];
    if (name === undefined) this.#names[i] = name = nfkc(this.tree.text(i));
    return name;
  }

  /** The attribute name of an attribute node (its last identifier child). */
  attrName(node: number): string {
    const last = this.attrNameNode(node);
    return last >= 0 ? this.name(last) : "";
  }

  attrNameNode(node: number): number {
    const tree = this.tree;
    let last = -1;
    for (let c = tree.first[node]; c >= 0; c = tree.next[c]) if (tree.kind[c] === K.identifier) last = c;
    return last;
  }

  /** The named child after the given token, or -1. */
  after(node: number, token: number): number {
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

  firstNamed(node: number): number {
    const { first, next, kind } = this.tree;
    for (let c = first[node]; c >= 0; c = next[c]) {
      const k = kind[c];
      if (isNamedKind(k) && k !== K.comment && k !== K.line_continuation) return c;
    }
    return -1;
  }

  dottedText(node: number): string {
    return this.tree.named(node).filter((c) => this.tree.kind[c] === K.identifier).map((c) => this.name(c))
      .join(".");
  }

  /** The leftmost name of an attribute / call chain (`a` in `a.b.c()`), or -1. */
  rootName(node: number): number {
    const kind = this.tree.kind;
    let n = node;
    for (let guard = 0; guard < 64 && n >= 0; guard++) {
      const k = kind[n];
      if (k === K.identifier) return n;
      if (k !== K.attribute && k !== K.call && k !== K.subscript && k !== K.parenthesized_expression) {
        return -1;
      }
      n = this.firstNamed(n);
    }
    return -1;
  }

  /** The bindings a name may resolve to, without evaluating anything (first scope that binds it, and the module). */
  bindingsOf(name: string, s: number): Binding[] {
    const out: Binding[] = [];
    for (let id = s; id >= 0; id = this.scopes[id].parent) {
      const bound = this.scopes[id].bindings.get(name);
      if (bound) {
        out.push(...bound);
        if (id !== 0 && this.scopes[id].kind !== "class") break;
      }
    }
    return out;
  }

  /** The function (or lambda) whose body holds scope `s`. */
  enclosingFunction(s: number): FuncInfo | undefined {
    for (let p = s; p > 0; p = this.scopes[p].parent) {
      const scope = this.scopes[p];
      if (scope.kind === "function" || scope.kind === "lambda") return this.funcs.get(scope.node);
    }
    return undefined;
  }

  /** The statement a node belongs to, and whether it runs unconditionally in the module body. */
  statement(i: number): { stmt: number; top: boolean } {
    const { parent, kind } = this.tree;
    let s = i;
    while (parent[s] > 0 && kind[parent[s]] !== K.block && kind[parent[s]] !== K.module) s = parent[s];
    if (kind[parent[s]] === K.module || parent[s] === 0) return { stmt: s, top: true };
    return { stmt: s, top: false };
  }

  // ---------------------------------------------------------------------------------------------------
  // Building: one pre-order pass

  #newScope(kind: ScopeKind, node: number, parent: number): number {
    this.scopes.push({
      kind,
      node,
      parent,
      bindings: new Map(),
      globals: new Set(),
      nonlocals: new Set(),
      stars: [],
      deleted: new Set(),
    });
    const id = this.scopes.length - 1;
    this.scopeFor.set(node, id);
    return id;
  }

  /** The scope a binding of `name` made in scope `s` lands in (global / nonlocal declarations). */
  bindingScope(s: number, name: string): number {
    const scope = this.scopes[s];
    if (scope.globals.has(name)) return 0;
    if (scope.nonlocals.has(name)) {
      for (let p = scope.parent; p > 0; p = this.scopes[p].parent) {
        if (this.scopes[p].kind === "function" || this.scopes[p].kind === "lambda") return p;
      }
    }
    return s;
  }

  #bind(s: number, name: string, b: Binding): void {
    const scope = this.scopes[this.bindingScope(s, name)];
    const list = scope.bindings.get(name);
    if (list) list.push(b);
    else scope.bindings.set(name, [b]);
  }

  #bindTarget(
    s: number,
    t: number,
    value: number,
    unpack: UnpackStep[],
    kind: BindingKind,
    stmt: number,
  ): void {
    const tree = this.tree;
    const k = tree.kind[t];
    if (k === K.identifier) {
      this.role[t] = 1;
      const where = this.statement(stmt);
      this.#bind(s, this.name(t), { kind, target: t, value, unpack, stmt: where.stmt, top: where.top });
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
      const name = tree.child(t, K.identifier) >= 0 ? this.attrName(t) : "";
      if (name) {
        const list = this.fieldStores.get(name);
        const store = { value: kind === "value" ? value : -1, unpack };
        if (list) list.push(store);
        else this.fieldStores.set(name, [store]);
      }
    } else if (k === K.subscript) {
      this.role[t] = 1; // a store, not a lookup
      this.itemStores.push({ target: t, store: { value: kind === "value" ? value : -1, unpack } });
    }
  }

  #collect(): void {
    const tree = this.tree;
    const { kind, parent, count } = tree;
    this.#newScope("module", 0, -1);
    this.scopeOf[0] = 0;
    for (let i = 1; i < count; i++) {
      const p = parent[i];
      let s = this.scopeOf[p];
      const pk = kind[p];
      const k = kind[i];
      // Which scope this node is evaluated in.
      if (pk === K.function_definition && k === K.block) s = this.scopeFor.get(p)!;
      else if (pk === K.class_definition && k === K.block) s = this.scopeFor.get(p)!;
      else if (pk === K.lambda && this.after(p, TK[":"]) === i) s = this.scopeFor.get(p)!;
      else if (
        pk === K.list_comprehension || pk === K.set_comprehension || pk === K.dictionary_comprehension ||
        pk === K.generator_expression
      ) s = this.scopeFor.get(p)!;
      else if (pk === K.for_in_clause && this.#isFirstClause(p) && this.after(p, TK.in) === i) {
        s = this.scopes[this.scopeOf[p]].parent; // the first iterable runs in the enclosing scope
      }
      this.scopeOf[i] = s;
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
      case K.list_comprehension:
      case K.set_comprehension:
      case K.dictionary_comprehension:
      case K.generator_expression:
        this.#newScope("comprehension", i, s);
        break;
      case K.assignment: {
        const left = this.firstNamed(i);
        let value = this.after(i, TK["="]);
        if (value < 0) {
          if (this.scopes[s].kind !== "module" && this.scopes[s].kind !== "class" && left >= 0) {
            this.#bindTarget(s, left, -1, [], "unknown", i);
          }
          break;
        }
        while (value >= 0 && tree.kind[value] === K.assignment) value = this.after(value, TK["="]);
        if (left >= 0) this.#bindTarget(s, left, value, [], "value", i);
        break;
      }
      case K.for_statement:
      case K.for_in_clause: {
        const left = this.firstNamed(i);
        const right = this.after(i, TK.in);
        if (left >= 0) this.#bindTarget(s, left, right, [ELEMENT], "value", i);
        break;
      }
      case K.import_statement:
        this.#visitImport(i, s);
        break;
      case K.import_from_statement:
        this.#visitImportFrom(i, s);
        break;
      case K.keyword_argument: {
        const name = this.firstNamed(i);
        if (name >= 0 && tree.kind[name] === K.identifier) this.role[name] = 2;
        break;
      }
      case K.attribute: {
        const name = this.attrNameNode(i);
        if (name >= 0 && name !== this.firstNamed(i)) this.role[name] = 2;
        break;
      }
      case K.return_statement: {
        const value = this.firstNamed(i);
        const f = this.enclosingFunction(s);
        if (f && value >= 0) f.returns.push(value);
        break;
      }
      case K.call:
        this.#visitCall(i);
        break;
      case K.class_definition:
      case K.augmented_assignment:
      case K.as_pattern:
      case K.named_expression:
      case K.future_import_statement:
      case K.global_statement:
      case K.nonlocal_statement:
      case K.delete_statement:
      case K.yield:
      case K.keyword_pattern:
      case K.splat_pattern:
      case K.case_pattern:
      case K.type_parameter:
      case K.type_alias_statement:
        this.#visitRare(i, s, k);
        break;
    }
  }

  /**
   * The kinds few files have, apart from #visit. V8 compiles an optimized function again each time it meets
   * a branch it had not run yet, and the one large #visit took ~90 ms of recompiling in a 2 MB scan (--trace-opt).
   */
  #visitRare(i: number, s: number, k: number): void {
    const tree = this.tree;
    switch (k) {
      case K.class_definition: {
        const name = tree.child(i, K.identifier);
        if (name >= 0) {
          this.role[name] = 2;
          this.#bindTarget(s, name, i, [], "class", i);
          this.role[name] = 2;
        }
        this.#newScope("class", i, s);
        this.classes.push(i);
        break;
      }
      case K.augmented_assignment: {
        const left = this.firstNamed(i);
        const op = tree.first[i] >= 0 ? tree.next[left] : -1;
        const value = tree.named(i)[1] ?? -1;
        if (left >= 0 && tree.kind[left] === K.subscript) this.role[left] = 1;
        if (left >= 0 && tree.kind[left] === K.identifier) {
          this.role[left] = 1;
          const where = this.statement(i);
          this.#bind(s, this.name(left), {
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
      case K.as_pattern: {
        // with ... as x, except E as e: the bound value is not the expression.
        const target = tree.child(i, K.as_pattern_target);
        if (target >= 0) this.#bindTarget(s, target, -1, [], "unknown", i);
        else if (this.#inCase(i)) {
          const named = tree.named(i);
          const alias = named[named.length - 1];
          if (alias !== undefined && tree.kind[alias] === K.identifier) this.#bindCapture(s, alias, i);
        }
        break;
      }
      case K.named_expression: {
        const name = this.firstNamed(i);
        const value = this.after(i, TK[":="]);
        let target = s;
        while (this.scopes[target].kind === "comprehension") target = this.scopes[target].parent;
        if (name >= 0 && tree.kind[name] === K.identifier) {
          this.#bindTarget(target, name, value, [], "value", i);
        }
        break;
      }
      case K.future_import_statement:
        this.#markOther(i);
        break;
      case K.global_statement:
      case K.nonlocal_statement:
        for (const c of tree.named(i)) {
          if (tree.kind[c] !== K.identifier) continue;
          this.role[c] = 2;
          (k === K.global_statement ? this.scopes[s].globals : this.scopes[s].nonlocals).add(this.name(c));
        }
        break;
      case K.delete_statement:
        for (const c of tree.named(i)) this.#visitDelete(c, s);
        break;
      case K.yield: {
        const f = this.enclosingFunction(s);
        if (f) f.generator = true;
        break;
      }
      case K.keyword_pattern: {
        const named = tree.named(i);
        if (named[0] !== undefined && tree.kind[named[0]] === K.identifier) this.role[named[0]] = 2;
        // `C(attr=name)`: the capture is a dotted_name of one identifier (not wrapped in a case_pattern).
        const value = named[1];
        if (value !== undefined && tree.kind[value] === K.dotted_name) this.#captureIn(s, value, i);
        break;
      }
      case K.splat_pattern:
        for (const c of tree.named(i)) {
          if (tree.kind[c] === K.identifier) this.#bindCapture(s, c, i);
        }
        break;
      case K.case_pattern: {
        const named = tree.named(i);
        if (named.length === 1 && tree.kind[named[0]] === K.dotted_name) this.#captureIn(s, named[0], i);
        break;
      }
      case K.type_parameter:
      case K.type_alias_statement:
        for (const c of tree.named(i)) if (tree.kind[c] === K.identifier) this.role[c] = 2;
        break;
    }
  }

  /** A capture pattern (a dotted_name of one identifier, not `_`) binds its name. */
  #captureIn(s: number, dotted: number, stmt: number): void {
    const ids = this.tree.named(dotted);
    if (ids.length === 1 && this.tree.kind[ids[0]] === K.identifier && this.name(ids[0]) !== "_") {
      this.#bindCapture(s, ids[0], stmt);
    }
  }

  /**
   * Binds a name captured by a pattern to what it matches: the match subject followed through the
   * pattern (`case C(attr=x)` is `subject.attr`, `case {"k": x}` is `subject["k"]`, `case [a, *b]` unpacks).
   * Positional class patterns (`C(x)`, by `__match_args__`) are not followed: the name is unknown.
   */
  #bindCapture(s: number, target: number, stmt: number): void {
    const capture = this.#patternPath(target);
    if (capture === null) this.#bindTarget(s, target, -1, [], "unknown", stmt);
    else {
      this.#bindTarget(s, target, capture.subject, capture.steps, "value", stmt);
      this.patternCaptures.push({ target, subject: capture.subject, steps: capture.steps });
    }
  }

  #patternPath(target: number): { subject: number; steps: UnpackStep[] } | null {
    const tree = this.tree;
    const steps: UnpackStep[] = [];
    let cur = target;
    for (let p = tree.parent[cur]; p > 0; cur = p, p = tree.parent[p]) {
      const pk = tree.kind[p];
      if (pk === K.case_clause) {
        const match = tree.parent[tree.parent[p]];
        if (tree.kind[match] !== K.match_statement) return null;
        const subject = this.firstNamed(match);
        return subject < 0 || tree.kind[subject] === K.block ? null : { subject, steps: steps.reverse() };
      }
      if (pk === K.case_pattern || pk === K.dotted_name || pk === K.as_pattern || pk === K.union_pattern) {
        continue;
      }
      if (pk === K.keyword_pattern) {
        const key = this.firstNamed(p);
        if (key === cur) return null;
        steps.push({ attr: this.name(key) });
      } else if (pk === K.class_pattern) {
        // Keyword sub-patterns were handled at their keyword_pattern; positional ones are not followed.
        if (!(tree.kind[cur] === K.case_pattern && tree.kind[this.firstNamed(cur)] === K.keyword_pattern)) {
          return null;
        }
      } else if (pk === K.dict_pattern) {
        if (tree.kind[cur] === K.splat_pattern) continue; // **rest: the rest of the mapping
        let key = -1;
        for (let c = tree.first[p]; c >= 0 && c !== cur; c = tree.next[c]) {
          if (isNamedKind(tree.kind[c]) && tree.kind[c] !== K.comment) key = c;
        }
        if (key < 0) return null;
        steps.push({ key });
      } else if (pk === K.tuple_pattern && !tree.has(p, TK[","])) {
        continue; // `(a)` is a group pattern, not a tuple
      } else if (pk === K.list_pattern || pk === K.tuple_pattern) {
        let index = 0;
        for (let c = tree.first[p]; c >= 0 && c !== cur; c = tree.next[c]) {
          if (tree.kind[c] === K.case_pattern) index++;
        }
        const starred = tree.kind[cur] === K.case_pattern &&
          tree.kind[this.firstNamed(cur)] === K.splat_pattern;
        if (tree.kind[cur] === K.splat_pattern) continue;
        steps.push(starred ? STARRED : index);
      } else if (pk === K.splat_pattern) {
        continue;
      } else return null;
    }
    return null;
  }

  #inCase(i: number): boolean {
    const tree = this.tree;
    for (let p = tree.parent[i]; p > 0; p = tree.parent[p]) {
      if (tree.kind[p] === K.case_clause) return true;
      if (tree.kind[p] === K.block) return false;
    }
    return false;
  }

  #markOther(i: number): void {
    const tree = this.tree;
    const stack = [i];
    while (stack.length) {
      const n = stack.pop()!;
      if (tree.kind[n] === K.identifier) this.role[n] = 2;
      for (let c = tree.first[n]; c >= 0; c = tree.next[c]) stack.push(c);
    }
  }

  #visitDelete(t: number, s: number): void {
    const tree = this.tree;
    const k = tree.kind[t];
    if (k === K.subscript) this.role[t] = 1;
    if (k === K.identifier) {
      this.role[t] = 2;
      this.scopes[this.bindingScope(s, this.name(t))].deleted.add(this.name(t));
    } else if (k === K.expression_list || k === K.tuple || k === K.list || k === K.parenthesized_expression) {
      for (const c of tree.named(t)) this.#visitDelete(c, s);
    }
  }

  #visitFunction(i: number, s: number): void {
    const tree = this.tree;
    const isLambda = tree.kind[i] === K.lambda;
    const scope = this.#newScope(isLambda ? "lambda" : "function", i, s);
    const nameNode = isLambda ? -1 : tree.child(i, K.identifier);
    const name = nameNode >= 0 ? this.name(nameNode) : "";
    let method = this.scopes[s].kind === "class";
    let classmethod = name === "__new__" || name === "__init_subclass__" || name === "__class_getitem__";
    const decorated = tree.parent[i] > 0 && tree.kind[tree.parent[i]] === K.decorated_definition;
    if (decorated) {
      for (const d of tree.named(tree.parent[i])) {
        if (tree.kind[d] !== K.decorator) continue;
        if (/^@\s*staticmethod\b/.test(tree.text(d))) method = false;
        if (/^@\s*classmethod\b/.test(tree.text(d))) classmethod = true;
      }
    }
    const info: FuncInfo = {
      node: i,
      name,
      scope,
      params: [],
      returns: [],
      lambdaBody: isLambda ? this.after(i, TK[":"]) : -1,
      method,
      classmethod: method && classmethod,
      owner: this.scopes[s].kind === "class" ? this.scopes[s].node : -1,
      generator: false,
    };
    this.funcs.set(i, info);
    if (nameNode >= 0) {
      this.#bindTarget(s, nameNode, i, [], "def", decorated ? tree.parent[i] : i);
      this.role[nameNode] = 2;
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
        id = this.firstNamed(p);
        defaultNode = this.after(p, TK["="]);
      } else if (pk === K.typed_parameter) {
        const inner = this.firstNamed(p);
        if (inner >= 0 && tree.kind[inner] === K.identifier) id = inner;
        else if (inner >= 0 && tree.kind[inner] === K.list_splat_pattern) {
          [id, star] = [this.firstNamed(inner), 1];
        } else if (inner >= 0 && tree.kind[inner] === K.dictionary_splat_pattern) {
          [id, star] = [this.firstNamed(inner), 2];
        }
      } else if (pk === K.list_splat_pattern) [id, star] = [this.firstNamed(p), 1];
      else if (pk === K.dictionary_splat_pattern) [id, star] = [this.firstNamed(p), 2];
      else if (tree.kindName(p) === "keyword_separator") {
        keywordOnly = true;
        continue;
      } else continue;
      if (id < 0 || tree.kind[id] !== K.identifier) continue;
      const param: Param = {
        name: this.name(id),
        index: star || keywordOnly ? -1 : index++,
        star,
        defaultNode,
        node: id,
      };
      if (star === 1) keywordOnly = true;
      info.params.push(param);
      this.role[id] = 1;
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
        const full = this.dottedText(c);
        const head = full.split(".")[0];
        this.#importBinding(s, tree.named(c)[0], canonicalPath(head), i);
        this.imports.push({ node: c, path: canonicalPath(full) });
      } else if (ck === K.aliased_import) {
        const dotted = tree.child(c, K.dotted_name);
        const alias = this.after(c, TK.as);
        if (dotted < 0) continue;
        const full = canonicalPath(this.dottedText(dotted));
        if (alias >= 0) this.#importBinding(s, alias, full, i);
        this.imports.push({ node: c, path: full });
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
        if (ck === K.dotted_name) module = canonicalPath(this.dottedText(c));
        else if (ck === K.relative_import) module = null;
        continue;
      }
      if (ck === K.wildcard_import) {
        if (module !== null) {
          this.scopes[s].stars.push(module);
          this.hasStarImports = true;
          this.imports.push({ node: c, path: module });
        }
      } else if (ck === K.dotted_name || ck === K.aliased_import) {
        const dotted = ck === K.dotted_name ? c : tree.child(c, K.dotted_name);
        const bound = ck === K.dotted_name ? tree.named(c)[0] : this.after(c, TK.as);
        if (dotted < 0 || bound === undefined || bound < 0) continue;
        const name = this.dottedText(dotted);
        const full = module === null ? null : canonicalPath(`${module}.${name}`);
        if (full === null) {
          this.role[bound] = 1;
          const where = this.statement(i);
          this.#bind(s, this.name(bound), {
            kind: "unknown",
            target: bound,
            value: -1,
            unpack: [],
            stmt: where.stmt,
            top: where.top,
          });
        } else {
          this.#importBinding(s, bound, full, i);
          this.imports.push({ node: c, path: full });
        }
      }
    }
  }

  #importBinding(s: number, target: number, fullPath: string, stmt: number): void {
    const where = this.statement(stmt);
    this.role[target] = 1;
    this.#bind(s, this.name(target), {
      kind: "import",
      target,
      value: -1,
      unpack: [],
      path: fullPath,
      stmt: where.stmt,
      top: where.top,
    });
  }

  #visitCall(i: number): void {
    const tree = this.tree;
    const callee = tree.first[i];
    if (callee < 0) return;
    if (tree.kind[callee] === K.identifier) {
      const name = this.name(callee);
      const list = this.callsByName.get(name);
      if (list) list.push(i);
      else this.callsByName.set(name, [i]);
      if (name === "setattr") this.setattrCalls.push(i);
    } else if (tree.kind[callee] === K.attribute) {
      const name = this.attrName(callee);
      const list = this.callsByAttr.get(name);
      if (list) list.push(i);
      else this.callsByAttr.set(name, [i]);
    }
  }
}
