/**
 * Publish's failures, end to end against `mixpeek local` with injected faults:
 * - after the confirm, every failure says the plugin *is* published and how to see it (exit code of the
 *   failure kept: 5 for the API, 6 for a timeout);
 * - a stalled upload PUT (MIXPEEK_UPLOAD_STALL_TIMEOUT, small here) is retried with a fresh upload URL
 *   within publish's attempts, and only a stall on every attempt ends it (exit 6);
 * - --verbose logs every request with method, URL, status and time, the key and the presigned URL's
 *   signature redacted.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { requests, scaffold, startE2E } from "../publish/_helpers.ts";

Deno.test("after the confirm, a failing deploy request says the plugin is published and how to see it", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "POST", path: "/v1/namespaces/*/plugins/*/deploy", fault: "500", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "half_done");
  const r = await e2e.cli(["--json", "plugin", "publish", root]);
  assertEquals(r.code, 5, r.stderr);
  const id = "half_done_0_1_0";
  const doc = JSON.parse(r.stdout).error;
  assertMatch(
    doc.message,
    /^plugin half_done_0_1_0 is published, but the deploy request failed: injected fault: 500 for POST .*\(HTTP 500/,
  );
  assertEquals(
    doc.hint,
    `see it with \`mixpeek plugin status ${id}\` or \`mixpeek plugin get ${id}\`; deploy it with ` +
      `\`mixpeek plugin deploy ${id}\``,
  );
  assertEquals([doc.exit_code, doc.status], [5, 500]);
  // And it is: the record is there, validated.
  const get = JSON.parse((await e2e.cli(["--json", "plugin", "get", id])).stdout);
  assertEquals([get.plugin_id, get.validation_status], [id, "passed"]);
});

Deno.test("after the confirm, --wait running out of time says the plugin is published (exit 6)", async () => {
  // The deployment stays queued; --timeout also bounds the plugin's code in the checks, so not too small.
  await using e2e = await startE2E({ deployStepMs: 600_000 });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "slow_deploy", { realtime: true });
  const r = await e2e.cli(["plugin", "publish", root, "--wait", "--timeout", "10"]);
  assertEquals(r.code, 6, r.stderr);
  assertMatch(
    r.stderr,
    /\nerror: plugin slow_deploy_0_1_0 is published, but waiting for its deployment failed: plugin slow_deploy_0_1_0 is still "queued" after 10s\n/,
  );
  assertStringIncludes(r.stderr, "hint: see it with `mixpeek plugin status slow_deploy_0_1_0`");
});

Deno.test("a stalled upload PUT is retried with a fresh upload URL, and the publish succeeds", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 1 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "stalled_once");
  const r = await e2e.cli(["--json", "plugin", "publish", root], {
    env: { MIXPEEK_UPLOAD_STALL_TIMEOUT: "0.5" },
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).status, "deployed");
  assertStringIncludes(
    r.stderr,
    "warning: the upload stalled: no progress for 0.5 s; requesting a fresh upload URL (attempt 2 of 4)\n",
  );
  const created = requests(e2e.log).filter((l) =>
    l.startsWith("POST /v1/namespaces/default/plugins/uploads →")
  );
  assertEquals(created.length, 2, "a second upload URL");
  const upload = JSON.parse(r.stdout).upload_id;
  assert(
    requests(e2e.log).some((l) => l.startsWith(`PUT /_uploads/${upload} → 200`)),
    "the fresh URL was used",
  );
});

Deno.test("an upload that stalls on every attempt ends with exit 6 after publish's attempts; a bad setting is exit 2", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "stalled_always");
  const r = await e2e.cli(["--json", "plugin", "publish", root], {
    env: { MIXPEEK_UPLOAD_STALL_TIMEOUT: "0.3" },
  });
  assertEquals(r.code, 6, r.stderr);
  const doc = JSON.parse(r.stdout).error;
  assertEquals(
    doc.message,
    "the upload stalled: no progress for 0.3 s, 4 times (each with a fresh upload URL)",
  );
  assertStringIncludes(doc.hint, "MIXPEEK_UPLOAD_STALL_TIMEOUT");
  const created = requests(e2e.log).filter((l) =>
    l.startsWith("POST /v1/namespaces/default/plugins/uploads →")
  );
  assertEquals(created.length, 4);
  assert(!requests(e2e.log).some((l) => l.includes("/confirm")), "nothing was confirmed");

  const bad = await e2e.cli(["plugin", "publish", root], { env: { MIXPEEK_UPLOAD_STALL_TIMEOUT: "soon" } });
  assertEquals(bad.code, 2);
  assertStringIncludes(
    bad.stderr,
    'MIXPEEK_UPLOAD_STALL_TIMEOUT must be a positive number of seconds up to 2147483, got "soon"',
  );
});

Deno.test("--verbose logs each request: method, URL, status, time; the key and the upload signature never shown", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "logged");
  const r = await e2e.cli(["--verbose", "plugin", "publish", root, "--wait"]);
  assertEquals(r.code, 0, r.stderr);
  const logged = r.stderr.split("\n").filter((l) => l.startsWith("http: "));
  const base = e2e.reg.url;
  const api =
    /^http: (GET|POST|DELETE) (\S+) → (\d{3}) in \d+ ms \(Authorization: Bearer <redacted>(, request id \w+)?\)$/;
  const put = /^http: PUT (\S+)\?<signature redacted> → 200 in \d+ ms \(no Authorization\)$/;
  assertEquals(
    logged.length,
    requests(e2e.log).length,
    `${logged.join("\n")}\n--\n${requests(e2e.log).join("\n")}`,
  );
  for (const line of logged) assert(api.test(line) || put.test(line), line);
  assertMatch(logged[0], new RegExp(`^http: POST ${base}/v1/namespaces/default/plugins/uploads → 200 in`));
  assert(logged.some((l) => put.test(l) && l.includes(`${base}/_uploads/`)), logged.join("\n"));
  assert(!r.stderr.includes(e2e.reg.key), "the key was printed");
  assert(!/signature=|X-Amz-|expires=/i.test(r.stderr), "the upload URL's query was printed");

  // A failed attempt is logged with its cause.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await e2e.cli(["-v", "plugin", "list"], {
    env: { MIXPEEK_BASE_URL: `http://127.0.0.1:${port}` },
  });
  assertMatch(
    refused.stderr,
    new RegExp(
      `^http: GET http://127\\.0\\.0\\.1:${port}/v1/namespaces/default/extractors\\?source=all → connection refused in \\d+ ms`,
      "m",
    ),
  );
});
