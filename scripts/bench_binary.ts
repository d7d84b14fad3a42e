/**
 * Start-up of the distributed CLI: `mixpeek --version` and `mixpeek plugin scan` on a fresh template, median
 * of repeated runs, each next to the same command under `deno run main.ts` (warm cache) measured in the same
 * run, with the ratio.
 *
 *   deno task bench binary                  the compiled binary when DENORT_BIN names a real denort
 *   (without one)                           `deno compile` cannot get its runtime here, so the stand-ins are
 *                                           `deno run` of `deno bundle` outputs of main.ts (the cached graph):
 *                                           code-split (lazy command loading kept, like the binary's module
 *                                           graph) and one file (what `deno compile --bundle` would embed)
 */
import { median, timeCommand } from "./bench_util.ts";
import { assetName, hostTarget } from "./compile.ts";
import { VERSION } from "../lib/version.ts";

const ROUNDS = 15;
const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const deno = Deno.execPath();

async function medianMs(cmd: string[], cwd: string): Promise<number> {
  await timeCommand(cmd, { cwd }); // warm caches (Deno's module and code caches, the OS's file cache)
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await timeCommand(cmd, { cwd }));
  return median(samples);
}

async function output(
  cmd: string[],
  env?: Record<string, string>,
  cwd?: string,
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, text: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim() };
}

/** The binary when it can be built and is ours; otherwise why not. */
async function buildBinary(dir: string): Promise<string | { reason: string }> {
  const denort = Deno.env.get("DENORT_BIN");
  if (!denort) {
    return { reason: "DENORT_BIN is not set and dl.deno.land (deno compile's runtime) is unreachable" };
  }
  const built = await output([deno, "run", "-A", `${ROOT}/scripts/compile.ts`, "--out", dir], {
    DENORT_BIN: denort,
  });
  if (built.code !== 0) return { reason: built.text.split("\n").at(-1) ?? "deno task compile failed" };
  const binary = `${dir}/${assetName(hostTarget())}`;
  const version = await output([binary, "--version"]);
  if (version.text !== VERSION) {
    return {
      reason: `DENORT_BIN=${denort} is not a denort (the binary printed "${version.text.split("\n")[0]}")`,
    };
  }
  return binary;
}

async function bundle(work: string, splitting: boolean): Promise<string> {
  const where = splitting
    ? ["--code-splitting", "--outdir", `${work}/split`]
    : ["--output", `${work}/mixpeek.js`];
  const r = await output(
    [deno, "bundle", "--quiet", "--platform", "deno", ...where, `${ROOT}/main.ts`],
    undefined,
    ROOT,
  );
  if (r.code !== 0) throw new Error(`deno bundle failed: ${r.text}`);
  return splitting ? `${work}/split/main.js` : `${work}/mixpeek.js`;
}

const work = await Deno.makeTempDir({ prefix: "mixpeek-bench-binary-" });
try {
  const reference = [deno, "run", "--quiet", "-A", `${ROOT}/main.ts`];
  const init = await output([
    ...reference,
    "plugin",
    "init",
    "bench-plugin",
    "--category",
    "text",
    "--no-input",
    "--output",
    `${work}/plugin`,
  ]);
  if (init.code !== 0) throw new Error(`plugin init failed: ${init.text}`);

  const binary = await buildBinary(work);
  const candidates: [string, string[]][] = [];
  if (typeof binary === "string") candidates.push(["compiled binary", [binary]]);
  else {
    // Stand-ins, both `deno run` of the cached graph: split keeps the lazy command loading a compiled
    // binary has; one file is what `deno compile --bundle` would embed.
    console.log(`binary: not built (${binary.reason}); measuring stand-ins instead`);
    candidates.push(["bundle, code-split", [deno, "run", "--quiet", "-A", await bundle(work, true)]]);
    candidates.push(["bundle, one file", [deno, "run", "--quiet", "-A", await bundle(work, false)]]);
  }
  console.log(`reference: deno run -A main.ts (warm cache); medians of ${ROUNDS} runs after one warm-up`);
  const commands: [string, string[]][] = [
    ["--version", ["--version"]],
    ["plugin scan (text template)", ["plugin", "scan", "--path", `${work}/plugin`]],
  ];
  for (const [name, args] of commands) {
    const ref = await medianMs([...reference, ...args], work);
    console.log(`\n${name}\n  ${"deno run main.ts".padEnd(20)} ${ref.toFixed(1).padStart(7)} ms`);
    for (const [label, command] of candidates) {
      const ours = await medianMs([...command, ...args], work);
      console.log(
        `  ${label.padEnd(20)} ${ours.toFixed(1).padStart(7)} ms   ratio ${(ours / ref).toFixed(2)}`,
      );
    }
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
