/**
 * The compact syntax tree the scanner analyses: tree-sitter's visible nodes copied once into typed arrays
 * (kind, parent, first child, next sibling, start, end), so the analysis runs in plain JavaScript without
 * crossing into WASM per node, and deep trees are walked with loops instead of recursion.
 *
 * @module
 */

/** Named node types of tree-sitter-python the scanner tells apart. */
const NAMED = [
  "module",
  "identifier",
  "import_statement",
  "import_from_statement",
  "future_import_statement",
  "aliased_import",
  "dotted_name",
  "relative_import",
  "import_prefix",
  "wildcard_import",
  "print_statement",
  "exec_statement",
  "chevron",
  "expression_statement",
  "assignment",
  "augmented_assignment",
  "named_expression",
  "return_statement",
  "delete_statement",
  "raise_statement",
  "global_statement",
  "nonlocal_statement",
  "for_statement",
  "try_statement",
  "except_clause",
  "with_statement",
  "with_clause",
  "with_item",
  "as_pattern",
  "as_pattern_target",
  "function_definition",
  "parameters",
  "lambda_parameters",
  "lambda",
  "default_parameter",
  "typed_parameter",
  "typed_default_parameter",
  "list_splat_pattern",
  "dictionary_splat_pattern",
  "class_definition",
  "decorated_definition",
  "decorator",
  "block",
  "argument_list",
  "keyword_argument",
  "list_splat",
  "dictionary_splat",
  "parenthesized_list_splat",
  "call",
  "attribute",
  "subscript",
  "slice",
  "string",
  "concatenated_string",
  "string_start",
  "string_content",
  "string_end",
  "escape_sequence",
  "escape_interpolation",
  "interpolation",
  "format_specifier",
  "format_expression",
  "type_conversion",
  "integer",
  "float",
  "true",
  "false",
  "none",
  "list",
  "tuple",
  "set",
  "dictionary",
  "pair",
  "list_comprehension",
  "set_comprehension",
  "dictionary_comprehension",
  "generator_expression",
  "for_in_clause",
  "if_clause",
  "parenthesized_expression",
  "conditional_expression",
  "binary_operator",
  "unary_operator",
  "not_operator",
  "boolean_operator",
  "comparison_operator",
  "expression_list",
  "pattern_list",
  "tuple_pattern",
  "list_pattern",
  "type",
  "comment",
  "line_continuation",
  "await",
  "yield",
  "match_statement",
  "case_clause",
  "case_pattern",
  "splat_pattern",
  "keyword_pattern",
  "class_pattern",
  "dict_pattern",
  "generic_type",
  "type_parameter",
  "type_alias_statement",
  "ellipsis",
  "union_pattern",
  "break_statement",
  "continue_statement",
  "while_statement",
  "finally_clause",
  "else_clause",
  "if_statement",
  "pass_statement",
  "except_group_clause",
] as const;

/** Anonymous tokens (punctuation and keywords) the scanner tells apart. */
const TOKENS = [
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "=",
  ":",
  ",",
  ".",
  ";",
  "as",
  "in",
  "import",
  "from",
  "*",
  "**",
  "+",
  "-",
  "%",
  "//",
  "/",
  "@",
  "<<",
  ">>",
  "&",
  "|",
  "^",
  "~",
  "<>",
  "not",
  "and",
  "or",
  "if",
  "else",
  "for",
  "async",
  "lambda",
  "->",
  ":=",
  "+=",
  "-=",
  "*=",
  "%=",
  "except",
  "print",
  "exec",
  "global",
  "nonlocal",
  "del",
] as const;

export type NamedKind = typeof NAMED[number];
export type TokenKind = typeof TOKENS[number];

/** Kind numbers: 0 another token, 1 ERROR, 2 another named node, then the named kinds, then the tokens. */
export const K_TOKEN = 0;
export const K_ERROR = 1;
export const K_NAMED = 2;
const FIRST_NAMED = 3;
const FIRST_TOKEN = FIRST_NAMED + NAMED.length;
export const K = Object.fromEntries(NAMED.map((n, i) => [n, i + FIRST_NAMED])) as Record<NamedKind, number>;
export const TK = Object.fromEntries(TOKENS.map((t, i) => [t, i + FIRST_TOKEN])) as Record<TokenKind, number>;
const KIND_NAMES: string[] = ["token", "ERROR", "named", ...NAMED, ...TOKENS.map((t) => JSON.stringify(t))];

/** Whether a kind is a named node (ERROR included), as opposed to punctuation and keywords. */
export function isNamedKind(kind: number): boolean {
  return kind >= K_ERROR && kind < FIRST_TOKEN;
}

/** The kind of each grammar symbol, from the language's type names (named and anonymous differ). */
export function kindTable(
  types: readonly (string | null | undefined)[],
  isNamed: (id: number) => boolean,
): Uint8Array {
  const table = new Uint8Array(types.length);
  const named = new Map<string, number>(Object.entries(K));
  const tokens = new Map<string, number>(Object.entries(TK));
  for (let id = 0; id < types.length; id++) {
    const name = types[id];
    if (!name) continue;
    table[id] = isNamed(id) ? named.get(name) ?? K_NAMED : tokens.get(name) ?? K_TOKEN;
  }
  return table;
}

export interface TreeError {
  start: number;
  end: number;
  missing: boolean;
  /** For a MISSING node, what was expected. */
  expected?: string;
}

/** A SyntaxTree's arrays without its source text (what parse workers post, lib/scan/prepare.ts). */
export interface TreeData {
  count: number;
  kind: Uint8Array;
  parent: Int32Array;
  first: Int32Array;
  next: Int32Array;
  start: Int32Array;
  end: Int32Array;
  maxDepth: number;
  errors: TreeError[];
}

/** Node arrays in pre-order: node 0 is the module; children follow their parent. */
export class SyntaxTree implements TreeData {
  readonly source: string;
  readonly count: number;
  readonly kind: Uint8Array;
  readonly parent: Int32Array;
  readonly first: Int32Array;
  readonly next: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly maxDepth: number;
  readonly errors: TreeError[];

  constructor(init: TreeData & { source: string }) {
    this.source = init.source;
    this.count = init.count;
    this.kind = init.kind;
    this.parent = init.parent;
    this.first = init.first;
    this.next = init.next;
    this.start = init.start;
    this.end = init.end;
    this.maxDepth = init.maxDepth;
    this.errors = init.errors;
  }

  /** The node's source text. */
  text(i: number): string {
    return this.source.slice(this.start[i], this.end[i]);
  }

  /** Child node ids (all of them, named and anonymous). */
  children(i: number): number[] {
    const out: number[] = [];
    for (let c = this.first[i]; c >= 0; c = this.next[c]) out.push(c);
    return out;
  }

  /** Named children, skipping comments and line continuations. */
  named(i: number): number[] {
    const out: number[] = [];
    for (let c = this.first[i]; c >= 0; c = this.next[c]) {
      const k = this.kind[c];
      if (isNamedKind(k) && k !== K.comment && k !== K.line_continuation) out.push(c);
    }
    return out;
  }

  /** The first child of this kind, or -1. */
  child(i: number, kind: number): number {
    for (let c = this.first[i]; c >= 0; c = this.next[c]) if (this.kind[c] === kind) return c;
    return -1;
  }

  /** Whether a child of this kind exists. */
  has(i: number, kind: number): boolean {
    return this.child(i, kind) >= 0;
  }

  kindName(i: number): string {
    return KIND_NAMES[this.kind[i]] ?? "other";
  }
}
