/**
 * Benchmark: the security scan (`mixpeek plugin scan --format json`, run as the CLI) against Debian's
 * `bandit -r` and `ruff check --select S`, on the same tree of real Python in the same run: copies of
 * several packages of this machine's Python standard library (~2 MB). Prints each tool's wall time (median
 * of --runs), CPU time, peak RSS and findings (all, and in SPEC §6's categories), and the ratios; then a
 * freshly generated plugin (manifest, pipeline, processors, tests) scanned end to end by the CLI, twice:
 * afresh (--no-cache, as a plugin no scan has seen) and unchanged since the last scan (the scan cache, as an
 * author re-runs it). Beside it, in the same rounds, the floors it stands on: `deno run` of an empty module
 * (Deno's own start), `mixpeek --version` and `mixpeek plugin scan --help` (the CLI's start), and a plugin of
 * one one-line file scanned afresh (the scanner's own start: its modules, the parser, the analysis, with
 * almost nothing to parse or analyse). The small plugin is the one `mixpeek plugin init` generates with its
 * defaults.
 * Targets (issue 14): at least 5× faster than bandit on the tree, at most 80 ms wall on the small plugin,
 * peak RSS under 300 MB. The tools run in rounds (each once, then again), so every ratio compares runs
 * seconds apart; the tree's is also printed per round.
 *
 *   deno run -A scripts/bench_scan.ts [--runs 5] [--small-runs 15] [--keep] [--packages email,json,…]
 *
 * bandit: installed with `apt-get install -y bandit` when missing and running as root; ruff: with
 * `python3 -m pip install ruff` when missing. Otherwise that half is skipped with a message. The trees are
 * created in a temp folder and removed (unless --keep).
 */
import { parseArgs } from "node:util";
import { commandOutput } from "./command.ts";
import { listPythonFiles } from "../lib/scan/scan.ts";
import { Parser } from "../lib/scan/parser.ts";
import { decodeSource } from "../lib/scan/source.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;
/** The CLI as the benchmark runs it: `deno run -A main.ts`. */
const CLI = [Deno.execPath(), "run", "-A", MAIN];
const MIN_BYTES = 1.5e6;
const DEFAULT_PACKAGES = [
  "email",
  "json",
  "http",
  "asyncio",
  "concurrent",
  "logging",
  "importlib",
  "urllib",
  "xml",
];
/** Extra packages used when the default ones are smaller than MIN_BYTES on this Python. */
const EXTRA_PACKAGES = [
  "multiprocessing",
  "unittest",
  "tomllib",
  "wsgiref",
  "xmlrpc",
  "sqlite3",
  "dbm",
  "html",
];
const SPEC_CATEGORIES = ["shell", "dynamic-code", "network", "memory", "deserialization"];
/**
 * bandit's test ids (ruff's S rules use the same numbers) that correspond to SPEC §6's categories; neither
 * tool has rules for the others (dynamic imports, open(), threads, system calls, introspection).
 */
const BANDIT_CATEGORY: Record<string, string> = {
  "404": "shell", // import subprocess
  "602": "shell", // subprocess with shell=True
  "603": "shell", // subprocess without shell
  "604": "shell", // any function with shell=True
  "605": "shell", // os.system, os.popen, … (start process with a shell)
  "606": "shell", // os.exec*, os.spawn* (start process without a shell)
  "607": "shell", // start process with a partial path
  "102": "dynamic-code", // exec
  "307": "dynamic-code", // eval
  "301": "deserialization", // pickle
  "302": "deserialization", // marshal
  "403": "deserialization", // import pickle
};

/** The category of a bandit (B602) or ruff (S602) test id. */
function _category(testId: string): string {
  return BANDIT_CATEGORY[testId.replace(/^[BS]/, "")] ?? "other";
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "5" },
    "small-runs": { type: "string", default: "15" },
    keep: { type: "boolean", default: false },
    packages: { type: "string" },
  },
});
const RUNS = Math.max(1, Number(values.runs));
const SMALL_RUNS = Math.max(3, Number(values["small-runs"]));

async function _copyPython(from: string, to: string): Promise<number> {
  let bytes = 0;
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) {
      if (["__pycache__", "test", "tests", "idle_test"].includes(entry.name)) continue;
      bytes += await _copyPython(`${from}/${entry.name}`, `${to}/${entry.name}`);
    } else if (entry.isFile && entry.name.endsWith(".py")) {
      await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
      bytes += (await Deno.stat(`${to}/${entry.name}`)).size;
    }
  }
  return bytes;
}

async function _buildTree(dir: string): Promise<{ bytes: number; files: number; packages: string[] }> {
  const stdlib =
    (await commandOutput("python3", ["-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"]))
      .stdout.trim();
  if (!stdlib) throw new Error("python3 not found: the benchmark copies its standard library");
  const wanted = values.packages ? values.packages.split(",") : [...DEFAULT_PACKAGES];
  const used: string[] = [];
  let bytes = 0;
  for (const name of [...wanted, ...(values.packages ? [] : EXTRA_PACKAGES)]) {
    if (bytes >= MIN_BYTES && !wanted.includes(name)) break;
    const info = await Deno.stat(`${stdlib}/${name}`).catch(() => null);
    if (!info?.isDirectory) continue;
    bytes += await _copyPython(`${stdlib}/${name}`, `${dir}/${name}`);
    used.push(name);
  }
  let files = 0;
  const count = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await count(`${d}/${e.name}`);
      else if (e.name.endsWith(".py")) files++;
    }
  };
  await count(dir);
  return { bytes, files, packages: used };
}

async function _ensureBandit(): Promise<string | null> {
  if ((await commandOutput("bandit", ["--version"])).code === 0) return "bandit";
  const root = (await commandOutput("id", ["-u"])).stdout.trim() === "0";
  if (!root) return null;
  console.log("bandit is not installed: apt-get install -y bandit …");
  await commandOutput("apt-get", ["update"]);
  const install = await commandOutput("apt-get", ["install", "-y", "bandit"]);
  if (install.code !== 0) return null;
  return (await commandOutput("bandit", ["--version"])).code === 0 ? "bandit" : null;
}

/** ruff, as a command: on PATH, or `python3 -m ruff`, or installed with pip when missing. */
async function _ensureRuff(): Promise<string[] | null> {
  if ((await commandOutput("ruff", ["--version"])).code === 0) return ["ruff"];
  if ((await commandOutput("python3", ["-m", "ruff", "--version"])).code === 0) {
    return ["python3", "-m", "ruff"];
  }
  console.log("ruff is not installed: python3 -m pip install ruff …");
  const install = await commandOutput("python3", ["-m", "pip", "install", "--quiet", "ruff"]);
  if (install.code !== 0) return null;
  return (await commandOutput("python3", ["-m", "ruff", "--version"])).code === 0
    ? ["python3", "-m", "ruff"]
    : null;
}

/**
 * The smallest plugin there is: a manifest.py of one line, in `parent`. Scanning it afresh costs what every
 * scan costs before the first real file (loading the scanner, the parser and the analysis).
 */
async function _oneLinePlugin(parent: string): Promise<string> {
  const dir = `${parent}/one_line`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/manifest.py`, "x = 1\n");
  return dir;
}

/**
 * A freshly generated plugin: what `mixpeek plugin init` writes with its defaults (the text template, no
 * realtime service), made by the CLI itself so the benchmark follows the templates, in `parent`. Returns its
 * folder and its .py files' count and bytes.
 */
async function _generatePlugin(parent: string): Promise<{ dir: string; files: number; bytes: number }> {
  // The folder is the package Mixpeek imports, so it is named like one.
  const dir = `${parent}/bench_plugin`;
  await _checked([
    ...CLI,
    "plugin",
    "init",
    "bench_plugin",
    "--output",
    dir,
    "--author",
    "bench",
    "--no-input",
  ]);
  const files = await listPythonFiles(dir);
  let bytes = 0;
  for (const rel of files) bytes += (await Deno.stat(`${dir}/${rel}`)).size;
  return { dir, files: files.length, bytes };
}

interface Run {
  ms: number;
  peakRssMb: number | null;
  /** User + system CPU time of the process and its threads. */
  cpuMs: number | null;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, timing it; peak RSS via GNU time when available. */
async function _run(cmd: string[]): Promise<Run> {
  const timeFile = await Deno.makeTempFile({ prefix: "bench-scan-rss-" });
  const hasTime = await Deno.stat("/usr/bin/time").then(() => true, () => false);
  const argv = hasTime ? ["/usr/bin/time", "-f", "%U %S %M", "-o", timeFile, ...cmd] : cmd;
  const start = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  })
    .output();
  const ms = performance.now() - start;
  const timeLine = hasTime ? (await Deno.readTextFile(timeFile)).trim().split("\n").pop() ?? "" : "";
  const [user, sys, rssText] = timeLine.split(" ");
  await Deno.remove(timeFile).catch(() => {});
  const d = new TextDecoder();
  return {
    ms,
    peakRssMb: /^\d+$/.test(rssText ?? "") ? Number(rssText) / 1024 : null,
    cpuMs: /^[\d.]+$/.test(user ?? "") && /^[\d.]+$/.test(sys ?? "")
      ? (Number(user) + Number(sys)) * 1000
      : null,
    code: out.code,
    stdout: d.decode(out.stdout),
    stderr: d.decode(out.stderr),
  };
}

/**
 * The floor under any scan: tree-sitter alone parsing every file on one thread in this process (decode and
 * parse, no analysis, no start-up), the first round with V8's WASM tiers still warming up, then warm.
 */
async function _parserAlone(dir: string): Promise<{ coldMs: number; warmMs: number }> {
  const files = (await listPythonFiles(dir)).map((rel) => `${dir}/${rel}`);
  const parser = await Parser.create();
  const round = () => {
    const start = performance.now();
    for (const f of files) {
      const text = decodeSource(Deno.readFileSync(f)).text;
      if (text !== null) parser.parse(text);
    }
    return performance.now() - start;
  };
  const coldMs = round();
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) warm.push(round());
  return { coldMs, warmMs: _median(warm) };
}

function _median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function _counts(categories: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(SPEC_CATEGORIES.map((c) => [c, 0]));
  for (const c of categories) if (c in out) out[c]++;
  return out;
}

function _fmt(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return `${total} (${SPEC_CATEGORIES.map((c) => `${c} ${counts[c]}`).join(", ")})`;
}

function _ms(runs: Run[]): string {
  return `${_median(runs.map((r) => r.ms)).toFixed(0)} ms (median of ${runs.length}: ${
    runs.map((r) => r.ms.toFixed(0)).join(", ")
  })`;
}

function _resources(runs: Run[]): string {
  const cpu = runs.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  const rss = runs.map((r) => r.peakRssMb).filter((x): x is number => x !== null);
  return `CPU ${cpu.length ? `${_median(cpu).toFixed(0)} ms` : "n/a"}, peak RSS ${
    rss.length ? `${Math.max(...rss).toFixed(0)} MB` : "n/a"
  }`;
}

/** One timed run of a command that must succeed (by `ok`). */
async function _checked(cmd: string[], ok: (r: Run) => boolean = (r) => r.code === 0): Promise<Run> {
  const r = await _run(cmd);
  if (!ok(r)) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r;
}

const SCAN = [...CLI, "plugin", "scan"];
const dir = await Deno.makeTempDir({ prefix: "mixpeek-bench-scan-" });
const small = await Deno.makeTempDir({ prefix: "mixpeek-bench-plugin-" });
try {
  const tree = await _buildTree(dir);
  console.log(
    `tree: ${tree.files} .py files, ${(tree.bytes / 1e6).toFixed(2)} MB from the Python standard library ` +
      `(${tree.packages.join(", ")}) in ${dir}`,
  );
  if (tree.bytes < MIN_BYTES) throw new Error(`only ${tree.bytes} bytes of Python found; need ${MIN_BYTES}`);

  // The tools run in rounds (ours, bandit, ruff, then again), not one after the other: the machine's speed
  // drifts over a run, and a ratio of medians measured minutes apart would carry that drift.
  const bandit = await _ensureBandit();
  if (!bandit) {
    console.log("bandit: skipped (not installed and `apt-get install -y bandit` is not possible here)");
  }
  const ruff = await _ensureRuff();
  if (!ruff) console.log("ruff: skipped (not installed and `pip install ruff` failed)");
  const banditOut = `${dir}.bandit.json`;
  const runBandit = async (command: string): Promise<Run> => {
    const r = await _run([command, "-r", dir, "-f", "json", "-o", banditOut, "-q"]);
    r.stdout = await Deno.readTextFile(banditOut).catch(() => "");
    await Deno.remove(banditOut).catch(() => {});
    if (!r.stdout) throw new Error(`bandit failed (${r.code}): ${r.stderr}`);
    return r;
  };
  const ruffCmd = ruff
    ? [...ruff, "check", "--select", "S", "--no-cache", "--exit-zero", "--output-format", "json", dir]
    : [];
  // One unmeasured run so Deno's module cache is warm (as for any installed CLI).
  await _run([...SCAN, dir, "--format", "json"]);
  const ours: Run[] = [];
  const banditRuns: Run[] = [];
  const ruffRuns: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await _checked([...SCAN, dir, "--format", "json"], (r) => r.code === 0 || r.code === 3));
    if (bandit) banditRuns.push(await runBandit(bandit));
    if (ruff) ruffRuns.push(await _checked(ruffCmd));
  }
  const report = JSON.parse(ours[0].stdout) as {
    files_scanned: number;
    findings: { category: string; severity: string }[];
  };
  const ourMs = _median(ours.map((r) => r.ms));
  const peaks = ours.map((r) => r.peakRssMb).filter((x): x is number => x !== null);
  const peak = peaks.length ? Math.max(...peaks) : null;
  const errors = report.findings.filter((f) => f.severity === "error").length;
  console.log(
    `mixpeek plugin scan: ${_ms(ours)}, ${_resources(ours)}, ${navigator.hardwareConcurrency} cores`,
  );
  console.log(
    `  findings: ${report.findings.length} (${errors} errors, ${
      report.findings.length - errors
    } warnings); ` +
      `SPEC categories bandit and ruff also cover: ${_fmt(_counts(report.findings.map((f) => f.category)))}`,
  );
  const alone = await _parserAlone(dir);
  console.log(
    `  tree-sitter parse alone, one thread, no analysis: ${alone.coldMs.toFixed(0)} ms cold, ${
      alone.warmMs.toFixed(0)
    } ms warm`,
  );

  let banditMs: number | null = null;
  /** Per round, bandit's time over ours: the ratio from runs a few seconds apart. */
  const banditRatios = banditRuns.map((r, i) => r.ms / ours[i].ms);
  if (bandit) {
    const version = (await commandOutput("bandit", ["--version"])).stdout.split("\n")[0];
    const results = (JSON.parse(banditRuns[0].stdout) as { results: { test_id: string }[] }).results;
    banditMs = _median(banditRuns.map((r) => r.ms));
    console.log(`${version}: ${_ms(banditRuns)}, ${_resources(banditRuns)}`);
    console.log(
      `  findings: ${results.length}; SPEC categories: ${
        _fmt(_counts(results.map((r) => _category(r.test_id))))
      }`,
    );
  }

  let ruffMs: number | null = null;
  if (ruff) {
    const version = (await commandOutput(ruff[0], [...ruff.slice(1), "--version"])).stdout.trim();
    const results = JSON.parse(ruffRuns[0].stdout) as { code: string }[];
    ruffMs = _median(ruffRuns.map((r) => r.ms));
    console.log(`${version} (check --select S): ${_ms(ruffRuns)}, ${_resources(ruffRuns)}`);
    console.log(
      `  findings: ${results.length}; SPEC categories: ${
        _fmt(_counts(results.map((r) => _category(r.code ?? ""))))
      }`,
    );
  }

  // A small plugin end to end, beside the floors it stands on, in rounds as above.
  const generated = await _generatePlugin(small);
  const oneLine = await _oneLinePlugin(small);
  // Deno's own start in this project (its deno.json and lock are read as for main.ts).
  const empty = `${small}/empty.ts`;
  await Deno.writeTextFile(empty, "export {};\n");
  // The first scan fills the scan cache for the "unchanged" runs (as an author re-runs it).
  await _run([...SCAN, generated.dir]);
  const freshRuns: Run[] = [];
  const smallRuns: Run[] = [];
  const help: Run[] = [];
  const version: Run[] = [];
  const oneLineRuns: Run[] = [];
  const emptyRuns: Run[] = [];
  for (let i = 0; i < SMALL_RUNS; i++) {
    // Scanned afresh every time (--no-cache): a plugin no scan has seen, as `plugin init` leaves it.
    freshRuns.push(await _checked([...SCAN, generated.dir, "--no-cache"]));
    smallRuns.push(await _checked([...SCAN, generated.dir]));
    help.push(await _checked([...SCAN, "--help"]));
    version.push(await _checked([...CLI, "--version"]));
    oneLineRuns.push(await _checked([...SCAN, oneLine, "--no-cache"]));
    emptyRuns.push(await _checked([Deno.execPath(), "run", "-A", empty]));
  }
  const oneLineMs = _median(oneLineRuns.map((r) => r.ms));
  const emptyMs = _median(emptyRuns.map((r) => r.ms));
  const smallMs = _median(smallRuns.map((r) => r.ms));
  const freshMs = _median(freshRuns.map((r) => r.ms));
  const described = `${generated.files} files, ${(generated.bytes / 1e3).toFixed(1)} kB, from plugin init`;
  console.log(
    `small plugin (${described}), mixpeek plugin scan end to end, scanned afresh (--no-cache): ${
      _ms(freshRuns)
    }, ${_resources(freshRuns)}`,
  );
  console.log(
    `small plugin (${described}), mixpeek plugin scan end to end, unchanged since the last scan: ${
      _ms(smallRuns)
    }, ${_resources(smallRuns)}`,
  );
  console.log(
    `  floors, same rounds: deno run of an empty module ${emptyMs.toFixed(0)} ms, mixpeek --version ${
      _median(version.map((r) => r.ms)).toFixed(0)
    } ms, mixpeek plugin scan --help ${_median(help.map((r) => r.ms)).toFixed(0)} ms, ` +
      `a one-line plugin scanned afresh ${oneLineMs.toFixed(0)} ms`,
  );

  console.log("results:");
  if (banditMs !== null) {
    console.log(
      `  tree: ${(banditMs / ourMs).toFixed(1)}× faster than bandit (target ≥ 5×); per round ${
        banditRatios.map((r) => r.toFixed(1)).join(", ")
      }×`,
    );
  }
  if (ruffMs !== null) {
    console.log(`  tree: ${(ourMs / ruffMs).toFixed(1)}× ruff's time (ruff is native Rust)`);
  }
  console.log(
    `  small plugin: ${smallMs.toFixed(0)} ms unchanged (from the scan cache), ${
      freshMs.toFixed(0)
    } ms scanned afresh (target ≤ 80 ms); a one-line plugin ${oneLineMs.toFixed(0)} ms afresh, ` +
      `Deno's own start ${emptyMs.toFixed(0)} ms`,
  );
  if (peak !== null) console.log(`  peak RSS on the tree: ${peak.toFixed(0)} MB (target < 300 MB)`);
  console.log(
    `  cores: ${navigator.hardwareConcurrency}; load average: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
} finally {
  if (!values.keep) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(small, { recursive: true }).catch(() => {});
  }
}
