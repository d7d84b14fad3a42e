/**
 * HTTP/1.1 message framing, followed just far enough to know where each message ends: a request's body
 * (the connection guard, guard.ts) and a server's answers (AnswerTracker: when the server owes a connection
 * no answer, the guard may answer a request itself). Bytes are never changed here, only counted.
 */

/** The HTTP/1.1 chunked body framing, followed byte by byte at chunk boundaries only. */
export class ChunkedBody {
  #state:
    | "size"
    | "ext"
    | "size_lf"
    | "data"
    | "data_cr"
    | "data_lf"
    | "trailer"
    | "trailer_line"
    | "end_lf" = "size";
  #size = 0;
  #digits = 0;
  #remaining = 0;
  #line = 0;
  done = false;
  malformed = false;

  /** How many bytes of `bytes` belong to the body (all of them unless it ends inside). */
  feed(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && !this.done && !this.malformed) {
      if (this.#state === "data") {
        const take = Math.min(this.#remaining, bytes.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#state = "data_cr";
        continue;
      }
      const b = bytes[i++];
      switch (this.#state) {
        case "size": {
          const digit = b >= 48 && b <= 57
            ? b - 48
            : b >= 97 && b <= 102
            ? b - 87
            : b >= 65 && b <= 70
            ? b - 55
            : -1;
          if (digit >= 0 && this.#digits < 15) {
            this.#size = this.#size * 16 + digit;
            this.#digits++;
          } else if (this.#digits > 0 && (b === 59 || b === 32 || b === 9)) this.#state = "ext";
          else if (this.#digits > 0 && b === 13) this.#state = "size_lf";
          else if (this.#digits > 0 && b === 10) this.#endSize();
          else this.malformed = true;
          break;
        }
        case "ext":
          if (++this.#line > 4096) this.malformed = true;
          else if (b === 13) this.#state = "size_lf";
          else if (b === 10) this.#endSize();
          break;
        case "size_lf":
          if (b === 10) this.#endSize();
          else this.malformed = true;
          break;
        case "data_cr":
          if (b === 13) this.#state = "data_lf";
          else if (b === 10) this.#state = "size";
          else this.malformed = true;
          break;
        case "data_lf":
          if (b === 10) this.#state = "size";
          else this.malformed = true;
          break;
        case "trailer": // the start of a trailer line: an empty one ends the body
          if (b === 13) this.#state = "end_lf";
          else if (b === 10) this.done = true;
          else {
            this.#line = 1;
            this.#state = "trailer_line";
          }
          break;
        case "trailer_line":
          if (++this.#line > 16384) this.malformed = true;
          else if (b === 10) this.#state = "trailer";
          break;
        case "end_lf":
          if (b === 10) this.done = true;
          else this.malformed = true;
          break;
      }
    }
    return i;
  }

  #endSize(): void {
    this.#line = 0;
    if (this.#size === 0) this.#state = "trailer";
    else {
      this.#remaining = this.#size;
      this.#state = "data";
    }
    this.#size = 0;
    this.#digits = 0;
  }
}

export interface Framing {
  /** head: no body follows; body: a Content-Length or chunked one; raw: something the guard cannot follow. */
  phase: "head" | "body" | "raw";
  length?: number;
  chunked?: ChunkedBody;
}

/** A message head: its first line, and its fields (names lower-cased, values trimmed, in order). */
export function parseHead(head: string): { line: string; fields: [string, string][] } {
  const lines = head.split(/\r?\n/);
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(":");
    if (colon > 0) {
      fields.push([lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim()]);
    }
  }
  return { line: lines[0] ?? "", fields };
}

/** What follows a request head: a Content-Length body, a chunked one, none, or something to pipe on. */
export function requestFraming(head: string): Framing {
  const { line, fields } = parseHead(head);
  const [method = "", , version = ""] = line.split(" ");
  if (!/^HTTP\/1\.[01]$/.test(version) || method === "CONNECT" || method === "PRI") return { phase: "raw" };
  let length: string | undefined;
  let transfer: string | undefined;
  let upgrade = false;
  for (const [name, value] of fields) {
    if (name === "content-length") {
      if (length !== undefined && length !== value) return { phase: "raw" };
      length = value;
    } else if (name === "transfer-encoding") {
      transfer = transfer === undefined ? value : `${transfer}, ${value}`;
    } else if (name === "upgrade") upgrade = true;
  }
  if (upgrade) return { phase: "raw" };
  if (transfer !== undefined) {
    return /(^|,)\s*chunked\s*$/i.test(transfer)
      ? { phase: "body", chunked: new ChunkedBody() }
      : { phase: "raw" };
  }
  if (length === undefined) return { phase: "head" };
  if (!/^\d{1,15}$/.test(length)) return { phase: "raw" };
  const n = Number(length);
  return n === 0 ? { phase: "head" } : { phase: "body", length: n };
}

/** Where a request head ends (the index after its blank line), or -1. */
export function headEnd(buffer: Uint8Array, length: number, from: number): number {
  for (let i = Math.max(0, from - 3); i < length; i++) {
    if (buffer[i] !== 10) continue;
    if (i >= 1 && buffer[i - 1] === 10) return i + 1;
    if (i >= 2 && buffer[i - 1] === 13 && buffer[i - 2] === 10) return i + 1;
  }
  return -1;
}

const LATIN1 = new TextDecoder("latin1");
/** Larger answer heads are not followed (the server's are a few hundred bytes). */
const MAX_ANSWER_HEAD_BYTES = 64 * 1024;

/**
 * Follows the server's answers on one connection, in order, to know whether it still owes any: `sent` is
 * called for each request passed on (at its head), and `feed` with every byte of the answers. An answer
 * ends after its Content-Length or its last chunk, or at its head for HEAD requests, 204 and 304; 1xx
 * answers are interim. An answer it cannot follow (no length, an Upgrade, a head too large or malformed)
 * makes it `lost`: the connection then never counts as owed nothing again.
 */
export class AnswerTracker {
  #owed: boolean[] = []; // one per request passed on and not yet answered: whether it was a HEAD
  #phase: "head" | "body" = "head";
  #head = new Uint8Array(0);
  #headLength = 0;
  #remaining = 0;
  #chunked?: ChunkedBody;
  lost = false;

  /** Whether every request passed on has been answered in full. */
  get idle(): boolean {
    return !this.lost && this.#owed.length === 0;
  }

  /** A request was passed on to the server (`head`: its method is HEAD, so its answer has no body). */
  sent(head: boolean): void {
    this.#owed.push(head);
  }

  feed(bytes: Uint8Array): void {
    let rest = bytes;
    while (rest.length > 0 && !this.lost) {
      if (this.#phase === "body") {
        if (this.#chunked) {
          const take = this.#chunked.feed(rest);
          if (this.#chunked.malformed) return this.#lose();
          rest = rest.subarray(take);
          if (this.#chunked.done) this.#answered();
        } else {
          const take = Math.min(this.#remaining, rest.length);
          this.#remaining -= take;
          rest = rest.subarray(take);
          if (this.#remaining === 0) this.#answered();
        }
        continue;
      }
      const from = this.#headLength;
      const copy = Math.min(rest.length, MAX_ANSWER_HEAD_BYTES - from);
      if (this.#head.length < from + copy) {
        const grown = new Uint8Array(Math.max(this.#head.length * 2, from + copy, 512));
        grown.set(this.#head.subarray(0, from));
        this.#head = grown;
      }
      this.#head.set(rest.subarray(0, copy), from);
      this.#headLength += copy;
      const end = headEnd(this.#head, this.#headLength, from);
      if (end < 0) {
        if (this.#headLength >= MAX_ANSWER_HEAD_BYTES) this.#lose();
        return;
      }
      rest = rest.subarray(end - from);
      this.#headLength = 0;
      this.#startBody(LATIN1.decode(this.#head.subarray(0, end)));
    }
  }

  #startBody(head: string): void {
    const { line, fields } = parseHead(head);
    const status = Number(line.split(" ")[1]);
    if (!Number.isInteger(status) || this.#owed.length === 0 || status === 101) return this.#lose();
    if (status < 200) return; // interim (100 Continue): the answer itself follows
    let length: string | undefined;
    let chunked = false;
    for (const [name, value] of fields) {
      if (name === "content-length") length = value;
      else if (name === "transfer-encoding") chunked = /chunked$/i.test(value);
    }
    if (this.#owed[0] || status === 204 || status === 304) return this.#answered();
    if (chunked) {
      this.#chunked = new ChunkedBody();
      this.#phase = "body";
    } else if (length !== undefined && /^\d{1,15}$/.test(length)) {
      this.#remaining = Number(length);
      if (this.#remaining === 0) return this.#answered();
      this.#phase = "body";
    } else this.#lose(); // ends with the connection
  }

  #answered(): void {
    this.#owed.shift();
    this.#phase = "head";
    this.#chunked = undefined;
    this.#remaining = 0;
  }

  #lose(): void {
    this.lost = true;
  }
}
