/** `plugin list | get | delete | deploy | status`: thin layers over the API client. */
import type { PluginRecord, PluginSource, StatusResponse } from "../api/types.ts";
import { waitForSettled } from "../api/wait.ts";
import { UsageError, ValidationError } from "../errors.ts";
import type { Palette } from "../output.ts";
import { createClient, parseSeconds } from "./api_context.ts";
import type { Context } from "./context.ts";
import { askConfirm } from "./prompt.ts";

const LIST_COLUMNS = ["plugin_id", "name", "version", "source", "status"];

export async function runList(options: { source?: PluginSource }, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  const plugins = await client.listAllPlugins(options.source ?? "all");
  if (ctx.out.json) {
    ctx.out.result({ plugins }, () => "");
    return;
  }
  if (plugins.length === 0) {
    ctx.out.info(
      `no ${
        options.source && options.source !== "all" ? options.source + " " : ""
      }plugins in ${client.namespace}`,
    );
    return;
  }
  const rows = plugins.map((p) => ({
    plugin_id: p.plugin_id,
    name: p.name,
    version: p.version,
    source: p.source,
    status: p.status,
  }));
  ctx.out.table(rows, LIST_COLUMNS);
}

function _renderRecord(r: PluginRecord, c: Palette): string {
  const lines = [
    `${c.bold(r.name)} ${r.version}  (${r.plugin_id})`,
    `  status:     ${r.status}${r.error ? ` — ${r.error}` : ""}`,
    `  source:     ${r.source}`,
  ];
  if (r.realtime !== undefined) lines.push(`  realtime:   ${r.realtime ? "yes" : "no"}`);
  if (r.deployment) {
    lines.push(
      `  deployment: ${r.deployment.status}${r.deployment.endpoint ? ` at ${r.deployment.endpoint}` : ""}`,
    );
  }
  if (r.size_bytes !== undefined) lines.push(`  size:       ${r.size_bytes} bytes`);
  if (r.sha256) lines.push(`  sha256:     ${r.sha256}`);
  if (r.updated_at) lines.push(`  updated:    ${r.updated_at}`);
  return lines.join("\n");
}

export async function runGet(pluginId: string, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  ctx.out.result(await client.getPlugin(pluginId), _renderRecord);
}

export async function runDelete(pluginId: string, options: { yes?: boolean }, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  if (!options.yes) {
    if (!ctx.interactive) {
      throw new UsageError(`refusing to delete ${pluginId} without confirmation`, {
        hint: "pass --yes (prompts are off: --no-input was given or stdin is not a terminal)",
      });
    }
    const record = await client.getPlugin(pluginId);
    const sure = await askConfirm(
      `Delete ${record.name} ${record.version} (${pluginId}) from ${client.namespace}?`,
      false,
    );
    if (!sure) {
      ctx.out.result({ plugin_id: pluginId, deleted: false }, () => "not deleted");
      return;
    }
  }
  const result = await client.deletePlugin(pluginId);
  ctx.out.result({ plugin_id: pluginId, deleted: result.deleted !== false }, (r) => `deleted ${r.plugin_id}`);
}

export async function runDeploy(pluginId: string, ctx: Context): Promise<void> {
  const client = await createClient(ctx);
  const record = await client.deployPlugin(pluginId);
  ctx.out.result(record, (r) => `deployment of ${r.name} ${r.version} started: ${r.status}`);
}

export async function runStatus(
  pluginId: string,
  options: { wait?: boolean; timeout?: string },
  ctx: Context,
): Promise<void> {
  const client = await createClient(ctx);
  const render = (s: StatusResponse) => `${s.status}${s.error ? `: ${s.error}` : ""}`;
  if (!options.wait) {
    ctx.out.result(await client.getStatus(pluginId), render);
    return;
  }
  const status = await waitForSettled(client, pluginId, {
    timeoutMs: parseSeconds("--timeout", options.timeout, 600),
    onChange: (s) => ctx.out.info(`${pluginId}: ${s.status}`),
  });
  ctx.out.result(status, render);
  if (status.status === "failed") {
    throw new ValidationError(`plugin ${pluginId} failed: ${status.error ?? "no reason given"}`, {
      reported: true,
    });
  }
}
