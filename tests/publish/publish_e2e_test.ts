/**
 * End to end: the CLI, spawned as a user runs it, against `mixpeek local` on 127.0.0.1 (disk backend), on
 * Mixpeek's published wire. Every command, `--json` parsed, the short flags and global options after the
 * subcommand, and the failure paths (auth, namespace, conflict, scan rejection before any upload, faults
 * injected by the registry, a server that never answers, Ctrl-C).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { publishThenInterrupt, requests, scaffold, startE2E } from "./_helpers.ts";

Deno.test("publish --dry-run sends nothing and shows the files, size and sha256 that pack gives", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "dry_plugin");
  const r = await e2e.cli(["--json", "plugin", "publish", root, "--dry-run"]);
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.dry_run, result.name, result.realtime, result.scope], [
    true,
    "dry_plugin",
    false,
    "namespace",
  ]);
  assertMatch(result.version, /^\d+\.\d+\.\d+$/);
  assertEquals([result.archive.format, result.archive.folder], ["tar.gz", "dry_plugin"]);
  assert(result.archive.files.includes("manifest.py"));
  assertEquals(result.plugin_id, undefined);
  assertEquals(requests(e2e.log), [], "a dry run made a request");

  const pack = await e2e.cli(["--json", "plugin", "pack", "-p", root, "-o", `${dir.path}/p.tar.gz`]);
  assertEquals(pack.code, 0, pack.stderr);
  const packed = JSON.parse(pack.stdout);
  assertEquals([result.archive.sha256, result.archive.size], [packed.sha256, packed.size]);
  assertEquals(result.archive.files, packed.files);
  const zip = JSON.parse(
    (await e2e.cli(["--json", "plugin", "publish", root, "--dry-run", "--format", "zip"])).stdout,
  );
  assertEquals(zip.archive.format, "zip");

  // A dry run needs no key and no reachable server.
  const offline = await runCli(["plugin", "publish", "--path", root, "--dry-run"], {
    env: { MIXPEEK_BASE_URL: "http://127.0.0.1:9" },
  });
  assertEquals(offline.code, 0, offline.stderr);
  assertStringIncludes(offline.stdout, "nothing was sent");
  assertStringIncludes(offline.stdout, "as dry_plugin/ in a .tar.gz");
  assertMatch(offline.stdout, /sha256 [0-9a-f]{64}/);
});

Deno.test("publish → list → get → status → deploy → undeploy → delete, with --json everywhere", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "life_cycle");

  const pub = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(pub.code, 0, pub.stderr);
  const published = JSON.parse(pub.stdout);
  const id = published.plugin_id as string;
  assertEquals(id, `life_cycle_${published.version.replaceAll(".", "_")}`);
  assertEquals([published.validation_status, published.status], ["passed", "deployed"]);
  assertEquals(published.deployment.deployment_type, "batch_only");
  assertEquals(published.feature_uri, `mixpeek://life_cycle@${published.version}`);
  assertStringIncludes(pub.stderr, "✓ structure");
  assertStringIncludes(pub.stderr, "✓ scan");
  // The wire: upload URL, PUT, confirm, then deploy with ?deployment_type=batch_only (no realtime.py).
  const calls = requests(e2e.log).map((l) => l.replace(/ \(\d+ ms\).*/, ""));
  assertEquals(calls.slice(0, 4), [
    "POST /v1/namespaces/default/plugins/uploads → 200",
    `PUT /_uploads/${published.upload_id} → 200`,
    `POST /v1/namespaces/default/plugins/uploads/${published.upload_id}/confirm → 200`,
    `POST /v1/namespaces/default/plugins/${id}/deploy → 200`,
  ]);

  // The default list is the extractors (builtins too); -s custom is the namespace's plugins.
  const all = JSON.parse((await e2e.cli(["--json", "plugin", "list"])).stdout);
  assert(all.extractors.some((e: { feature_extractor_id: string }) => e.feature_extractor_id === id));
  assert(all.extractors.some((e: { source: string }) => e.source === "builtin"));
  const custom = JSON.parse((await e2e.cli(["plugin", "list", "-s", "custom", "--json"])).stdout);
  assertEquals(custom.plugins.map((p: { plugin_id: string }) => p.plugin_id), [id]);
  const builtin = JSON.parse((await e2e.cli(["--json", "plugin", "list", "--source", "builtin"])).stdout);
  assert(
    builtin.extractors.length > 0 &&
      builtin.extractors.every((e: { source: string }) => e.source === "builtin"),
  );
  const community = JSON.parse((await e2e.cli(["--json", "plugin", "list", "-s", "community"])).stdout);
  assert(
    community.extractors.length > 0 &&
      community.extractors.every((e: { source: string }) => e.source === "community"),
  );

  const tsv = await e2e.cli(["plugin", "list", "--source", "custom"]);
  assertEquals(tsv.code, 0, tsv.stderr);
  assertEquals(
    tsv.stdout,
    `plugin_id\tname\tversion\tvalidation_status\tdeployed\n${id}\tlife_cycle\t${published.version}\tpassed\tyes\n`,
  );

  const get = JSON.parse((await e2e.cli(["--json", "plugin", "get", id])).stdout);
  assertEquals([get.plugin_id, get.name, get.validation_status, get.deployed], [
    id,
    "life_cycle",
    "passed",
    true,
  ]);
  const human = await e2e.cli(["plugin", "get", id]);
  assertStringIncludes(human.stdout, `life_cycle ${published.version}  (${id})`);
  assertStringIncludes(human.stdout, "validation:  passed (security scan passed)");
  const status = JSON.parse((await e2e.cli(["--json", "plugin", "status", id])).stdout);
  assertEquals([status.status, status.deployed], ["deployed", true]);
  const waited = await e2e.cli(["plugin", "status", id, "--wait", "--timeout", "30"]);
  assertEquals([waited.code, waited.stdout.split("\n")[0]], [0, "deployed"]);

  const undeploy = await e2e.cli(["--json", "plugin", "undeploy", id]);
  assertEquals([undeploy.code, JSON.parse(undeploy.stdout).success], [0, true]);
  assertEquals(JSON.parse((await e2e.cli(["--json", "plugin", "status", id])).stdout).status, "not_deployed");
  const deploy = await e2e.cli(["plugin", "deploy", id, "--batch-only"]);
  assertEquals(deploy.code, 0, deploy.stderr);
  assertStringIncludes(deploy.stdout, `${id}: deployed (batch_only)`);
  const realtime = await e2e.cli(["--json", "plugin", "deploy", id]);
  assertEquals(JSON.parse(realtime.stdout).deployment_type, "batch_only", "no realtime.py: batch only");

  const refused = await e2e.cli(["plugin", "delete", id]);
  assertEquals(refused.code, 2);
  assertStringIncludes(refused.stderr, "--yes");
  const del = await e2e.cli(["--json", "plugin", "delete", id, "--yes"]);
  assertEquals(del.code, 0, del.stderr);
  assertEquals([JSON.parse(del.stdout).success, JSON.parse(del.stdout).plugin_id], [true, id]);
  const gone = await e2e.cli(["--json", "plugin", "get", id]);
  assertEquals(gone.code, 5);
  assertEquals(JSON.parse(gone.stdout).error.status, 404);
  assertStringIncludes(gone.stderr, `Plugin not found: ${id}`);
  assertStringIncludes(gone.stderr, "mixpeek plugin list");
});

Deno.test("a realtime plugin is deployed by publish, and --wait follows the deployment to deployed", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "live_one", { realtime: true });
  const r = await e2e.cli(["--json", "plugin", "publish", root, "--wait", "--timeout", "60"]);
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.realtime, result.status, result.deployment.status], [true, "deployed", "queued"]);
  assertEquals(result.deployment_status.route_prefix, `/inference/custom_plugin_${result.plugin_id}`);
  assertStringIncludes(r.stderr, "deployment: deployed");
  // No ?deployment_type: the server deploys a plugin with realtime.py for realtime.
  assert(
    requests(e2e.log).some((l) =>
      l.includes(`POST /v1/namespaces/default/plugins/${result.plugin_id}/deploy → 200`)
    ),
  );

  const human = await e2e.cli(["plugin", "publish", root, "--no-deploy"]);
  assertEquals(human.code, 5, "the same version again is a 409");
  const again = await e2e.cli(["plugin", "deploy", result.plugin_id]);
  assertEquals(again.code, 0, again.stderr);
  assertStringIncludes(again.stdout, `${result.plugin_id}: queued (realtime)`);
  assertStringIncludes(again.stdout, `follow it with: mixpeek plugin status ${result.plugin_id} --wait`);
  const waited = await e2e.cli(["plugin", "status", result.plugin_id, "--wait"]);
  assertEquals(waited.code, 0, waited.stderr);
  assertStringIncludes(waited.stdout, "route: /inference/custom_plugin_");
});

Deno.test("--no-deploy stops after the confirm; a zip-only registry gets a zip; global options after the command", async () => {
  await using e2e = await startE2E({ archiveFormat: "zip" });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "zip_only");
  const r = await runCli(
    ["plugin", "publish", root, "--no-deploy", "--json", "-n", "default", "--api-key", e2e.reg.key],
    { env: { MIXPEEK_BASE_URL: e2e.reg.url } },
  );
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.archive.format, result.status, result.deployment], ["zip", "pending", undefined]);
  assertStringIncludes(r.stderr, "the server asks for a .zip archive");
  assert(!requests(e2e.log).some((l) => l.includes("/deploy")), "--no-deploy deployed");
  // The first upload URL (sized for the tar.gz) is left; the zip went to a second one, and was accepted.
  assertEquals(
    requests(e2e.log).filter((l) => l.startsWith("POST /v1/namespaces/default/plugins/uploads →")).length,
    2,
  );
  const human = await e2e.cli(["plugin", "status", result.plugin_id, "-v"]);
  assertEquals(human.stdout.split("\n")[0], "pending");
});

Deno.test("organization plugins: publish --org, list --org, get --org, available, enable, disable, delete --org", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "shared_tool");
  // No namespace needed for the organization's own routes.
  const pub = await e2e.cli(["--json", "plugin", "publish", root, "--org"], {
    env: { MIXPEEK_NAMESPACE: "" },
  });
  assertEquals(pub.code, 0, pub.stderr);
  const published = JSON.parse(pub.stdout);
  assertEquals([published.scope, published.deployment], ["organization", undefined]);
  const id = published.plugin_id;
  assert(requests(e2e.log).some((l) => l.startsWith("POST /v1/plugins/uploads → 200")));
  assert(
    requests(e2e.log).some((l) =>
      l.startsWith(`POST /v1/plugins/uploads/${published.upload_id}/confirm → 200`)
    ),
  );

  const orgList = await e2e.cli(["plugin", "list", "--org"], { env: { MIXPEEK_NAMESPACE: "" } });
  assertStringIncludes(orgList.stdout, `${id}\tshared_tool\t`);
  assertEquals(
    JSON.parse((await e2e.cli(["--json", "plugin", "get", id, "--org"])).stdout).organization_id,
    "org_local",
  );
  const available = await e2e.cli(["plugin", "available"]);
  assertStringIncludes(available.stdout, `${id}\tshared_tool\t${published.version}\tpassed\tno`);
  const enable = await e2e.cli(["--json", "plugin", "enable", id, "--params", '{"threshold": 0.5}']);
  assertEquals(enable.code, 0, enable.stderr);
  assertEquals(JSON.parse(enable.stdout).deployment_status, "deployed");
  assertStringIncludes((await e2e.cli(["plugin", "available"])).stdout, `\tpassed\tyes`);
  const extractor = JSON.parse((await e2e.cli(["--json", "plugin", "get", id, "--extractor"])).stdout);
  assertEquals(extractor.default_parameters, { threshold: 0.5 });
  const badParams = await e2e.cli(["plugin", "enable", id, "--params", "[1]"]);
  assertEquals(badParams.code, 2);
  assertStringIncludes(badParams.stderr, "--params must be a JSON object");
  const noDeploy = JSON.parse((await e2e.cli(["--json", "plugin", "enable", id, "--no-deploy"])).stdout);
  assertEquals(noDeploy.deployment_status, "skipped");
  const disable = await e2e.cli(["plugin", "disable", id]);
  assertEquals(disable.code, 0, disable.stderr);
  assertStringIncludes(disable.stdout, "disabled for namespace");
  const del = await e2e.cli(["--json", "plugin", "delete", id, "--org", "--yes"], {
    env: { MIXPEEK_NAMESPACE: "" },
  });
  assertEquals(del.code, 0, del.stderr);
  assertEquals((await e2e.cli(["plugin", "get", id, "--org"])).code, 5);
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
  r = await e2e.cli(["plugin", "list", "-n", "nope"]);
  assertEquals(r.code, 5);
  assertStringIncludes(r.stderr, "Namespace not found");
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
  assertStringIncludes(r.stderr, "already exists in this namespace");
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
      { method: "POST", path: "/v1/namespaces/*/plugins/*/deploy", fault: "503", times: 2 },
    ],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "flaky_net", { realtime: true });
  const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).status, "deployed");
  assertMatch(r.stderr, /HTTP 500.*retrying/);
  assertMatch(r.stderr, /HTTP 503.*retrying/);
  assertMatch(r.stderr, /HTTP 429.*retrying the upload/);
  const statuses = requests(e2e.log).map((l) => l.match(/→ (\d+)/)?.[1]);
  assertEquals(statuses.filter((s) => s === "500").length, 1);
  assertEquals(statuses.filter((s) => s === "503").length, 3);
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
    /POST \/v1\/namespaces\/default\/plugins\/uploads → 200/.test(l)
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
  assertEquals(JSON.parse(r.stdout).status, "deployed");
});

Deno.test("a server that never answers times out with exit 6, at once (a timeout is not retried)", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "GET", path: "/v1/namespaces/*/plugins", fault: "hang", times: 0 }],
  });
  const r = await e2e.cli(["--json", "plugin", "list", "-s", "custom"], {
    env: { MIXPEEK_REQUEST_TIMEOUT: "0.3" },
  });
  assertEquals(r.code, 6, r.stderr);
  assertStringIncludes(r.stderr, "no answer from 127.0.0.1:");
  assertEquals(JSON.parse(r.stdout).error.exit_code, 6);
  assertEquals((r.stderr.match(/retrying in/g) ?? []).length, 0, "the wait was spent: no second one");
});

Deno.test("Ctrl-C during the upload exits 130, says nothing was published, and leaves no plugin", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "interrupted");
  // Progress is drawn in a terminal only; in a pipe, --verbose's step line says the upload starts.
  const { code, stderr, sawMarker } = await publishThenInterrupt(e2e, dir.path, root, "(tar.gz)", 300, [
    "--verbose",
  ]);
  assert(sawMarker, stderr);
  assertEquals(code, 130, stderr);
  assertStringIncludes(stderr, "nothing was published");
  const list = await e2e.cli(["--json", "plugin", "list", "--source", "custom"]);
  assertEquals(JSON.parse(list.stdout).plugins, []);
  assert(!requests(e2e.log).some((l) => /\/confirm/.test(l)), "confirm was called");
});

Deno.test("a base URL that answers 200 with HTML, or JSON that is not the API, is an API error, exit 5", async () => {
  let body = "<html>Welcome to the hotel Wi-Fi</html>";
  const portal = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { headers: { "content-type": "text/html" } }),
  );
  try {
    const env = {
      MIXPEEK_BASE_URL: `http://127.0.0.1:${portal.addr.port}`,
      MIXPEEK_API_KEY: "mxp_key_1234567890",
      MIXPEEK_NAMESPACE: "default",
    };
    const r = await runCli(["--json", "plugin", "list"], { env });
    assertEquals(r.code, 5, r.stderr);
    assertStringIncludes(r.stderr, "is not JSON");
    assertEquals(JSON.parse(r.stdout).error.type, "api");
    body = '{"hello": "world"}';
    const other = await runCli(["plugin", "list", "-s", "custom"], { env });
    assertEquals(other.code, 5, other.stderr);
    assertStringIncludes(other.stderr, "answered without `plugins`, `total`, `namespace_id`");
  } finally {
    await portal.shutdown();
  }
});

Deno.test("Ctrl-C while an API call hangs stops at once (no retries) and says nothing was published", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "POST", path: "/v1/namespaces/*/plugins/uploads", fault: "hang", times: 0 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "hung_api");
  // "sample_data" is the last check line: the upload request comes right after it.
  const { code, stderr } = await publishThenInterrupt(e2e, dir.path, root, "sample_data", 300);
  assertEquals(code, 130, stderr);
  assertStringIncludes(stderr, "nothing was published");
  assert(!stderr.includes("retrying"), "retried after Ctrl-C");
});

Deno.test("publish scans before it runs any plugin code: a rejected plugin's manifest.py is never imported", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "scan_first");
  const marker = `${dir.path}/imported`;
  const manifest = await Deno.readTextFile(`${root}/manifest.py`);
  await Deno.writeTextFile(
    `${root}/manifest.py`,
    `import pathlib\nimport subprocess\npathlib.Path(${JSON.stringify(marker)}).touch()\n${manifest}`,
  );
  const r = await runCli(["plugin", "publish", "--path", root, "--dry-run"]);
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, "scan");
  assertEquals(await Deno.stat(marker).then(() => "imported", () => "never imported"), "never imported");
});

Deno.test("publish packs beside the checks: the manifest's name wins over the folder's, and a failed check beats a secret", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "folder_name");
  const manifest = await Deno.readTextFile(`${root}/manifest.py`);
  await Deno.writeTextFile(
    `${root}/manifest.py`,
    manifest.replace('"feature_extractor_name": "folder_name"', '"feature_extractor_name": "manifest_name"'),
  );
  const renamed = await runCli(["--json", "plugin", "publish", root, "--dry-run"]);
  assertEquals(renamed.code, 0, renamed.stderr);
  const result = JSON.parse(renamed.stdout);
  assertEquals([result.name, result.archive.folder], ["manifest_name", "manifest_name"]);

  // A secret (which stops the pack) and a failing check (which stops publish first): the check is reported.
  await Deno.writeTextFile(`${root}/.env`, "TOKEN=1\n");
  await Deno.writeTextFile(`${root}/pipeline.py`, "def build_steps(:\n");
  const both = await runCli(["plugin", "publish", root, "--dry-run"]);
  assertEquals(both.code, 3, both.stderr);
  assertStringIncludes(both.stderr, "the plugin is not ready to publish");
  assert(!both.stderr.includes("look like secrets"), both.stderr);
  assertEquals(await Deno.stat(`${root}/dist`).then(() => "written", () => "none"), "none");
});
