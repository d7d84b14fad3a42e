/** Shared by the `plugin test` tests: fixture paths, a small concurrency pool, plugin copies, output parsing. */
import { dirname, join } from "node:path";
import { type CliOptions, type CliResult, ROOT, runCli, runProcess } from "../helpers/cli.ts";

export const FIXTURES = `${ROOT}/tests/fixtures/plugins`;
export const PYDANTIC_V1 = `${ROOT}/tests/fixtures/pydantic_v1`;

/**
 * pytest-benchmark (installed on this machine) adds ~0.9 s to every pytest start and writes .benchmarks/;
 * the suite runs pytest without auto-loaded plugins to stay fast. One test runs with them on.
 */
export const FAST_PYTEST = { PYTEST_DISABLE_PLUGIN_AUTOLOAD: "1" };

/** Whether the security scanner (lib/scan/scan.ts) is in this tree; until it is, the scan check fails. */
export const SCANNER = await Deno.stat(`${ROOT}/lib/scan/scan.ts`).then(() => true, () => false);

/** The real interpreter behind `python3` (a pyenv shim on this machine). */
export const PYTHON = (await runProcess("python3", ["-c", "import sys; print(sys.executable)"])).stdout
  .trim();

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

/** `plugin validate` through the CLI. */
export function pluginValidate(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return runCli(["plugin", "validate", ...args], options);
}

/** Copies a folder tree (files and folders; an entry already at the destination is replaced). */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const existing = await Deno.lstat(target).catch(() => undefined);
    if (entry.isDirectory) {
      if (existing && !existing.isDirectory) await Deno.remove(target);
      await copyTree(source, target);
    } else {
      if (existing?.isDirectory) await Deno.remove(target, { recursive: true });
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.copyFile(source, target);
    }
  }
}

/** A copy of a fixture plugin at `dir/<name>` (a temp folder the caller owns); returns its path. */
export async function copyFixture(
  fixture: string,
  dir: string,
  name = fixture.split("/").pop()!,
): Promise<string> {
  const target = join(dir, name);
  await copyTree(`${FIXTURES}/${fixture}`, target);
  return target;
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

/**
 * A Python without pandas, built for the test: a virtualenv (no pip) that sees every package of the
 * machine's Python except the ones named, through a .pth file over a folder of symlinks. Nothing is
 * uninstalled. Returns the interpreter.
 */
export async function pythonWithout(packages: string[], dir: string): Promise<string> {
  const venv = join(dir, "venv");
  const made = await runProcess(PYTHON, ["-m", "venv", "--without-pip", venv]);
  if (made.code !== 0) throw new Error(made.stderr);
  const probe = await runProcess(PYTHON, [
    "-c",
    "import pydantic, os; print(os.path.dirname(os.path.dirname(pydantic.__file__)))",
  ]);
  const site = probe.stdout.trim();
  const shadow = join(dir, "site");
  await Deno.mkdir(shadow);
  const hidden = (name: string) =>
    packages.some((p) => name === p || name.startsWith(`${p}-`) || name.startsWith(`${p}.`));
  for await (const entry of Deno.readDir(site)) {
    if (hidden(entry.name) || entry.name.endsWith(".pth")) continue;
    await Deno.symlink(join(site, entry.name), join(shadow, entry.name));
  }
  const venvSite =
    (await runProcess(`${venv}/bin/python`, ["-c", "import site; print(site.getsitepackages()[0])"]))
      .stdout.trim();
  await Deno.writeTextFile(join(venvSite, "shadow.pth"), shadow + "\n");
  return `${venv}/bin/python`;
}
