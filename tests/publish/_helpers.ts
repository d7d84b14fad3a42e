/**
 * Helpers for the end-to-end tests of publish and plugin management: a real `mixpeek local` registry on
 * 127.0.0.1 (in this process, spoken to over HTTP only by the spawned CLI), plugins scaffolded by the CLI.
 */
import type { FaultRule } from "../../lib/local/faults.ts";
import { startRegistry, type TestRegistry } from "../local/_helpers.ts";
import { assertEquals } from "../helpers/assert.ts";
import { baseEnv, type CliOptions, type CliResult, MAIN, PERMISSIONS, runCli } from "../helpers/cli.ts";

export interface E2E extends AsyncDisposable {
  reg: TestRegistry;
  /** Every log line of the registry (one per request and per background transition). */
  log: string[];
  env: Record<string, string>;
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
}

export async function startE2E(
  options: Omit<NonNullable<Parameters<typeof startRegistry>[0]>, "faults"> & {
    faults?: Partial<FaultRule>[];
  } = {},
): Promise<E2E> {
  const log: string[] = [];
  const faults = options.faults?.map((f) => ({ method: "*", times: 1, ...f })) as FaultRule[] | undefined;
  const reg = await startRegistry({ ...options, faults, onLog: (line) => log.push(line) });
  const env = { MIXPEEK_BASE_URL: reg.url, MIXPEEK_API_KEY: reg.key, MIXPEEK_NAMESPACE: "default" };
  return {
    reg,
    log,
    env,
    cli: (args, cliOptions = {}) =>
      runCli(args, { ...cliOptions, env: { ...env, ...(cliOptions.env ?? {}) } }),
    [Symbol.asyncDispose]: () => reg[Symbol.asyncDispose](),
  };
}

/** `mixpeek plugin init` by flags into `dir/name`; returns the plugin folder. */
export async function scaffold(
  dir: string,
  name: string,
  options: { realtime?: boolean; category?: string } = {},
): Promise<string> {
  const args = [
    "plugin",
    "init",
    name,
    "--category",
    options.category ?? "text",
    "--no-input",
    "--author",
    "e2e",
  ];
  args.push(options.realtime ? "--realtime" : "--no-realtime");
  const r = await runCli(args, { cwd: dir });
  assertEquals(r.code, 0, r.stderr);
  return `${dir}/${name.replace(/-/g, "_")}`; // the folder is the package: kebab-case becomes snake_case
}

/** Lines of the registry log for requests (method and path), e.g. "POST /v1/namespaces/default/plugins/uploads". */
export function requests(log: string[]): string[] {
  return log.filter((l) => /\b(GET|POST|PUT|DELETE|HEAD)\s+\//.test(l));
}

/**
 * Runs `mixpeek plugin publish --path root` as a user would, waits until its stderr shows `marker`
 * (plus `settleMs`), presses Ctrl-C (SIGINT), and returns the exit code and all of stderr.
 */
export async function publishThenInterrupt(
  e2e: E2E,
  home: string,
  root: string,
  marker: string,
  settleMs = 0,
  extraArgs: string[] = [],
): Promise<{ code: number; stderr: string; sawMarker: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, MAIN, "plugin", "publish", "--path", root, ...extraArgs],
    env: { ...(await baseEnv(home)), ...e2e.env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  let stderr = "";
  const readMore = async () => {
    const { value, done } = await reader.read();
    if (!done) stderr += decoder.decode(value);
    return !done;
  };
  while (!stderr.includes(marker) && await readMore());
  const sawMarker = stderr.includes(marker);
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  child.kill("SIGINT");
  while (await readMore());
  return { code: (await child.status).code, stderr, sawMarker };
}
