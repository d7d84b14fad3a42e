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

export async function createClient(ctx: Context, signal?: AbortSignal): Promise<MixpeekClient> {
  const config = await loadConfig(ctx);
  const baseUrl = validateBaseUrl(config.base_url, ctx.globals.insecure === true);
  const apiKey = requireApiKey(config);
  const namespace = config.namespace.value;
  if (namespace === undefined) {
    throw new UsageError("no namespace", {
      hint: "pass --namespace, set MIXPEEK_NAMESPACE, or run `mixpeek config set namespace <id>`",
    });
  }
  return new MixpeekClient({
    baseUrl,
    apiKey,
    namespace,
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
