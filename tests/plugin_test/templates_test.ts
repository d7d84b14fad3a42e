/**
 * Every template `plugin init` renders (6 categories, with and without realtime.py) passes every check of
 * `plugin test`, with and without `--sample-data sample_data.json` (the sample it ships), pytest included.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { CATEGORIES } from "../../lib/plugin/categories.ts";
import type { TestReport } from "../../lib/plugin/check.ts";
import { firstJson, pluginTest, pool, SCANNER } from "./_helpers.ts";

const workspace = await tempDir("mixpeek-templates-");
const limit = pool(2);

interface Variant {
  category: string;
  realtime: boolean;
}

const VARIANTS: Variant[] = CATEGORIES.flatMap((category) => [
  { category, realtime: false },
  { category, realtime: true },
]);

const folders = new Map<string, Promise<string>>();

/** Renders the variant once with the CLI, as an author would. */
function render(v: Variant): Promise<string> {
  const key = `${v.category}${v.realtime ? "_rt" : ""}`;
  if (!folders.has(key)) {
    folders.set(
      key,
      limit(async () => {
        const folder = `${workspace.path}/${key}`;
        const r = await runCli([
          "plugin",
          "init",
          `${v.category}_demo`,
          "--category",
          v.category,
          v.realtime ? "--realtime" : "--no-realtime",
          "--no-input",
          "--output",
          folder,
        ]);
        assertEquals(r.code, 0, r.stderr);
        return folder;
      }),
    );
  }
  return folders.get(key)!;
}

const runs = new Map<string, Promise<{ code: number; report: TestReport; stderr: string }>>();

function test(v: Variant, sample: boolean) {
  const key = `${v.category}${v.realtime}${sample}`;
  if (!runs.has(key)) {
    runs.set(
      key,
      render(v).then((folder) =>
        limit(async () => {
          const sampleArgs = sample ? ["--sample-data", "sample_data.json"] : [];
          const r = await pluginTest(["--json", "--path", folder, ...sampleArgs], { cwd: folder });
          return { code: r.code, report: firstJson<TestReport>(r.stdout), stderr: r.stderr };
        })
      ),
    );
  }
  return runs.get(key)!;
}

/** Warm up: start every run, two at a time, before the first test awaits its own. */
for (const v of VARIANTS) for (const sample of [false, true]) test(v, sample).catch(() => {});

for (const v of VARIANTS) {
  for (const sample of [false, true]) {
    const name =
      `plugin test: the ${v.category} template${v.realtime ? " with realtime" : ""} passes every check` +
      (sample ? " with --sample-data sample_data.json" : "");
    Deno.test({ name, sanitizeOps: false, sanitizeResources: false }, async () => {
      const { code, report, stderr } = await test(v, sample);
      const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
      assertEquals(statuses, {
        structure: "pass",
        schemas: "pass",
        pipeline: "pass",
        scan: SCANNER ? "pass" : "fail",
        tests: "pass",
        sample_data: sample ? "pass" : "skip",
      }, JSON.stringify(report, null, 2));
      assertEquals(code, SCANNER ? 0 : 3, stderr);
      assertEquals(report.ok, SCANNER);
      const tests = report.checks.find((c) => c.id === "tests")!;
      assert(/^\d+ passed in /.test(tests.reason), tests.reason);
      if (sample) {
        assert(/^\d+ records: (\d+) ok, 0 failed$/.test(report.checks[5].reason), report.checks[5].reason);
      } else assertStringIncludes(report.checks[5].reason, "--sample-data sample_data.json");
      assertEquals(report.python_version?.split(".")[0], "3");
      assertEquals(report.pydantic_version?.split(".")[0], "2");
    });
  }
}

Deno.test({
  name:
    "plugin test: a template passes with pytest's auto-loaded plugins on, and --verbose shows pytest's output",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const folder = await render({ category: "text", realtime: false });
  const r = await runCli([
    "--verbose",
    "plugin",
    "test",
    "--path",
    folder,
    "--sample-data",
    `${folder}/sample_data.json`,
  ]);
  assertEquals(r.code, SCANNER ? 0 : 3, r.stdout + r.stderr);
  assertStringIncludes(r.stderr, "pytest output");
  assert(/\d+ passed/.test(r.stderr), r.stderr);
  assert(/^✓ tests\s+\d+ passed in/m.test(r.stdout), r.stdout);
  if (SCANNER) assert(/^plugin ok: 6 passed · python 3\.\d+\.\d+, pydantic 2\./m.test(r.stdout), r.stdout);
});

Deno.test(
  { name: "plugin test: templates workspace cleanup", sanitizeOps: false, sanitizeResources: false },
  async () => {
    await Promise.allSettled([...runs.values()]);
    await workspace[Symbol.asyncDispose]();
  },
);
