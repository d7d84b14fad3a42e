/**
 * Deflate on every core, with the same bytes on any number of them (lib/pack/pack.ts's tar.gz stream and
 * lib/pack/zip.ts's entries).
 *
 * A stream is cut into fixed SEGMENT_BYTES pieces. Each piece is deflated on its own (node:zlib, zlib-rs,
 * level 6) and ended with a sync flush instead of a final block: the output stops on a byte boundary after
 * an empty stored block, so the pieces' outputs, concatenated in order and followed by FINAL_BLOCK (an empty
 * final block), are one ordinary deflate stream, the way pigz does it. One gzip member, one zip entry: any
 * inflater reads it (Python's tarfile and zipfile, GNU tar, unzip, lib/pack/extract.ts). The bytes depend
 * only on the input: every piece starts with an empty window, so it does not matter which thread deflated
 * it, or whether there were threads at all. The price is ~0.1% of size (each piece re-learns its window).
 *
 * A compressor on one thread is what limits packing (`tar -czf` and one CompressionStream both run at
 * ~22–32 MB/s here), so the pieces are shared between the calling thread and worker threads
 * (lib/pack/deflate_worker.ts), one per further core, at most MAX_WORKERS. The calling thread has little
 * else to do while packing (reading, hashing and writing are cheap), and each worker costs ~15 MiB (its
 * isolate and node:zlib), so on 2 cores one worker and the calling thread do the work. Where a worker
 * cannot start (a run whose --allow-read does not reach lib/, a binary built without the worker module),
 * the calling thread deflates every piece: the same bytes, slower. Small archives are deflated on the
 * calling thread too (starting a worker costs more than they take).
 *
 * @module
 */
import { constants, crc32, deflateRawSync } from "node:zlib";
import { coreCount, workerLoadable } from "../threads.ts";

/** The size of each independently deflated piece (a multiple of the 512-byte tar block; any size works). */
export const SEGMENT_BYTES = 1024 * 1024;

/** An empty final fixed-Huffman block (BFINAL=1, BTYPE=01, end-of-block): ends a stream of flushed pieces. */
export const FINAL_BLOCK: Uint8Array = new Uint8Array([0x03, 0x00]);

/** At most this many worker threads. */
const MAX_WORKERS = 3;

/** Below this many input bytes, workers are not started. */
export const PARALLEL_THRESHOLD_BYTES = 4 * SEGMENT_BYTES;

/** How long a worker may take to start before the pieces are deflated on the calling thread instead. */
const START_TIMEOUT_MS = 10_000;

const WORKER_URL = new URL("./deflate_worker.ts", import.meta.url);

/** Deflate outputs at least this large own their buffer (smaller ones may come from Node's 8 KiB pool). */
const OUTPUT_CHUNK_MIN = 64 * 1024;

/** One piece's raw deflate, ended with a sync flush (no final block). The same function runs in the workers. */
export function deflatePiece(piece: Uint8Array): Uint8Array {
  // One output chunk larger than any piece's deflate (stored blocks add 5 bytes per 64 KiB): zlib then
  // allocates a single buffer instead of a list of 16 KiB chunks joined by a copy, all garbage at once.
  const out = deflateRawSync(piece, {
    level: 6,
    finishFlush: constants.Z_SYNC_FLUSH,
    chunkSize: Math.max(piece.length + (piece.length >> 6), OUTPUT_CHUNK_MIN) + 1024,
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** CRC-32 (zlib's), continuing from `previous`. */
export function crc32Of(bytes: Uint8Array, previous = 0): number {
  return crc32(bytes, previous) >>> 0;
}

/** A message to a worker: deflate `piece` (transferred), answer with the same `id`. */
export interface DeflateRequest {
  id: number;
  piece: Uint8Array<ArrayBuffer>;
}

/**
 * A worker's answer: `ready` once after it started, then one per request, with the piece's buffer
 * transferred back (the next piece is copied into it: no allocation per piece).
 */
export type DeflateResponse =
  | { ready: true }
  | { id: number; out: Uint8Array; piece: Uint8Array<ArrayBuffer> }
  | { id: number; error: string; piece: Uint8Array<ArrayBuffer> };

/**
 * Frees a deflate output's memory now rather than at the next garbage collection, which V8 lets wait while
 * tens of MB of such buffers pile up. Only for deflatePiece's bytes, once written: their whole buffer is
 * theirs alone (zlib allocated it for this call; a view is only shorter than its buffer).
 */
export function releaseOutput(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && buffer.byteLength >= OUTPUT_CHUNK_MIN) buffer.transfer(0);
}

interface Job {
  resolve(out: Uint8Array): void;
  reject(error: Error): void;
}

/** One worker thread and the pieces it was given, answered in the order they were sent. */
class _Thread {
  readonly worker: Worker;
  readonly jobs = new Map<number, Job>();

  constructor(worker: Worker) {
    this.worker = worker;
  }
}

/**
 * Deflates pieces on worker threads and this one, in turn (see the module doc). `deflate` copies the
 * piece before it returns, so the caller may refill its buffer at once. Always `close()` it (or `using`).
 */
export class PieceDeflater implements Disposable {
  readonly #threads: _Thread[];
  /** Piece buffers back from the workers, for the next pieces. */
  readonly #spare: ArrayBuffer[] = [];
  #nextId = 0;
  #turn = 0;
  #failure: Error | undefined;

  private constructor(threads: _Thread[]) {
    this.#threads = threads;
  }

  /**
   * Starts `workers` worker threads (default: one per core beyond this one's, at most MAX_WORKERS) when
   * `totalBytes` is large enough to repay them; with none, this thread deflates every piece.
   */
  static async open(totalBytes: number, workers?: number): Promise<PieceDeflater> {
    const wanted = Math.min(workers ?? coreCount() - 1, MAX_WORKERS);
    if (wanted < 1 || totalBytes < PARALLEL_THRESHOLD_BYTES || !workerLoadable(WORKER_URL)) {
      return new PieceDeflater([]);
    }
    const started = await Promise.all(Array.from({ length: wanted }, () => _start()));
    const ready = started.filter((t): t is _Thread => t !== undefined);
    if (ready.length < started.length) {
      for (const t of ready) t.worker.terminate();
      return new PieceDeflater([]);
    }
    const deflater = new PieceDeflater(ready);
    for (const thread of ready) deflater.#listen(thread);
    return deflater;
  }

  /** How many worker threads deflate beside this one. */
  get workers(): number {
    return this.#threads.length;
  }

  /** The piece's deflate (deflatePiece), from a worker or from this thread, in turn. */
  deflate(piece: Uint8Array): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure);
    // Round robin over the workers and this thread: pieces are all the same size but the last, so the
    // threads stay evenly loaded, and a worker has the next piece queued while this thread deflates.
    const turn = this.#turn;
    this.#turn = (turn + 1) % (this.#threads.length + 1);
    if (turn === this.#threads.length) {
      try {
        return Promise.resolve(deflatePiece(piece));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const thread = this.#threads[turn];
    const id = this.#nextId++;
    // A copy, transferred: the caller may refill its buffer at once, and the copy's memory moves.
    const buffer = this.#spare.pop() ?? new ArrayBuffer(SEGMENT_BYTES);
    const copy = new Uint8Array(buffer.byteLength >= piece.length ? buffer : new ArrayBuffer(piece.length));
    copy.set(piece);
    const request: DeflateRequest = { id, piece: copy.subarray(0, piece.length) };
    return new Promise<Uint8Array>((resolve, reject) => {
      thread.jobs.set(id, { resolve, reject });
      thread.worker.postMessage(request, [copy.buffer]);
    });
  }

  close(): void {
    for (const thread of this.#threads) {
      thread.worker.terminate();
      this.#fail(thread, new Error("the compressor was closed"));
    }
    this.#threads.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #listen(thread: _Thread): void {
    thread.worker.onmessage = (event: MessageEvent<DeflateResponse>) => {
      const data = event.data;
      if (!("id" in data)) return;
      const job = thread.jobs.get(data.id);
      thread.jobs.delete(data.id);
      if (data.piece.buffer.byteLength === SEGMENT_BYTES && this.#spare.length < 2 * this.#threads.length) {
        this.#spare.push(data.piece.buffer);
      }
      if ("out" in data) job?.resolve(data.out);
      else job?.reject(new Error(`compressing failed: ${data.error}`));
    };
    thread.worker.onerror = (event) => {
      event.preventDefault();
      this.#failure ??= new Error(`a compressor thread stopped: ${event.message}`);
      this.#fail(thread, this.#failure);
    };
  }

  #fail(thread: _Thread, error: Error): void {
    for (const job of thread.jobs.values()) job.reject(error);
    thread.jobs.clear();
  }
}

/** A worker that said it is ready, or undefined when it could not start. */
function _start(): Promise<_Thread | undefined> {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { type: "module" });
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), START_TIMEOUT_MS);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      worker.onmessage = null;
      worker.onerror = null;
      if (!ok) worker.terminate();
      resolve(ok ? new _Thread(worker) : undefined);
    };
    worker.onmessage = (event: MessageEvent<DeflateResponse>) => done("ready" in event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      done(false);
    };
  });
}

/**
 * Writes byte pieces to `sink` in the order they were pushed while the ones still being deflated are
 * awaited; `push` waits once more than `maxPending` deflates are outstanding, which bounds memory. An item
 * may be a function, called when its turn comes: for bytes that depend on what was written before it
 * (a zip entry's offset, its compressed size in the data descriptor). The bytes a promise item resolves to
 * belong to the writer: they are freed once written.
 */
export class OrderedWriter {
  readonly #sink: (bytes: Uint8Array) => Promise<void>;
  readonly #maxPending: number;
  readonly #queue: (Uint8Array | Promise<Uint8Array> | (() => Uint8Array))[] = [];
  #pending = 0;
  /** Bytes written to the sink so far. */
  offset = 0;

  constructor(sink: (bytes: Uint8Array) => Promise<void>, maxPending: number) {
    this.#sink = sink;
    this.#maxPending = Math.max(1, maxPending);
  }

  async push(item: Uint8Array | Promise<Uint8Array> | (() => Uint8Array)): Promise<void> {
    if (item instanceof Promise) {
      this.#pending++;
      item.catch(() => {}); // observed when its turn comes (or dropped with the writer on an earlier failure)
    }
    this.#queue.push(item);
    while (this.#pending > this.#maxPending) await this.#writeNext();
  }

  /** Writes everything pushed so far. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0) await this.#writeNext();
  }

  async #writeNext(): Promise<void> {
    const item = this.#queue.shift()!;
    let bytes: Uint8Array;
    if (item instanceof Promise) {
      this.#pending--;
      bytes = await item;
    } else {
      bytes = typeof item === "function" ? item() : item;
    }
    this.offset += bytes.length;
    await this.#sink(bytes);
    if (item instanceof Promise) releaseOutput(bytes);
  }
}

/**
 * Deflates what `read` yields, cut into SEGMENT_BYTES pieces, into `out`: the pieces' outputs in order and
 * FINAL_BLOCK. `read` fills the whole buffer it is given but at the end (0: nothing left). Returns the input's
 * CRC-32 and size; `onPiece` sees each piece before it is deflated (a size check can throw there).
 */
export async function deflateStream(
  read: (buffer: Uint8Array) => Promise<number>,
  deflater: PieceDeflater,
  out: OrderedWriter,
  buffer: Uint8Array,
  signal?: AbortSignal,
  onPiece?: (piece: Uint8Array) => void,
): Promise<{ crc: number; size: number }> {
  let crc = 0;
  let size = 0;
  for (;;) {
    if (signal?.aborted) throw signal.reason;
    const n = await read(buffer);
    if (n === 0) break;
    const piece = buffer.subarray(0, n);
    onPiece?.(piece);
    crc = crc32Of(piece, crc);
    size += n;
    await out.push(deflater.deflate(piece));
    if (n < buffer.length) break;
  }
  await out.push(FINAL_BLOCK);
  return { crc, size };
}
