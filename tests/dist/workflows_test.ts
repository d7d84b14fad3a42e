/**
 * The GitHub workflows load as YAML (python3's PyYAML, what a YAML 1.1 parser like GitHub's sees), every
 * `deno task X` they run exists in deno.json, actions are pinned, and each does its job: ci.yml runs the
 * gates and the tests on Linux, macOS and Windows with Deno 2.9.6 and the Python packages; release.yml
 * compiles every target of scripts/compile.ts, publishes SHA256SUMS with the binaries and publishes to JSR
 * with OIDC.
 */
import { TARGETS } from "../../scripts/compile.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { ROOT, runProcess } from "../helpers/cli.ts";

// deno-lint-ignore no-explicit-any
type Yaml = any;

const LOADER =
  "import json, sys, yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))";

async function _hasYaml(): Promise<boolean> {
  try {
    return (await runProcess("python3", ["-c", "import yaml"])).code === 0;
  } catch {
    return false;
  }
}
const HAS_YAML = await _hasYaml();
if (!HAS_YAML) console.log("workflows_test: ignored: python3 with PyYAML is needed (pip install pyyaml)");

async function _load(name: string): Promise<Yaml> {
  const r = await runProcess("python3", ["-c", LOADER, `${ROOT}/.github/workflows/${name}`]);
  assertEquals(r.code, 0, `${name} is not valid YAML:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** PyYAML reads the key `on` as the boolean true (YAML 1.1); GitHub reads it as "on". */
function _on(doc: Yaml): Yaml {
  return doc.on ?? doc["true"];
}

function _steps(doc: Yaml): Yaml[] {
  return Object.values(doc.jobs as Record<string, Yaml>).flatMap((job) => job.steps ?? []);
}

function _runs(doc: Yaml): string {
  return _steps(doc).map((s) => s.run ?? "").join("\n");
}

async function _checkCommon(name: string, doc: Yaml): Promise<void> {
  assert(typeof doc.name === "string" && _on(doc), `${name}: name and on`);
  const tasks = Object.keys(JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks);
  for (const [id, job] of Object.entries(doc.jobs as Record<string, Yaml>)) {
    assert(job["runs-on"], `${name}: job ${id} has no runs-on`);
    assert(Array.isArray(job.steps) && job.steps.length > 0, `${name}: job ${id} has no steps`);
    for (const step of job.steps) {
      assert(
        (step.uses === undefined) !== (step.run === undefined),
        `${name}/${id}: a step needs uses or run`,
      );
      if (step.uses) {
        assert(/^[\w.-]+\/[\w.-]+@v\d+$/.test(step.uses), `${name}/${id}: ${step.uses} is not pinned`);
      }
    }
  }
  const used = [..._runs(doc).matchAll(/\bdeno task ([\w:-]+)/g)].map((m) => m[1]);
  assert(used.length > 0, `${name} runs no deno task`);
  for (const task of used) {
    assert(tasks.includes(task), `${name} runs "deno task ${task}", which deno.json lacks`);
  }
  for (const step of _steps(doc).filter((s) => s.uses?.startsWith("denoland/setup-deno@"))) {
    assertEquals(String(step.with?.["deno-version"]), "2.9.6", `${name}: setup-deno pinned to 2.9.6`);
  }
}

Deno.test({
  name: "ci.yml: gates and the tests on Linux, macOS and Windows",
  ignore: !HAS_YAML,
  async fn() {
    const doc = await _load("ci.yml");
    await _checkCommon("ci.yml", doc);
    const runs = _runs(doc);
    for (
      const gate of [
        "deno fmt --check",
        "deno lint",
        "deno task check",
        "deno task embed --check",
        "deno task test",
      ]
    ) {
      assert(runs.includes(gate), `ci.yml does not run ${gate}`);
    }
    const test = doc.jobs.test;
    assertEquals([...test.strategy.matrix.os].sort(), ["macos-latest", "ubuntu-latest", "windows-latest"]);
    assert(test.steps.some((s: Yaml) => s.uses?.startsWith("actions/setup-python@")), "no setup-python");
    assert(
      /pip install pydantic pytest 'moto\[server\]'/.test(runs),
      "the Python packages are not installed",
    );
    assert(_on(doc).pull_request !== undefined && _on(doc).push !== undefined);
  },
});

Deno.test({
  name: "release.yml: compile matrix, SHA256SUMS attached to the release, JSR with OIDC",
  ignore: !HAS_YAML,
  async fn() {
    const doc = await _load("release.yml");
    await _checkCommon("release.yml", doc);
    assertEquals(_on(doc).push.tags, ["v*"]);
    const matrix = doc.jobs.compile.strategy.matrix.include as { target: string; os: string }[];
    assertEquals(matrix.map((m) => m.target).sort(), [...TARGETS].sort());
    assert(_runs(doc).includes("deno task compile --target ${{ matrix.target }}"));
    const release = doc.jobs["github-release"];
    assertEquals(release.permissions.contents, "write");
    const releaseRuns = release.steps.map((s: Yaml) => s.run ?? "").join("\n");
    assert(/sha256sum mixpeek-\* > SHA256SUMS/.test(releaseRuns), "no SHA256SUMS");
    assert(/gh release upload "\$TAG" dist\/\*/.test(releaseRuns), "binaries not attached");
    assert(releaseRuns.includes("cp install.sh install.ps1 dist/"), "the install scripts are not attached");
    const jsr = doc.jobs.jsr;
    assertEquals(jsr.permissions["id-token"], "write");
    assert(jsr.steps.some((s: Yaml) => s.run === "deno publish"), "no deno publish");
    assertEquals(
      doc.permissions,
      { contents: "read" },
      "least privilege by default; jobs widen what they need",
    );
  },
});
