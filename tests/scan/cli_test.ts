/**
 * `mixpeek plugin scan` as a user runs it: text with code frames, JSON (also via the global --json),
 * SARIF; exit 0 when nothing rejects the plugin (warnings shown), 3 with errors (or warnings and --strict),
 * 2 for usage errors (and, with --strict, a folder that is not a plugin); paths relative to the current
 * folder (or absolute with --absolute); the folder as an argument or -p/--path, or the plugin the current
 * folder is in; one error line, never a second JSON document on stdout; byte-identical output.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, MAIN, runCli, tempDir } from "../helpers/cli.ts";

async function _plugin(files: Record<string, string>) {
  const dir = await tempDir("mixpeek-scan-cli-");
  for (const [rel, text] of Object.entries(files)) {
    const path = `${dir.path}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

const BAD = {
  "manifest.py": "metadata = {}\n",
  "pipeline.py": "import os\n\n\ndef build_steps():\n    os.system('ls')\n    return []\n",
  "processors/core.py": "# uses eval? no: model.eval() only\ndef run(model):\n    model.eval()\n",
  "processors/net.py": "import socket\n",
};

const WARNED = {
  "manifest.py": "metadata = {}\n",
  "pipeline.py": "import pickle\n\n\ndef name(obj):\n    return obj.__class__.__name__, pickle.dumps(obj)\n",
};

Deno.test("text: a code frame per finding, the summary, exit 3 and one error line on stderr", async () => {
  await using dir = await _plugin(BAD);
  const r = await runCli(["plugin", "scan", "--path", dir.path], { cwd: dir.path });
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stdout, "pipeline.py:5:5  shell-os-system [shell]");
  assertStringIncludes(r.stdout, "  5 |     os.system('ls')\n    |     ^^^^^^^^^");
  assertStringIncludes(r.stdout, "processors/net.py:1:8  network-socket [network]");
  assertStringIncludes(r.stdout, "2 findings in 2 of 4 Python files (shell 1, network 1).");
  assert(!r.stdout.includes("\x1b["), "no colour when piped");
  assertEquals(r.stderr.match(/error:/g)?.length, 1, r.stderr);
  assertStringIncludes(r.stderr, "security scan: 2 findings in 2 files");
});

Deno.test("paths are relative to the current folder (or absolute with --absolute), in text and SARIF", async () => {
  await using dir = await _plugin(BAD);
  const parent = dir.path.slice(0, dir.path.lastIndexOf("/"));
  const name = dir.path.slice(parent.length + 1);
  const inParent = await runCli(["plugin", "scan", name], { cwd: parent });
  assertStringIncludes(inParent.stdout, `${name}/pipeline.py:5:5  shell-os-system`);
  const inside = await runCli(["plugin", "scan", "--path", dir.path], { cwd: `${dir.path}/processors` });
  assertStringIncludes(inside.stdout, "../pipeline.py:5:5  shell-os-system");
  assertStringIncludes(inside.stdout, "\nnet.py:1:8  network-socket");
  const absolute = await runCli(["plugin", "scan", name, "--absolute"], { cwd: parent });
  assertStringIncludes(absolute.stdout, `${dir.path}/pipeline.py:5:5  shell-os-system`);
  const sarif = JSON.parse(
    (await runCli(["plugin", "scan", name, "--format", "sarif"], { cwd: parent })).stdout,
  );
  const run = sarif.runs[0];
  assertEquals(run.originalUriBaseIds["%SRCROOT%"].uri, `file://${parent}/`);
  assertEquals(run.results[0].locations[0].physicalLocation.artifactLocation, {
    uri: `${name}/pipeline.py`,
    uriBaseId: "%SRCROOT%",
  });
  const sarifAbs = JSON.parse(
    (await runCli(["plugin", "scan", name, "--format", "sarif", "--absolute"], { cwd: parent })).stdout,
  );
  assertEquals(sarifAbs.runs[0].results[0].locations[0].physicalLocation.artifactLocation, {
    uri: `file://${dir.path}/pipeline.py`,
  });
});

Deno.test("the folder: an argument, -p/--path, or the plugin the current folder is in; both must agree", async () => {
  await using dir = await _plugin(BAD);
  const positional = await runCli(["plugin", "scan", dir.path, "--json"]);
  const short = await runCli(["plugin", "scan", "-p", dir.path, "--json"]);
  const walked = await runCli(["plugin", "scan", "--json"], { cwd: `${dir.path}/processors` });
  assertEquals(positional.code, 3);
  assertEquals(short.stdout, positional.stdout);
  assertEquals(walked.stdout, positional.stdout);
  assertEquals(JSON.parse(walked.stdout).files_scanned, 4);
  const both = await runCli(["plugin", "scan", dir.path, "--path", `${dir.path}/processors`]);
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "two plugin paths given");
});

Deno.test("a folder that is not a plugin: a warning (exit by findings), and exit 2 with --strict", async () => {
  await using dir = await _plugin({ "a.py": "x = 1\n" });
  const plain = await runCli(["plugin", "scan", dir.path]);
  assertEquals(plain.code, 0, plain.stderr);
  assertStringIncludes(plain.stderr, "warning:");
  assertStringIncludes(plain.stderr, "is not a plugin (no manifest.py)");
  assertStringIncludes(plain.stdout, "No findings in 1 Python file.");
  const strict = await runCli(["plugin", "scan", dir.path, "--strict"]);
  assertEquals(strict.code, 2);
  assertStringIncludes(strict.stderr, "is not a plugin (no manifest.py)");
  assertEquals(strict.stdout, "");
});

Deno.test("warnings are shown and exit 0; --strict makes them reject (exit 3)", async () => {
  await using dir = await _plugin(WARNED);
  const r = await runCli(["plugin", "scan", dir.path], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "pipeline.py:1:8  deserialization-module [deserialization, warning]");
  assertStringIncludes(r.stdout, "pipeline.py:5:12  introspection-dunder-access [introspection, warning]");
  assertStringIncludes(r.stdout, "0 errors, 3 warnings (shown, not rejected; --strict rejects them).");
  assertEquals(r.stderr, "");
  const strict = await runCli(["plugin", "scan", dir.path, "--strict"], { cwd: dir.path });
  assertEquals(strict.code, 3);
  assertStringIncludes(
    strict.stderr,
    "security scan: 3 findings in 1 file (warnings, rejected in strict mode)",
  );
  const sarif = JSON.parse((await runCli(["plugin", "scan", dir.path, "--format", "sarif"])).stdout);
  assertEquals(sarif.runs[0].results.map((x: { level: string }) => x.level), [
    "warning",
    "warning",
    "warning",
  ]);
  const sarifStrict = JSON.parse(
    (await runCli(["plugin", "scan", dir.path, "--format", "sarif", "--strict"])).stdout,
  );
  assertEquals(sarifStrict.runs[0].results.map((x: { level: string }) => x.level), [
    "error",
    "error",
    "error",
  ]);
});

Deno.test("json: the report on stdout (also with the global --json), nothing else", async () => {
  await using dir = await _plugin(BAD);
  const a = await runCli(["plugin", "scan", "--path", dir.path, "--format", "json"]);
  const b = await runCli(["--json", "plugin", "scan", "--path", dir.path]);
  assertEquals(a.code, 3);
  assertEquals(b.code, 3);
  assertEquals(a.stdout, b.stdout);
  const report = JSON.parse(a.stdout);
  assertEquals(report.files_scanned, 4);
  assertEquals(report.findings.map((f: { file: string; rule_id: string }) => `${f.file} ${f.rule_id}`), [
    "pipeline.py shell-os-system",
    "processors/net.py network-socket",
  ]);
  assertEquals(Object.keys(report.findings[0]), [
    "file",
    "line",
    "column",
    "end_line",
    "end_column",
    "rule_id",
    "category",
    "severity",
    "message",
    "source",
  ]);
  assertEquals(report.findings[0].severity, "error");
});

Deno.test("sarif: one SARIF 2.1.0 document on stdout", async () => {
  await using dir = await _plugin(BAD);
  const r = await runCli(["plugin", "scan", "--path", dir.path, "--format", "sarif"]);
  assertEquals(r.code, 3);
  const sarif = JSON.parse(r.stdout);
  assertEquals(sarif.version, "2.1.0");
  assertEquals(sarif.runs[0].results.length, 2);
  assertEquals(sarif.runs[0].tool.driver.name, "mixpeek-plugin-scan");
});

Deno.test("a clean plugin exits 0; output is byte-identical across runs", async () => {
  await using dir = await _plugin({
    "manifest.py": "metadata = {}\n",
    "pipeline.py": "import re\nPATTERN = re.compile('x')\n",
    "__init__.py": "",
  });
  const a = await runCli(["plugin", "scan", "--path", dir.path, "--format", "json"]);
  const b = await runCli(["plugin", "scan", "--path", dir.path, "--format", "json"]);
  assertEquals(a.code, 0, a.stderr);
  assertEquals(a.stdout, b.stdout);
  assertEquals(JSON.parse(a.stdout).findings, []);
  const text = await runCli(["plugin", "scan", "--path", dir.path]);
  assertEquals(text.code, 0);
  assertStringIncludes(text.stdout, "No findings in 3 Python files.");
});

Deno.test("usage errors exit 2: a missing folder, --json with another --format", async () => {
  await using dir = await _plugin({ "a.py": "x = 1\n" });
  const missing = await runCli(["plugin", "scan", "--path", `${dir.path}/nope`]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "no such folder");
  const conflict = await runCli(["--json", "plugin", "scan", "--path", dir.path, "--format", "sarif"]);
  assertEquals(conflict.code, 2);
  const badFormat = await runCli(["plugin", "scan", "--path", dir.path, "--format", "xml"]);
  assertEquals(badFormat.code, 2);
});

Deno.test("the scan works under least privilege: read access to the plugin folder only", async () => {
  await using dir = await _plugin(BAD);
  await using home = await tempDir("mixpeek-home-");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--allow-read=${dir.path}`,
      MAIN,
      "plugin",
      "scan",
      "--path",
      dir.path,
      "--json",
    ],
    env: await baseEnv(home.path),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 3, stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)).findings.length, 2);
});
