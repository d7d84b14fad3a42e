/**
 * The README's demo: the whole job on the embedded default, run as a plugin author runs the CLI, on
 * Mixpeek's published wire.
 *
 *   mixpeek local (a registry on 127.0.0.1 in a temporary data dir)
 *   → for each category: plugin init → plugin test --sample-data → plugin publish --wait
 *   → plugin list (custom, builtin) → plugin status → plugin invoke (the text plugin's realtime service, run
 *   by a worker of mixpeek local) → plugin get → plugin undeploy → plugin invoke (refused: not deployed)
 *   → plugin deploy --batch-only
 *   → plugin publish --org → plugin available → plugin enable → plugin disable → plugin delete --yes
 *   → stop the registry
 *
 * Every command is printed before it runs, with its output as the command printed it (the transcript shows
 * what a user sees and nothing else). Exits non-zero (and says which step) if anything fails.
 */
import { choosePython, pathWith } from "./preflight.ts";

const CATEGORIES = ["text", "image", "video", "audio", "document", "multimodal"];
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

// The Python a plugin author would use: the first python3 on PATH with pydantic 2 and pytest.
const python = await choosePython();
if ("error" in python) {
  console.error(`demo: ${python.error}`);
  Deno.exit(1);
}
const workdir = await Deno.makeTempDir({ prefix: "mixpeek-demo-" });
const env: Record<string, string> = {
  PYTHONDONTWRITEBYTECODE: "1",
  MIXPEEK_CONFIG_DIR: `${workdir}/config`,
  PATH: pathWith(python),
};

function mixpeekArgs(args: string[]): string[] {
  return ["run", "--quiet", "-A", MAIN, ...args];
}

/** An argument as a shell would need it typed. */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, "\\$1")}"`;
}

function show(text: string): void {
  const trimmed = text.trimEnd();
  if (trimmed) console.log(trimmed.split("\n").map((l) => `    ${l}`).join("\n"));
}

/** Runs `mixpeek …` in `cwd`, prints the command and its output; stops the demo unless it exits `expect`. */
async function mixpeek(args: string[], cwd = workdir, quiet = false, expect = 0): Promise<string> {
  console.log(`\n$ mixpeek ${args.map(quote).join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), { args: mixpeekArgs(args), cwd, env, stdin: "null" })
    .output();
  const stdout = decoder.decode(out.stdout);
  // stderr first: its check lines and progress came before the result on stdout, as a terminal shows them.
  if (!quiet || out.code !== expect) show(decoder.decode(out.stderr) + stdout);
  if (out.code !== expect) {
    console.error(`\n✗ demo failed at: mixpeek ${args.join(" ")} (exit ${out.code})`);
    throw new Error("demo failed");
  }
  return stdout;
}

/** Starts `mixpeek local --json` and returns its settings once it listens. */
async function startRegistry() {
  console.log(`$ mixpeek local --port 0 --data-dir ${workdir}/registry --json &`);
  const child = new Deno.Command(Deno.execPath(), {
    args: mixpeekArgs(["local", "--port", "0", "--data-dir", `${workdir}/registry`, "--json"]),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Keep the registry's status lines (drained so its pipe never fills) to explain a failure.
  let log = "";
  child.stderr.pipeTo(new WritableStream({ write: (chunk) => void (log += decoder.decode(chunk)) }));
  const reader = child.stdout.getReader();
  let buffered = "";
  let info: { base_url: string; api_key: string; namespace: string; data_dir: string } | undefined;
  while (!info) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`mixpeek local stopped before listening:\n${log}`);
    buffered += decoder.decode(value);
    try {
      info = JSON.parse(buffered); // one JSON document once it listens
    } catch { /* not complete yet */ }
  }
  reader.releaseLock();
  child.stdout.cancel();
  // What it printed on stderr once listening (its JSON document on stdout holds the dev key: not shown).
  for (let i = 0; i < 500 && !log.includes("press Ctrl-C to stop"); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  show(log);
  return { child, info };
}

let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
let ok = false;
try {
  console.log(`mixpeek demo in ${workdir} (Python: ${python.executable} ${python.version})\n`);
  registry = await startRegistry();
  Object.assign(env, {
    MIXPEEK_BASE_URL: registry.info.base_url,
    MIXPEEK_API_KEY: registry.info.api_key,
    MIXPEEK_NAMESPACE: registry.info.namespace,
  });
  console.log("$ export MIXPEEK_BASE_URL=… MIXPEEK_API_KEY=… MIXPEEK_NAMESPACE=default   # from its --json");

  const published: { category: string; id: string }[] = [];
  for (const category of CATEGORIES) {
    const name = `demo_${category}`;
    const folder = `${workdir}/${name}`;
    const realtime = category === "text";
    await mixpeek(
      [
        "plugin",
        "init",
        name,
        "--category",
        category,
        "--author",
        "Demo Author",
        realtime ? "--realtime" : "--no-realtime",
        "--no-input",
      ],
      workdir,
      category !== "text",
    );
    await mixpeek(["plugin", "test", "--sample-data", "sample_data.json"], folder, category !== "text");
    if (category === "text") await mixpeek(["plugin", "scan"], folder);
    const out = await mixpeek(["plugin", "publish", "--wait", "--yes"], folder);
    // The plugin id, from the line the command printed ("published <name> <version> as <id> (…)").
    const id = out.match(/ as (\S+) \(mixpeek:/)?.[1];
    if (!id) throw new Error(`no plugin id in the publish output:\n${out}`);
    published.push({ category, id });
  }

  await mixpeek(["plugin", "list", "--source", "custom"]);
  await mixpeek(["plugin", "list", "-s", "builtin"]);
  const text = published[0];
  await mixpeek(["plugin", "status", text.id]);
  await mixpeek([
    "plugin",
    "invoke",
    text.id,
    "--inputs",
    '{"text": "a realtime query, embedded by the plugin"}',
  ]);
  await mixpeek(["plugin", "get", text.id]);
  await mixpeek(["plugin", "undeploy", text.id]);
  await mixpeek(["plugin", "invoke", text.id, "--inputs", '{"text": "hello"}'], workdir, false, 1);
  await mixpeek(["plugin", "deploy", text.id, "--batch-only"]);
  const org = await mixpeek(["plugin", "publish", "--org", "--yes"], `${workdir}/demo_image`);
  const orgId = org.match(/ as (\S+) \(mixpeek:/)?.[1];
  if (!orgId) throw new Error(`no plugin id in the publish --org output:\n${org}`);
  await mixpeek(["plugin", "available"]);
  await mixpeek(["plugin", "enable", orgId, "--params", '{"max_items": 5}']);
  await mixpeek(["plugin", "disable", orgId]);
  await mixpeek(["plugin", "delete", orgId, "--org", "--yes"]);
  for (const { id } of published) await mixpeek(["plugin", "delete", id, "--yes"]);
  await mixpeek(["plugin", "list", "--source", "custom"]);
  ok = true;
} finally {
  if (registry) {
    registry.child.kill("SIGINT");
    await registry.child.status;
    console.log("\n$ kill -INT %1   # mixpeek local stops cleanly");
  }
  await Deno.remove(workdir, { recursive: true }).catch(() => {});
}
console.log(
  ok
    ? "\ndemo finished: init → test → scan → publish → list → status → invoke → get → undeploy → deploy → " +
      "publish --org → available → enable → disable → delete, on Mixpeek's published API"
    : "",
);
if (!ok) Deno.exit(1);
