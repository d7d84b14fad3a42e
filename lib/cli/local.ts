/**
 * `mixpeek local`: runs the local registry (lib/local/registry.ts) in the foreground until SIGINT/SIGTERM,
 * then shuts it down cleanly (exit 0). Prints where it listens and the `export …` line to use it; with
 * `--json`, one object `{base_url, api_key, namespace, data_dir}` on stdout once listening.
 */
import { UsageError } from "../errors.ts";
import { s3OptionsFromEnv } from "../local/blobs.ts";
import { loadFaultsFile } from "../local/faults.ts";
import { defaultDataDir } from "../local/paths.ts";
import { type LocalRegistry, startLocalRegistry } from "../local/registry.ts";
import { parseByteSize } from "../pack/size.ts";
import { findPython } from "../plugin/python.ts";
import type { Context } from "./context.ts";

export interface LocalFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  s3Endpoint?: string;
  s3Bucket?: string;
  uploadTtl?: string;
  maxUploadSize?: string;
  faults?: string;
  faultAdmin?: boolean;
  allowRemote?: boolean;
  archiveFormat?: string;
  pluginQuota?: string;
  python?: string;
  invokeTimeout?: string;
  idleTimeout?: string;
  headerTimeout?: string;
  bodyTimeout?: string;
  maxConnections?: string;
}

export interface LocalStartInfo {
  base_url: string;
  api_key: string;
  namespace: string;
  data_dir: string;
}

export const DEFAULT_PORT = 8787;

function _integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Seconds (decimals allowed, e.g. 0.5) as milliseconds, for the connection timeouts. */
function _seconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0.05 || n > 86400) {
    throw new UsageError(`${flag} ${JSON.stringify(value)} must be a number of seconds from 0.05 to 86400`);
  }
  return Math.round(n * 1000);
}

/** POSIX shell single quotes, for paths in the printed export line. */
function _shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export async function runLocal(flags: LocalFlags, ctx: Context): Promise<void> {
  const port = flags.port === undefined ? DEFAULT_PORT : _integer("--port", flags.port, 0, 65535);
  if ((flags.s3Endpoint === undefined) !== (flags.s3Bucket === undefined)) {
    throw new UsageError("--s3-endpoint and --s3-bucket go together", {
      hint: "pass both (e.g. --s3-endpoint http://127.0.0.1:5000 --s3-bucket plugins), " +
        "or neither for disk storage",
    });
  }
  let maxUploadBytes: number | undefined;
  if (flags.maxUploadSize !== undefined) {
    maxUploadBytes = parseByteSize(flags.maxUploadSize);
    if (!maxUploadBytes) {
      throw new UsageError(`--max-upload-size ${JSON.stringify(flags.maxUploadSize)} is not a size`, {
        hint: "pass a size like --max-upload-size 100MB (units B, KB, MB, GB; powers of 1024)",
      });
    }
  }
  if (
    flags.archiveFormat !== undefined && flags.archiveFormat !== "zip" && flags.archiveFormat !== "tar.gz"
  ) {
    throw new UsageError(`--archive-format ${JSON.stringify(flags.archiveFormat)} is not zip or tar.gz`);
  }
  const quota = flags.pluginQuota === undefined
    ? undefined
    : _integer("--plugin-quota", flags.pluginQuota, 0, 1_000_000);
  // An explicit --python must exist now; without one, workers find a Python at their first deploy (a
  // registry that only stores plugins needs none).
  const python = flags.python === undefined
    ? undefined
    : (await findPython(Deno.cwd(), { flag: flags.python, env: ctx.env })).command;
  const limits = {
    idle_ms: _seconds("--idle-timeout", flags.idleTimeout),
    header_ms: _seconds("--header-timeout", flags.headerTimeout),
    body_ms: _seconds("--body-timeout", flags.bodyTimeout),
    max_connections: flags.maxConnections === undefined
      ? undefined
      : _integer("--max-connections", flags.maxConnections, 1, 100_000),
  };
  const registry = await startLocalRegistry({
    python,
    invokeTimeoutMs: _seconds("--invoke-timeout", flags.invokeTimeout),
    limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    archiveFormat: flags.archiveFormat as "zip" | "tar.gz" | undefined,
    quota,
    dataDir: flags.dataDir ?? defaultDataDir(ctx.env),
    host: flags.host,
    port,
    allowRemote: flags.allowRemote === true,
    s3: flags.s3Endpoint === undefined
      ? undefined
      : s3OptionsFromEnv(flags.s3Endpoint, flags.s3Bucket!, ctx.env),
    uploadTtlSeconds: flags.uploadTtl === undefined
      ? undefined
      : _integer("--upload-ttl", flags.uploadTtl, 1, 604800),
    maxUploadBytes,
    faults: flags.faults === undefined ? undefined : await loadFaultsFile(flags.faults),
    faultAdmin: flags.faultAdmin === true,
    onLog: (
      line,
    ) => (line.includes(" → ") && /^[A-Z]+ \//.test(line) ? ctx.out.debug(line) : ctx.out.info(line)),
  });
  const stopped = _waitForSignal();
  try {
    _announce(registry, flags, ctx);
    const signal = await stopped.promise;
    ctx.out.info(`${signal}: stopping the local registry…`);
  } finally {
    stopped.dispose();
    await registry.close();
  }
  ctx.out.info("stopped");
}

function _announce(registry: LocalRegistry, flags: LocalFlags, ctx: Context): void {
  const info: LocalStartInfo = {
    base_url: registry.url,
    api_key: registry.api_key,
    namespace: registry.namespace,
    data_dir: registry.data_dir,
  };
  if (ctx.out.json) {
    ctx.out.result(info, () => "");
  } else {
    const keyPart = registry.new_api_key
      ? registry.api_key
      : `"$(cat ${_shellQuote(`${registry.data_dir}/api_key`)})"`;
    ctx.out.result(
      info,
      () =>
        `export MIXPEEK_BASE_URL=${registry.url} MIXPEEK_API_KEY=${keyPart} ` +
        `MIXPEEK_NAMESPACE=${registry.namespace}`,
    );
  }
  const where = registry.backend === "s3"
    ? `bucket ${flags.s3Bucket} at ${flags.s3Endpoint}`
    : "the data dir";
  ctx.out.success(`mixpeek local registry listening on ${registry.url}`);
  ctx.out.info(`  data dir: ${registry.data_dir} (archives in ${where})`);
  if (registry.new_api_key) {
    ctx.out.info(
      `  created a dev API key (saved in ${registry.data_dir}/api_key) and the namespace "default"`,
    );
  }
  if (!ctx.out.json) {
    ctx.out.info("  run the export line above in your shell to point mixpeek at this registry");
  }
  ctx.out.info("  press Ctrl-C to stop");
}

/** Resolves with the first SIGINT or SIGTERM (SIGTERM does not exist on Windows). */
function _waitForSignal(): { promise: Promise<string>; dispose(): void } {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const handlers: [Deno.Signal, () => void][] = [];
  const promise = new Promise<string>((resolve) => {
    for (const signal of signals) {
      const handler = () => resolve(signal);
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    }
  });
  return {
    promise,
    dispose() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}
