/**
 * What CPython's compiler refuses after the parser has accepted: the errors `compile()` raises from its
 * symbol table and code generator (`ast.parse` accepts these files). The scan fails closed on each, as a
 * `source-compile` finding, so a file the platform's Python cannot compile never passes. Covered, as in
 * CPython 3.11: `return`/`yield`/`await`/`async for`/`async with` outside their functions, `yield` in a
 * comprehension, `yield from` and `return value` in async functions and generators, asynchronous
 * comprehensions outside async functions, `break`/`continue` outside a loop and in `except*`, duplicate
 * parameters, repeated keyword arguments, `global`/`nonlocal` misuse (module level, parameters, use or
 * assignment before the declaration, annotated names, no binding), assignment to `__debug__`, `import *`
 * outside the module level, misplaced or unknown `__future__` imports, a bare `except:` that is not last,
 * starred assignment targets, assignment expressions in comprehensions, match patterns that bind a name
 * twice, bind different names in alternatives, make later cases unreachable or repeat a key or keyword,
 * and more than 20 statically nested blocks. tests/scan/cpython_test.ts compares every case with CPython.
 *
 * @module
 */
import type { RawFinding } from "./checker.ts";
import type { SemanticModel } from "../semantic/model.ts";
import { isNamedKind, K, TK } from "../tree.ts";

/** CPython's CO_MAXBLOCKS. */
const MAX_BLOCKS = 20;

const FUTURE_FEATURES = new Set([
  "nested_scopes",
  "generators",
  "division",
  "absolute_import",
  "with_statement",
  "print_function",
  "unicode_literals",
  "barry_as_FLUFL",
  "generator_stop",
  "annotations",
]);

const COMPREHENSION_NAMES: Record<number, string> = {
  [K.list_comprehension]: "list comprehension",
  [K.set_comprehension]: "set comprehension",
  [K.dictionary_comprehension]: "dict comprehension",
  [K.generator_expression]: "generator expression",
};

class _Compiler {
  readonly m: SemanticModel;
  readonly out: RawFinding[] = [];

  constructor(model: SemanticModel) {
    this.m = model;
  }

  #error(node: number, message: string): void {
    const t = this.m.tree;
    this.out.push({ start: t.start[node], end: t.end[node], rule: "source-compile", name: message });
  }

  #hasToken(node: number, token: number): boolean {
    const t = this.m.tree;
    for (let c = t.first[node]; c >= 0; c = t.next[c]) if (t.kind[c] === token) return true;
    return false;
  }

  /** The innermost scope that is not a comprehension (the code unit CPython compiles the node in). */
  #unitScope(s: number): number {
    let id = s;
    while (this.m.scopes[id].kind === "comprehension") id = this.m.scopes[id].parent;
    return id;
  }

  #isAsyncFunction(scope: number): boolean {
    const sc = this.m.scopes[scope];
    return sc.kind === "function" && this.#hasToken(sc.node, TK.async);
  }

  run(): RawFinding[] {
    const { kind, count } = this.m.tree;
    for (let i = 1; i < count; i++) {
      switch (kind[i]) {
        case K.return_statement:
          this.#return(i);
          break;
        case K.for_statement:
        case K.with_statement:
          if (this.#hasToken(i, TK.async)) this.#asyncStatement(i);
          break;
        case K.for_in_clause:
          if (this.#hasToken(i, TK.async)) this.#asyncComprehension(this.m.tree.parent[i]);
          break;
        case K.break_statement:
        case K.continue_statement:
          this.#loopControl(i);
          break;
        case K.function_definition:
        case K.lambda:
          this.#parameters(i);
          break;
        case K.argument_list:
          this.#keywords(i);
          break;
        case K.identifier:
          if (this.m.name(i) === "__debug__") this.#debug(i);
          break;
        case K.try_statement:
          this.#bareExcept(i);
          break;
        case K.block:
          this.#nesting(i);
          break;
        case K.yield:
        case K.await:
        case K.global_statement:
        case K.nonlocal_statement:
        case K.wildcard_import:
        case K.future_import_statement:
        case K.named_expression:
        case K.list_splat:
        case K.match_statement:
          this.#rareNode(i);
          break;
      }
      const k = kind[i];
      if (k === K.assignment || k === K.for_statement || k === K.as_pattern_target || k === K.for_in_clause) {
        this.#starredTargets(i);
      }
    }
    return this.out;
  }

  /** The statements few files have, apart from run's loop (why: Checker's #rareNode in checks/checker.ts). */
  #rareNode(i: number): void {
    switch (this.m.tree.kind[i]) {
      case K.yield:
        this.#yield(i);
        break;
      case K.await:
        this.#await(i);
        break;
      case K.global_statement:
      case K.nonlocal_statement:
        this.#declaration(i);
        break;
      case K.wildcard_import:
        if (this.m.scopes[this.m.scopeOf[i]].kind !== "module") {
          this.#error(i, "import * only allowed at module level");
        }
        break;
      case K.future_import_statement:
        this.#future(i);
        break;
      case K.named_expression:
        this.#walrus(i);
        break;
      case K.list_splat:
        this.#starredExpression(i);
        break;
      case K.match_statement:
        this.#match(i);
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Functions: return, yield, await, async

  #return(i: number): void {
    const scope = this.m.scopeOf[i];
    const sc = this.m.scopes[scope];
    if (sc.kind !== "function") {
      this.#error(i, "'return' outside function");
      return;
    }
    if (this.#inExceptStar(i)) {
      this.#error(i, "'break', 'continue' and 'return' cannot appear in an except* block");
    }
    const info = this.m.funcs.get(sc.node);
    if (info?.generator && this.#isAsyncFunction(scope) && this.m.firstNamed(i) >= 0) {
      this.#error(i, "'return' with value in async generator");
    }
  }

  #yield(i: number): void {
    const scope = this.m.scopeOf[i];
    const sc = this.m.scopes[scope];
    if (sc.kind === "comprehension") {
      this.#error(i, `'yield' inside ${COMPREHENSION_NAMES[this.m.tree.kind[sc.node]] ?? "comprehension"}`);
    } else if (sc.kind === "module" || sc.kind === "class") {
      this.#error(i, "'yield' outside function");
    } else if (this.#hasToken(i, TK.from) && this.#isAsyncFunction(scope)) {
      this.#error(i, "'yield from' inside async function");
    }
  }

  #await(i: number): void {
    const scope = this.m.scopeOf[i];
    const sc = this.m.scopes[scope];
    if (sc.kind === "comprehension") {
      // `await` in a comprehension makes it asynchronous (a generator expression may be, anywhere).
      this.#asyncComprehension(sc.node);
      return;
    }
    if (sc.kind === "module" || sc.kind === "class") this.#error(i, "'await' outside function");
    else if (!this.#isAsyncFunction(scope)) this.#error(i, "'await' outside async function");
  }

  #asyncStatement(i: number): void {
    const scope = this.#unitScope(this.m.scopeOf[i]);
    if (!this.#isAsyncFunction(scope)) {
      const what = this.m.tree.kind[i] === K.for_statement ? "'async for'" : "'async with'";
      this.#error(i, `${what} outside async function`);
    }
  }

  /** An asynchronous list, set or dict comprehension needs an async function around it. */
  #asyncComprehension(comp: number): void {
    if (this.m.tree.kind[comp] === K.generator_expression) return;
    const scope = this.m.scopeFor.get(comp);
    if (scope === undefined) return;
    let outer = this.m.scopes[scope].parent;
    // Inside another comprehension: asynchronous only if that one may be (checked on its own).
    while (this.m.scopes[outer].kind === "comprehension") {
      if (this.m.tree.kind[this.m.scopes[outer].node] === K.generator_expression) return;
      outer = this.m.scopes[outer].parent;
    }
    if (!this.#isAsyncFunction(outer)) {
      this.#error(comp, "asynchronous comprehension outside of an asynchronous function");
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Loops

  /** Whether the node is in the body of an `except*` clause of its own code unit. */
  #inExceptStar(i: number): boolean {
    const t = this.m.tree;
    for (let c = i, p = t.parent[i]; p > 0; c = p, p = t.parent[p]) {
      const k = t.kind[p];
      if (k === K.function_definition || k === K.class_definition || k === K.lambda) return false;
      if ((k === K.for_statement || k === K.while_statement) && t.kind[c] === K.block) return false;
      if (k === K.except_clause && t.kind[c] === K.block && this.#hasToken(p, TK["*"])) return true;
    }
    return false;
  }

  #loopControl(i: number): void {
    const t = this.m.tree;
    const word = t.kind[i] === K.break_statement ? "break" : "continue";
    for (let c = i, p = t.parent[i]; p >= 0; c = p, p = t.parent[p]) {
      const k = t.kind[p];
      if ((k === K.for_statement || k === K.while_statement) && t.kind[c] === K.block) return;
      if (k === K.except_clause && t.kind[c] === K.block && this.#hasToken(p, TK["*"])) {
        this.#error(i, "'break', 'continue' and 'return' cannot appear in an except* block");
        return;
      }
      if (k === K.function_definition || k === K.class_definition || k === K.lambda || p === 0) break;
    }
    this.#error(i, word === "break" ? "'break' outside loop" : "'continue' not properly in loop");
  }

  /** More than 20 statically nested blocks (loops, try, with) in one code unit. */
  #nesting(block: number): void {
    const t = this.m.tree;
    const owner = t.parent[block];
    if (!_blockKind(t.kind[owner])) return;
    let depth = 0;
    for (let p = block; p > 0; p = t.parent[p]) {
      const k = t.kind[p];
      if (k === K.function_definition || k === K.class_definition) break;
      if (k === K.block) {
        const o = t.parent[p];
        const ok = t.kind[o];
        if (ok === K.for_statement || ok === K.while_statement || ok === K.try_statement) depth++;
        else if (ok === K.with_statement) depth += Math.max(1, this.#withItems(o));
        else if (ok === K.except_clause || ok === K.finally_clause) depth += 2;
      }
    }
    if (depth > MAX_BLOCKS && !this.#nestingReported) {
      this.#nestingReported = true;
      this.#error(owner, "too many statically nested blocks");
    }
  }
  #nestingReported = false;

  #withItems(w: number): number {
    const t = this.m.tree;
    const clause = t.child(w, K.with_clause);
    if (clause < 0) return 1;
    let n = 0;
    for (let c = t.first[clause]; c >= 0; c = t.next[c]) if (t.kind[c] === K.with_item) n++;
    return n;
  }

  // ---------------------------------------------------------------------------------------------------
  // Names: parameters, keywords, declarations, __debug__, imports

  #parameters(f: number): void {
    const info = this.m.funcs.get(f);
    if (!info) return;
    const seen = new Set<string>();
    for (const p of info.params) {
      if (seen.has(p.name)) this.#error(p.node, `duplicate argument '${p.name}' in function definition`);
      seen.add(p.name);
    }
  }

  #keywords(args: number): void {
    const t = this.m.tree;
    const seen = new Set<string>();
    for (const a of t.named(args)) {
      if (t.kind[a] !== K.keyword_argument) continue;
      const name = this.m.firstNamed(a);
      if (name < 0 || t.kind[name] !== K.identifier) continue;
      const n = this.m.name(name);
      if (seen.has(n)) this.#error(a, `keyword argument repeated: ${n}`);
      seen.add(n);
    }
  }

  #declaration(i: number): void {
    const t = this.m.tree;
    const m = this.m;
    const global = t.kind[i] === K.global_statement;
    const word = global ? "global" : "nonlocal";
    const s = m.scopeOf[i];
    const sc = m.scopes[s];
    if (!global && sc.kind === "module") {
      this.#error(i, "nonlocal declaration not allowed at module level");
      return;
    }
    const info = sc.kind === "function" || sc.kind === "lambda" ? m.funcs.get(sc.node) : undefined;
    for (const c of t.named(i)) {
      if (t.kind[c] !== K.identifier) continue;
      const name = m.name(c);
      if (info?.params.some((p) => p.name === name)) {
        this.#error(c, `name '${name}' is parameter and ${word}`);
        continue;
      }
      if (sc.globals.has(name) && sc.nonlocals.has(name)) {
        this.#error(c, `name '${name}' is nonlocal and global`);
        continue;
      }
      const before = this.#useBefore(s, name, t.start[i]);
      if (before === "annotated" || this.#annotated(s, name)) {
        this.#error(c, `annotated name '${name}' can't be ${word}`);
        continue;
      }
      if (before === "store") this.#error(c, `name '${name}' is assigned to before ${word} declaration`);
      else if (before === "load") this.#error(c, `name '${name}' is used prior to ${word} declaration`);
      else if (!global && !this.#enclosingBinding(s, name)) {
        this.#error(c, `no binding for nonlocal '${name}' found`);
      }
    }
  }

  /** How `name` is used in scope `s` before offset `at`: an annotation, a store, a load, or not at all. */
  #useBefore(s: number, name: string, at: number): "annotated" | "store" | "load" | undefined {
    const t = this.m.tree;
    let found: "store" | "load" | undefined;
    for (let n = 1; n < t.count && t.start[n] < at; n++) {
      if (t.kind[n] !== K.identifier || this.m.scopeOf[n] !== s || this.m.name(n) !== name) continue;
      if (this.#inParameters(n)) continue;
      const role = this.m.role[n];
      const pk = t.kind[t.parent[n]];
      if (role === 2 && (pk === K.function_definition || pk === K.class_definition)) found = "store";
      else if (role === 1) {
        const p = t.parent[n];
        if (t.kind[p] === K.assignment && this.m.firstNamed(p) === n && t.child(p, K.type) >= 0) {
          return "annotated";
        }
        found = "store";
      } else if (role === 0 && found === undefined) found = "load";
    }
    return found;
  }

  #annotated(s: number, name: string): boolean {
    const t = this.m.tree;
    for (const b of this.m.scopes[s].bindings.get(name) ?? []) {
      const p = t.parent[b.target];
      if (t.kind[p] === K.assignment && this.m.firstNamed(p) === b.target && t.child(p, K.type) >= 0) {
        return true;
      }
    }
    // Redirected by the declaration: look for annotated assignments made in `s` itself.
    for (let n = 1; n < t.count; n++) {
      if (t.kind[n] !== K.assignment || this.m.scopeOf[n] !== s || t.child(n, K.type) < 0) continue;
      const left = this.m.firstNamed(n);
      if (left >= 0 && t.kind[left] === K.identifier && this.m.name(left) === name) return true;
    }
    return false;
  }

  #inParameters(n: number): boolean {
    const t = this.m.tree;
    for (let p = t.parent[n]; p > 0; p = t.parent[p]) {
      const k = t.kind[p];
      if (k === K.parameters || k === K.lambda_parameters) return true;
      if (k === K.block || k === K.module || k === K.expression_statement) return false;
    }
    return false;
  }

  /** Whether a function around scope `s` binds `name` itself (what `nonlocal name` needs). */
  #enclosingBinding(s: number, name: string): boolean {
    const m = this.m;
    for (let p = m.scopes[s].parent; p > 0; p = m.scopes[p].parent) {
      const sc = m.scopes[p];
      // A class body gives the functions inside it an implicit `__class__` cell (what super() uses).
      if (sc.kind === "class" && name === "__class__") return true;
      if (sc.kind !== "function" && sc.kind !== "lambda") continue;
      if (sc.globals.has(name)) return false;
      if (sc.nonlocals.has(name)) return true; // bound further out (checked at that declaration)
      if (sc.deleted.has(name)) return true; // `del name` makes it local there
      for (const b of sc.bindings.get(name) ?? []) {
        if (b.kind === "param" ? b.func === sc.node : this.#unitScope(m.scopeOf[b.target]) === p) return true;
      }
    }
    return false;
  }

  #debug(i: number): void {
    const t = this.m.tree;
    const p = t.parent[i];
    const pk = t.kind[p];
    if (pk === K.delete_statement || this.#deleted(i)) {
      this.#error(i, "cannot delete __debug__");
      return;
    }
    const role = this.m.role[i];
    if (role === 1) {
      this.#error(i, "cannot assign to __debug__");
      return;
    }
    if (role !== 2) return;
    // Names that bind: def/class names, keyword arguments, imports `as`, attribute stores.
    if (pk === K.function_definition || pk === K.class_definition || pk === K.keyword_argument) {
      if (pk !== K.keyword_argument || this.m.firstNamed(p) === i) {
        this.#error(i, "cannot assign to __debug__");
      }
    } else if (pk === K.attribute && this.m.attrNameNode(p) === i && _isStoreTarget(this.m, p)) {
      this.#error(i, "cannot assign to __debug__");
    } else if (pk === K.aliased_import && this.m.after(p, TK.as) === i) {
      this.#error(i, "cannot assign to __debug__");
    }
  }

  #deleted(i: number): boolean {
    const t = this.m.tree;
    for (let p = t.parent[i]; p > 0; p = t.parent[p]) {
      const k = t.kind[p];
      if (k === K.delete_statement) return true;
      if (k !== K.expression_list && k !== K.tuple && k !== K.list && k !== K.parenthesized_expression) {
        return false;
      }
    }
    return false;
  }

  #future(i: number): void {
    const t = this.m.tree;
    // Only a docstring, comments and other __future__ imports may come first.
    let first = true;
    for (let c = t.first[0]; c >= 0 && c !== i; c = t.next[c]) {
      const k = t.kind[c];
      if (k === K.comment || k === K.future_import_statement) continue;
      if (first && k === K.expression_statement && t.kind[this.m.firstNamed(c)] === K.string) {
        first = false;
        continue;
      }
      this.#error(i, "from __future__ imports must occur at the beginning of the file");
      return;
    }
    if (t.parent[i] !== 0) {
      this.#error(i, "from __future__ imports must occur at the beginning of the file");
      return;
    }
    for (const c of t.named(i)) {
      const name = t.kind[c] === K.dotted_name
        ? this.m.dottedText(c)
        : t.kind[c] === K.aliased_import
        ? this.m.dottedText(t.child(c, K.dotted_name))
        : undefined;
      if (name === undefined) continue;
      if (name === "braces") this.#error(c, "not a chance");
      else if (!FUTURE_FEATURES.has(name)) this.#error(c, `future feature ${name} is not defined`);
    }
  }

  #bareExcept(i: number): void {
    const t = this.m.tree;
    const clauses = t.named(i).filter((c) => t.kind[c] === K.except_clause);
    clauses.forEach((c, index) => {
      const bare = !t.named(c).some((x) => t.kind[x] !== K.block);
      if (bare && index < clauses.length - 1) this.#error(c, "default 'except:' must be last");
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Starred expressions and assignment expressions

  #starredTargets(i: number): void {
    const t = this.m.tree;
    const k = t.kind[i];
    let target = -1;
    if (k === K.assignment) {
      target = this.m.firstNamed(i);
      if (target >= 0 && t.kind[target] === K.list_splat_pattern && this.m.after(i, TK["="]) >= 0) {
        this.#error(target, "starred assignment target must be in a list or tuple");
        return;
      }
    } else if (k === K.for_statement || k === K.for_in_clause) target = this.m.firstNamed(i);
    else if (k === K.as_pattern_target) target = this.m.firstNamed(i);
    if (target < 0) return;
    this.#multipleStars(target);
  }

  #multipleStars(target: number): void {
    const t = this.m.tree;
    const k = t.kind[target];
    if (
      k !== K.pattern_list && k !== K.tuple_pattern && k !== K.list_pattern && k !== K.tuple &&
      k !== K.list &&
      k !== K.expression_list && k !== K.parenthesized_expression
    ) return;
    let stars = 0;
    for (const c of t.named(target)) {
      const ck = t.kind[c];
      if (ck === K.list_splat_pattern || ck === K.list_splat) stars++;
      else this.#multipleStars(c);
    }
    if (stars > 1) this.#error(target, "multiple starred expressions in assignment");
  }

  /** `x = *a`, `return *a`: a starred expression outside a list, tuple, set or call. */
  #starredExpression(i: number): void {
    const t = this.m.tree;
    const p = t.parent[i];
    const pk = t.kind[p];
    if (pk === K.assignment || pk === K.return_statement || pk === K.augmented_assignment) {
      // Assignment targets are patterns (list_splat_pattern); a list_splat here is a value.
      if (!(pk === K.assignment && this.m.firstNamed(p) === i)) {
        this.#error(i, "can't use starred expression here");
      }
    }
  }

  #walrus(i: number): void {
    const m = this.m;
    const t = m.tree;
    const s = m.scopeOf[i];
    if (m.scopes[s].kind !== "comprehension") {
      // The first iterable of a comprehension runs in the enclosing scope, but is still its iterable.
      if (this.#inIterable(i)) {
        this.#error(i, "assignment expression cannot be used in a comprehension iterable expression");
      }
      return;
    }
    if (this.#inIterable(i)) {
      this.#error(i, "assignment expression cannot be used in a comprehension iterable expression");
      return;
    }
    const target = m.firstNamed(i);
    const name = target >= 0 && t.kind[target] === K.identifier ? m.name(target) : "";
    for (let id = s; m.scopes[id].kind === "comprehension"; id = m.scopes[id].parent) {
      const comp = m.scopes[id].node;
      for (const clause of t.named(comp)) {
        if (t.kind[clause] !== K.for_in_clause) continue;
        if (_targetNames(m, m.firstNamed(clause)).includes(name)) {
          this.#error(i, `assignment expression cannot rebind comprehension iteration variable '${name}'`);
          return;
        }
      }
    }
    if (m.scopes[this.#unitScope(s)].kind === "class") {
      this.#error(i, "assignment expression within a comprehension cannot be used in a class body");
    }
  }

  /** Whether the node is inside the iterable (after `in`) of a comprehension's for clause. */
  #inIterable(i: number): boolean {
    const t = this.m.tree;
    for (let c = i, p = t.parent[i]; p > 0; c = p, p = t.parent[p]) {
      const k = t.kind[p];
      if (k === K.for_in_clause && this.m.after(p, TK.in) === c) return true;
      if (COMPREHENSION_NAMES[k] !== undefined || k === K.lambda || k === K.block) return false;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------------
  // match

  #match(i: number): void {
    const t = this.m.tree;
    const block = t.child(i, K.block);
    if (block < 0) return;
    const cases = t.named(block).filter((c) => t.kind[c] === K.case_clause);
    cases.forEach((clause, index) => {
      const pattern = t.child(clause, K.case_pattern);
      if (pattern < 0) return;
      const guarded = t.child(clause, K.if_clause) >= 0;
      this.#patternNames(pattern);
      const last = index === cases.length - 1;
      if (!guarded && !last) {
        const irrefutable = this.#irrefutable(pattern);
        if (irrefutable) this.#error(pattern, irrefutable);
      }
      this.#orIrrefutable(pattern);
    });
  }

  /** Why a pattern always matches ("name capture 'x' …", "wildcard …"), or undefined. */
  #irrefutable(pattern: number): string | undefined {
    const t = this.m.tree;
    let p = pattern;
    for (;;) {
      if (t.kind[p] === K.case_pattern) {
        const named = t.named(p);
        if (named.length === 0) {
          return t.text(p).trim() === "_" ? "wildcard makes remaining patterns unreachable" : undefined;
        }
        if (named.length !== 1) return undefined;
        p = named[0];
        continue;
      }
      if (t.kind[p] === K.tuple_pattern && !this.#hasToken(p, TK[","])) {
        // `(a)` is a group, not a tuple.
        const named = t.named(p);
        if (named.length !== 1) return undefined;
        p = named[0];
        continue;
      }
      if (t.kind[p] === K.as_pattern) {
        p = t.named(p)[0] ?? -1;
        if (p < 0) return undefined;
        continue;
      }
      if (t.kind[p] === K.dotted_name) {
        const ids = t.named(p);
        if (ids.length === 1) {
          return `name capture '${this.m.name(ids[0])}' makes remaining patterns unreachable`;
        }
        return undefined;
      }
      if (t.kind[p] === K.union_pattern) {
        const alts = t.named(p);
        for (const alt of alts) {
          const why = this.#irrefutable(alt);
          if (why) return why;
        }
        return undefined;
      }
      return undefined;
    }
  }

  /** In `a | b`, an irrefutable alternative that is not the last one. */
  #orIrrefutable(pattern: number): void {
    const t = this.m.tree;
    const stack = [pattern];
    while (stack.length) {
      const n = stack.pop()!;
      if (t.kind[n] === K.union_pattern) {
        const alts = t.named(n);
        alts.slice(0, -1).forEach((alt) => {
          const why = this.#irrefutable(alt);
          if (why) this.#error(alt, why);
        });
      }
      for (let c = t.first[n]; c >= 0; c = t.next[c]) if (isNamedKind(t.kind[c])) stack.push(c);
    }
  }

  /** Names a pattern binds; duplicates, alternatives binding different names, repeated keys and keywords. */
  #patternNames(pattern: number): string[] {
    const t = this.m.tree;
    const names: string[] = [];
    const visit = (n: number): void => {
      const k = t.kind[n];
      if (k === K.union_pattern) {
        const sets = t.named(n).map((alt) => this.#patternNames(alt).sort().join(","));
        if (sets.some((s) => s !== sets[0])) this.#error(n, "alternative patterns bind different names");
        const first = t.named(n)[0];
        if (first !== undefined) { for (const x of this.#patternNames(first)) add(x, n); }
        return;
      }
      if (k === K.dotted_name) {
        const ids = t.named(n);
        const parent = t.kind[t.parent[n]];
        if (ids.length === 1 && parent !== K.class_pattern && this.m.name(ids[0]) !== "_") {
          add(this.m.name(ids[0]), n);
        }
        return;
      }
      if (k === K.splat_pattern || k === K.as_pattern) {
        for (const c of t.named(n)) {
          if (t.kind[c] === K.identifier && this.m.name(c) !== "_") add(this.m.name(c), c);
          else visit(c);
        }
        return;
      }
      if (k === K.dict_pattern) this.#duplicateKeys(n);
      if (k === K.class_pattern) this.#duplicateKeywords(n);
      if (k === K.keyword_pattern) {
        const named = t.named(n);
        for (const c of named.slice(1)) visit(c);
        return;
      }
      for (let c = t.first[n]; c >= 0; c = t.next[c]) if (isNamedKind(t.kind[c])) visit(c);
    };
    const add = (name: string, at: number) => {
      if (names.includes(name)) this.#error(at, `multiple assignments to name '${name}' in pattern`);
      else names.push(name);
    };
    visit(pattern);
    return names;
  }

  #duplicateKeys(dict: number): void {
    const t = this.m.tree;
    const seen = new Set<string>();
    let expectKey = true;
    for (let c = t.first[dict]; c >= 0; c = t.next[c]) {
      const k = t.kind[c];
      if (k === TK[":"]) {
        expectKey = false;
        continue;
      }
      if (k === TK[","]) {
        expectKey = true;
        continue;
      }
      if (!expectKey || !isNamedKind(k) || k === K.splat_pattern || k === K.comment) continue;
      // Literal keys only (strings, numbers, None/True/False); value patterns are looked up at run time.
      if (
        k !== K.string && k !== K.integer && k !== K.float && k !== K.true && k !== K.false && k !== K.none
      ) {
        continue;
      }
      const text = t.text(c);
      if (seen.has(text)) this.#error(c, `mapping pattern checks duplicate key (${text})`);
      seen.add(text);
    }
  }

  #duplicateKeywords(cls: number): void {
    const t = this.m.tree;
    const seen = new Set<string>();
    const stack = t.named(cls);
    for (const c of stack) {
      const kw = t.kind[c] === K.case_pattern ? this.m.firstNamed(c) : c;
      if (kw < 0 || t.kind[kw] !== K.keyword_pattern) continue;
      const name = this.m.name(this.m.firstNamed(kw));
      if (seen.has(name)) this.#error(kw, `attribute name repeated in class pattern: ${name}`);
      seen.add(name);
    }
  }
}

function _blockKind(k: number): boolean {
  return k === K.for_statement || k === K.while_statement || k === K.try_statement ||
    k === K.with_statement ||
    k === K.except_clause || k === K.finally_clause;
}

/** Whether an attribute node is assigned to (`x.a = …`, `x.a += …`, a for or with target). */
function _isStoreTarget(m: SemanticModel, attr: number): boolean {
  const t = m.tree;
  let c = attr;
  for (let p = t.parent[attr]; p > 0; c = p, p = t.parent[p]) {
    const k = t.kind[p];
    if (k === K.assignment || k === K.augmented_assignment) return m.firstNamed(p) === c;
    if (k === K.for_statement || k === K.for_in_clause) return m.firstNamed(p) === c;
    if (k === K.as_pattern_target) return true;
    if (
      k !== K.pattern_list && k !== K.tuple && k !== K.list && k !== K.expression_list &&
      k !== K.parenthesized_expression && k !== K.tuple_pattern && k !== K.list_pattern
    ) {
      return false;
    }
  }
  return false;
}

/** The names a for target binds. */
function _targetNames(m: SemanticModel, target: number): string[] {
  const t = m.tree;
  if (target < 0) return [];
  if (t.kind[target] === K.identifier) return [m.name(target)];
  const out: string[] = [];
  for (const c of t.named(target)) out.push(..._targetNames(m, c));
  return out;
}

/** The compiler errors of a file, as `source-compile` findings. */
export function checkCompiler(model: SemanticModel): RawFinding[] {
  return new _Compiler(model).run();
}
