/**
 * What the scanner knows about the value of a Python expression: a folded constant, a dotted import path
 * (`os.system`), a namespace (`vars(os)`, `globals()`), a local function, a container, or a union of those.
 * Unions are capped; when a union is trimmed the members that can lead to a finding are kept.
 *
 * @module
 */

export type Value =
  | { t: "unknown" }
  /** A str (or bytes, as Latin-1 code units) known exactly. */
  | { t: "str"; s: string; bytes: boolean }
  /** An int or bool known exactly. */
  | { t: "num"; n: number; bool?: boolean }
  | { t: "none" }
  /** Computed from literals only, but not folded (a decompressed blob, a float, …). */
  | { t: "const" }
  /** A list / tuple / set; `open` when its length is not known (items then stand for any element). */
  | { t: "seq"; kind: "list" | "tuple" | "set"; items: Value[]; open?: boolean }
  | { t: "dict"; keys: Value[]; values: Value[]; open: boolean }
  /** An object reached by a dotted import path: a module (`os`) or one of its members (`os.system`). */
  | { t: "path"; path: string }
  /** The attribute dictionary of a path (`vars(os)`, `os.__dict__`). */
  | { t: "nsdict"; path: string }
  /** This module's globals() (or locals() / vars() at module level). */
  | { t: "globals" }
  /** A function or lambda defined in the file (node id). */
  | { t: "func"; node: number }
  | { t: "class"; node: number }
  /** An object a call of a class (or of any callable path) made: its attributes are the class's. */
  | { t: "instance"; of: Value }
  /** operator.attrgetter(name) / operator.methodcaller(name). */
  | { t: "getter"; names: Value; call: boolean }
  /** A method of a folded value or namespace: `"".join`, `vars(os).get`. */
  | { t: "bound"; self: Value; name: string }
  | { t: "union"; vs: Value[] };

export const UNKNOWN: Value = { t: "unknown" };
export const CONST: Value = { t: "const" };
export const NONE: Value = { t: "none" };

export function str(s: string, bytes = false): Value {
  return { t: "str", s, bytes };
}

export function num(n: number): Value {
  return { t: "num", n };
}

export function path(p: string): Value {
  return { t: "path", path: p };
}

/** The members of a value (itself when it is not a union). */
export function members(v: Value): Value[] {
  return v.t === "union" ? v.vs : [v];
}

const UNION_CAP = 24;

function _key(v: Value): string | undefined {
  switch (v.t) {
    case "unknown":
    case "none":
    case "const":
    case "globals":
      return v.t;
    case "str":
      return (v.bytes ? "b:" : "s:") + v.s;
    case "num":
      return "n:" + v.n + (v.bool ? "b" : "");
    case "path":
      return "p:" + v.path;
    case "nsdict":
      return "d:" + v.path;
    case "func":
    case "class":
      return v.t + ":" + v.node;
    case "instance": {
      const of = _key(v.of);
      return of === undefined ? undefined : "i:" + of;
    }
    default:
      return undefined;
  }
}

/** Members that can lead to a finding are kept when a union is trimmed. */
function _weight(v: Value): number {
  switch (v.t) {
    case "path":
    case "nsdict":
    case "globals":
    case "func":
    case "getter":
    case "bound":
      return 0;
    case "class":
    case "instance":
    case "seq":
    case "dict":
      return 1;
    case "str":
      return 2;
    default:
      return 3;
  }
}

/** The union of values: flattened, de-duplicated, capped. */
export function union(values: Value[]): Value {
  if (values.length === 0) return UNKNOWN;
  if (values.length === 1) return values[0];
  if (values.length === 2 && values[0].t !== "union" && values[1].t !== "union") {
    const [a, b] = values;
    if (a === b) return a;
    const ka = _key(a);
    if (ka !== undefined && ka === _key(b)) return a;
  }
  const out: Value[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    for (const m of members(v)) {
      const key = _key(m);
      if (key !== undefined) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      out.push(m);
    }
  }
  if (out.length === 0) return UNKNOWN;
  if (out.length === 1) return out[0];
  if (out.length > UNION_CAP) {
    out.sort((a, b) => _weight(a) - _weight(b));
    out.length = UNION_CAP - 1;
    if (!seen.has("unknown")) out.push(UNKNOWN);
  }
  return { t: "union", vs: out };
}

/** Applies f to every member and unions the results. */
export function mapValue(v: Value, f: (m: Value) => Value): Value {
  if (v.t !== "union") return f(v);
  return union(v.vs.map(f));
}

/** Whether the value is computed from literals only (folded or not). */
export function isConst(v: Value): boolean {
  switch (v.t) {
    case "str":
    case "num":
    case "none":
    case "const":
      return true;
    case "seq":
      return v.items.every(isConst);
    case "dict":
      return !v.open && v.keys.every(isConst) && v.values.every(isConst);
    case "union":
      return v.vs.every(isConst);
    default:
      return false;
  }
}

/** The exact strings a value can be (undefined when any member is not a known str). */
export function strings(v: Value): string[] | undefined {
  const out: string[] = [];
  for (const m of members(v)) {
    if (m.t !== "str") return undefined;
    out.push(m.s);
  }
  return out;
}
