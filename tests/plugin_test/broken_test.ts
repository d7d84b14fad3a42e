/**
 * The broken-plugin corpus: each case is tests/fixtures/plugins/valid/ with one defect (the files of
 * tests/fixtures/plugins/broken/<case>/ laid over it, or files removed), copied to a folder named after the
 * case. The CLI must fail exactly the check that owns the defect (and the others the defect breaks too),
 * exit 3, and name the file and line: the line marked `FAIL HERE` in the case's file.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import type { CliResult } from "../helpers/cli.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  checkLines,
  copyFixture,
  copyTree,
  FIXTURES,
  markerLine,
  pluginTest,
  pluginValidate,
  pool,
  pythonWithout,
  SCANNER,
} from "./_helpers.ts";

interface Case {
  /** The case: its overlay folder under broken/ (when it has one) and the folder the plugin is copied to. */
  name: string;
  /** Files of valid/ to remove. */
  remove?: string[];
  /** The folder name to copy the plugin to (default: the case name). */
  folder?: string;
  /** A standalone fixture instead of valid/ + overlay. */
  fixture?: string;
  /** `plugin test -s sample_data.json` (the default for sample and realtime cases) or `plugin validate`. */
  command?: "test" | "validate";
  /** Extra flags. */
  args?: string[];
  /** Exactly the checks that fail (the first owns the defect; scan is added when scanFails). */
  fails: string[];
  /** The file the first failing check names (relative to the plugin, or as given on the command line). */
  file: string;
  /** "marker": the FAIL HERE line of `file` (in the case's overlay); a number; undefined: no line. */
  line?: number | "marker";
  /** Text the failing check's output must contain as well. */
  says?: string | string[];
  /** The security scan fails too (code the parser rejects). Only asserted when the scanner exists. */
  scanFails?: boolean;
  /** Run with a Python built for the test without these packages. */
  without?: string[];
}

const TEST = "test" as const;
// The hanging cases use --timeout 3, not less: the harness must get past importing pydantic and the
// plugin before the hang even when the whole suite loads both cores.
const CASES: Case[] = [
  // structure
  {
    name: "missing_init",
    remove: ["__init__.py"],
    fails: ["structure"],
    file: "__init__.py",
    says: "__init__.py is missing",
  },
  {
    name: "missing_manifest",
    remove: ["manifest.py"],
    fails: ["structure"],
    file: "manifest.py",
    says: "is missing",
  },
  {
    name: "missing_pipeline",
    remove: ["pipeline.py"],
    fails: ["structure"],
    file: "pipeline.py",
    says: "build_steps()",
  },
  {
    name: "missing_processors_init",
    remove: ["processors/__init__.py"],
    fails: ["structure"],
    file: "processors/__init__.py",
    says: "processors/ holds Python modules, so it needs an __init__.py",
  },
  {
    name: "missing_tests_init",
    remove: ["tests/__init__.py"],
    fails: ["structure"],
    file: "tests/__init__.py",
    says: "tests import the plugin relatively",
  },
  {
    name: "folder_name_not_a_package",
    folder: "my-plugin",
    fails: ["structure"],
    file: ".",
    says: ['the folder name "my-plugin" is not a Python package name', 'e.g. to "my_plugin"'],
  },
  {
    name: "folder_is_an_installed_package",
    folder: "pytest",
    fails: ["manifest"],
    file: ".",
    says: "the folder name 'pytest' is also the name of an installed package",
  },
  {
    name: "absolute_import",
    fails: ["structure"],
    file: "processors/core.py",
    line: "marker",
    says: "write `from ..manifest import EMBEDDING_DIM`",
  },
  {
    name: "absolute_import_in_tests",
    fails: ["structure"],
    file: "tests/test_plugin.py",
    line: "marker",
    says: "write `from ..processors.core import LetterProcessor`",
  },
  {
    name: "absolute_import_module",
    fails: ["structure"],
    file: "realtime.py",
    line: "marker",
    says: "write `from .processors import core`",
  },
  {
    name: "v1_layout",
    fixture: "v1_layout",
    fails: ["structure"],
    file: "pipeline.py",
    line: 3,
    says: [
      "write `from .processors.core import measure`",
      "To convert it: 1. make every import",
      "BaseInferenceService",
    ],
  },
  {
    name: "non_utf8_module",
    fails: ["structure"],
    file: "processors/core.py",
    line: "marker",
    says: "not valid UTF-8",
    scanFails: true,
  },
  { name: "manifest_is_a_folder", fails: ["structure"], file: "manifest.py", says: "not a regular file" },
  // manifest
  {
    name: "syntax_error_manifest",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    scanFails: true,
  },
  {
    name: "import_error_manifest",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: ["No module named 'not_a_module_anyone_has'", "--python"],
  },
  { name: "exit_in_manifest", fails: ["manifest"], file: "manifest.py", line: "marker", says: "sys.exit(3)" },
  {
    name: "hanging_import",
    args: ["--timeout", "3"],
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "timed out after 3 s",
  },
  {
    name: "manifest_without_metadata",
    fails: ["manifest", "pipeline"],
    file: "manifest.py",
    says: "defines neither `metadata`",
  },
  {
    name: "metadata_not_a_dict",
    fails: ["manifest", "pipeline"],
    file: "manifest.py",
    line: "marker",
    says: "must be a dict",
  },
  {
    name: "metadata_missing_name",
    fails: ["manifest", "pipeline"],
    file: "manifest.py",
    says: `no "feature_extractor_name" (Mixpeek's original template calls it "name")`,
  },
  {
    name: "bad_name",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: `"9lives" is not a valid plugin name`,
  },
  {
    name: "bad_version",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: `version "1.0-beta" is not a version Mixpeek accepts`,
  },
  {
    name: "unknown_category",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "'spreadsheet'",
  },
  {
    name: "schema_not_a_model",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "input_schema is a str",
  },
  {
    name: "output_schema_bad_dict",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: 'each field is {"type"',
  },
  {
    name: "bad_parameter_default",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "the default of threshold does not validate",
  },
  {
    name: "features_wrong_keys",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: [
      "uses the key 'type'",
      "write 'feature_type'",
      "write 'feature_name'",
      "write 'embedding_dim'",
      "write 'distance_metric'",
      "nothing is searchable",
    ],
  },
  {
    name: "bad_distance_metric",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "cosine, euclid, dot",
  },
  {
    name: "bad_embedding_dim",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "whole number",
  },
  {
    name: "feature_without_output_field",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "output_schema has no 'word_vector' field",
  },
  {
    name: "feature_uri_without_realtime",
    remove: ["realtime.py"],
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "feature_uri is set but the plugin has no realtime.py",
  },
  { name: "bad_compute_profile", fails: ["manifest"], file: "manifest.py", line: "marker", says: "'tpu'" },
  {
    name: "unknown_profile_key",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "unknown key 'batchsize'",
  },
  {
    name: "bad_dependency",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "not a valid pip requirement",
  },
  {
    name: "bad_supported_input_types",
    fails: ["manifest"],
    file: "manifest.py",
    line: "marker",
    says: "known types: text",
  },
  // pipeline
  {
    name: "syntax_error_pipeline",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    scanFails: true,
  },
  {
    name: "build_steps_missing",
    fails: ["pipeline"],
    file: "pipeline.py",
    says: "does not define build_steps()",
  },
  {
    name: "build_steps_no_arguments",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "build_steps() takes no arguments",
  },
  {
    name: "build_steps_returns_list",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: 'returned a list; the platform expects a dict {"steps": [...], "prepare": fn}',
  },
  {
    name: "steps_not_built",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says:
      "steps[0] is a StepDefinition, not an executable step: pass the PipelineDefinition through build_pipeline_steps",
  },
  {
    name: "steps_not_callable",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "steps[0] is a str",
  },
  {
    name: "prepare_missing",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "without 'prepare'",
  },
  {
    name: "build_steps_raising",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "no model configured",
  },
  {
    name: "step_definition_invalid",
    fails: ["pipeline"],
    file: "pipeline.py",
    line: "marker",
    says: "resource_type must be a ResourceType",
  },
  { name: "crash_in_build_steps", fails: ["pipeline"], file: "pipeline.py", says: "exited with code 7" },
  {
    name: "params_fail_validation",
    args: ["--params", '{"threshold": 5}'],
    fails: ["pipeline"],
    file: "manifest.py",
    line: "marker",
    says: "--params {'threshold': 5} do not validate against parameter_schema (TextParams): threshold:",
  },
  {
    name: "params_unknown_key",
    args: ["--params", '{"treshold": 0.2}'],
    fails: ["pipeline"],
    file: "manifest.py",
    says: "treshold: Extra inputs are not permitted",
  },
  // sample data
  {
    name: "row_count_changed",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "processors/core.py",
    line: "marker",
    says: "returned 1 row for a batch of 2; a processor must return one row per input row",
  },
  {
    name: "processor_returns_none",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "processors/core.py",
    line: "marker",
    says: "the processor returned None",
  },
  {
    name: "processor_raises",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "processors/core.py",
    line: "marker",
    says: "ValueError: model not loaded",
  },
  {
    name: "output_violates_schema",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "manifest.py",
    line: "marker",
    says: [
      "record 0 (sample_data.json:2): the output row does not match output_schema: token_count:",
      "3 records: 0 ok, 3 failed",
    ],
  },
  {
    name: "wrong_embedding_size",
    command: TEST,
    fails: ["sample_data", "tests", "realtime"],
    file: "manifest.py",
    line: "marker",
    says: "letter_vector has 4 numbers, not 8 (features declare embedding_dim 8 for 'letter_vector')",
  },
  {
    name: "embedding_column_missing",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "manifest.py",
    line: "marker",
    says: "features declare the embedding 'letter_vector', but the output row has no 'letter_vector' column",
  },
  {
    name: "prepare_returns_none",
    command: TEST,
    fails: ["sample_data"],
    file: "pipeline.py",
    line: "marker",
    says: "prepare(ds) returned None",
  },
  {
    name: "hanging_step",
    command: TEST,
    args: ["--timeout", "3"],
    fails: ["sample_data", "tests"],
    file: "processors/core.py",
    line: "marker",
    says: "timed out after 3 s while running step 0 (LetterProcessor",
  },
  {
    name: "segfault_in_step",
    command: TEST,
    fails: ["sample_data", "tests"],
    file: "processors/core.py",
    line: "marker",
    says: "(SIGSEGV) while running step 0",
  },
  {
    name: "sample_missing_media",
    command: TEST,
    args: ["--sample-data", "bad_records.json"],
    fails: ["sample_data"],
    file: "bad_records.json",
    line: 3,
    says: "record 1: data 'samples/missing.png' looks like a file, but there is no such file",
  },
  {
    name: "sample_malformed_json",
    command: TEST,
    args: ["--sample-data", "broken.json"],
    fails: ["sample_data"],
    file: "broken.json",
    line: 3,
    says: "invalid JSON",
  },
  {
    name: "sample_not_records",
    command: TEST,
    args: ["--sample-data", "broken.json"],
    fails: ["sample_data"],
    file: "broken.json",
    line: 3,
    says: "a record is a str",
  },
  // realtime
  {
    name: "realtime_returns_list",
    command: TEST,
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: "LetterService.run_inference returned a list for record 0; a realtime service returns a dict",
  },
  {
    name: "realtime_wrong_embedding_size",
    command: TEST,
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: "embedding has 3 numbers, not 8",
  },
  {
    name: "realtime_missing_embedding",
    command: TEST,
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: 'the answer needs "embedding"',
  },
  {
    name: "realtime_raises",
    command: TEST,
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: "KeyError: 'query'",
  },
  {
    name: "realtime_no_service",
    fails: ["realtime"],
    file: "realtime.py",
    says: "no subclass of BaseInferenceService",
  },
  {
    name: "realtime_init_raises",
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: "weights not found",
  },
  {
    name: "realtime_no_entry_point",
    fails: ["realtime"],
    file: "realtime.py",
    line: "marker",
    says: "implements none of run_inference, __call__ or _process_single",
  },
  // tests
  {
    name: "failing_pytest",
    command: TEST,
    fails: ["tests"],
    file: "tests/test_plugin.py",
    line: "marker",
    says: "tests/test_plugin.py::test_the_processor_adds_a_vector_per_row",
  },
  // scan
  {
    name: "scan_forbidden_code",
    fails: ["scan"],
    file: "processors/core.py",
    line: "marker",
    says: "subprocess",
  },
  // the plugin's Python
  {
    name: "pandas_missing",
    without: ["pandas"],
    fails: ["pipeline", "realtime"],
    file: "processors/core.py",
    line: 1,
    says: [
      "No module named 'pandas'",
      "pandas is a requirement of the plugin's Python",
      "-m pip install pandas",
    ],
  },
];

const workspace = await tempDir("mixpeek-broken-");
const limit = pool(2);
const runs = new Map<string, Promise<CliResult>>();
let pythonNoPandas: Promise<string> | undefined;

/** The case's plugin in the workspace: valid/ (or its fixture) with the overlay and removals applied. */
async function materialise(c: Case): Promise<string> {
  const root = `${workspace.path}/${c.name}/${c.folder ?? c.name}`;
  await copyTree(`${FIXTURES}/${c.fixture ?? "valid"}`, root);
  const overlay = `${FIXTURES}/broken/${c.name}`;
  if (!c.fixture && (await Deno.stat(overlay).catch(() => undefined))) await copyTree(overlay, root);
  for (const file of c.remove ?? []) await Deno.remove(`${root}/${file}`);
  return root;
}

function result(c: Case): Promise<CliResult> {
  if (!runs.has(c.name)) {
    runs.set(
      c.name,
      limit(async () => {
        const root = await materialise(c);
        const args = [...(c.args ?? [])];
        if (c.without) {
          pythonNoPandas ??= Deno.makeTempDir({ dir: workspace.path }).then((d) =>
            pythonWithout(c.without!, d)
          );
          args.push("--python", await pythonNoPandas);
        }
        if (c.command === "test") {
          if (!args.includes("--sample-data")) args.push("--sample-data", "sample_data.json");
          return await pluginTest(args, { cwd: root });
        }
        return await pluginValidate(args, { cwd: root });
      }),
    );
  }
  return runs.get(c.name)!;
}

function assertFails(stdout: string, fails: string[], scanFails = false): ReturnType<typeof checkLines> {
  const lines = checkLines(stdout);
  assertEquals(
    lines.map((l) => l.id),
    ["structure", "manifest", "pipeline", "scan", "tests", "sample_data", "realtime"],
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
    name: `plugin ${c.command ?? "validate"}: ${c.name} fails ${c.fails.join(", ")}`,
    ignore: c.fails[0] === "scan" && !SCANNER,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const r = await result(c);
      assertEquals(r.code, 3, r.stdout + r.stderr);
      const lines = assertFails(r.stdout, c.fails, c.scanFails);
      const check = lines.find((l) => l.id === c.fails[0])!;
      const text = [check.text, ...check.details].join("\n");
      const source = c.fixture
        ? `${FIXTURES}/${c.fixture}/${c.file}`
        : `${FIXTURES}/broken/${c.name}/${c.file}`;
      const line = c.line === "marker" ? markerLine(source) : c.line;
      assertStringIncludes(text, line === undefined ? c.file : `${c.file}:${line}`);
      for (const says of [c.says ?? []].flat()) assertStringIncludes(text, says);
      assertStringIncludes(r.stderr, "plugin invalid");
      assertStringIncludes(r.stderr, c.fails[0]);
    },
  });
}

Deno.test("plugin test: an empty folder fails the structure check, naming every required file", async () => {
  await using dir = await tempDir();
  const empty = `${dir.path}/empty_plugin`;
  await Deno.mkdir(empty);
  const r = await pluginTest(["--path", empty]);
  assertEquals(r.code, 3, r.stdout + r.stderr);
  const lines = assertFails(r.stdout, ["structure"]);
  const text = lines[0].details.join("\n");
  for (const file of ["__init__.py", "manifest.py", "pipeline.py"]) {
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

Deno.test("plugin test: the corpus has at least 40 broken plugins, and every overlay has a case", async () => {
  const overlays: string[] = [];
  for await (const entry of Deno.readDir(`${FIXTURES}/broken`)) {
    if (entry.isDirectory) overlays.push(entry.name);
  }
  const names = new Set(CASES.map((c) => c.name));
  assertEquals(overlays.filter((o) => !names.has(o)), [], "every overlay in broken/ needs a case");
  assert(CASES.length >= 40, `only ${CASES.length} broken plugins`);
});

Deno.test("plugin validate: the valid fixture passes, in a folder named after any package", async () => {
  await using dir = await tempDir();
  const root = await copyFixture("valid", dir.path, "some_plugin");
  const r = await pluginValidate([root]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(workspace.path, { recursive: true });
});
