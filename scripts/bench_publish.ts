/**
 * Benchmark: `mixpeek plugin publish` of a ~1 GB plugin to `mixpeek local` (its own process) against the
 * shell pipeline a user could write instead — `tar -czf` (gzip -6) + `sha256sum` + `curl -T` to an upload
 * URL of the same registry — on the same tree, in the same run. Prints both wall times and throughputs,
 * the ratio and the CLI's peak RSS. Targets: ratio ≥ 0.7 of the pipeline's throughput, peak RSS < 150 MB.
 *
 *   deno run -A scripts/bench_publish.ts [--size-mb 1000] [--py-files 1000] [--keep]
 *
 * The publish includes what the pipeline skips (structure/schema/pipeline checks with Python and the
 * security scan of every .py file); neither side waits for the registry's own validation, and the
 * registry is idle (its validation of our upload finished) before the pipeline runs.
 */
import { parseArgs } from "node:util";
import { generatePayload } from "./bench_util.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mb": { type: "string", default: "1000" },
    "py-files": { type: "string", default: "1000" },
    keep: { type: "boolean", default: false },
  },
});
const decoder = new TextDecoder();

interface Timed {
  seconds: number;
  peakRssMb?: number;
  stdout: string;
}

/** Runs a command (under /usr/bin/time -v for its peak RSS); throws with its output if it fails. */
async function timed(cmd: string[], env: Record<string, string> = {}, cwd?: string): Promise<Timed> {
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", { args: ["-v", ...cmd], env, cwd, stdin: "null" })
    .output();
  const seconds = (performance.now() - start) / 1000;
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} failed:\n${stderr.slice(-3000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { seconds, peakRssMb: rss ? Number(rss[1]) / 1024 : undefined, stdout: decoder.decode(out.stdout) };
}

async function startRegistry(dataDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--json", "local", "--port", "0", "--data-dir", dataDir],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("mixpeek local stopped before listening");
    text += decoder.decode(value);
    try {
      const info = JSON.parse(text) as { base_url: string; api_key: string; namespace: string };
      reader.releaseLock();
      child.stdout.cancel();
      return { child, info };
    } catch { /* not complete yet */ }
  }
}

async function api(
  info: { base_url: string; api_key: string },
  method: string,
  path: string,
  body?: unknown,
) {
  const response = await fetch(`${info.base_url}/v1/namespaces/default${path}`, {
    method,
    headers: { authorization: `Bearer ${info.api_key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function waitSettled(info: { base_url: string; api_key: string }, id: string): Promise<string> {
  for (;;) {
    const { status } = await api(info, "GET", `/plugins/${id}/status`);
    if (status === "ready" || status === "failed") return status;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const work = await Deno.makeTempDir({ prefix: "mixpeek-bench-publish-" });
const registry = await startRegistry(`${work}/registry`);
try {
  const plugin = `${work}/bench-plugin`;
  const init = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "plugin", "init", "bench-plugin", "--category", "text", "--no-input"],
    cwd: work,
    stdout: "null",
  }).output();
  if (!init.success) throw new Error("plugin init failed");
  const t0 = performance.now();
  const payload = await generatePayload(plugin, {
    totalBytes: Number(values["size-mb"]) * 1e6,
    pyFiles: Number(values["py-files"]),
    bigFiles: 4,
  });
  const mb = payload.bytes / 1e6;
  console.log(
    `plugin: ${mb.toFixed(1)} MB (${payload.files} generated files + the text template), ` +
      `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const env = {
    MIXPEEK_BASE_URL: registry.info.base_url,
    MIXPEEK_API_KEY: registry.info.api_key,
    MIXPEEK_NAMESPACE: registry.info.namespace,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? work,
    PYTHONDONTWRITEBYTECODE: "1",
  };

  const ours = await timed(
    [Deno.execPath(), "run", "-A", MAIN, "--json", "plugin", "publish", "--path", plugin, "--yes"],
    env,
  );
  const published = JSON.parse(ours.stdout);
  const settled = await waitSettled(registry.info, published.plugin_id);
  console.log(`(registry validated our upload: ${settled}; now idle)`);

  // The shell pipeline: tar -czf, sha256sum, an upload ticket, curl -T with the ticket's headers.
  const archive = `${work}/pipeline.tar.gz`;
  const tar = await timed(["tar", "-C", plugin, "-I", "gzip -6", "-cf", archive, "."]);
  const sum = await timed(["sha256sum", archive]);
  const sha256 = sum.stdout.split(/\s+/)[0];
  const size = (await Deno.stat(archive)).size;
  const ticketStart = performance.now();
  const ticket = await api(registry.info, "POST", "/plugins/uploads", {
    name: "pipeline_ref",
    version: "1.0.0",
    size_bytes: size,
    sha256,
  });
  const ticketSeconds = (performance.now() - ticketStart) / 1000;
  const headers = Object.entries(ticket.headers as Record<string, string>).flatMap((
    [k, v],
  ) => ["-H", `${k}: ${v}`]);
  const curl = await timed(["curl", "-sS", "--fail", "-T", archive, ...headers, ticket.upload_url]);
  const pipelineSeconds = tar.seconds + sum.seconds + ticketSeconds + curl.seconds;

  const oursRate = mb / ours.seconds;
  const pipeRate = mb / pipelineSeconds;
  const ratio = oursRate / pipeRate;
  const rssMiB = ours.peakRssMb ?? NaN;
  const rss = rssMiB * 1.048576; // MB (10^6 bytes), the unit of the target
  console.log(
    `mixpeek plugin publish          ${ours.seconds.toFixed(2).padStart(7)} s  ${
      oursRate.toFixed(1)
    } MB/s  ` +
      `peak RSS ${rss.toFixed(1)} MB (${rssMiB.toFixed(1)} MiB)`,
  );
  console.log(
    `tar -czf + sha256sum + curl -T  ${pipelineSeconds.toFixed(2).padStart(7)} s  ${
      pipeRate.toFixed(1)
    } MB/s  ` +
      `(tar ${tar.seconds.toFixed(2)} s, sha256sum ${sum.seconds.toFixed(2)} s, curl ${
        curl.seconds.toFixed(2)
      } s)`,
  );
  console.log(
    `ratio (ours / pipeline): ${ratio.toFixed(2)}×  target ≥ 0.70×: ${ratio >= 0.7 ? "met" : "NOT met"}; ` +
      `peak RSS target < 150 MB: ${rss < 150 ? "met" : "NOT met"}`,
  );
  if (ratio < 0.7 || !(rss < 150)) Deno.exitCode = 1;
} finally {
  registry.child.kill("SIGTERM");
  await registry.child.status;
  if (!values.keep) await Deno.remove(work, { recursive: true });
  else console.log(`kept ${work}`);
}
