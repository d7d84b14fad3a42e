/**
 * The local platform runtime on disk (runtimePath), the environment of plugin code (childEnv: no API key,
 * no cloud credentials, in test, pytest and publish), `plugin env`, the walk up to the plugin folder,
 * --params, publish's scan-first order, and the runtime's own behaviour under real pandas (runtime_py/).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, type CliResult, MAIN, ROOT, runCli, runProcess, tempDir } from "../helpers/cli.ts";
import { identityProblems, PUBLISH_CHECKS, testPlugin, type TestReport } from "../../lib/plugin/check.ts";
import { childEnv, isSecretName, runtimePath, runtimeVersion } from "../../lib/plugin/runtime.ts";
import { envLine } from "../../lib/cli/env.ts";
import { parseParams } from "../../lib/cli/test.ts";
import { UsageError } from "../../lib/errors.ts";
import {
  checkLines,
  copyFixture,
  FAST_PYTEST,
  firstJson,
  FIXTURES,
  pluginTest,
  SCANNER,
} from "./_helpers.ts";

/** The CLI under exactly these Deno permissions (runCli grants them all). */
async function scopedCli(flags: string[], args: string[], env: Record<string, string>): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, MAIN, ...args],
    env: { ...(await baseEnv(env.HOME)), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("runtime: the runtime's own tests pass under real pandas, from the folder the CLI writes", async () => {
  const runtime = await runtimePath();
  assertStringIncludes(runtime, runtimeVersion());
  const r = await runProcess("python3", [
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    `${ROOT}/tests/plugin_test/runtime_py`,
  ], {
    env: { PYTHONPATH: runtime, PYTHONDONTWRITEBYTECODE: "1", ...FAST_PYTEST },
  });
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assert(/\d+ passed/.test(r.stdout), r.stdout);
});

Deno.test("runtimePath: written once per version under the user data dir, complete, reused, concurrent-safe", async () => {
  await using home = await tempDir("mixpeek-rt-home-");
  // Three CLIs at once on an empty data dir: one writes the runtime, the others use it (or write their own
  // copy and lose the rename); all print the same folder, which is complete.
  const runs = await Promise.all(
    [0, 1, 2].map(() => runCli(["--json", "plugin", "env"], { env: { HOME: home.path, XDG_DATA_HOME: "" } })),
  );
  const paths = runs.map((r) => {
    assertEquals(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).runtime as string;
  });
  assertEquals(new Set(paths).size, 1);
  assertEquals(paths[0], `${home.path}/.local/share/mixpeek/runtime/${runtimeVersion()}`);
  assertEquals((await Deno.readTextFile(`${paths[0]}/.complete`)).trim(), runtimeVersion());
  const leftovers = [...Deno.readDirSync(`${home.path}/.local/share/mixpeek/runtime`)].map((e) => e.name);
  assertEquals(leftovers, [runtimeVersion()], "a staging folder was left behind");
  const r = await runProcess("python3", [
    "-c",
    "import engine.plugins.extractors.pipeline as p; print(p.__file__)",
  ], {
    env: { PYTHONPATH: paths[0] },
  });
  assertStringIncludes(r.stdout, paths[0]);
});

Deno.test({
  name:
    "runtimePath: without write access to HOME it uses a private folder in the temp dir, and refuses a shared one",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using home = await tempDir("mixpeek-rt-home-");
    await using tmp = await tempDir("mixpeek-rt-tmp-");
    const flags = ["--allow-read", `--allow-write=${tmp.path}`, "--allow-env", "--no-prompt"];
    const env = { HOME: home.path, TMPDIR: tmp.path, USER: "ada" };
    const ok = await scopedCli(flags, ["--json", "plugin", "env"], env);
    assertEquals(ok.code, 0, ok.stderr);
    const path = JSON.parse(ok.stdout).runtime as string;
    assertEquals(path, `${tmp.path}/mixpeek-runtime-ada/${runtimeVersion()}`);
    assertEquals((await Deno.stat(`${tmp.path}/mixpeek-runtime-ada`)).mode! & 0o777, 0o700);
    await Deno.chmod(`${tmp.path}/mixpeek-runtime-ada`, 0o777);
    const refused = await scopedCli(flags, ["plugin", "env"], env);
    assertEquals(refused.code, 1, refused.stderr);
    assertStringIncludes(refused.stderr, "is writable by other users, so its code cannot be trusted");
  },
});

Deno.test("childEnv: no API key, no cloud credentials, no tokens, secrets or passwords; the runtime first", () => {
  const source = {
    PATH: "/usr/bin",
    HOME: "/home/ada",
    LANG: "C.UTF-8",
    MIXPEEK_API_KEY: "sk_live_1",
    MIXPEEK_BASE_URL: "http://127.0.0.1:8787",
    AWS_ACCESS_KEY_ID: "AKIA",
    AWS_SECRET_ACCESS_KEY: "s",
    AWS_SESSION_TOKEN: "t",
    GOOGLE_APPLICATION_CREDENTIALS: "/k.json",
    AZURE_CLIENT_SECRET: "a",
    GITHUB_TOKEN: "ghp",
    DB_PASSWORD: "p",
    my_secret_value: "x",
    OPENAI_API_KEY: "sk",
    TOKENIZERS_PARALLELISM: "false",
    PYTHONPATH: "/opt/lib",
  };
  const env = childEnv({ source, runtime: "/rt", os: "linux" });
  assertEquals(Object.keys(env).sort(), [
    "HOME",
    "LANG",
    "MIXPEEK_BASE_URL",
    "PATH",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONIOENCODING",
    "PYTHONPATH",
    "TOKENIZERS_PARALLELISM",
  ]);
  assertEquals(env.PYTHONPATH, "/rt:/opt/lib");
  assertEquals(childEnv({ source: {}, runtime: "C:\\rt", os: "windows" }).PYTHONPATH, "C:\\rt");
  assertEquals(childEnv({ source: { A: "1" }, extra: { PORT: "1" } }).PORT, "1");
  for (const name of ["aws_region", "Azure_Tenant", "x_Token", "SECRET", "password_file"]) {
    assert(isSecretName(name), name);
  }
  for (const name of ["PATH", "HOME", "MIXPEEK_PYTHON", "PYTHONPATH"]) assert(!isSecretName(name), name);
});

const SECRETS = {
  MIXPEEK_API_KEY: "sk_live_should_never_be_seen",
  AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  GITHUB_TOKEN: "ghp_example",
  DB_PASSWORD: "hunter2",
  PLUGIN_ORDINARY_SETTING: "visible",
};

Deno.test("secrets: a manifest that reads MIXPEEK_API_KEY and AWS_SECRET_ACCESS_KEY sees neither, in the harness and pytest", async () => {
  const root = `${FIXTURES}/reads_secrets`;
  // The control: the same plugin imported with the variables set does see them (and refuses to load).
  const control = await runProcess("python3", ["-c", "import reads_secrets.manifest"], {
    cwd: `${FIXTURES}`,
    env: { ...SECRETS, PYTHONPATH: await runtimePath() },
  });
  assertEquals(control.code, 1);
  assertStringIncludes(
    control.stderr,
    "plugin code can read MIXPEEK_API_KEY, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN",
  );

  const r = await pluginTest(["--json", root, "-s", `${root}/sample_data.json`], { env: SECRETS });
  const report = firstJson<TestReport>(r.stdout);
  assertEquals(r.code, 0, JSON.stringify(report.checks, null, 2) + r.stderr);
  const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
  assertEquals(byId.manifest.status, "pass");
  assertEquals(byId.tests.reason.split(" in ")[0], "3 passed"); // test_environment.py ran, and saw no secret
  assertEquals(byId.realtime.status, "pass");
});

Deno.test("secrets: publish --dry-run imports the plugin without them too", async () => {
  await using dir = await tempDir();
  const root = await copyFixture("reads_secrets", dir.path);
  const r = await runCli(["--json", "plugin", "publish", "--dry-run", "--path", root], {
    env: { ...SECRETS, MIXPEEK_NAMESPACE: "ns_local" },
  });
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assertEquals(JSON.parse(r.stdout).name, "reads_secrets");
  assert(!r.stdout.includes(SECRETS.MIXPEEK_API_KEY) && !r.stderr.includes(SECRETS.MIXPEEK_API_KEY));
});

Deno.test("plugin env: the sh line puts the runtime first and keeps PYTHONPATH; --json and the other shells", async () => {
  await using home = await tempDir("mixpeek-env-home-");
  const script = `eval "$(${Deno.execPath()} run -A --quiet ${MAIN} plugin env)" && ` +
    `python3 -c "import sys, engine.plugins.extractors.pipeline, shared.plugins.sdk; print(sys.path[1:3])"`;
  const r = await runProcess("sh", ["-c", script], { env: { HOME: home.path, PYTHONPATH: "/opt/mine" } });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(
    r.stdout,
    `'${home.path}/.local/share/mixpeek/runtime/${runtimeVersion()}', '/opt/mine'`,
  );
  const json = await runCli(["--json", "plugin", "env", "--shell", "fish"], { env: { HOME: home.path } });
  const info = JSON.parse(json.stdout);
  assertEquals(Object.keys(info), ["runtime", "version", "shell", "line", "env"]);
  assertEquals(info.env, { PYTHONPATH: info.runtime });
  assertEquals(info.line, `set -gx PYTHONPATH '${info.runtime}' $PYTHONPATH`);
  assertEquals(envLine("/r t", "sh"), `export PYTHONPATH='/r t'"\${PYTHONPATH:+:$PYTHONPATH}"`);
  assertEquals(envLine("C:\\rt", "cmd"), 'set "PYTHONPATH=C:\\rt;%PYTHONPATH%"');
  assertStringIncludes(envLine("C:\\it's", "powershell"), "'C:\\it''s'");
  const bad = await runCli(["plugin", "env", "--shell", "tcsh"]);
  assertEquals(bad.code, 2);
});

Deno.test("plugin test and validate: from a folder inside the plugin, the walk up finds manifest.py", async () => {
  await using dir = await tempDir();
  const root = await copyFixture("valid", dir.path);
  const test = await pluginTest(["--json"], { cwd: `${root}/processors` });
  assertEquals(test.code, 0, test.stderr);
  assertEquals(firstJson<TestReport>(test.stdout).path, root);
  const validate = await runCli(["--json", "plugin", "validate", "tests"], { cwd: root });
  assertEquals(validate.code, 0, validate.stderr);
  const report = firstJson<TestReport>(validate.stdout);
  assertEquals(report.path, root);
  assertEquals(report.checks.filter((c) => c.status === "skip").map((c) => [c.id, c.reason]), [
    ["tests", "not run by this command"],
    ["sample_data", "not run by this command"],
  ]);
  const both = await pluginTest([root, "-p", `${root}/tests`]);
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "two plugin folders given");
});

Deno.test("plugin test --params: usage errors are exit 2; valid parameters reach build_steps", async () => {
  for (
    const [value, says] of [["{bad", "not valid JSON"], ["[1]", "expected a JSON object"], [
      "3",
      "expected a JSON object",
    ]]
  ) {
    const r = await pluginTest([`${FIXTURES}/valid`, "--params", value]);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, says);
  }
  const ok = await runCli(["plugin", "validate", `${FIXTURES}/valid`, "--params", '{"threshold": 0.25}']);
  assertEquals(ok.code, 0, ok.stdout + ok.stderr);
  let error: unknown;
  try {
    parseParams("null");
  } catch (e) {
    error = e;
  }
  assert(error instanceof UsageError);
});

Deno.test({
  name: "testPlugin scanFirst (publish's order): a plugin that fails the scan is never imported",
  ignore: !SCANNER,
  async fn() {
    await using dir = await tempDir();
    const root = await copyFixture("valid", dir.path, "sleeper");
    const manifest = await Deno.readTextFile(`${root}/manifest.py`);
    // Importing manifest.py would leave a marker file: its absence proves no plugin code ran.
    const marker = `${dir.path}/imported`;
    await Deno.writeTextFile(
      `${root}/manifest.py`,
      `import pathlib\nimport subprocess\npathlib.Path(${JSON.stringify(marker)}).touch()\n${manifest}`,
    );
    const report = await testPlugin(root, { checks: PUBLISH_CHECKS, scanFirst: true, timeoutMs: 30_000 });
    assertEquals(await Deno.stat(marker).then(() => "imported", () => "never imported"), "never imported");
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    assertEquals(byId.scan.status, "fail");
    assertEquals(byId.manifest.reason, "not run: the security scan failed, so no plugin code is run");
    assertEquals(report.metadata, undefined);
  },
});

Deno.test("testPlugin with PUBLISH_CHECKS gives publish the metadata it needs", async () => {
  const report = await testPlugin(`${FIXTURES}/mixpeek_v1/text_extractor`, {
    checks: PUBLISH_CHECKS,
    scanFirst: true,
  });
  assert(report.ok, JSON.stringify(report.checks, null, 2));
  assertEquals(
    report.checks.map((c) => [c.id, c.status]),
    [
      ["structure", "pass"],
      ["manifest", "pass"],
      ["pipeline", "pass"],
      ["scan", SCANNER ? "pass" : "fail"],
      ["tests", "skip"],
      ["sample_data", "skip"],
      ["realtime", "pass"],
    ].filter(([id, status]) => SCANNER || id !== "scan" || status === "fail"),
  );
  assertEquals(report.metadata, {
    name: "text_extractor",
    version: "v1",
    normalized_version: "1.0.0",
    description: "A text extractor written like Mixpeek's original template",
    category: "text",
    realtime: true,
    features: [],
    compute_profile: null,
    resource_type: "cpu",
    style: "metadata",
  });
});

Deno.test("identityProblems: lib/plugin/identity.ts judges the name and the version the harness read", () => {
  const facts = (name: string | null, version: string | null) => ({
    name,
    version,
    description: null,
    category: null,
    realtime: false,
    features: [],
    compute_profile: null,
    style: "module" as const,
    lines: { name: 1, version: 2 },
  });
  assertEquals(identityProblems(facts("my_plugin", "v1")), []);
  assertEquals(identityProblems(facts("My_Plugin2", "2.1")), []);
  const [name, version] = identityProblems(facts("ab", "1.0-beta"));
  assertEquals([name.line, version.line], [1, 2]);
  assertStringIncludes(name.message, '"ab" is not a valid plugin name');
  assertStringIncludes(version.message, 'version "1.0-beta" is not a version Mixpeek accepts');
});

Deno.test("plugin test: human output shows the seven checks in order", async () => {
  const r = await pluginTest([
    `${FIXTURES}/module_level/text_embed`,
    "-s",
    `${FIXTURES}/module_level/text_embed/sample_data.json`,
  ]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assertEquals(checkLines(r.stdout).map((l) => `${l.mark} ${l.id}`), [
    "✓ structure",
    "✓ manifest",
    "✓ pipeline",
    SCANNER ? "✓ scan" : "✗ scan",
    "✓ tests",
    "✓ sample_data",
    "✓ realtime",
  ]);
  assertStringIncludes(r.stdout, "output_schema: 1 fields; features: text_embed_embedding (128-d cosine)");
});
