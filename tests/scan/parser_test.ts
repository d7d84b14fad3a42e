/**
 * The parser: the embedded WASM is the pinned npm file, the fast cursor path copies exactly the tree the
 * public web-tree-sitter API gives, and scanning with worker threads gives the same report as without.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { fastPathEnabled, parsePython, parsePythonSlow } from "../../lib/scan/parser.ts";
import { scanTree } from "../../lib/scan/scan.ts";
import { TREE_SITTER_WASM } from "../../lib/embedded/tree_sitter.ts";
import { corpus } from "./_helpers.ts";
import { decodeSource } from "../../lib/scan/source.ts";

async function _sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the embedded WASM files match their recorded sha256 and come from the pinned packages", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  for (const [name, entry] of Object.entries(TREE_SITTER_WASM)) {
    const bytes = Uint8Array.from(atob(entry.base64), (c) => c.charCodeAt(0));
    assertEquals(await _sha256(bytes), entry.sha256, name);
    assertEquals(new TextDecoder().decode(bytes.subarray(1, 4)), "asm", name);
    const pinned = Object.values(config.imports as Record<string, string>);
    assert(
      pinned.some((spec) => entry.source.startsWith(spec + "/")),
      `${entry.source} is not pinned in deno.json`,
    );
  }
});

Deno.test("the fast cursor path is in use and gives the same tree as the public API", async () => {
  assert(await fastPathEnabled());
  const sources = corpus().map((f) => decodeSource(f.bytes).text).filter((t): t is string => t !== null);
  sources.push("x = (" + "[".repeat(300) + "]".repeat(300) + ")\n", "def f(:\n  pass\n", "é = 'ü'\n");
  for (const source of sources) {
    const fast = (await parsePython(source))!;
    const slow = (await parsePythonSlow(source))!;
    assertEquals(fast.count, slow.count);
    for (const field of ["kind", "parent", "first", "next", "start", "end"] as const) {
      assertEquals(fast[field], slow[field], field);
    }
    assertEquals(fast.errors, slow.errors);
  }
});

Deno.test("positions are in UTF-16 code units of the source (non-ASCII, astral characters)", async () => {
  const source = "s = '😀é'\nname = 1\n";
  const tree = (await parsePython(source))!;
  const names: string[] = [];
  for (let i = 0; i < tree.count; i++) if (tree.kindName(i) === "identifier") names.push(tree.text(i));
  assertEquals(names, ["s", "name"]);
});

Deno.test("scanning with a worker thread, on one thread, or in low-memory mode gives the same report", async () => {
  const stdlib = new TextDecoder().decode(
    (await new Deno.Command("python3", {
      args: ["-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"],
      stdout: "piped",
    }).output()).stdout,
  ).trim();
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-workers-" });
  try {
    let bytes = 0;
    for (const pkg of ["email", "http", "logging", "urllib", "json", "importlib"]) {
      await Deno.mkdir(`${dir}/${pkg}`);
      for (const e of Deno.readDirSync(`${stdlib}/${pkg}`)) {
        if (!e.isFile || !e.name.endsWith(".py")) continue;
        await Deno.copyFile(`${stdlib}/${pkg}/${e.name}`, `${dir}/${pkg}/${e.name}`);
        bytes += Deno.statSync(`${dir}/${pkg}/${e.name}`).size;
      }
    }
    assert(bytes > 1024 * 1024, `only ${bytes} bytes: the worker path needs more than 1 MiB`);
    Deno.env.set("MIXPEEK_SCAN_WORKERS", "0");
    const single = await scanTree(dir);
    Deno.env.set("MIXPEEK_SCAN_WORKERS", "2");
    const parallel = await scanTree(dir);
    assertEquals(parallel, single);
    const lean = await scanTree(dir, { lowMemory: true }); // publish's mode: one thread, periodic collection
    assertEquals(lean, single);
    assert(single.findings.length > 0);
    assertEquals(single.findings.filter((f) => f.category === "source"), []);
  } finally {
    Deno.env.delete("MIXPEEK_SCAN_WORKERS");
    await Deno.remove(dir, { recursive: true });
  }
});
