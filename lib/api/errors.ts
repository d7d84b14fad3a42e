/**
 * Error answers of the Mixpeek API, read into one message (SPEC §8). The document and Mixpeek's servers use
 * four shapes (lib/api/openapi/SOURCE.md):
 *   - `ErrorResponse`: `{"success": false, "status": N, "error": {"message", "type", "details"}}`;
 *   - FastAPI's `{"detail": "text"}`;
 *   - `{"detail": {"message", "type", "details"}}` (the quota example);
 *   - FastAPI's 422: `{"detail": [{"loc", "msg", "type"}]}`.
 * A request id is shown only when the server sends one (`X-Request-Id`; none is documented).
 */
import { ApiError, AuthError, type MixpeekError } from "../errors.ts";
import { isRetryableStatus } from "./retry.ts";
import type { FieldError } from "./types.ts";

/** What the routes are, for the messages their errors get. */
export type RouteKind =
  /** upload URL, confirm, deploy, undeploy, realtime test: custom-plugin infrastructure (Enterprise) */
  | "custom"
  /** everything else */
  | "api";

export interface ServerError {
  message: string;
  type?: string;
  details?: unknown;
  /** The field errors of a 422. */
  fields?: FieldError[];
}

export const SHARED_HOST_MESSAGE =
  "this host does not serve custom plugins; use your dedicated host's URL with --base-url";

function _isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _fieldText(field: FieldError): string {
  const loc = (Array.isArray(field.loc) ? field.loc : []).filter((part, i) => !(i === 0 && part === "body"));
  const where = loc.length > 0 ? `${loc.join(".")}: ` : "";
  return `${where}${typeof field.msg === "string" ? field.msg : "invalid"}`;
}

/** Reads any of the four error shapes; undefined when the text is none of them. */
export function readErrorBody(text: string): ServerError | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!_isObject(body)) return undefined;
  const error = body.error;
  if (_isObject(error) && typeof error.message === "string") {
    return {
      message: error.message,
      type: typeof error.type === "string" ? error.type : undefined,
      details: error.details ?? undefined,
    };
  }
  if (typeof error === "string") return { message: error };
  const detail = body.detail;
  if (typeof detail === "string") return { message: detail };
  if (_isObject(detail) && typeof detail.message === "string") {
    return {
      message: detail.message,
      type: typeof detail.type === "string" ? detail.type : undefined,
      details: detail.details ?? undefined,
    };
  }
  if (Array.isArray(detail)) {
    const fields = detail.filter(_isObject) as unknown as FieldError[];
    if (fields.length > 0) {
      return { message: fields.map(_fieldText).join("; "), type: "validation_error", fields };
    }
  }
  if (typeof body.message === "string") return { message: body.message };
  return undefined;
}

/** 401 always; 403 when it is about the credentials (not a quota or a permission on one resource). */
function _isAuthFailure(status: number, error: ServerError | undefined): boolean {
  if (status === 401) return true;
  if (status !== 403) return false;
  if (error === undefined) return true;
  if (/quota/i.test(`${error.type ?? ""} ${error.message}`)) return false;
  return error.type === undefined
    ? /auth|api key|credential|token|not authenticated/i.test(error.message)
    : /auth|key|token|credential/i.test(error.type);
}

/** A 404 that means "no such route" (FastAPI's own `Not Found`, or no readable body), not "no such thing". */
function _routeMissing(status: number, error: ServerError | undefined): boolean {
  if (status === 405) return true;
  if (status !== 404) return false;
  return error === undefined || /^not found\.?$/i.test(error.message.trim());
}

function _hintFor(status: number, error: ServerError | undefined): string | undefined {
  const text = `${error?.type ?? ""} ${error?.message ?? ""}`;
  if (_isAuthFailure(status, error)) {
    return "check --api-key / MIXPEEK_API_KEY (or `mixpeek config set api-key`)";
  }
  if (status === 403 && /quota/i.test(text)) {
    return "delete a plugin you no longer need (`mixpeek plugin delete ID`), or ask Mixpeek for a higher quota";
  }
  if (status === 404 && /namespace/i.test(text)) return "check --namespace / MIXPEEK_NAMESPACE";
  if (status === 404 && /plugin|extractor/i.test(text)) {
    return "`mixpeek plugin list --source custom` shows the plugins of the namespace";
  }
  if (status === 409) return "bump `version` in manifest.py, or delete the existing version first";
  if (status === 422) {
    return "the server refused the request's fields; check the values named above (or upgrade mixpeek)";
  }
  if (isRetryableStatus(status)) return "the service is having trouble; try again in a moment";
  return undefined;
}

/** Turns an error answer into ApiError / AuthError with the server's message (and request id, if sent). */
export function errorFromResponse(
  status: number,
  headers: Headers,
  text: string,
  context: { label: string; route: RouteKind; baseUrl?: string; lostAnswer?: boolean },
): MixpeekError {
  const error = readErrorBody(text);
  const requestId = headers.get("x-request-id") ?? undefined;
  const where = `HTTP ${status}${requestId ? `, request id ${requestId}` : ""}`;
  const details = { status, requestId, errorType: error?.type, lostAnswer: context.lostAnswer };
  if (context.route === "custom" && _routeMissing(status, error)) {
    return new ApiError(`${context.label}: ${SHARED_HOST_MESSAGE} (${where})`, {
      ...details,
      hint: "custom plugins need Mixpeek's Enterprise infrastructure: pass --base-url https://<your host> " +
        "(or set MIXPEEK_BASE_URL)",
    });
  }
  const serverMessage = error?.message ?? (text.trim().slice(0, 200) || `HTTP ${status}`);
  const hint = _hintFor(status, error);
  if (_isAuthFailure(status, error)) {
    return new AuthError(`the API refused the key: ${serverMessage} (${where})`, { ...details, hint });
  }
  return new ApiError(`${serverMessage} (${where})`, { ...details, hint });
}
