/** Shared by the `plugin test` tests: fixture paths, a small concurrency pool, and output parsing. */
import { type CliOptions, type CliResult, ROOT, runCli } from "../helpers/cli.ts";

export const FIXTURES = `${ROOT}/tests/fixtures/plugins`;
export const PYDANTIC_V1 = `${ROOT}/tests/fixtures/pydantic_v1`;

/**
 * pytest-benchmark (installed on this machine) adds ~0.9 s to every pytest start and writes .benchmarks/;
 * the suite runs pytest without auto-loaded plugins to stay fast. One test runs with them on.
 */
export const FAST_PYTEST = { PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1" };

/** Whether the security scanner (lib/scan/scan.ts) is in this tree; until it is, the scan check fails. */
export const SCANNER = await Deno.stat(`${ROOT}/lib/scan/scan.ts`).then(() => true, () => false);

/** Runs at most `n` tasks at a time (the machine has 2 cores; test files also run in parallel). */
export function pool(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    while (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** `plugin test` through the CLI, with the fast pytest environment unless the caller overrides it. */
export function pluginTest(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli(["plugin", "test", ...args], { ...options, env: { ...FAST_PYTEST, ...(options.env ?? {}) } });
}

export interface CheckLine {
  mark: "✓" | "✗" | "-";
  id: string;
  text: string;
  /** The indented lines under it. */
  details: string[];
}

/** Parses the human output: one `<mark> <id> <reason>` line per check, details indented below. */
export function checkLines(stdout: string): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^([✓✗-]) (\w+)\s+(.*)$/.exec(line);
    if (m) lines.push({ mark: m[1] as CheckLine["mark"], id: m[2], text: m[3], details: [] });
    else if (line.startsWith("    ") && lines.length > 0) lines[lines.length - 1].details.push(line.trim());
  }
  return lines;
}

/** The first JSON document on stdout (a failing run prints the report, then the error document). */
export function firstJson<T = Record<string, unknown>>(stdout: string): T {
  const end = stdout.indexOf("\n}\n");
  return JSON.parse(end < 0 ? stdout : stdout.slice(0, end + 2)) as T;
}

/** 1-based line of the `FAIL HERE` marker in a fixture file (the line the failure must point at). */
export function markerLine(path: string): number {
  const text = new TextDecoder("latin1").decode(Deno.readFileSync(path));
  const index = text.split("\n").findIndex((line) => line.includes("FAIL HERE"));
  if (index < 0) throw new Error(`no FAIL HERE marker in ${path}`);
  return index + 1;
}
