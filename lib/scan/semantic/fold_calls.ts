/**
 * Constant folding of calls to builtins and pure helpers (chr, ord, str, repr, format, int, hex, bytes,
 * bytes.fromhex, str.join, list/tuple/sorted/reversed, map, base64 / binascii / codecs) and of str methods,
 * over the values of their arguments. Everything not reproducible exactly becomes an opaque constant.
 *
 * @module
 */
import { getattr } from "./access.ts";
import { apply, join } from "./calls.ts";
import { type Evaluator, MAX_UNROLL, MAX_UNROLLED, scalarOf } from "./evaluate.ts";
import {
  base32Decode,
  base64Decode,
  base64Encode,
  convert,
  decodeBytes,
  encodeString,
  formatSpec,
  hexDecode,
  hexEncode,
  parseIntLiteral,
  pyStr,
  rot13,
  type Scalar,
  strFormat,
} from "./fold.ts";
import type { ArgValue, CallArgs } from "./hooks.ts";
import { CONST, isConst, mapValue, num, path, str, strings, union, UNKNOWN, type Value } from "./values.ts";

function _bytesOr(latin1: string | undefined): Value {
  return latin1 === undefined ? CONST : str(latin1, true);
}

export function builtinCall(
  ev: Evaluator,
  p: string,
  call: number,
  a: CallArgs,
  arg: ArgValue,
): Value | undefined {
  const first = () => arg(0) ?? UNKNOWN;
  switch (p) {
    case "builtins.getattr": {
      if (a.splat) {
        ev.hooks.getattr(call, UNKNOWN, undefined);
        return UNKNOWN;
      }
      const target = arg(0);
      const name = arg(1);
      if (!target || !name) return UNKNOWN;
      const v = getattr(ev, target, name, call);
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
        const s = scalarOf(m);
        const t = s === undefined ? undefined : pyStr(s);
        return t !== undefined ? str(t) : isConst(m) ? CONST : m.t === "seq" ? CONST : UNKNOWN;
      });
    }
    case "builtins.repr":
    case "builtins.ascii":
      return mapValue(first(), (m) => {
        const s = scalarOf(m);
        const t = s === undefined ? undefined : convert(s, p === "builtins.repr" ? "r" : "a");
        return t !== undefined ? str(t) : isConst(m) ? CONST : UNKNOWN;
      });
    case "builtins.format": {
      const spec = strings(arg(1) ?? str(""));
      return mapValue(first(), (m) => {
        const s = scalarOf(m);
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
      return sep && parts ? join(ev, sep, parts, a.positional[1]) : UNKNOWN;
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
            items: m.items.map((x) => apply(ev, fn, x)),
            open: true,
          };
        }
        const items = m.t === "seq" ? m.items : m.t === "str" ? [...m.s].map((c) => str(c)) : undefined;
        if (!items || items.length > MAX_UNROLL || (ev.unrolled += items.length) > MAX_UNROLLED) {
          return UNKNOWN;
        }
        return { t: "seq", kind: "list", items: items.map((x) => apply(ev, fn, x)) };
      });
    }
    case "builtins.type": {
      if (a.positional.length !== 1) return UNKNOWN;
      return mapValue(
        first(),
        (m) => (m.t === "func" ? path("types.FunctionType") : m.t === "instance" ? m.of : UNKNOWN),
      );
    }
    case "operator.attrgetter":
      // attrgetter("a", "b.c") gets each name, following dotted ones attribute by attribute.
      return {
        t: "getter",
        names: a.splat ? UNKNOWN : union(a.positional.map((n) => ev.eval(n))),
        call: false,
      };
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

export function strMethod(
  ev: Evaluator,
  self: Value & { t: "str" },
  name: string,
  a: CallArgs,
  arg: ArgValue,
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
      return parts ? join(ev, self, parts, a.positional[0]) : UNKNOWN;
    }
    case "format": {
      const positional = a.positional.map((n) => scalarOf(ev.eval(n)));
      const named = new Map<string, Scalar>();
      for (const [k, n] of a.keywords) {
        const v = scalarOf(ev.eval(n));
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
