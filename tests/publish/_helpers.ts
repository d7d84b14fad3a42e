/**
 * Helpers for the end-to-end tests of publish and plugin management: a real `mixpeek local` registry on
 * 127.0.0.1 (in this process, spoken to over HTTP only by the spawned CLI), plugins scaffolded by the CLI.
 */
import type { LocalRegistryOptions } from "../../lib/local/registry.ts";
import type { FaultRule } from "../../lib/local/faults.ts";
import { startRegistry, type TestRegistry } from "../local/_helpers.ts";
import { assertEquals } from "../helpers/assert.ts";
import { type CliOptions, type CliResult, runCli } from "../helpers/cli.ts";

export interface E2E extends AsyncDisposable {
  reg: TestRegistry;
  /** Every log line of the registry (one per request and per background transition). */
  log: string[];
  env: Record<string, string>;
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
}

export async function startE2E(
  options: Partial<LocalRegistryOptions> & { faults?: Partial<FaultRule>[] } = {},
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
  return `${dir}/${name}`;
}

/** Lines of the registry log for requests (method and path), e.g. "POST /v1/namespaces/default/plugins/uploads". */
export function requests(log: string[]): string[] {
  return log.filter((l) => /\b(GET|POST|PUT|DELETE|HEAD)\s+\//.test(l));
}
