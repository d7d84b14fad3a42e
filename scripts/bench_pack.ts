/**
 * Benchmark: `mixpeek plugin pack` against GNU `tar -czf` (gzip -6), and `plugin pack --format zip` against
 * Info-ZIP's `zip -qr` (deflate -6), on the same generated plugin of Mixpeek's largest legal size (500 MB in
 * at most 1,000 files), in the same run. Prints the throughputs (MB/s of plugin content), their ratios and our
 * peak RSS. Targets: ratio ≥ 0.7, peak RSS < 150 MB.
 *
 *   deno run -A scripts/bench_pack.ts [--size-mb 500] [--py-files 900] [--rounds 1] [--keep]
 *
 * The plugin: a few large binary files (random bytes with every fourth byte masked to 4 bits, so gzip
 * saves only a few percent, like model weights) plus thousands of small generated .py files. It is created
 * in a temp folder and removed at the end (unless --keep).
 */
import { parseArgs } from "node:util";
import { generatePayload } from "./bench_util.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mb": { type: "string", default: "500" },
    "py-files": { type: "string", default: "900" },
    rounds: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
  },
});
const TOTAL = Number(values["size-mb"]) * 1e6;
const PY_FILES = Number(values["py-files"]);
const ROUNDS = Number(values.rounds);
const BIG_FILES = 4;

async function _generate(dir: string): Promise<{ bytes: number; files: number }> {
  await Deno.writeTextFile(`${dir}/__init__.py`, "");
  await Deno.writeTextFile(`${dir}/manifest.py`, 'metadata = {"name": "bench", "version": "1.0.0"}\n');
  await Deno.writeTextFile(`${dir}/pipeline.py`, "def build_steps():\n    return []\n");
  const payload = await generatePayload(dir, { totalBytes: TOTAL, pyFiles: PY_FILES, bigFiles: BIG_FILES });
  return { bytes: payload.bytes, files: payload.files + 3 };
}

interface Run {
  seconds: number;
  archiveBytes: number;
  peakRssKb?: number;
}

/** Runs a command under /usr/bin/time -v; returns wall time and the peak RSS it reports. */
async function _timed(cmd: string[], out: string, cwd?: string): Promise<Run> {
  const start = performance.now();
  const result = await new Deno.Command("/usr/bin/time", {
    args: ["-v", ...cmd],
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const seconds = (performance.now() - start) / 1000;
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`${cmd.join(" ")} failed:\n${stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { seconds, archiveBytes: (await Deno.stat(out)).size, peakRssKb: rss ? Number(rss[1]) : undefined };
}

function _mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

const work = await Deno.makeTempDir({ prefix: "mixpeek-bench-pack-" });
const plugin = `${work}/bench_plugin`;
try {
  await Deno.mkdir(plugin);
  const t0 = performance.now();
  const { bytes, files } = await _generate(plugin);
  console.log(
    `plugin: ${_mb(bytes)} MB in ${files} files (${BIG_FILES} binary + ${PY_FILES} .py), generated in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  for (const format of ["tar.gz", "zip"] as const) {
    const oursOut = `${work}/ours.${format}`;
    const refOut = `${work}/ref.${format}`;
    const ours: Run[] = [];
    const ref: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await Deno.remove(refOut).catch(() => {});
      ours.push(
        await _timed([
          Deno.execPath(),
          "run",
          "-A",
          MAIN,
          "plugin",
          "pack",
          plugin,
          "--format",
          format,
          "--output",
          oursOut,
          "--json",
        ], oursOut),
      );
      ref.push(
        await _timed(
          format === "zip" ? ["zip", "-qr", refOut, "."] : ["tar", "-I", "gzip -6", "-cf", refOut, "."],
          refOut,
          plugin,
        ),
      );
    }
    const best = (runs: Run[]) => runs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
    const o = best(ours);
    const g = best(ref);
    const oursRate = bytes / 1e6 / o.seconds;
    const refRate = bytes / 1e6 / g.seconds;
    const peak = Math.max(...ours.map((r) => r.peakRssKb ?? 0)) / 1024;
    const tool = format === "zip" ? "zip -qr (deflate -6)" : "GNU tar -czf (gzip -6)";
    console.log(`\n${format}:`);
    console.log(
      `  mixpeek plugin pack      ${o.seconds.toFixed(2)} s  ${oursRate.toFixed(1)} MB/s  archive ${
        _mb(o.archiveBytes)
      } MB  peak RSS ${peak.toFixed(1)} MiB`,
    );
    console.log(
      `  ${tool.padEnd(23)}${g.seconds.toFixed(2)} s  ${refRate.toFixed(1)} MB/s  archive ${
        _mb(g.archiveBytes)
      } MB`,
    );
    const ratio = oursRate / refRate;
    console.log(
      `  ratio (ours / ${tool.split(" ")[0] === "GNU" ? "tar" : "zip"}):    ${
        ratio.toFixed(2)
      }×   target ≥ 0.70×  ${ratio >= 0.7 ? "ok" : "MISSED"}`,
    );
    console.log(
      `  peak RSS:                ${peak.toFixed(1)} MiB  target < 150 MB  ${
        peak * 1.048576 < 150 ? "ok" : "MISSED"
      }`,
    );
    if (ROUNDS > 1) {
      console.log(
        `  all runs (s): ours ${ours.map((r) => r.seconds.toFixed(2)).join(", ")}; ref ${
          ref.map((r) => r.seconds.toFixed(2)).join(", ")
        }`,
      );
    }
  }
} finally {
  if (values.keep) console.log(`kept ${work}`);
  else await Deno.remove(work, { recursive: true });
}
