/**
 * A compressor thread for lib/pack/deflate.ts: deflates each piece it is sent (deflatePiece) and posts the
 * bytes back, transferred. It says `ready` first, so a worker that cannot load is noticed before a pack
 * relies on it.
 *
 * @module
 */
import { deflatePiece, type DeflateRequest, type DeflateResponse } from "./deflate.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<DeflateRequest>) => void) | null;
  postMessage(message: DeflateResponse, transfer?: Transferable[]): void;
};

scope.onmessage = (event) => {
  const { id, piece } = event.data;
  try {
    // The output's buffer is its own (deflatePiece): transferred whole, freed by the writer once written.
    const out = deflatePiece(piece);
    scope.postMessage({ id, out, piece }, [out.buffer as ArrayBuffer, piece.buffer]);
  } catch (error) {
    scope.postMessage({ id, error: (error as Error).message, piece }, [piece.buffer]);
  }
};

scope.postMessage({ ready: true });
