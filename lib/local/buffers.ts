/**
 * Buffers for many connections at once. A pending read holds its buffer whether or not bytes come (and a
 * BYOB read of a request body costs Deno about twice its view), so a connection that is quiet, or stalled on
 * purpose, must wait on a small buffer; large pieces are for bodies that keep coming.
 * - `ReadBuffers`: a connection's small buffer, and a larger one used only after a read filled the small
 *   one, until a read does not fill it.
 * - `BufferPool`: a fixed number of large write buffers shared by the uploads in progress, taken while bytes
 *   arrive and given back when the body pauses (`Ticker`), so a stalled upload holds none; buffers are
 *   never dropped (a dropped 1 MiB buffer stays resident until the collector happens to run), and when all
 *   are in use an upload writes each read as it comes.
 */

export class ReadBuffers {
  readonly #small: Uint8Array;
  readonly #largeBytes: number;
  #large?: Uint8Array;
  #lastFilled = false;

  constructor(smallBytes: number, largeBytes: number) {
    this.#small = new Uint8Array(smallBytes);
    this.#largeBytes = largeBytes;
  }

  /** The buffer for the next read (the previous read's bytes must not be used any more). */
  next(): Uint8Array {
    if (!this.#lastFilled) return this.#small;
    return this.#large ??= new Uint8Array(this.#largeBytes);
  }

  /** After a read of `count` bytes into the buffer `next` gave. */
  read(count: number, into: Uint8Array): void {
    this.#lastFilled = count === into.length;
  }
}

export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Uint8Array[] = [];
  #made = 0;

  /** At most `max` buffers of `size` bytes ever exist; they are reused, never dropped. */
  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** A free buffer, or undefined when all of them are in use (the caller does without). */
  take(): Uint8Array | undefined {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#made >= this.#max) return undefined;
    this.#made++;
    return new Uint8Array(this.size);
  }

  give(buffer: Uint8Array): void {
    this.#free.push(buffer);
  }
}

/** A promise that settles every `ms` (one timer for every upload): "has this read waited a while?". */
export class Ticker {
  readonly #timer: ReturnType<typeof setInterval>;
  #resolve!: () => void;
  #tick!: Promise<void>;

  constructor(ms: number) {
    this.#arm();
    this.#timer = setInterval(() => {
      const resolve = this.#resolve;
      this.#arm();
      resolve();
    }, ms);
    Deno.unrefTimer(this.#timer);
  }

  #arm(): void {
    this.#tick = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** Settles at the next tick. */
  get next(): Promise<void> {
    return this.#tick;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#resolve();
  }
}
