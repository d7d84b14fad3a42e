/**
 * Helpers for the local registry's tests: a registry on 127.0.0.1 in a temp data dir (tests talk to it over
 * real HTTP only), archives built by `packPlugin` or by Python's tarfile (for malicious ones), moto_server.
 */
import { createHash } from "node:crypto";
import { packPlugin } from "../../lib/pack/pack.ts";
import { scaffoldPlugin } from "../../lib/plugin/scaffold.ts";
import {
  type LocalRegistry,
  type LocalRegistryOptions,
  startLocalRegistry,
} from "../../lib/local/registry.ts";
import type { PluginRecord, UploadTicket } from "../../lib/local/records.ts";
import { tempDir } from "../helpers/cli.ts";

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

export interface TestRegistry extends AsyncDisposable {
  registry: LocalRegistry;
  url: string;
  key: string;
  dataDir: string;
  /** `/v1/namespaces/default` + path */
  ns(path: string): string;
  /** An API call with the key (unless headers override Authorization) and a JSON body. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Stops the server but keeps the data dir (for restart tests); dispose removes it. */
  stop(): Promise<void>;
}

export async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, text, json };
}

/** Starts a registry on a free port in a fresh (or the given) data dir. */
export async function startRegistry(
  options: Partial<LocalRegistryOptions> = {},
): Promise<TestRegistry> {
  const owned = options.dataDir === undefined ? await tempDir("mixpeek-local-") : undefined;
  const dataDir = options.dataDir ?? owned!.path;
  const registry = await startLocalRegistry({ port: 0, deployDelayMs: 50, ...options, dataDir });
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      await registry.close();
    }
  };
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${registry.api_key}`, ...headers },
    };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
    return await reply(await fetch(`${registry.url}${path}`, init));
  };
  return {
    registry,
    url: registry.url,
    key: registry.api_key,
    dataDir,
    ns: (path) => `/v1/namespaces/default${path}`,
    api,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await owned?.[Symbol.asyncDispose]();
    },
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface Archive {
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  size: number;
}

export function archiveOf(bytes: Uint8Array<ArrayBuffer>): Archive {
  return { bytes, sha256: sha256Hex(bytes), size: bytes.length };
}

/**
 * A plugin from the real template, optionally changed by `mutate`, packed by the real packer.
 * The folder is named after the plugin, so the archive holds its files at the root.
 */
export async function pluginArchive(
  name: string,
  options: { realtime?: boolean; mutate?: (root: string) => Promise<void> } = {},
): Promise<Archive> {
  await using dir = await tempDir("mixpeek-plugin-");
  const root = `${dir.path}/${name}`;
  await scaffoldPlugin({
    name,
    category: "text",
    description: "a test plugin",
    author: "tests",
    resource: "cpu",
    realtime: options.realtime === true,
    target: root,
    force: false,
  });
  await options.mutate?.(root);
  const packed = await packPlugin(root, { output: `${dir.path}/out.tar.gz` });
  return archiveOf(await Deno.readFile(packed.path));
}

/** Runs a Python snippet that writes an archive to the path in sys.argv[1]; returns its bytes. */
export async function pythonArchive(script: string): Promise<Archive> {
  await using dir = await tempDir("mixpeek-pyarchive-");
  const out = `${dir.path}/archive.tar.gz`;
  const result = await new Deno.Command("python3", {
    args: ["-c", script, out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (result.code !== 0) throw new Error(`python failed: ${new TextDecoder().decode(result.stderr)}`);
  return archiveOf(await Deno.readFile(out));
}

export async function createUpload(
  reg: TestRegistry,
  name: string,
  version: string,
  archive: Archive,
): Promise<Reply> {
  return await reg.api("POST", reg.ns("/plugins/uploads"), {
    name,
    version,
    size_bytes: archive.size,
    sha256: archive.sha256,
  });
}

/** PUTs the archive to the ticket's URL as a well-behaved client does (its headers, a Content-Length). */
export async function putArchive(
  ticket: UploadTicket,
  bytes: Uint8Array<ArrayBuffer>,
  extra: Record<string, string> = {},
): Promise<Reply> {
  return await reply(
    await fetch(ticket.upload_url, { method: "PUT", body: bytes, headers: { ...ticket.headers, ...extra } }),
  );
}

/** Create, PUT and confirm; returns the confirm answer's record. */
export async function publish(
  reg: TestRegistry,
  name: string,
  version: string,
  archive: Archive,
): Promise<PluginRecord> {
  const created = await createUpload(reg, name, version, archive);
  if (created.status !== 201) throw new Error(`create upload: ${created.status} ${created.text}`);
  const put = await putArchive(created.json, archive.bytes);
  if (put.status !== 200) throw new Error(`PUT: ${put.status} ${put.text}`);
  const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${created.json.upload_id}/confirm`), {
    sha256: archive.sha256,
  });
  if (confirmed.status !== 202) throw new Error(`confirm: ${confirmed.status} ${confirmed.text}`);
  return confirmed.json;
}

/** Polls the status route until the plugin reaches one of `statuses` (no timing assertion, a generous cap). */
export async function waitFor(
  reg: TestRegistry,
  pluginId: string,
  statuses: string[] = ["ready", "failed"],
  timeoutMs = 60_000,
): Promise<PluginRecord> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await reg.api("GET", reg.ns(`/plugins/${pluginId}/status`));
    if (status.status !== 200) throw new Error(`status: ${status.status} ${status.text}`);
    if (statuses.includes(status.json.status)) {
      return (await reg.api("GET", reg.ns(`/plugins/${pluginId}`))).json;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`plugin ${pluginId} did not reach ${statuses.join("/")} in ${timeoutMs} ms`);
}

/** Every file under `root`, relative, sorted. */
export async function listTree(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}${prefix ? `/${prefix}` : ""}`)) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listTree(root, rel));
    else out.push(rel);
  }
  return out.sort();
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export interface Moto extends AsyncDisposable {
  endpoint: string;
}

/** moto_server on a free port, ready to answer; killed (by its pid) on dispose. */
export async function startMoto(): Promise<Moto> {
  const port = freePort();
  const child = new Deno.Command("moto_server", {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      await response.body?.cancel();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill();
        await child.status;
        throw new Error(`moto_server did not start: ${error}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

export const S3_CREDENTIALS = { access_key_id: "testing", secret_access_key: "testing", region: "us-east-1" };
