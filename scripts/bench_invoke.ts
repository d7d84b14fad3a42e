/**
 * Realtime invoke latency on loopback: a deployed plugin's service called through `mixpeek local` (running
 * as its own process, as a user runs it), next to a reference measured in the same run: a bare Python
 * `http.server` (single-threaded, HTTP/1.1 keep-alive, Nagle off, one event loop) that imports the same
 * plugin and calls the same service function (mixpeek_local.services.invoke_service) per request.
 *
 * The plugin is the realtime text template (`mixpeek plugin init … --realtime`), published and deployed with
 * the CLI. Three targets, each called `--calls` times (default 200) sequentially by one keep-alive client
 * (Deno's fetch), interleaved in rounds of `--round` calls (default 20) so that drift hits all alike, after an
 * untimed warm-up (`--round 1` alternates the targets call by call: no target runs warm on its own previous
 * call, which the single-process reference gains from most):
 *   1. POST …/{id}/realtime/test           (what `plugin invoke` calls; PluginRealtimeTestResponse)
 *   2. POST /inference/custom_plugin_{id}   (the deployment's route: the service's answer as the body)
 *   3. the reference http.server
 * Prints p50 and p99 of each and the p50 ratios to the reference. Target: p50 ≤ 1.5× the reference, for
 * both routes; exit 1 when missed. For the breakdown, the deployment's worker is also called directly (its
 * port is in mixpeek local's log): route − worker = what the registry's hop adds.
 *
 *   deno task bench invoke                                         (the defaults)
 *   deno run -A scripts/bench_invoke.ts [--calls 200] [--round 20]
 */
import { join } from "node:path";
import { runtimePath } from "../lib/plugin/runtime.ts";
import { choosePython, pathWith } from "./preflight.ts";

const CALLS = Number(Deno.args[Deno.args.indexOf("--calls") + 1]) || 200;
const ROUND = Number(Deno.args[Deno.args.indexOf("--round") + 1]) || 20;
const WARMUP = 30;
const TARGET = 1.5;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

const REFERENCE = `
import asyncio, importlib, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from mixpeek_local.services import find_service_classes, invoke_service

realtime = importlib.import_module(sys.argv[1] + ".realtime")
service = find_service_classes(realtime)[0]()
loop = asyncio.new_event_loop()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = loop.run_until_complete(invoke_service(service, request["inputs"], request.get("parameters") or {}))
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
`;

const TEXTS = [
  "the quick brown fox jumps over the lazy dog",
  "Mixpeek plugins embed text with their own code",
  "realtime services answer one request at a time",
  "a hashed character n-gram embedding of 128 numbers",
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function cli(args: string[], env: Record<string, string>, cwd: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", MAIN, ...args],
    env,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `mixpeek ${args.join(" ")} failed:\n${decoder.decode(out.stdout)}${decoder.decode(out.stderr)}`,
    );
  }
  return decoder.decode(out.stdout);
}

/** Reads the first line of a child's stdout (its port, its --json document). */
async function firstDocument(child: Deno.ChildProcess, whole: (text: string) => boolean): Promise<string> {
  const reader = child.stdout.getReader();
  let text = "";
  while (!whole(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process stopped before it was ready:\n${text}`);
    text += decoder.decode(value);
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return text;
}

const python = await choosePython();
if ("error" in python) {
  console.error(`bench invoke: ${python.error}`);
  Deno.exit(1);
}
const work = await Deno.makeTempDir({ prefix: "mixpeek-bench-invoke-" });
const env: Record<string, string> = {
  PATH: pathWith(python),
  HOME: Deno.env.get("HOME") ?? work,
  MIXPEEK_CONFIG_DIR: `${work}/config`,
};
let local: Deno.ChildProcess | undefined;
let reference: Deno.ChildProcess | undefined;
let ok = false;
try {
  local = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", MAIN, "--json", "local", "--port", "0", "--data-dir", `${work}/registry`],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Its log names the worker's port ("… ready: … on 127.0.0.1:PORT"): the worker alone is measured too.
  let log = "";
  local.stderr.pipeTo(new WritableStream({ write: (chunk) => void (log += decoder.decode(chunk)) })).catch(
    () => {},
  );
  const info = JSON.parse(
    await firstDocument(local, (t) => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    }),
  );
  Object.assign(env, {
    MIXPEEK_BASE_URL: info.base_url,
    MIXPEEK_API_KEY: info.api_key,
    MIXPEEK_NAMESPACE: info.namespace,
  });
  await cli(
    ["plugin", "init", "bench_rt", "-c", "text", "--realtime", "--no-input", "-a", "bench"],
    env,
    work,
  );
  const published = JSON.parse(
    await cli(["--json", "plugin", "publish", "--wait", "--yes"], env, join(work, "bench_rt")),
  );
  const id = published.plugin_id as string;

  reference = new Deno.Command(python.executable, {
    args: ["-c", REFERENCE, "bench_rt"],
    env: { PATH: env.PATH, PYTHONPATH: `${await runtimePath()}:${work}`, PYTHONDONTWRITEBYTECODE: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const refPort = Number((await firstDocument(reference, (t) => t.includes("\n"))).trim());

  const workerPort = Number(/ready: \S+ on 127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
  if (!workerPort) throw new Error(`no worker port in the log of mixpeek local:\n${log}`);
  const auth = { authorization: `Bearer ${info.api_key}`, "content-type": "application/json" };
  const targets: {
    label: string;
    url: string;
    headers: Record<string, string>;
    check(body: unknown): void;
  }[] = [
    {
      label: "mixpeek local: POST …/realtime/test (plugin invoke)",
      url: `${info.base_url}/v1/namespaces/${info.namespace}/plugins/${id}/realtime/test`,
      headers: auth,
      check: (b) => {
        if ((b as { status: string }).status !== "success") throw new Error(JSON.stringify(b));
      },
    },
    {
      label: `mixpeek local: POST /inference/custom_plugin_${id}`,
      url: `${info.base_url}/inference/custom_plugin_${id}`,
      headers: auth,
      check: (b) => {
        if ((b as { embedding: number[] }).embedding?.length !== 128) throw new Error(JSON.stringify(b));
      },
    },
    {
      label: "(for the breakdown) the deployment's worker, called directly",
      url: `http://127.0.0.1:${workerPort}/inference/custom_plugin_${id}`,
      headers: { "content-type": "application/json" },
      check: (b) => {
        if ((b as { embedding: number[] }).embedding?.length !== 128) throw new Error(JSON.stringify(b));
      },
    },
    {
      label: "reference: bare Python http.server + the same service",
      url: `http://127.0.0.1:${refPort}/`,
      headers: { "content-type": "application/json" },
      check: (b) => {
        if ((b as { embedding: number[] }).embedding?.length !== 128) throw new Error(JSON.stringify(b));
      },
    },
  ];
  const call = async (t: typeof targets[number], i: number): Promise<number> => {
    const body = JSON.stringify({ inputs: { text: TEXTS[i % TEXTS.length] }, parameters: {} });
    const start = performance.now();
    const response = await fetch(t.url, { method: "POST", headers: t.headers, body });
    const answer = await response.json();
    const ms = performance.now() - start;
    if (response.status !== 200) {
      throw new Error(`${t.label}: HTTP ${response.status} ${JSON.stringify(answer)}`);
    }
    t.check(answer);
    return ms;
  };
  for (const t of targets) for (let i = 0; i < WARMUP; i++) await call(t, i);
  const samples = targets.map(() => [] as number[]);
  for (let done = 0; done < CALLS; done += ROUND) {
    for (const [k, t] of targets.entries()) {
      for (let i = 0; i < Math.min(ROUND, CALLS - done); i++) samples[k].push(await call(t, done + i));
    }
  }
  const f = (ms: number) => `${ms.toFixed(2)} ms`.padStart(9);
  console.log(
    `invoke latency over ${CALLS} sequential calls per target (keep-alive, loopback), interleaved in ` +
      `rounds of ${ROUND}`,
  );
  console.log(`  plugin: the realtime text template (${id}), Python ${python.version}`);
  for (const [k, t] of targets.entries()) {
    console.log(
      `  ${t.label.padEnd(60)} p50 ${f(percentile(samples[k], 50))}   p99 ${f(percentile(samples[k], 99))}`,
    );
  }
  const ref50 = percentile(samples[3], 50);
  const ratios = [0, 1].map((k) => percentile(samples[k], 50) / ref50);
  const verdict = (r: number) => (r <= TARGET ? "ok" : "MISSED");
  console.log(
    `  p50 ratio to the reference: realtime/test ${ratios[0].toFixed(2)}× (${verdict(ratios[0])}), ` +
      `/inference ${ratios[1].toFixed(2)}× (${verdict(ratios[1])}); target ≤ ${TARGET}×`,
  );
  ok = ratios.every((r) => r <= TARGET);
} finally {
  for (const child of [reference, local]) {
    if (!child) continue;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
if (!ok) Deno.exit(1);
