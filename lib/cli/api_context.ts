/** Builds the API client for a command from the resolved settings (flag > env > config file > default). */
import { MixpeekClient } from "../api/client.ts";
import { formatRequestLog } from "../api/request_log.ts";
import { DEFAULT_STALL_TIMEOUT_MS } from "../api/upload.ts";
import { requireApiKey, validateBaseUrl } from "../config.ts";
import { UsageError } from "../errors.ts";
import { findPluginRoot } from "../plugin/root.ts";
import { type Context, loadConfig } from "./context.ts";
import { interruptSignal } from "./interrupt.ts";

/** Timers hold a signed 32-bit millisecond count: anything longer fires at once (about 24.8 days). */
const MAX_SECONDS = 2_147_483;

/** A positive number of seconds from the environment, or undefined when unset. */
function _secondsFromEnv(ctx: Context, name: string): number | undefined {
  const raw = ctx.env.get(name);
  if (raw === undefined || raw === "") return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new UsageError(`${name} must be a positive number of seconds up to ${MAX_SECONDS}, got "${raw}"`);
  }
  return seconds * 1000;
}

/** MIXPEEK_REQUEST_TIMEOUT (seconds) bounds every API request; default 30 s. */
function _requestTimeoutMs(ctx: Context): number | undefined {
  return _secondsFromEnv(ctx, "MIXPEEK_REQUEST_TIMEOUT");
}

/**
 * MIXPEEK_UPLOAD_STALL_TIMEOUT (seconds): an upload attempt on which no byte moves for this long is given
 * up and retried with a fresh URL; default 60 s.
 */
export function stallTimeoutMs(ctx: Context): number {
  return _secondsFromEnv(ctx, "MIXPEEK_UPLOAD_STALL_TIMEOUT") ?? DEFAULT_STALL_TIMEOUT_MS;
}

/**
 * The client for a command. `namespace: "optional"` is for the organisation routes (`--org`), which need no
 * namespace; every other command fails fast, before any work, when none is set. Without a `signal`, Ctrl-C
 * aborts the client's requests (lib/cli/interrupt.ts: "… interrupted", exit 130), as for every command.
 */
export async function createClient(
  ctx: Context,
  signal?: AbortSignal,
  namespace: "required" | "optional" = "required",
): Promise<MixpeekClient> {
  const config = await loadConfig(ctx);
  const baseUrl = validateBaseUrl(config.base_url, ctx.globals.insecure === true);
  const apiKey = requireApiKey(config);
  if (namespace === "required" && config.namespace.value === undefined) {
    throw new UsageError("no namespace", {
      hint: "pass --namespace (-n), set MIXPEEK_NAMESPACE, or run `mixpeek config set namespace <id>`",
    });
  }
  return new MixpeekClient({
    baseUrl,
    apiKey,
    namespace: config.namespace.value,
    timeoutMs: _requestTimeoutMs(ctx),
    signal: signal ?? interruptSignal().signal, // the process exits when the command ends
    env: ctx.env,
    onRetry: (e) =>
      ctx.out.warn(`${e.reason}; retrying in ${(e.delayMs / 1000).toFixed(1)}s (attempt ${e.attempt})`),
    onRequest: ctx.out.verbose ? (e) => ctx.out.debug(formatRequestLog(e)) : undefined,
  });
}

/** Parses a `--timeout <seconds>` flag value. */
export function parseSeconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new UsageError(`${flag} must be a positive number of seconds up to ${MAX_SECONDS}, got "${raw}"`);
  }
  return seconds * 1000;
}

/** Reads a `--params JSON` style flag: a JSON object, or a usage error naming the flag. */
export function parseJsonObject(flag: string, raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`${flag} is not valid JSON: ${(error as Error).message}`, {
      hint: `pass a JSON object, e.g. ${flag} '{"threshold": 0.5}'`,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${flag} must be a JSON object`, { hint: `e.g. ${flag} '{"threshold": 0.5}'` });
  }
  return value as Record<string, unknown>;
}

/**
 * The plugin folder from the argument or `-p/--path`, walked up to the folder holding manifest.py (as
 * `plugin test` does, so `pack` from processors/ packs the plugin); `plugin: false` when there is none.
 */
export async function pluginFolderOf(
  positional: string | undefined,
  flag: string | undefined,
): Promise<{ root: string; given: string; plugin: boolean }> {
  const given = pluginPath(positional, flag);
  const found = await findPluginRoot(given);
  return { root: found ?? given, given, plugin: found !== undefined };
}

/** The plugin folder from `-p/--path` or the positional argument (they must agree when both are given). */
export function pluginPath(positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`the plugin folder is given twice: ${positional} and --path ${flag}`, {
      hint: "pass the folder once, as an argument or with -p/--path",
    });
  }
  return positional ?? flag ?? ".";
}
