/**
 * `mixpeek plugin scan` as a user runs it: text with code frames, JSON (also via the global --json),
 * SARIF; exit 0 when clean, 3 with findings, 2 for usage errors; one error line, never a second JSON
 * document on stdout; byte-identical output for the same tree.
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
  "pipeline.py": "import os\n\n\ndef build_steps():\n    os.system('ls')\n    return []\n",
  "processors/core.py": "# uses eval? no: model.eval() only\ndef run(model):\n    model.eval()\n",
  "processors/net.py": "import socket\n",
};

Deno.test("text: a code frame per finding, the summary, exit 3 and one error line on stderr", async () => {
  await using dir = await _plugin(BAD);
  const r = await runCli(["plugin", "scan", "--path", dir.path]);
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stdout, "pipeline.py:5:5  shell-os-system [shell]");
  assertStringIncludes(r.stdout, "  5 |     os.system('ls')\n    |     ^^^^^^^^^");
  assertStringIncludes(r.stdout, "processors/net.py:1:8  network-socket [network]");
  assertStringIncludes(r.stdout, "2 findings in 2 of 3 Python files (shell 1, network 1).");
  assert(!r.stdout.includes("\x1b["), "no colour when piped");
  assertEquals(r.stderr.match(/error:/g)?.length, 1, r.stderr);
  assertStringIncludes(r.stderr, "security scan: 2 findings in 2 files");
});

Deno.test("json: the report on stdout (also with the global --json), nothing else", async () => {
  await using dir = await _plugin(BAD);
  const a = await runCli(["plugin", "scan", "--path", dir.path, "--format", "json"]);
  const b = await runCli(["--json", "plugin", "scan", "--path", dir.path]);
  assertEquals(a.code, 3);
  assertEquals(b.code, 3);
  assertEquals(a.stdout, b.stdout);
  const report = JSON.parse(a.stdout);
  assertEquals(report.files_scanned, 3);
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
    "message",
    "source",
  ]);
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
  assertStringIncludes(text.stdout, "No findings in 2 Python files.");
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
