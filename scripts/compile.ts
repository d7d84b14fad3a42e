/**
 * `deno task compile`: standalone `mixpeek` binaries for every release target, into dist/ with a SHA256SUMS
 * file (the format `sha256sum -c` reads), permission flags baked in (scripts/permissions.ts).
 *
 *   deno task compile                          all five targets (deno compile downloads each target's runtime)
 *   deno task compile --target aarch64-apple-darwin [--target …]
 *   deno task compile --out build/             another output folder
 *   DENORT_BIN=/path/to/denort deno task compile   the host target only, with that runtime (offline)
 *
 * Every asset (templates, the Python harness, the tree-sitter WASM) is already part of the module graph
 * (lib/embedded/, checked fresh first); the worker modules (the scanner's, the compressor's) are added
 * with --include because they are loaded by URL. When a target's runtime cannot be had the script exits 1 with one line saying why; a
 * binary is written under a temporary name and renamed, and SHA256SUMS is written only when every
 * requested target was built.
 */
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { binaryFlags } from "./permissions.ts";

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
export type Target = typeof TARGETS[number];

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/[\\/]$/, "");

/** The release asset name for a target: `mixpeek-<target>` (`.exe` on Windows); install.sh uses the same. */
export function assetName(target: string): string {
  return `mixpeek-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The target this machine runs (what a DENORT_BIN runtime can be used for). */
export function hostTarget(): string {
  return Deno.build.target;
}

/** The `deno compile` arguments for one target. */
export function compileArgs(target: string, output: string): string[] {
  return [
    "compile",
    "--quiet",
    "--frozen",
    "--exclude-unused-npm",
    "--include",
    `${ROOT}/lib/scan/worker.ts`,
    "--include",
    `${ROOT}/lib/pack/deflate_worker.ts`,
    "--include",
    `${ROOT}/lib/local/checks_worker.ts`,
    ...binaryFlags(),
    "--target",
    target,
    "--output",
    output,
    `${ROOT}/main.ts`,
  ];
}

/** One line out of deno compile's error report: the innermost useful "N: cause" line, or the error line. */
export function compileFailureReason(stderr: string): string {
  // deno compile prints "error: …", then "Caused by:" and numbered causes; we keep the most specific one.
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const causes = [...plain.matchAll(/^\s*\d+: (.+)$/gm)].map((m) => m[1].trim())
    .filter((c) => !/^(Setting up base binary\.|<unknown>)$/.test(c));
  const error = plain.match(/^error: (.+)$/m)?.[1];
  return (causes[0] ?? error ?? (plain.trim().split("\n").at(-1) || "deno compile failed")).slice(0, 300);
}

/** sha256 of a file, streamed (binaries are ~100 MB). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Writes `<hex>  <name>` lines, sorted by name, atomically. */
export async function writeChecksums(dir: string, names: string[]): Promise<string> {
  const lines: string[] = [];
  for (const name of [...names].sort()) lines.push(`${await sha256File(`${dir}/${name}`)}  ${name}`);
  const path = `${dir}/SHA256SUMS`;
  await Deno.writeTextFile(`${path}.tmp`, lines.join("\n") + "\n");
  await Deno.rename(`${path}.tmp`, path);
  return path;
}

class CompileFailure extends Error {}

async function _compileOne(target: string, outDir: string): Promise<string> {
  const name = assetName(target);
  const temp = `${outDir}/.${name}.partial${target.includes("windows") ? ".exe" : ""}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(target, temp),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    await Deno.remove(temp).catch(() => {});
    const reason = compileFailureReason(new TextDecoder().decode(out.stderr));
    const runtime = /denort|base binary|dl\.deno\.land|sending request/i.test(reason) ||
      /dl\.deno\.land/.test(new TextDecoder().decode(out.stderr));
    throw new CompileFailure(
      runtime
        ? `cannot get the Deno runtime (denort) for ${target}: ${reason}; set DENORT_BIN to a denort ` +
          `${Deno.version.deno} binary for ${hostTarget()} (host target only), or build on CI`
        : `deno compile failed for ${target}: ${reason}`,
    );
  }
  await Deno.rename(temp, `${outDir}/${name}`);
  return name;
}

function _usage(message: string): never {
  console.error(`compile: ${message}`);
  console.error("usage: deno task compile [--target TRIPLE]... [--out DIR]");
  Deno.exit(2);
}

function _parseArgs(args: string[]): { targets: string[]; outDir: string } {
  const targets: string[] = [];
  let outDir = `${ROOT}/dist`;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if ((flag === "--target" || flag === "--out") && value === undefined) _usage(`${flag} needs a value`);
    if (flag === "--target") {
      if (!(TARGETS as readonly string[]).includes(value)) {
        _usage(`unknown target ${value} (${TARGETS.join(", ")})`);
      }
      targets.push(value);
      i++;
    } else if (flag === "--out") {
      outDir = value;
      i++;
    } else _usage(`unknown argument ${flag}`);
  }
  return { targets, outDir };
}

async function _embeddedFresh(): Promise<boolean> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-run",
      "--allow-env",
      `${ROOT}/scripts/embed.ts`,
      "--check",
    ],
    cwd: ROOT,
    stdin: "null",
  }).output();
  return out.success;
}

async function main(args: string[]): Promise<number> {
  const { targets: requested, outDir } = _parseArgs(args);
  const denort = Deno.env.get("DENORT_BIN");
  let targets: string[] = requested.length ? requested : [...TARGETS];
  if (denort) {
    const other = requested.filter((t) => t !== hostTarget());
    if (other.length) {
      console.error(
        `compile: DENORT_BIN is a runtime for this machine (${hostTarget()}); cannot build ${
          other.join(", ")
        }`,
      );
      return 2;
    }
    targets = [hostTarget()];
    console.error(`compile: DENORT_BIN=${denort}: building ${hostTarget()} only`);
  }
  if (!await _embeddedFresh()) {
    console.error("compile: lib/embedded/ is stale: run `deno task embed` first");
    return 1;
  }
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.remove(`${outDir}/SHA256SUMS`).catch(() => {}); // a stale list must not outlive a failed run
  const built: string[] = [];
  for (const target of targets) {
    try {
      const name = await _compileOne(target, outDir);
      built.push(name);
      console.error(`compile: ${outDir}/${name}`);
    } catch (error) {
      if (!(error instanceof CompileFailure)) throw error;
      console.error(`compile: ${error.message}`);
      return 1;
    }
  }
  console.error(`compile: ${await writeChecksums(outDir, built)} (${built.length} binaries)`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
