/**
 * `plugin list | get | delete | deploy | undeploy | status | available | enable | disable`: thin layers over
 * the API client, one call each (SPEC §2). `--json` prints the server's answer as the document describes it
 * (`get` unwraps `plugin`); the human rendering picks the fields a person needs.
 */
import type { MixpeekClient } from "../api/client.ts";
import {
  type Extractor,
  isTerminalStatus,
  type ListSource,
  type OrgPluginDocument,
  type PluginDocument,
  type PluginListItem,
  sameStatus,
  type StatusResponse,
} from "../api/types.ts";
import { waitForDeployment } from "../api/wait.ts";
import { CancelledError, FailedError, InterruptedError, UsageError } from "../errors.ts";
import type { Palette, Row } from "../output.ts";
import { createClient, parseJsonObject, parseSeconds } from "./api_context.ts";
import type { Context } from "./context.ts";
import { interruptSignal } from "./interrupt.ts";
import { askConfirm } from "./prompt.ts";

const PLUGIN_COLUMNS = ["plugin_id", "name", "version", "validation_status", "deployed"];
const EXTRACTOR_COLUMNS = ["feature_extractor_id", "feature_extractor_name", "version", "source", "deployed"];

function _yesNo(value: boolean | null | undefined): string {
  return value === true ? "yes" : value === false ? "no" : "";
}

function _pluginRows(plugins: PluginListItem[]): Row[] {
  return plugins.map((p) => ({
    plugin_id: p.plugin_id,
    name: p.name,
    version: p.version,
    validation_status: p.validation_status,
    deployed: _yesNo(p.deployed),
  }));
}

function _extractorRows(extractors: Extractor[]): Row[] {
  return extractors.map((e) => ({
    feature_extractor_id: e.feature_extractor_id,
    feature_extractor_name: e.feature_extractor_name,
    version: e.version,
    source: e.source,
    deployed: _yesNo(e.deployed),
  }));
}

export interface ListFlags {
  source?: ListSource;
  org?: boolean;
  includeDisabled?: boolean;
}

/**
 * `custom` lists `GET …/plugins`; `all` and `builtin` list `GET …/extractors?source=`; `community` asks for
 * `all` and keeps the community entries (SPEC §2); `--org` lists the organisation's plugins (`GET /v1/plugins`).
 */
export async function runList(flags: ListFlags, ctx: Context): Promise<void> {
  const source = flags.source ?? "all";
  if (flags.org && flags.source !== undefined && flags.source !== "custom") {
    throw new UsageError(
      `--org lists the organisation's own plugins; it does not go with --source ${source}`,
    );
  }
  const client = await createClient(ctx, undefined, flags.org ? "optional" : "required");
  const where = flags.org ? "the organization" : `namespace ${client.namespace}`;
  const empty = (what: string) => ctx.out.info(`no ${what} in ${where}`);
  if (flags.org || source === "custom") {
    const answer = flags.org ? await client.listOrgPlugins() : await client.listPlugins();
    if (ctx.out.json) return ctx.out.result(answer, () => "");
    if (answer.plugins.length === 0) return empty(flags.org ? "organization plugins" : "custom plugins");
    return ctx.out.table(_pluginRows(answer.plugins), PLUGIN_COLUMNS);
  }
  const answer = await client.listExtractors({
    source: source === "community" ? "all" : source,
    includeDisabled: flags.includeDisabled,
  });
  const extractors = source === "community"
    ? answer.extractors.filter((e) => e.source === "community")
    : answer.extractors;
  if (ctx.out.json) {
    const shown = source === "community"
      ? { ...answer, extractors, total: extractors.length, builtin_count: 0, custom_count: 0 }
      : answer;
    return ctx.out.result(shown, () => "");
  }
  if (extractors.length === 0) return empty(source === "all" ? "extractors" : `${source} extractors`);
  ctx.out.table(_extractorRows(extractors), EXTRACTOR_COLUMNS);
}

function _renderDocument(d: PluginDocument | OrgPluginDocument, c: Palette): string {
  const lines = [
    `${c.bold(d.name)} ${d.version}  (${d.plugin_id})`,
    ...(d.description ? [`  description: ${d.description}`] : []),
    `  validation:  ${d.validation_status}${d.security_scan_passed ? " (security scan passed)" : ""}`,
  ];
  for (const error of d.validation_errors ?? []) lines.push(`    ${error}`);
  lines.push(`  deployed:    ${d.deployed ? `yes${d.deployed_at ? ` (${d.deployed_at})` : ""}` : "no"}`);
  if (d.deployment_info?.feature_uri) lines.push(`  feature uri: ${d.deployment_info.feature_uri}`);
  if (d.deployment_info?.ray_deployment_name) {
    lines.push(`  deployment:  ${d.deployment_info.ray_deployment_name}`);
  }
  if ("namespace_id" in d && d.namespace_id) lines.push(`  namespace:   ${d.namespace_id}`);
  if (d.organization_id) lines.push(`  organization: ${d.organization_id}`);
  lines.push(`  archive:     ${d.s3_archive_url}`, `  code hash:   ${d.code_hash}`);
  if (d.created_at) lines.push(`  created:     ${d.created_at}`);
  if (d.updated_at) lines.push(`  updated:     ${d.updated_at}`);
  return lines.join("\n");
}

function _renderExtractor(e: Extractor, c: Palette): string {
  const lines = [
    `${c.bold(e.feature_extractor_name)} ${e.version}  (${e.feature_extractor_id}, ${e.source})`,
    `  description: ${e.description}`,
  ];
  if (e.feature_uri) lines.push(`  feature uri: ${e.feature_uri}`);
  if (e.supported_input_types?.length) lines.push(`  inputs:      ${e.supported_input_types.join(", ")}`);
  if (e.deployed !== null && e.deployed !== undefined) lines.push(`  deployed:    ${_yesNo(e.deployed)}`);
  if (e.validation_status) lines.push(`  validation:  ${e.validation_status}`);
  return lines.join("\n");
}

export interface GetFlags {
  org?: boolean;
  extractor?: boolean;
  downloadUrl?: boolean;
}

export async function runGet(pluginId: string, flags: GetFlags, ctx: Context): Promise<void> {
  if (flags.org && flags.extractor) throw new UsageError("--org and --extractor do not go together");
  const client = await createClient(ctx, undefined, flags.org ? "optional" : "required");
  if (flags.extractor) return ctx.out.result(await client.getExtractor(pluginId), _renderExtractor);
  if (flags.org) return ctx.out.result((await client.getOrgPlugin(pluginId)).plugin, _renderDocument);
  const answer = await client.getPlugin(pluginId, { presignedUrl: flags.downloadUrl });
  const shown = flags.downloadUrl
    ? { ...answer.plugin, presigned_download_url: answer.presigned_download_url ?? null }
    : answer.plugin;
  ctx.out.result(shown, (d, c) =>
    _renderDocument(d, c) +
    (flags.downloadUrl
      ? `\n  download:    ${answer.presigned_download_url ?? "(the server gave none)"}`
      : ""));
}

/**
 * The delete's question. Without a terminal, or with --no-input, nothing is deleted without --yes (exit 2);
 * a "no" is the rule every prompt follows: "cancelled: nothing was changed", exit 1 (CancelledError).
 */
async function _ask(ctx: Context, client: MixpeekClient, pluginId: string, org: boolean): Promise<boolean> {
  if (!ctx.interactive) {
    throw new UsageError(`refusing to delete ${pluginId} without confirmation`, {
      hint: ctx.globals.input === false
        ? "pass --yes (--no-input turns the question off)"
        : "pass --yes (stdin is not a terminal, so nothing can be asked)",
    });
  }
  const record = org
    ? (await client.getOrgPlugin(pluginId)).plugin
    : (await client.getPlugin(pluginId)).plugin;
  return await askConfirm(
    `Delete ${record.name} ${record.version} (${pluginId}) from ${
      org ? "the organization" : client.namespace
    }?`,
    false,
  );
}

export async function runDelete(pluginId: string, flags: { yes?: boolean; org?: boolean }, ctx: Context) {
  const org = flags.org === true;
  const client = await createClient(ctx, undefined, org ? "optional" : "required");
  if (!flags.yes && !(await _ask(ctx, client, pluginId, org))) throw new CancelledError();
  const answer = org ? await client.deleteOrgPlugin(pluginId) : await client.deletePlugin(pluginId);
  ctx.out.result(answer, (a) => a.message || `deleted ${a.plugin_id}`);
}

function _renderStatus(s: StatusResponse): string {
  const lines = [`${s.status}${s.error ? `: ${s.error}` : ""}`];
  if (s.message) lines.push(`  ${s.message}`);
  if (s.route_prefix) lines.push(`  route: ${s.route_prefix}`);
  return lines.join("\n");
}

async function _wait(
  client: MixpeekClient,
  pluginId: string,
  timeout: string | undefined,
  ctx: Context,
  signal: AbortSignal,
) {
  const timeoutMs = parseSeconds("--timeout", timeout, 600);
  const spinner = ctx.out.spinner(`waiting for the deployment of ${pluginId}`);
  let status: StatusResponse;
  try {
    status = await waitForDeployment(client, pluginId, {
      timeoutMs,
      signal,
      onChange: (s) => {
        spinner.status = String(s.status);
        ctx.out.info(`${pluginId}: ${s.status}`);
      },
    });
  } catch (error) {
    if (!signal.aborted) throw error;
    throw new InterruptedError("interrupted: the deployment continues on the server", {
      cause: error,
      hint: `follow it with \`mixpeek plugin status ${pluginId} --wait\``,
    });
  } finally {
    spinner.finish();
  }
  ctx.out.result(status, _renderStatus);
  if (sameStatus(status.status, "failed")) {
    throw new FailedError(`the deployment of ${pluginId} failed: ${status.error ?? "no reason given"}`, {
      reported: true,
      hint: `deploy it again with \`mixpeek plugin deploy ${pluginId}\``,
    });
  }
}

export interface DeployFlags {
  batchOnly?: boolean;
  wait?: boolean;
  timeout?: string;
}

/** `plugin deploy ID [--batch-only] [--wait]`: the deploy answer; with --wait, the settled status. */
export async function runDeploy(pluginId: string, flags: DeployFlags, ctx: Context): Promise<void> {
  const interrupt = interruptSignal();
  const client = await createClient(ctx, interrupt.signal);
  const answer = await client.deployPlugin(pluginId, flags.batchOnly ? "batch_only" : undefined);
  const status = typeof answer.status === "string" ? answer.status : "unknown";
  if (!flags.wait || isTerminalStatus(status)) {
    ctx.out.result(answer, (a) => {
      const type = typeof a.deployment_type === "string" ? ` (${a.deployment_type})` : "";
      const message = typeof a.message === "string" ? `\n  ${a.message}` : "";
      const follow = isTerminalStatus(status)
        ? ""
        : `\nfollow it with: mixpeek plugin status ${pluginId} --wait`;
      return `${pluginId}: ${status}${type}${message}${follow}`;
    });
    return;
  }
  ctx.out.info(`${pluginId}: ${status}`);
  await _wait(client, pluginId, flags.timeout, ctx, interrupt.signal);
}

export async function runUndeploy(pluginId: string, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  const answer = await client.undeployPlugin(pluginId);
  ctx.out.result(answer, (a) => (typeof a.message === "string" ? a.message : `undeployed ${pluginId}`));
}

export async function runStatus(
  pluginId: string,
  flags: { wait?: boolean; timeout?: string },
  ctx: Context,
): Promise<void> {
  const interrupt = interruptSignal();
  const client = await createClient(ctx, interrupt.signal);
  if (!flags.wait) return ctx.out.result(await client.getStatus(pluginId), _renderStatus);
  await _wait(client, pluginId, flags.timeout, ctx, interrupt.signal);
}

export async function runAvailable(ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  const answer = await client.listAvailable();
  if (ctx.out.json) return ctx.out.result(answer, () => "");
  if (answer.plugins.length === 0) {
    return ctx.out.info(
      `no organization plugins to enable (publish one with \`mixpeek plugin publish --org\`)`,
    );
  }
  ctx.out.table(
    answer.plugins.map((p) => ({
      plugin_id: p.plugin_id,
      name: p.name,
      version: p.version,
      validation_status: p.validation_status,
      enabled: _yesNo(p.enabled_in_namespace),
    })),
    ["plugin_id", "name", "version", "validation_status", "enabled"],
  );
}

export async function runEnable(
  pluginId: string,
  flags: { params?: string; deploy?: boolean },
  ctx: Context,
): Promise<void> {
  const params = parseJsonObject("--params", flags.params);
  const client = await createClient(ctx);
  const answer = await client.enablePlugin(pluginId, {
    ...(params === undefined ? {} : { params }),
    deploy: flags.deploy !== false,
  });
  ctx.out.result(
    answer,
    (a) =>
      `${a.message}${
        a.deployment_status ? ` (deployment: ${a.deployment_status})` : ""
      }\n  feature uri: ${a.feature_uri}`,
  );
}

export async function runDisable(pluginId: string, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  ctx.out.result(await client.disablePlugin(pluginId), (a) => a.message);
}
