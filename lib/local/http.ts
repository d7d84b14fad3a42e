/**
 * HTTP plumbing shared by the routes, in the shapes Mixpeek's API uses (lib/api/openapi/SOURCE.md):
 * `ErrorResponse` (`{"success": false, "status", "error": {"message", "type", "details"}}`) for errors,
 * FastAPI's `{"detail": [{"loc", "msg", "type"}]}` for a 422, FastAPI's own `{"detail": "Not Found"}` and
 * `{"detail": "Method Not Allowed"}` for paths and methods it does not serve, and S3-style XML on the upload
 * route. Every response carries an `X-Request-Id` (Mixpeek documents none; the CLI shows it when present).
 */
import { concatBytes } from "../bytes.ts";
import type { ErrorResponse, FieldError } from "../api/types.ts";

/** A handler's way to answer with an error. */
export class HttpError extends Error {
  readonly status: number;
  /** ErrorResponse's `error.type` (e.g. NotFoundError); for the upload route, the S3 error code. */
  readonly type: string;
  readonly details?: Record<string, unknown>;
  readonly headers: Record<string, string>;
  /** A body to send instead of the ErrorResponse (FastAPI's own shapes). */
  readonly body?: unknown;

  constructor(
    status: number,
    type: string,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; body?: unknown } = {},
  ) {
    super(message);
    this.status = status;
    this.type = type;
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.body = options.body;
  }
}

/** FastAPI's 422 with these field errors. */
export function validationError(fields: FieldError[]): HttpError {
  return new HttpError(422, "RequestValidationError", fields.map((f) => f.msg).join("; "), {
    body: { detail: fields },
  });
}

export function notFoundRoute(): HttpError {
  return new HttpError(404, "NotFound", "Not Found", { body: { detail: "Not Found" } });
}

export function methodNotAllowed(allowed: string[]): HttpError {
  return new HttpError(405, "MethodNotAllowed", "Method Not Allowed", {
    body: { detail: "Method Not Allowed" },
    headers: { allow: allowed.join(", ") },
  });
}

export const MAX_JSON_BODY_BYTES = 64 * 1024;

export function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

/** An answer before it is a Response (the HTTP server's routes) or bytes (the guard's lane, realtime_lane.ts). */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function jsonReply(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    headers: { "content-type": "application/json", "x-request-id": requestId, ...headers },
    body: JSON.stringify(body) + "\n",
  };
}

export function replyResponse(reply: Reply): Response {
  return new Response(reply.body, { status: reply.status, headers: reply.headers });
}

export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  return replyResponse(jsonReply(status, body, requestId, headers));
}

export function errorBody(error: HttpError): unknown {
  if (error.body !== undefined) return error.body;
  const body: ErrorResponse = {
    success: false,
    status: error.status,
    error: { message: error.message, type: error.type, details: error.details ?? null },
  };
  return body;
}

export function errorReply(error: HttpError, requestId: string): Reply {
  return jsonReply(error.status, errorBody(error), requestId, error.headers);
}

export function errorResponse(error: HttpError, requestId: string): Response {
  return replyResponse(errorReply(error, requestId));
}

const XML_ENTITIES: Record<string, string> = {
  "<": "&lt;",
  ">": "&gt;",
  "&": "&amp;",
  "'": "&apos;",
  '"': "&quot;",
};

function _xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => XML_ENTITIES[c]);
}

/** An S3-style XML error (`<Error><Code>…`), as S3 answers a presigned PUT. */
export function s3ErrorResponse(error: HttpError, requestId: string, resource: string): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${_xmlEscape(error.type)}</Code>` +
    `<Message>${_xmlEscape(error.message)}</Message><Resource>${_xmlEscape(resource)}</Resource>` +
    `<RequestId>${requestId}</RequestId></Error>\n`;
  return new Response(body, {
    status: error.status,
    headers: {
      "content-type": "application/xml",
      "x-request-id": requestId,
      "x-amz-request-id": requestId,
      ...error.headers,
    },
  });
}

/** The body's bytes, at most MAX_JSON_BODY_BYTES (413 beyond). */
export async function readBodyBytes(request: Request, limit = MAX_JSON_BODY_BYTES): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await request.body?.cancel();
    throw new HttpError(413, "PayloadTooLargeError", `the request body is larger than ${limit} bytes`);
  }
  if (!request.body) return new Uint8Array();
  // A declared length within the limit: the framing ends the body there, so the runtime reads it whole
  // (faster than a stream reader in JS, which was a tenth of the registry's work per realtime call).
  if (declared !== null) return new Uint8Array(await request.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > limit) {
      throw new HttpError(413, "PayloadTooLargeError", `the request body is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}

/** Strict UTF-8, made once (a TextDecoder per request was a measurable part of a realtime call). */
const _UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A JSON body the way FastAPI reads one: absent (empty) → `undefined`; not JSON → 422 `json_invalid`. The
 * Content-Type is not enforced (FastAPI parses JSON whatever it says).
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const bytes = await readBodyBytes(request);
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(_UTF8.decode(bytes));
  } catch (error) {
    throw validationError([{
      type: "json_invalid",
      loc: ["body", 0],
      msg: `JSON decode error: ${(error as Error).message}`,
    }]);
  }
}
