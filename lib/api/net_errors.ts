/**
 * Network failures as one line that names the cause and the host, with a hint, and whether a retry can
 * help. Deno's fetch reports every failure as `TypeError: fetch failed` and puts the reason in the cause
 * ("client error (Connect): tcp connect error: Connection refused (os error 111)"); Deno.connect throws
 * typed errors (ConnectionRefused, …) with the OS text. Both are read here into one of a few kinds:
 *
 * | kind        | what happened                                         | retried                  |
 * | ----------- | ----------------------------------------------------- | ------------------------ |
 * | refused     | nothing listens on that port                          | only for a remote host   |
 * | dns         | the host name does not resolve                        | no                       |
 * | tls         | TLS was spoken to a port that answers plain HTTP      | no                       |
 * | certificate | the server's certificate is not trusted               | no                       |
 * | unreachable | no route to the host, network down                    | no                       |
 * | blocked     | a port fetch never connects to (9, 25, 6000, …)      | no                       |
 * | reset       | the connection closed or was reset mid-request        | yes: it can heal         |
 * | timeout     | no answer within the limit                            | no (the wait was spent)  |
 * | other       | anything else                                         | yes                      |
 *
 * A refused connection to loopback is `mixpeek local` (or a tunnel) not running: retrying for seconds only
 * delays the answer, so it fails at once with "is `mixpeek local` running?". A reset is the one failure
 * where the request may have reached the server: the caller records it (a "lost answer") so that a retried
 * deploy or delete that then gets 409/404 can look up what really happened (client.ts).
 */
import { ApiError, type MixpeekError, TimeoutError } from "../errors.ts";

export type NetFailureKind =
  | "refused"
  | "dns"
  | "tls"
  | "certificate"
  | "unreachable"
  | "blocked"
  | "reset"
  | "timeout"
  | "other";

/** 127.0.0.0/8, ::1 and localhost (with or without the brackets of a URL's IPv6 host). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Every message in an error's cause chain, outermost first. */
function _messages(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    out.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}

/** The kind of a network failure (see the table above). */
export function classifyNetError(error: unknown): NetFailureKind {
  const text = _messages(error).join(" | ");
  if (/\bTimeoutError\b|timed out/i.test(text)) return "timeout";
  if (/Requests to port \d+ are blocked/i.test(text)) return "blocked";
  if (/ConnectionRefused|Connection refused|ECONNREFUSED|os error 111\b|os error 10061\b/i.test(text)) {
    return "refused";
  }
  if (
    /dns error|failed to lookup address|Name or service not known|nodename nor servname|No address associated|Temporary failure in name resolution|getaddrinfo|os error 11001\b/i
      .test(text)
  ) return "dns";
  if (
    /InvalidContentType|corrupt message|wrong version number|record overflow|HTTP request to an HTTPS/i.test(
      text,
    )
  ) {
    return "tls";
  }
  if (/certificate|UnknownIssuer|NotValidForName|CertExpired|BadSignature|self.signed/i.test(text)) {
    return "certificate";
  }
  if (/unreachable|No route to host|os error 101\b|os error 113\b|AddrNotAvailable/i.test(text)) {
    return "unreachable";
  }
  if (
    /reset|ConnectionReset|ConnectionAborted|BrokenPipe|Broken pipe|UnexpectedEof|connection closed|closed before|error reading a body|incomplete message|response ended|ended inside a chunk|os error 104\b|os error 32\b/i
      .test(text)
  ) return "reset";
  return "other";
}

/** Whether another attempt can help (see the table above). */
export function isRetryableNetFailure(kind: NetFailureKind, hostname: string): boolean {
  if (kind === "refused") return !isLoopbackHost(hostname);
  return kind === "reset" || kind === "other";
}

/** `host:port` as a person reads it in a URL (the port is always shown: it is often the mistake). */
export function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/** The Deno (or OS) reason at the end of the cause chain, for --verbose. */
function _innermost(error: unknown): string {
  const messages = _messages(error);
  const last = messages[messages.length - 1] ?? "";
  return last.replace(/^[A-Za-z]*Error: /, "").replace(/^error sending request for url \([^)]*\): /, "");
}

export interface NetErrorContext {
  /** What was being done, e.g. "GET /v1/namespaces/{namespace_id}/plugins" or "the upload". */
  label: string;
  /** What the user sets to change the address (a hint names it). */
  setting: string;
  timeoutMs?: number;
  /** The proxy the connection went to: a refused connection or a failed lookup is then the proxy's. */
  proxy?: URL;
}

/**
 * The error to show for a failure of `kind` reaching `url`: ApiError (exit 5) or TimeoutError (exit 6),
 * one line naming the cause and the host, a hint, and the raw reason as the cause (shown by --verbose).
 */
export function netError(
  kind: NetFailureKind,
  url: URL,
  cause: unknown,
  context: NetErrorContext,
): MixpeekError {
  const detail = { cause };
  if (context.proxy && (kind === "refused" || kind === "dns" || kind === "unreachable")) {
    const proxy = hostPort(context.proxy);
    const why = kind === "refused"
      ? "connection refused"
      : kind === "dns"
      ? `cannot resolve ${context.proxy.hostname}`
      : "unreachable";
    return new ApiError(`${context.label}: cannot connect to the proxy ${proxy}: ${why}`, {
      ...detail,
      hint: "check HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, or list the host in NO_PROXY to connect directly",
    });
  }
  if (/unsuccessful tunnel/i.test(_messages(cause).join(" "))) {
    return new ApiError(`${context.label}: the proxy refused to open a tunnel to ${hostPort(url)}`, {
      ...detail,
      hint: "the proxy may need credentials (http://user:pass@proxy:port) or forbid this host",
    });
  }
  const where = hostPort(url);
  const loopback = isLoopbackHost(url.hostname);
  switch (kind) {
    case "refused":
      return new ApiError(
        `${context.label}: cannot connect to ${where}: connection refused (nothing listens there)`,
        {
          ...detail,
          hint: loopback
            ? `is \`mixpeek local\` running? Start it with \`mixpeek local\`, or fix the port in ${context.setting}`
            : `check ${context.setting} (host and port), and that the service is up`,
        },
      );
    case "dns":
      return new ApiError(
        `${context.label}: cannot resolve ${url.hostname}: no such host (DNS lookup failed)`,
        {
          ...detail,
          hint: `check the host name in ${context.setting}, and your network or DNS settings`,
        },
      );
    case "tls":
      return new ApiError(
        `${context.label}: the TLS handshake with ${where} failed: the server there speaks plain HTTP, not https`,
        {
          ...detail,
          hint: loopback
            ? `\`mixpeek local\` serves plain http: use http://${url.host} in ${context.setting}`
            : `check the scheme and port in ${context.setting}`,
        },
      );
    case "certificate":
      return new ApiError(
        `${context.label}: the TLS certificate of ${where} is not trusted (${_innermost(cause)})`,
        {
          ...detail,
          hint: "a host with a private CA needs it: DENO_CERT=/path/to/ca.pem; or check the host name",
        },
      );
    case "blocked":
      return new ApiError(
        `${context.label}: cannot connect to ${where}: fetch never connects to port ${url.port}`,
        {
          ...detail,
          hint:
            `port ${url.port} is on the fetch standard's list of blocked ports; use another port in ${context.setting}`,
        },
      );
    case "unreachable":
      return new ApiError(`${context.label}: cannot reach ${where}: the network or host is unreachable`, {
        ...detail,
        hint: "check your network connection, VPN or proxy settings (HTTPS_PROXY, NO_PROXY)",
      });
    case "reset":
      return new ApiError(
        `${context.label}: the connection to ${where} was closed before the answer arrived`,
        {
          ...detail,
          hint: "the network or a proxy dropped it; try again (a proxy may need HTTPS_PROXY / NO_PROXY)",
        },
      );
    case "timeout": {
      const seconds = context.timeoutMs === undefined ? "" : ` within ${context.timeoutMs / 1000} s`;
      return new TimeoutError(`${context.label}: no answer from ${where}${seconds}`, {
        ...detail,
        hint: loopback
          ? "is `mixpeek local` stuck? Restart it; or raise MIXPEEK_REQUEST_TIMEOUT (seconds)"
          : "the service may be overloaded; try again, or raise MIXPEEK_REQUEST_TIMEOUT (seconds)",
      });
    }
    default:
      return new ApiError(`${context.label}: cannot reach ${where}: ${_innermost(cause)}`, {
        ...detail,
        hint: `check ${context.setting} and your network or proxy settings`,
      });
  }
}
