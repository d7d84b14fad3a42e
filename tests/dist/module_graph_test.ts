/**
 * Nothing reads the source tree at run time, shown without a compiled binary: the CLI runs from a copy of its
 * module graph in a temp dir, with --allow-read/--allow-write limited to the plugin's folder and the temp dir,
 * so neither templates/ nor lib/plugin/harness/ (nor anything else in the checkout) can be reached.
 *   - a `deno bundle` of main.ts (one JavaScript file, npm packages inlined): not even itself is readable;
 *   - a copy of main.ts, lib/ (without lib/plugin/harness/), deno.json and deno.lock, run by `deno run`.
 */
import { ENV_VARS } from "../../scripts/permissions.ts";
import { bundlerCached } from "../../scripts/prefetch.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { cacheDir, type CliResult, ROOT, tempDir } from "../helpers/cli.ts";
import { run } from "./_helpers.ts";

const isWindows = Deno.build.os === "windows";

/** init → scan → pack through `invoke`, in `work`. */
async function _initScanPack(invoke: (args: string[], cwd?: string) => Promise<CliResult>, work: string) {
  const init = await invoke([
    "plugin",
    "init",
    "graph-demo",
    "--category",
    "image",
    "--no-input",
    "--author",
    "ci",
  ], work);
  assertEquals(init.code, 0, init.stderr);
  const root = `${work}/graph_demo`;
  const manifest = await Deno.readTextFile(`${root}/manifest.py`);
  assertStringIncludes(manifest, "graph_demo");

  const scan = await invoke(["--json", "plugin", "scan", "--path", root]);
  assertEquals(scan.code, 0, scan.stderr);
  assert(JSON.parse(scan.stdout).files_scanned > 0, scan.stdout);
  // A finding proves the parser (tree-sitter WASM, embedded) really ran.
  await Deno.writeTextFile(`${root}/processors/bad.py`, "import os\nos.system('ls')\n");
  const rejected = await invoke(["--json", "plugin", "scan", "--path", root]);
  assertEquals(rejected.code, 3, rejected.stderr);
  assertEquals(JSON.parse(rejected.stdout).findings[0].rule_id, "shell-os-system");
  await Deno.remove(`${root}/processors/bad.py`);

  const pack = await invoke(["--json", "plugin", "pack", "--path", root]);
  assertEquals(pack.code, 0, pack.stderr);
  assert(JSON.parse(pack.stdout).files.includes("processors/core.py"), pack.stdout);
}

async function _env(base: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${base}/tmp`);
  await Deno.mkdir(`${base}/work`);
  await Deno.mkdir(`${base}/home`);
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: `${base}/home`,
    MIXPEEK_CONFIG_DIR: `${base}/home/config`,
    TMPDIR: `${base}/tmp`,
    DENO_DIR: await cacheDir(),
    DENO_NO_UPDATE_CHECK: "1",
  };
}

// `deno bundle` fetches esbuild from npm on first use; the README's test command fetches it beforehand
// (scripts/prefetch.ts), because this test runs with a scrubbed environment and must not need the network.
const bundlerMissing = !isWindows && !(await bundlerCached(await cacheDir()));
if (bundlerMissing) {
  console.error(
    "module_graph_test: skipping the bundle test: esbuild is not in the Deno cache (run the suite with " +
      "`deno task test`, which fetches it first)",
  );
}

Deno.test({
  name: "a deno bundle of main.ts runs init, scan and pack reading only the plugin folder and temp dir",
  ignore: isWindows || bundlerMissing,
  async fn() {
    await using dir = await tempDir("mixpeek-bundle-");
    const env = await _env(dir.path);
    const bundle = `${dir.path}/bundle/mixpeek.js`;
    const built = await run(
      [Deno.execPath(), "bundle", "--quiet", "--platform", "deno", "--output", bundle, `${ROOT}/main.ts`],
      { cwd: ROOT, env },
    );
    assertEquals(built.code, 0, built.stderr);
    const scope = [`${dir.path}/work`, `${dir.path}/tmp`].join(",");
    const flags = [
      "--no-prompt",
      `--allow-read=${scope}`,
      `--allow-write=${scope}`,
      `--allow-env=${ENV_VARS}`,
    ];
    await _initScanPack(
      (args, cwd) => run([Deno.execPath(), "run", "--quiet", ...flags, bundle, ...args], { cwd, env }),
      `${dir.path}/work`,
    );
  },
});

Deno.test({
  name: "a copy of the module graph without templates/ or the harness folder runs init, scan and pack",
  ignore: isWindows,
  async fn() {
    await using dir = await tempDir("mixpeek-graph-");
    const env = await _env(dir.path);
    const copy = `${dir.path}/app`;
    await Deno.mkdir(copy);
    for (const file of ["main.ts", "deno.json", "deno.lock"]) {
      await Deno.copyFile(`${ROOT}/${file}`, `${copy}/${file}`);
    }
    const skipped = new Set(["lib/plugin/harness"]);
    const copyTree = async (rel: string): Promise<void> => {
      await Deno.mkdir(`${copy}/${rel}`, { recursive: true });
      for await (const entry of Deno.readDir(`${ROOT}/${rel}`)) {
        const child = `${rel}/${entry.name}`;
        if (skipped.has(child)) continue;
        if (entry.isDirectory) await copyTree(child);
        else if (entry.isFile) await Deno.copyFile(`${ROOT}/${child}`, `${copy}/${child}`);
      }
    };
    await copyTree("lib");
    for (const absent of ["templates", "tests", "scripts", "lib/plugin/harness"]) {
      assertEquals(await Deno.stat(`${copy}/${absent}`).catch(() => null), null, absent);
    }
    // Reads: the copy (Deno loads modules without a grant, but be generous: the code may read its own
    // folder), the plugin's folder and the temp dir; never the checkout.
    const read = [copy, `${dir.path}/work`, `${dir.path}/tmp`].join(",");
    const write = [`${dir.path}/work`, `${dir.path}/tmp`].join(",");
    const flags = [
      "--no-prompt",
      "--frozen",
      `--allow-read=${read}`,
      `--allow-write=${write}`,
      `--allow-env=${ENV_VARS}`,
    ];
    await _initScanPack(
      (args, cwd) =>
        run([Deno.execPath(), "run", "--quiet", ...flags, `${copy}/main.ts`, ...args], { cwd, env }),
      `${dir.path}/work`,
    );
  },
});

Deno.test("lib/ locates nothing relative to its own source, except the worker modules", async () => {
  const offenders: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for await (const entry of Deno.readDir(`${ROOT}/${rel}`)) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory && child !== "lib/embedded") await walk(child);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        const lines = (await Deno.readTextFile(`${ROOT}/${child}`)).split("\n");
        lines.forEach((line, i) => {
          if (/import\.meta\.(url|dirname|filename|resolve)/.test(line)) {
            offenders.push(`${child}:${i + 1}: ${line.trim()}`);
          }
        });
      }
    }
  };
  await walk("lib");
  // A worker is a module (compiled in with --include, published to JSR with lib/), not a data file.
  const allowed = (o: string) =>
    (o.startsWith("lib/scan/scan.ts:") && o.includes('new URL("./worker.ts"')) ||
    (o.startsWith("lib/pack/deflate.ts:") && o.includes('new URL("./deflate_worker.ts"')) ||
    (o.startsWith("lib/local/checks.ts:") && o.includes('new URL("./checks_worker.ts"'));
  assertEquals(offenders.filter((o) => !allowed(o)), []);
});
