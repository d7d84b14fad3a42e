/**
 * `mixpeek plugin publish`: status lines on stderr, the result on stdout. In a terminal, a live line shows
 * the packing (bytes, rate), the upload (bytes, rate, then the wait for the storage's answer), and a spinner
 * with the time elapsed while the server validates the upload and while the deployment settles.
 */
import { formatRequestLog } from "../api/request_log.ts";
import { formatBytes, type Palette, type Progress, type Spinner } from "../output.ts";
import { parsePackFormat } from "../pack/pack.ts";
import { publishPlugin, type PublishResult } from "../publish.ts";
import { createClient, parseSeconds, pluginFolderOf, stallTimeoutMs } from "./api_context.ts";
import type { Context } from "./context.ts";
import { interruptSignal } from "./interrupt.ts";
import { askConfirm } from "./prompt.ts";
import { renderCheck } from "./test.ts";

export interface PublishFlags {
  path?: string;
  dryRun?: boolean;
  wait?: boolean;
  timeout?: string;
  yes?: boolean;
  python?: string;
  allowSecret?: string[];
  format?: string;
  /** false with --no-deploy */
  deploy?: boolean;
  org?: boolean;
}

export async function runPublish(
  positional: string | undefined,
  flags: PublishFlags,
  ctx: Context,
): Promise<void> {
  const timeoutMs = parseSeconds("--timeout", flags.timeout, 600);
  const stallMs = stallTimeoutMs(ctx);
  const { root } = await pluginFolderOf(positional, flags.path);
  const format = parsePackFormat(flags.format);
  // Ctrl-C aborts the publish, which then reports what the server holds (lib/publish.ts).
  const interrupt = interruptSignal();
  let progress: Progress | undefined;
  let packing: Progress | undefined;
  let spinner: Spinner | undefined;
  const endLive = () => {
    packing?.finish();
    packing = undefined;
    progress?.finish();
    progress = undefined;
    spinner?.finish();
    spinner = undefined;
  };
  try {
    // Settings are checked before any work, so a missing key fails fast (not after packing); the client
    // shares the interrupt, so Ctrl-C also stops an API call or its retry wait.
    const client = flags.dryRun
      ? undefined
      : await createClient(ctx, interrupt.signal, flags.org ? "optional" : "required");
    const target = flags.org ? "the organization" : `namespace ${client?.namespace}`;
    const result = await publishPlugin({
      root,
      format,
      deploy: flags.deploy !== false,
      org: flags.org === true,
      python: flags.python,
      dryRun: flags.dryRun === true,
      wait: flags.wait === true,
      timeoutMs,
      client,
      allowSecrets: flags.allowSecret,
      signal: interrupt.signal,
      stallTimeoutMs: stallMs,
      confirm: flags.yes || !ctx.interactive || flags.dryRun ? undefined : (summary) =>
        askConfirm(
          `Publish ${summary.name} ${summary.version} (${summary.file_count} files, ${
            formatBytes(summary.size)
          }) ` +
            `to ${target} at ${client!.baseUrl}?`,
          true,
        ),
      events: {
        step: (step, message) => {
          endLive(); // a new step ends the previous one's display
          ctx.out.debug(message);
          if (step === "confirm") {
            spinner = ctx.out.spinner("validating: the server checks and scans the upload");
          }
          if (step === "wait") spinner = ctx.out.spinner("waiting for the deployment");
        },
        check: (check) => ctx.out.info(renderCheck(check, ctx.out.err)),
        packProgress: (done, total) => {
          packing ??= ctx.out.progress("packing", total, "writing the archive");
          packing.update(done);
        },
        progress: (sent, total) => {
          progress ??= ctx.out.progress("uploading", total, "waiting for the storage to answer");
          progress.update(sent);
        },
        uploadDone: (ok) => {
          progress?.finish(ok ? "uploaded" : undefined);
          progress = undefined;
        },
        retry: (message) => ctx.out.warn(message),
        note: (message) => ctx.out.info(message),
        status: (s) => {
          if (spinner) spinner.status = String(s.status);
          ctx.out.info(`deployment: ${s.status}${s.error ? ` (${s.error})` : ""}`);
        },
        request: ctx.out.verbose ? (e) => ctx.out.debug(formatRequestLog(e)) : undefined,
      },
    });
    endLive();
    ctx.out.result(result, _render);
  } finally {
    endLive(); // before an error is printed: no live line left under it
    interrupt.dispose();
  }
}

function _render(r: PublishResult, c: Palette): string {
  const what = `${r.name} ${r.version}`;
  if (r.dry_run) {
    return [
      `${c.bold("dry run")}: would upload ${what} as ${r.archive.folder}/ in a .${r.archive.format} ` +
      `(${r.archive.file_count} files, ${formatBytes(r.archive.size)}, sha256 ${r.archive.sha256})`,
      ...r.archive.files.map((f) => `  ${f}`),
      "nothing was sent",
    ].join("\n");
  }
  const lines = [`published ${what} as ${r.plugin_id} (${r.feature_uri})`];
  if (r.scope === "organization") {
    lines.push(`organization plugin: enable it in a namespace with: mixpeek plugin enable ${r.plugin_id}`);
    return lines.join("\n");
  }
  if (r.deployment === undefined) {
    lines.push(`not deployed (--no-deploy): deploy it with: mixpeek plugin deploy ${r.plugin_id}`);
    return lines.join("\n");
  }
  const type = typeof r.deployment.deployment_type === "string" ? ` (${r.deployment.deployment_type})` : "";
  lines.push(`deployment: ${r.status}${type}`);
  if (typeof r.deployment.message === "string" && r.deployment_status === undefined) {
    lines.push(`  ${r.deployment.message}`);
  }
  if (!["deployed", "batch_only", "not_deployed", "failed"].includes(String(r.status).toLowerCase())) {
    lines.push(`follow it with: mixpeek plugin status ${r.plugin_id} --wait`);
  }
  return lines.join("\n");
}
