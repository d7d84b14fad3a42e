/**
 * The typed Mixpeek plugin API client (SPEC.md §5). Every request carries `Authorization: Bearer <key>`
 * and a User-Agent with the CLI version, has a timeout, and is retried with exponential backoff and
 * jitter on 5xx, 429 (honouring Retry-After), timeouts and network errors; never on other 4xx.
 * Proxies: Deno's fetch honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY.
 */
import { ApiError, AuthError, InterruptedError, type MixpeekError, TimeoutError } from "../errors.ts";
import { VERSION } from "../version.ts";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "./retry.ts";
import type {
  PluginList,
  PluginRecord,
  PluginSource,
  StatusResponse,
  UploadRequest,
  UploadTicket,
} from "./types.ts";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  namespace: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Aborts every request and retry wait (Ctrl-C). */
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
}

export function userAgent(): string {
  return `mixpeek-cli/${VERSION} (deno ${Deno.version.deno}; ${Deno.build.os}-${Deno.build.arch})`;
}

interface ErrorBody {
  error?: { type?: string; message?: string };
}

/** 401 always; 403 only when the server says the key itself is the problem (not "you may not do that"). */
function _isAuthFailure(status: number, type: string | undefined): boolean {
  return status === 401 || (status === 403 && (type === undefined || /key|auth|token/.test(type)));
}

function _hintFor(status: number, type: string | undefined): string | undefined {
  if (_isAuthFailure(status, type)) {
    return "check --api-key / MIXPEEK_API_KEY (or `mixpeek config set api-key`)";
  }
  if (type === "namespace_not_found") return "check --namespace / MIXPEEK_NAMESPACE";
  if (type === "plugin_not_found") return "`mixpeek plugin list` shows the plugins of the namespace";
  if (status === 409 && type === "conflict") {
    return "bump `version` in manifest.py, or delete the existing version";
  }
  if (isRetryableStatus(status)) return "the service is having trouble; try again in a moment";
  return undefined;
}

/** Turns an error response into ApiError / AuthError with the server's message and request id. */
export function errorFromResponse(status: number, headers: Headers, text: string): MixpeekError {
  let body: ErrorBody = {};
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: use the status line */ }
  const requestId = headers.get("x-request-id") ?? undefined;
  const type = body.error?.type;
  const serverMessage = body.error?.message ?? (text.trim().slice(0, 200) || `HTTP ${status}`);
  const where = `HTTP ${status}${requestId ? `, request id ${requestId}` : ""}`;
  const details = { status, requestId, errorType: type, hint: _hintFor(status, type) };
  if (_isAuthFailure(status, type)) {
    return new AuthError(`the API refused the key: ${serverMessage} (${where})`, details);
  }
  return new ApiError(`${serverMessage} (${where})`, details);
}

/** A 2xx body that is not JSON (a captive portal, a wrong base URL) is an API error, not a crash. */
function _parseJson<T>(text: string, url: string): T {
  if (text === "") return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(`${url} answered with something that is not JSON: ${text.trim().slice(0, 80)}`, {
      hint: "check --base-url / MIXPEEK_BASE_URL: it should be the Mixpeek API, e.g. https://api.mixpeek.com",
    });
  }
}

export class MixpeekClient {
  readonly baseUrl: string;
  readonly namespace: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #signal?: AbortSignal;
  readonly #onRetry?: (event: RetryEvent) => void;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.namespace = options.namespace;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#signal = options.signal;
    this.#onRetry = options.onRetry;
  }

  /** The namespace-scoped URL of an API path. */
  url(path: string): string {
    return `${this.baseUrl}/v1/namespaces/${encodeURIComponent(this.namespace)}${path}`;
  }

  requestUpload(body: UploadRequest): Promise<UploadTicket> {
    return this.#request("POST", "/plugins/uploads", body);
  }

  confirmUpload(uploadId: string, sha256: string): Promise<PluginRecord> {
    return this.#request("POST", `/plugins/uploads/${encodeURIComponent(uploadId)}/confirm`, { sha256 });
  }

  listPlugins(options: { source?: PluginSource; limit?: number; cursor?: string } = {}): Promise<PluginList> {
    const query = new URLSearchParams();
    if (options.source) query.set("source", options.source);
    if (options.limit) query.set("limit", String(options.limit));
    if (options.cursor) query.set("cursor", options.cursor);
    const qs = query.toString();
    return this.#request("GET", `/plugins${qs ? `?${qs}` : ""}`);
  }

  /** Every page of the list, following next_cursor. */
  async listAllPlugins(source: PluginSource = "all"): Promise<PluginRecord[]> {
    const all: PluginRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listPlugins({ source, cursor, limit: 100 });
      all.push(...page.plugins);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return all;
  }

  getPlugin(pluginId: string): Promise<PluginRecord> {
    return this.#request("GET", `/plugins/${encodeURIComponent(pluginId)}`);
  }

  deletePlugin(pluginId: string): Promise<{ plugin_id: string; deleted: boolean }> {
    return this.#request("DELETE", `/plugins/${encodeURIComponent(pluginId)}`);
  }

  deployPlugin(pluginId: string): Promise<PluginRecord> {
    return this.#request("POST", `/plugins/${encodeURIComponent(pluginId)}/deploy`, {});
  }

  getStatus(pluginId: string): Promise<StatusResponse> {
    return this.#request("GET", `/plugins/${encodeURIComponent(pluginId)}/status`);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.url(path);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      "user-agent": userAgent(),
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const label = `${method} ${path.split("?")[0]}`;

    for (let attempt = 1;; attempt++) {
      const last = attempt >= this.#retry.maxAttempts;
      let failure!: MixpeekError; // set by the catch (no response) or from the error response
      let retryAfterMs: number | undefined;
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
      let response: Response | undefined;
      let text = "";
      try {
        response = await fetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
        text = await response.text();
      } catch (error) {
        response = undefined;
        if (error instanceof Deno.errors.NotCapable) throw error; // a missing --allow-net: retrying cannot help
        if (this.#signal?.aborted) throw new InterruptedError(`${label} interrupted`);
        failure = timeout.aborted
          ? new TimeoutError(
            `${label} got no answer from ${this.baseUrl} within ${this.#timeoutMs / 1000}s`,
            {
              hint: "the service may be overloaded; try again, or raise MIXPEEK_REQUEST_TIMEOUT (seconds)",
            },
          )
          : new ApiError(`cannot reach ${this.baseUrl}: ${(error as Error).message}`, {
            cause: error,
            hint: "check --base-url / MIXPEEK_BASE_URL and your network or proxy settings",
          });
      }
      if (response) {
        if (response.ok) return _parseJson<T>(text, url);
        failure = errorFromResponse(response.status, response.headers, text);
        if (!isRetryableStatus(response.status)) throw failure;
        retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      }
      if (last || (retryAfterMs !== undefined && retryAfterMs > this.#retry.maxRetryAfterMs)) throw failure;
      const delayMs = retryAfterMs ?? backoffDelay(attempt - 1, this.#retry);
      this.#onRetry?.({ attempt, delayMs, reason: failure.message });
      await sleep(delayMs, this.#signal);
    }
  }
}
