/**
 * A deploy or delete whose answer is lost after the server did the work: the client retries, the retry gets
 * 409 (already deploying) or 404 (already gone), and the client looks up the real state before reporting,
 * so the user sees the success it was. A loopback proxy in front of `mixpeek local` lets the first request
 * run and cuts its answer off; for the deploy, it answers the retry 409 as a host does while a deployment is
 * under way (`mixpeek local` itself accepts a repeated deploy).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { scaffold, startE2E } from "../publish/_helpers.ts";
import { lossyProxy } from "./_helpers.ts";

Deno.test("plugin deploy: the answer lost, the retry 409: the status is looked up and the deploy reported done", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "lost_deploy");
  const pub = await e2e.cli(["--json", "plugin", "publish", root, "--no-deploy"]);
  assertEquals(pub.code, 0, pub.stderr);
  const id = JSON.parse(pub.stdout).plugin_id;
  const proxy = lossyProxy(e2e.reg.url, [
    { method: "POST", path: /\/deploy$/, action: "drop" },
    { method: "POST", path: /\/deploy$/, action: "409" },
  ]);
  try {
    const r = await e2e.cli(["plugin", "deploy", id, "--batch-only"], {
      env: { MIXPEEK_BASE_URL: proxy.url },
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      r.stdout,
      `${id}: deployed (batch_only)\n  the first deploy's answer was lost on the way; the retry was refused ` +
        "(HTTP 409) because that deploy went through: the deployment is deployed\n",
    );
    assertStringIncludes(r.stderr, "was closed before the answer arrived; retrying");
    assertEquals(proxy.seen.map((l) => l.replace(/\/plugins\/\w+/, "/plugins/ID")), [
      "POST /v1/namespaces/default/plugins/ID/deploy → 200, dropped",
      "POST /v1/namespaces/default/plugins/ID/deploy → 409 (injected)",
      "GET /v1/namespaces/default/plugins/ID/status → 200",
    ]);
    const status = JSON.parse((await e2e.cli(["--json", "plugin", "status", id])).stdout);
    assertEquals(status.status, "deployed");
  } finally {
    await proxy.close();
  }
});

Deno.test("plugin publish: its deploy's answer lost and the retry 409: publish succeeds with the real status", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "lost_publish");
  const proxy = lossyProxy(e2e.reg.url, [
    { method: "POST", path: /\/deploy$/, action: "drop" },
    { method: "POST", path: /\/deploy$/, action: "409" },
  ]);
  try {
    const r = await e2e.cli(["--json", "plugin", "publish", root], { env: { MIXPEEK_BASE_URL: proxy.url } });
    assertEquals(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assertEquals([result.status, result.deployment.recovered], ["deployed", true]);
  } finally {
    await proxy.close();
  }
});

Deno.test("plugin delete: the answer lost, the retry 404: the plugin is looked up, gone, and the delete reported done", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "lost_delete");
  const pub = await e2e.cli(["--json", "plugin", "publish", root]);
  assertEquals(pub.code, 0, pub.stderr);
  const id = JSON.parse(pub.stdout).plugin_id;
  const proxy = lossyProxy(e2e.reg.url, [{ method: "DELETE", path: /\/plugins\/\w+$/, action: "drop" }]);
  try {
    const r = await e2e.cli(["plugin", "delete", id, "--yes"], { env: { MIXPEEK_BASE_URL: proxy.url } });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      r.stdout,
      `Plugin ${id} deleted (the first answer was lost on the way; the retry found it gone)\n`,
    );
    assertEquals(proxy.seen.map((l) => l.replace(id, "ID")), [
      "DELETE /v1/namespaces/default/plugins/ID → 200, dropped",
      "DELETE /v1/namespaces/default/plugins/ID → 404",
      "GET /v1/namespaces/default/plugins/ID → 404",
    ]);
    assertEquals((await e2e.cli(["plugin", "get", id])).code, 5, "the plugin is gone");

    // A 404 without a lost answer is still the error it is.
    const again = await e2e.cli(["plugin", "delete", id, "--yes"]);
    assertEquals(again.code, 5);
    assertStringIncludes(again.stderr, `Plugin not found: ${id}`);
    assert(!again.stdout.includes("deleted"));
  } finally {
    await proxy.close();
  }
});

Deno.test("plugin publish: the confirm's answer lost and the retry refused: the plugin is looked up, found validated, and deployed", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "lost_confirm");
  const proxy = lossyProxy(e2e.reg.url, [
    { method: "POST", path: /\/confirm$/, action: "drop" },
    { method: "POST", path: /\/confirm$/, action: "409" },
  ]);
  try {
    const r = await e2e.cli(["--json", "plugin", "publish", root], { env: { MIXPEEK_BASE_URL: proxy.url } });
    assertEquals(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assertEquals([result.plugin_id, result.validation_status, result.status], [
      "lost_confirm_0_1_0",
      "passed",
      "deployed",
    ]);
    assertEquals(
      proxy.seen.filter((l) => !l.startsWith("POST /v1/namespaces/default/plugins/uploads →")).map((l) =>
        l.replace(/uploads\/\w+\/confirm/, "uploads/UP/confirm")
      ),
      [
        "POST /v1/namespaces/default/plugins/uploads/UP/confirm → 200, dropped",
        "POST /v1/namespaces/default/plugins/uploads/UP/confirm → 409 (injected)",
        "GET /v1/namespaces/default/plugins/lost_confirm_0_1_0 → 200",
        "POST /v1/namespaces/default/plugins/lost_confirm_0_1_0/deploy → 200",
      ],
    );
  } finally {
    await proxy.close();
  }
});
