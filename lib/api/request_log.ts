/**
 * One line per HTTP request for `--verbose`: method, URL, status (or the failure) and time. The API key
 * never appears: the Authorization header is shown as redacted, and a presigned URL's query (its signature,
 * credential and expiry) is replaced by a placeholder, since the URL alone grants the upload.
 */

export interface RequestLogEntry {
  method: string;
  /** As sent; redacted by formatRequestLog. */
  url: string;
  /** The answer's status, or undefined when the request failed without one. */
  status?: number;
  /** Why there was no answer (a NetFailureKind, or a short text). */
  failure?: string;
  ms: number;
  /** 1-based; retries have 2, 3, … */
  attempt: number;
  requestId?: string;
  /** The URL carries its own signature (presigned): its query is hidden and no Authorization is sent. */
  presigned?: boolean;
}

const FAILURE_WORDS: Record<string, string> = {
  refused: "connection refused",
  dns: "DNS lookup failed",
  tls: "TLS handshake failed (plain HTTP on that port)",
  certificate: "certificate not trusted",
  unreachable: "unreachable",
  blocked: "blocked port",
  reset: "connection closed before the answer",
  timeout: "no answer (timed out)",
  other: "failed",
};

/** The URL as it may be shown: no user info; a presigned URL without its query. */
export function redactUrl(raw: string, presigned: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "(an invalid URL)";
  }
  url.username = "";
  url.password = "";
  if (presigned && url.search !== "") return `${url.origin}${url.pathname}?<signature redacted>`;
  return url.href;
}

export function formatRequestLog(entry: RequestLogEntry): string {
  const outcome = entry.status !== undefined
    ? `${entry.status}`
    : (FAILURE_WORDS[entry.failure ?? "other"] ?? entry.failure ?? "failed");
  const extras = [
    entry.presigned ? "no Authorization" : "Authorization: Bearer <redacted>",
    ...(entry.attempt > 1 ? [`attempt ${entry.attempt}`] : []),
    ...(entry.requestId ? [`request id ${entry.requestId}`] : []),
  ];
  return `http: ${entry.method} ${redactUrl(entry.url, entry.presigned === true)} → ${outcome} in ` +
    `${Math.round(entry.ms)} ms (${extras.join(", ")})`;
}
