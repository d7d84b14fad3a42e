/**
 * Constant folding with Python semantics: string literal escapes, `%` and `str.format` formatting, format
 * specs, str(), repr(), slicing, base64 / hex decoding. Every function returns undefined when it cannot
 * reproduce Python exactly; the caller then treats the result as an opaque constant.
 *
 * @module
 */

/** Whether every UTF-16 code unit of s is below limit. */
export function allBelow(s: string, limit: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= limit) return false;
  return true;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/**
 * The value of the body of a string literal (between the quotes) for the given prefix letters.
 * Bytes come back as Latin-1 code units. Undefined for `\N{…}` (no Unicode name table here) and
 * for invalid escapes CPython rejects.
 */
export function decodeLiteral(body: string, prefix: string): string | undefined {
  const p = prefix.toLowerCase();
  const raw = p.includes("r");
  const bytes = p.includes("b");
  if (bytes && !allBelow(body, 0x80)) return undefined; // CPython: bytes can only contain ASCII
  if (raw || !body.includes("\\")) return body;
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) return undefined;
    if (e === "\n") {
      i++;
      continue;
    }
    if (SIMPLE_ESCAPES[e] !== undefined) {
      out += SIMPLE_ESCAPES[e];
      i++;
      continue;
    }
    if (e >= "0" && e <= "7") {
      const m = /^[0-7]{1,3}/.exec(body.slice(i + 1))![0];
      const code = parseInt(m, 8);
      out += String.fromCharCode(bytes ? code & 0xff : code);
      i += m.length;
      continue;
    }
    const hexLength = e === "x" ? 2 : !bytes && e === "u" ? 4 : !bytes && e === "U" ? 8 : 0;
    if (hexLength > 0) {
      const h = body.slice(i + 2, i + 2 + hexLength);
      if (h.length !== hexLength || !/^[0-9a-fA-F]+$/.test(h)) return undefined;
      const code = parseInt(h, 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += 1 + hexLength;
      continue;
    }
    if (!bytes && e === "N") return undefined;
    out += "\\" + e; // unknown escapes stay as they are
    i++;
  }
  return out;
}

/** Python's repr() of a str (or bytes, with the b prefix). */
export function pyRepr(s: string, bytes = false): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += "\\" + quote;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f || (bytes && c >= 0x80)) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (!bytes && c >= 0x80 && c < 0xa0) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return (bytes ? "b" : "") + quote + out + quote;
}

/** A folded scalar: str/bytes, int/bool or None. */
export type Scalar = { s: string; bytes: boolean } | { n: number; bool?: boolean } | null;

/** Python's str() of a scalar, or undefined (bytes' str() is its repr). */
export function pyStr(v: Scalar): string | undefined {
  if (v === null) return "None";
  if ("s" in v) return v.bytes ? pyRepr(v.s, true) : v.s;
  if (v.bool) return v.n ? "True" : "False";
  return Number.isSafeInteger(v.n) ? String(v.n) : undefined;
}

function _reprScalar(v: Scalar): string | undefined {
  if (v !== null && "s" in v) return pyRepr(v.s, v.bytes);
  return pyStr(v);
}

function _ascii(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out += ch;
    else if (c <= 0xff) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c <= 0xffff) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += "\\U" + c.toString(16).padStart(8, "0");
  }
  return out;
}

/** Applies a conversion (`!s`, `!r`, `!a`) to a scalar. */
export function convert(v: Scalar, conversion: string): string | undefined {
  if (conversion === "" || conversion === "s") return pyStr(v);
  const r = _reprScalar(v);
  if (r === undefined) return undefined;
  return conversion === "r" ? r : conversion === "a" ? _ascii(r) : undefined;
}

const SPEC = /^(?:(.)?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

/** Widths beyond this are not folded (a constant like f"{'':>999999999}" must not exhaust memory). */
const MAX_WIDTH = 1 << 16;

function _pad(body: string, fill: string, align: string, width: number): string {
  if (width > MAX_WIDTH) throw new RangeError("format width too large to fold");
  const length = [...body].length;
  if (length >= width) return body;
  const gap = width - length;
  if (align === "<") return body + fill.repeat(gap);
  if (align === ">") return fill.repeat(gap) + body;
  if (align === "^") return fill.repeat(gap >> 1) + body + fill.repeat(gap - (gap >> 1));
  return body;
}

/** format(value, spec) for str and int values; undefined for anything else. */
export function formatSpec(v: Scalar, spec: string): string | undefined {
  try {
    return _formatSpec(v, spec);
  } catch {
    return undefined;
  }
}

function _formatSpec(v: Scalar, spec: string): string | undefined {
  if (spec === "") return pyStr(v);
  const m = SPEC.exec(spec);
  if (!m || v === null) return undefined;
  const [, fillChar, alignChar, sign, alt, zero, widthText, grouping, precision, type] = m;
  const width = widthText ? parseInt(widthText, 10) : 0;
  if ("s" in v) {
    if (v.bytes || (type && type !== "s") || sign || alt || grouping || (zero && !alignChar)) {
      return undefined;
    }
    let body = v.s;
    if (precision !== undefined) body = [...body].slice(0, parseInt(precision, 10)).join("");
    return _pad(body, fillChar ?? " ", alignChar ?? "<", width);
  }
  if (!Number.isSafeInteger(v.n) || precision !== undefined || grouping) return undefined;
  let digits: string;
  const n = Math.abs(v.n);
  switch (type ?? "d") {
    case "d":
    case "n":
      digits = String(n);
      break;
    case "x":
      digits = (alt ? "0x" : "") + n.toString(16);
      break;
    case "X":
      digits = (alt ? "0X" : "") + n.toString(16).toUpperCase();
      break;
    case "o":
      digits = (alt ? "0o" : "") + n.toString(8);
      break;
    case "b":
      digits = (alt ? "0b" : "") + n.toString(2);
      break;
    case "c":
      if (v.n < 0 || v.n > 0x10ffff || sign) return undefined;
      return _pad(String.fromCodePoint(v.n), fillChar ?? " ", alignChar ?? "<", width);
    default:
      return undefined;
  }
  const signText = v.n < 0 ? "-" : sign === "+" ? "+" : sign === " " ? " " : "";
  if (zero && !alignChar) {
    if (width > MAX_WIDTH) return undefined;
    return signText + digits.padStart(Math.max(0, width - signText.length), "0");
  }
  const align = alignChar ?? ">";
  if (align === "=") {
    return signText + _pad(digits, fillChar ?? " ", ">", Math.max(0, width - signText.length));
  }
  return _pad(signText + digits, fillChar ?? " ", align, width);
}

/** `template % args` for str templates; args is a scalar, a tuple of scalars, or a str-keyed dict. */
export function percentFormat(
  template: string,
  args: Scalar[] | Map<string, Scalar>,
  single: boolean,
): string | undefined {
  try {
    return _percentFormat(template, args, single);
  } catch {
    return undefined;
  }
}

function _percentFormat(
  template: string,
  args: Scalar[] | Map<string, Scalar>,
  single: boolean,
): string | undefined {
  const re = /%(?:\(([^)]*)\))?([-+ #0]*)(\d+|\*)?(?:\.(\d+))?[hlL]?([diouxXeEfFgGcrsa%])/g;
  let out = "";
  let last = 0;
  let index = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    out += template.slice(last, m.index);
    last = re.lastIndex;
    const [, key, flags, widthText, precision, type] = m;
    if (type === "%") {
      out += "%";
      continue;
    }
    if (widthText === "*") return undefined;
    let value: Scalar | undefined;
    if (key !== undefined) {
      if (!(args instanceof Map)) return undefined;
      value = args.get(key);
    } else {
      if (args instanceof Map) return undefined;
      value = args[index++];
    }
    if (value === undefined) return undefined;
    let body: string | undefined;
    if (type === "s") body = pyStr(value);
    else if (type === "r" || type === "a") body = convert(value, type);
    else if (type === "c") {
      if (value !== null && "s" in value && [...value.s].length === 1 && !value.bytes) body = value.s;
      else if (value !== null && "n" in value && value.n >= 0 && value.n <= 0x10ffff) {
        body = String.fromCodePoint(value.n);
      }
    } else if ("diuxXo".includes(type)) {
      if (value === null || !("n" in value)) return undefined;
      const spec = (flags.includes("#") ? "#" : "") + (type === "i" || type === "u" ? "d" : type);
      body = formatSpec(value, spec);
    } else return undefined;
    if (body === undefined) return undefined;
    if (precision !== undefined && (type === "s" || type === "r" || type === "a")) {
      body = [...body].slice(0, parseInt(precision, 10)).join("");
    }
    const width = widthText ? parseInt(widthText, 10) : 0;
    const zero = flags.includes("0") && !flags.includes("-") && "diuxXo".includes(type);
    if (width > MAX_WIDTH) return undefined;
    body = zero && body.length < width
      ? (body.startsWith("-") ? "-" + body.slice(1).padStart(width - 1, "0") : body.padStart(width, "0"))
      : _pad(body, " ", flags.includes("-") ? "<" : ">", width);
    out += body;
  }
  if (!(args instanceof Map) && index !== args.length && !(single && index === 1)) return undefined;
  return out + template.slice(last);
}

/** `template.format(*positional, **named)`; undefined for field access (`{0.x}`, `{0[1]}`) and nesting. */
export function strFormat(
  template: string,
  positional: Scalar[],
  named: Map<string, Scalar>,
): string | undefined {
  let out = "";
  let auto = 0;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === "}") {
      if (template[i + 1] !== "}") return undefined;
      out += "}";
      i++;
      continue;
    }
    if (c !== "{") {
      out += c;
      continue;
    }
    if (template[i + 1] === "{") {
      out += "{";
      i++;
      continue;
    }
    const close = template.indexOf("}", i);
    if (close < 0) return undefined;
    const field = template.slice(i + 1, close);
    if (field.includes("{")) return undefined;
    const m = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/s.exec(field);
    if (!m) return undefined;
    const [, name, conversion, spec] = m;
    let value: Scalar | undefined;
    if (name === "") value = positional[auto++];
    else if (/^\d+$/.test(name)) value = positional[parseInt(name, 10)];
    else if (/^[A-Za-z_]\w*$/.test(name)) value = named.get(name);
    else return undefined;
    if (value === undefined) return undefined;
    const text = conversion ? convert(value, conversion) : undefined;
    const piece = conversion
      ? (text === undefined ? undefined : formatSpec({ s: text, bytes: false }, spec ?? ""))
      : formatSpec(value, spec ?? "");
    if (piece === undefined) return undefined;
    out += piece;
    i = close;
  }
  return out;
}

/** Python slicing of a sequence of code points / bytes: s[start:stop:step]. */
export function pySlice<T>(items: T[], start?: number, stop?: number, step = 1): T[] | undefined {
  if (step === 0) return undefined;
  const n = items.length;
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    if (v < 0) v += n;
    return Math.min(Math.max(v, lo), hi);
  };
  const out: T[] = [];
  if (step > 0) {
    const a = norm(start, 0, 0, n);
    const b = norm(stop, n, 0, n);
    for (let i = a; i < b; i += step) out.push(items[i]);
  } else {
    const a = norm(start, n - 1, -1, n - 1);
    const b = norm(stop, -1, -1, n - 1);
    for (let i = a; i > b; i += step) out.push(items[i]);
  }
  return out;
}

/** base64 (standard or URL-safe alphabet, padding optional) to Latin-1 code units. */
export function base64Decode(text: string, urlSafe = false): string | undefined {
  let t = text.replace(/\s+/g, "");
  if (urlSafe) t = t.replaceAll("-", "+").replaceAll("_", "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  t = t.replace(/=+$/, "");
  if (t.length % 4 === 1) return undefined;
  try {
    return atob(t + "=".repeat((4 - (t.length % 4)) % 4));
  } catch {
    return undefined;
  }
}

export function base64Encode(latin1: string): string | undefined {
  try {
    return btoa(latin1);
  } catch {
    return undefined;
  }
}

export function base32Decode(text: string): string | undefined {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const t = text.replace(/=+$/, "").toUpperCase();
  let bits = 0;
  let value = 0;
  let out = "";
  for (const ch of t) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out += String.fromCharCode((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

/** Hex digits (whitespace allowed, like bytes.fromhex) to Latin-1 code units. */
export function hexDecode(text: string): string | undefined {
  const t = text.replace(/\s+/g, "");
  if (t.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(t)) return undefined;
  let out = "";
  for (let i = 0; i < t.length; i += 2) out += String.fromCharCode(parseInt(t.slice(i, i + 2), 16));
  return out;
}

export function hexEncode(latin1: string): string {
  let out = "";
  for (let i = 0; i < latin1.length; i++) out += latin1.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

export function rot13(s: string): string {
  return s.replace(/[a-zA-Z]/g, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** bytes.decode(encoding) for UTF-8 / ASCII / Latin-1. */
export function decodeBytes(latin1: string, encoding: string): string | undefined {
  const e = encoding.toLowerCase().replaceAll("_", "-");
  if (e === "latin-1" || e === "latin1" || e === "iso-8859-1") return latin1;
  if (e === "ascii") return allBelow(latin1, 0x80) ? latin1 : undefined;
  if (e === "utf-8" || e === "utf8") {
    const bytes = new Uint8Array(latin1.length);
    for (let i = 0; i < latin1.length; i++) bytes[i] = latin1.charCodeAt(i);
    try {
      return UTF8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** str.encode(encoding) for UTF-8 / ASCII / Latin-1, as Latin-1 code units. */
export function encodeString(s: string, encoding: string): string | undefined {
  const e = encoding.toLowerCase().replaceAll("_", "-");
  if (e === "latin-1" || e === "latin1" || e === "iso-8859-1") {
    return allBelow(s, 0x100) ? s : undefined;
  }
  if (e === "ascii") return allBelow(s, 0x80) ? s : undefined;
  if (e === "utf-8" || e === "utf8") {
    const bytes = new TextEncoder().encode(s);
    let out = "";
    for (const b of bytes) out += String.fromCharCode(b);
    return out;
  }
  return undefined;
}

/** Integer literal per Python 3 (underscores, 0x/0o/0b); undefined when Python 3 would reject it. */
export function parseIntLiteral(text: string): number | undefined {
  if (!PY3_INT.test(text)) return undefined;
  const t = text.replaceAll("_", "").toLowerCase();
  if (t.startsWith("0x")) return parseInt(t.slice(2), 16);
  if (t.startsWith("0o")) return parseInt(t.slice(2), 8);
  if (t.startsWith("0b")) return parseInt(t.slice(2), 2);
  return Number(t);
}

/** Python 3 integer literal syntax (no 0777, no 10L). */
export const PY3_INT =
  /^(?:[1-9](?:_?\d)*|0(?:_?0)*|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+)$/;
/** Python 3 float / imaginary literal syntax. */
export const PY3_FLOAT =
  /^(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*(?:[eE][-+]?\d(?:_?\d)*)?|\d(?:_?\d)*\.(?:[eE][-+]?\d(?:_?\d)*)?|\d(?:_?\d)*[eE][-+]?\d(?:_?\d)*|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][-+]?\d(?:_?\d)*)?[jJ])$/;
