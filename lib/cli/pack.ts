/**
 * `mixpeek plugin pack`: parse the flags, pack (lib/pack/pack.ts), render. Ctrl-C aborts the pack, which
 * removes its temp file; the command then exits with 130. The folder is walked up to the one holding
 * manifest.py; a folder that is in no plugin gets a warning (packed as it is), or exit 2 with `--strict`.
 * In a terminal, a live line shows the bytes packed (read, compressed and hashed) and the rate.
 */
import { InterruptedError, UsageError } from "../errors.ts";
import { packPlugin, type PackResult, parsePackFormat } from "../pack/pack.ts";
import { pluginFolderOf } from "./api_context.ts";
import type { PackLimits } from "../pack/select.ts";
import { formatBytes, parseByteSize } from "../pack/size.ts";
import type { Palette } from "../output.ts";
import type { Context } from "./context.ts";

export interface PackFlags {
  path?: string;
  output?: string;
  format?: string;
  list?: boolean;
  allowSecret?: string[];
  maxSize?: string;
  maxFiles?: string;
  maxFileSize?: string;
  strict?: boolean;
}

function _size(flag: string, value: string): number {
  const n = parseByteSize(value);
  if (n === undefined || n <= 0) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} is not a size`, {
      hint: `pass a size like ${flag} 500MB (units B, KB, MB, GB; powers of 1024)`,
    });
  }
  return n;
}

/** Turns the limit flags into PackLimits overrides. */
export function limitsFromFlags(flags: PackFlags): Partial<PackLimits> {
  const limits: Partial<PackLimits> = {};
  if (flags.maxSize !== undefined) limits.max_total_bytes = _size("--max-size", flags.maxSize);
  if (flags.maxFileSize !== undefined) limits.max_file_bytes = _size("--max-file-size", flags.maxFileSize);
  if (flags.maxFiles !== undefined) {
    const n = Number(flags.maxFiles);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new UsageError(`--max-files ${JSON.stringify(flags.maxFiles)} is not a positive whole number`, {
        hint: "pass a count like --max-files 1000",
      });
    }
    limits.max_files = n;
  }
  return limits;
}

function _shown(path: string): string {
  const cwd = Deno.cwd();
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}

function _render(r: PackResult, list: boolean, p: Palette): string {
  const lines = [
    `path    ${p.bold(_shown(r.path))}`,
    `format  ${r.format}, one top folder: ${r.folder}/`,
    `files   ${r.file_count}`,
    `size    ${r.size} bytes (${formatBytes(r.size)}; ${formatBytes(r.unpacked_size)} unpacked)`,
    `sha256  ${r.sha256}`,
  ];
  if (list) lines.push("", "contents:", ...r.files.map((f) => `  ${f}`));
  return lines.join("\n");
}

export async function runPack(positional: string | undefined, flags: PackFlags, ctx: Context): Promise<void> {
  const limits = limitsFromFlags(flags);
  const { root, given, plugin } = await pluginFolderOf(positional, flags.path);
  const format = parsePackFormat(flags.format);
  if (!plugin && (await Deno.stat(given).catch(() => undefined))?.isDirectory) {
    const what = `${given === "." ? "the current folder" : given} is not a plugin folder (no manifest.py)`;
    if (flags.strict) {
      throw new UsageError(what, {
        hint:
          "pass the folder that holds manifest.py (or one inside it), or leave out --strict to pack it as it is",
      });
    }
    ctx.out.warn(`${what}; packing it as it is (--strict makes this an error)`);
  }
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new InterruptedError("pack interrupted; nothing was written"));
  Deno.addSignalListener("SIGINT", onInterrupt);
  let result: PackResult;
  let progress: ReturnType<Context["out"]["progress"]> | undefined;
  try {
    result = await packPlugin(root, {
      output: flags.output,
      format,
      allow_secrets: flags.allowSecret ?? [],
      limits,
      signal: controller.signal,
      onProgress: (done, total) => {
        progress ??= ctx.out.progress("packing", total, "writing the archive");
        progress.update(done);
      },
    });
  } finally {
    progress?.finish();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  for (const warning of result.warnings) ctx.out.warn(warning);
  ctx.out.result(result, (r, p) => _render(r, flags.list === true, p));
}
