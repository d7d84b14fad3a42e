/**
 * Helpers for the deployment tests: a registry whose realtime deployments run in real Python workers (the
 * registry's default WorkerDeployer, kept at hand to read its workers' pids), plugin archives built from
 * the fixtures by the real packer, `mixpeek local` spawned as a user runs it, and process checks for the
 * no-orphan proofs. Everything talks over 127.0.0.1 only.
 */
import { join } from "node:path";
import type { LocalRegistryOptions } from "../../lib/local/registry.ts";
import { WorkerDeployer, type WorkerDeployerOptions } from "../../lib/local/workers/deployer.ts";
import { packPlugin } from "../../lib/pack/pack.ts";
import { baseEnv, MAIN, PERMISSIONS, ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import {
  type Archive,
  archiveOf,
  publish,
  startRegistry,
  type TestRegistry,
  waitFor,
} from "../local/_helpers.ts";
import { copyTree } from "../plugin_test/_helpers.ts";
import { type LocalProcess, startLocalProcess } from "../helpers/local_process.ts";

export const FIXTURES = `${ROOT}/tests/fixtures/plugins`;
export const VARIANTS = `${ROOT}/tests/deploy/fixtures`;

export interface WorkerRegistry extends AsyncDisposable {
  reg: TestRegistry;
  /** The registry's deployer (the default one, built by the registry with its archive store). */
  deployer(): WorkerDeployer;
  /** Log lines of the registry (requests, transitions, the workers' own output). */
  log: string[];
}

/** A registry on 127.0.0.1 with the default deployer (real workers), in a fresh or the given data dir. */
export async function startWorkerRegistry(
  options: Partial<LocalRegistryOptions> & { workerOptions?: WorkerDeployerOptions } = {},
): Promise<WorkerRegistry> {
  let deployer: WorkerDeployer | undefined;
  const log: string[] = [];
  const { workerOptions, ...rest } = options;
  const reg = await startRegistry({
    ...rest,
    workers: true,
    deployer: (host) => (deployer = new WorkerDeployer(host, workerOptions)),
    onLog: (line) => log.push(line),
  });
  return {
    reg,
    log,
    deployer: () => deployer!,
    [Symbol.asyncDispose]: () => reg[Symbol.asyncDispose](),
  };
}

/**
 * A fixture plugin (default `valid`) copied to a folder named `pkg` (the package), with realtime.py
 * replaced by tests/deploy/fixtures/<variant>.py when given, packed as `mixpeek plugin pack` packs it.
 */
export async function variantArchive(pkg: string, variant?: string, fixture = "valid"): Promise<Archive> {
  await using dir = await tempDir("mixpeek-variant-");
  const root = join(dir.path, pkg);
  await copyTree(`${FIXTURES}/${fixture}`, root);
  if (variant) await Deno.copyFile(`${VARIANTS}/${variant}.py`, join(root, "realtime.py"));
  const packed = await packPlugin(root, { output: join(dir.path, "out.tar.gz"), format: "tar.gz" });
  return archiveOf(await Deno.readFile(packed.path));
}

/** Publishes the archive, deploys it (realtime) and waits until the deployment settles; its status. */
export async function deploy(
  reg: TestRegistry,
  name: string,
  archive: Archive,
  version = "1.0.0",
  // deno-lint-ignore no-explicit-any
): Promise<{ plugin_id: string; status: any }> {
  const confirmed = await publish(reg, name, version, archive);
  if (!confirmed.success) throw new Error(`confirm failed: ${JSON.stringify(confirmed)}`);
  const answer = await reg.api("POST", reg.ns(`/plugins/${confirmed.plugin_id}/deploy`));
  if (answer.status !== 200) throw new Error(`deploy: ${answer.status} ${answer.text}`);
  return { plugin_id: confirmed.plugin_id, status: await waitFor(reg, confirmed.plugin_id) };
}

/** POST …/realtime/test (checked against the OpenAPI by reg.api). */
export async function realtimeTest(
  reg: TestRegistry,
  pluginId: string,
  inputs: unknown,
  parameters?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const body = parameters === undefined ? { inputs } : { inputs, parameters };
  const r = await reg.api("POST", reg.ns(`/plugins/${pluginId}/realtime/test`), body);
  if (r.status !== 200) throw new Error(`realtime/test: ${r.status} ${r.text}`);
  return r.json;
}

/** Whether a process exists and is not a zombie (a zombie has exited; only its entry is left to reap). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits (at most `ms`, polling) until `check` holds; false if it never did. No timing is asserted. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return await check();
}

/** The processes whose command line mentions `needle` (the worker script of one data dir, say). */
export async function processesWith(needle: string): Promise<number[]> {
  const out: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll("\0", " ");
      if (cmdline.includes(needle) && await alive(Number(entry.name))) out.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Runs Python (the one on PATH, as the registry finds it) with the plugin folder's parent importable. */
export async function python(code: string, pluginParent: string, runtime: string): Promise<string> {
  const r = await runProcess("python3", ["-c", code], {
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      PYTHONPATH: `${runtime}:${pluginParent}`,
      PYTHONDONTWRITEBYTECODE: "1",
    },
  });
  if (r.code !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return r.stdout;
}

export type SpawnedLocal = LocalProcess;

/** `mixpeek --json local --port 0 --data-dir …` as a user starts it, with extra environment and flags. */
export async function spawnLocal(
  dataDir: string,
  home: string,
  options: { env?: Record<string, string>; args?: string[] } = {},
): Promise<SpawnedLocal> {
  return await startLocalProcess(
    [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN],
    dataDir,
    { ...(await baseEnv(home)), ...(options.env ?? {}) },
    options.args ?? [],
  );
}

/** The pids of the workers a registry log (or `mixpeek local`'s stderr) says are ready, in order. */
export function readyWorkers(log: string): number[] {
  return [...log.matchAll(/worker (\d+) ready:/g)].map((m) => Number(m[1]));
}

/** The addresses sockets listen on at `port` (Linux /proc/net/tcp and tcp6), e.g. ["127.0.0.1"]. */
export async function listenAddresses(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await Deno.readTextFile(table).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== "0A") continue; // 0A: LISTEN
      const [hex, portHex] = local.split(":");
      if (parseInt(portHex, 16) !== port) continue;
      out.push(
        hex.length === 8
          ? [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".")
          : `ipv6:${hex}`,
      );
    }
  }
  return out;
}
