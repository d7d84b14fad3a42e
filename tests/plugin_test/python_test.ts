/**
 * `plugin test` and the author's Python: discovery order, missing interpreter / pydantic / pytest, the
 * pydantic v1 path, timeouts that stop the whole process group, Ctrl-C, usage errors and the --json report.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, MAIN, PERMISSIONS, runCli, runProcess, tempDir } from "../helpers/cli.ts";
import type { TestReport } from "../../lib/plugin/check.ts";
import {
  checkLines,
  copyFixture,
  copyTree,
  firstJson,
  FIXTURES,
  pluginTest,
  PYDANTIC_V1,
  PYTHON,
  SCANNER,
} from "./_helpers.ts";

/** A virtualenv with nothing installed: Python without pydantic or pytest. */
async function bareVenv(dir: string): Promise<string> {
  const r = await runProcess(PYTHON, ["-m", "venv", "--without-pip", `${dir}/bare`]);
  assertEquals(r.code, 0, r.stderr);
  return `${dir}/bare/bin/python`;
}

function report(stdout: string): TestReport {
  return firstJson<TestReport>(stdout);
}

Deno.test("plugin test: the plugin's .venv is used before python3 on PATH", async () => {
  await using dir = await tempDir();
  const plugin = await copyFixture("valid", dir.path);
  await Deno.mkdir(`${plugin}/.venv/bin`, { recursive: true });
  await Deno.symlink(PYTHON, `${plugin}/.venv/bin/python`);
  const r = await pluginTest(["--json", "--path", plugin]);
  assertEquals(report(r.stdout).python, `${plugin}/.venv/bin/python`, r.stderr);
});

Deno.test("plugin test: MIXPEEK_PYTHON beats the .venv, and --python beats MIXPEEK_PYTHON", async () => {
  await using dir = await tempDir();
  const plugin = await copyFixture("valid", dir.path);
  await Deno.mkdir(`${plugin}/.venv/bin`, { recursive: true });
  await Deno.mkdir(`${dir.path}/env/bin`, { recursive: true });
  await Deno.mkdir(`${dir.path}/flag/bin`, { recursive: true });
  await Deno.symlink(PYTHON, `${plugin}/.venv/bin/python`);
  await Deno.symlink(PYTHON, `${dir.path}/env/bin/python`);
  await Deno.symlink(PYTHON, `${dir.path}/flag/bin/python`);
  const env = { MIXPEEK_PYTHON: `${dir.path}/env/bin/python` };
  const fromEnv = await pluginTest(["--json", "--path", plugin], { env });
  assertEquals(report(fromEnv.stdout).python, `${dir.path}/env/bin/python`, fromEnv.stderr);
  const fromFlag = await pluginTest(["--json", "--path", plugin, "--python", `${dir.path}/flag/bin/python`], {
    env,
  });
  assertEquals(report(fromFlag.stdout).python, `${dir.path}/flag/bin/python`, fromFlag.stderr);
});

Deno.test("plugin test: no Python anywhere is a clear error (exit 1) saying what to install", async () => {
  await using dir = await tempDir();
  const r = await pluginTest(["--path", `${FIXTURES}/valid`], { env: { PATH: dir.path } });
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, "no Python found");
  assertStringIncludes(r.stderr, "install Python 3.8+ with pydantic");
  assertStringIncludes(r.stderr, "--python");
});

Deno.test("plugin test: a --python or MIXPEEK_PYTHON that does not exist is a usage error (exit 2)", async () => {
  const flag = await pluginTest(["--path", `${FIXTURES}/valid`, "--python", "/nonexistent/python"]);
  assertEquals(flag.code, 2, flag.stderr);
  assertStringIncludes(flag.stderr, "--python /nonexistent/python: no such file");
  const env = await pluginTest(["--path", `${FIXTURES}/valid`], {
    env: { MIXPEEK_PYTHON: "no-such-python-9" },
  });
  assertEquals(env.code, 2, env.stderr);
  assertStringIncludes(env.stderr, "MIXPEEK_PYTHON= no-such-python-9: not found on PATH");
});

Deno.test("plugin test: a Python without pydantic (and pytest) is a clear error naming the pip command", async () => {
  await using dir = await tempDir();
  const python = await bareVenv(dir.path);
  const r = await pluginTest(["--path", `${FIXTURES}/valid`, "--python", python]);
  assertEquals(r.code, 1, r.stdout + r.stderr);
  assertStringIncludes(r.stderr, "pydantic and pytest are not installed for");
  assertStringIncludes(r.stderr, "-m pip install pydantic pytest pandas");
});

Deno.test("plugin test: pytest missing only matters when the plugin has tests/", async () => {
  await using dir = await tempDir();
  const python = await bareVenv(dir.path);
  const env = { PYTHONPATH: PYDANTIC_V1 }; // pydantic (the v1 stand-in), no pytest
  const withTests = await pluginTest(["--path", `${FIXTURES}/valid`, "--python", python], { env });
  assertEquals(withTests.code, 1, withTests.stderr);
  assertStringIncludes(withTests.stderr, "pytest is not installed for");
  assertStringIncludes(withTests.stderr, "-m pip install pytest");
  const withoutTests = await pluginTest(["--path", `${FIXTURES}/pydantic_v1`, "--python", python], { env });
  const lines = checkLines(withoutTests.stdout);
  assertEquals(lines.find((l) => l.id === "tests")?.mark, "-", withoutTests.stdout);
  assertEquals(lines.find((l) => l.id === "manifest")?.mark, "✓", withoutTests.stdout);
  // That Python has no pandas either: the checks that need it say what to install.
  const noPandas = await pluginTest(
    [
      "--path",
      `${FIXTURES}/pydantic_v1`,
      "--python",
      python,
      "-s",
      `${FIXTURES}/pydantic_v1/sample_data.json`,
    ],
    { env },
  );
  assertEquals(noPandas.code, 3, noPandas.stdout);
  const sample = checkLines(noPandas.stdout).find((l) => l.id === "sample_data")!;
  assertEquals(sample.mark, "✗");
  assertStringIncludes(sample.details.join("\n"), `pandas is not installed for ${python}`);
  assertStringIncludes(sample.details.join("\n"), `${python} -m pip install pandas`);
});

Deno.test("plugin test: the pydantic v1 API path (parse_obj / dict / schema), with a v1 stand-in", async () => {
  const env = { PYTHONPATH: PYDANTIC_V1 };
  const plugin = `${FIXTURES}/pydantic_v1`;
  const ok = await pluginTest(["--json", "--path", plugin, "--sample-data", `${plugin}/sample_data.json`], {
    env,
  });
  const good = report(ok.stdout);
  assertEquals(good.pydantic_version, "1.10.99", ok.stderr);
  const statuses = Object.fromEntries(good.checks.map((c) => [c.id, c.status]));
  assertEquals(statuses.manifest, "pass");
  assertEquals(statuses.pipeline, "pass");
  assertEquals(statuses.sample_data, "pass");
  assertStringIncludes(good.checks[1].reason, "pydantic 1 models");
  assertEquals(good.metadata?.normalized_version, "1.0.0");

  const bad = await pluginTest(["--path", plugin, "--sample-data", `${plugin}/bad_records.json`], { env });
  assertEquals(bad.code, 3);
  const sample = checkLines(bad.stdout).find((l) => l.id === "sample_data")!;
  assertEquals(sample.mark, "✗");
  assertStringIncludes(
    sample.details.join("\n"),
    "manifest.py:13: record 1 (" + plugin +
      "/bad_records.json:3): the output row does not match output_schema: " +
      "words: ensure this value is less than or equal to 5",
  );
});

// .ci/run installs Debian's python3-pydantic (1.x) and python3-pandas for this test.
const DEBIAN_V1 = await runProcess("/usr/bin/python3", [
  "-c",
  "import pandas, pydantic; print(pydantic.VERSION)",
])
  .then((r) => r.code === 0 && r.stdout.trim().startsWith("1."), () => false);

Deno.test({
  name: "plugin test: the pydantic v1 path with a real pydantic 1 (Debian's python3-pydantic)",
  ignore: !DEBIAN_V1,
  async fn() {
    const plugin = `${FIXTURES}/pydantic_v1`;
    const args = ["--path", plugin, "--python", "/usr/bin/python3", "--sample-data"];
    const ok = await pluginTest(["--json", ...args, `${plugin}/sample_data.json`]);
    const good = report(ok.stdout);
    assert(good.pydantic_version?.startsWith("1."), ok.stdout);
    assertEquals(good.checks.filter((c) => c.status === "fail").map((c) => c.id), SCANNER ? [] : ["scan"]);
    const bad = await pluginTest([...args, `${plugin}/bad_records.json`]);
    assertEquals(bad.code, 3);
    assertStringIncludes(
      bad.stdout,
      "bad_records.json:3): the output row does not match output_schema: words:",
    );
  },
});

Deno.test({
  name: "plugin validate: a template plugin under pydantic 1 fails its manifest, saying pydantic 2 is needed",
  ignore: !DEBIAN_V1,
  async fn() {
    await using dir = await tempDir();
    const init = await runCli(["plugin", "init", "v2_only", "-c", "text", "--no-input"], { cwd: dir.path });
    assertEquals(init.code, 0, init.stderr);
    const r = await runCli(["plugin", "validate", `${dir.path}/v2_only`, "--python", "/usr/bin/python3"]);
    assertEquals(r.code, 3, r.stdout + r.stderr);
    assertStringIncludes(r.stdout, "manifest.py:");
    assertStringIncludes(r.stdout, "import failed: ValueError");
    assertStringIncludes(r.stdout, "(this Python has pydantic 1.");
    assertStringIncludes(r.stdout, "/usr/bin/python3 -m pip install 'pydantic>=2'");
  },
});

Deno.test("plugin test: usage errors exit 2 and name the flag", async () => {
  const cases: [string[], string][] = [
    [
      ["--path", `${FIXTURES}/valid`, "--sample-data", "no-such-file.json"],
      "--sample-data no-such-file.json: no such file",
    ],
    [["--path", `${FIXTURES}/valid`, "--sample-data", FIXTURES], "not a file"],
    [["--path", `${FIXTURES}/valid`, "--timeout", "soon"], "--timeout soon: expected a number of seconds"],
    [["--path", `${FIXTURES}/valid`, "--timeout", "0"], "--timeout 0"],
    [["--path", `${FIXTURES}/no-such-plugin`], "no such folder"],
    [["--path", `${FIXTURES}/valid`, "--no-such-flag"], "unknown option"],
  ];
  for (const [args, message] of cases) {
    const r = await pluginTest(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  const guess = await pluginTest(["--path", "valid", "--sample-data", "sample_data.json"], { cwd: FIXTURES });
  assertEquals(guess.code, 2);
  assertStringIncludes(guess.stderr, "did you mean --sample-data valid/sample_data.json?");
});

Deno.test("plugin test: --json reports every check with snake_case fields, record and test ids", async () => {
  await using dir = await tempDir();
  const root = await copyFixture("valid", dir.path);
  await Deno.writeTextFile(
    `${root}/tests/test_plugin.py`,
    (await Deno.readTextFile(`${root}/tests/test_plugin.py`)).replace("[1, 2]", "[1, 9]"),
  );
  const pytest = await pluginTest(["--json", "--path", root]);
  assertEquals(pytest.code, 3);
  const r = JSON.parse(pytest.stdout) as TestReport; // exactly one document, even when the plugin fails
  assertEquals(Object.keys(r), [
    "path",
    "ok",
    "python",
    "python_version",
    "pydantic_version",
    "metadata",
    "checks",
    "duration_ms",
  ]);
  assertEquals(r.metadata, {
    name: "valid_fixture",
    version: "1.0.0",
    normalized_version: "1.0.0",
    description: "Counts letter classes",
    category: "text",
    realtime: true,
    features: [{ feature_name: "letter_vector", embedding_dim: 8, distance_metric: "cosine" }],
    compute_profile: { resource_type: "cpu", batch_size: 2 },
    resource_type: "cpu",
    style: "metadata",
  });
  assertEquals(r.checks.map((c) => c.id), [
    "structure",
    "manifest",
    "pipeline",
    "scan",
    "tests",
    "sample_data",
    "realtime",
  ]);
  const tests = r.checks.find((c) => c.id === "tests")!;
  assertEquals(Object.keys(tests), ["id", "status", "reason", "details", "duration_ms"]);
  assertEquals(tests.reason, "1 failed, 0 passed");
  assertEquals(tests.details.length, 1);
  const { message, ...where } = tests.details[0];
  assertStringIncludes(message, "assert [1, 2] == [1, 9]");
  assertEquals(where, {
    file: "tests/test_plugin.py",
    line: 9,
    test_id: "tests/test_plugin.py::test_the_processor_adds_a_vector_per_row",
  });

  const plugin = `${FIXTURES}/pydantic_v1`;
  const sample = await pluginTest(
    ["--json", "--path", plugin, "--sample-data", `${plugin}/bad_records.json`],
    {
      env: { PYTHONPATH: PYDANTIC_V1 },
    },
  );
  const data = report(sample.stdout).checks.find((c) => c.id === "sample_data")!;
  assertEquals(data.reason, "2 records: 1 ok, 1 failed (Measure: 1 batch of 2)");
  assertEquals(data.details.map((d) => [d.record, d.file, d.line]), [[1, "manifest.py", 13]]);
});

Deno.test("plugin test: a timeout stops the whole process group, even when the plugin ignores SIGTERM", async () => {
  await using dir = await tempDir();
  const plugin = await copyFixture("valid", dir.path);
  const token = `${Date.now() % 100000}.5`; // a sleep duration no other process uses
  const manifest = await Deno.readTextFile(`${plugin}/manifest.py`);
  await Deno.writeTextFile(
    `${plugin}/manifest.py`,
    manifest.replace(
      "from typing import List\n",
      "from typing import List\nimport signal, subprocess, time\n" +
        `subprocess.Popen(["sh", "-c", "trap '' TERM; sleep ${token}"])\n` +
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" +
        "time.sleep(3600)\n",
    ),
  );
  const r = await pluginTest(["--path", plugin, "--timeout", "0.5"]);
  assertEquals(r.code, 3, r.stderr);
  const manifestCheck = checkLines(r.stdout).find((l) => l.id === "manifest")!;
  assertEquals(manifestCheck.mark, "✗");
  assertStringIncludes(manifestCheck.text, "timed out after 0.5 s");
  const ps = await runProcess("ps", ["-eo", "args"]);
  assert(
    !ps.stdout.split("\n").some((line) => line.trim() === `sleep ${token}`),
    "the plugin's child survived",
  );
});

Deno.test("plugin test: Ctrl-C stops the children and exits 130", async () => {
  await using home = await tempDir();
  const hanging = await copyFixture("valid", home.path, "hanging_plugin");
  await copyTree(`${FIXTURES}/broken/hanging_import`, hanging);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, MAIN, "plugin", "test", "--path", hanging],
    env: await baseEnv(home.path),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Wait until the harness is importing the plugin (the structure line has been printed).
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("structure")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGINT");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assertEquals(status.code, 130, stderr);
  assertStringIncludes(stderr, "interrupted");
});

Deno.test("plugin test: an interpreter that cannot run the harness is a clear error (exit 1)", async () => {
  await using dir = await tempDir();
  const fake = `${dir.path}/python2.7`;
  await Deno.writeTextFile(fake, "#!/bin/sh\necho 'SyntaxError: invalid syntax' >&2\nexit 1\n");
  await Deno.chmod(fake, 0o755);
  const r = await pluginTest(["--path", `${FIXTURES}/valid`, "--python", fake]);
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, `${fake} could not run the test harness (it needs Python 3.8+)`);
  assertStringIncludes(r.stderr, "SyntaxError: invalid syntax");
});

Deno.test("plugin test: works under least privilege (read, write to TMPDIR, env, run python3 only)", async () => {
  await using home = await tempDir();
  const plugin = await copyFixture("valid", home.path, "lp_plugin");
  await Deno.writeTextFile(
    `${plugin}/tests/test_plugin.py`,
    (await Deno.readTextFile(`${plugin}/tests/test_plugin.py`)) + "\n\ndef test_fails():\n    assert False\n",
  );
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      `--allow-write=${tmp}`,
      "--allow-env",
      "--allow-run=python3",
      MAIN,
      "plugin",
      "test",
      "--path",
      plugin,
    ],
    env: { ...(await baseEnv(home.path)), PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 3, new TextDecoder().decode(out.stderr));
  const lines = checkLines(stdout);
  assertEquals(lines.find((l) => l.id === "manifest")?.mark, "✓", stdout);
  assertEquals(lines.find((l) => l.id === "tests")?.text, "1 failed, 1 passed", stdout);
});
