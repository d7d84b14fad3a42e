/**
 * The life of deployment workers around the registry's own: a restart brings a deployment back; shutdown
 * (close, SIGTERM of `mixpeek local`) stops every worker and removes its folder; a registry killed with
 * kill -9 leaves no worker behind either (the worker exits when its stdin closes); plugin code never sees
 * the API key or cloud credentials of the registry's environment; a batch-only deploy starts nothing; and
 * the usage errors of `plugin invoke` and `mixpeek local --python / --invoke-timeout`.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import {
  alive,
  deploy,
  eventually,
  listenAddresses,
  processesWith,
  readyWorkers,
  realtimeTest,
  spawnLocal,
  startWorkerRegistry,
  variantArchive,
} from "./_helpers.ts";

Deno.test("a registry restart brings the deployment back; closing it stops every worker", async () => {
  await using dir = await tempDir("mixpeek-restore-");
  const first = await startWorkerRegistry({ dataDir: dir.path });
  const { plugin_id: id } = await deploy(
    first.reg,
    "durable_rt",
    await variantArchive("durable_rt", "faults"),
  );
  const { plugin_id: other } = await deploy(
    first.reg,
    "second_rt",
    await variantArchive("second_rt", "faults"),
  );
  const before = (await realtimeTest(first.reg, id, { text: "before" })).raw_response;
  const pids = first.deployer().workers().map((x) => x.pid);
  assertEquals(pids.length, 2);
  for (const worker of first.deployer().workers()) {
    assertEquals(await listenAddresses(worker.port), ["127.0.0.1"], "workers listen on loopback only");
  }
  await first.reg.stop();
  for (const pid of pids) assertEquals(await alive(pid), false, `worker ${pid} stopped with the registry`);
  assertEquals([...Deno.readDirSync(`${dir.path}/work/deployments`)], [], "their folders are removed");

  await using second = await startWorkerRegistry({ dataDir: dir.path });
  // Deployed at once after the restart (the record), and the first call waits for the worker to be back.
  assertEquals((await second.reg.api("GET", second.reg.ns(`/plugins/${id}/status`))).json.status, "deployed");
  const after = (await realtimeTest(second.reg, id, { text: "before" })).raw_response;
  assertEquals(after.embedding, before.embedding, "the same plugin answers");
  assert(after.pid !== before.pid, "in a new worker");
  assertEquals((await realtimeTest(second.reg, other, { text: "x" })).status, "success");
  assertEquals(second.deployer().workers().length, 2);
  assert(second.log.some((l) => l.includes(`(${id}) worker ${after.pid} ready`)), second.log.join("\n"));
});

Deno.test("mixpeek local: SIGTERM stops its workers; after kill -9 they exit by themselves", async () => {
  await using dir = await tempDir("mixpeek-orphans-");
  const data = `${dir.path}/registry`;
  const archive = await variantArchive("orphan_rt", "faults");
  {
    await using local = await spawnLocal(data, dir.path);
    const reg = await startAdapter(local.url, local.key);
    assertEquals((await deploy(reg, "orphan_rt", archive)).status.status, "deployed");
    const [pid] = readyWorkers(local.stderr());
    assert(pid && await alive(pid), local.stderr());
    local.child.kill("SIGTERM");
    assertEquals((await local.child.status).code, 0);
    assertEquals(await alive(pid), false, "SIGTERM stopped the worker before mixpeek local exited");
    assertEquals(await processesWith(`${data}/work/deployments`), []);
  }
  {
    await using local = await spawnLocal(data, dir.path);
    const reg = await startAdapter(local.url, local.key);
    // The restart brought it back; wait for the restored worker to answer.
    assertEquals((await realtimeTest(reg, "orphan_rt_1_0_0", { text: "x" })).status, "success");
    const [pid] = readyWorkers(local.stderr());
    assert(pid && await alive(pid), local.stderr());
    local.child.kill("SIGKILL"); // no chance to clean up
    await local.child.status;
    assertEquals(
      await eventually(async () => !(await alive(pid))),
      true,
      "the worker exits when its registry dies",
    );
    assertEquals(await processesWith(`${data}/work/deployments`), [], "no process is left behind");
  }
});

Deno.test("plugin code never sees the registry's API key or cloud credentials", async () => {
  await using dir = await tempDir("mixpeek-secrets-");
  // reads_secrets' manifest (imported by its realtime.py) raises when it can see any of these.
  await using local = await spawnLocal(`${dir.path}/registry`, dir.path, {
    env: { MIXPEEK_API_KEY: "mxp_secret", AWS_SECRET_ACCESS_KEY: "aws_secret", GITHUB_TOKEN: "ghp_secret" },
  });
  const reg = await startAdapter(local.url, local.key);
  const { plugin_id, status } = await deploy(
    reg,
    "reads_secrets",
    await variantArchive("reads_secrets", undefined, "reads_secrets"),
  );
  assertEquals(status.status, "deployed", status.error);
  const answer = await realtimeTest(reg, plugin_id, { text: "hello" });
  assertEquals([answer.status, answer.raw_response.token_count], ["success", 1]);
});

Deno.test("a batch-only deploy of a realtime plugin starts no worker", async () => {
  await using w = await startWorkerRegistry();
  const confirmed = await deploy(w.reg, "batchy", await variantArchive("batchy", "faults"));
  await w.reg.api("POST", w.reg.ns(`/plugins/${confirmed.plugin_id}/undeploy`));
  const r = await w.reg.api(
    "POST",
    w.reg.ns(`/plugins/${confirmed.plugin_id}/deploy?deployment_type=batch_only`),
  );
  assertEquals([r.json.status, r.json.deployment_type], ["deployed", "batch_only"]);
  assertEquals(w.deployer().workers(), []);
  const test = await w.reg.api("POST", w.reg.ns(`/plugins/${confirmed.plugin_id}/realtime/test`), {
    inputs: {},
  });
  assertEquals(test.status, 404);
  assertStringIncludes(
    test.json.error.message,
    "is not deployed for realtime inference (status: deployed, batch_only)",
  );
});

Deno.test("usage errors: --inputs and --parameters name the flag; mixpeek local --python and --invoke-timeout", async () => {
  await using dir = await tempDir("mixpeek-invoke-usage-");
  // No server is needed: bad input is refused before anything is sent.
  const env = { MIXPEEK_BASE_URL: "http://127.0.0.1:9", MIXPEEK_API_KEY: "k", MIXPEEK_NAMESPACE: "default" };
  await Deno.writeTextFile(`${dir.path}/list.json`, "[1, 2]");
  await Deno.writeTextFile(`${dir.path}/broken.json`, "{");
  for (
    const [args, message] of [
      [[], "--inputs is required"],
      [["--inputs", "{text: 1}"], "--inputs is not valid JSON"],
      [["--inputs", '"text"'], "--inputs must be a JSON object, not a string"],
      [["--inputs", "[]"], "--inputs must be a JSON object, not an array"],
      [["--inputs", "@missing.json"], "--inputs: cannot read missing.json"],
      [["--inputs", "@list.json"], "--inputs @list.json must be a JSON object, not an array"],
      [["--inputs", "@broken.json"], "--inputs @broken.json is not valid JSON"],
      [["--inputs", "@"], "--inputs @ names no file"],
      [["--inputs", "{}", "--parameters", "null"], "--parameters must be a JSON object, not null"],
      [["--inputs", "{}", "--parameters", "1,"], "--parameters is not valid JSON"],
    ] as [string[], string][]
  ) {
    const r = await runCli(["plugin", "invoke", "some_plugin_1_0_0", ...args], { env, cwd: dir.path });
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  const piped = await runCli(["--json", "plugin", "invoke", "x_1_0_0", "--inputs", "@-"], {
    env,
    stdin: "[3]",
  });
  assertEquals(piped.code, 2);
  assertStringIncludes(piped.stderr, "--inputs @- (stdin) must be a JSON object");

  for (
    const [args, message] of [
      [["--python", `${dir.path}/no-such-python`], "--python"],
      [["--invoke-timeout", "0"], "--invoke-timeout"],
      [["--invoke-timeout", "soon"], "--invoke-timeout"],
    ] as [string[], string][]
  ) {
    const r = await runCli(["local", "--port", "0", "--data-dir", `${dir.path}/d`, ...args]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
});

/** The TestRegistry calls (api, ns) against a `mixpeek local` we spawned. */
async function startAdapter(url: string, key: string) {
  const { reply, assertDocumented } = await import("../local/_helpers.ts");
  const { matchTemplate } = await import("../../lib/api/openapi/document.ts");
  const api = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${key}` } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const r = await reply(await fetch(`${url}${path}`, init));
    if (matchTemplate(new URL(path, url).pathname)) assertDocumented(method, path, r);
    return r;
  };
  // deno-lint-ignore no-explicit-any
  return { url, key, ns: (path: string) => `/v1/namespaces/default${path}`, api } as any;
}
