/**
 * A hostile plugin tree for the scanner's memory and event-loop proofs: ~500 MB of `.py` files, two of them
 * 240 MiB (as the 12 MB upload that inflates to two 510 MiB files), plus files just under the scanner's
 * size limit that are parsed and analysed (one a literal built to make the analysis work hard). Used by
 * tests/scan/offthread_test.ts (the scanner alone) and tests/local/hostile_archive_test.ts (the registry).
 */
import { MAX_FILE_BYTES } from "../../lib/scan/source.ts";

const MiB = 1024 * 1024;

async function _writeRepeated(path: string, line: string, bytes: number): Promise<void> {
  const chunk = new TextEncoder().encode(line.repeat(Math.ceil(MiB / line.length)));
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let written = 0; written < bytes; written += chunk.length) await file.write(chunk);
}

/** Python source of about `bytes` (default: just under the size limit): `make(i)` writes one statement. */
async function _writeUnderLimit(
  path: string,
  head: string,
  make: (i: number) => string,
  bytes = MAX_FILE_BYTES - 256,
): Promise<void> {
  const parts: string[] = [head];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const s = make(i);
    parts.push(s);
    size += s.length;
  }
  await Deno.writeTextFile(path, parts.join(""));
}

/** Writes the tree under `root` (manifest.py and processors/); returns its total size in bytes. */
export async function writeHostileTree(root: string, hugeBytes = 240 * MiB): Promise<number> {
  await Deno.mkdir(`${root}/processors`, { recursive: true });
  await Deno.writeTextFile(`${root}/manifest.py`, "metadata = {}\n");
  await _writeRepeated(`${root}/processors/huge_a.py`, "x = 1  # padding padding padding\n", hugeBytes);
  await _writeRepeated(`${root}/processors/huge_b.py`, "import os\nos.system('id')\n", hugeBytes);
  // Under the size limit, read and parsed: a flat literal of ~2 million items and ~100,000 functions
  // (each past the parser's memory budget), and 1 MiB of lookups the evaluator folds one by one.
  await _writeUnderLimit(`${root}/processors/literal.py`, "import os\nX = [", (i) => `${i % 10},`);
  await Deno.writeTextFile(`${root}/processors/literal.py`, "]\nfn = getattr(os, X[0])\n", { append: true });
  await _writeUnderLimit(
    `${root}/processors/functions.py`,
    "",
    (i) => `def f${i}(a, b=${i}):\n    return a + b\n`,
  );
  await _writeUnderLimit(
    `${root}/processors/lookups.py`,
    "import os\n",
    (i) => `getattr(os, "path" + str(${i} % 1))\n`,
    MiB,
  );
  await Deno.writeTextFile(`${root}/processors/lookups.py`, "getattr(os, 'sys' + 'tem')('id')\n", {
    append: true,
  });
  let total = 0;
  for (const rel of ["manifest.py"]) total += (await Deno.stat(`${root}/${rel}`)).size;
  for await (const e of Deno.readDir(`${root}/processors`)) {
    total += (await Deno.stat(`${root}/processors/${e.name}`)).size;
  }
  return total;
}

/** VmHWM (peak resident memory) of a process, in MiB, from /proc. */
export function peakRssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}
