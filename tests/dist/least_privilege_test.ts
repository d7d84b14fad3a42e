/**
 * Least privilege: the README's scoped invocation (read/write limited to the plugin folder, the config dir
 * and the temp dir; net to the API host, a `mixpeek local` on 127.0.0.1:PORT; env to the variables the CLI
 * reads; run to python3) does the whole job, and a permission it lacks is a clear error with exit 2 that
 * names the flag, never a prompt or a stack trace.
 */
import { CLI_ENV, ENV_VARS, type Scope, scopedFlags } from "../../scripts/permissions.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { cacheDir, type CliResult, MAIN, ROOT, tempDir } from "../helpers/cli.ts";
import { type Invoke, journey, run } from "./_helpers.ts";
import { startLocalProcess } from "../helpers/local_process.ts";

const isWindows = Deno.build.os === "windows";

/** The python3 the CLI will find: the first one on PATH (discovery stats it, so the run may read it). */
async function _python3(): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(isWindows ? ";" : ":")) {
    const candidate = `${dir}/python3`;
    if (dir && (await Deno.stat(candidate).catch(() => null))?.isFile) return candidate;
  }
  throw new Error("python3 is not on PATH");
}

interface Sandbox extends AsyncDisposable {
  base: string;
  work: string;
  config: string;
  tmp: string;
  env: Record<string, string>;
  python: string;
  /** `deno run` of main.ts with exactly these flags (no -A anywhere). */
  invoke(
    flags: string[],
    args: string[],
    options?: { env?: Record<string, string>; cwd?: string },
  ): Promise<CliResult>;
}

async function _sandbox(): Promise<Sandbox> {
  const dir = await tempDir("mixpeek-lp-");
  const [work, config, tmp, home] = ["work", "config", "tmp", "home"].map((d) => `${dir.path}/${d}`);
  for (const d of [work, config, tmp, home]) await Deno.mkdir(d);
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    MIXPEEK_CONFIG_DIR: config,
    TMPDIR: tmp,
    DENO_DIR: await cacheDir(),
    DENO_NO_UPDATE_CHECK: "1",
  };
  return {
    base: dir.path,
    work,
    config,
    tmp,
    env,
    python: await _python3(),
    invoke: (flags, args, options = {}) =>
      run([Deno.execPath(), "run", "--quiet", ...flags, MAIN, ...args], {
        cwd: options.cwd,
        env: { ...env, ...(options.env ?? {}) },
      }),
    [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose](),
  };
}

function _assertPermissionError(r: CliResult, flag: string): void {
  assertEquals(r.code, 2, `expected exit 2 (usage) for a missing permission\n${r.stderr}`);
  assertStringIncludes(r.stderr, flag);
  assertStringIncludes(r.stderr, "hint: this run lacks a Deno permission");
  assert(!/\n\s+at |Uncaught|┏|Deno requests/.test(r.stderr), `a stack trace or a prompt:\n${r.stderr}`);
}

Deno.test({
  name: "the scoped invocation runs init, test, scan, pack, publish, list and config",
  ignore: isWindows,
  async fn() {
    await using box = await _sandbox();
    await using local = await startLocalProcess(
      [Deno.execPath(), "run", "--quiet", "-A", MAIN],
      `${box.base}/registry`,
      box.env,
    );
    // The plugin folder is the only project path granted; init needs the folder it creates the plugin in.
    const plugin = `${box.work}/dist_demo`;
    const scope = (args: string[]): Scope => ({
      paths: [args.includes("init") ? box.work : plugin, box.config, box.tmp],
      readOnly: [box.python],
      net: [local.host],
      run: ["python3"],
    });
    const invoke: Invoke = (args, options) => box.invoke(scopedFlags(scope(args)), args, options);
    const root = await journey(invoke, box.work, local);
    assertEquals(root, plugin);

    // Settings live in the config dir; help renders with the scoped grants.
    const flags = scopedFlags(scope([]));
    const set = await box.invoke(flags, ["config", "set", "namespace", "ns_scoped"]);
    assertEquals(set.code, 0, set.stderr);
    const list = await box.invoke(flags, ["--json", "config", "list"]);
    assertEquals(list.code, 0, list.stderr);
    assertStringIncludes(list.stdout, "ns_scoped");
    const help = await box.invoke(flags, ["plugin", "publish", "--help"]);
    assertEquals(help.code, 0, help.stderr);
  },
});

Deno.test({
  name: "a large scan under scoped read access stays on one thread, with no worker error",
  ignore: isWindows,
  async fn() {
    await using box = await _sandbox();
    const plugin = `${box.work}/big`;
    await Deno.mkdir(plugin);
    // Over the 1 MiB at which the scan would start worker threads (which cannot load lib/ here).
    const module = "def f(x):\n    return [x, x * 2, str(x)]\n\n".repeat(2_000);
    for (let i = 0; i < 16; i++) await Deno.writeTextFile(`${plugin}/m${i}.py`, module);
    await Deno.writeTextFile(`${plugin}/bad.py`, "import subprocess\n");
    const r = await box.invoke(scopedFlags({ paths: [plugin, box.config, box.tmp] }), [
      "--json",
      "plugin",
      "scan",
      "--path",
      plugin,
    ]);
    assertEquals(r.code, 3, r.stderr);
    assert(!/Uncaught|worker/i.test(r.stderr), `a worker error leaked:\n${r.stderr}`);
    const report = JSON.parse(r.stdout);
    assertEquals(report.files_scanned, 17);
    assertEquals(report.findings.map((f: { file: string }) => f.file), ["bad.py"]);
  },
});

Deno.test({
  name: "a missing permission is exit 2 with the flag to add, not a prompt or a stack trace",
  ignore: isWindows,
  async fn() {
    await using box = await _sandbox();
    const plugin = `${box.work}/plg`;
    const init = await box.invoke(
      scopedFlags({ paths: [box.work, box.config, box.tmp] }),
      ["plugin", "init", "plg", "--category", "text", "--no-input", "--author", "x"],
      { cwd: box.work },
    );
    assertEquals(init.code, 0, init.stderr);

    // write: the plugin folder is readable but not writable, so the archive cannot be written.
    const readOnly = scopedFlags({ paths: [box.config, box.tmp], readOnly: [plugin] });
    _assertPermissionError(await box.invoke(readOnly, ["plugin", "pack", "--path", plugin]), "--allow-write");
    const json = await box.invoke(readOnly, ["--json", "plugin", "pack", "--path", plugin]);
    assertEquals(json.code, 2);
    const doc = JSON.parse(json.stdout).error;
    assertEquals([doc.type, doc.exit_code], ["permission", 2]);
    assert(!(await Deno.stat(`${plugin}/dist`).catch(() => null)), "a failed pack left dist/ behind");

    // env: none granted.
    const noEnv = [`--allow-read=${box.work}`, `--allow-write=${box.work}`, "--no-prompt"];
    _assertPermissionError(
      await box.invoke(noEnv, ["plugin", "init", "qrs", "--category", "text", "--no-input"], {
        cwd: box.work,
      }),
      "--allow-env",
    );

    // net: the API host is not granted (the client gives up at once or after its retries; either way exit 2).
    const noNet = scopedFlags({ paths: [plugin, box.config, box.tmp] });
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const api = {
      MIXPEEK_BASE_URL: `http://127.0.0.1:${port}`,
      MIXPEEK_API_KEY: "k",
      MIXPEEK_NAMESPACE: "default",
    };
    _assertPermissionError(await box.invoke(noNet, ["plugin", "list"], { env: api }), "--allow-net");

    // read, without --no-prompt: stdin is not a terminal, so Deno does not prompt either.
    const noRead = [`--allow-env=${ENV_VARS.join(",")}`];
    _assertPermissionError(await box.invoke(noRead, ["plugin", "scan", "--path", plugin]), "--allow-read");
  },
});

Deno.test("the --allow-env list names every variable lib/ reads", async () => {
  const found = new Set<string>();
  const pattern = /(?:env\.get\(|_get\(env,\s*|\benv:\s*|variable:\s*)"([A-Za-z_][A-Za-z0-9_]*)"/g;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory && entry.name !== "embedded") await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) {
        for (const m of (await Deno.readTextFile(path)).matchAll(pattern)) found.add(m[1]);
      }
    }
  };
  await walk(`${ROOT}/lib`);
  for (const m of (await Deno.readTextFile(MAIN)).matchAll(pattern)) found.add(m[1]);
  assert(found.size > 10, `the scan found only ${[...found]}`);
  const listed = new Set<string>(CLI_ENV);
  const missing = [...found].filter((name) => !listed.has(name));
  assertEquals(missing, [], "add these to CLI_ENV in scripts/permissions.ts (and the README)");
});

Deno.test("the README's least-privilege invocation grants exactly the variables of scripts/permissions.ts", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const names = [...readme.matchAll(/^ENV=(?:\$ENV,)?(.+)$/gm)].flatMap((m) => m[1].split(","));
  assertEquals([...names].sort(), [...ENV_VARS].sort());
  for (
    const flag of ["--no-prompt", "--allow-read=", "--allow-write=", "--allow-net=", "--allow-run=python3"]
  ) {
    assertStringIncludes(readme, flag);
  }
});
