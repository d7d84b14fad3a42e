/**
 * End to end: the CLI, spawned as a user runs it, against `mixpeek local` on 127.0.0.1 (disk backend).
 * Every command of the plugin API, `--json` parsed, and the failure paths (auth, namespace, conflict, scan
 * rejection before any upload, faults injected by the registry, a server that never answers, Ctrl-C).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { publishThenInterrupt, requests, scaffold, startE2E } from "./_helpers.ts";

Deno.test("publish --dry-run sends nothing and shows the files, size and sha256 that pack gives", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "dry-plugin");
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--dry-run"]);
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals(result.dry_run, true);
  assertEquals([result.name, result.version, result.realtime], ["dry_plugin", "0.1.0", false]);
  assert(result.archive.files.includes("manifest.py"));
  assertEquals(result.plugin_id, undefined);
  assertEquals(requests(e2e.log), [], "a dry run made a request");

  const pack = await e2e.cli([
    "--json",
    "plugin",
    "pack",
    "--path",
    root,
    "--output",
    `${dir.path}/p.tar.gz`,
  ]);
  assertEquals(pack.code, 0, pack.stderr);
  const packed = JSON.parse(pack.stdout);
  assertEquals([result.archive.sha256, result.archive.size], [packed.sha256, packed.size]);
  assertEquals(result.archive.files, packed.files);

  // A dry run needs no key and no reachable server.
  const offline = await runCli(["plugin", "publish", "--path", root, "--dry-run"], {
    env: { MIXPEEK_BASE_URL: "http://127.0.0.1:9" },
  });
  assertEquals(offline.code, 0, offline.stderr);
  assertStringIncludes(offline.stdout, "nothing was sent");
  assertMatch(offline.stdout, /sha256 [0-9a-f]{64}/);
});

Deno.test("publish → list → get → status → delete, with --json everywhere", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "life-cycle");

  const pub = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(pub.code, 0, pub.stderr);
  const published = JSON.parse(pub.stdout);
  assertEquals([published.name, published.version, published.status], ["life_cycle", "0.1.0", "ready"]);
  const id = published.plugin_id as string;
  assert(id, "no plugin id");
  assertStringIncludes(pub.stderr, "✓ structure");
  assertStringIncludes(pub.stderr, "✓ scan");

  const list = await e2e.cli(["--json", "plugin", "list"]);
  assertEquals(list.code, 0, list.stderr);
  const all = JSON.parse(list.stdout).plugins;
  assert(all.some((p: { plugin_id: string }) => p.plugin_id === id));
  assert(
    all.some((p: { source: string }) => p.source === "builtin"),
    "builtin plugins are listed with source=all",
  );
  const custom =
    JSON.parse((await e2e.cli(["--json", "plugin", "list", "--source", "custom"])).stdout).plugins;
  assertEquals(custom.map((p: { plugin_id: string }) => p.plugin_id), [id]);
  const builtin =
    JSON.parse((await e2e.cli(["--json", "plugin", "list", "--source", "builtin"])).stdout).plugins;
  assert(builtin.length > 0 && builtin.every((p: { source: string }) => p.source === "builtin"));

  const tsv = await e2e.cli(["plugin", "list", "--source", "custom"]);
  assertEquals(tsv.code, 0, tsv.stderr);
  assertEquals(
    tsv.stdout,
    `plugin_id\tname\tversion\tsource\tstatus\n${id}\tlife_cycle\t0.1.0\tcustom\tready\n`,
  );

  const get = JSON.parse((await e2e.cli(["--json", "plugin", "get", id])).stdout);
  assertEquals([get.plugin_id, get.name, get.status, get.realtime], [id, "life_cycle", "ready", false]);
  const status = JSON.parse((await e2e.cli(["--json", "plugin", "status", id])).stdout);
  assertEquals(status.status, "ready");
  const waited = await e2e.cli(["plugin", "status", id, "--wait", "--timeout", "30"]);
  assertEquals([waited.code, waited.stdout.trim()], [0, "ready"]);

  const deploy = await e2e.cli(["--json", "plugin", "deploy", id]);
  assertEquals(deploy.code, 5);
  assertStringIncludes(deploy.stderr, "realtime");
  assertEquals(JSON.parse(deploy.stdout).error.status, 400);

  const refused = await e2e.cli(["plugin", "delete", id]);
  assertEquals(refused.code, 2);
  assertStringIncludes(refused.stderr, "--yes");
  const del = await e2e.cli(["--json", "plugin", "delete", id, "--yes"]);
  assertEquals(del.code, 0, del.stderr);
  assertEquals(JSON.parse(del.stdout), { plugin_id: id, deleted: true });
  const gone = await e2e.cli(["--json", "plugin", "get", id]);
  assertEquals(gone.code, 5);
  assertEquals(JSON.parse(gone.stdout).error.status, 404);
  assertStringIncludes(gone.stderr, "mixpeek plugin list");
});

Deno.test("a realtime plugin is deployed by publish, and --wait follows the deployment to ready", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "live-one", { realtime: true });
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait", "--timeout", "60"]);
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.realtime, result.status], [true, "ready"]);
  assertEquals(result.deployment?.status, "active");
  assert(
    requests(e2e.log).some((l) => /POST \/v1\/namespaces\/default\/plugins\/[^/]+\/deploy → 202/.test(l)),
  );

  // `plugin deploy` on a ready realtime plugin starts another deployment.
  const again = await e2e.cli(["--json", "plugin", "deploy", result.plugin_id]);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(JSON.parse(again.stdout).status, "deploying");
});

Deno.test("auth and namespace errors: no key or a wrong key exit 4, an unknown namespace exits 5", async () => {
  await using e2e = await startE2E();
  let r = await e2e.cli(["plugin", "list"], { env: { MIXPEEK_API_KEY: "" } });
  assertEquals(r.code, 4);
  assertStringIncludes(r.stderr, "no API key");
  r = await e2e.cli(["--json", "plugin", "list"], { env: { MIXPEEK_API_KEY: "mxp_wrong_key_123456" } });
  assertEquals(r.code, 4);
  assertEquals(JSON.parse(r.stdout).error.status, 401);
  assertStringIncludes(r.stderr, "--api-key");
  assert(!r.stderr.includes("mxp_wrong_key_123456"));
  r = await e2e.cli(["plugin", "list", "--namespace", "nope"]);
  assertEquals(r.code, 5);
  assertStringIncludes(r.stderr, "--namespace");
  r = await e2e.cli(["plugin", "list"], { env: { MIXPEEK_NAMESPACE: "" } });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "no namespace");
  r = await e2e.cli(["plugin", "list"], { env: { MIXPEEK_BASE_URL: "http://registry.example.com" } });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "plain http");
});

Deno.test("publishing the same name and version twice is a 409 that says to bump the version", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "twice");
  assertEquals((await e2e.cli(["plugin", "publish", "--path", root, "--wait"])).code, 0);
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root]);
  assertEquals(r.code, 5, r.stderr);
  assertEquals(JSON.parse(r.stdout).error.status, 409);
  assertStringIncludes(r.stderr, "bump `version` in manifest.py");
});

Deno.test("a plugin the scan rejects fails with exit 3 before any request is made", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "sneaky");
  const core = `${root}/processors/core.py`;
  await Deno.writeTextFile(core, (await Deno.readTextFile(core)) + "\nimport socket\n");
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root]);
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, "processors/core.py");
  assertEquals(JSON.parse(r.stdout).error.exit_code, 3);
  assertEquals(requests(e2e.log), [], "the CLI talked to the registry before failing");
});

Deno.test("500, 503 and 429 (Retry-After) on API calls and the upload are retried and the publish succeeds", async () => {
  await using e2e = await startE2E({
    faults: [
      { method: "POST", path: "/v1/namespaces/*/plugins/uploads", fault: "500" },
      { method: "POST", path: "/v1/namespaces/*/plugins/uploads/*/confirm", fault: "503" },
      { method: "PUT", path: "/_uploads/*", fault: "429", retry_after: 1 },
      { method: "GET", path: "/v1/namespaces/*/plugins/*/status", fault: "503", times: 2 },
    ],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "flaky-net");
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).status, "ready");
  assertMatch(r.stderr, /HTTP 500.*retrying/);
  assertMatch(r.stderr, /HTTP 503.*retrying/);
  assertMatch(r.stderr, /HTTP 429.*retrying the upload/);
  const statuses = requests(e2e.log).map((l) => l.match(/→ (\d+)/)?.[1]);
  assertEquals(statuses.filter((s) => s === "500").length, 1);
  assertEquals(statuses.filter((s) => s === "429").length, 1);
});

Deno.test("an upload URL that expires mid-publish is replaced by a fresh one", async () => {
  await using e2e = await startE2E({ faults: [{ method: "PUT", path: "/_uploads/*", fault: "expire" }] });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "expiring");
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, "requesting a fresh upload URL");
  const created = requests(e2e.log).filter((l) =>
    /POST \/v1\/namespaces\/default\/plugins\/uploads → 201/.test(l)
  );
  assertEquals(created.length, 2, "a second upload URL was requested");
});

Deno.test("a connection dropped mid-upload is retried", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "drop", after_bytes: 512 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "dropped");
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, "retrying the upload");
  assertEquals(JSON.parse(r.stdout).status, "ready");
});

Deno.test("a server that never answers times out with exit 6 after the retries", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "GET", path: "/v1/namespaces/*/plugins", fault: "hang", times: 0 }],
  });
  const r = await e2e.cli(["--json", "plugin", "list"], { env: { MIXPEEK_REQUEST_TIMEOUT: "0.3" } });
  assertEquals(r.code, 6, r.stderr);
  assertStringIncludes(r.stderr, "got no answer");
  assertEquals(JSON.parse(r.stdout).error.exit_code, 6);
  assertEquals((r.stderr.match(/retrying in/g) ?? []).length, 4, "5 attempts in all");
});

Deno.test("Ctrl-C during the upload exits 130, says nothing was published, and leaves no plugin", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "interrupted");
  const { code, stderr, sawMarker } = await publishThenInterrupt(e2e, dir.path, root, "uploading");
  assert(sawMarker, stderr);
  assertEquals(code, 130, stderr);
  assertStringIncludes(stderr, "nothing was published");
  const list = await e2e.cli(["--json", "plugin", "list", "--source", "custom"]);
  assertEquals(JSON.parse(list.stdout).plugins, []);
  assert(!requests(e2e.log).some((l) => /\/confirm/.test(l)), "confirm was called");
});

Deno.test("a base URL that answers 200 with HTML (not the API) is an API error, exit 5", async () => {
  const portal = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<html>Welcome to the hotel Wi-Fi</html>", { headers: { "content-type": "text/html" } }),
  );
  try {
    const r = await runCli(["--json", "plugin", "list"], {
      env: {
        MIXPEEK_BASE_URL: `http://127.0.0.1:${portal.addr.port}`,
        MIXPEEK_API_KEY: "mxp_key_1234567890",
        MIXPEEK_NAMESPACE: "default",
      },
    });
    assertEquals(r.code, 5, r.stderr);
    assertStringIncludes(r.stderr, "is not JSON");
    assertEquals(JSON.parse(r.stdout).error.type, "api");
  } finally {
    await portal.shutdown();
  }
});

Deno.test("Ctrl-C while an API call hangs stops at once (no retries) and says nothing was published", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "POST", path: "/v1/namespaces/*/plugins/uploads", fault: "hang", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "hung-api");
  // "sample_data" is the last check line: the upload request comes right after it.
  const { code, stderr } = await publishThenInterrupt(e2e, dir.path, root, "sample_data", 300);
  assertEquals(code, 130, stderr);
  assertStringIncludes(stderr, "nothing was published");
  assert(!stderr.includes("retrying"), "retried after Ctrl-C");
});
