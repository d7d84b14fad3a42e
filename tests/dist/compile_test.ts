/**
 * `deno task compile` (scripts/compile.ts). The end-to-end test builds the host binary with the runtime
 * DENORT_BIN names and runs it as a user would — init → test → scan → pack → publish to a `mixpeek local`
 * started from the same binary — with nothing but the binary (no deno.json, no source tree, no Deno cache).
 * It needs a real denort (`deno compile` downloads one from dl.deno.land otherwise): without DENORT_BIN, or
 * when the binary built with it is not our program (e.g. DENORT_BIN pointing at `deno` itself), it is
 * ignored and a line says exactly why. The script's own behaviour (target list, checksums, a missing
 * runtime reported in one line) is tested everywhere.
 */
import {
  assetName,
  compileArgs,
  compileFailureReason,
  hostTarget,
  TARGETS,
  writeChecksums,
} from "../../scripts/compile.ts";
import { VERSION } from "../../lib/version.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { type CliResult, ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import { journey, run } from "./_helpers.ts";
import { startLocalProcess } from "../helpers/local_process.ts";

const COMPILE = `${ROOT}/scripts/compile.ts`;

interface Built {
  dir: string;
  binary: string;
}

/** Builds the host binary with DENORT_BIN when it is set; returns it, or why the end-to-end test is skipped. */
async function _build(): Promise<Built | string> {
  const denort = Deno.env.get("DENORT_BIN");
  if (!denort) {
    return "DENORT_BIN is not set: `deno compile` would download the runtime (denort) from dl.deno.land, " +
      "which this machine cannot reach; set DENORT_BIN to a denort " + Deno.version.deno + " binary for " +
      hostTarget() + " to run it";
  }
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-compile-" });
  const r = await runProcess(Deno.execPath(), ["run", "-A", COMPILE, "--out", dir], {
    env: { DENORT_BIN: denort },
  });
  if (r.code !== 0) {
    await Deno.remove(dir, { recursive: true });
    // A DENORT_BIN that is set but unusable is a broken set-up, not a reason to skip: fail loudly.
    throw new Error(`deno task compile with DENORT_BIN=${denort} failed:\n${r.stderr}`);
  }
  const binary = `${dir}/${assetName(hostTarget())}`;
  const version = await runProcess(binary, ["--version"]);
  if (version.stdout.trim() !== VERSION) {
    await Deno.remove(dir, { recursive: true });
    return `DENORT_BIN=${denort} is not a denort runtime: the binary built with it printed ` +
      `${JSON.stringify(version.stdout.trim().split("\n")[0])} for --version instead of ${VERSION} ` +
      "(it ignores the embedded program)";
  }
  return { dir, binary };
}

const built = await _build();
if (typeof built === "string") console.log(`compile_test: end-to-end binary test skipped: ${built}`);

Deno.test({
  name:
    "the compiled binary runs init → test → scan → pack → publish to mixpeek local, from nothing but itself",
  ignore: typeof built === "string",
  async fn() {
    const { dir, binary } = built as Built;
    try {
      await using box = await tempDir("mixpeek-bin-");
      for (const d of ["work", "home", "tmp"]) await Deno.mkdir(`${box.path}/${d}`);
      // No DENO_DIR and a cwd outside the checkout: the binary has everything it needs inside.
      const env = {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: `${box.path}/home`,
        MIXPEEK_CONFIG_DIR: `${box.path}/home/config`,
        TMPDIR: `${box.path}/tmp`,
      };
      await using local = await startLocalProcess([binary], `${box.path}/registry`, env);
      const invoke = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
        run([binary, ...args], {
          cwd: options.cwd ?? `${box.path}/work`,
          env: { ...env, ...(options.env ?? {}) },
        });
      await journey(invoke, `${box.path}/work`, local);

      const completions = await invoke(["completions", "bash"]);
      assertEquals(completions.code, 0, completions.stderr);
      assertStringIncludes(completions.stdout, "complete -F");
      const sums = await Deno.readTextFile(`${dir}/SHA256SUMS`);
      assertMatch(sums, new RegExp(`^[0-9a-f]{64}  ${assetName(hostTarget())}\n$`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compile targets: the five release platforms, asset names install.sh expects", () => {
  assertEquals([...TARGETS].sort(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
  ]);
  assertEquals(assetName("x86_64-pc-windows-msvc"), "mixpeek-x86_64-pc-windows-msvc.exe");
  assertEquals(assetName("aarch64-apple-darwin"), "mixpeek-aarch64-apple-darwin");
  const args = compileArgs("aarch64-apple-darwin", "/tmp/out");
  // Least privilege baked in: env scoped, no prompt, no ffi/sys/import, the worker modules included.
  assert(args.some((a) => a.startsWith("--allow-env=MIXPEEK_API_KEY,")), args.join(" "));
  assert(args.includes("--no-prompt") && !args.includes("-A") && !args.includes("--allow-all"));
  assert(!args.some((a) => /^--allow-(ffi|sys|import|env$)/.test(a)), args.join(" "));
  const included = args.flatMap((a, i) => args[i - 1] === "--include" ? [a] : []);
  assertEquals(included, [
    `${ROOT}/lib/scan/worker.ts`,
    `${ROOT}/lib/pack/deflate_worker.ts`,
    `${ROOT}/lib/local/checks_worker.ts`,
  ]);
  assertEquals(args[args.indexOf("--target") + 1], "aarch64-apple-darwin");
});

Deno.test("SHA256SUMS is in the format sha256sum -c checks", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/mixpeek-b`, "binary b\n");
  await Deno.writeTextFile(`${dir.path}/mixpeek-a`, "binary a\n");
  await writeChecksums(dir.path, ["mixpeek-b", "mixpeek-a"]);
  const sums = await Deno.readTextFile(`${dir.path}/SHA256SUMS`);
  assertEquals(sums.split("\n").map((l) => l.slice(66)), ["mixpeek-a", "mixpeek-b", ""]);
  const check = await runProcess("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir.path }).catch(() => undefined);
  if (check) assertEquals([check.code, check.stdout], [0, "mixpeek-a: OK\nmixpeek-b: OK\n"]);
});

Deno.test("no runtime: compile exits 1 with one line saying why, and leaves no SHA256SUMS", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/SHA256SUMS`, "stale\n");
  const r: CliResult = await runProcess(Deno.execPath(), ["run", "-A", COMPILE, "--out", dir.path], {
    env: { DENORT_BIN: `${dir.path}/no-such-denort` },
  });
  assertEquals(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 2, r.stderr); // "building <host> only", then the reason
  assertMatch(
    lines[1],
    /^compile: cannot get the Deno runtime \(denort\) for \S+: Could not find denort at /,
  );
  assertStringIncludes(lines[1], "DENORT_BIN");
  assertEquals((await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name), []);

  const usage = await runProcess(Deno.execPath(), ["run", "-A", COMPILE, "--target", "sparc-sun-solaris"]);
  assertEquals(usage.code, 2);
  assertStringIncludes(usage.stderr, "unknown target sparc-sun-solaris");
});

Deno.test("compileFailureReason keeps the most specific cause on one line", () => {
  const stderr = `Compile main.ts to x
error: Writing deno compile executable to temporary file 'x.tmp'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip)
    2: dns error

Stack backtrace:
   0: <unknown>`;
  assertEquals(
    compileFailureReason(stderr),
    "error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip)",
  );
  assertEquals(compileFailureReason("error: Module not found\n"), "Module not found");
});
