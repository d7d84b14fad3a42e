/**
 * `plugin publish` (SPEC §2, §7, §8): validate (structure, manifest, pipeline) → security scan → archive →
 * `POST …/plugins/uploads` → PUT to `presigned_url` → `POST …/uploads/{id}/confirm` → deploy
 * (`?deployment_type=batch_only` unless the plugin has realtime.py) → with `wait`, poll the deployment until
 * it settles. `org` publishes to the organisation (`/v1/plugins/uploads`) instead; such a plugin is deployed
 * by enabling it in a namespace (`plugin enable`), so there is no deploy step.
 *
 * - The name must match Mixpeek's pattern and the version is normalised (`v1` → `1.0.0`) before anything is
 *   sent (lib/plugin/identity.ts).
 * - The archive format: `format` when given; otherwise the one the upload-URL answer's `s3_key` names. The
 *   archive is packed first (tar.gz, the format without a hint) so the request can declare its real size;
 *   when the answer names `.zip`, it is packed again as zip and a fresh upload URL is requested for that size
 *   (the first one is left to expire). The archive's top folder is the plugin's name (pack.ts).
 * - The PUT carries the format's Content-Type and a real Content-Length, and no Authorization; its ETag
 *   (quotes removed, as Mixpeek's CLI does) and the size go to confirm. Confirm answers 200 even when the
 *   server rejects the plugin: `success: false` is a ValidationError (exit 3) listing `validation_errors`.
 * - Local steps fail fast before any network call; `dryRun` stops after packing; a "no" at the confirm
 *   prompt is a CancelledError ("cancelled: nothing was changed"). An upload the URL refuses because it
 *   expired (HTTP 403), or a PUT that stalls (no byte moving for `stallTimeoutMs`), is retried with a fresh
 *   upload URL; a dropped connection, 5xx or 429 is retried with backoff; `uploadAttempts` (4) in all, a
 *   stall on every one being a TimeoutError (exit 6).
 * - A confirm whose answer was lost and whose retry gets 404/409 looks the plugin up (_confirm); the client
 *   does the same for deploy (409) and delete (404).
 * - What the server holds is always said: an interruption before the confirm published nothing (an
 *   unconfirmed upload simply expires); any failure after the confirm keeps its exit code and says the
 *   plugin *is* published, with how to see it (`plugin status ID`, `plugin get ID`).
 */
import type { MixpeekClient } from "./api/client.ts";
import { backoffDelay, DEFAULT_RETRY, sleep } from "./api/retry.ts";
import {
  ARCHIVE_CONTENT_TYPES,
  type ConfirmResponse,
  type DeployResponse,
  formatOfKey,
  isTerminalStatus,
  type PresignedUpload,
  sameStatus,
  type StatusResponse,
} from "./api/types.ts";
import type { RequestLogEntry } from "./api/request_log.ts";
import { putFile, UploadError } from "./api/upload.ts";
import { waitForDeployment } from "./api/wait.ts";
import {
  ApiError,
  CancelledError,
  FailedError,
  InterruptedError,
  MixpeekError,
  TimeoutError,
  ValidationError,
} from "./errors.ts";
import { archiveFolderName, type PackFormat, packPlugin, type PackResult } from "./pack/pack.ts";
import { type CheckResult, type PluginMetadata, PUBLISH_CHECKS, testPlugin } from "./plugin/check.ts";
import { featureUriOf, normalizeVersion, pluginIdOf, pluginNameProblem } from "./plugin/identity.ts";

export type PublishStep = "validate" | "pack" | "upload" | "confirm" | "deploy" | "wait";

export interface PublishEvents {
  /** A step starts (for status lines on stderr). */
  step?: (step: PublishStep, message: string) => void;
  check?: (check: CheckResult) => void;
  progress?: (sent: number, total: number) => void;
  /** The upload attempt ended (`ok`: the storage took it), so its progress display can end. */
  uploadDone?: (ok: boolean) => void;
  retry?: (message: string) => void;
  /** A note the user should see (e.g. the archive was packed again in the server's format). */
  note?: (message: string) => void;
  status?: (status: StatusResponse) => void;
  /** Packing progress: bytes of the plugin's files read (and hashed into the archive) so far. */
  packProgress?: (done: number, total: number) => void;
  /** The presigned PUT, each attempt (for --verbose; the API calls are the client's onRequest). */
  request?: (entry: RequestLogEntry) => void;
}

export interface PublishOptions {
  root: string;
  python?: string;
  dryRun: boolean;
  wait: boolean;
  /** Limit for waiting on the deployment, and for the plugin's own code in the checks. */
  timeoutMs: number;
  /** Required unless dryRun. */
  client?: MixpeekClient;
  allowSecrets?: string[];
  /** `--format`: pack this format whatever the server names. */
  format?: PackFormat;
  /** `--no-deploy` makes this false. */
  deploy?: boolean;
  /** `--org`: publish to the organisation (`/v1/plugins/uploads`). */
  org?: boolean;
  signal?: AbortSignal;
  events?: PublishEvents;
  /** Asked after packing, before anything is sent (the CLI's "Publish …?" prompt); false stops. */
  confirm?: (
    summary: { name: string; version: string; file_count: number; size: number },
  ) => Promise<boolean>;
  /** Attempts at the upload, each after a failed one (fresh URL when the URL expired or the PUT stalled). */
  uploadAttempts?: number;
  /** No byte moving for this long ends an upload attempt (MIXPEEK_UPLOAD_STALL_TIMEOUT; default 60 s). */
  stallTimeoutMs?: number;
}

export interface PublishResult {
  dry_run: boolean;
  scope: "namespace" | "organization";
  name: string;
  version: string;
  realtime: boolean;
  archive: {
    format: PackFormat;
    folder: string;
    size: number;
    sha256: string;
    file_count: number;
    files: string[];
  };
  upload_id?: string;
  plugin_id?: string;
  feature_uri?: string;
  validation_status?: ConfirmResponse["validation_status"];
  /** The confirm answer's deployment_status, then the deployment's status as last seen. */
  status?: string;
  /** The deploy answer, as the server gave it. */
  deployment?: DeployResponse;
  /** The status document, when publish waited for the deployment. */
  deployment_status?: StatusResponse;
}

/** Where a publish stands, for the message an interruption or failure gives. */
type Stage =
  | { at: "local" }
  | { at: "uploading"; upload_id: string; expires_at: string }
  | { at: "confirming"; upload_id: string; plugin_id: string; org: boolean }
  | { at: "confirmed"; plugin_id: string; org: boolean; step: "deploy" | "wait" | "done" };

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
        {
          cause,
          hint: `check with \`${_getCommand(stage.plugin_id, stage.org)}\`, and delete it or publish again`,
        },
      );
    case "confirmed":
      return new InterruptedError(
        `publish interrupted after the upload was confirmed: plugin ${stage.plugin_id} exists on the server`,
        {
          cause,
          hint: stage.org
            ? `check it with \`mixpeek plugin get ${stage.plugin_id} --org\`, or remove it with ` +
              `\`mixpeek plugin delete ${stage.plugin_id} --org --yes\``
            : `check it with \`mixpeek plugin status ${stage.plugin_id} --wait\`, or remove it with ` +
              `\`mixpeek plugin delete ${stage.plugin_id} --yes\``,
        },
      );
  }
}

function _getCommand(pluginId: string, org: boolean): string {
  return `mixpeek plugin get ${pluginId}${org ? " --org" : ""}`;
}

/** How to see a published plugin (the hint of every failure after the confirm). */
function _seeIt(pluginId: string, org: boolean): string {
  return org
    ? `see it with \`mixpeek plugin get ${pluginId} --org\``
    : `see it with \`mixpeek plugin status ${pluginId}\` or \`mixpeek plugin get ${pluginId}\`; deploy it with ` +
      `\`mixpeek plugin deploy ${pluginId}\``;
}

/**
 * A failure once the server holds the plugin: it says so, whatever went wrong next, and how to see it.
 * The error keeps its class and exit code (5 for the API, 6 for a timeout, 1 for a failed deployment).
 */
function _afterConfirm(stage: Extract<Stage, { at: "confirmed" }>, error: unknown): MixpeekError {
  const what = stage.step === "deploy"
    ? "the deploy request failed"
    : stage.step === "wait"
    ? "waiting for its deployment failed"
    : "then something failed";
  const original = error instanceof Error ? error.message : String(error);
  const message = `plugin ${stage.plugin_id} is published, but ${what}: ${original}`;
  const hint = _seeIt(stage.plugin_id, stage.org);
  return error instanceof MixpeekError
    ? error.reframe(message, hint)
    : new FailedError(message, { cause: error, hint });
}

/** A failure while confirming (not a rejection): the server may hold the plugin or not. */
function _whileConfirming(stage: Extract<Stage, { at: "confirming" }>, error: MixpeekError): MixpeekError {
  return error.reframe(
    `confirming upload ${stage.upload_id} failed, so plugin ${stage.plugin_id} may or may not exist now: ` +
      error.message,
    `check with \`${_getCommand(stage.plugin_id, stage.org)}\`; publish again if it is not there`,
  );
}

export interface PublishIdentity {
  name: string;
  /** X.Y.Z */
  version: string;
  realtime: boolean;
  description?: string;
}

/** The manifest's identity on Mixpeek's wire: the name checked, the version normalised (exit 3 otherwise). */
export function publishIdentity(meta: PluginMetadata): PublishIdentity {
  const problem = pluginNameProblem(meta.name);
  if (problem) {
    throw new ValidationError(`manifest.py: ${problem}`, {
      hint: "rename the plugin in manifest.py's metadata; nothing was uploaded",
    });
  }
  const version = normalizeVersion(String(meta.version));
  if (version === undefined) {
    throw new ValidationError(
      `manifest.py: version ${JSON.stringify(meta.version)} is not a version Mixpeek accepts ` +
        "(X.Y.Z, or v1, 1.0, v2.1, which become 1.0.0, 1.0.0 and 2.1.0)",
      { hint: "set metadata's version to e.g. 1.0.0; nothing was uploaded" },
    );
  }
  const description = (meta as { description?: unknown }).description;
  return {
    name: meta.name,
    version,
    realtime: meta.realtime === true,
    description: typeof description === "string" && description !== ""
      ? description.slice(0, 500)
      : undefined,
  };
}

/** Structure, manifest, pipeline and the scan; returns the plugin's metadata or throws ValidationError. */
async function _validate(options: PublishOptions): Promise<PluginMetadata> {
  const report = await testPlugin(options.root, {
    python: options.python,
    timeoutMs: options.timeoutMs,
    // Everything but the plugin's own tests and sample data (those are `plugin test`'s), and the scan before
    // any plugin code is imported: code the scan rejects never runs on the author's machine from publish.
    checks: [...PUBLISH_CHECKS],
    scanFirst: true,
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

/** What publish needs of an upload-URL answer (namespace or organisation: both have these fields). */
type _Ticket = Pick<PresignedUpload, "upload_id" | "presigned_url" | "s3_key" | "expires_at">;

function _requestUpload(
  client: MixpeekClient,
  id: PublishIdentity,
  archive: PackResult,
  org: boolean,
): Promise<_Ticket> {
  const body = {
    name: id.name,
    version: id.version,
    ...(id.description ? { description: id.description } : {}),
    file_size_bytes: archive.size,
  };
  return org ? client.createOrgUpload(body) : client.createUpload(body) as Promise<PresignedUpload>;
}

async function _upload(
  client: MixpeekClient,
  ticket: _Ticket,
  archive: PackResult,
  id: PublishIdentity,
  options: PublishOptions,
  setStage: (stage: Stage) => void,
): Promise<{ ticket: _Ticket; etag?: string }> {
  const attempts = options.uploadAttempts ?? 4;
  setStage({ at: "uploading", upload_id: ticket.upload_id, expires_at: ticket.expires_at });
  for (let attempt = 1;; attempt++) {
    try {
      const put = await putFile(
        { url: ticket.presigned_url, contentType: ARCHIVE_CONTENT_TYPES[archive.format] },
        archive.path,
        archive.size,
        {
          signal: options.signal,
          onProgress: options.events?.progress,
          idleTimeoutMs: options.stallTimeoutMs,
          onRequest: options.events?.request && ((e) => options.events!.request!({ ...e, attempt })),
        },
      );
      options.events?.uploadDone?.(true);
      return { ticket, etag: put.etag };
    } catch (error) {
      options.events?.uploadDone?.(false); // ends the progress line before a warning or the error
      if (!(error instanceof UploadError) || !error.retryable) throw error;
      if (attempt >= attempts) {
        if (!error.stalled) throw error;
        throw new TimeoutError(`${error.message}, ${attempts} times (each with a fresh upload URL)`, {
          cause: error,
          hint: error.hint,
        });
      }
      if (error.freshUrl) {
        // A stalled PUT may have left half an object behind the old URL: a fresh one starts clean.
        options.events?.retry?.(
          `${error.message}; requesting a fresh upload URL (attempt ${attempt + 1} of ${attempts})`,
        );
        ticket = await _requestUpload(client, id, archive, options.org === true);
        setStage({ at: "uploading", upload_id: ticket.upload_id, expires_at: ticket.expires_at });
      } else {
        const delay = backoffDelay(attempt - 1, DEFAULT_RETRY);
        options.events?.retry?.(`${error.message}; retrying the upload in ${(delay / 1000).toFixed(1)}s`);
        await sleep(delay, options.signal);
      }
    }
  }
}

function _rejected(answer: ConfirmResponse, id: PublishIdentity): ValidationError {
  const errors = answer.validation_errors ?? [];
  const listed = errors.length > 0 ? errors.map((e) => `\n  ${e}`).join("") : ` ${answer.message ?? ""}`;
  return new ValidationError(
    `the server rejected ${id.name} ${id.version} (validation_status ${answer.validation_status}):${listed}`,
    { hint: "fix what is listed (`mixpeek plugin test` runs the same checks), then publish again" },
  );
}

async function _pack(
  options: PublishOptions,
  folder: string,
  format: PackFormat,
  dir: string,
  signal?: AbortSignal,
  onProgress = options.events?.packProgress,
): Promise<PackResult> {
  return await packPlugin(options.root, {
    output: `${dir}/${folder}-${crypto.randomUUID().slice(0, 8)}.${format}`,
    format,
    folder,
    allow_secrets: options.allowSecrets,
    signal: signal ?? options.signal,
    onProgress,
  });
}

/**
 * The checks, and the pack beside them. Packing runs no plugin code, so it need not wait: it starts with the
 * top folder the plugin folder's name implies (the package name, as it nearly always is) while the checks
 * run, and is dropped if they fail. Its progress is held back until the checks are done, so their lines come
 * first. A manifest naming another package is packed again under that name.
 */
async function _validateAndPack(
  options: PublishOptions,
  format: PackFormat,
  dir: string,
): Promise<{ id: PublishIdentity; archive: PackResult }> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let checked = false;
  let last: [number, number] | undefined;
  const onProgress = (done: number, total: number) => {
    last = [done, total];
    if (checked) options.events?.packProgress?.(done, total);
  };
  let guess: string | undefined;
  try {
    guess = archiveFolderName(await Deno.realPath(options.root));
  } catch { /* not a package name: the manifest's name decides, after the checks */ }
  const early = guess === undefined ? undefined : _pack(options, guess, format, dir, signal, onProgress);
  early?.catch(() => {}); // observed below; a failure before the checks end must not be unhandled
  let id: PublishIdentity;
  try {
    id = publishIdentity(await _validate(options));
  } catch (error) {
    stop.abort();
    await early?.catch(() => {});
    throw error;
  }
  checked = true;
  options.events?.step?.("pack", "packing");
  if (last) options.events?.packProgress?.(...last);
  if (early && guess === id.name) return { id, archive: await early };
  stop.abort();
  const stale = await early?.catch(() => undefined);
  if (stale) await Deno.remove(stale.path).catch(() => {});
  return { id, archive: await _pack(options, id.name, format, dir) };
}

/**
 * The confirm, and what to believe when its answer was lost: a retry that then gets 404 (the upload is
 * used up) or 409 (the plugin exists) may be the first attempt's doing, so the plugin is looked up. Found
 * and validated, it is the confirm's success; found and rejected, the rejection.
 */
async function _confirm(
  client: MixpeekClient,
  uploadId: string,
  body: { etag: string | null; file_size_bytes: number },
  id: PublishIdentity,
  org: boolean,
): Promise<ConfirmResponse> {
  try {
    return org ? await client.confirmOrgUpload(uploadId, body) : await client.confirmUpload(uploadId, body);
  } catch (error) {
    if (!(error instanceof ApiError) || !error.lostAnswer || (error.status !== 404 && error.status !== 409)) {
      throw error;
    }
    const pluginId = pluginIdOf(id.name, id.version);
    let record;
    try {
      record = org ? (await client.getOrgPlugin(pluginId)).plugin : (await client.getPlugin(pluginId)).plugin;
    } catch {
      throw error;
    }
    const passed = record.validation_status === "passed";
    return {
      success: passed,
      plugin_id: pluginId,
      feature_uri: record.deployment_info?.feature_uri ?? featureUriOf(id.name, id.version),
      validation_status: record.validation_status,
      validation_errors: record.validation_errors ?? [],
      message: passed
        ? "the confirm's answer was lost; the retry found the plugin created and validated"
        : "the confirm's answer was lost; the retry found the plugin rejected",
    } as ConfirmResponse;
  }
}

export async function publishPlugin(options: PublishOptions): Promise<PublishResult> {
  let stage: Stage = { at: "local" };
  const setStage = (s: Stage) => (stage = s);
  let deploymentFailed: FailedError | undefined;
  const org = options.org === true;
  const temp = await Deno.makeTempDir({ prefix: "mixpeek-publish-" });
  try {
    options.events?.step?.("validate", "checking structure, manifest, pipeline and security");
    const packed = await _validateAndPack(options, options.format ?? "tar.gz", temp);
    const id = packed.id;
    let archive = packed.archive;
    const result: PublishResult = {
      dry_run: options.dryRun,
      scope: org ? "organization" : "namespace",
      name: id.name,
      version: id.version,
      realtime: id.realtime,
      archive: {
        format: archive.format,
        folder: archive.folder,
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
      !(await options.confirm({ ...id, file_count: archive.file_count, size: archive.size }))
    ) {
      throw new CancelledError();
    }

    options.events?.step?.("upload", `requesting an upload URL for ${id.name} ${id.version}`);
    let ticket = await _requestUpload(client, id, archive, org);
    const wanted = formatOfKey(ticket.s3_key);
    if (options.format === undefined && wanted !== undefined && wanted !== archive.format) {
      options.events?.note?.(
        `the server asks for a .${wanted} archive (s3_key ${ticket.s3_key}): packing it as ${wanted}`,
      );
      await Deno.remove(archive.path).catch(() => {});
      archive = await _pack(options, id.name, wanted, temp);
      ticket = await _requestUpload(client, id, archive, org);
      Object.assign(result.archive, {
        format: archive.format,
        size: archive.size,
        sha256: archive.sha256,
      });
    }
    options.events?.step?.("upload", `uploading ${id.name} ${id.version} (${archive.format})`);
    const uploaded = await _upload(client, ticket, archive, id, options, setStage);
    result.upload_id = uploaded.ticket.upload_id;

    options.events?.step?.("confirm", "confirming the upload (the server checks and scans it)");
    setStage({
      at: "confirming",
      upload_id: uploaded.ticket.upload_id,
      plugin_id: pluginIdOf(id.name, id.version),
      org,
    });
    const confirmBody = {
      etag: uploaded.etag === undefined ? null : uploaded.etag.replace(/^W\//, "").replace(/^"|"$/g, ""),
      file_size_bytes: archive.size,
    };
    const answer = await _confirm(client, uploaded.ticket.upload_id, confirmBody, id, org);
    result.validation_status = answer.validation_status;
    if (answer.success !== true) throw _rejected(answer, id);
    const pluginId = answer.plugin_id ?? pluginIdOf(id.name, id.version);
    const confirmed = { at: "confirmed", plugin_id: pluginId, org, step: "done" } as Extract<
      Stage,
      { at: "confirmed" }
    >;
    setStage(confirmed);
    result.plugin_id = pluginId;
    result.feature_uri = answer.feature_uri ?? featureUriOf(id.name, id.version);
    result.status = answer.deployment_status;

    if (org || options.deploy === false) return result;
    confirmed.step = "deploy";
    options.events?.step?.(
      "deploy",
      id.realtime ? "deploying (realtime: the plugin has realtime.py)" : "deploying for batch processing",
    );
    const deployment = await client.deployPlugin(pluginId, id.realtime ? undefined : "batch_only");
    result.deployment = deployment;
    const deployStatus = typeof deployment.status === "string" ? deployment.status : undefined;
    result.status = deployStatus ?? result.status;
    if (options.wait && !isTerminalStatus(deployStatus)) {
      confirmed.step = "wait";
      options.events?.step?.("wait", "waiting for the deployment");
      const settled = await waitForDeployment(client, pluginId, {
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        onChange: options.events?.status,
      });
      result.deployment_status = settled;
      result.status = settled.status;
    }
    confirmed.step = "done";
    if (sameStatus(result.status, "failed")) {
      const why = result.deployment_status?.error ?? (deployment.message as string | undefined) ??
        "no reason given";
      deploymentFailed = new FailedError(
        `plugin ${pluginId} is published, but its deployment failed: ${why}`,
        {
          hint: _seeIt(pluginId, false),
        },
      );
      throw deploymentFailed;
    }
    return result;
  } catch (error) {
    if (error instanceof InterruptedError || options.signal?.aborted) throw _interrupted(stage, error);
    if (error === deploymentFailed) throw error;
    // TS narrows `stage` by its last assignment; it is set through setStage as the steps go.
    const now = stage as Stage;
    if (now.at === "confirmed") throw _afterConfirm(now, error);
    if (now.at === "confirming" && error instanceof MixpeekError && !(error instanceof ValidationError)) {
      throw _whileConfirming(now, error);
    }
    throw error;
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
