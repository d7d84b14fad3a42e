/**
 * `mixpeek plugin scan [PATH] [-p DIR] [--format text|json|sarif] [--strict] [--absolute]`: run the security
 * scan (lib/scan/scan.ts) and render it. Exit 0 when nothing rejects the plugin (warnings are shown), 3 when
 * errors do (or warnings, with --strict; the report is printed first and the error line goes to stderr
 * only), 2 for usage errors, and with --strict for a folder that is not a plugin.
 */
import { ScanRejectedError, UsageError } from "../errors.ts";
import { blockingFindings } from "../scan/policy.ts";
import { renderText, toSarif } from "../scan/report.ts";
import { scanTree } from "../scan/scan.ts";
import { VERSION } from "../version.ts";
import type { Context } from "./context.ts";

export const SCAN_FORMATS = ["text", "json", "sarif"] as const;
export type ScanFormat = typeof SCAN_FORMATS[number];

export interface ScanFlags {
  path?: string;
  format?: ScanFormat;
  /** The platform's strict mode: warnings reject too, and a folder that is not a plugin is a usage error. */
  strict?: boolean;
  /** Absolute paths in the text and SARIF output (default: relative to the current folder). */
  absolute?: boolean;
  /** False with --no-cache: scan every file afresh (and record nothing). */
  cache?: boolean;
}

function _format(flags: ScanFlags, ctx: Context): ScanFormat {
  if (ctx.out.json) {
    if (flags.format !== undefined && flags.format !== "json") {
      throw new UsageError(`--json and --format ${flags.format} ask for different outputs`, {
        hint: "pass one of them (--json is --format json)",
      });
    }
    return "json";
  }
  return flags.format ?? "text";
}

async function _isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isFile === true;
}

/** The folder holding manifest.py at or above `dir`, or undefined. */
async function _pluginRoot(dir: string): Promise<string | undefined> {
  let current = await Deno.realPath(dir).catch(() => undefined);
  for (let guard = 0; current !== undefined && guard < 64; guard++) {
    if (await _isFile(`${current}/manifest.py`)) return current;
    const parent = current.replace(/\/[^/]*$/, "") || "/";
    if (parent === current) return undefined;
    current = parent;
  }
  return undefined;
}

/**
 * The folder to scan: the path given (positional or -p; both must agree), or the plugin the current folder
 * is in (walking up to manifest.py), or the current folder. Warns (or, with --strict, refuses) when the
 * folder is not a plugin.
 */
async function _target(positional: string | undefined, flags: ScanFlags, ctx: Context): Promise<string> {
  if (positional !== undefined && flags.path !== undefined && positional !== flags.path) {
    throw new UsageError(`two plugin paths given: ${positional} and --path ${flags.path}`, {
      hint: "pass the folder once, as an argument or with --path",
    });
  }
  const given = positional ?? flags.path;
  let root = given ?? ".";
  if (given === undefined) root = (await _pluginRoot(".")) ?? ".";
  const info = await Deno.stat(root).catch(() => null);
  if (info?.isDirectory && !(await _isFile(`${root}/manifest.py`))) {
    const message = `${root === "." ? "the current folder" : root} is not a plugin (no manifest.py)`;
    if (flags.strict) {
      throw new UsageError(message, { hint: "pass the plugin folder, the one holding manifest.py" });
    }
    ctx.out.warn(`${message}; scanning its .py files anyway`);
  }
  return root;
}

export async function runScan(positional: string | undefined, flags: ScanFlags, ctx: Context): Promise<void> {
  const format = _format(flags, ctx);
  const root = await _target(positional, flags, ctx);
  const started = performance.now();
  const report = await scanTree(root, { cache: flags.cache !== false });
  ctx.out.debug(
    `scanned ${report.files_scanned} Python files in ${Math.round(performance.now() - started)} ms`,
  );
  const options = { strict: flags.strict, absolute: flags.absolute };
  if (format === "json") ctx.out.writeStdout(JSON.stringify(report, null, 2) + "\n");
  else if (format === "sarif") {
    ctx.out.writeStdout(
      JSON.stringify(toSarif(report, { toolVersion: VERSION, ...options }), null, 2) + "\n",
    );
  } else ctx.out.writeStdout(renderText(report, ctx.out.out, options));
  const blocking = blockingFindings(report, { strict: flags.strict });
  if (blocking.length > 0) {
    const files = new Set(blocking.map((f) => f.file)).size;
    const n = blocking.length;
    const errors = blocking.filter((f) => f.severity === "error").length;
    const kind = errors === n ? "" : errors === 0 ? " (warnings, rejected in strict mode)" : " (strict mode)";
    throw new ScanRejectedError(
      `security scan: ${n} finding${n === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}${kind}`,
      {
        hint: "each finding says what to use instead; fix them and run `mixpeek plugin scan` again",
        reported: true,
      },
    );
  }
}
