/**
 * The parser (lib/scan/parser.ts): the embedded module is what scripts/build_parser.ts builds from the
 * pinned sources, every tree equals the one web-tree-sitter's public API gives for the same grammar, positions
 * are UTF-16 offsets, the time limit holds, and scanning with worker threads gives the same report as without.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { compileParser, parsePython, Parser, ParserFailedError } from "../../lib/scan/parser.ts";
import { listPythonFiles, scanFiles, scanTree } from "../../lib/scan/scan.ts";
import { findingsFor } from "../../lib/scan/file_findings.ts";
import { prepareSource } from "../../lib/scan/prepare.ts";
import { PYTHON_PARSER_WASM } from "../../lib/embedded/python_parser.js";
import {
  buildParser,
  BuildUnavailableError,
  renderParserModule,
  renderParserTypes,
  sha256Hex,
  SOURCES,
} from "../../scripts/build_parser.ts";
import { corpus, stdlibDir } from "./_helpers.ts";
import { pinned, referenceParser } from "./_reference_parser.ts";
import { decodeSource } from "../../lib/scan/source.ts";
import type { SyntaxTree } from "../../lib/scan/tree.ts";

function _assertSameTree(ours: SyntaxTree, reference: SyntaxTree, label: string): void {
  assertEquals(ours.count, reference.count, `${label}: node count`);
  for (const field of ["kind", "parent", "first", "next", "start", "end"] as const) {
    assertEquals(ours[field], reference[field], `${label}: ${field}`);
  }
  assertEquals(ours.maxDepth, reference.maxDepth, `${label}: depth`);
  assertEquals(ours.errors, reference.errors, `${label}: errors`);
}

Deno.test("the embedded parser matches its sha256, and its grammar is the version deno.json pins", async () => {
  const bytes = Uint8Array.from(atob(PYTHON_PARSER_WASM.base64), (c) => c.charCodeAt(0));
  assertEquals(await sha256Hex(bytes), PYTHON_PARSER_WASM.sha256);
  assertEquals(new TextDecoder().decode(bytes.subarray(1, 4)), "asm");
  // The reference test below compares against the grammar's published WASM: both must be one version.
  assertEquals(`npm:${SOURCES.grammar.spec}`, await pinned("tree-sitter-python"));
  assertEquals(PYTHON_PARSER_WASM.sources.grammar, `npm:${SOURCES.grammar.spec}/src`);
  assertEquals(PYTHON_PARSER_WASM.sources.runtime, `npm:${SOURCES.runtime.spec}/vendor/tree-sitter/lib`);
  const imports = WebAssembly.Module.imports(await compileParser()).map((i) => `${i.module}.${i.name}`);
  // Nothing but a clock for the deadline and WASI calls tree-sitter links and never makes.
  for (const name of imports) {
    assert(name === "env.now_ms" || name.startsWith("wasi_snapshot_preview1."), name);
  }
});

Deno.test("every tree equals web-tree-sitter's (corpus, broken code, deep nesting, non-ASCII, stdlib)", async () => {
  const reference = await referenceParser();
  const parser = await Parser.create();
  const sources: [string, string][] = [];
  for (const f of corpus()) {
    const text = decodeSource(f.bytes).text;
    if (text !== null) sources.push([f.name, text]);
  }
  sources.push(
    ["nested", "x = (" + "[".repeat(300) + "]".repeat(300) + ")\n"],
    ["broken", "def f(:\n  pass\n"],
    ["missing", "print((1, 2)\nx = [1,\n"],
    ["non-ascii", "é = 'ü'\ns = '😀'; t = f'{é!r:>{len(s)}}'\n# ç\n"],
    ["empty", ""],
  );
  const stdlib = await stdlibDir();
  for (const pkg of ["email", "json", "asyncio", "http", "logging", "concurrent/futures"]) {
    for (const e of Deno.readDirSync(`${stdlib}/${pkg}`)) {
      if (!e.isFile || !e.name.endsWith(".py")) continue;
      const text = decodeSource(Deno.readFileSync(`${stdlib}/${pkg}/${e.name}`)).text;
      if (text !== null) sources.push([`${pkg}/${e.name}`, text]);
    }
  }
  assert(sources.length > 300, `${sources.length} sources`);
  for (const [label, source] of sources) {
    _assertSameTree(parser.parse(source)!, reference.parse(source), label);
  }
});

Deno.test("broken code recovers into the same trees as web-tree-sitter's (2,000 mutated snippets)", async () => {
  const reference = await referenceParser();
  const parser = await Parser.create();
  const stdlib = await stdlibDir();
  const bases = ["json/decoder.py", "email/utils.py", "http/cookies.py", "logging/config.py"]
    .map((f) => Deno.readTextFileSync(`${stdlib}/${f}`));
  const pieces = [
    ..."()[]{}:,'\"\\\n\t*=;@#x1",
    '"""',
    "    ",
    "**",
    "->",
    "import",
    "def ",
    "lambda",
    "f'",
    "é",
    "😀",
  ];
  let seed = 12345; // a fixed sequence: the same snippets on every run
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let broken = 0;
  for (let k = 0; k < 2000; k++) {
    const base = bases[k % bases.length];
    const at = Math.floor(random() * (base.length - 400));
    let snippet = base.slice(at, at + 50 + Math.floor(random() * 300));
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const p = Math.floor(random() * snippet.length);
      snippet = random() < 0.5
        ? snippet.slice(0, p) + pieces[Math.floor(random() * pieces.length)] + snippet.slice(p)
        : snippet.slice(0, p) + snippet.slice(p + 1 + Math.floor(random() * 5));
    }
    const ours = parser.parse(snippet)!;
    if (ours.errors.length) broken++;
    _assertSameTree(ours, reference.parse(snippet), JSON.stringify(snippet));
  }
  assert(broken > 1000, `only ${broken} of 2000 snippets had syntax errors`);
});

Deno.test("positions are in UTF-16 code units of the source (non-ASCII, astral characters)", async () => {
  const source = "s = '😀é'\nname = 1\n";
  const tree = (await parsePython(source))!;
  const names: string[] = [];
  for (let i = 0; i < tree.count; i++) if (tree.kindName(i) === "identifier") names.push(tree.text(i));
  assertEquals(names, ["s", "name"]);
});

Deno.test("a parse past its time limit gives null, and the parser goes on working", async () => {
  const parser = await Parser.create();
  const big = "x = [" + "(1, 'a', {2: 3}),\n".repeat(200_000) + "]\n";
  assertEquals(parser.parse(big, 1), null);
  const tree = parser.parse("import os\n")!;
  assertEquals(tree.kindName(1), "import_statement");
  assertEquals(tree.errors, []);
});

Deno.test("a parse that dies inside the module is a finding, and the parser recovers", async () => {
  let calls = 0;
  // The clock is called from inside the parse: throwing from it unwinds through tree-sitter mid-parse,
  // as a trap would, and leaves that instance in an unknown state.
  const parser = await Parser.create({
    now: () => {
      if (++calls === 3) throw new Error("clock failure");
      return performance.now();
    },
  });
  const source = "import os\n" + "x = [1, 2, 3]\n".repeat(5_000);
  let failure: unknown;
  try {
    parser.parse(source);
  } catch (error) {
    failure = error;
  }
  assert(failure instanceof ParserFailedError, String(failure));
  assert((failure as Error).message.includes("clock failure"));
  assertEquals(parser.parse("import os\n")!.kindName(1), "import_statement"); // a fresh instance
  calls = 2;
  const prepared = prepareSource(new TextEncoder().encode(source), parser);
  const findings = findingsFor("bad.py", prepared, (s) => parser.parse(s));
  assertEquals(findings.map((f) => [f.rule_id, f.line]), [["source-too-deep", 1]]);
  assert(findings[0].message.includes("clock failure"), findings[0].message);
});

Deno.test("one compiled module serves every parser; each parser is independent", async () => {
  const module = await compileParser();
  assert(module === await compileParser());
  const a = Parser.fromModule(module);
  const b = Parser.fromModule(module);
  const ta = a.parse("import os\n")!;
  const tb = b.parse("def f(:\n")!;
  const ta2 = a.parse("import os\n")!;
  assertEquals(ta2.kind, ta.kind);
  assertEquals(ta.errors, []);
  assert(tb.errors.length > 0);
});

Deno.test("scanning with worker threads, on one thread, in low-memory mode or off-thread gives the same report", async () => {
  const stdlib = await stdlibDir();
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
    // An unreadable file and an undecodable one travel through the workers as findings too.
    await Deno.writeFile(`${dir}/latin1.py`, new Uint8Array([0x78, 0x3d, 0x27, 0xe9, 0x27, 0x0a]));
    await Deno.symlink(`${dir}/missing-target.py`, `${dir}/dangling.py`);
    assert(bytes > 1024 * 1024, `only ${bytes} bytes: the worker path needs more than 1 MiB`);
    Deno.env.set("MIXPEEK_SCAN_WORKERS", "0");
    const single = await scanTree(dir);
    for (const workers of ["1", "3"]) {
      Deno.env.set("MIXPEEK_SCAN_WORKERS", workers);
      assertEquals(await scanTree(dir), single, `${workers} workers`);
    }
    const lean = await scanTree(dir, { lowMemory: true }); // publish's mode: one thread, periodic collection
    assertEquals(lean, single);
    assertEquals(await scanTree(dir, { offThread: true }), single); // the local registry's
    assertEquals(await scanFiles(dir, [...await listPythonFiles(dir)], { offThread: true }), single);
    assert(single.findings.length > 0);
    const sources = single.findings.filter((f) => f.category === "source").map((f) => [f.file, f.rule_id]);
    assertEquals(sources, [["dangling.py", "source-unreadable"], ["latin1.py", "source-encoding"]]);
  } finally {
    Deno.env.delete("MIXPEEK_SCAN_WORKERS");
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fresh build when clang, wasm-ld and wasi-libc are here and clang is the recorded version. */
async function _freshBuild(): Promise<Uint8Array | string> {
  try {
    const build = await buildParser({ offline: true });
    if (build.compiler !== PYTHON_PARSER_WASM.compiler) {
      return `clang here is "${build.compiler}", the embedded module was built with "${PYTHON_PARSER_WASM.compiler}"`;
    }
    if (build.libc !== PYTHON_PARSER_WASM.libc) {
      return `the wasi-libc here (${build.libc}) is not the one the embedded module was built with (${PYTHON_PARSER_WASM.libc})`;
    }
    return new TextEncoder().encode(await renderParserModule(build));
  } catch (error) {
    if (error instanceof BuildUnavailableError) return error.message;
    throw error;
  }
}

const fresh = await _freshBuild();
if (typeof fresh === "string") console.log(`parser_test: reproducible-build test skipped: ${fresh}`);

Deno.test({
  name: "the embedded parser is byte-for-byte what scripts/build_parser.ts builds from the pinned sources",
  ignore: typeof fresh === "string",
  fn: async () => {
    const committed = await Deno.readFile(new URL("../../lib/embedded/python_parser.js", import.meta.url));
    assertEquals(new TextDecoder().decode(fresh as Uint8Array), new TextDecoder().decode(committed));
  },
});

Deno.test("the embedded parser's types are what scripts/build_parser.ts writes beside it", async () => {
  const committed = await Deno.readTextFile(
    new URL("../../lib/embedded/python_parser.d.ts", import.meta.url),
  );
  assertEquals(committed, renderParserTypes());
});
