/** In-process tests of the pieces of `plugin test`: layout, JUnit parsing, Python discovery, rendering. */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { UsageError } from "../../lib/errors.ts";
import { checkLayout, packageNameProblem } from "../../lib/plugin/layout.ts";
import { pythonImports, relativeSpelling } from "../../lib/plugin/imports.ts";
import { parseJUnit, parseXml } from "../../lib/plugin/junit.ts";
import { findPython, runChild } from "../../lib/plugin/python.ts";
import { parseTimeout, renderCheck } from "../../lib/cli/test.ts";
import { HARNESS_FILES } from "../../lib/embedded/harness.ts";
import { RUNTIME_FILES } from "../../lib/embedded/runtime.ts";
import { copyFixture, FIXTURES } from "./_helpers.ts";

const PLAIN = { red: String, green: String, yellow: String, dim: String, bold: String };

Deno.test("checkLayout: a valid plugin has no problems; a broken one names each path and line", async () => {
  assertEquals(await checkLayout(`${FIXTURES}/valid`), []);
  await using dir = await tempDir();
  const root = await copyFixture("valid", dir.path);
  await Deno.remove(`${root}/processors/__init__.py`);
  await Deno.writeTextFile(`${root}/pipeline.py`, "import os\nfrom processors.core import LetterProcessor\n");
  assertEquals(await checkLayout(root), [
    {
      path: "processors/__init__.py",
      message: "processors/__init__.py is missing: processors/ holds Python modules, so it needs an " +
        "__init__.py (it may be empty)",
    },
    {
      path: "pipeline.py",
      line: 2,
      message:
        "`from processors.core import …` imports the plugin's own module by its top-level name, which " +
        'does not exist on Mixpeek (it imports the plugin as the package "valid"): write ' +
        "`from .processors.core import LetterProcessor`",
    },
  ]);
});

Deno.test("checkLayout: hidden folders and virtualenvs need no __init__.py; tests/ does", async () => {
  await using dir = await tempDir();
  const root = `${dir.path}/plugin_x`;
  await Deno.mkdir(`${root}/tests`, { recursive: true });
  await Deno.mkdir(`${root}/.venv/lib`, { recursive: true });
  for (const f of ["__init__.py", "manifest.py", "pipeline.py"]) await Deno.writeTextFile(`${root}/${f}`, "");
  await Deno.writeTextFile(`${root}/.venv/lib/site.py`, "\xff");
  assertEquals(await checkLayout(root), []);
  await Deno.writeTextFile(`${root}/tests/test_x.py`, "");
  assertEquals((await checkLayout(root)).map((p) => p.path), ["tests/__init__.py"]);
});

Deno.test("checkLayout: the folder name must be a package name, and not one of the runtime's", async () => {
  await using dir = await tempDir();
  for (
    const [name, says] of [
      ["my-plugin", 'rename the folder (e.g. to "my_plugin")'],
      ["2fast", '"plugin_2fast"'],
      ["class", "is a Python keyword"],
      ["shared", "a package of the platform runtime"],
    ]
  ) {
    const root = await copyFixture("valid", dir.path, name);
    const [problem] = await checkLayout(root);
    assertEquals(problem.path, ".");
    assertStringIncludes(problem.message, says);
  }
  assertEquals(packageNameProblem("my_plugin"), undefined);
});

Deno.test("pythonImports: strings and comments are not imports; continuations and compound lines are", () => {
  const source = [
    '"""A docstring that says',
    "import manifest",
    '"""',
    "# import pipeline",
    "import os, processors.core as core",
    "from . import manifest",
    "from ..manifest import (",
    "    a,",
    "    b as c,",
    ")",
    "if True: from pipeline import build_steps",
    "x = 'from realtime import y'",
    "import json; from tests.helpers import z",
  ].join("\n");
  assertEquals(pythonImports(source).map((i) => [i.line, i.kind, i.level, i.module, i.names]), [
    [5, "import", 0, "os", [{ name: "os" }, { name: "processors.core", as: "core" }]],
    [6, "from", 1, "", [{ name: "manifest" }]],
    [7, "from", 2, "manifest", [{ name: "a" }, { name: "b", as: "c" }]],
    [11, "from", 0, "pipeline", [{ name: "build_steps" }]],
    [13, "import", 0, "json", [{ name: "json" }]],
    [13, "from", 0, "tests.helpers", [{ name: "z" }]],
  ]);
  const [imp] = pythonImports("import processors.core as c");
  assertEquals(relativeSpelling(imp, 0), "from .processors import core as c");
  assertEquals(relativeSpelling(pythonImports("from manifest import X")[0], 1), "from ..manifest import X");
});

Deno.test("parseJUnit: counts, node ids with classes and parameters, locations, entities", () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest"
    errors="0" failures="2" skipped="1" tests="5" time="0.032"><testcase classname="tests.test_a" name="test_ok"
    file="tests/test_a.py" line="1" time="0.000" /><testcase classname="tests.test_a" name="test_bad"
    file="tests/test_a.py" line="2"><failure message="AssertionError: x &lt; y &amp; z&#10;assert 1 == 2">def test_bad():
&gt;       assert x == 2
E       AssertionError: x &lt; y

tests/test_a.py:5: AssertionError</failure></testcase><testcase classname="tests.test_a.TestK" name="test_p[2]"
    file="tests/test_a.py" line="6"><failure message="assert 2 == 1">/usr/lib/python3/x.py:9: in f
processors/core.py:30: in g
/usr/lib/python3/y.py:1: ValueError</failure></testcase><testcase classname="tests.test_a" name="test_s"
    file="tests/test_a.py" line="9"><skipped message="skip" /></testcase></testsuite></testsuites>`;
  const report = parseJUnit(xml);
  assertEquals([report.tests, report.failures, report.errors, report.skipped, report.passed], [
    5,
    2,
    0,
    1,
    2,
  ]);
  assertEquals(report.failed, [
    {
      test_id: "tests/test_a.py::test_bad",
      kind: "failure",
      message: "AssertionError: x < y & z\nassert 1 == 2",
      file: "tests/test_a.py",
      line: 5,
    },
    {
      test_id: "tests/test_a.py::TestK::test_p[2]",
      kind: "failure",
      message: "assert 2 == 1",
      file: "processors/core.py",
      line: 30,
    },
  ]);
});

Deno.test("parseJUnit: a collection error is reported by module with the E lines", () => {
  const report = parseJUnit(`<testsuites><testsuite errors="1" failures="0" skipped="0" tests="1" time="0.1">
    <testcase classname="" name="tests.test_err" file="tests/test_err.py"><error message="collection failure">Traceback:
tests/test_err.py:1: in &lt;module&gt;
    import nonexistent_mod
E   ModuleNotFoundError: No module named 'nonexistent_mod'</error></testcase></testsuite></testsuites>`);
  assertEquals(report.failed, [{
    test_id: "tests/test_err.py",
    kind: "error",
    message: "ModuleNotFoundError: No module named 'nonexistent_mod'",
    file: "tests/test_err.py",
    line: 1,
  }]);
});

Deno.test("parseXml: rejects mismatched tags", () => {
  let error: unknown;
  try {
    parseXml("<a><b></a>");
  } catch (e) {
    error = e;
  }
  assert(error instanceof SyntaxError);
});

Deno.test("findPython: --python, then MIXPEEK_PYTHON, then .venv, then python3 / python on PATH", async () => {
  await using dir = await tempDir();
  const bin = `${dir.path}/bin`;
  await Deno.mkdir(bin);
  await Deno.mkdir(`${dir.path}/plugin/.venv/bin`, { recursive: true });
  for (
    const f of [`${bin}/python`, `${bin}/python3`, `${bin}/other`, `${dir.path}/plugin/.venv/bin/python`]
  ) {
    await Deno.writeTextFile(f, "#!/bin/sh\n");
    await Deno.chmod(f, 0o755);
  }
  const root = `${dir.path}/plugin`;
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  const find = (flag: string | undefined, vars: Record<string, string>) =>
    findPython(root, { flag, env: env({ PATH: bin, ...vars }), os: "linux" });
  assertEquals(await find("other", { MIXPEEK_PYTHON: `${bin}/python` }), {
    command: `${bin}/other`,
    source: "--python",
  });
  assertEquals(await find(undefined, { MIXPEEK_PYTHON: `${bin}/python` }), {
    command: `${bin}/python`,
    source: "MIXPEEK_PYTHON",
  });
  assertEquals(await find(undefined, {}), { command: `${root}/.venv/bin/python`, source: ".venv" });
  await Deno.remove(`${root}/.venv`, { recursive: true });
  assertEquals(await find(undefined, {}), { command: `${bin}/python3`, source: "PATH" });
  await Deno.remove(`${bin}/python3`);
  assertEquals(await find(undefined, {}), { command: `${bin}/python`, source: "PATH" });
  await Deno.chmod(`${bin}/python`, 0o644); // not executable: not a candidate
  await assertRejects(() => find(undefined, {}), Error, "no Python found");
  await assertRejects(() => find("./missing/python", {}), UsageError, "no such file");
});

Deno.test("runChild: a timeout kills the child's process group and says so", async () => {
  const r = await runChild("sh", { args: ["-c", "sleep 30 & sleep 30"], cwd: "/", timeoutMs: 200 });
  assert(r.timed_out);
  assert(r.duration_ms < 10_000);
});

Deno.test("parseTimeout: seconds (decimals allowed) to milliseconds; anything else is a usage error", () => {
  assertEquals(parseTimeout("2.5"), 2500);
  assertEquals(parseTimeout(undefined), 120_000);
  for (const bad of ["", "0", "-1", "abc", "Infinity"]) {
    let error: unknown;
    try {
      parseTimeout(bad);
    } catch (e) {
      error = e;
    }
    assert(error instanceof UsageError, bad);
  }
});

Deno.test("renderCheck: one line per check; details indented under a failure with file:line", () => {
  assertEquals(
    renderCheck(
      { id: "manifest", status: "pass", reason: "metadata ok", details: [], duration_ms: 1 },
      PLAIN,
    ),
    "✓ manifest     metadata ok",
  );
  assertEquals(
    renderCheck({
      id: "manifest",
      status: "fail",
      reason: "bad version",
      details: [{ file: "manifest.py", line: 3, message: "bad version" }],
      duration_ms: 1,
    }, PLAIN),
    "✗ manifest     manifest.py:3: bad version",
  );
  const many = renderCheck(
    {
      id: "sample_data",
      status: "fail",
      reason: "3 records: 1 ok, 2 failed",
      details: [
        { file: "a.json", line: 2, record: 0, message: "record 0 is bad" },
        { file: "a.json", line: 3, record: 1, message: "record 1 is bad" },
      ],
      duration_ms: 1,
    },
    PLAIN,
    1,
  );
  assertEquals(many.split("\n"), [
    "✗ sample_data  3 records: 1 ok, 2 failed",
    "    a.json:2: record 0 is bad",
    "    … and 1 more (all of them with --verbose or --json)",
  ]);
});

Deno.test("the harness and the runtime are embedded and parse with Python 3.8's grammar", async () => {
  const source = HARNESS_FILES["harness.py"];
  assertStringIncludes(source, "def main():");
  const files = { "harness.py": source, ...RUNTIME_FILES };
  const check = "import ast, json, sys\nfor name, text in json.load(sys.stdin).items():\n" +
    "    if name.endswith('.py'): ast.parse(text, name, feature_version=(3, 8))";
  const out = await new Deno.Command("python3", {
    args: ["-c", check],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(files)));
  await writer.close();
  const r = await out.output();
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  assert(Object.keys(RUNTIME_FILES).includes("engine/plugins/extractors/pipeline.py"));
});
