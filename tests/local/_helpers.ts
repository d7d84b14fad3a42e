/**
 * Helpers for the local registry's tests: a registry on 127.0.0.1 in a temp data dir (tests talk to it over
 * real HTTP only), archives built by `packPlugin` or by Python's tarfile (for malicious ones), moto_server,
 * and a check of answers against the vendored OpenAPI document.
 */
import { createHash } from "node:crypto";
import { type PackFormat, packPlugin } from "../../lib/pack/pack.ts";
import { scaffoldPlugin } from "../../lib/plugin/scaffold.ts";
import {
  type LocalRegistry,
  type LocalRegistryOptions,
  startLocalRegistry,
} from "../../lib/local/registry.ts";
import { matchTemplate } from "../../lib/api/openapi/document.ts";
import { RecordingDeployer } from "../../lib/local/deployer.ts";
import { describeErrors, validateResponseBody } from "../../lib/api/openapi/validate.ts";
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

/** Throws unless the answer to METHOD path validates against the document's schema for its status. */
export function assertDocumented(method: string, path: string, r: Reply): void {
  const matched = matchTemplate(new URL(path, "http://x").pathname, method);
  if (!matched) throw new Error(`${method} ${path} is not a documented path`);
  const errors = validateResponseBody(matched.template, method.toLowerCase(), r.status, r.json);
  if (errors && errors.length > 0) {
    throw new Error(
      `${method} ${path} → ${r.status} does not match the OpenAPI: ${describeErrors(errors)}\n${r.text}`,
    );
  }
}

/**
 * Starts a registry on a free port in a fresh (or the given) data dir. Its realtime deployments are only
 * recorded (RecordingDeployer, `deployStepMs` apart) unless `workers` asks for the registry's default, the
 * supervised Python workers (tests/deploy/), or a `deployer` is given.
 */
export async function startRegistry(
  options: Partial<LocalRegistryOptions> & { deployStepMs?: number; workers?: boolean } = {},
): Promise<TestRegistry> {
  const { deployStepMs = 30, workers = false, ...rest } = options;
  const owned = rest.dataDir === undefined ? await tempDir("mixpeek-local-") : undefined;
  const dataDir = rest.dataDir ?? owned!.path;
  const deployer = rest.deployer ?? (workers ? undefined : new RecordingDeployer(deployStepMs));
  const registry = await startLocalRegistry({ port: 0, ...rest, deployer, dataDir });
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
    const r = await reply(await fetch(`${registry.url}${path}`, init));
    // Every answer of a documented path is checked against the document, whatever the test asserts next.
    if (matchTemplate(new URL(path, registry.url).pathname)) assertDocumented(method, path, r);
    return r;
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
  md5: string;
  size: number;
  format: PackFormat;
}

export function archiveOf(bytes: Uint8Array<ArrayBuffer>, format: PackFormat = "tar.gz"): Archive {
  return {
    bytes,
    sha256: sha256Hex(bytes),
    md5: createHash("md5").update(bytes).digest("hex"),
    size: bytes.length,
    format,
  };
}

export const CONTENT_TYPE: Record<PackFormat, string> = {
  "tar.gz": "application/gzip",
  "zip": "application/zip",
};

/**
 * A plugin from the real template, optionally changed by `mutate`, packed by the real packer (its archive
 * holds `<name>/…`).
 */
export async function pluginArchive(
  name: string,
  options: { realtime?: boolean; format?: PackFormat; mutate?: (root: string) => Promise<void> } = {},
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
  const format = options.format ?? "tar.gz";
  const packed = await packPlugin(root, { output: `${dir.path}/out.${format}`, format });
  return archiveOf(await Deno.readFile(packed.path), format);
}

/** Runs a Python snippet that writes an archive to the path in sys.argv[1]; returns its bytes. */
export async function pythonArchive(script: string, format: PackFormat = "tar.gz"): Promise<Archive> {
  await using dir = await tempDir("mixpeek-pyarchive-");
  const out = `${dir.path}/archive.${format}`;
  const result = await new Deno.Command("python3", {
    args: ["-c", script, out],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (result.code !== 0) throw new Error(`python failed: ${new TextDecoder().decode(result.stderr)}`);
  return archiveOf(await Deno.readFile(out), format);
}

/** POST …/plugins/uploads with {name, version, file_size_bytes} (what Mixpeek's original CLI sends). */
export async function createUpload(
  reg: TestRegistry,
  name: string,
  version: string,
  archive?: Archive,
  extra: Record<string, unknown> = {},
): Promise<Reply> {
  return await reg.api("POST", reg.ns("/plugins/uploads"), {
    name,
    version,
    ...(archive ? { file_size_bytes: archive.size } : {}),
    ...extra,
  });
}

/** PUTs the archive to the presigned URL as a well-behaved client does: Content-Type and Content-Length. */
export async function putArchive(
  url: string,
  archive: Archive,
  extra: Record<string, string> = {},
  body: Uint8Array<ArrayBuffer> = archive.bytes,
): Promise<Reply> {
  return await reply(
    await fetch(url, {
      method: "PUT",
      body,
      headers: { "content-type": CONTENT_TYPE[archive.format], ...extra },
    }),
  );
}

export async function confirm(reg: TestRegistry, uploadId: string, body?: unknown): Promise<Reply> {
  return await reg.api("POST", reg.ns(`/plugins/uploads/${uploadId}/confirm`), body);
}

/** Create, PUT and confirm (with the ETag and size); returns the confirm answer. */
export async function publish(
  reg: TestRegistry,
  name: string,
  version: string,
  archive: Archive,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const created = await createUpload(reg, name, version, archive);
  if (created.status !== 200) throw new Error(`create upload: ${created.status} ${created.text}`);
  const put = await putArchive(created.json.presigned_url, archive);
  if (put.status !== 200) throw new Error(`PUT: ${put.status} ${put.text}`);
  const etag = (put.headers.get("etag") ?? "").replace(/"/g, "");
  const confirmed = await confirm(reg, created.json.upload_id, { etag, file_size_bytes: archive.size });
  if (confirmed.status !== 200) throw new Error(`confirm: ${confirmed.status} ${confirmed.text}`);
  return confirmed.json;
}

/** Polls the status route until the deployment reaches one of `statuses` (no timing assertion, a cap). */
export async function waitFor(
  reg: TestRegistry,
  pluginId: string,
  statuses: string[] = ["deployed", "failed", "not_deployed"],
  timeoutMs = 60_000,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await reg.api("GET", reg.ns(`/plugins/${pluginId}/status`));
    if (status.status !== 200) throw new Error(`status: ${status.status} ${status.text}`);
    if (statuses.includes(status.json.status)) return status.json;
    await new Promise((r) => setTimeout(r, 20));
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
