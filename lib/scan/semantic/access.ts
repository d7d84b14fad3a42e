/**
 * Evaluation of attributes and subscripts: `obj.name`, `obj[key]`, slices, namespace lookups (`vars(os)[…]`,
 * `globals()[…]`, `sys.modules[…]`) and getattr with folded names. Part of the evaluator (evaluate.ts).
 *
 * @module
 */
import type { Evaluator } from "./evaluate.ts";
import { pySlice } from "./fold.ts";
import { canonicalPath, isStdlibModule, MODULE_LIKE_ATTRIBUTES } from "./python_names.ts";
import {
  CONST,
  isConst,
  mapValue,
  members,
  num,
  path,
  str,
  strings,
  union,
  UNKNOWN,
  type Value,
} from "./values.ts";
import { FORBIDDEN_PATHS } from "../rules/registry.ts";
import { K, TK } from "../tree.ts";

/** `obj.name` without a node (pattern captures): no hooks run. */
export function evalAttributeOf(ev: Evaluator, obj: Value, name: string): Value {
  return mapValue(obj, (m) => attributeOne(ev, m, name));
}

/** `obj[key]` for a key node, without a lookup node (mapping pattern captures). */
export function itemOf(ev: Evaluator, obj: Value, keyNode: number): Value {
  return item(ev, obj, ev.eval(keyNode), keyNode);
}

export function evalAttribute(ev: Evaluator, i: number): Value {
  const objectNode = ev.model.firstNamed(i);
  const nameNode = ev.model.attrNameNode(i);
  if (objectNode < 0 || nameNode < 0 || nameNode === objectNode) return UNKNOWN;
  const name = ev.model.name(nameNode);
  const obj = ev.eval(objectNode);
  const v = attribute(ev, obj, name, i);
  ev.hooks.produced(i, v, [obj]);
  return v;
}

/** `obj.name` for every member of obj; forbidden attribute names are reported at `node`. */
export function attribute(ev: Evaluator, obj: Value, name: string, node: number): Value {
  ev.hooks.attribute(node, obj, name);
  return mapValue(obj, (m) => attributeOne(ev, m, name));
}

export function attributeOne(ev: Evaluator, m: Value, name: string): Value {
  if (name === "__builtins__") return path("builtins");
  if (name === "__globals__" || name === "f_globals" || name === "f_locals" || name === "func_globals") {
    return { t: "globals" };
  }
  switch (m.t) {
    case "path": {
      if (name === "__dict__") return { t: "nsdict", path: m.path };
      if (name === "__self__" && m.path.startsWith("builtins.")) return path("builtins");
      // The standard library's modules: what each attribute is comes from the real Python
      // (stdlib_data.ts). Other modules re-export their imports too: `anything.os` is taken to be os.
      const full = `${m.path}.${name}`;
      if (isStdlibModule(m.path)) return path(canonicalPath(full));
      const moduleLike = MODULE_LIKE_ATTRIBUTES.get(name);
      if (moduleLike && !FORBIDDEN_PATHS.has(full)) return path(moduleLike);
      return path(canonicalPath(full));
    }
    case "class":
      return classAttribute(ev, m.node, name) ?? UNKNOWN;
    case "instance": {
      if (m.of.t === "class") return classAttribute(ev, m.of.node, name) ?? _anyAttribute(ev, name);
      if (m.of.t === "path") {
        // A method of the class (cProfile.Profile().runctx is cProfile.Profile.runctx), or what the
        // plugin stored on the object.
        return union([path(canonicalPath(`${m.of.path}.${name}`)), _anyAttribute(ev, name)]);
      }
      return _anyAttribute(ev, name);
    }
    case "str":
    case "seq":
    case "dict":
    case "nsdict":
    case "globals":
    case "const":
      return { t: "bound", self: m, name };
    default:
      return _anyAttribute(ev, name);
  }
}

/** An attribute of an object the scanner does not know: a module its name stands for, or what was stored. */
function _anyAttribute(ev: Evaluator, name: string): Value {
  const moduleLike = MODULE_LIKE_ATTRIBUTES.get(name);
  if (moduleLike) return path(moduleLike);
  return ev.fieldValue(name) ?? UNKNOWN;
}

/** The base classes of a class defined in the file (positional arguments of its definition), evaluated. */
export function classBases(ev: Evaluator, classNode: number): Value[] {
  const args = ev.model.tree.child(classNode, K.argument_list);
  if (args < 0) return [];
  const out: Value[] = [];
  for (const a of ev.model.tree.named(args)) {
    const k = ev.model.tree.kind[a];
    if (k === K.keyword_argument || k === K.dictionary_splat) continue;
    out.push(k === K.list_splat ? UNKNOWN : ev.eval(a));
  }
  return out;
}

/**
 * A class attribute through the class's bases as Python looks it up (the class body, then each base in
 * order): a base defined in the file is searched the same way, an imported base gives `base.name`.
 * Undefined when neither the class nor its bases in the file define it and no base is imported. Each class
 * is searched once per lookup (bases may name each other through unions of values).
 */
export function classAttribute(
  ev: Evaluator,
  classNode: number,
  name: string,
  seen: Set<number> = new Set(),
): Value | undefined {
  const key = `${classNode}:${name}`;
  const top = seen.size === 0;
  if (top && ev.classAttributeMemo.has(key)) return ev.classAttributeMemo.get(key) ?? undefined;
  seen.add(classNode);
  const scope = ev.model.scopeFor.get(classNode);
  const bound = scope === undefined ? undefined : ev.model.scopes[scope].bindings.get(name);
  let result: Value | undefined;
  if (bound) result = union([ev.bindingsValue(bound), UNKNOWN]);
  else {
    const out: Value[] = [];
    for (const base of classBases(ev, classNode)) {
      for (const b of members(base)) {
        if (b.t === "class") {
          if (seen.has(b.node)) continue;
          const v = classAttribute(ev, b.node, name, seen);
          if (v !== undefined) out.push(v);
        } else if (b.t === "path") {
          if (b.path !== "builtins.object") out.push(path(canonicalPath(`${b.path}.${name}`)));
        } else out.push(UNKNOWN);
      }
    }
    result = out.length ? union(out) : undefined;
  }
  if (top && !ev.overrides) ev.classAttributeMemo.set(key, result ?? null);
  return result;
}

/** Whether a class of the file (or one of its bases in the file) defines `name` in its body. */
export function definesAttribute(
  ev: Evaluator,
  classNode: number,
  name: string,
  seen: Set<number> = new Set(),
): boolean {
  seen.add(classNode);
  const scope = ev.model.scopeFor.get(classNode);
  if (scope !== undefined && ev.model.scopes[scope].bindings.has(name)) return true;
  return classBases(ev, classNode).some((base) =>
    members(base).some((b) =>
      b.t === "class" && !seen.has(b.node) && definesAttribute(ev, b.node, name, seen)
    )
  );
}

export function evalSubscript(ev: Evaluator, i: number): Value {
  const tree = ev.model.tree;
  const named = tree.named(i);
  const objectNode = named[0];
  const obj = ev.eval(objectNode);
  const indexNodes = named.slice(1);
  if (indexNodes.length !== 1) {
    for (const n of indexNodes) ev.eval(n);
    return UNKNOWN;
  }
  const indexNode = indexNodes[0];
  let v: Value;
  if (tree.kind[indexNode] === K.slice) v = slice(ev, obj, indexNode);
  else {
    const key = ev.eval(indexNode);
    v = item(ev, obj, key, i);
  }
  ev.hooks.produced(i, v, [obj]);
  return v;
}

export function slice(ev: Evaluator, obj: Value, sliceNode: number): Value {
  const tree = ev.model.tree;
  const parts: (number | undefined)[] = [undefined, undefined, undefined];
  let slot = 0;
  for (let c = tree.first[sliceNode]; c >= 0; c = tree.next[c]) {
    if (tree.kind[c] === TK[":"]) {
      slot++;
      continue;
    }
    const v = ev.eval(c);
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
export function item(ev: Evaluator, obj: Value, key: Value, node: number): Value {
  const keys = strings(key);
  return mapValue(obj, (m) => {
    switch (m.t) {
      case "nsdict":
        if (!keys) {
          ev.hooks.computedKey(node, m);
          return UNKNOWN;
        }
        return union(
          keys.map((
            k,
          ) => (k === "__builtins__" ? path("builtins") : path(canonicalPath(`${m.path}.${k}`)))),
        );
      case "globals":
        if (!keys) {
          ev.hooks.computedKey(node, m);
          return UNKNOWN;
        }
        return union(keys.map((k) => globalsItem(ev, k, node)));
      case "path": {
        if (m.path === "sys.modules") {
          if (!keys) {
            ev.hooks.computedKey(node, m);
            return UNKNOWN;
          }
          return union(keys.map((k) => path(canonicalPath(k))));
        }
        if (m.path === "builtins") {
          if (!keys) {
            ev.hooks.computedKey(node, m);
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
        return itemStoreValue(ev, keys);
    }
  });
}

/** Values stored with `x[key] = value` (for dictionaries the scanner cannot see whole). */
export function itemStoreValue(ev: Evaluator, keys: string[] | undefined): Value {
  if (!keys || ev.model.itemStores.length === 0) return UNKNOWN;
  const out: Value[] = [UNKNOWN];
  for (const { target, store } of ev.model.itemStores) {
    const named = ev.model.tree.named(target);
    if (named.length !== 2) continue;
    const k = strings(ev.eval(named[1]));
    if (k && k.some((x) => keys.includes(x)) && store.value >= 0) {
      out.push(ev.unpack(ev.eval(store.value), store.unpack));
    }
  }
  return union(out);
}

export function globalsItem(ev: Evaluator, key: string, node: number): Value {
  ev.hooks.globalsItem(node, key);
  if (key === "__builtins__") return path("builtins");
  const bound = ev.model.scopes[0].bindings.get(key);
  const values: Value[] = [UNKNOWN];
  if (bound) values.push(ev.bindingsValue(bound));
  return union(values);
}

/** getattr(obj, name) with folded names; computed names on dangerous namespaces are findings. */
export function getattr(ev: Evaluator, obj: Value, name: Value, node: number): Value {
  ev.hooks.getattr(node, obj, name);
  const out: Value[] = [];
  if (members(name).some((m) => m.t !== "str")) out.push(UNKNOWN);
  for (const m of members(name)) if (m.t === "str") out.push(attribute(ev, obj, m.s, node));
  return union(out);
}
