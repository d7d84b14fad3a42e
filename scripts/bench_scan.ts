/**
 * Benchmark: the security scan (`mixpeek plugin scan --format json`, run as the CLI) against Debian's
 * `bandit -r`, on the same tree of real Python in the same run: copies of several packages of this
 * machine's Python standard library (≥ 1.5 MB). Prints both wall times (median of --runs), the ratio, each
 * tool's findings for the SPEC's forbidden categories, and our peak RSS.
 * Targets: at least 10× faster than bandit, peak RSS under 300 MB.
 *
 *   deno run -A scripts/bench_scan.ts [--runs 3] [--keep] [--packages email,json,…]
 *
 * bandit: installed with `apt-get install -y bandit` when missing and running as root; otherwise the
 * bandit half is skipped with a message. The tree is created in a temp folder and removed (unless --keep).
 */
import { parseArgs } from "node:util";
import { commandOutput } from "./command.ts";
import { listPythonFiles } from "../lib/scan/scan.ts";
import { Parser } from "../lib/scan/parser.ts";
import { decodeSource } from "../lib/scan/source.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;
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
const SPEC_CATEGORIES = ["shell", "dynamic-code", "network", "native-code", "dynamic-import"];
/** bandit test ids that correspond to the SPEC's forbidden categories (bandit has none for the others). */
const BANDIT_CATEGORY: Record<string, string> = {
  B404: "shell", // import subprocess
  B602: "shell", // subprocess with shell=True
  B603: "shell", // subprocess without shell
  B604: "shell", // any function with shell=True
  B605: "shell", // os.system, os.popen, … (start process with a shell)
  B606: "shell", // os.exec*, os.spawn* (start process without a shell)
  B607: "shell", // start process with a partial path
  B102: "dynamic-code", // exec
  B307: "dynamic-code", // eval
};

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
    packages: { type: "string" },
  },
});
const RUNS = Math.max(1, Number(values.runs));

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

const dir = await Deno.makeTempDir({ prefix: "mixpeek-bench-scan-" });
try {
  const tree = await _buildTree(dir);
  console.log(
    `tree: ${tree.files} .py files, ${(tree.bytes / 1e6).toFixed(2)} MB from the Python standard library ` +
      `(${tree.packages.join(", ")}) in ${dir}`,
  );
  if (tree.bytes < MIN_BYTES) throw new Error(`only ${tree.bytes} bytes of Python found; need ${MIN_BYTES}`);

  // One unmeasured run so Deno's module cache is warm (as for any installed CLI).
  await _run([Deno.execPath(), "run", "-A", MAIN, "plugin", "scan", "--path", dir, "--format", "json"]);
  const ours: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await _run([
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "plugin",
      "scan",
      "--path",
      dir,
      "--format",
      "json",
    ]);
    if (r.code !== 0 && r.code !== 3) throw new Error(`mixpeek plugin scan failed (${r.code}): ${r.stderr}`);
    ours.push(r);
  }
  const report = JSON.parse(ours[0].stdout) as { files_scanned: number; findings: { category: string }[] };
  const ourCounts = _counts(report.findings.map((f) => f.category));
  const sourceFindings = report.findings.filter((f) => f.category === "source").length;
  const ourMs = _median(ours.map((r) => r.ms));
  const peaks = ours.map((r) => r.peakRssMb).filter((x): x is number => x !== null);
  const peak = peaks.length ? Math.max(...peaks) : null;

  console.log(
    `mixpeek plugin scan: ${ourMs.toFixed(0)} ms (median of ${RUNS}: ${
      ours.map((r) => r.ms.toFixed(0)).join(", ")
    }), ` +
      `peak RSS ${peak === null ? "n/a" : `${peak.toFixed(0)} MB`}, ${report.files_scanned} files`,
  );
  console.log(
    `  findings, SPEC categories: ${
      _fmt(ourCounts)
    }; all: ${report.findings.length}; source: ${sourceFindings}`,
  );
  const cpu = ours.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  if (cpu.length) {
    console.log(
      `  CPU time (user + system, all threads): ${
        _median(cpu).toFixed(0)
      } ms on ${navigator.hardwareConcurrency} cores`,
    );
  }
  const alone = await _parserAlone(dir);
  console.log(
    `  tree-sitter parse alone, one thread, no analysis: ${alone.coldMs.toFixed(0)} ms cold, ${
      alone.warmMs.toFixed(0)
    } ms warm`,
  );

  const bandit = await _ensureBandit();
  if (!bandit) {
    console.log("bandit: skipped (not installed and `apt-get install -y bandit` is not possible here)");
  } else {
    const version = (await commandOutput("bandit", ["--version"])).stdout.split("\n")[0];
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = `${dir}.bandit.json`;
      const r = await _run([bandit, "-r", dir, "-f", "json", "-o", out, "-q"]);
      r.stdout = await Deno.readTextFile(out).catch(() => "");
      await Deno.remove(out).catch(() => {});
      if (!r.stdout) throw new Error(`bandit failed (${r.code}): ${r.stderr}`);
      runs.push(r);
    }
    const results = (JSON.parse(runs[0].stdout) as { results: { test_id: string }[] }).results;
    const banditCounts = _counts(results.map((r) => BANDIT_CATEGORY[r.test_id] ?? "other"));
    const banditMs = _median(runs.map((r) => r.ms));
    console.log(
      `${version}: ${banditMs.toFixed(0)} ms (median of ${RUNS}: ${
        runs.map((r) => r.ms.toFixed(0)).join(", ")
      })`,
    );
    console.log(`  findings, SPEC categories: ${_fmt(banditCounts)}; all: ${results.length}`);
    console.log(`ratio: mixpeek is ${(banditMs / ourMs).toFixed(1)}× faster than bandit (target ≥ 10×)`);
    console.log(
      `  for scale: the parse alone (warm, one thread) is ${
        (banditMs / alone.warmMs).toFixed(1)
      }× faster than bandit's whole run`,
    );
  }
  if (peak !== null) console.log(`peak RSS: ${peak.toFixed(0)} MB (target < 300 MB)`);
  console.log(
    `cores: ${navigator.hardwareConcurrency}; load average: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
} finally {
  if (!values.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
}
