/**
 * The CLI against the documented answers: a loopback server that replies with the OpenAPI document's own
 * example bodies (read from lib/api/openapi/plugins.openapi.json at run time, not copied here), in the
 * variants Mixpeek's texts show: upper-case statuses, FastAPI `{"detail": …}` errors, a confirm that answers
 * 200 with `success: false`, 404/405 from the shared host, deploy answering `batch_only`, an s3_key that
 * names `.zip`. Every command must give the right output and exit code.
 */
import { matchTemplate, OPENAPI } from "../../lib/api/openapi/document.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { scaffold } from "../publish/_helpers.ts";

/** The example of an answer: `example`, or the named one of `examples` (the first when no name is given). */
// deno-lint-ignore no-explicit-any
function example(template: string, method: string, status = "200", name?: string): any {
  const content = OPENAPI.paths[template][method].responses[status].content!["application/json"];
  if (content.example !== undefined) return structuredClone(content.example);
  const examples = content.examples as Record<string, { value: unknown }>;
  return structuredClone(examples[name ?? Object.keys(examples)[0]].value);
}

interface Scenario {
  /** A fixed answer for an operation (`METHOD template`): status and body (raw text when a string). */
  answers: Record<string, { status: number; body: unknown }>;
  /** Successive bodies of the status route. */
  statuses: unknown[];
  /** What was requested, in order. */
  seen: { method: string; path: string; contentType?: string; body?: string }[];
}

const NS = "/v1/namespaces/{namespace_id}";

function documentedServer(scenario: Scenario) {
  let statusCalls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    const body = await request.text();
    scenario.seen.push({
      method: request.method,
      path: url.pathname + url.search,
      contentType: request.headers.get("content-type") ?? undefined,
      body,
    });
    const json = (status: number, value: unknown) =>
      new Response(typeof value === "string" ? value : JSON.stringify(value), {
        status,
        headers: { "content-type": "application/json" },
      });
    if (url.pathname.startsWith("/bucket/")) {
      return new Response(null, { status: 200, headers: { etag: '"9e107d9d372bb6826bd81d3542a419d6"' } });
    }
    const matched = matchTemplate(url.pathname, request.method);
    if (!matched) return json(404, { detail: "Not Found" });
    const key = `${request.method} ${matched.template}`;
    const fixed = scenario.answers[key];
    if (fixed) return json(fixed.status, fixed.body);
    const m = request.method.toLowerCase();
    switch (key) {
      case `POST ${NS}/plugins/uploads`: {
        const answer = example(matched.template, m);
        // The example's URL is "https://s3.amazonaws.com/bucket/...": the same path, on this server.
        answer.presigned_url = `${url.origin}/bucket/${answer.s3_key}`;
        return json(200, answer);
      }
      case `GET ${NS}/plugins/{plugin_id}/status`:
        return json(200, scenario.statuses[Math.min(statusCalls++, scenario.statuses.length - 1)]);
      default:
        return json(200, example(matched.template, m));
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function scenario(overrides: Partial<Scenario> = {}): Scenario {
  const status = (name: string) => example(`${NS}/plugins/{plugin_id}/status`, "get", "200", name);
  return { answers: {}, statuses: [status("queued"), status("deployed")], seen: [], ...overrides };
}

async function mixpeek(server: { url: string }, args: string[]) {
  return await runCli(args, {
    env: { MIXPEEK_BASE_URL: server.url, MIXPEEK_API_KEY: "sk_test_documented", MIXPEEK_NAMESPACE: "ns_xxx" },
  });
}

Deno.test("documented answers: publish packs the .zip s3_key names, confirms, deploys batch_only", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "my_plugin");
  const s = scenario({
    answers: {
      [`POST ${NS}/plugins/{plugin_id}/deploy`]: {
        status: 200,
        body: example(`${NS}/plugins/{plugin_id}/deploy`, "post", "200", "batch_only_requires_enterprise"),
      },
    },
  });
  await using server = documentedServer(s);
  const r = await mixpeek(server, ["plugin", "publish", root, "--wait", "--yes"]);
  assertEquals(r.code, 0, r.stderr);
  // The ids are the server's (the documented example), whatever version the template has.
  assertStringIncludes(
    r.stdout,
    " as my_plugin_1_0_0 (mixpeek://my_plugin@1.0.0)\ndeployment: batch_only (batch_only)\n",
  );
  assertStringIncludes(r.stdout, "namespace requires dedicated infrastructure");
  assertStringIncludes(r.stderr, "the server asks for a .zip archive");
  const put = s.seen.find((e) => e.method === "PUT")!;
  assertEquals([put.path.endsWith(".zip"), put.contentType], [true, "application/zip"]);
  const confirm = s.seen.find((e) => e.path.endsWith("/confirm"))!;
  assertEquals(JSON.parse(confirm.body!), {
    etag: "9e107d9d372bb6826bd81d3542a419d6",
    file_size_bytes: JSON.parse(confirm.body!).file_size_bytes,
  });
  // A plugin without realtime.py is deployed with ?deployment_type=batch_only; batch_only ends --wait at once.
  assert(
    s.seen.some((e) =>
      e.path === "/v1/namespaces/ns_xxx/plugins/my_plugin_1_0_0/deploy?deployment_type=batch_only"
    ),
  );
  assert(!s.seen.some((e) => e.path.endsWith("/status")), "batch_only is terminal: no polling");
});

Deno.test("documented answers: a realtime publish --wait follows QUEUED → IN_PROGRESS → DEPLOYED, in upper case", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "my_plugin", { realtime: true });
  const up = (name: string, status: string) => ({
    ...example(`${NS}/plugins/{plugin_id}/status`, "get", "200", name),
    status,
  });
  const s = scenario({
    statuses: [up("queued", "QUEUED"), up("queued", "IN_PROGRESS"), up("deployed", "DEPLOYED")],
  });
  await using server = documentedServer(s);
  const r = await mixpeek(server, ["--json", "plugin", "publish", root, "--wait", "--yes"]);
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.status, result.deployment.status], ["DEPLOYED", "queued"]);
  assertEquals(result.deployment_status.route_prefix, "/inference/custom_plugin_my_plugin_1_0_0");
  assert(
    s.seen.some((e) => e.path === "/v1/namespaces/ns_xxx/plugins/my_plugin_1_0_0/deploy"),
    "no ?deployment_type",
  );
  assertEquals(s.seen.filter((e) => e.path.endsWith("/status")).length, 3);
  assertStringIncludes(r.stderr, "deployment: IN_PROGRESS");
});

Deno.test("documented answers: confirm with success false exits 3 and lists validation_errors", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "my_plugin");
  const refused = {
    ...example(`${NS}/plugins/uploads/{upload_id}/confirm`, "post"),
    success: false,
    plugin_id: null,
    validation_status: "failed",
    deployment_status: "failed",
    validation_errors: [
      "processors/core.py:3:1: forbidden import: subprocess",
      "manifest.py: missing metadata",
    ],
  };
  const s = scenario({
    answers: { [`POST ${NS}/plugins/uploads/{upload_id}/confirm`]: { status: 200, body: refused } },
  });
  await using server = documentedServer(s);
  const r = await mixpeek(server, ["plugin", "publish", root, "--yes"]);
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, "the server rejected my_plugin");
  assertStringIncludes(r.stderr, "processors/core.py:3:1: forbidden import: subprocess");
  assertStringIncludes(r.stderr, "manifest.py: missing metadata");
  assert(!s.seen.some((e) => e.path.includes("/deploy")), "a rejected plugin is not deployed");
});

Deno.test("documented answers: a 404 or 405 from the shared host says to use a dedicated host with --base-url", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "my_plugin");
  for (
    const [status, body] of [[404, { detail: "Not Found" }], [405, { detail: "Method Not Allowed" }]] as const
  ) {
    const s = scenario({ answers: { [`POST ${NS}/plugins/uploads`]: { status, body } } });
    await using server = documentedServer(s);
    const r = await mixpeek(server, ["--json", "plugin", "publish", root, "--yes"]);
    assertEquals(r.code, 5, r.stderr);
    assertStringIncludes(
      r.stderr,
      "this host does not serve custom plugins; use your dedicated host's URL with --base-url",
    );
    assertEquals(JSON.parse(r.stdout).error.status, status);
    assert(!r.stderr.includes("request id"), "no request id when the server sends none");
  }
  // On deploy too; but a deploy 404 that names the plugin is a missing plugin, not a missing route.
  const s = scenario({
    answers: { [`POST ${NS}/plugins/{plugin_id}/deploy`]: { status: 404, body: { detail: "Not Found" } } },
  });
  await using server = documentedServer(s);
  const deploy = await mixpeek(server, ["plugin", "deploy", "my_plugin_1_0_0"]);
  assertEquals(deploy.code, 5);
  assertStringIncludes(deploy.stderr, "this host does not serve custom plugins");
  s.answers[`POST ${NS}/plugins/{plugin_id}/deploy`] = {
    status: 404,
    body: { detail: "Plugin not found: my_plugin_1_0_0" },
  };
  const missing = await mixpeek(server, ["plugin", "deploy", "my_plugin_1_0_0"]);
  assertEquals(missing.code, 5);
  assertStringIncludes(missing.stderr, "Plugin not found: my_plugin_1_0_0 (HTTP 404)");
  assert(!missing.stderr.includes("dedicated host"));
});

Deno.test("documented answers: the four error shapes read into one message each", async () => {
  const cases: [string, number, unknown, string, number, string][] = [
    // FastAPI's {"detail": "text"}: the documented 404 example of GET plugin.
    [
      `GET ${NS}/plugins/{plugin_id}`,
      404,
      example(`${NS}/plugins/{plugin_id}`, "get", "404"),
      "Plugin not found: my_plugin_1_0_0",
      5,
      "mixpeek plugin list",
    ],
    // {"detail": {"message", "type", "details"}}: the documented quota example.
    [
      `GET ${NS}/plugins/{plugin_id}`,
      403,
      example(`${NS}/plugins`, "post", "403"),
      "Plugin quota exceeded (10/10)",
      5,
      "higher quota",
    ],
    // ErrorResponse: the schema's own example.
    [
      `GET ${NS}/plugins/{plugin_id}`,
      404,
      OPENAPI.components.schemas.ErrorResponse.examples,
      "Namespace not found",
      5,
      "--namespace",
    ],
    // FastAPI's 422.
    [
      `GET ${NS}/plugins/{plugin_id}`,
      422,
      {
        detail: [{
          loc: ["path", "plugin_id"],
          msg: "String should have at most 64 characters",
          type: "string_too_long",
        }],
      },
      "path.plugin_id: String should have at most 64 characters",
      5,
      "values named above",
    ],
    // 401 in ErrorResponse.
    [
      `GET ${NS}/plugins/{plugin_id}`,
      401,
      { success: false, status: 401, error: { message: "Invalid API key", type: "AuthenticationError" } },
      "the API refused the key: Invalid API key",
      4,
      "--api-key",
    ],
  ];
  for (const [operation, status, raw, message, code, hint] of cases) {
    const body = Array.isArray(raw) ? raw[0] : raw;
    const s = scenario({ answers: { [operation]: { status, body } } });
    await using server = documentedServer(s);
    const r = await mixpeek(server, ["plugin", "get", "my_plugin_1_0_0"]);
    assertEquals(r.code, code, r.stderr);
    assertStringIncludes(r.stderr, `error: ${message} (HTTP ${status})`);
    assertStringIncludes(r.stderr, hint);
  }
  // The documented 409 example of the multipart upload, on the presigned route.
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "my_plugin");
  const conflict = scenario({
    answers: {
      [`POST ${NS}/plugins/uploads`]: { status: 409, body: example(`${NS}/plugins`, "post", "409") },
    },
  });
  await using server = documentedServer(conflict);
  const r = await mixpeek(server, ["plugin", "publish", root, "--yes"]);
  assertEquals(r.code, 5, r.stderr);
  assertStringIncludes(r.stderr, "Plugin my_plugin@1.0.0 already exists in this namespace (HTTP 409)");
  assertStringIncludes(r.stderr, "bump `version` in manifest.py");
});

Deno.test("documented answers: status, status --wait (FAILED ends it), list, available, enable, disable, delete", async () => {
  const failed = {
    ...example(`${NS}/plugins/{plugin_id}/status`, "get", "200", "queued"),
    status: "FAILED",
    error: "replica crashed",
  };
  const s = scenario();
  await using server = documentedServer(s);
  const status = await mixpeek(server, ["plugin", "status", "my_plugin_1_0_0"]);
  assertEquals([status.code, status.stdout.split("\n")[0]], [0, "queued"]);
  assertStringIncludes(status.stdout, "Deployment will start within 30 seconds");
  s.statuses = [example(`${NS}/plugins/{plugin_id}/status`, "get", "200", "queued"), failed];
  const waited = await mixpeek(server, ["plugin", "status", "my_plugin_1_0_0", "--wait"]);
  assertEquals(waited.code, 1, waited.stderr);
  assertStringIncludes(waited.stdout, "FAILED: replica crashed");
  assertStringIncludes(waited.stderr, "the deployment of my_plugin_1_0_0 failed: replica crashed");

  const builtin = await mixpeek(server, ["plugin", "list", "-s", "builtin"]);
  assertEquals(builtin.code, 0, builtin.stderr);
  assertEquals(
    builtin.stdout,
    "feature_extractor_id\tfeature_extractor_name\tversion\tsource\tdeployed\ntext_extractor_v1\ttext_extractor\tv1\tbuiltin\t\n",
  );
  assert(s.seen.some((e) => e.path === "/v1/namespaces/ns_xxx/extractors?source=builtin"));
  const community = await mixpeek(server, ["plugin", "list", "-s", "community"]);
  assertEquals([community.code, community.stderr.trim()], [0, "no community extractors in namespace ns_xxx"]);
  assert(
    s.seen.some((e) => e.path === "/v1/namespaces/ns_xxx/extractors?source=all"),
    "community asks for all",
  );

  const available = await mixpeek(server, ["plugin", "available"]);
  assertEquals(
    available.stdout,
    "plugin_id\tname\tversion\tvalidation_status\tenabled\nmy_plugin_1_0_0\tmy_plugin\t1.0.0\tpassed\tno\n",
  );
  const enable = await mixpeek(server, ["plugin", "enable", "my_plugin_1_0_0", "--no-deploy"]);
  assertEquals(enable.code, 0, enable.stderr);
  assertStringIncludes(enable.stdout, "Plugin my_plugin@1.0.0 enabled for namespace (deployment: deployed)");
  assertEquals(JSON.parse(s.seen.at(-1)!.body!), { deploy: false });
  const disable = await mixpeek(server, ["plugin", "disable", "my_plugin_1_0_0"]);
  assertEquals(disable.stdout.trim(), "Plugin my_plugin@1.0.0 disabled for namespace");
  const del = await mixpeek(server, ["plugin", "delete", "my_plugin_1_0_0", "--yes"]);
  assertEquals([del.code, del.stdout.trim()], [0, "Plugin my_plugin_1_0_0 deleted successfully."]);
  const deploy = await mixpeek(server, ["--json", "plugin", "deploy", "my_plugin_1_0_0"]);
  assertEquals(JSON.parse(deploy.stdout).status, "queued", "the first documented deploy example");
});
