/**
 * `mixpeek plugin test` and `mixpeek plugin validate`: parse the flags, find the plugin folder, run the
 * checks (lib/plugin/check.ts), render one line per check.
 */
import { InterruptedError, UsageError, ValidationError } from "../errors.ts";
import type { Palette } from "../output.ts";
import {
  type CheckDetail,
  type CheckResult,
  DEFAULT_TIMEOUT_MS,
  testPlugin,
  type TestReport,
  VALIDATE_CHECKS,
} from "../plugin/check.ts";
import { findPluginRoot } from "../plugin/root.ts";
import type { Context } from "./context.ts";

export interface TestFlags {
  path?: string;
  sampleData?: string;
  params?: string;
  python?: string;
  timeout?: string;
  verbose?: boolean;
}

/** Details shown per check without --verbose (all of them are in --json). */
const MAX_DETAILS = 10;
const ID_WIDTH = 13;

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout ${value}: expected a number of seconds greater than 0`, {
      hint: "e.g. --timeout 30 (the limit for each Python process: the harness and pytest)",
    });
  }
  return Math.round(seconds * 1000);
}

/** `--params JSON`: the collection's parameters, a JSON object. */
export function parseParams(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`--params ${value}: not valid JSON (${(error as Error).message})`, {
      hint: `pass a JSON object, e.g. --params '{"threshold": 0.7}'`,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--params ${value}: expected a JSON object of parameters`, {
      hint: `e.g. --params '{"threshold": 0.7}' (the parameters a collection passes to the plugin)`,
    });
  }
  return parsed as Record<string, unknown>;
}

/** The folder given as an argument or with -p/--path (not both, unless they agree), walked up to manifest.py. */
export async function pluginFolder(
  positional: string | undefined,
  flag: string | undefined,
): Promise<string> {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`two plugin folders given: ${positional} and --path ${flag}`, {
      hint: "pass the folder once, as an argument or with -p/--path",
    });
  }
  const given = positional ?? flag ?? ".";
  return (await findPluginRoot(given)) ?? given;
}

async function _run(
  positional: string | undefined,
  flags: TestFlags,
  ctx: Context,
  command: "test" | "validate",
): Promise<void> {
  const timeoutMs = parseTimeout(flags.timeout);
  const params = parseParams(flags.params);
  const root = await pluginFolder(positional, flags.path);
  const verbose = ctx.out.verbose || flags.verbose === true;
  // Ctrl-C stops the Python processes (their own process group: the terminal's SIGINT does not reach them)
  // and ends the run with "interrupted", exit 130. What the killed processes leave behind (a pytest that
  // "failed", a harness that "exited") is not a result, so nothing more is shown once it is pressed.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  const interrupted = () => interrupt.signal.aborted;
  let report: TestReport;
  try {
    report = await testPlugin(root, {
      python: flags.python,
      sampleData: command === "test" ? flags.sampleData : undefined,
      params,
      timeoutMs,
      env: ctx.env,
      verbose,
      checks: command === "validate" ? VALIDATE_CHECKS : undefined,
      scanCache: true,
      signal: interrupt.signal,
      onCheck: ctx.out.json ? undefined : (check) => {
        if (!interrupted()) _showCheck(check, ctx, verbose);
      },
    });
  } catch (error) {
    if (interrupted()) throw new InterruptedError("interrupted");
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  if (interrupted()) throw new InterruptedError("interrupted");
  if (ctx.out.json) ctx.out.result(report, () => "");
  const failed = report.checks.filter((c) => c.status === "fail").map((c) => c.id);
  if (failed.length > 0) {
    throw new ValidationError(
      `plugin invalid: ${failed.length} check${failed.length === 1 ? "" : "s"} failed (${failed.join(", ")})`,
      // The check list (or the --json report) is already out: no second JSON document on stdout.
      { hint: `fix the problems above and run \`mixpeek plugin ${command}\` again`, reported: true },
    );
  }
  if (!ctx.out.json) ctx.out.result(report, _summary);
}

export function runTest(positional: string | undefined, flags: TestFlags, ctx: Context): Promise<void> {
  return _run(positional, flags, ctx, "test");
}

export function runValidate(positional: string | undefined, flags: TestFlags, ctx: Context): Promise<void> {
  return _run(positional, flags, ctx, "validate");
}

function _showCheck(check: CheckResult, ctx: Context, verbose: boolean): void {
  if (check.output !== undefined && check.output !== "") {
    ctx.out.info(ctx.out.err.dim(`── pytest output ──\n${check.output}\n──`));
  }
  ctx.out.result(check, (c, p) => renderCheck(c, p, verbose ? Infinity : MAX_DETAILS));
}

function _location(d: CheckDetail): string {
  return d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ""}` : ""}` : "";
}

/** `file:line: message`, unless the message already starts with the file (layout messages do). */
function _located(d: CheckDetail): string {
  const where = _location(d);
  return where && !(d.file && d.message.startsWith(d.file)) ? `${where}: ${d.message}` : d.message;
}

function _indent(text: string, prefix: string): string {
  return text.split("\n").map((line) => prefix + line).join("\n");
}

/** One line per check (✓ pass, ✗ fail, - skip) and, under a failure, its details. */
export function renderCheck(check: CheckResult, p: Palette, maxDetails = MAX_DETAILS): string {
  const mark = check.status === "pass" ? p.green("✓") : check.status === "fail" ? p.red("✗") : p.dim("-");
  const id = check.id.padEnd(ID_WIDTH);
  const only = check.details.length === 1 ? check.details[0] : undefined;
  if (only && only.message === check.reason && !only.test_id) {
    return `${mark} ${id}${_indent(_located(only), " ".repeat(ID_WIDTH + 3)).trimStart()}`;
  }
  const lines = [`${mark} ${id}${check.status === "skip" ? p.dim(check.reason) : check.reason}`];
  for (const detail of check.details.slice(0, maxDetails)) {
    const where = _location(detail);
    if (detail.test_id) {
      lines.push(`    ${detail.test_id}${where ? p.dim(` (${where})`) : ""}`);
      lines.push(_indent(detail.message, "      "));
    } else {
      lines.push(_indent(_located(detail), "    "));
    }
  }
  if (check.details.length > maxDetails) {
    lines.push(
      p.dim(`    … and ${check.details.length - maxDetails} more (all of them with --verbose or --json)`),
    );
  }
  return lines.join("\n");
}

function _summary(report: TestReport, p: Palette): string {
  const passed = report.checks.filter((c) => c.status === "pass").length;
  const skipped = report.checks.filter((c) => c.status === "skip").length;
  const python = report.python_version
    ? ` · python ${report.python_version}${
      report.pydantic_version ? `, pydantic ${report.pydantic_version}` : ""
    }`
    : "";
  const counts = `${passed} passed${skipped ? `, ${skipped} skipped` : ""}`;
  return `${p.green("plugin ok")}: ${counts}${python} · ${(report.duration_ms / 1000).toFixed(2)} s`;
}
