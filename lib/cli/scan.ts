/**
 * `mixpeek plugin scan [--path DIR] [--format text|json|sarif]`: run the security scan (lib/scan/scan.ts)
 * and render it. Exit 0 when clean, 3 when there are findings (the report is printed first; the error
 * line goes to stderr only).
 */
import { ScanRejectedError, UsageError } from "../errors.ts";
import { renderText, toSarif } from "../scan/report.ts";
import { scanTree } from "../scan/scan.ts";
import { VERSION } from "../version.ts";
import type { Context } from "./context.ts";

export const SCAN_FORMATS = ["text", "json", "sarif"] as const;
export type ScanFormat = typeof SCAN_FORMATS[number];

export interface ScanFlags {
  path?: string;
  format?: ScanFormat;
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

export async function runScan(flags: ScanFlags, ctx: Context): Promise<void> {
  const format = _format(flags, ctx);
  const started = performance.now();
  const report = await scanTree(flags.path ?? ".");
  ctx.out.debug(
    `scanned ${report.files_scanned} Python files in ${Math.round(performance.now() - started)} ms`,
  );
  if (format === "json") ctx.out.writeStdout(JSON.stringify(report, null, 2) + "\n");
  else if (format === "sarif") {
    ctx.out.writeStdout(JSON.stringify(toSarif(report, { toolVersion: VERSION }), null, 2) + "\n");
  } else ctx.out.writeStdout(renderText(report, ctx.out.out));
  const n = report.findings.length;
  if (n > 0) {
    const files = new Set(report.findings.map((f) => f.file)).size;
    throw new ScanRejectedError(
      `security scan: ${n} finding${n === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}`,
      {
        hint: "each finding says what to use instead; fix them and run `mixpeek plugin scan` again",
        reported: true,
      },
    );
  }
}
