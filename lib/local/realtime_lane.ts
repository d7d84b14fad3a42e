/**
 * The realtime lane: the registry's two realtime routes answered by the connection guard itself (guard.ts
 * GuardLane), without the hop through the HTTP server behind it.
 *
 * A realtime call is a small JSON request, a call to the deployment's worker and a small JSON answer. Through
 * the server it also took the guard → server socket, the server's Request and Response objects and their
 * event-loop turns: more than all the rest of what the registry adds to a call (scripts/bench_invoke.ts).
 * The lane does the same steps with the same functions (inference_route.ts, routes.ts, http.ts), so each
 * answer is the one the route gives, byte for byte in its body and headers. It declines (the request then
 * goes on to the server unchanged, which answers it as before) whenever anything is not plainly a call:
 * - a request the route would refuse: a bad key, a body that is not the route's, a plugin that is not
 *   deployed. The server gives those errors, so the lane never has its own version of them;
 * - `Expect`, HTTP/1.0, or a query string (the route has none);
 * - fault rules are armed (faults.ts applies to every route), or the registry is closing.
 * Once the worker was called, its outcome is the answer: an error then is the route's ErrorResponse.
 */
import type { GuardLane, LaneAnswer } from "./guard.ts";
import { parseHead } from "./http1_framing.ts";
import { errorReply, HttpError, jsonReply, MAX_JSON_BODY_BYTES, newRequestId, type Reply } from "./http.ts";
import { inferenceBody, inferencePluginId, inferenceReply, inferenceRow } from "./inference_route.ts";
import { type ApiDeps, realtimeTestBody, realtimeTestRow } from "./routes.ts";
import { DEFAULT_NAMESPACE } from "./seed.ts";

export interface LaneHost {
  deps: ApiDeps;
  /** Throws the route's HttpError unless the Authorization header's key is valid. */
  authorize(header: string | null): void;
  namespaceExists(namespaceId: string): boolean;
  /** Whether any fault rule is armed. */
  faultsArmed(): boolean;
  closing: AbortSignal;
  log(line: string): void;
}

/** The request lines the lane takes: a realtime/test or an inference route, no query, HTTP/1.1. */
const REQUEST_LINE =
  /^POST (\/v1\/namespaces\/([^/?#\s]+)\/plugins\/([^/?#\s]+)\/realtime\/test|\/inference\/[^/?#\s]+) HTTP\/1\.1\r?\n/;
const REASONS: Record<number, string> = {
  200: "OK",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
const ENCODER = new TextEncoder();
/** Strict UTF-8, as the server's readJsonBody decodes. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

interface _Head {
  path: string;
  /** realtime/test's path segments, still %-encoded (undefined for /inference). */
  test?: { namespace: string; plugin: string };
  /** Lower-cased names; a repeated header keeps its last value (only single-valued ones are read). */
  headers: Map<string, string>;
}

function _parseHead(text: string): _Head | undefined {
  const line = REQUEST_LINE.exec(text);
  if (!line) return undefined;
  const test = line[2] === undefined ? undefined : { namespace: line[2], plugin: line[3] };
  return { path: line[1], test, headers: new Map(parseHead(text).fields) };
}

/** One HTTP/1.1 response, as the HTTP server would write this Reply. */
export function encodeReply(reply: Reply, close: boolean): Uint8Array {
  const body = ENCODER.encode(reply.body);
  let head = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Error"}\r\n`;
  for (const [name, value] of Object.entries(reply.headers)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${body.length}\r\ndate: ${new Date().toUTCString()}\r\n`;
  if (close) head += "connection: close\r\n";
  const bytes = ENCODER.encode(head + "\r\n");
  const out = new Uint8Array(bytes.length + body.length);
  out.set(bytes);
  out.set(body, bytes.length);
  return out;
}

/**
 * The call a request makes, once every check its route makes has passed (each throws the route's HttpError):
 * the same checks, in the same order, as routes.ts and inference_route.ts.
 */
function _callFor(host: LaneHost, head: _Head, body: unknown): (requestId: string) => Promise<Reply> {
  const deps = host.deps;
  if (head.test) {
    const [namespaceId, pluginId] = [
      decodeURIComponent(head.test.namespace),
      decodeURIComponent(head.test.plugin),
    ];
    if (!host.namespaceExists(namespaceId)) throw new HttpError(404, "NotFoundError", "Namespace not found");
    const request = realtimeTestBody(body);
    const row = realtimeTestRow(deps, namespaceId, pluginId);
    return async (requestId) => jsonReply(200, await deps.deployments.invoke(row, request), requestId);
  }
  const pluginId = inferencePluginId(head.path);
  const request = inferenceBody(body);
  const row = inferenceRow(deps, head.headers.get("x-namespace") ?? DEFAULT_NAMESPACE, pluginId);
  return async (requestId) => inferenceReply(await deps.deployments.call(row, request), requestId);
}

async function _answer(
  host: LaneHost,
  head: _Head,
  call: (requestId: string) => Promise<Reply>,
): Promise<LaneAnswer> {
  const requestId = newRequestId();
  const started = performance.now();
  let reply: Reply;
  try {
    reply = await call(requestId);
  } catch (error) {
    // Not expected (a call's failures are outcomes): answered as the server answers an internal error.
    host.log(`internal error on POST ${head.path} (${requestId}): ${(error as Error)?.stack ?? error}`);
    reply = errorReply(
      new HttpError(
        500,
        "InternalServerError",
        `internal error (request ${requestId}): ${(error as Error)?.message}`,
      ),
      requestId,
    );
  }
  const ms = Math.round(performance.now() - started);
  host.log(`POST ${head.path} → ${reply.status} (${ms} ms) ${requestId}`);
  const close = head.headers.get("connection")?.toLowerCase() === "close";
  return { bytes: encodeReply(reply, close), close };
}

export function realtimeLane(host: LaneHost): GuardLane {
  return {
    maxBody: MAX_JSON_BODY_BYTES,
    wants: (head) => REQUEST_LINE.test(head) && !host.faultsArmed() && !host.closing.aborted,
    answer(text, bytes) {
      const head = _parseHead(text);
      if (!head || head.headers.has("expect")) return undefined;
      let call: (requestId: string) => Promise<Reply>;
      try {
        host.authorize(head.headers.get("authorization") ?? null);
        call = _callFor(host, head, bytes.length === 0 ? undefined : JSON.parse(UTF8.decode(bytes)));
      } catch {
        return undefined; // the server answers with the route's own error
      }
      return _answer(host, head, call);
    },
  };
}
