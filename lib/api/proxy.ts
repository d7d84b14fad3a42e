/**
 * Which proxy a connection goes through, one rule for the API calls (transport.ts) and the presigned upload
 * (upload.ts), so that both agree and the API key never crosses a proxy in clear:
 *
 * - loopback destinations (127.0.0.0/8, ::1, localhost: `mixpeek local`) are always reached directly: a
 *   corporate proxy cannot reach the user's own machine, and must never see a request meant for it;
 * - NO_PROXY lists hosts reached directly: `*`, exact hosts or IPs, domain suffixes (`example.com` and
 *   `.example.com` both match `api.example.com`), each optionally with `:port`;
 * - otherwise HTTPS_PROXY (https destinations) or HTTP_PROXY (http ones), then ALL_PROXY, in upper or lower
 *   case, names the proxy.
 *
 * An https destination goes through an http:// proxy only as a CONNECT tunnel (TLS end to end, the proxy
 * sees the host name only); a plain-http API call through a proxy is refused (transport.ts), since the
 * proxy would read the Authorization header.
 */
import type { Env } from "../config.ts";
import { isLoopbackHost } from "./net_errors.ts";

/** The variables a proxy setting can come from, in every spelling Deno's own fetch reads. */
export const PROXY_VARIABLES = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
] as const;

function _get(env: Env, name: string): string | undefined {
  const value = env.get(name) ?? env.get(name.toLowerCase());
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function _defaultPort(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

/** True when NO_PROXY says `url` is reached directly. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = _defaultPort(url);
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const match = entry.match(/^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/);
    if (!match) continue;
    const entryHost = match[1].replace(/^\[|\]$/g, "").replace(/^\*?\./, "");
    if (match[2] && match[2] !== port) continue;
    if (host === entryHost || host.endsWith(`.${entryHost}`)) return true;
  }
  return false;
}

/** The proxy to use for `url`, or undefined for a direct connection (loopback is always direct). */
export function proxyFor(url: URL, env: Env = Deno.env): URL | undefined {
  if (isLoopbackHost(url.hostname)) return undefined;
  if (bypassesProxy(url, _get(env, "NO_PROXY"))) return undefined;
  const raw = (url.protocol === "https:" ? _get(env, "HTTPS_PROXY") : _get(env, "HTTP_PROXY")) ??
    _get(env, "ALL_PROXY");
  if (!raw) return undefined;
  try {
    return new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

/** Whether any proxy variable is set (then Deno's own fetch would consult them). */
export function proxyConfigured(env: Env = Deno.env): boolean {
  return PROXY_VARIABLES.some((name) => (env.get(name) ?? "").trim() !== "");
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${btoa(credentials)}`;
}
