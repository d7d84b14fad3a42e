/**
 * The contract's judge: a loopback proxy that records every request and answer between the CLI and
 * `mixpeek local`, and a check of each exchange against the vendored OpenAPI document (ajv, draft 2020-12):
 * the path and method are documented, the request body validates against its requestBody schema, the status
 * is one the document lists for the operation, and the answer validates against that status's schema. The
 * presigned PUT (not an API path) is checked against S3's rules and SPEC §8 instead.
 */
import { type LocalProcess, startLocalProcess } from "../helpers/local_process.ts";
import http from "node:http";
import { matchTemplate, operationOf } from "../../lib/api/openapi/document.ts";
import { describeErrors, validateRequestBody, validateResponseBody } from "../../lib/api/openapi/validate.ts";
import { baseEnv, MAIN, PERMISSIONS } from "../helpers/cli.ts";

export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: Uint8Array;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: Uint8Array;
}

export interface Recorder extends AsyncDisposable {
  url: string;
  exchanges: Exchange[];
}

/**
 * A proxy on 127.0.0.1 in front of `upstream`: it forwards each request as it came (node:http, so the Host
 * header stays the proxy's and the registry's presigned URLs point back through it) and records both sides.
 */
export function recordingProxy(upstream: string): Recorder {
  const target = new URL(upstream);
  const exchanges: Exchange[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    const headers = Object.fromEntries(request.headers);
    const answer = await new Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }>(
      (resolve, reject) => {
        const out = http.request({
          host: target.hostname,
          port: Number(target.port),
          method: request.method,
          path: `${url.pathname}${url.search}`,
          headers: { ...headers, host: url.host, "content-length": String(body.length) },
        }, (res) => {
          const chunks: Uint8Array[] = [];
          res.on("data", (c: Uint8Array) => chunks.push(c));
          res.on("end", () => {
            const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
            let at = 0;
            for (const c of chunks) {
              all.set(c, at);
              at += c.length;
            }
            const flat: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = String(v);
            resolve({ status: res.statusCode ?? 0, headers: flat, body: all });
          });
          res.on("error", reject);
        });
        out.on("error", reject);
        out.end(body);
      },
    );
    exchanges.push({
      method: request.method,
      url: `${url.pathname}${url.search}`,
      requestHeaders: headers,
      requestBody: body,
      status: answer.status,
      responseHeaders: answer.headers,
      responseBody: answer.body,
    });
    const responseHeaders = new Headers();
    for (const [k, v] of Object.entries(answer.headers)) {
      if (!["transfer-encoding", "connection", "content-length", "keep-alive"].includes(k)) {
        responseHeaders.set(k, v);
      }
    }
    return new Response(request.method === "HEAD" ? null : answer.body as Uint8Array<ArrayBuffer>, {
      status: answer.status,
      headers: responseHeaders,
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    exchanges,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

const decoder = new TextDecoder();

function _json(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  if (bytes.length === 0) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(decoder.decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

/** Everything in `exchanges` that breaks the contract, one line each ([] when the wire is clean). */
export function contractMismatches(exchanges: Exchange[], apiKey: string): string[] {
  const problems: string[] = [];
  for (const e of exchanges) {
    const path = new URL(e.url, "http://x").pathname;
    const label = `${e.method} ${e.url} → ${e.status}`;
    const upload = /^\/_uploads\/[^/]+$/.test(path);
    if (upload) {
      if (e.method !== "PUT") problems.push(`${label}: the presigned URL takes PUT`);
      if (e.requestHeaders.authorization !== undefined) {
        problems.push(`${label}: Authorization sent to storage`);
      }
      const type = e.requestHeaders["content-type"];
      if (type !== "application/gzip" && type !== "application/zip") {
        problems.push(`${label}: Content-Type ${type} is not the archive's`);
      }
      if (e.requestHeaders["content-length"] !== String(e.requestBody.length)) {
        problems.push(
          `${label}: Content-Length ${e.requestHeaders["content-length"]} for ${e.requestBody.length} bytes`,
        );
      }
      if (e.status === 200 && !/^"[0-9a-f]{32}"$/.test(e.responseHeaders.etag ?? "")) {
        problems.push(`${label}: no MD5 ETag in the answer`);
      }
      continue;
    }
    const matched = matchTemplate(path, e.method);
    if (!matched || !operationOf(matched.template, e.method)) {
      problems.push(`${label}: not a documented path and method`);
      continue;
    }
    const method = e.method.toLowerCase();
    const auth = e.requestHeaders.authorization ?? "";
    // The key the CLI was given (a wrong one may be sent on purpose: the registry must then answer 401).
    if (!auth.startsWith("Bearer ") || (auth !== `Bearer ${apiKey}` && e.status !== 401)) {
      problems.push(`${label}: no Bearer key`);
    }
    const type = e.requestHeaders["content-type"] ?? "";
    if (e.requestBody.length > 0 && !type.startsWith("multipart/")) {
      const body = _json(e.requestBody);
      if (!body.ok) problems.push(`${label}: a request body that is not JSON`);
      else {
        const errors = validateRequestBody(matched.template, method, body.value);
        if (errors === undefined) problems.push(`${label}: a body sent to an operation that takes none`);
        else if (errors.length > 0) problems.push(`${label}: request body: ${describeErrors(errors)}`);
      }
    }
    const operation = operationOf(matched.template, method)!;
    if (!(String(e.status) in operation.responses)) {
      problems.push(`${label}: status ${e.status} is not documented for ${e.method} ${matched.template}`);
      continue;
    }
    const answer = _json(e.responseBody);
    if (!answer.ok) {
      problems.push(`${label}: the answer is not JSON`);
      continue;
    }
    const errors = validateResponseBody(matched.template, method, e.status, answer.value);
    if (errors && errors.length > 0) problems.push(`${label}: answer: ${describeErrors(errors)}`);
  }
  return problems;
}

export type LocalCli = LocalProcess;

/** `mixpeek --json local --port 0 --data-dir … [args]` as a user starts it, once it listens. */
export async function startLocalCli(dataDir: string, home: string, args: string[] = []): Promise<LocalCli> {
  return startLocalProcess(
    [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN],
    dataDir,
    await baseEnv(home),
    args,
  );
}
