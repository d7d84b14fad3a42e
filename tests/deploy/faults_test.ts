/**
 * Faults of real deployments, each injected in the plugin or the worker itself (tests/deploy/fixtures):
 * a service that raises in `__init__`, an import error, no service at all (each: `failed` with the error);
 * a service that raises on a call; a call that hangs cancellably (timeout, the same worker goes on) or
 * blocks the worker's event loop (timeout, the worker is replaced); `kill -9` of a worker (`failed`, as
 * documented: crashes are not restarted); 20 concurrent calls (all answer, at most max_ongoing_requests at
 * once); a full queue (busy); undeploy, delete, batch-only; the /inference route's answers.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "../helpers/assert.ts";
import { runCli } from "../helpers/cli.ts";
import { waitFor } from "../local/_helpers.ts";
import { alive, deploy, eventually, realtimeTest, startWorkerRegistry, variantArchive } from "./_helpers.ts";

Deno.test("a worker that cannot start turns the deployment failed with its error", async (t) => {
  await using w = await startWorkerRegistry();
  const env = { MIXPEEK_BASE_URL: w.reg.url, MIXPEEK_API_KEY: w.reg.key, MIXPEEK_NAMESPACE: "default" };

  await t.step("the service raises in __init__", async () => {
    const { plugin_id, status } = await deploy(
      w.reg,
      "init_raises",
      await variantArchive("init_raises", "init_raises"),
    );
    assertEquals([status.status, status.deployed, status.realtime_enabled], ["failed", false, false]);
    assertStringIncludes(
      status.error,
      "building BrokenService() raised RuntimeError: model weights not found",
    );
    assertStringIncludes(status.error, "(realtime.py, line 7, in __init__)");
    assertStringIncludes(status.error, "Traceback"); // the tail of its traceback
    const cli = await runCli(["plugin", "status", plugin_id, "--wait"], { env });
    assertEquals(cli.code, 1);
    assertStringIncludes(cli.stderr, "model weights not found: /models/letters.bin");
    const invoke = await runCli(["plugin", "invoke", plugin_id, "--inputs", "{}"], { env });
    assertEquals(invoke.code, 1);
    assertStringIncludes(invoke.stderr, "is not deployed for realtime inference (status: failed)");
  });

  await t.step("realtime.py imports a module that is not installed", async () => {
    const { status } = await deploy(
      w.reg,
      "import_error",
      await variantArchive("import_error", "import_error"),
    );
    assertEquals(status.status, "failed");
    assertStringIncludes(
      status.error,
      "importing realtime.py raised ModuleNotFoundError: No module named 'letters_model_runtime_that_is_not_installed'",
    );
    assertStringIncludes(status.error, "realtime.py, line 3");
  });

  await t.step("realtime.py defines no service", async () => {
    const { status } = await deploy(w.reg, "no_service", await variantArchive("no_service", "no_service"));
    assertEquals(status.status, "failed");
    assertStringIncludes(status.error, "realtime.py defines no realtime service");
  });
  assertEquals(w.deployer().workers(), [], "no worker is left running for a failed start");
});

Deno.test("a Python that cannot run turns the deployment failed, naming it", async () => {
  await using w = await startWorkerRegistry({ workerOptions: { python: "/nonexistent/bin/python3" } });
  const { status } = await deploy(w.reg, "no_python", await variantArchive("no_python"));
  assertEquals(status.status, "failed");
  assertStringIncludes(status.error, "cannot run /nonexistent/bin/python3");
});

Deno.test("calls that raise, hang and block; kill -9 of the worker; batch_only and delete", async (t) => {
  await using w = await startWorkerRegistry({ workerOptions: { invokeTimeoutMs: 1500 } });
  const env = { MIXPEEK_BASE_URL: w.reg.url, MIXPEEK_API_KEY: w.reg.key, MIXPEEK_NAMESPACE: "default" };
  const { plugin_id: id, status } = await deploy(w.reg, "faulty", await variantArchive("faulty", "faults"));
  assertEquals(status.status, "deployed", status.error);
  const first = await realtimeTest(w.reg, id, { text: "abc" });
  assertEquals(first.status, "success");
  const pid = first.raw_response.pid as number;
  assertEquals(w.deployer().workers().map((x) => x.pid), [pid]);

  await t.step("the service raises: status error with the exception, where, and its traceback", async () => {
    const answer = await realtimeTest(w.reg, id, { mode: "raise" });
    assertEquals([answer.status, answer.raw_response], ["error", null]);
    assertEquals(
      answer.error,
      "ValueError: the request asked this service to fail (realtime.py, line 21, in run_inference)",
    );
    assertMatch(answer.message, /^Traceback/);
    const cli = await runCli(["plugin", "invoke", id, "--inputs", '{"mode": "raise"}'], { env });
    assertEquals(cli.code, 1, cli.stderr);
    assertStringIncludes(
      cli.stderr,
      `error: custom_plugin_${id}: ValueError: the request asked this service to fail`,
    );
    assertStringIncludes(cli.stderr, "Traceback");
    const json = await runCli(["--json", "plugin", "invoke", id, "--inputs", '{"mode": "raise"}'], { env });
    assertEquals(json.code, 1);
    const document = JSON.parse(json.stdout); // one document: the whole PluginRealtimeTestResponse
    assertEquals([document.status, document.inference_name], ["error", `custom_plugin_${id}`]);
    assertStringIncludes(document.error, "ValueError");
    assertEquals((await realtimeTest(w.reg, id, { text: "x" })).raw_response.pid, pid, "the worker goes on");
  });

  await t.step(
    "numpy values and NaN become JSON; an answer that cannot be JSON is the service's error",
    async () => {
      const answer = await realtimeTest(w.reg, id, { mode: "numpy" });
      assertEquals([answer.status, answer.raw_response.score, answer.raw_response.gap], [
        "success",
        0.5,
        null,
      ]);
      assertEquals(answer.raw_response.embedding.length, 8);
      const odd = await realtimeTest(w.reg, id, { mode: "object" });
      assertEquals(odd.status, "error");
      assertStringIncludes(odd.error, "the answer holds a builtins.object, which is not JSON");
    },
  );

  await t.step("a call that hangs (await): timed out, cancelled; the same worker answers next", async () => {
    const answer = await realtimeTest(w.reg, id, { mode: "sleep" });
    assertEquals([answer.status, answer.error], ["error", "timed out after 1.5 s"]);
    assertStringIncludes(answer.message, "the call was cancelled and the worker goes on serving");
    const cli = await runCli(["plugin", "invoke", id, "--inputs", '{"mode": "sleep"}'], { env });
    assertEquals(cli.code, 6, `a timeout is exit 6: ${cli.stderr}`);
    assertStringIncludes(cli.stderr, "timed out after 1.5 s");
    assertEquals((await realtimeTest(w.reg, id, { text: "x" })).raw_response.pid, pid);
  });

  let replaced = pid;
  await t.step(
    "a call that blocks the event loop: timed out, and the wedged worker is replaced",
    async () => {
      const answer = await realtimeTest(w.reg, id, { mode: "block" });
      assertEquals([answer.status, answer.error], ["error", "timed out after 1.5 s"]);
      assertStringIncludes(answer.message, "blocked its worker's event loop, so the worker was restarted");
      // The fresh worker starts as it did at deploy, which on a loaded machine can take longer than this
      // registry's 1.5 s call limit: a call meanwhile times out waiting for it, as documented, and is retried.
      let next = await realtimeTest(w.reg, id, { text: "after" });
      for (let tries = 0; tries < 20 && next.error?.endsWith("waiting for the worker to start"); tries++) {
        next = await realtimeTest(w.reg, id, { text: "after" });
      }
      assertEquals(next.status, "success", next.error);
      replaced = next.raw_response.pid;
      assertNotEquals(replaced, pid, "a fresh worker answers");
      assertEquals(await eventually(async () => !(await alive(pid))), true, "the wedged worker was killed");
      assertEquals((await w.reg.api("GET", w.reg.ns(`/plugins/${id}/status`))).json.status, "deployed");
    },
  );

  await t.step("kill -9 of the worker: the deployment is failed with how it died (no restart)", async () => {
    Deno.kill(replaced, "SIGKILL");
    const failed = await waitFor(w.reg, id, ["failed"]);
    assertStringIncludes(failed.error, `the worker (pid ${replaced}) was killed by SIGKILL`);
    assertEquals(w.deployer().workers(), []);
    const refused = await w.reg.api("POST", w.reg.ns(`/plugins/${id}/realtime/test`), { inputs: {} });
    assertEquals(refused.status, 404);
    // Deploying again starts a new worker.
    await w.reg.api("POST", w.reg.ns(`/plugins/${id}/deploy`));
    assertEquals((await waitFor(w.reg, id)).status, "deployed");
    assertEquals((await realtimeTest(w.reg, id, { text: "back" })).status, "success");
  });

  await t.step(
    "batch_only on a deployed realtime plugin stops its worker; delete stops one too",
    async () => {
      const [running] = w.deployer().workers();
      const batch = await w.reg.api("POST", w.reg.ns(`/plugins/${id}/deploy?deployment_type=batch_only`));
      assertEquals([batch.json.status, batch.json.deployment_type], ["deployed", "batch_only"]);
      assertEquals(await eventually(async () => !(await alive(running.pid))), true);
      assertEquals(
        (await w.reg.api("POST", w.reg.ns(`/plugins/${id}/realtime/test`), { inputs: {} })).status,
        404,
      );
      await w.reg.api("POST", w.reg.ns(`/plugins/${id}/deploy`));
      await waitFor(w.reg, id);
      const [again] = w.deployer().workers();
      const deleted = await w.reg.api("DELETE", w.reg.ns(`/plugins/${id}`));
      assertEquals([deleted.status, deleted.json.deployment_removed], [200, true]);
      assertEquals(await alive(again.pid), false, "delete stopped the worker before it answered");
      assertEquals(w.deployer().workers(), []);
    },
  );
});

Deno.test("20 concurrent calls all answer, at most max_ongoing_requests at once", async () => {
  await using w = await startWorkerRegistry();
  const { plugin_id: id } = await deploy(w.reg, "crowded", await variantArchive("crowded", "faults"));
  const answers = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) => realtimeTest(w.reg, id, { mode: "hold", seconds: 0.2, text: `t${i}` }),
    ),
  );
  assertEquals(
    answers.map((a) => a.status),
    Array(20).fill("success"),
    JSON.stringify(answers.find((a) => a.error)),
  );
  assertEquals(
    answers.map((a) => a.raw_response.text),
    answers.map((_, i) => `t${i}`),
    "each its own answer",
  );
  const peak = Math.max(...answers.map((a) => a.raw_response.peak as number));
  assert(peak <= 4, `calls ran ${peak} at once; serve_config.max_ongoing_requests is 4`);
  assert(peak >= 2, `calls ran ${peak} at once: they should overlap`);
});

Deno.test("past max_ongoing_requests and the queue, a call is refused at once as busy", async () => {
  await using w = await startWorkerRegistry({ workerOptions: { queueLimit: 2 } });
  const { plugin_id: id } = await deploy(w.reg, "queued", await variantArchive("queued", "faults"));
  // 4 run (serve_config.max_ongoing_requests), 2 wait, the rest is refused.
  const crowd = await Promise.all(
    Array.from({ length: 12 }, (_, i) => realtimeTest(w.reg, id, { mode: "hold", seconds: 1, text: `${i}` })),
  );
  const busy = crowd.filter((a) => a.status === "error");
  assert(busy.length >= 1, "some calls are refused");
  for (const a of busy) assertMatch(a.error, /^busy: 4 calls run and 2 wait/);
  assert(crowd.filter((a) => a.status === "success").length >= 6, "the running and waiting ones answer");
});

Deno.test("the /inference route answers the service's dict, and errors in ErrorResponse shapes", async () => {
  await using w = await startWorkerRegistry({ workerOptions: { invokeTimeoutMs: 1500 } });
  const { plugin_id: id } = await deploy(w.reg, "routed", await variantArchive("routed", "faults"));
  const route = `${w.reg.url}/inference/custom_plugin_${id}`;
  const post = async (
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${w.reg.key}` },
  ) => {
    const r = await fetch(route, { method: "POST", headers, body: JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  };
  const ok = await post({ inputs: { text: "abc" } });
  assertEquals([ok.status, ok.json.embedding.length], [200, 8]);
  // Answers larger than a worker link's 16 KiB read buffer, then small ones, on the same kept-alive link:
  // each call reads its own answer whole.
  for (const text of ["x".repeat(50_000), "small", "y".repeat(20_000), "z"]) {
    const echoed = await post({ inputs: { text } });
    assertEquals([echoed.status, echoed.json.text?.length, echoed.json.text === text], [
      200,
      text.length,
      true,
    ]);
  }
  assertEquals((await post({ inputs: {} }, {})).status, 401);
  const bad = await post({ inputs: [1] });
  assertEquals([bad.status, bad.json.detail[0].loc], [422, ["body", "inputs"]]);
  const raised = await post({ inputs: { mode: "raise" } });
  assertEquals([raised.status, raised.json.error.type], [500, "InferenceError"]);
  assertStringIncludes(raised.json.error.message, "ValueError: the request asked this service to fail");
  assertMatch(raised.json.error.details.traceback, /^Traceback/);
  const slow = await post({ inputs: { mode: "sleep" } });
  assertEquals([slow.status, slow.json.error.type, slow.json.error.message], [
    504,
    "TimeoutError",
    "timed out after 1.5 s",
  ]);
  const unknown = await fetch(`${w.reg.url}/inference/custom_plugin_nope_1_0_0`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.reg.key}` },
    body: "{}",
  });
  assertEquals([unknown.status, (await unknown.json()).error.type], [404, "NotFoundError"]);
  const get = await fetch(route, { headers: { authorization: `Bearer ${w.reg.key}` } });
  await get.body?.cancel();
  assertEquals(get.status, 405);
});
