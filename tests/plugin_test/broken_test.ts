/**
 * The broken-plugin corpus (tests/fixtures/plugins/): each plugin has one defect, and `mixpeek plugin test`
 * must fail exactly the check that owns it, exit 3, and name the file (and line, where one exists) —
 * the line is the one marked `FAIL HERE` in the fixture unless the case gives it.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import type { CliResult } from "../helpers/cli.ts";
import { tempDir } from "../helpers/cli.ts";
import { checkLines, FIXTURES, markerLine, pluginTest, pool, SCANNER } from "./_helpers.ts";

interface Case {
  fixture: string;
  /** Extra flags; the CLI runs with the fixture as its working folder (`--path .`). */
  args?: string[];
  /** Exactly the checks that must fail (scan included only when it must fail too). */
  fails: string[];
  /** The file the failing check's message names (relative to the fixture, or as given on the command line). */
  file: string;
  /** The line it names: "marker" = the FAIL HERE line of `file`; undefined = no line. */
  line?: number | "marker";
  /** Text the failing check's output must contain as well. */
  says?: string;
  /** The security scan must fail too (code the parser rejects). Only asserted when the scanner exists. */
  scanFails?: boolean;
  /** Skip unless the scanner exists (the case is about the scan). */
  needsScanner?: boolean;
}

// The hanging cases use --timeout 3, not less: the harness must get past importing pydantic and the
// plugin before the hang even when the whole suite loads both cores.
const CASES: Case[] = [
  // structure
  { fixture: "missing_manifest", fails: ["structure"], file: "manifest.py", says: "manifest.py is missing" },
  { fixture: "missing_pipeline", fails: ["structure"], file: "pipeline.py", says: "pipeline.py is missing" },
  { fixture: "missing_processors_init", fails: ["structure"], file: "processors/__init__.py" },
  { fixture: "missing_core", fails: ["structure"], file: "processors/core.py" },
  { fixture: "missing_subpackage_init", fails: ["structure"], file: "processors/models/__init__.py" },
  { fixture: "manifest_is_a_folder", fails: ["structure"], file: "manifest.py", says: "not a regular file" },
  {
    fixture: "non_utf8_module",
    fails: ["structure"],
    file: "processors/core.py",
    line: 5,
    says: "not valid UTF-8",
    scanFails: true,
  },
  // schemas
  {
    fixture: "syntax_error_manifest",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    scanFails: true,
  },
  { fixture: "manifest_without_metadata", fails: ["schemas"], file: "manifest.py", says: "metadata" },
  { fixture: "metadata_not_a_dict", fails: ["schemas"], file: "manifest.py", line: "marker", says: "dict" },
  {
    fixture: "metadata_missing_author",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "'author'",
  },
  {
    fixture: "bad_version",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "semantic version",
  },
  {
    fixture: "unknown_category",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "'spreadsheet'",
  },
  { fixture: "bad_resource_type", fails: ["schemas"], file: "manifest.py", line: "marker", says: "'tpu'" },
  { fixture: "bad_name", fails: ["schemas"], file: "manifest.py", line: "marker", says: "snake_case" },
  {
    fixture: "schema_not_a_model",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "InputSchema is a dict, not a pydantic model",
  },
  {
    fixture: "schema_mismatch",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "input_schema",
  },
  {
    fixture: "schema_without_json_schema",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "OutputSchema has no valid JSON Schema",
  },
  {
    fixture: "import_error_manifest",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "ModuleNotFoundError",
  },
  {
    fixture: "exit_in_manifest",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "sys.exit(3)",
  },
  {
    fixture: "hanging_import",
    args: ["--timeout", "3"],
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "timed out after 3 s while importing manifest.py",
  },
  {
    fixture: "realtime_without_module",
    fails: ["schemas"],
    file: "manifest.py",
    line: "marker",
    says: "realtime.py",
  },
  // pipeline
  {
    fixture: "syntax_error_pipeline",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    scanFails: true,
  },
  {
    fixture: "syntax_error_core",
    fails: ["pipeline"],
    file: "processors/core.py",
    line: "marker",
    says: "SyntaxError",
    scanFails: true,
  },
  {
    fixture: "syntax_error_realtime",
    fails: ["pipeline"],
    file: "realtime.py",
    line: "marker",
    scanFails: true,
  },
  {
    fixture: "build_steps_missing",
    fails: ["pipeline"],
    file: "pipeline.py",
    says: "does not define build_steps()",
  },
  {
    fixture: "build_steps_not_callable",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "a list",
  },
  {
    fixture: "build_steps_raising",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "RuntimeError: model weights not found",
  },
  {
    fixture: "build_steps_returns_none",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "None",
  },
  {
    fixture: "build_steps_returns_empty",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "empty",
  },
  {
    fixture: "step_without_fn",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: 'callable "fn"',
  },
  { fixture: "crash_in_build_steps", fails: ["pipeline"], file: "pipeline.py", says: "exited with code 7" },
  // tests
  {
    fixture: "failing_pytest",
    fails: ["tests"],
    file: "tests/test_core.py",
    line: "marker",
    says: "tests/test_core.py::test_measure_counts_words",
  },
  {
    fixture: "pytest_collection_error",
    fails: ["tests"],
    file: "tests/test_core.py",
    line: "marker",
    says: "cannot import name 'count_words'",
  },
  // sample data: the plugins are valid; the records are not
  {
    fixture: "sample_violates_schema",
    args: ["--sample-data", "bad_records.json"],
    fails: ["sample_data"],
    file: "bad_records.json",
    line: 3,
    says: "record 1 does not match InputSchema",
  },
  {
    fixture: "sample_malformed_json",
    args: ["--sample-data", "broken.json"],
    fails: ["sample_data"],
    file: "broken.json",
    line: 3,
    says: "invalid JSON",
  },
  {
    fixture: "sample_malformed_jsonl",
    args: ["--sample-data", "broken.jsonl"],
    fails: ["sample_data"],
    file: "broken.jsonl",
    line: 2,
    says: "invalid JSON on line 2",
  },
  {
    fixture: "sample_malformed_csv",
    args: ["--sample-data", "broken.csv"],
    fails: ["sample_data"],
    file: "broken.csv",
    line: 3,
    says: "invalid CSV",
  },
  {
    fixture: "sample_csv_wrong_width",
    args: ["--sample-data", "wide.csv"],
    fails: ["sample_data"],
    file: "wide.csv",
    line: 3,
    says: "3 fields; the header has 2",
  },
  {
    fixture: "sample_non_utf8",
    args: ["--sample-data", "latin1.csv"],
    fails: ["sample_data"],
    file: "latin1.csv",
    line: 3,
    says: "not valid UTF-8",
  },
  {
    fixture: "sample_empty",
    args: ["--sample-data", "empty.json"],
    fails: ["sample_data"],
    file: "empty.json",
    says: "no records",
  },
  {
    fixture: "step_raises_on_record",
    args: ["--sample-data", "records.jsonl"],
    fails: ["sample_data"],
    file: "processors/core.py",
    line: "marker",
    says: "record 1: step 'measure' raised ValueError: cannot measure boom",
  },
  {
    fixture: "output_violates_schema",
    args: ["--sample-data", "sample_data.json"],
    fails: ["sample_data"],
    file: "manifest.py",
    line: "marker",
    says: "output does not match OutputSchema",
  },
  {
    fixture: "step_returns_none",
    args: ["--sample-data", "sample_data.json"],
    fails: ["sample_data"],
    file: "processors/core.py",
    line: "marker",
    says: "returned None, expected a dict",
  },
  {
    fixture: "hanging_step",
    args: ["--sample-data", "sample_data.json", "--timeout", "3"],
    fails: ["sample_data"],
    file: "processors/core.py",
    line: "marker",
    says: "timed out after 3 s while running step 'measure' on record 0",
  },
  {
    fixture: "segfault_in_step",
    args: ["--sample-data", "sample_data.json"],
    fails: ["sample_data"],
    file: "processors/core.py",
    line: "marker",
    says: "(SIGSEGV) while running record 0: Fatal Python error: Segmentation fault",
  },
  // scan
  {
    fixture: "forbidden_code",
    fails: ["scan"],
    file: "processors/core.py",
    line: "marker",
    needsScanner: true,
  },
];

const limit = pool(2);
const runs = new Map<string, Promise<CliResult>>();

/** Every case's CLI run, started on first use, two at a time (the tests then await their own). */
function result(c: Case): Promise<CliResult> {
  if (runs.size === 0) {
    for (const each of CASES) {
      if (each.needsScanner && !SCANNER) continue;
      runs.set(
        each.fixture,
        limit(() =>
          pluginTest(["--path", ".", ...(each.args ?? [])], { cwd: `${FIXTURES}/${each.fixture}` })
        ),
      );
    }
  }
  return runs.get(c.fixture)!;
}

function assertFails(stdout: string, fails: string[], scanFails = false): ReturnType<typeof checkLines> {
  const lines = checkLines(stdout);
  assertEquals(
    lines.map((l) => l.id),
    ["structure", "schemas", "pipeline", "scan", "tests", "sample_data"],
    stdout,
  );
  const expected = SCANNER && scanFails ? [...fails, "scan"] : fails;
  const failed = lines.filter((l) => l.mark === "✗").map((l) => l.id)
    .filter((id) => SCANNER || id !== "scan");
  assertEquals(failed.sort(), [...expected].sort(), stdout);
  return lines;
}

for (const c of CASES) {
  Deno.test({
    name: `plugin test: ${c.fixture} fails ${c.fails.join(", ")}`,
    ignore: c.needsScanner && !SCANNER,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const r = await result(c);
      assertEquals(r.code, 3, r.stdout + r.stderr);
      const lines = assertFails(r.stdout, c.fails, c.scanFails);
      const check = lines.find((l) => l.id === c.fails[0])!;
      const text = [check.text, ...check.details].join("\n");
      const line = c.line === "marker" ? markerLine(`${FIXTURES}/${c.fixture}/${c.file}`) : c.line;
      assertStringIncludes(text, line === undefined ? c.file : `${c.file}:${line}`);
      if (c.says) assertStringIncludes(text, c.says);
      assertStringIncludes(r.stderr, `plugin invalid`);
      assertStringIncludes(r.stderr, c.fails[0]);
    },
  });
}

Deno.test("plugin test: an empty folder fails the structure check, naming every required file", async () => {
  await using dir = await tempDir();
  const r = await pluginTest(["--path", dir.path]);
  assertEquals(r.code, 3, r.stdout + r.stderr);
  const lines = assertFails(r.stdout, ["structure"]);
  const text = lines[0].details.join("\n");
  for (
    const file of [
      "__init__.py",
      "manifest.py",
      "pipeline.py",
      "processors/__init__.py",
      "processors/core.py",
    ]
  ) {
    assertStringIncludes(text, `${file} is missing`);
  }
  assert(lines.slice(1).every((l) => l.id === "scan" || l.mark === "-"), r.stdout);
});

Deno.test("plugin test: a path that is a file fails the structure check, naming it", async () => {
  const file = `${FIXTURES}/valid/manifest.py`;
  const r = await pluginTest(["--path", file]);
  assertEquals(r.code, 3, r.stdout + r.stderr);
  const lines = assertFails(r.stdout, ["structure"]);
  assertStringIncludes(lines[0].text, `${file} is a file, not a plugin folder`);
  assertEquals(lines.find((l) => l.id === "scan")?.mark, "-");
});

Deno.test("plugin test: the corpus has at least 25 broken plugins, each with a test", async () => {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(FIXTURES)) if (entry.isDirectory) folders.push(entry.name);
  const tested = new Set(CASES.map((c) => c.fixture));
  const untested = folders.filter((f) => !tested.has(f) && f !== "valid" && f !== "pydantic_v1");
  assertEquals(untested, [], "every broken fixture needs a case");
  assert(tested.size >= 25, `only ${tested.size} broken plugins`);
});
