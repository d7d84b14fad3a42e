/**
 * Deflate on worker threads (lib/pack/deflate.ts): the archive bytes do not depend on how many workers
 * shared the pieces with the calling thread, the multi-piece streams are read by GNU tar, Info-ZIP's unzip, Python and the registry's
 * extractor, a pack whose permissions keep the worker from loading gives the same bytes on one thread, and a
 * failure while deflating on a worker leaves nothing behind.
 */
import { createHash } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import {
  deflateStream,
  FINAL_BLOCK,
  OrderedWriter,
  PARALLEL_THRESHOLD_BYTES,
  PieceDeflater,
  SEGMENT_BYTES,
} from "../../lib/pack/deflate.ts";
import { writeTarGz, writeZipFile } from "../../lib/pack/pack.ts";
import { selectFiles } from "../../lib/pack/select.ts";
import { extractArchive } from "../../lib/pack/extract.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { baseEnv, MAIN, ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import { readTree, verifyArchive, writeTree } from "./_helpers.ts";

/** Half-random bytes: deflate has real work and the output is not all stored blocks. */
function halfRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 3 === 0 ? (x >>> 24) : (i >>> 10) & 0x7f;
  }
  return out;
}

/** Larger than the parallel threshold, with a file of exactly one piece and an empty one (piece edges). */
const SPEC: Record<string, string | Uint8Array> = {
  "__init__.py": "",
  "manifest.py": 'metadata = {"name": "big", "version": "1.0.0"}\n',
  "weights/a.bin": halfRandom(PARALLEL_THRESHOLD_BYTES + 300_001, 7),
  "weights/exact.bin": halfRandom(SEGMENT_BYTES, 11),
  "weights/empty.bin": "",
  "z.txt": "last\n",
};

async function _pack(root: string, out: string, format: "tar.gz" | "zip", workers: number) {
  const selection = await selectFiles(root);
  using deflater = await PieceDeflater.open(selection.total_bytes, workers);
  assertEquals(deflater.workers, workers, "the workers started");
  using file = await Deno.open(out, { write: true, createNew: true });
  const write = format === "zip" ? writeZipFile : writeTarGz;
  return await write(selection.files, file, undefined, "big", undefined, deflater);
}

function _sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

Deno.test("parallel deflate: the same bytes with 0, 1, 2 and 3 workers; every reader reads them", async () => {
  await using work = await tempDir();
  const root = `${work.path}/big`;
  await writeTree(root, SPEC);
  for (const format of ["tar.gz", "zip"] as const) {
    const digests = new Set<string>();
    for (const workers of [0, 1, 2, 3]) {
      const out = `${work.path}/t${workers}.${format}`;
      const written = await _pack(root, out, format, workers);
      const bytes = await Deno.readFile(out);
      assertEquals(written.size, bytes.length);
      assertEquals(written.sha256, _sha256(bytes));
      digests.add(written.sha256);
    }
    assertEquals(digests.size, 1, `${format}: one archive whatever the number of workers`);
    await verifyArchive(`${work.path}/t2.${format}`, SPEC, [], "big");
    const extracted = await extractArchive(`${work.path}/t2.${format}`, `${work.path}/x-${format}`);
    assertEquals(extracted.format, format);
    const tree = await readTree(`${work.path}/x-${format}/big`);
    assertEquals(
      _sha256(new TextEncoder().encode(tree.files["weights/a.bin"].content)),
      _sha256(
        new TextEncoder().encode(new TextDecoder("latin1").decode(SPEC["weights/a.bin"] as Uint8Array)),
      ),
    );
  }
});

Deno.test("parallel deflate: pieces end byte-aligned; their concatenation and the final block inflate back", async () => {
  const input = halfRandom(3 * SEGMENT_BYTES, 3); // an exact multiple: the last read returns 0
  using deflater = await PieceDeflater.open(input.length, 2);
  const chunks: Uint8Array[] = [];
  const out = new OrderedWriter((bytes) => {
    chunks.push(bytes.slice());
    return Promise.resolve();
  }, 5);
  let at = 0;
  const read = (buffer: Uint8Array) => {
    const n = Math.min(buffer.length, input.length - at);
    buffer.set(input.subarray(at, at + n));
    at += n;
    return Promise.resolve(n);
  };
  const result = await deflateStream(read, deflater, out, new Uint8Array(SEGMENT_BYTES));
  await out.flush();
  assertEquals(result.size, input.length);
  assertEquals(chunks.at(-1), FINAL_BLOCK);
  const stream = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    stream.set(c, offset);
    offset += c.length;
  }
  assertEquals(_sha256(inflateRawSync(stream)), _sha256(input));
  // Each piece's output ends with a sync flush (an empty stored block), so the next starts on a byte.
  for (const c of chunks.slice(0, -1)) assertEquals([...c.subarray(-4)], [0, 0, 0xff, 0xff]);
});

Deno.test("parallel deflate: a run that may not read the worker's module packs the same bytes on one thread", async () => {
  await using work = await tempDir();
  const root = `${work.path}/big`;
  await writeTree(root, SPEC);
  await using home = await tempDir("mixpeek-home-");
  const env = await baseEnv(home.path);
  const pack = (out: string, read: string) =>
    runProcess(Deno.execPath(), [
      "run",
      "--quiet",
      "--no-prompt",
      read,
      `--allow-write=${work.path}`,
      "--allow-env",
      "--allow-sys",
      MAIN,
      "--json",
      "plugin",
      "pack",
      "--path",
      root,
      "--output",
      out,
    ], { env });
  // Scoped to the plugin: the main module may load lib/ (module loading is exempt), a worker may not.
  const scoped = await pack(`${work.path}/scoped.tar.gz`, `--allow-read=${work.path},${home.path}`);
  assertEquals(scoped.code, 0, scoped.stderr);
  const full = await pack(`${work.path}/full.tar.gz`, `--allow-read=${work.path},${home.path},${ROOT}`);
  assertEquals(full.code, 0, full.stderr);
  assertEquals(JSON.parse(scoped.stdout).sha256, JSON.parse(full.stdout).sha256);
  assertEquals(
    _sha256(await Deno.readFile(`${work.path}/scoped.tar.gz`)),
    _sha256(await Deno.readFile(`${work.path}/full.tar.gz`)),
  );
});

Deno.test("parallel deflate: a file that shrinks while its pieces are on the workers fails the pack", async () => {
  await using work = await tempDir();
  const root = `${work.path}/big`;
  await writeTree(root, SPEC);
  const selection = await selectFiles(root);
  // The file is cut after it was selected: its pieces are short of the size its header promised.
  await Deno.truncate(`${root}/weights/a.bin`, SEGMENT_BYTES + 5);
  for (const format of ["tar.gz", "zip"] as const) {
    using deflater = await PieceDeflater.open(selection.total_bytes, 2);
    using file = await Deno.open(`${work.path}/out.${format}`, { write: true, create: true });
    const write = format === "zip" ? writeZipFile : writeTarGz;
    let error: unknown;
    await write(selection.files, file, undefined, "big", undefined, deflater).catch((e) => error = e);
    assert(error instanceof Error && /changed while packing \(it shrank\)/.test(error.message), `${error}`);
  }
});
