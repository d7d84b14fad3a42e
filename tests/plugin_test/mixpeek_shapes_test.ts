/**
 * Plugins written the way Mixpeek writes them pass every check: one per category in the shape of Mixpeek's
 * original `mixpeek plugin init` template (metadata["name"], "version": "v1", dataclass config,
 * extractor_definition) and one per category in the module-level style of the newer docs. And the other way
 * round: what Mixpeek's own Python CLI does in its `plugin test` (import `<package>.manifest` and
 * `.pipeline` from the parent folder, build_steps with an empty request, each step over a DataFrame of the
 * sample records) works on them and on our templates, once `plugin env`'s PYTHONPATH is set.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, runProcess, tempDir } from "../helpers/cli.ts";
import { CATEGORIES } from "../../lib/plugin/categories.ts";
import type { TestReport } from "../../lib/plugin/check.ts";
import { runtimePath } from "../../lib/plugin/runtime.ts";
import { firstJson, FIXTURES, pluginTest, pool } from "./_helpers.ts";

const limit = pool(2);
const FIXTURE_SETS = [
  ...CATEGORIES.map((c) => `mixpeek_v1/${c}_extractor`),
  ...CATEGORIES.map((c) => `module_level/${c}_embed`),
];

for (const fixture of FIXTURE_SETS) {
  Deno.test({
    name: `${fixture} passes every check of plugin test --sample-data`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const root = `${FIXTURES}/${fixture}`;
      const r = await limit(() => pluginTest(["--json", root, "-s", `${root}/sample_data.json`]));
      const report = firstJson<TestReport>(r.stdout);
      assertEquals(
        report.checks.map((c) => [c.id, c.status]),
        [
          ["structure", "pass"],
          ["manifest", "pass"],
          ["pipeline", "pass"],
          ["scan", "pass"],
          ["tests", "pass"],
          ["sample_data", "pass"],
          ["realtime", "pass"],
        ],
        JSON.stringify(report.checks, null, 2),
      );
      assertEquals(r.code, 0, r.stderr);
      const v1 = fixture.startsWith("mixpeek_v1/");
      assertEquals(report.metadata?.style, v1 ? "metadata" : "module");
      assertEquals(report.metadata?.normalized_version, "1.0.0");
      if (v1) assertStringIncludes(report.checks[1].reason, "version v1 is published as 1.0.0");
      else assertEquals(report.metadata?.features.length, 1);
    },
  });
}

/** The steps of Mixpeek's original `mixpeek plugin test`, re-done here (its CLI needs its SDK installed). */
const MIXPEEK_CLI_STEPS = `
import json, sys
from pathlib import Path
import pandas as pd

plugin = Path(sys.argv[1]).resolve()
sys.path.insert(0, str(plugin.parent))
manifest = __import__(plugin.name + ".manifest", fromlist=["metadata"])
assert hasattr(manifest, "metadata") or hasattr(manifest, "feature_extractor_name")
assert hasattr(manifest, "output_schema")
pipeline = __import__(plugin.name + ".pipeline", fromlist=["build_steps"])
assert callable(pipeline.build_steps)

class Config:
    parameters = {}
    input_mappings = {}

class Request:
    extractor_config = Config()

records = json.loads((plugin / "sample_data.json").read_text())
result = pipeline.build_steps(Request())
processed = pd.DataFrame(records)
for step in result.get("steps", []):
    if callable(step):
        processed = step(processed)
print(len(processed), sorted(processed.columns))
`;

Deno.test({
  name: "Mixpeek's own CLI procedure runs these plugins and our templates with plugin env's PYTHONPATH",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir();
    const roots = FIXTURE_SETS.map((f) => `${FIXTURES}/${f}`);
    for (const category of ["text", "image", "multimodal"]) {
      const init = await runCli(["plugin", "init", `${category}_ours`, "-c", category, "--realtime"], {
        cwd: dir.path,
      });
      assertEquals(init.code, 0, init.stderr);
      roots.push(`${dir.path}/${category}_ours`);
    }
    const runtime = await runtimePath();
    for (const root of roots) {
      // Without the runtime, Mixpeek's CLI stops at `No module named 'engine'` (SPEC §5).
      const without = await runProcess("python3", ["-c", MIXPEEK_CLI_STEPS, root], { cwd: root });
      assertStringIncludes(without.stderr, "No module named 'engine'", root);
      const r = await runProcess("python3", ["-c", MIXPEEK_CLI_STEPS, root], {
        cwd: root,
        env: { PYTHONPATH: runtime, PYTHONDONTWRITEBYTECODE: "1" },
      });
      assertEquals(r.code, 0, `${root}\n${r.stderr}`);
      const records = JSON.parse(await Deno.readTextFile(`${root}/sample_data.json`)).length;
      assertEquals(Number(r.stdout.split(" ")[0]), records, root);
    }
  },
});
