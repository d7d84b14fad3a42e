/**
 * `plugin invoke ID --inputs JSON|@file [--parameters JSON|@file]`: one call to a deployed plugin's realtime
 * service through `POST …/{id}/realtime/test` (SPEC §2), the way a retriever would call it.
 *
 * Prints the service's answer (`raw_response`) as JSON on stdout; with `--json`, the whole
 * PluginRealtimeTestResponse. Exit codes:
 *   0  the service answered (`status: success`);
 *   1  the service failed (`status: error`: it raised, it is busy, its worker is gone), or the plugin is not
 *      deployed for realtime inference (the server's 404; the message names its status);
 *   6  the call timed out (`status: error` saying so, or no answer within the request's limit);
 *   2  bad --inputs / --parameters (not JSON, not an object, an unreadable @file); 4 auth; 5 API/network
 *      (an unknown plugin id is the API's 404, as for `plugin get`).
 */
import { resolve } from "node:path";
import type { MixpeekClient } from "../api/client.ts";
import type { RealtimeTestResponse } from "../api/types.ts";
import { ApiError, FailedError, TimeoutError, UsageError } from "../errors.ts";
import { createClient } from "./api_context.ts";
import type { Context } from "./context.ts";

export interface InvokeFlags {
  inputs?: string;
  parameters?: string;
}

const EXAMPLE: Record<string, string> = {
  "--inputs": `--inputs '{"text": "hello"}'`,
  "--parameters": `--parameters '{"threshold": 0.5}'`,
};

/** `JSON` or `@file` (`@-` reads stdin): a JSON object, or a usage error naming the flag and the file. */
export async function readJsonObjectFlag(
  flag: string,
  raw: string,
  cwd = Deno.cwd(),
  stdin: () => Promise<string> = () => new Response(Deno.stdin.readable).text(),
): Promise<Record<string, unknown>> {
  let text = raw;
  let source = flag;
  if (raw.startsWith("@")) {
    const name = raw.slice(1);
    if (name === "") {
      throw new UsageError(`${flag} @ names no file`, { hint: `pass ${flag} @inputs.json, or @- for stdin` });
    }
    source = name === "-" ? `${flag} @- (stdin)` : `${flag} ${raw}`;
    try {
      text = name === "-" ? await stdin() : await Deno.readTextFile(resolve(cwd, name));
    } catch (error) {
      throw new UsageError(`${flag}: cannot read ${name}: ${(error as Error).message}`, {
        hint: `pass a readable JSON file (${flag} @path/to/file.json) or the JSON itself`,
      });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${(error as Error).message}`, {
      hint: `pass a JSON object, e.g. ${EXAMPLE[flag] ?? `${flag} '{}'`}`,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw new UsageError(`${source} must be a JSON object, not ${kind}`, {
      hint: `the service receives it as a dict, e.g. ${EXAMPLE[flag] ?? `${flag} '{}'`}`,
    });
  }
  return value as Record<string, unknown>;
}

/** JSON with arrays of numbers, strings and booleans on one line: a 128-d embedding stays readable. */
export function compactJson(value: unknown, indent = ""): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      return JSON.stringify(value).replaceAll(",", ", ");
    }
    const inner = indent + "  ";
    return `[\n${value.map((v) => inner + compactJson(v, inner)).join(",\n")}\n${indent}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    const inner = indent + "  ";
    const lines = entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`);
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function _isTimeout(answer: RealtimeTestResponse): boolean {
  return /\btimed? ?out\b|\btimeout\b/i.test(`${answer.error ?? ""}`);
}

/** After a 404 from realtime/test: is the plugin there but not deployed for realtime? Its status if so. */
async function _statusOf(client: MixpeekClient, pluginId: string): Promise<string | undefined> {
  try {
    const status = await client.getStatus(pluginId);
    return status.realtime_enabled ? undefined : status.status;
  } catch {
    return undefined;
  }
}

export async function runInvoke(pluginId: string, flags: InvokeFlags, ctx: Context): Promise<void> {
  if (flags.inputs === undefined) {
    throw new UsageError("--inputs is required", {
      hint: `pass the service's inputs, e.g. ${EXAMPLE["--inputs"]}`,
    });
  }
  const inputs = await readJsonObjectFlag("--inputs", flags.inputs);
  const parameters = flags.parameters === undefined
    ? undefined
    : await readJsonObjectFlag("--parameters", flags.parameters);
  const client = await createClient(ctx);
  let answer: RealtimeTestResponse;
  const started = performance.now();
  try {
    answer = await client.testRealtime(pluginId, { inputs, ...(parameters ? { parameters } : {}) });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      const status = await _statusOf(client, pluginId);
      if (status !== undefined) {
        throw new FailedError(`${pluginId} is not deployed for realtime inference (status: ${status})`, {
          cause: error,
          hint: `deploy it with \`mixpeek plugin deploy ${pluginId} --wait\`, then invoke it again`,
        });
      }
    }
    throw error;
  }
  const ms = Math.round(performance.now() - started);
  if (answer.status === "success") {
    ctx.out.result(answer, (a) => compactJson(a.raw_response));
    const keys = answer.response_keys?.length ? `: ${answer.response_keys.join(", ")}` : "";
    if (!ctx.out.json && ctx.out.stderrIsTerminal) {
      ctx.out.info(`${answer.inference_name} answered in ${ms} ms (${answer.response_type ?? "?"}${keys})`);
    }
    return;
  }
  // status "error": the whole answer with --json (one document), then the reason on stderr.
  if (ctx.out.json) ctx.out.result(answer, () => "");
  const why = answer.error ?? "the service failed without saying why";
  // The service's traceback (mixpeek local sends its tail as `message`) goes above the error line.
  const traceback = answer.message?.startsWith("Traceback") ? answer.message : undefined;
  if (traceback) ctx.out.info(traceback.split("\n").map((line) => `  ${line}`).join("\n"));
  const details = {
    reported: ctx.out.json,
    hint: traceback
      ? "fix the service (realtime.py), publish a new version and deploy it"
      : answer.message ?? undefined,
  };
  if (_isTimeout(answer)) throw new TimeoutError(`${answer.inference_name}: ${why}`, details);
  throw new FailedError(`${answer.inference_name}: ${why}`, details);
}
