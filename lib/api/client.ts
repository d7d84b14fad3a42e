/**
 * The typed client of Mixpeek's published plugin API (SPEC.md §8): one method per path of the vendored
 * OpenAPI document (lib/api/openapi/plugins.openapi.json), each typed by the operation's generated types, so
 * a body the document does not describe does not compile.
 *
 * Every request carries `Authorization: Bearer <key>` (only to the base URL; the presigned PUT in upload.ts
 * never does) and a User-Agent with the CLI version, has a timeout, and is retried with exponential backoff
 * and jitter on 5xx, 429 (honouring Retry-After), timeouts and network errors; never on other 4xx. Proxies:
 * Deno's fetch honours HTTP_PROXY / HTTPS_PROXY / NO_PROXY. Error answers are read by errors.ts.
 */
import { ApiError, InterruptedError, type MixpeekError, TimeoutError, UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { errorFromResponse, type RouteKind } from "./errors.ts";
import { missingFields } from "./openapi/document.ts";
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

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.namespace = options.namespace;
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#signal = options.signal;
    this.#onRetry = options.onRetry;
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

  deletePlugin(pluginId: string): Promise<DeleteResponse> {
    return this.#call("delete", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}", {
      path: { plugin_id: pluginId },
    });
  }

  /** POST …/{plugin_id}/deploy, `?deployment_type=` when given (batch_only unless the plugin has realtime.py). */
  deployPlugin(pluginId: string, deploymentType?: DeploymentType): Promise<DeployResponse> {
    return this.#call("post", "/v1/namespaces/{namespace_id}/plugins/{plugin_id}/deploy", {
      path: { plugin_id: pluginId },
      query: deploymentType ? { deployment_type: deploymentType } : undefined,
      route: "custom",
    });
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

  deleteOrgPlugin(pluginId: string): Promise<OrgDeleteResponse> {
    return this.#call("delete", "/v1/plugins/{plugin_id}", { path: { plugin_id: pluginId } });
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

    for (let attempt = 1;; attempt++) {
      const last = attempt >= this.#retry.maxAttempts;
      let failure!: MixpeekError; // set by the catch (no response) or from the error response
      let retryAfterMs: number | undefined;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = this.#signal ? AbortSignal.any([this.#signal, timeout]) : timeout;
      let response: Response | undefined;
      let text = "";
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal,
        });
        text = await response.text();
      } catch (error) {
        response = undefined;
        if (error instanceof Deno.errors.NotCapable) throw error; // a missing --allow-net: retrying cannot help
        if (this.#signal?.aborted) throw new InterruptedError(`${label} interrupted`);
        failure = timeout.aborted
          ? new TimeoutError(
            `${label} got no answer from ${this.baseUrl} within ${timeoutMs / 1000}s`,
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
        if (response.ok) return _parseJson(text, url);
        failure = errorFromResponse(response.status, response.headers, text, {
          label,
          route: options.route ?? "api",
        });
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
