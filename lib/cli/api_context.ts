/** Builds the API client for a command from the resolved settings (flag > env > config file > default). */
import { MixpeekClient } from "../api/client.ts";
import { requireApiKey, validateBaseUrl } from "../config.ts";
import { UsageError } from "../errors.ts";
import { type Context, loadConfig } from "./context.ts";

/** Timers hold a signed 32-bit millisecond count: anything longer fires at once (about 24.8 days). */
const MAX_SECONDS = 2_147_483;

/** MIXPEEK_REQUEST_TIMEOUT (seconds) bounds every API request; default 30 s. */
function _requestTimeoutMs(ctx: Context): number | undefined {
  const raw = ctx.env.get("MIXPEEK_REQUEST_TIMEOUT");
  if (raw === undefined || raw === "") return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
    throw new UsageError(
      `MIXPEEK_REQUEST_TIMEOUT must be a positive number of seconds up to ${MAX_SECONDS}, got "${raw}"`,
    );
  }
  return seconds * 1000;
}

/**
 * The client for a command. `namespace: "optional"` is for the organisation routes (`--org`), which need no
 * namespace; every other command fails fast, before any work, when none is set.
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
    signal,
    onRetry: (e) =>
      ctx.out.warn(`${e.reason}; retrying in ${(e.delayMs / 1000).toFixed(1)}s (attempt ${e.attempt})`),
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

/** The plugin folder from `-p/--path` or the positional argument (they must agree when both are given). */
export function pluginPath(positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new UsageError(`the plugin folder is given twice: ${positional} and --path ${flag}`, {
      hint: "pass the folder once, as an argument or with -p/--path",
    });
  }
  return positional ?? flag ?? ".";
}
