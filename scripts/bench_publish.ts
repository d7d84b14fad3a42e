/**
 * Benchmark: `mixpeek plugin publish` of the largest legal plugin (500 MB in at most 1,000 files, Mixpeek's
 * limits) to `mixpeek local` (its own process), once per archive format, against the shell pipeline a user
 * could write instead, on the same tree and the same registry, in the same run:
 *   tar.gz: `tar -czf` (gzip -6) → POST …/plugins/uploads → `curl -T` to presigned_url → POST …/confirm
 *   zip:    `zip -qr` (deflate -6) → the same three calls (the registry started with --archive-format zip)
 * Prints both wall times and throughputs, the ratio and the CLI's peak RSS (VmHWM from /proc, the deno
 * process itself; the Python checks are children). Targets: ratio ≥ 1.0× the pipeline's speed, peak RSS
 * < 150 MB. Exit code 1 when a target is missed.
 *
 *   deno run -A scripts/bench_publish.ts [--size-mb 500] [--py-files 900] [--format tar.gz|zip|both] [--keep]
 *
 * The publish does what the pipeline skips (structure, manifest and pipeline checks with Python, the security
 * scan of every .py file) and both sides wait for the same confirm (the registry unpacks, checks and scans the
 * archive before it answers). `--no-deploy` keeps deploy out of it (the pipeline does not deploy either).
 */
import { parseArgs } from "node:util";
import { generatePayload, measureProcess, startLocal } from "./bench_util.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mb": { type: "string", default: "500" },
    "py-files": { type: "string", default: "900" },
    format: { type: "string", default: "both" },
    keep: { type: "boolean", default: false },
  },
});
const decoder = new TextDecoder();
const FORMATS = values.format === "both" ? ["tar.gz", "zip"] as const : [values.format as "tar.gz" | "zip"];

/** The registry and its start document (the pipeline's calls use the same one). */
async function startRegistry(dataDir: string, format: string) {
  const { child, ...info } = await startLocal(dataDir, ["--archive-format", format]);
  return { child, info };
}

async function api(info: { base_url: string; api_key: string }, path: string, body: unknown) {
  const response = await fetch(`${info.base_url}/v1/namespaces/default${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${info.api_key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function run(cmd: string[], cwd?: string): Promise<{ seconds: number; stdout: string }> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`${cmd.join(" ")} failed:\n${decoder.decode(out.stderr).slice(-3000)}`);
  return { seconds: (performance.now() - start) / 1000, stdout: decoder.decode(out.stdout) };
}

const work = await Deno.makeTempDir({ prefix: "mixpeek-bench-publish-" });
let failed = false;
try {
  const plugin = `${work}/bench_plugin`;
  const init = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "plugin", "init", "bench_plugin", "--category", "text", "--no-input"],
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
  const listed = await run(["find", plugin, "-type", "f"]);
  const fileCount = listed.stdout.trim().split("\n").length;
  const mb = payload.bytes / 1e6;
  console.log(
    `plugin: ${mb.toFixed(1)} MB in ${fileCount} files (${payload.files} generated + the text template), ` +
      `generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  for (const [index, format] of FORMATS.entries()) {
    const registry = await startRegistry(`${work}/registry-${index}`, format);
    try {
      const env = {
        MIXPEEK_BASE_URL: registry.info.base_url,
        MIXPEEK_API_KEY: registry.info.api_key,
        MIXPEEK_NAMESPACE: registry.info.namespace,
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? work,
        PYTHONDONTWRITEBYTECODE: "1",
      };
      const ours = await measureProcess(
        [
          Deno.execPath(),
          "run",
          "-A",
          MAIN,
          "--json",
          "plugin",
          "publish",
          plugin,
          "--yes",
          "--no-deploy",
          "--format",
          format,
        ],
        { env },
      );
      if (ours.code !== 0) throw new Error(`publish failed:\n${ours.stderr.slice(-3000)}`);
      const published = JSON.parse(ours.stdout);

      // The pipeline: an archive with the standard tool, then the three calls, with curl for the PUT.
      const archive = `${work}/pipeline.${format}`;
      const pack = format === "zip"
        ? await run(["zip", "-qr", archive, "."], plugin)
        : await run(["tar", "-C", plugin, "-I", "gzip -6", "-cf", archive, "."]);
      const size = (await Deno.stat(archive)).size;
      const callsStart = performance.now();
      const ticket = await api(registry.info, "/plugins/uploads", {
        name: "pipeline_ref",
        version: "1.0.0",
        file_size_bytes: size,
      });
      const curl = await run([
        "curl",
        "-sS",
        "--fail",
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-T",
        archive,
        "-H",
        `Content-Type: ${format === "zip" ? "application/zip" : "application/gzip"}`,
        ticket.presigned_url,
      ]);
      const etag = /^etag: "?([^"\r\n]+)"?/im.exec(curl.stdout)?.[1];
      const confirmed = await api(registry.info, `/plugins/uploads/${ticket.upload_id}/confirm`, {
        etag,
        file_size_bytes: size,
      });
      if (!confirmed.success) throw new Error(`the pipeline's confirm failed: ${JSON.stringify(confirmed)}`);
      const callsSeconds = (performance.now() - callsStart) / 1000;
      const pipelineSeconds = pack.seconds + callsSeconds;

      const oursSeconds = ours.ms / 1000;
      const ratio = pipelineSeconds / oursSeconds;
      const rss = ours.peakRssMb * 1.048576; // MB (10^6 bytes), the unit of the target
      const tool = format === "zip" ? "zip -qr   " : "tar -czf  ";
      console.log(
        `\n${format}: the CLI's archive ${(published.archive.size / 1e6).toFixed(1)} MB, the tool's ${
          (size / 1e6).toFixed(1)
        } MB`,
      );
      console.log(
        `  mixpeek plugin publish               ${oursSeconds.toFixed(2).padStart(7)} s  ${
          (mb / oursSeconds).toFixed(1)
        } MB/s  ` +
          `peak RSS ${rss.toFixed(1)} MB (${ours.peakRssMb.toFixed(1)} MiB, VmHWM)`,
      );
      console.log(
        `  ${tool}+ upload URL + curl -T + confirm ${pipelineSeconds.toFixed(2).padStart(7)} s  ${
          (mb / pipelineSeconds).toFixed(1)
        } MB/s  (${tool.trim()} ${pack.seconds.toFixed(2)} s, calls ${callsSeconds.toFixed(2)} s)`,
      );
      const ok = ratio >= 1.0 && rss < 150;
      console.log(
        `  ratio (pipeline time / ours): ${ratio.toFixed(2)}×  target ≥ 1.00×: ${
          ratio >= 1 ? "met" : "NOT met"
        }; ` +
          `peak RSS target < 150 MB: ${rss < 150 ? "met" : "NOT met"}`,
      );
      if (!ok) failed = true;
    } finally {
      registry.child.kill("SIGTERM");
      await registry.child.status;
    }
  }
} finally {
  if (!values.keep) await Deno.remove(work, { recursive: true });
  else console.log(`kept ${work}`);
}
if (failed) Deno.exitCode = 1;
