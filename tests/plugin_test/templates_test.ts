/**
 * Every template `plugin init` renders, 6 categories × 3 resource types × with and without realtime.py,
 * made by flags as an author would: `plugin test --sample-data sample_data.json` passes all seven checks
 * (realtime is skipped without realtime.py), every .py file compiles, nothing is left unrendered, and the
 * plugins' own tests pass under plain `python3 -m pytest` with the PYTHONPATH `plugin env` prints.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, runProcess, tempDir } from "../helpers/cli.ts";
import { CATEGORIES, RESOURCES } from "../../lib/plugin/categories.ts";
import type { TestReport } from "../../lib/plugin/check.ts";
import { FAST_PYTEST, firstJson, pluginTest, pool } from "./_helpers.ts";

const workspace = await tempDir("mixpeek-templates-");
const limit = pool(2);

interface Variant {
  category: string;
  resource: string;
  realtime: boolean;
  name: string;
}

const VARIANTS: Variant[] = CATEGORIES.flatMap((category) =>
  RESOURCES.flatMap((resource) =>
    [false, true].map((realtime) => ({
      category,
      resource,
      realtime,
      name: `${category}_${resource}${realtime ? "_rt" : ""}`,
    }))
  )
);

/** A description and an author that need escaping in Python strings, TOML and Markdown. */
const DESCRIPTION = 'Says "hi" \\ back';
const AUTHOR = 'Ada "Q" Lovelace';

const folders = new Map<string, Promise<string>>();

/** `plugin init` by flags (the folder is the package: ./<name>). */
function render(v: Variant): Promise<string> {
  if (!folders.has(v.name)) {
    folders.set(
      v.name,
      limit(async () => {
        const r = await runCli([
          "plugin",
          "init",
          v.name,
          "-c",
          v.category,
          "--resource",
          v.resource,
          v.realtime ? "--realtime" : "--no-realtime",
          "-d",
          DESCRIPTION,
          "-a",
          AUTHOR,
        ], { cwd: workspace.path });
        assertEquals(r.code, 0, r.stderr);
        return `${workspace.path}/${v.name}`;
      }),
    );
  }
  return folders.get(v.name)!;
}

for (const v of VARIANTS) {
  Deno.test({
    name: `template ${v.name}: plugin test --sample-data sample_data.json passes every check`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const folder = await render(v);
      const r = await limit(() => pluginTest(["--json", "-s", "sample_data.json"], { cwd: folder }));
      const report = firstJson<TestReport>(r.stdout);
      const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
      assertEquals(statuses, {
        structure: "pass",
        manifest: "pass",
        pipeline: "pass",
        scan: "pass",
        tests: "pass",
        sample_data: "pass",
        realtime: v.realtime ? "pass" : "skip",
      }, JSON.stringify(report.checks, null, 2));
      assertEquals(r.code, 0, r.stderr);
      const meta = report.metadata!;
      assertEquals([meta.name, meta.version, meta.category, meta.realtime, meta.resource_type], [
        v.name,
        "0.1.0",
        v.category,
        v.realtime,
        v.resource,
      ]);
      assertEquals(meta.compute_profile?.batch_size, { cpu: 64, gpu: 8, api: 16 }[v.resource]);
      const embeds = ["text", "image", "multimodal"].includes(v.category);
      assertEquals(meta.features.map((f) => f.feature_name), embeds ? [`${v.name}_embedding`] : []);
      const pipeline = report.checks.find((c) => c.id === "pipeline")!;
      assertStringIncludes(pipeline.reason, `${v.resource}, batches of `);
    },
  });
}

Deno.test({
  name: "templates: every .py compiles, no {{ is left, and their own tests pass under plain pytest",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const roots = await Promise.all(VARIANTS.map(render));
    const compile = await runProcess("python3", [
      "-c",
      "import pathlib, sys\nfor p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):\n" +
      "    compile(p.read_bytes(), str(p), 'exec')\nprint('ok')",
      workspace.path,
    ], { env: { PATH: Deno.env.get("PATH")!, PYTHONDONTWRITEBYTECODE: "1" } });
    assertEquals(compile.code, 0, compile.stderr);
    const grep = await runProcess("grep", [
      "-rln",
      "--exclude=*.png",
      "--exclude=*.wav",
      "{{",
      workspace.path,
    ]);
    assertEquals(grep.stdout, "", "unrendered placeholders");

    // The PYTHONPATH line as `plugin env` prints it, then plain pytest over every plugin at once (each is
    // its own package, so their tests do not collide).
    // (runCli's HOME is removed when it returns, and the runtime lives under HOME: keep one for this.)
    const env = await runCli(["--json", "plugin", "env"], { env: { HOME: `${workspace.path}/.home` } });
    assertEquals(env.code, 0, env.stderr);
    const pythonPath = JSON.parse(env.stdout).env.PYTHONPATH as string;
    const pytest = await runProcess("python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider", ...roots], {
      cwd: workspace.path,
      env: {
        PATH: Deno.env.get("PATH")!,
        PYTHONPATH: pythonPath,
        PYTHONDONTWRITEBYTECODE: "1",
        ...FAST_PYTEST,
      },
    });
    assertEquals(pytest.code, 0, pytest.stdout + pytest.stderr);
    const passed = Number(/(\d+) passed/.exec(pytest.stdout)?.[1] ?? 0);
    assert(passed >= VARIANTS.length * 10, pytest.stdout);
    assert(!/failed|error/i.test(pytest.stdout.split("\n").at(-2) ?? ""), pytest.stdout);
  },
});

Deno.test({
  name: "templates: the rendered files carry the escaped description and author, and the folder is 0755",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const folder = await render(VARIANTS[0]);
    const manifest = await Deno.readTextFile(`${folder}/manifest.py`);
    assertStringIncludes(manifest, `"description": "Says \\"hi\\" \\\\ back"`);
    assertStringIncludes(manifest, `"author": "Ada \\"Q\\" Lovelace"`);
    assertStringIncludes(await Deno.readTextFile(`${folder}/README.md`), `${DESCRIPTION}`);
    assertStringIncludes(
      await Deno.readTextFile(`${folder}/pyproject.toml`),
      `description = "Says \\"hi\\" \\\\ back"`,
    );
    if (Deno.build.os !== "windows") assertEquals((await Deno.stat(folder)).mode! & 0o777, 0o755);
  },
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(workspace.path, { recursive: true });
});
