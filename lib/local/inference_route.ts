/**
 * `POST /inference/custom_plugin_{plugin_id}`: a deployed plugin's realtime route (its `route_prefix`), as
 * Ray Serve serves it on Mixpeek. Mixpeek's OpenAPI document does not describe it (it lives on the Ray
 * cluster, not the API), so this registry decides its shape:
 *
 * - Request: the Bearer key (like every route here), an optional `X-Namespace` (default `default`), and the
 *   body `{"inputs": {...}, "parameters": {...}}` (both optional objects; PluginRealtimeTestRequest's shape,
 *   which is what realtime/test forwards, and what the service's `(inputs, parameters)` receive).
 * - 200: the service's answer itself, as JSON (what a Ray Serve route returns), with `X-Response-Type` (its
 *   Python type name). realtime/test wraps the same answer in PluginRealtimeTestResponse.
 * - Errors are `ErrorResponse`s: 404 NotFoundError (no such plugin, or not deployed for realtime), 422 for a
 *   body that is not that object, 500 InferenceError (the service raised; `details.traceback` has its
 *   tail), 504 TimeoutError (no answer within the call's limit), 503 ServiceUnavailableError with
 *   Retry-After (busy, or the worker is gone).
 */
import type { RealtimeTestRequest } from "../api/types.ts";
import type { CallOutcome } from "./deployer.ts";
import {
  errorReply,
  HttpError,
  methodNotAllowed,
  notFoundRoute,
  readJsonBody,
  type Reply,
  replyResponse,
  validationError,
} from "./http.ts";
import { deploymentName } from "./records.ts";
import type { PluginRow } from "./store.ts";
import type { ApiDeps } from "./routes.ts";
import { DEFAULT_NAMESPACE } from "./seed.ts";

const PREFIX = "/inference/custom_plugin_";

function _objectField(body: Record<string, unknown>, name: string): void {
  const value = body[name];
  if (value !== undefined && (typeof value !== "object" || value === null || Array.isArray(value))) {
    throw validationError([{
      type: "dict_type",
      loc: ["body", name],
      msg: "Input should be a valid dictionary",
    }]);
  }
}

const _FAILURES: Record<Exclude<CallOutcome, { ok: true }>["reason"], [number, string]> = {
  raised: [500, "InferenceError"],
  timeout: [504, "TimeoutError"],
  busy: [503, "ServiceUnavailableError"],
  not_running: [503, "ServiceUnavailableError"],
};

/** The plugin id a `/inference/custom_plugin_{plugin_id}` path names (404 for any other path). */
export function inferencePluginId(path: string): string {
  if (!path.startsWith(PREFIX) || path.length === PREFIX.length || path.slice(PREFIX.length).includes("/")) {
    throw notFoundRoute();
  }
  try {
    return decodeURIComponent(path.slice(PREFIX.length));
  } catch {
    throw notFoundRoute();
  }
}

/** The body as the service gets it: an object with optional `inputs` and `parameters` objects (else 422). */
export function inferenceBody(body: unknown): RealtimeTestRequest {
  const value = body ?? {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw validationError([{ type: "dict_type", loc: ["body"], msg: "Input should be a valid dictionary" }]);
  }
  _objectField(value as Record<string, unknown>, "inputs");
  _objectField(value as Record<string, unknown>, "parameters");
  return value as RealtimeTestRequest;
}

/** The plugin's row when it is deployed for realtime inference (else 404). */
export function inferenceRow(deps: ApiDeps, namespaceId: string, pluginId: string): PluginRow {
  const row = deps.store.getPlugin("namespace", namespaceId, pluginId);
  if (!row || row.deployment_type !== "realtime" || row.deployment_status !== "deployed") {
    throw new HttpError(
      404,
      "NotFoundError",
      row
        ? `${
          deploymentName(pluginId)
        } is not deployed for realtime inference (status: ${row.deployment_status})`
        : `No plugin ${pluginId} in namespace ${namespaceId}`,
      { details: { plugin_id: pluginId, namespace_id: namespaceId } },
    );
  }
  return row;
}

/** The route's answer to a call's outcome: the service's answer itself, or an ErrorResponse. */
export function inferenceReply(outcome: CallOutcome, requestId: string): Reply {
  if (outcome.ok) {
    return {
      status: 200,
      headers: {
        "content-type": "application/json",
        "x-request-id": requestId,
        "x-response-type": outcome.type,
      },
      body: outcome.json,
    };
  }
  const [status, type] = _FAILURES[outcome.reason];
  return errorReply(
    new HttpError(status, type, outcome.error, {
      details: outcome.message
        ? { [outcome.reason === "raised" ? "traceback" : "hint"]: outcome.message }
        : undefined,
      headers: status === 503 ? { "retry-after": "1" } : {},
    }),
    requestId,
  );
}

export async function handleInference(
  request: Request,
  path: string,
  requestId: string,
  deps: ApiDeps,
): Promise<Response> {
  const pluginId = inferencePluginId(path);
  if (request.method !== "POST") throw methodNotAllowed(["POST"]);
  const namespaceId = request.headers.get("x-namespace") ?? DEFAULT_NAMESPACE;
  const body = inferenceBody(await readJsonBody(request));
  const row = inferenceRow(deps, namespaceId, pluginId);
  return replyResponse(inferenceReply(await deps.deployments.call(row, body), requestId));
}
