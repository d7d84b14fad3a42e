/**
 * HTTP plumbing shared by the routes: the error thrown by handlers, JSON and S3-style XML responses, strict
 * JSON body reading. Every response carries the request id (`X-Request-Id`).
 */

/** A handler's way to answer with an error; the dispatcher renders it as JSON (API) or XML (upload route). */
export class HttpError extends Error {
  readonly status: number;
  /** snake_case error type for the JSON API; for the upload route, the S3 error code (e.g. BadDigest). */
  readonly type: string;
  readonly headers: Record<string, string>;

  constructor(status: number, type: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.headers = headers;
  }
}

export const MAX_JSON_BODY_BYTES = 64 * 1024;

export function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
}

export function jsonResponse(
  status: number,
  body: unknown,
  requestId: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "x-request-id": requestId, ...headers },
  });
}

export function errorResponse(error: HttpError, requestId: string): Response {
  return jsonResponse(
    error.status,
    { error: { type: error.type, message: error.message } },
    requestId,
    error.headers,
  );
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

/**
 * Reads a JSON object body strictly: `Content-Type: application/json` (415 otherwise), at most
 * MAX_JSON_BODY_BYTES (413), valid JSON (400), an object at the top (400). `optional`: an empty body is {}.
 */
export async function readJsonObject(request: Request, optional = false): Promise<Record<string, unknown>> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_JSON_BODY_BYTES) {
    await request.body?.cancel();
    throw new HttpError(
      413,
      "payload_too_large",
      `the JSON body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
    );
  }
  const bytes = await _readLimited(request);
  if (bytes.length === 0) {
    if (optional) return {};
    throw new HttpError(400, "validation_error", "the request needs a JSON object body");
  }
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `send the body as JSON with "Content-Type: application/json" (got ${
        type === "" ? "none" : JSON.stringify(type)
      })`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new HttpError(400, "validation_error", `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "validation_error", "the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

async function _readLimited(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > MAX_JSON_BODY_BYTES) {
      throw new HttpError(
        413,
        "payload_too_large",
        `the JSON body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
