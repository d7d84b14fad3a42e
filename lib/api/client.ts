/**
 * The typed client of Mixpeek's published plugin API (SPEC.md §8): one method per path of the vendored
 * OpenAPI document (lib/api/openapi/plugins.openapi.json), each typed by the operation's generated types, so
 * a body the document does not describe does not compile.
 *
 * Every request carries `Authorization: Bearer <key>` (only to the base URL; the presigned PUT in upload.ts
 * never does) and a User-Agent with the CLI version, and has a timeout. Only what can heal is retried, with
 * exponential backoff and jitter: 5xx and 429 (honouring Retry-After), resets, a refused connection to a
 * remote host; never other 4xx, a failed DNS lookup, a TLS mismatch, a refused loopback connection (no
 * `mixpeek local` there) or a timeout (net_errors.ts names each cause in one line). Proxies follow proxy.ts
 * (loopback direct, https only through a CONNECT tunnel; transport.ts). An answer is read up to a cap
 * (32 MiB; error bodies 64 KiB), so a wrong or hostile host cannot fill the memory. Deploy and delete look
 * up the real state when a retry after a lost answer gets 409 / 404 (the first attempt did it). With
 * `onRequest`, each attempt is reported (--verbose: request_log.ts). Error answers are read by errors.ts.
 */
import type { Env } from "../config.ts";
import { ApiError, InterruptedError, type MixpeekError, UsageError } from "../errors.ts";
import { formatBytes } from "../pack/size.ts";
import { VERSION } from "../version.ts";
import { errorFromResponse, type RouteKind } from "./errors.ts";
import { classifyNetError, hostPort, isRetryableNetFailure, netError } from "./net_errors.ts";
import { missingFields } from "./openapi/document.ts";
import type { RequestLogEntry } from "./request_log.ts";
import { apiTransport, type Transport } from "./transport.ts";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "./retry.ts";
import type {
  AvailablePlugins,
  ConfirmRequest,
  ConfirmResponse,
  CreateUploadRequest,
  DeleteResponse,
  DeploymentType,
  DeployResponse,
  DisableResponse,
  EnableRequest,
  EnableResponse,
  Extractor,
  ExtractorList,
  ExtractorQuerySource,
  FeatureExtractor,
  OrgCreateUploadRequest,
  OrgDeleteResponse,
  OrgPluginDetail,
  OrgPluginList,
  OrgPresignedUpload,
  paths,
  PluginDetail,
  PluginList,
  PresignedUpload,
  RealtimeTestRequest,
  RealtimeTestResponse,
  StatusResponse,
  UndeployResponse,
} from "./types.ts";

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * The most of one answer the client reads. The largest documented answers (plugin and extractor lists) are
 * a few hundred KiB even for a full namespace; an answer past this is not the Mixpeek API.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Error answers are only read for their message. */
const ERROR_BODY_BYTES = 64 * 1024;
/** Confirm unpacks, checks and scans the archive before it answers: it gets more time than other calls. */
export const CONFIRM_TIMEOUT_MS = 300_000;

export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  /** The namespace id; only the organisation routes (`/v1/plugins…`) work without one. */
  namespace?: string;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Aborts every request and retry wait (Ctrl-C). */
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
  /** Each attempt of each request, once it has an answer or failed (for --verbose). */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Where proxy settings are read (default: the process environment). */
  env?: Env;
  /** The cap on one answer (default MAX_RESPONSE_BYTES). */
  maxResponseBytes?: number;
}

export function userAgent(): string {
  return `mixpeek-cli/${VERSION} (deno ${Deno.version.deno}; ${Deno.build.os}-${Deno.build.arch})`;
}

type Method = "get" | "post" | "delete";
type Template = keyof paths;
type Operation<P extends Template, M extends Method> = NonNullable<paths[P][M]>;
type JsonBody<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Ok<O> = O extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;

interface CallOptions<O> {
  /** Path parameters other than namespace_id (filled from the client). */
  path?: Record<string, string>;
  query?: Query<O>;
  body?: JsonBody<O>;
  headers?: Record<string, string>;
  timeoutMs?: number;
  route?: RouteKind;
}

/** An API error with `status` that came after an attempt whose answer was lost. */
function _lostThen(error: unknown, status: number): boolean {
  return error instanceof ApiError && error.lostAnswer && error.status === status;
}

/** An answer over the cap: thrown out of the read, turned into its ApiError by #send (never retried). */
class _TooLarge extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.message);
  }
}

/**
 * The body as text, reading at most `cap` bytes: a declared or actual size past it ends the read (and the
 * connection) for a success body; an error body is only cut, since just its message is needed.
 */
async function _readBody(response: Response, cap: number, label: string, url: URL): Promise<string> {
  const tooLarge = () =>
    new _TooLarge(
      new ApiError(
        `${label}: the answer from ${hostPort(url)} is larger than ${formatBytes(cap)}, far more than the ` +
          "Mixpeek API sends; it was not read",
        {
          status: response.status,
          hint:
            "check --base-url / MIXPEEK_BASE_URL: it should be the Mixpeek API, e.g. https://api.mixpeek.com",
        },
      ),
    );
  const truncate = !response.ok;
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (!truncate && Number.isFinite(declared) && declared > cap) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.length > cap) {
      await reader.cancel().catch(() => {});
      if (!truncate) throw tooLarge();
      chunks.push(value.subarray(0, cap - total));
      total = cap;
      break;
    }
    chunks.push(value);
    total += value.length;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

/** A 2xx body that is not JSON (a captive portal, a wrong base URL) is an API error, not a crash. */
function _parseJson(text: string, url: string): unknown {
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(`${url} answered with something that is not JSON: ${text.trim().slice(0, 80)}`, {
      hint: "check --base-url / MIXPEEK_BASE_URL: it should be the Mixpeek API, e.g. https://api.mixpeek.com",
    });
  }
}

export class MixpeekClient {
  readonly baseUrl: string;
  readonly namespace?: string;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #signal?: AbortSignal;
  readonly #onRetry?: (event: RetryEvent) => void;
  readonly #onRequest?: (entry: RequestLogEntry) => void;
  readonly #env: Env;
  readonly #maxResponseBytes: number;
  /** Chosen at the first request (transport.ts), so a client that sends nothing opens nothing. */
  #transport?: Transport;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.namespace = options.namespace;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#signal = options.signal;
    this.#onRetry = options.onRetry;
    this.#onRequest = options.onRequest;
    this.#env = options.env ?? Deno.env;
    this.#maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  }

  /** Releases the connection pool (a CLI process may simply exit instead). */
  close(): void {
    this.#transport?.client?.close();
    this.#transport = undefined;
  }

  // --- uploads ---------------------------------------------------------------------------------------------

  /** POST /v1/namespaces/{ns}/plugins/uploads: a presigned URL for the archive. */
  createUpload(body: CreateUploadRequest): Promise<PresignedUpload> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/uploads", { body, route: "custom" });
  }

  /** POST /v1/plugins/uploads: the same for an organisation plugin (`publish --org`). */
  createOrgUpload(body: OrgCreateUploadRequest): Promise<OrgPresignedUpload> {
    return this.#call("post", "/v1/plugins/uploads", { body, route: "custom" });
  }

  /** POST …/plugins/uploads/{upload_id}/confirm. Answers 200 even when validation failed (`success`). */
  confirmUpload(uploadId: string, body: ConfirmRequest): Promise<ConfirmResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/uploads/{upload_id}/confirm", {
      path: { upload_id: uploadId },
      body,
      route: "custom",
      timeoutMs: Math.max(this.#timeoutMs, CONFIRM_TIMEOUT_MS),
    });
  }

  confirmOrgUpload(uploadId: string, body: ConfirmRequest): Promise<ConfirmResponse> {
    return this.#call("post", "/v1/plugins/uploads/{upload_id}/confirm", {
      path: { upload_id: uploadId },
      body,
      route: "custom",
      timeoutMs: Math.max(this.#timeoutMs, CONFIRM_TIMEOUT_MS),
    });
  }

  // --- namespace plugins -----------------------------------------------------------------------------------

  listPlugins(): Promise<PluginList> {
    return this.#call("get", "/v1/namespaces/{namespace_id}/plugins", {});
  }

  getPlugin(pluginId: string, options: { presignedUrl?: boolean } = {}): Promise<PluginDetail> {
    return this.#call("get", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}", {
      path: { plugin_id: pluginId },
      query: options.presignedUrl ? { return_presigned_urls: true } : undefined,
    });
  }

  /**
   * DELETE …/{plugin_id}. When the answer to a first attempt was lost and the retry gets 404, the plugin is
   * looked up: gone means the first attempt deleted it, which is reported as the success it was.
   */
  async deletePlugin(pluginId: string): Promise<DeleteResponse & { recovered?: true }> {
    try {
      return await this.#call("delete", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}", {
        path: { plugin_id: pluginId },
      });
    } catch (error) {
      if (!_lostThen(error, 404) || !(await this.#gone(() => this.getPlugin(pluginId)))) throw error;
      return {
        success: true,
        plugin_id: pluginId,
        message: `Plugin ${pluginId} deleted (the first answer was lost on the way; the retry found it gone)`,
        recovered: true,
      };
    }
  }

  /** True when `lookup` answers 404: the thing is not there (any other failure is thrown). */
  async #gone(lookup: () => Promise<unknown>): Promise<boolean> {
    try {
      await lookup();
      return false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return true;
      throw error;
    }
  }

  /**
   * POST …/{plugin_id}/deploy, `?deployment_type=` when given (batch_only unless the plugin has realtime.py).
   * When the answer to a first attempt was lost and the retry gets 409 (already deploying or deployed), the
   * status is looked up: a deployment under way or done is what the first attempt started, and is reported.
   */
  async deployPlugin(
    pluginId: string,
    deploymentType?: DeploymentType,
  ): Promise<DeployResponse & { recovered?: true }> {
    try {
      return await this.#call("post", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/deploy", {
        path: { plugin_id: pluginId },
        query: deploymentType ? { deployment_type: deploymentType } : undefined,
        route: "custom",
      });
    } catch (error) {
      if (!_lostThen(error, 409)) throw error;
      const status = await this.getStatus(pluginId);
      const state = String(status.status).toLowerCase();
      if (state === "failed" || state === "not_deployed") throw error;
      return {
        status: status.status,
        ...(deploymentType ? { deployment_type: deploymentType } : {}),
        message: `the first deploy's answer was lost on the way; the retry was refused (HTTP 409) because ` +
          `that deploy went through: the deployment is ${status.status}`,
        recovered: true,
      };
    }
  }

  undeployPlugin(pluginId: string): Promise<UndeployResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/undeploy", {
      path: { plugin_id: pluginId },
      route: "custom",
    });
  }

  getStatus(pluginId: string): Promise<StatusResponse> {
    return this.#call("get", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/status", {
      path: { plugin_id: pluginId },
    });
  }

  /** POST …/{plugin_id}/realtime/test: one call to the deployed realtime service (`plugin invoke`). */
  testRealtime(pluginId: string, body: RealtimeTestRequest): Promise<RealtimeTestResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/realtime/test", {
      path: { plugin_id: pluginId },
      body,
      route: "custom",
    });
  }

  // --- organisation plugins in a namespace -------------------------------------------------------------------

  listAvailable(): Promise<AvailablePlugins> {
    return this.#call("get", "/v1/namespaces/{namespace_id}/plugins/available", {});
  }

  enablePlugin(pluginId: string, body: EnableRequest): Promise<EnableResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/org/{plugin_id}/enable", {
      path: { plugin_id: pluginId },
      body,
    });
  }

  disablePlugin(pluginId: string): Promise<DisableResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/org/{plugin_id}/disable", {
      path: { plugin_id: pluginId },
    });
  }

  // --- organisation plugins ----------------------------------------------------------------------------------

  listOrgPlugins(): Promise<OrgPluginList> {
    return this.#call("get", "/v1/plugins", {});
  }

  getOrgPlugin(pluginId: string): Promise<OrgPluginDetail> {
    return this.#call("get", "/v1/plugins/{plugin_id}", { path: { plugin_id: pluginId } });
  }

  /** DELETE /v1/plugins/{plugin_id}, with the same look-up as deletePlugin after a lost answer. */
  async deleteOrgPlugin(pluginId: string): Promise<OrgDeleteResponse & { recovered?: true }> {
    try {
      return await this.#call("delete", "/v1/plugins/{plugin_id}", { path: { plugin_id: pluginId } });
    } catch (error) {
      if (!_lostThen(error, 404) || !(await this.#gone(() => this.getOrgPlugin(pluginId)))) throw error;
      return {
        success: true,
        plugin_id: pluginId,
        message: `Plugin ${pluginId} deleted (the first answer was lost on the way; the retry found it gone)`,
        recovered: true,
      };
    }
  }

  // --- extractors --------------------------------------------------------------------------------------------

  listExtractors(
    options: { source?: ExtractorQuerySource; includeDisabled?: boolean } = {},
  ): Promise<ExtractorList> {
    const query: Query<Operation<"/v1/namespaces/{namespace_id}/extractors", "get">> = {};
    if (options.source) query.source = options.source;
    if (options.includeDisabled) query.include_disabled = true;
    return this.#call("get", "/v1/namespaces/{namespace_id}/extractors", { query });
  }

  getExtractor(extractorId: string): Promise<Extractor> {
    return this.#call("get", "/v1/namespaces/{namespace_id}/extractors/{extractor_id}", {
      path: { extractor_id: extractorId },
    });
  }

  /** The list Mixpeek's original CLI reads: GET /v1/collections/features/extractors with X-Namespace. */
  listFeatureExtractors(): Promise<FeatureExtractor[]> {
    const headers: Record<string, string> = this.namespace ? { "x-namespace": this.namespace } : {};
    return this.#call("get", "/v1/collections/features/extractors", { headers });
  }

  // --- plumbing ----------------------------------------------------------------------------------------------

  /** The URL of a path template with its parameters filled (namespace_id from the client). */
  url(template: Template, params: Record<string, string> = {}): string {
    const filled = template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
      const value = name === "namespace_id" ? this.namespace : params[name];
      if (value === undefined) {
        throw new UsageError("no namespace", {
          hint: "pass --namespace (-n), set MIXPEEK_NAMESPACE, or run `mixpeek config set namespace <id>`",
        });
      }
      return encodeURIComponent(value);
    });
    return `${this.baseUrl}${filled}`;
  }

  async #call<P extends Template, M extends Method>(
    method: M,
    template: P,
    options: CallOptions<Operation<P, M>>,
  ): Promise<Ok<Operation<P, M>>> {
    let url = this.url(template, options.path);
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries((options.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) query.set(name, String(value));
    }
    if (query.size > 0) url += `?${query}`;
    const label = `${method.toUpperCase()} ${template}`;
    const body = await this.#send(method.toUpperCase(), url, label, options);
    const missing = missingFields(template, method, 200, body);
    if (missing.length > 0) {
      throw new ApiError(
        `${label} answered without ${missing.map((f) => `\`${f}\``).join(", ")}, which the Mixpeek API ` +
          "always sends",
        { hint: "check --base-url / MIXPEEK_BASE_URL: it should be a Mixpeek API host" },
      );
    }
    return body as Ok<Operation<P, M>>;
  }

  async #send(
    method: string,
    url: string,
    label: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number; route?: RouteKind },
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      "user-agent": userAgent(),
      accept: "application/json",
      ...options.headers,
    };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const target = new URL(url);
    this.#transport ??= apiTransport(new URL(this.baseUrl), this.#env);
    const transport = this.#transport;
    /** An earlier attempt may have reached the server (see ApiErrorDetails.lostAnswer). */
    let lostAnswer = false;

    for (let attempt = 1;; attempt++) {
      const last = attempt >= this.#retry.maxAttempts;
      let failure!: MixpeekError; // set by the catch (no response) or from the error response
      let retryable = true;
      let retryAfterMs: number | undefined;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
      const started = performance.now();
      let response: Response | undefined;
      let text = "";
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal,
          ...(transport.client ? { client: transport.client } : {}),
        });
        text = await _readBody(
          response,
          response.ok ? this.#maxResponseBytes : ERROR_BODY_BYTES,
          label,
          target,
        );
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error; // a missing --allow-net: retrying cannot help
        if (error instanceof _TooLarge) {
          this.#log({ method, url, status: response?.status, ms: performance.now() - started, attempt });
          throw error.apiError;
        }
        if (this.#signal?.aborted) throw new InterruptedError(`${label} interrupted`);
        const kind = timeout.aborted ? "timeout" : classifyNetError(error);
        this.#log({ method, url, failure: kind, ms: performance.now() - started, attempt });
        response = undefined;
        failure = netError(kind, target, error, {
          label,
          setting: "--base-url / MIXPEEK_BASE_URL",
          timeoutMs,
          proxy: transport.proxy,
        });
        retryable = isRetryableNetFailure(kind, target.hostname);
        // A reset (or an unknown failure) may come after the server ran the request.
        if (kind === "reset" || kind === "other") lostAnswer = true;
      }
      if (response) {
        const requestId = response.headers.get("x-request-id") ?? undefined;
        this.#log({
          method,
          url,
          status: response.status,
          ms: performance.now() - started,
          attempt,
          requestId,
        });
        if (response.ok) return _parseJson(text, url);
        failure = errorFromResponse(response.status, response.headers, text, {
          label,
          route: options.route ?? "api",
          lostAnswer,
        });
        if (!isRetryableStatus(response.status)) throw failure;
        // A gateway error may come after the service ran the request.
        if (response.status === 502 || response.status === 504) lostAnswer = true;
        retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      }
      if (!retryable || last) throw failure;
      if (retryAfterMs !== undefined && retryAfterMs > this.#retry.maxRetryAfterMs) throw failure;
      const delayMs = retryAfterMs ?? backoffDelay(attempt - 1, this.#retry);
      this.#onRetry?.({ attempt, delayMs, reason: failure.message });
      await sleep(delayMs, this.#signal);
    }
  }

  #log(entry: RequestLogEntry): void {
    this.#onRequest?.(entry);
  }
}
