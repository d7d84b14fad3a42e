/**
 * `mixpeek plugin test` and `mixpeek plugin validate` on a freshly rendered template (text, with realtime.py):
 * the CLI's overhead beyond the plugin's own Python work, next to references measured in the same run,
 * interleaved round by round:
 *   - the bare cost of `python3 -c "import pandas, pydantic"` (what any plugin's Python pays first);
 *   - Python's own work: the very processes the CLI runs, spawned directly by this script the same way,
 *     with the same environment (childEnv) and the same platform runtime: for `test` the harness (manifest,
 *     pipeline, sample_data, realtime) and pytest, started when the harness says hello; for `validate` the
 *     harness alone (manifest, pipeline, realtime).
 * CLI overhead = CLI wall − Python's own work: Deno start-up, module loading, the runtime folder check,
 * the structure check, the scan (concurrent with Python) and the orchestration. Target: under 150 ms.
 * Python's own time on this machine varies by hundreds of milliseconds from one run to the next, so the
 * overhead is taken per round (CLI wall − Python's own work, the two run back to back) and the median of
 * those paired differences is the figure; the difference of the medians is printed beside it. Also printed:
 * how long the CLI runs before the plugin's first Python process starts (a `--python` wrapper that notes
 * the time and execs python3), the part of the overhead no concurrency hides.
 *
 *   deno task bench test [--rounds N]
 *
 * pytest runs with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 (on this machine pytest-benchmark alone adds ~0.9 s to
 * every pytest start, which is neither the CLI's cost nor the plugin's).
 */
import { join } from "node:path";
import { type CheckId, harnessCommand, pytestArgs, type TestReport } from "../lib/plugin/check.ts";
import { childEnv, runtimePath } from "../lib/plugin/runtime.ts";
import { median } from "./bench_util.ts";
import { choosePython, pathWith, type PythonChoice, TEST_REQUIREMENTS } from "./preflight.ts";

const rounds = Number(Deno.args[Deno.args.indexOf("--rounds") + 1]) || 11;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
const TARGET_MS = 150;
// The Python the test suite would use (scripts/preflight.ts), first on PATH for the CLI's own discovery: the
// first python3 on PATH may lack what a plugin needs (npx puts node's folder first, here /usr/bin, whose
// python3 may have Debian's pydantic 1).
const CHOSEN = await choosePython(TEST_REQUIREMENTS);
if ("error" in CHOSEN) {
  console.error(`bench test: ${CHOSEN.error}`);
  Deno.exit(1);
}
const PYTHON: PythonChoice = CHOSEN;
const FAST = { PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1", PATH: pathWith(PYTHON) };

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const start = performance.now();
  const out = await new Deno.Command(cmd, { args, env, cwd, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  return { ms: performance.now() - start, code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** The CLI's Python work without the CLI: the harness via `python3`, then (for test) pytest from the
 * interpreter the harness reports, concurrently, exactly as lib/plugin/check.ts does. */
async function pythonOnly(plugin: string, env: Record<string, string>, withTests: boolean): Promise<number> {
  const start = performance.now();
  const checks: CheckId[] = withTests
    ? ["manifest", "pipeline", "sample_data", "realtime"]
    : ["manifest", "pipeline", "realtime"];
  const sample = withTests ? { path: join(plugin, "sample_data.json"), name: "sample_data.json" } : undefined;
  const command = harnessCommand(plugin, checks, { sample });
  const harness = new Deno.Command(PYTHON.executable, {
    args: command.args,
    cwd: plugin,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = harness.stdin.getWriter();
  await writer.write(new TextEncoder().encode(command.stdin));
  await writer.close();
  let buffered = "";
  let pytest: Promise<Deno.CommandOutput> | undefined;
  const xml = await Deno.makeTempFile({ suffix: ".xml" });
  for await (const chunk of harness.stdout.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    if (withTests && !pytest && buffered.includes("\n")) {
      const hello = JSON.parse(buffered.slice(0, buffered.indexOf("\n")));
      pytest = new Deno.Command(hello.executable, {
        args: pytestArgs(plugin, xml),
        cwd: plugin,
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
    }
  }
  await harness.status;
  const tests = await pytest;
  const ms = performance.now() - start;
  await Deno.remove(xml).catch(() => {});
  const failed = buffered.split("\n").filter((l) => l.includes('"status": "fail"'));
  if (!buffered.includes('"event": "done"') || failed.length > 0 || (withTests && tests?.code !== 0)) {
    throw new Error(`python-only run failed: ${failed.join("\n")}`);
  }
  return ms;
}

/** A `--python` that notes when it started (ns since the epoch) and becomes python3. */
async function timingPython(dir: string): Promise<{ path: string; log: string }> {
  const path = join(dir, "timing-python");
  const log = join(dir, "python-starts.log");
  await Deno.writeTextFile(path, `#!/bin/sh\ndate +%s%N >> '${log}'\nexec '${PYTHON.executable}' "$@"\n`, {
    mode: 0o755,
  });
  return { path, log };
}

/** Milliseconds from `startedAt` (epoch ms) to the first start noted in the wrapper's log. */
async function firstPythonAfter(log: string, startedAt: number): Promise<number> {
  const starts = (await Deno.readTextFile(log)).trim().split("\n").map((ns) =>
    Number(BigInt(ns) / 1000n) / 1000
  );
  await Deno.remove(log);
  return Math.min(...starts) - startedAt;
}

async function cli(
  command: "test" | "validate",
  plugin: string,
  python?: string,
): Promise<{ ms: number; report: TestReport; startedAt: number }> {
  const args = ["run", "--quiet", "-A", MAIN, "--json", "plugin", command, plugin];
  if (command === "test") args.push("--sample-data", join(plugin, "sample_data.json"));
  if (python) args.push("--python", python);
  const startedAt = Date.now();
  const r = await run(DENO, args, FAST);
  const end = r.stdout.indexOf("\n}\n");
  const report = JSON.parse(end < 0 ? r.stdout : r.stdout.slice(0, end + 2)) as TestReport;
  const failed = report.checks.filter((c) => c.status === "fail").map((c) => c.id);
  if (failed.length > 0) throw new Error(`plugin ${command} failed: ${failed.join(", ")}`);
  return { ms: r.ms, report, startedAt };
}

async function scenario(
  command: "test" | "validate",
  plugin: string,
  env: Record<string, string>,
  timing: { path: string; log: string },
) {
  const withTests = command === "test";
  await cli(command, plugin); // warm-up: Deno's module cache, the runtime folder, Python's imports
  await pythonOnly(plugin, env, withTests);
  const bare: number[] = [];
  const python: number[] = [];
  const wall: number[] = [];
  const beforePython: number[] = [];
  const byCheck = new Map<string, number[]>();
  for (let i = 0; i < rounds; i++) {
    bare.push((await run(PYTHON.executable, ["-c", "import pandas, pydantic"])).ms);
    python.push(await pythonOnly(plugin, env, withTests));
    const r = await cli(command, plugin);
    wall.push(r.ms);
    for (const c of r.report.checks) byCheck.set(c.id, [...(byCheck.get(c.id) ?? []), c.duration_ms]);
    const timed = await cli(command, plugin, timing.path);
    beforePython.push(await firstPythonAfter(timing.log, timed.startedAt));
  }
  const paired = median(wall.map((w, i) => w - python[i]));
  const overhead = paired;
  const f = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
  const spread = (v: number[]) => `(min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)})`;
  const what = withTests ? "harness ∥ pytest" : "harness";
  console.log(`\nmixpeek plugin ${command} — median of ${rounds} interleaved rounds`);
  console.log(`  reference: python3 -c "import pandas, pydantic"    ${f(median(bare))} ${spread(bare)}`);
  console.log(`  Python's own work (${what}, no CLI)`.padEnd(52) + `${f(median(python))} ${spread(python)}`);
  console.log(`  mixpeek plugin ${command} (CLI wall)`.padEnd(52) + `${f(median(wall))} ${spread(wall)}`);
  console.log(
    `  CLI overhead beyond Python's own work`.padEnd(52) + `${f(overhead)}  (target < ${TARGET_MS} ms): ` +
      (overhead < TARGET_MS ? "met" : "NOT met") +
      ` (median of the per-round differences; difference of the medians ${
        (median(wall) - median(python)).toFixed(0)
      } ms, min-to-min ${(Math.min(...wall) - Math.min(...python)).toFixed(0)} ms)`,
  );
  console.log(
    `  CLI time before the plugin's first Python starts`.padEnd(52) +
      `${f(median(beforePython))} ${spread(beforePython)}`,
  );
  console.log(
    `  ratios: CLI / Python's own work ${(median(wall) / median(python)).toFixed(2)}; ` +
      `CLI / bare import ${(median(wall) / median(bare)).toFixed(2)}; ` +
      `overhead / bare import ${(overhead / median(bare)).toFixed(2)}`,
  );
  console.log(
    "  by check (median duration_ms): " +
      [...byCheck].map(([id, values]) => `${id} ${median(values).toFixed(1)}`).join(" · "),
  );
  return overhead < TARGET_MS;
}

const dir = await Deno.makeTempDir({ prefix: "mixpeek-bench-test-" });
try {
  const init = await run(
    DENO,
    [
      "run",
      "--quiet",
      "-A",
      MAIN,
      "plugin",
      "init",
      "bench_plugin",
      "-c",
      "text",
      "--realtime",
      "--no-input",
    ],
    {},
    dir,
  );
  if (init.code !== 0) throw new Error("plugin init failed");
  const plugin = join(dir, "bench_plugin");
  const env = childEnv({ runtime: await runtimePath(), extra: FAST });
  const deno: number[] = [];
  for (let i = 0; i < 5; i++) deno.push((await run(DENO, ["run", "--quiet", "-A", MAIN, "--version"])).ms);
  console.log(`Deno start-up floor (mixpeek --version): ${median(deno).toFixed(0)} ms`);
  const timing = await timingPython(dir);
  const a = await scenario("test", plugin, env, timing);
  const b = await scenario("validate", plugin, env, timing);
  if (!a || !b) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
