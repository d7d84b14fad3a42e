/**
 * `mixpeek plugin test` on a freshly rendered template (text, with --sample-data): wall time and its
 * breakdown by check, next to two references measured in the same run, interleaved round by round:
 *   - the bare cost of `python3 -c "import pydantic"`;
 *   - Python's own work: the very processes the CLI runs (the embedded harness, then pytest), spawned
 *     directly by this script the same way (pytest starts when the harness says hello).
 * CLI overhead = CLI wall − Python's own work: Deno start-up, module loading, the structure check, the scan
 * (concurrent with Python) and the orchestration. Target: under 150 ms.
 *
 *   deno run -A scripts/bench_test.ts [--rounds N]
 *
 * It runs twice: with pytest's auto-loaded plugins as installed, and with PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
 * (on this machine pytest-benchmark alone adds ~0.9 s to every pytest start).
 */
import { join } from "node:path";
import { CHILD_ENV, harnessCommand, pytestArgs, type TestReport } from "../lib/plugin/check.ts";
import { median } from "./bench_util.ts";

const rounds = Number(Deno.args[Deno.args.indexOf("--rounds") + 1]) || 9;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
const TARGET_MS = 150;

async function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string) {
  const start = performance.now();
  const out = await new Deno.Command(cmd, { args, env, cwd, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  return { ms: performance.now() - start, code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

/** The CLI's Python work, without the CLI: harness via `python3` (as discovered), then pytest from the
 * interpreter the harness reports, concurrently, exactly as lib/plugin/check.ts does. */
async function pythonOnly(plugin: string, env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const sample = { path: join(plugin, "sample_data.json"), name: "sample_data.json" };
  const command = harnessCommand(plugin, ["schemas", "pipeline", "sample_data"], sample);
  const harness = new Deno.Command("python3", {
    args: command.args,
    cwd: plugin,
    env: { ...CHILD_ENV, ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = harness.stdin.getWriter();
  await writer.write(new TextEncoder().encode(command.stdin));
  await writer.close();
  const lines = harness.stdout.pipeThrough(new TextDecoderStream());
  let buffered = "";
  let pytest: Promise<Deno.CommandOutput> | undefined;
  const xml = await Deno.makeTempFile({ suffix: ".xml" });
  for await (const chunk of lines) {
    buffered += chunk;
    if (!pytest && buffered.includes("\n")) {
      const hello = JSON.parse(buffered.slice(0, buffered.indexOf("\n")));
      pytest = new Deno.Command(hello.executable, {
        args: pytestArgs(plugin, xml),
        cwd: plugin,
        env: { ...CHILD_ENV, ...env },
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
  if (!buffered.includes('"event": "done"') || tests?.code !== 0) throw new Error("python-only run failed");
  return ms;
}

async function cli(plugin: string, env: Record<string, string>): Promise<{ ms: number; report: TestReport }> {
  const args = ["run", "--quiet", "-A", MAIN, "--json", "plugin", "test", "--path", plugin, "--sample-data"];
  const r = await run(DENO, [...args, join(plugin, "sample_data.json")], env);
  const end = r.stdout.indexOf("\n}\n");
  const report = JSON.parse(end < 0 ? r.stdout : r.stdout.slice(0, end + 2)) as TestReport;
  const failed = report.checks.filter((c) => c.status === "fail").map((c) => c.id);
  if (failed.some((id) => id !== "scan")) throw new Error(`plugin test failed: ${failed.join(", ")}`);
  return { ms: r.ms, report };
}

async function scenario(label: string, plugin: string, env: Record<string, string>): Promise<boolean> {
  // Warm-up: Deno's module cache, Python's imports in the page cache.
  await cli(plugin, env);
  await pythonOnly(plugin, env);
  const bare: number[] = [];
  const python: number[] = [];
  const wall: number[] = [];
  const byCheck = new Map<string, number[]>();
  let scanStatus = "";
  for (let i = 0; i < rounds; i++) {
    bare.push((await run("python3", ["-c", "import pydantic"], env)).ms);
    python.push(await pythonOnly(plugin, env));
    const r = await cli(plugin, env);
    wall.push(r.ms);
    for (const c of r.report.checks) byCheck.set(c.id, [...(byCheck.get(c.id) ?? []), c.duration_ms]);
    scanStatus = r.report.checks.find((c) => c.id === "scan")?.status ?? "";
  }
  const overhead = median(wall) - median(python);
  const f = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
  const spread = (v: number[]) => `(min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)})`;
  console.log(`\n${label} — median of ${rounds} interleaved rounds`);
  console.log(`  reference: python3 -c "import pydantic"              ${f(median(bare))} ${spread(bare)}`);
  console.log(
    `  Python's own work (harness ∥ pytest, no CLI)          ${f(median(python))} ${spread(python)}`,
  );
  console.log(`  mixpeek plugin test (CLI wall)                         ${f(median(wall))} ${spread(wall)}`);
  console.log(
    `  CLI overhead beyond Python's own work                  ${f(overhead)}  (target < ${TARGET_MS} ms): ` +
      (overhead < TARGET_MS ? "met" : "NOT met") +
      `; min-to-min ${(Math.min(...wall) - Math.min(...python)).toFixed(0)} ms`,
  );
  console.log(
    `  ratio CLI / Python's own work ${(median(wall) / median(python)).toFixed(2)}; ` +
      `CLI / bare import ${(median(wall) / median(bare)).toFixed(1)}`,
  );
  console.log(
    "  by check (median duration_ms): " +
      [...byCheck].map(([id, values]) => `${id} ${median(values).toFixed(1)}`).join(" · "),
  );
  if (scanStatus === "fail") {
    console.log("  note: the scan check failed (scanner not in this tree); its cost is not included");
  }
  return overhead < TARGET_MS;
}

const dir = await Deno.makeTempDir({ prefix: "mixpeek-bench-test-" });
try {
  const plugin = join(dir, "bench_plugin");
  const init = await run(DENO, [
    "run",
    "--quiet",
    "-A",
    MAIN,
    "plugin",
    "init",
    "bench_plugin",
    "--category",
    "text",
    "--no-input",
    "--output",
    plugin,
  ]);
  if (init.code !== 0) throw new Error("plugin init failed");
  const deno = [] as number[];
  for (let i = 0; i < 5; i++) deno.push((await run(DENO, ["run", "--quiet", "-A", MAIN, "--version"])).ms);
  console.log(`Deno start-up floor (mixpeek --version): ${median(deno).toFixed(0)} ms`);
  const a = await scenario("pytest plugins as installed", plugin, {});
  const b = await scenario("PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", plugin, {
    PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1",
  });
  if (!a || !b) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
