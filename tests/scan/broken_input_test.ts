/**
 * Broken and hostile input: every file gets a result or a clear finding, without a crash or a hang —
 * empty files, binary files named .py, 10,000-level nesting, a 20 MB file, NUL bytes, CRLF and lone CR,
 * tab/space mixes. (No timing assertions: a hang would time the test out.)
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { scanSource, scanTree } from "../../lib/scan/scan.ts";
import { findingsFor } from "../../lib/scan/file_findings.ts";
import { Parser } from "../../lib/scan/parser.ts";
import { prepareSource, readBounded } from "../../lib/scan/prepare.ts";
import { MAX_FILE_BYTES } from "../../lib/scan/source.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const rules = async (name: string, bytes: Uint8Array) =>
  (await scanSource(name, bytes)).map((f) => f.rule_id);

Deno.test("an empty file has no findings", async () => {
  assertEquals(await rules("empty.py", new Uint8Array(0)), []);
  assertEquals(await rules("blank.py", enc("\n\n   \n")), []);
});

Deno.test("a binary file named .py is a source-encoding finding", async () => {
  const bytes = new Uint8Array(8192);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) & 0xff;
  const findings = await scanSource("model.py", bytes);
  assertEquals(findings.map((f) => f.rule_id), ["source-encoding"]);
  assert(findings[0].message.includes("not valid UTF-8"), findings[0].message);
});

Deno.test("10,000 levels of nesting (brackets, calls, attributes, not, +) end in a source-too-deep finding", async () => {
  const n = 10_000;
  const sources = [
    "x = " + "(".repeat(n) + "1" + ")".repeat(n) + "\n",
    "x = " + "[".repeat(n) + "]".repeat(n) + "\n",
    "x = " + "f(".repeat(n) + ")".repeat(n) + "\n",
    "x = a" + ".b".repeat(n) + "\n",
    "x = " + "not ".repeat(n) + "a\n",
    "x = " + Array(n * 10).fill("a").join(" + ") + "\n",
    "import os\nx = " + "getattr(".repeat(n) + "os" + ", 'a')".repeat(n) + "\n",
  ];
  for (const source of sources) {
    const found = await rules("deep.py", enc(source));
    assert(found.includes("source-too-deep"), `${source.slice(0, 30)}…: ${found.join(", ")}`);
  }
});

Deno.test("deep but valid nesting CPython accepts is analysed, not rejected", async () => {
  assertEquals(await rules("ok.py", enc("x = " + "not ".repeat(2500) + "a\n")), []);
  assertEquals(await rules("ok.py", enc("x = " + Array(2500).fill("a").join("+") + "\n")), []);
  const cond = "import os\ngetattr(os, " + "'a' if x else ".repeat(1000) + "'system')\n";
  assertEquals(await rules("cond.py", enc(cond)), ["shell-os-system"]);
});

Deno.test("a folding bomb (nested joins over 4,000-item literals) ends with a finding, not a hang", async () => {
  const items = "[" + Array(4000).fill("115").join(",") + "]";
  const source = `import os\nX = ${items}\ngetattr(os, "".join("".join(chr(c) for c in X) for b in X))\n`;
  assertEquals(await rules("bomb.py", enc(source)), ["introspection-dynamic-lookup"]);
  const steps = "import os\nx = 's'\n" + Array.from({ length: 3000 }, (_, i) => `x${i} = x + x\n`).join("");
  assert((await rules("steps.py", enc(steps))).length === 0);
});

Deno.test("a 20 MB file is a clear source-too-large finding", async () => {
  const line = enc("VALUES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # padding\n");
  const big = new Uint8Array(20 * 1024 * 1024);
  for (let i = 0; i + line.length <= big.length; i += line.length) big.set(line, i);
  const findings = await scanSource("data.py", big);
  assertEquals(findings.map((f) => f.rule_id), ["source-too-large"]);
  assert(findings[0].message.includes("20.0 MiB"), findings[0].message);
});

Deno.test("a file over the size limit is never read: its size on the open file decides, to the byte", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-bounded-" });
  try {
    const exact = new Uint8Array(MAX_FILE_BYTES).fill(0x20);
    exact.set(enc("x = 1\n"), 0);
    await Deno.writeFile(`${dir}/exact.py`, exact);
    await Deno.writeFile(`${dir}/over.py`, new Uint8Array(MAX_FILE_BYTES + 1).fill(0x20));
    // A sparse 1 TiB file: reading it would take hours and a terabyte of memory.
    using huge = await Deno.open(`${dir}/huge.py`, { write: true, create: true });
    await huge.truncate(1024 ** 4);
    const exactRead = readBounded(`${dir}/exact.py`);
    assert("bytes" in exactRead && exactRead.bytes.length === MAX_FILE_BYTES);
    assertEquals(readBounded(`${dir}/over.py`), { tooLarge: MAX_FILE_BYTES + 1 });
    assertEquals(readBounded(`${dir}/huge.py`), { tooLarge: 1024 ** 4 });
    const report = await scanTree(dir);
    assertEquals(report.findings.map((f) => `${f.file} ${f.rule_id}`), [
      "huge.py source-too-large",
      "over.py source-too-large",
    ]);
    assert(report.findings[0].message.includes("1048576.0 MiB"), report.findings[0].message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a parse past the parser's memory budget, and a tree past the node limit, are source-too-large findings", async () => {
  // A flat list literal is tree-sitter's most memory-hungry input (~250 bytes a node).
  const literal = enc("X = [" + "1,".repeat(1_500_000) + "]\n");
  const findings = await scanSource("literal.py", literal);
  assertEquals(findings.map((f) => f.rule_id), ["source-too-large"]);
  assert(findings[0].message.includes("MiB, the scanner's limit"), findings[0].message);
  // The parser is replaced after such a parse and keeps working.
  assertEquals(await rules("after.py", enc("import socket\n")), ["network-socket"]);
  const parser = await Parser.create({ memoryBudget: 4 * 1024 * 1024 });
  assertEquals(
    findingsFor(
      "small_budget.py",
      prepareSource(enc("x = [" + "1,".repeat(50_000) + "]\n"), parser),
      () => null,
    )
      .map((f) => f.rule_id),
    ["source-too-large"],
  );
  assert(parser.parse("x = 1\n") !== null);
});

Deno.test("NUL bytes are a finding, and code after them is still analysed", async () => {
  assertEquals(await rules("nul.py", enc("x = 1\0\nimport subprocess\n")), [
    "source-null-byte",
    "shell-subprocess",
  ]);
});

Deno.test("CRLF files scan like LF files; a lone CR ends a line (even in what looks like a comment)", async () => {
  const lf = await scanSource("a.py", enc("import os\n\nos.system('x')\n"));
  const crlf = await scanSource("a.py", enc("import os\r\n\r\nos.system('x')\r\n"));
  assertEquals(crlf, lf);
  assertEquals(await rules("cr.py", enc("# just a comment\rimport socket\r")), ["network-socket"]);
  const hidden = await scanSource("cr.py", enc("x = 1  # note\rimport ctypes\n"));
  assertEquals(hidden.map((f) => [f.line, f.rule_id]), [[2, "memory-ctypes"]]);
});

Deno.test("tab/space mixes: consistent tabs are fine, ambiguous ones are a TabError finding", async () => {
  assertEquals(await rules("tabs.py", enc("def f(x):\n\tif x:\n\t\treturn 1\n\treturn 2\n")), []);
  assertEquals(await rules("mixed.py", enc("if x:\n\ty = 1\n        z = 2\n")), ["source-indentation"]);
  assertEquals(await rules("mixed.py", enc("if x:\n    y = 1\n\tz = 2\n")), ["source-indentation"]);
});

Deno.test("a tree with broken files still reports every file, sorted and deterministic", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-broken-" });
  try {
    await Deno.mkdir(`${dir}/pkg/__pycache__`, { recursive: true });
    await Deno.mkdir(`${dir}/.venv/lib`, { recursive: true });
    await Deno.writeFile(`${dir}/pkg/binary.py`, new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
    await Deno.writeTextFile(`${dir}/pkg/ok.py`, "x = 1\n");
    await Deno.writeTextFile(`${dir}/pkg/__pycache__/cached.py`, "import socket\n");
    await Deno.writeTextFile(`${dir}/.venv/lib/site.py`, "import socket\n");
    await Deno.writeTextFile(`${dir}/a.py`, "print 'x'\nimport socket\n");
    await Deno.symlink(`${dir}/missing.py`, `${dir}/dangling.py`);
    const first = await scanTree(dir);
    const second = await scanTree(dir);
    assertEquals(first, second);
    assertEquals(first.files_scanned, 4);
    assertEquals(
      first.findings.map((f) => `${f.file}:${f.line}:${f.rule_id}`),
      [
        "a.py:1:source-python2",
        "a.py:2:network-socket",
        "dangling.py:1:source-unreadable",
        "pkg/binary.py:1:source-encoding",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
