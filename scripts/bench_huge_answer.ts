/**
 * Benchmark of the client's answer cap: peak RSS of `mixpeek plugin list` when the "API" streams a 1.5 GB
 * answer, beside the same command on a normal answer (`mixpeek local`), measured in the same run. Memory is
 * read from /proc/PID/status (VmHWM, polled every 2 ms) and from wait4's rusage (exact), by
 * scripts/peak_rss.py.
 * Target: the huge answer costs less than the normal one + 96 MiB (the cap is 32 MiB). Exit 1 when missed.
 *
 *   deno run -A scripts/bench_huge_answer.ts [--size-gb 1.5] [--main path/to/other/main.ts]
 *
 * `--main` measures another checkout (e.g. one before the cap, which read the whole answer into memory).
 */
import { startLocalRegistry } from "../lib/local/registry.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function _arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const SIZE = Math.round(Number(_arg("--size-gb") ?? 1.5) * 1024 ** 3);
const MAIN = _arg("--main") ?? `${ROOT}main.ts`;

/** Streams `bytes` of JSON-looking filler, 1 MiB at a time, as it is read. */
function hugeApi(bytes: number) {
  const chunk = new TextEncoder().encode(`{"x":"${"y".repeat(1024 * 1024 - 9)}"},`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    let left = bytes;
    return new Response(
      new ReadableStream<Uint8Array>({
        start: (c) => c.enqueue(new TextEncoder().encode('{"extractors": [')),
        pull(c) {
          if (left <= 0) return c.close();
          const piece = chunk.subarray(0, Math.min(chunk.length, left));
          left -= piece.length;
          c.enqueue(piece);
        },
      }),
      { headers: { "content-type": "application/json" } },
    );
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** Deno's cache dir, passed on so the temporary HOME does not make the CLI download its packages again. */
async function _denoDir(): Promise<string> {
  if (Deno.env.get("DENO_DIR")) return Deno.env.get("DENO_DIR")!;
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
}
const DENO_DIR = await _denoDir();

async function measure(baseUrl: string, key: string, home: string) {
  const out = await new Deno.Command("python3", {
    args: [
      `${ROOT}scripts/peak_rss.py`,
      `${home}/out`,
      `${home}/err`,
      "--",
      Deno.execPath(),
      "run",
      "--quiet",
      "-A",
      MAIN,
      "plugin",
      "list",
    ],
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: home,
      MIXPEEK_CONFIG_DIR: `${home}/config`,
      MIXPEEK_BASE_URL: baseUrl,
      MIXPEEK_API_KEY: key,
      MIXPEEK_NAMESPACE: "default",
      DENO_DIR,
      DENO_NO_UPDATE_CHECK: "1",
    },
    clearEnv: true,
    stdout: "piped",
  }).output();
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  return { ...result, stderr: await Deno.readTextFile(`${home}/err`) };
}

const home = await Deno.makeTempDir({ prefix: "mixpeek-bench-huge-" });
const data = await Deno.makeTempDir({ prefix: "mixpeek-bench-huge-data-" });
const registry = await startLocalRegistry({ port: 0, dataDir: data });
const huge = hugeApi(SIZE);
try {
  const normal = await measure(registry.url, registry.api_key, home);
  const big = await measure(huge.url, "mxp_bench_key_0123456789", home);
  const mib = (kib: number) => (kib / 1024).toFixed(0);
  console.log(`checkout: ${MAIN}`);
  console.log(
    `normal answer (mixpeek local): peak RSS ${mib(normal.maxrss_kib)} MiB (VmHWM ${
      mib(normal.vmhwm_kib)
    } MiB), ` +
      `exit ${normal.exit_code}`,
  );
  console.log(
    `${(SIZE / 1024 ** 3).toFixed(1)} GiB answer: peak RSS ${mib(big.maxrss_kib)} MiB (VmHWM ${
      mib(big.vmhwm_kib)
    } MiB), ` +
      `exit ${big.exit_code}: ${big.stderr.split("\n")[0]}`,
  );
  console.log(`ratio huge / normal: ${(big.maxrss_kib / normal.maxrss_kib).toFixed(2)}`);
  if (normal.exit_code !== 0 || big.exit_code !== 5) {
    console.log(`unexpected exit codes (want 0 and 5):\n${normal.stderr}\n${big.stderr}`);
    Deno.exitCode = 1;
  }
  const ok = big.maxrss_kib < normal.maxrss_kib + 96 * 1024;
  console.log(ok ? "target met: < normal + 96 MiB" : "TARGET MISSED: ≥ normal + 96 MiB");
  if (!ok) Deno.exitCode = 1;
} finally {
  await huge.close();
  await registry.close();
  await Deno.remove(home, { recursive: true });
  await Deno.remove(data, { recursive: true });
}
