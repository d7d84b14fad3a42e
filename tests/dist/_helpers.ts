/**
 * Helpers for the distribution tests: the author's journey init → test → scan → pack → publish → list, run
 * through whatever invocation a test is about (a scoped `deno run`, a bundle, a compiled binary), against a
 * registry from tests/helpers/local_process.ts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import type { CliResult } from "../helpers/cli.ts";

/** Runs the CLI the way the test is about: `args` after the command, in `cwd`, with `env` added. */
export type Invoke = (
  args: string[],
  options?: { cwd?: string; env?: Record<string, string> },
) => Promise<CliResult>;

function _check(r: CliResult, label: string): void {
  assertEquals(r.code, 0, `${label} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  // No Deno permission prompt or stack trace on the way.
  assert(!/┏|Deno requests|Uncaught|NotCapable/.test(r.stderr), `${label}: ${r.stderr}`);
}

/**
 * The author's journey: init in `workDir`, then test (with the plugin's pytest suite), scan, pack,
 * publish --wait to `local`, list; each step must succeed. Returns the plugin folder.
 */
export async function journey(
  invoke: Invoke,
  workDir: string,
  local: { url: string; key: string },
  steps: { test?: boolean } = {},
): Promise<string> {
  const root = `${workDir}/dist_demo`; // the folder is the package name
  const init = await invoke([
    "plugin",
    "init",
    "dist-demo",
    "--category",
    "text",
    "--no-input",
    "--author",
    "ci",
  ], {
    cwd: workDir,
  });
  _check(init, "plugin init");
  if (steps.test !== false) {
    const test = await invoke([
      "plugin",
      "test",
      "--path",
      root,
      "--sample-data",
      `${root}/sample_data.json`,
    ]);
    _check(test, "plugin test");
    assertMatch(test.stderr + test.stdout, /✓ tests/);
  }
  const scan = await invoke(["--json", "plugin", "scan", "--path", root]);
  _check(scan, "plugin scan");
  assertEquals(JSON.parse(scan.stdout).findings, []);
  const pack = await invoke(["--json", "plugin", "pack", "--path", root]);
  _check(pack, "plugin pack");
  const packed = JSON.parse(pack.stdout);
  assert(packed.files.includes("manifest.py"), pack.stdout);
  assertMatch(packed.sha256, /^[0-9a-f]{64}$/);
  const api = { MIXPEEK_BASE_URL: local.url, MIXPEEK_API_KEY: local.key, MIXPEEK_NAMESPACE: "default" };
  const publish = await invoke(["--json", "plugin", "publish", "--path", root, "--wait", "--yes"], {
    env: api,
  });
  _check(publish, "plugin publish");
  const published = JSON.parse(publish.stdout);
  assertEquals([published.name, published.status], ["dist_demo", "deployed"]);
  const list = await invoke(["plugin", "list", "--source", "custom"], { env: api });
  _check(list, "plugin list");
  assertStringIncludes(list.stdout, `${published.plugin_id}\tdist_demo\t${published.version}\tpassed\tyes`);
  return root;
}

/** Runs a command to completion with a clean environment (`env` only) and collects its output. */
export async function run(
  command: string[],
  options: { cwd?: string; env: Record<string, string>; stdin?: "null" | "inherit" },
): Promise<CliResult> {
  const out = await new Deno.Command(command[0], {
    args: command.slice(1),
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
