/**
 * The connection the API client's fetch uses, chosen by the rules of proxy.ts rather than left to Deno's
 * own reading of the proxy variables (which sends loopback through a proxy, and a plain-http request with
 * its Authorization header to the proxy in clear):
 *
 * - http destination, no proxy (always so for loopback): a client whose "transport" is a plain TCP
 *   connection to the destination itself, so no proxy variable can redirect it;
 * - http destination through a proxy (only with --insecure to a remote host): refused, since the proxy
 *   would read the key;
 * - https destination through a proxy: that proxy, explicitly (Deno opens a CONNECT tunnel for https, so the
 *   proxy sees the host name and encrypted bytes only); credentials in the proxy URL become Basic auth;
 * - https destination, no proxy: Deno's default client, built with the proxy variables out of sight when
 *   any is set (NO_PROXY or loopback said "direct"), so Deno's matching cannot differ from ours.
 */
import type { Env } from "../config.ts";
import { UsageError } from "../errors.ts";
import { hostPort } from "./net_errors.ts";
import { PROXY_VARIABLES, proxyConfigured, proxyFor } from "./proxy.ts";

export interface Transport {
  /** Passed to fetch; undefined: Deno's default client. */
  client?: Deno.HttpClient;
  /** The proxy the requests go through, if any (for error messages). */
  proxy?: URL;
}

/** Runs `build` with the proxy variables removed from the environment, then puts them back. */
function _withoutProxyVariables<T>(build: () => T): T {
  const saved: [string, string][] = [];
  try {
    for (const name of PROXY_VARIABLES) {
      const value = Deno.env.get(name);
      if (value !== undefined) {
        saved.push([name, value]);
        Deno.env.delete(name);
      }
    }
  } catch {
    // Not allowed to change the environment (a scoped --allow-env): Deno's own matching then decides,
    // which for https is at worst a CONNECT tunnel, never the key in clear.
    for (const [name, value] of saved) Deno.env.set(name, value);
    return build();
  }
  try {
    return build(); // synchronous: nothing else runs while the variables are away
  } finally {
    for (const [name, value] of saved) Deno.env.set(name, value);
  }
}

function _proxyTransport(proxy: URL): "http" | "https" | "socks5" {
  if (proxy.protocol === "http:") return "http";
  if (proxy.protocol === "https:") return "https";
  if (proxy.protocol === "socks5:" || proxy.protocol === "socks5h:") return "socks5";
  throw new UsageError(`the proxy ${proxy.href} is not an http://, https:// or socks5:// URL`, {
    hint: "fix HTTPS_PROXY / HTTP_PROXY / ALL_PROXY",
  });
}

/** The transport for requests to `base` (see the module doc). */
export function apiTransport(base: URL, env: Env = Deno.env): Transport {
  const proxy = proxyFor(base, env);
  const https = base.protocol === "https:";
  if (!https) {
    if (proxy) {
      throw new UsageError(
        `the API at ${base.origin} is plain http, and the proxy ${hostPort(proxy)} would read the API key ` +
          "in every request",
        {
          hint:
            `use an https base URL (sent through the proxy as a tunnel), or list ${base.hostname} in NO_PROXY`,
        },
      );
    }
    const port = Number(base.port || 80);
    const hostname = base.hostname.replace(/^\[|\]$/g, "");
    return { client: Deno.createHttpClient({ proxy: { transport: "tcp", hostname, port } }) };
  }
  if (proxy) {
    const credentials = proxy.username
      ? {
        basicAuth: {
          username: decodeURIComponent(proxy.username),
          password: decodeURIComponent(proxy.password),
        },
      }
      : {};
    const transport = _proxyTransport(proxy);
    const url = `${proxy.protocol}//${proxy.host}`;
    return { client: Deno.createHttpClient({ proxy: { transport, url, ...credentials } }), proxy };
  }
  if (!proxyConfigured(env)) return {};
  return { client: _withoutProxyVariables(() => Deno.createHttpClient({})) };
}
