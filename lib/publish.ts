/**
 * `plugin publish`: validate (structure, schemas, pipeline) → security scan → pack → request an upload URL
 * → upload → confirm → (realtime plugins) deploy → (with `wait`) poll until ready or failed.
 *
 * Local steps fail fast before any network call; `dryRun` stops after packing. An upload the URL refuses
 * (expired, tampered: HTTP 403) is retried with a fresh upload URL; a dropped connection, 5xx or 429 is
 * retried with backoff. An interruption is reported with what the server holds at that moment: before the
 * confirm nothing is published (an unconfirmed upload simply expires); after it the plugin exists and the
 * message says how to check or remove it.
 */
import type { MixpeekClient } from "./api/client.ts";
import { backoffDelay, DEFAULT_RETRY, sleep } from "./api/retry.ts";
import type { PluginRecord, StatusResponse, UploadTicket } from "./api/types.ts";
import { putFile, UploadError } from "./api/upload.ts";
import { waitForSettled } from "./api/wait.ts";
import { FailedError, InterruptedError, ValidationError } from "./errors.ts";
import { packPlugin, type PackResult } from "./pack/pack.ts";
import { type CheckResult, type PluginMetadata, testPlugin } from "./plugin/check.ts";

export type PublishStep = "validate" | "pack" | "upload" | "confirm" | "validating" | "deploy" | "wait";

export interface PublishEvents {
  /** A step starts (for status lines on stderr). */
  step?: (step: PublishStep, message: string) => void;
  check?: (check: CheckResult) => void;
  progress?: (sent: number, total: number) => void;
  uploadDone?: () => void;
  retry?: (message: string) => void;
  status?: (status: StatusResponse) => void;
}

export interface PublishOptions {
  root: string;
  python?: string;
  dryRun: boolean;
  wait: boolean;
  /** Limit for waiting (validation, deployment) and for the plugin's own code in the checks. */
  timeoutMs: number;
  /** Required unless dryRun. */
  client?: MixpeekClient;
  allowSecrets?: string[];
  signal?: AbortSignal;
  events?: PublishEvents;
  /** Asked after packing, before anything is sent (the CLI's "Publish …?" prompt); false stops. */
  confirm?: (
    summary: { name: string; version: string; file_count: number; size: number },
  ) => Promise<boolean>;
  /** Attempts at the upload, each after a failed one (fresh URL when the URL was refused). */
  uploadAttempts?: number;
}

export interface PublishResult {
  dry_run: boolean;
  name: string;
  version: string;
  realtime: boolean;
  archive: { size: number; sha256: string; file_count: number; files: string[] };
  plugin_id?: string;
  status?: string;
  error?: string | null;
  deployment?: PluginRecord["deployment"];
}

/** Where a publish stands, for the message an interruption or failure gives. */
type Stage =
  | { at: "local" }
  | { at: "uploading"; upload_id: string; expires_at: string }
  | { at: "confirming"; upload_id: string }
  | { at: "confirmed"; plugin_id: string };

function _interrupted(stage: Stage, cause: unknown): InterruptedError {
  switch (stage.at) {
    case "local":
      return new InterruptedError("publish interrupted before anything was sent: nothing was published", {
        cause,
      });
    case "uploading":
      return new InterruptedError(
        `publish interrupted during the upload: nothing was published (the unconfirmed upload ${stage.upload_id} ` +
          `expires at ${stage.expires_at})`,
        { cause, hint: "run `mixpeek plugin publish` again to start over" },
      );
    case "confirming":
      return new InterruptedError(
        `publish interrupted while confirming upload ${stage.upload_id}: the plugin may or may not exist now`,
        { cause, hint: "check with `mixpeek plugin list --source custom`, and delete it or publish again" },
      );
    case "confirmed":
      return new InterruptedError(
        `publish interrupted after the upload was confirmed: plugin ${stage.plugin_id} exists on the server`,
        {
          cause,
          hint: `check it with \`mixpeek plugin status ${stage.plugin_id} --wait\`, or remove it with ` +
            `\`mixpeek plugin delete ${stage.plugin_id} --yes\``,
        },
      );
  }
}

/** Structure, schemas, pipeline and the scan; returns the plugin's metadata or throws ValidationError. */
async function _validate(options: PublishOptions): Promise<PluginMetadata> {
  const report = await testPlugin(options.root, {
    python: options.python,
    timeoutMs: options.timeoutMs,
    checks: ["structure", "schemas", "pipeline", "scan"],
    scanLowMemory: true, // publish keeps memory low: it packs and uploads in the same process next
    signal: options.signal,
    onCheck: options.events?.check,
  });
  const failed = report.checks.filter((c) => c.status === "fail");
  if (failed.length > 0 || !report.metadata) {
    const first = failed[0];
    const detail = first?.details[0];
    const where = detail?.file ? ` (${detail.file}${detail.line ? `:${detail.line}` : ""})` : "";
    throw new ValidationError(
      `the plugin is not ready to publish: ${first ? `${first.id}: ${first.reason}${where}` : "no metadata"}`,
      { hint: "run `mixpeek plugin test` for the full report; nothing was uploaded" },
    );
  }
  return report.metadata;
}

async function _upload(
  client: MixpeekClient,
  archive: PackResult,
  meta: PluginMetadata,
  options: PublishOptions,
  setStage: (stage: Stage) => void,
): Promise<UploadTicket> {
  const attempts = options.uploadAttempts ?? 4;
  const body = { name: meta.name, version: meta.version, size_bytes: archive.size, sha256: archive.sha256 };
  let ticket = await client.requestUpload(body);
  setStage({ at: "uploading", upload_id: ticket.upload_id, expires_at: ticket.expires_at });
  for (let attempt = 1;; attempt++) {
    try {
      await putFile(ticket, archive.path, archive.size, {
        signal: options.signal,
        onProgress: options.events?.progress,
      });
      options.events?.uploadDone?.();
      return ticket;
    } catch (error) {
      options.events?.uploadDone?.(); // ends the progress line before a warning or the error
      if (!(error instanceof UploadError) || !error.retryable || attempt >= attempts) throw error;
      if (error.freshUrl) {
        options.events?.retry?.(`${error.message}; requesting a fresh upload URL`);
        ticket = await client.requestUpload(body);
        setStage({ at: "uploading", upload_id: ticket.upload_id, expires_at: ticket.expires_at });
      } else {
        const delay = backoffDelay(attempt - 1, DEFAULT_RETRY);
        options.events?.retry?.(`${error.message}; retrying the upload in ${(delay / 1000).toFixed(1)}s`);
        await sleep(delay, options.signal);
      }
    }
  }
}

async function _settle(
  client: MixpeekClient,
  pluginId: string,
  options: PublishOptions,
): Promise<StatusResponse> {
  const status = await waitForSettled(client, pluginId, {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onChange: options.events?.status,
  });
  if (status.status === "failed") {
    throw new ValidationError(
      `the registry rejected plugin ${pluginId}: ${status.error ?? "no reason given"}`,
      {
        hint: "fix the plugin, bump its version, and publish again",
      },
    );
  }
  return status;
}

export async function publishPlugin(options: PublishOptions): Promise<PublishResult> {
  let stage: Stage = { at: "local" };
  const setStage = (s: Stage) => (stage = s);
  const temp = await Deno.makeTempDir({ prefix: "mixpeek-publish-" });
  try {
    options.events?.step?.("validate", "checking structure, schemas, pipeline and security");
    const meta = await _validate(options);
    options.events?.step?.("pack", "packing");
    const archive = await packPlugin(options.root, {
      output: `${temp}/${meta.name}-${meta.version}.tar.gz`,
      allow_secrets: options.allowSecrets,
      signal: options.signal,
    });
    const result: PublishResult = {
      dry_run: options.dryRun,
      name: meta.name,
      version: meta.version,
      realtime: meta.realtime,
      archive: {
        size: archive.size,
        sha256: archive.sha256,
        file_count: archive.file_count,
        files: archive.files,
      },
    };
    if (options.dryRun) return result;
    const client = options.client!;
    if (
      options.confirm &&
      !(await options.confirm({ ...meta, file_count: archive.file_count, size: archive.size }))
    ) {
      throw new FailedError("publish cancelled at the prompt: nothing was sent");
    }

    options.events?.step?.("upload", `uploading ${meta.name} ${meta.version}`);
    const ticket = await _upload(client, archive, meta, options, setStage);
    options.events?.step?.("confirm", "confirming the upload");
    setStage({ at: "confirming", upload_id: ticket.upload_id });
    let record = await client.confirmUpload(ticket.upload_id, archive.sha256);
    setStage({ at: "confirmed", plugin_id: record.plugin_id });
    result.plugin_id = record.plugin_id;
    result.status = record.status;

    if (meta.realtime || options.wait) {
      options.events?.step?.("validating", "waiting for the registry to validate the plugin");
      result.status = (await _settle(client, record.plugin_id, options)).status;
    }
    if (meta.realtime) {
      options.events?.step?.("deploy", "starting the realtime deployment");
      record = await client.deployPlugin(record.plugin_id);
      result.status = record.status;
      result.deployment = record.deployment;
      if (options.wait) {
        options.events?.step?.("wait", "waiting for the deployment");
        result.status = (await _settle(client, record.plugin_id, options)).status;
        result.deployment = (await client.getPlugin(record.plugin_id)).deployment;
      }
    }
    return result;
  } catch (error) {
    if (error instanceof InterruptedError || options.signal?.aborted) throw _interrupted(stage, error);
    throw error;
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
