/**
 * Proxy settings for the presigned upload (node:http does not read them; Deno's fetch, used for the API
 * calls, already does). HTTP_PROXY / HTTPS_PROXY (or lower case) name the proxy; NO_PROXY lists hosts
 * that bypass it: `*`, exact hosts or IPs, domain suffixes (`example.com` and `.example.com` both match
 * `api.example.com`), each optionally with `:port`.
 */
import type { Env } from "../config.ts";

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

/** The proxy to use for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: Env = Deno.env): URL | undefined {
  if (bypassesProxy(url, _get(env, "NO_PROXY"))) return undefined;
  const raw = url.protocol === "https:" ? _get(env, "HTTPS_PROXY") : _get(env, "HTTP_PROXY");
  if (!raw) return undefined;
  try {
    return new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${btoa(credentials)}`;
}
