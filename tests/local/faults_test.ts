/**
 * Fault injection (lib/local/faults.ts) over real HTTP: 500/503/429 N times, dropped connections mid-body,
 * slow and hanging answers, expired upload URLs, and the /_faults admin route.
 */
import { UsageError } from "../../lib/errors.ts";
import { parseFaults } from "../../lib/local/faults.ts";
import { startLocalRegistry } from "../../lib/local/registry.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { archiveOf, confirm, createUpload, putArchive, reply, startRegistry } from "./_helpers.ts";

const archive = archiveOf(new TextEncoder().encode("fault injection payload\n".repeat(4000)));

Deno.test("injected statuses, N times, on API routes and on the upload route", async () => {
  await using reg = await startRegistry({
    faults: parseFaults({ // (the same document a --faults file holds)
      faults: [
        { method: "GET", path: "/v1/namespaces/*/plugins", fault: "503", times: 2, retry_after: 1 },
        { method: "POST", path: "/v1/namespaces/*/plugins/uploads", fault: "429", retry_after: 3 },
        { method: "PUT", path: "/_uploads/*", fault: "500" },
        { method: "GET", path: "/v1/namespaces/*/plugins/*/status", fault: "slow", delay_ms: 200 },
      ],
    }, "test"),
  });
  for (let i = 0; i < 2; i++) {
    const r = await reg.api("GET", reg.ns("/plugins"));
    assertEquals([r.status, r.json.error.type, r.headers.get("retry-after")], [
      503,
      "ServiceUnavailableError",
      "1",
    ]);
    assert(r.headers.get("x-request-id"));
  }
  assertEquals((await reg.api("GET", reg.ns("/plugins"))).status, 200, "only twice");

  const limited = await createUpload(reg, "faulty", "1.0.0", archive);
  assertEquals([limited.status, limited.json.error.type, limited.headers.get("retry-after")], [
    429,
    "RateLimitError",
    "3",
  ]);
  const ticket = (await createUpload(reg, "faulty", "1.0.0", archive)).json;
  const failed = await putArchive(ticket.presigned_url, archive);
  assertEquals(failed.status, 500);
  assertStringIncludes(failed.text, "<Code>InternalError</Code>");
  assertEquals((await putArchive(ticket.presigned_url, archive)).status, 200);
  const slow = await reg.api("GET", reg.ns("/plugins/none_1_0_0/status"));
  assertEquals(slow.status, 404, "a slow answer is still the normal answer");
});

Deno.test("a dropped connection mid-body, a hang, an expired URL", async () => {
  await using reg = await startRegistry({
    faults: parseFaults([
      { method: "PUT", path: "/_uploads/*", fault: "drop", after_bytes: 16384 },
      { method: "GET", path: "/v1/namespaces/*/plugins/*", fault: "drop" },
      { method: "GET", path: "/v1/namespaces/*/plugins", fault: "hang" },
      { method: "POST", path: "/v1/namespaces/*/plugins/uploads", fault: "expire" },
    ], "test"),
  });
  // expire: the first ticket's URL is already expired (the next one is fine).
  const expired = (await createUpload(reg, "dropped", "1.0.0", archive)).json;
  assert(Date.parse(expired.expires_at) <= Date.now());
  const ticket = (await createUpload(reg, "dropped", "1.0.0", archive)).json;
  assert(Date.parse(ticket.expires_at) > Date.now());

  // drop on the upload route: the client sees a network error, nothing is stored; the retry works.
  await assertRejects(async () => {
    const r = await fetch(ticket.presigned_url, {
      method: "PUT",
      body: archive.bytes,
      headers: { "content-type": "application/gzip" },
    });
    await r.arrayBuffer();
  }, Error);
  assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], []);
  assertEquals((await confirm(reg, ticket.upload_id, {})).status, 404, "nothing arrived");
  const refused = await putArchive(expired.presigned_url, archive);
  assertEquals(refused.status, 403);
  assertStringIncludes(refused.text, "Request has expired");
  assertEquals((await putArchive(ticket.presigned_url, archive)).status, 200);

  // drop on a JSON route: headers, then half a body, then a reset.
  await assertRejects(async () => {
    const r = await fetch(`${reg.url}${reg.ns("/plugins/x_1_0_0")}`, {
      headers: { authorization: `Bearer ${reg.key}` },
    });
    await r.json();
  }, Error);

  // hang: no answer until the client gives up; the server goes on serving.
  await assertRejects(
    () =>
      fetch(`${reg.url}${reg.ns("/plugins")}`, {
        headers: { authorization: `Bearer ${reg.key}` },
        signal: AbortSignal.timeout(300),
      }),
    Error,
  );
  assertEquals((await reg.api("GET", reg.ns("/plugins"))).status, 200);
});

Deno.test("a server with a request hanging still shuts down", async () => {
  const reg = await startRegistry({ faults: [{ method: "*", path: "/**", fault: "hang", times: 0 }] });
  const pending = fetch(`${reg.url}/v1/namespaces/default/plugins`).then((r) => r.arrayBuffer()).catch((e) =>
    e
  );
  await new Promise((r) => setTimeout(r, 100));
  await reg[Symbol.asyncDispose]();
  await pending;
});

Deno.test("the /_faults admin route: off unless enabled, needs the key, validates rules", async () => {
  {
    await using off = await startRegistry();
    assertEquals((await off.api("GET", "/_faults")).status, 404);
  }
  await using reg = await startRegistry({ faultAdmin: true });
  assertEquals((await reply(await fetch(`${reg.url}/_faults`))).status, 401);
  assertEquals((await reg.api("GET", "/_faults")).json, { faults: [] });
  const bad = await reg.api("POST", "/_faults", { faults: [{ path: "/x", fault: "explode" }] });
  assertEquals([bad.status, bad.json.error.type], [400, "BadRequestError"]);
  const added = await reg.api("POST", "/_faults", {
    faults: [{ method: "GET", path: "/v1/**", fault: "500", times: 1 }],
  });
  assertEquals(added.json.faults[0].remaining, 1);
  assertEquals((await reg.api("GET", reg.ns("/plugins"))).status, 500);
  const after = (await reg.api("GET", "/_faults")).json.faults[0];
  assertEquals([after.remaining, after.fired], [0, 1]);
  assertEquals((await reg.api("DELETE", "/_faults")).json, { faults: [] });
});

Deno.test("fault files are validated with the rule and field named", () => {
  const cases: [unknown, string][] = [
    [{ nope: [] }, 'expected {"faults"'],
    [[{ path: "/x", fault: "boom" }], "fault rule 1"],
    [[{ path: "x", fault: "500" }], '"path"'],
    [[{ path: "/x", fault: "500", times: -1 }], '"times"'],
    [[{ path: "/x", fault: "500", colour: "red" }], 'unknown field "colour"'],
    [[{ path: "/x", fault: "drop", status: 99 }], '"status"'],
  ];
  for (const [doc, message] of cases) {
    let error: unknown;
    try {
      parseFaults(doc, "faults.json");
    } catch (e) {
      error = e;
    }
    assert(error instanceof UsageError, `expected a UsageError for ${JSON.stringify(doc)}`);
    assertStringIncludes((error as Error).message, message);
  }
  assertEquals(parseFaults([{ path: "/x", fault: 503 }], "f")[0], {
    method: "*",
    path: "/x",
    fault: "503",
    times: 1,
    retry_after: undefined,
    delay_ms: undefined,
    after_bytes: undefined,
    status: undefined,
  });
});

Deno.test("startLocalRegistry validates its faults option like a file", async () => {
  await using dir = await tempDir("mixpeek-faults-");
  await assertRejects(
    () => startLocalRegistry({ dataDir: dir.path, port: 0, faults: [{ path: "no-slash", fault: "500" }] }),
    UsageError,
    '"path"',
  );
});
