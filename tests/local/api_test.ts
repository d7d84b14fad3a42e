/**
 * Every route of the local registry and its error answers, over real HTTP on 127.0.0.1 (disk backend). Every
 * answer of a documented path is also validated against the vendored OpenAPI document (reg.api does it).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import {
  archiveOf,
  confirm,
  createUpload,
  pluginArchive,
  publish,
  putArchive,
  reply,
  startRegistry,
  waitFor,
} from "./_helpers.ts";

const REQUEST_ID = /^req_[0-9a-f]{20}$/;

// deno-lint-ignore no-explicit-any
function assertError(r: { status: number; json: any; headers: Headers }, status: number, type: string) {
  assertEquals(r.status, status, `expected ${status} ${type}, got ${r.status} ${JSON.stringify(r.json)}`);
  assertEquals([r.json?.success, r.json?.status, r.json?.error?.type], [false, status, type]);
  assert(typeof r.json.error.message === "string" && r.json.error.message.length > 5);
  assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
}

// deno-lint-ignore no-explicit-any
function assert422(r: { status: number; json: any }, loc: (string | number)[], type?: string) {
  assertEquals(r.status, 422, JSON.stringify(r.json));
  assert(Array.isArray(r.json.detail), JSON.stringify(r.json));
  const entry = r.json.detail.find((d: { loc: unknown }) => JSON.stringify(d.loc) === JSON.stringify(loc));
  assert(entry, `no 422 entry at ${JSON.stringify(loc)}: ${JSON.stringify(r.json)}`);
  if (type) assertEquals(entry.type, type);
  assert(typeof entry.msg === "string" && entry.msg.length > 3);
}

Deno.test("auth, namespaces and routing answer in Mixpeek's shapes", async (t) => {
  await using reg = await startRegistry();

  await t.step("401 ErrorResponse without a key, with a wrong key, with a malformed header", async () => {
    for (const auth of [undefined, "Bearer nope", "Basic abc", "Bearer"]) {
      const headers: Record<string, string> = auth === undefined ? {} : { authorization: auth };
      const r = await reply(await fetch(`${reg.url}${reg.ns("/plugins")}`, { headers }));
      assertError(r, 401, "AuthenticationError");
      assertStringIncludes(r.headers.get("www-authenticate") ?? "", "Bearer");
    }
  });

  await t.step("404 NotFoundError for a namespace; FastAPI's Not Found and Method Not Allowed", async () => {
    const ns = await reg.api("GET", "/v1/namespaces/nope/plugins");
    assertError(ns, 404, "NotFoundError");
    assertEquals(ns.json.error.details.resource, "namespace");
    for (const path of ["/v2/whatever", reg.ns("/plugins/a/b/c"), "/v1/plugins/a/b"]) {
      const r = await reg.api("GET", path);
      assertEquals([r.status, r.json], [404, { detail: "Not Found" }], path);
    }
    const r = await reg.api("PUT", reg.ns("/plugins"));
    assertEquals([r.status, r.json], [405, { detail: "Method Not Allowed" }]);
    assertEquals(r.headers.get("allow"), "GET, POST");
    assertEquals(
      (await reg.api("GET", reg.ns("/plugins/uploads"))).status,
      404,
      "no GET of uploads: a plugin id",
    );
    assertEquals((await reg.api("POST", reg.ns("/plugins/x"))).headers.get("allow"), "GET, DELETE");
    assertEquals((await reg.api("GET", reg.ns("/plugins/uploads/plu_x/confirm"))).status, 405);
  });

  await t.step("healthz needs no key", async () => {
    const r = await reply(await fetch(`${reg.url}/healthz`));
    assertEquals([r.status, r.json], [200, { status: "ok" }]);
    assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
  });
});

Deno.test("POST …/plugins/uploads: FastAPI 422s from the document, versions normalised, 409, quota", async (t) => {
  await using reg = await startRegistry({ maxUploadBytes: 100_000, quota: 2 });
  const good = { name: "my_plugin", version: "1.0.0", file_size_bytes: 10 };

  await t.step("invalid bodies are 422s naming the field, as FastAPI answers", async () => {
    const cases: [string, unknown, (string | number)[], string][] = [
      ["missing name", { version: "1.0.0" }, ["body", "name"], "missing"],
      ["short name", { ...good, name: "ab" }, ["body", "name"], "string_pattern_mismatch"],
      ["kebab-case name", { ...good, name: "my-plugin" }, ["body", "name"], "string_pattern_mismatch"],
      [
        "a name starting with a digit",
        { ...good, name: "1plugin" },
        ["body", "name"],
        "string_pattern_mismatch",
      ],
      ["four-part version", { ...good, version: "1.0.0.0" }, ["body", "version"], "string_pattern_mismatch"],
      ["a pre-release", { ...good, version: "1.0.0-beta" }, ["body", "version"], "string_pattern_mismatch"],
      ["string size", { ...good, file_size_bytes: "10" }, ["body", "file_size_bytes"], "int_type"],
      ["zero size", { ...good, file_size_bytes: 0 }, ["body", "file_size_bytes"], "greater_than"],
      [
        "size over 500 MB",
        { ...good, file_size_bytes: 524_288_001 },
        ["body", "file_size_bytes"],
        "less_than_equal",
      ],
      [
        "a long description",
        { ...good, description: "x".repeat(501) },
        ["body", "description"],
        "string_too_long",
      ],
      ["expiry under a minute", { ...good, presigned_url_expiration: 10 }, [
        "body",
        "presigned_url_expiration",
      ], "greater_than_equal"],
      ["an array", [1], ["body"], "model_attributes_type"],
    ];
    for (const [label, body, loc, type] of cases) {
      assert422(await reg.api("POST", reg.ns("/plugins/uploads"), body), loc, type);
      void label;
    }
    assert422(await reg.api("POST", reg.ns("/plugins/uploads"), "{nope"), ["body", 0], "json_invalid");
    assert422(await reg.api("POST", reg.ns("/plugins/uploads")), ["body"], "missing");
    const huge = await reg.api("POST", reg.ns("/plugins/uploads"), "x".repeat(70_000));
    assertEquals(huge.status, 413);
  });

  await t.step(
    "200: a signed URL on this server, s3_key naming the format, the expiry asked for",
    async () => {
      const r = await reg.api("POST", reg.ns("/plugins/uploads"), { ...good, presigned_url_expiration: 120 });
      assertEquals(r.status, 200, r.text);
      assertMatch(r.json.upload_id, /^plu_[0-9a-f]{16}$/);
      const url = new URL(r.json.presigned_url);
      assertEquals(url.origin, reg.url);
      assertEquals(url.pathname, `/_uploads/${r.json.upload_id}`);
      assertMatch(url.searchParams.get("signature") ?? "", /^[0-9a-f]{64}$/);
      assert(!r.json.presigned_url.includes(reg.key), "the upload URL must not carry the API key");
      assertEquals(r.json.s3_key, `default/plugins/${r.json.upload_id}/my_plugin_1_0_0.tar.gz`);
      assertEquals([r.json.namespace_id, r.json.name, r.json.version], ["default", "my_plugin", "1.0.0"]);
      const ttl = Date.parse(r.json.expires_at) - Date.now();
      assert(ttl > 60_000 && ttl <= 120_000, `expires_at ${r.json.expires_at}`);
      const defaultTtl =
        Date.parse((await reg.api("POST", reg.ns("/plugins/uploads"), good)).json.expires_at) -
        Date.now();
      assert(defaultTtl > 3000_000 && defaultTtl <= 3600_000);
    },
  );

  await t.step(
    "v1, 1.0 and v2.1 are taken as 1.0.0, 1.0.0 and 2.1.0 (as the newer server does)",
    async () => {
      for (const [given, normal] of [["v1", "1.0.0"], ["1.0", "1.0.0"], ["v2.1", "2.1.0"]]) {
        const r = await reg.api("POST", reg.ns("/plugins/uploads"), { ...good, version: given });
        assertEquals([r.status, r.json.version], [200, normal], r.text);
        assertStringIncludes(r.json.s3_key, `my_plugin_${normal.replaceAll(".", "_")}.tar.gz`);
      }
    },
  );

  await t.step("a size over this registry's --max-upload-size is a 400 ErrorResponse", async () => {
    assertError(
      await reg.api("POST", reg.ns("/plugins/uploads"), { ...good, file_size_bytes: 100_001 }),
      400,
      "BadRequestError",
    );
  });

  await t.step(
    "409 ConflictError for a name@version that exists; 403 QuotaExceededError past the quota",
    async () => {
      const archive = await pluginArchive("first_one");
      await publish(reg, "first_one", "1.0.0", archive);
      const again = await createUpload(reg, "first_one", "v1", archive);
      assertError(again, 409, "ConflictError");
      assertEquals(again.json.error.message, "Plugin first_one@1.0.0 already exists in this namespace");
      await publish(reg, "second_one", "1.0.0", await pluginArchive("second_one"));
      const over = await createUpload(reg, "third_one", "1.0.0", archive);
      assertError(over, 403, "QuotaExceededError");
      assertEquals(over.json.error.message, "Plugin quota exceeded (2/2)");
      assertEquals(over.json.error.details, { current_count: 2, max_allowed: 2 });
    },
  );
});

Deno.test("the upload route follows S3's rules for presigned PUTs", async (t) => {
  const logs: string[] = [];
  await using reg = await startRegistry({ onLog: (line) => logs.push(line), maxUploadBytes: 5000 });
  const archive = archiveOf(
    new TextEncoder().encode("not really a tarball, but the route does not care".repeat(20)),
  );
  const ticket = (await createUpload(reg, "route_rules", "1.0.0", archive)).json;
  const url = ticket.presigned_url as string;
  const s3Error = (r: { status: number; text: string; headers: Headers }, status: number, code: string) => {
    assertEquals(r.status, status, r.text);
    assertStringIncludes(r.text, `<Code>${code}</Code>`);
    assertStringIncludes(r.headers.get("content-type") ?? "", "application/xml");
    assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
  };

  await t.step("405 for anything but PUT", async () => {
    for (const method of ["GET", "POST", "DELETE", "HEAD"]) {
      const r = await reply(await fetch(url, { method }));
      assertEquals(r.status, 405);
      assertEquals(r.headers.get("allow"), "PUT");
    }
  });

  await t.step("400 when an Authorization header is sent (the URL is the credential)", async () => {
    s3Error(await putArchive(url, archive, { authorization: `Bearer ${reg.key}` }), 400, "InvalidArgument");
  });

  await t.step("403 when the URL is tampered with or unsigned; 404 for an unknown upload", async () => {
    const later = new URL(url);
    later.searchParams.set("expires", String(Number(later.searchParams.get("expires")) + 3600));
    s3Error(await putArchive(later.toString(), archive), 403, "SignatureDoesNotMatch");
    const other = (await createUpload(reg, "route_rules", "1.0.1", archive)).json;
    const swapped = new URL(url);
    swapped.pathname = `/_uploads/${other.upload_id}`;
    s3Error(await putArchive(swapped.toString(), archive), 403, "SignatureDoesNotMatch");
    const bare = new URL(url);
    bare.search = "";
    s3Error(await putArchive(bare.toString(), archive), 403, "AccessDenied");
    const unknown = new URL(url);
    unknown.pathname = "/_uploads/plu_0000000000000000";
    s3Error(await putArchive(unknown.toString(), archive), 404, "NoSuchUpload");
  });

  await t.step("Content-Type is the one signed header: another one, or none, is 403", async () => {
    s3Error(
      await putArchive(url, archive, { "content-type": "application/zip" }),
      403,
      "SignatureDoesNotMatch",
    );
    const none = await reply(await fetch(url, { method: "PUT", body: new Blob([archive.bytes]) }));
    s3Error(none, 403, "SignatureDoesNotMatch");
    // A parameter after the type is fine, as on S3.
    assertEquals(
      (await putArchive(url, archive, { "content-type": "application/gzip; charset=binary" })).status,
      200,
    );
  });

  await t.step(
    "411 for a chunked body (what fetch sends for a stream) and for no Content-Length",
    async () => {
      const stream = new Blob([archive.bytes]).stream();
      const r = await reply(
        await fetch(url, { method: "PUT", body: stream, headers: { "content-type": "application/gzip" } }),
      );
      s3Error(r, 411, "MissingContentLength");
      assertStringIncludes(r.text, "chunked");
      const target = new URL(url);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(target.port) });
      const head = `PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
        "Content-Type: application/gzip\r\nConnection: close\r\n\r\n";
      await conn.write(new TextEncoder().encode(head));
      const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assertMatch(raw, /^HTTP\/1\.1 411 /);
      assertStringIncludes(raw, "MissingContentLength");
    },
  );

  await t.step(
    "400 EntityTooLarge over the limit, 400 BadDigest for a Content-MD5 that does not match",
    async () => {
      s3Error(await putArchive(url, archive, {}, new Uint8Array(5001)), 400, "EntityTooLarge");
      s3Error(
        await putArchive(url, archive, { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" }),
        400,
        "BadDigest",
      );
    },
  );

  await t.step("a client that goes away mid-body leaves nothing behind", async () => {
    const target = new URL(url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(target.port) });
    const head = `PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      `Content-Length: ${archive.size}\r\nContent-Type: application/gzip\r\n\r\n`;
    const seen = logs.length;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(archive.bytes.subarray(0, 100));
    await new Promise((r) => setTimeout(r, 100));
    conn.close();
    const answered = () =>
      logs.slice(seen).some((l) => l.startsWith(`PUT /_uploads/${ticket.upload_id} → 400`));
    for (let i = 0; i < 250 && !answered(); i++) await new Promise((r) => setTimeout(r, 20));
    assert(answered(), `the server saw the incomplete body: ${logs.join("\n")}`);
    assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], []);
  });

  await t.step(
    "200 with the MD5 ETag; a second PUT replaces the first; after confirm the URL is spent",
    async () => {
      const first = await putArchive(url, archive, {
        "content-md5": btoa(String.fromCharCode(...hexBytes(archive.md5))),
      });
      assertEquals([first.status, first.headers.get("etag")], [200, `"${archive.md5}"`], first.text);
      const other = archiveOf(new TextEncoder().encode("another body"));
      const second = await putArchive(url, other);
      assertEquals(second.headers.get("etag"), `"${other.md5}"`);
      const blob = `${reg.dataDir}/blobs/${ticket.s3_key}`;
      assertEquals(await Deno.readFile(blob), other.bytes);
      assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], [], "no temp files left behind");
      // Confirm checks the object (not a tarball: refused), then the URL takes no more PUTs.
      const confirmed = await confirm(reg, ticket.upload_id, {
        etag: other.md5,
        file_size_bytes: other.size,
      });
      assertEquals(confirmed.json.success, false);
      s3Error(await putArchive(url, archive), 403, "AccessDenied");
    },
  );
});

function hexBytes(hex: string): number[] {
  return hex.match(/../g)!.map((h) => parseInt(h, 16));
}

Deno.test("confirm checks the object, validates the archive and answers 200 either way", async (t) => {
  await using reg = await startRegistry();
  const plain = await pluginArchive("plain_plugin");

  await t.step("404 for an unknown upload, and for one whose archive has not arrived", async () => {
    assertError(await confirm(reg, "plu_0000000000000000", {}), 404, "NotFoundError");
    const ticket = (await createUpload(reg, "plain_plugin", "1.0.0", plain)).json;
    const early = await confirm(reg, ticket.upload_id, { etag: plain.md5 });
    assertError(early, 404, "NotFoundError");
    assertStringIncludes(early.json.error.message, "PUT the archive to presigned_url first");
    assert422(await confirm(reg, ticket.upload_id, { etag: 5 }), ["body", "etag"], "string_type");
  });

  await t.step(
    "success: passed, the plugin id and feature URI; a repeated confirm answers the same",
    async () => {
      const ticket = (await createUpload(reg, "plain_plugin", "1.0.0", plain)).json;
      assertEquals((await putArchive(ticket.presigned_url, plain)).status, 200);
      // Quotes around the ETag, as S3 sends it, are fine too.
      const r = await confirm(reg, ticket.upload_id, { etag: `"${plain.md5}"`, file_size_bytes: plain.size });
      assertEquals(r.status, 200, r.text);
      assertEquals(
        [
          r.json.success,
          r.json.plugin_id,
          r.json.validation_status,
          r.json.deployment_status,
          r.json.feature_uri,
        ],
        [true, "plain_plugin_1_0_0", "passed", "pending", "mixpeek://plain_plugin@1.0.0"],
      );
      assertEquals(r.json.validation_errors, []);
      assertEquals((await confirm(reg, ticket.upload_id, {})).json, r.json);
      // A body is optional (null, or none at all).
      assertEquals((await confirm(reg, ticket.upload_id, null)).json.plugin_id, "plain_plugin_1_0_0");
      assertEquals((await confirm(reg, ticket.upload_id)).json.plugin_id, "plain_plugin_1_0_0");
      const doc = (await reg.api("GET", reg.ns("/plugins/plain_plugin_1_0_0"))).json.plugin;
      assertEquals([doc.code_hash, doc.security_scan_passed, doc.validation_status], [
        plain.sha256,
        true,
        "passed",
      ]);
    },
  );

  await t.step("an ETag or size that does not match the object is success: false", async () => {
    const archive = await pluginArchive("mismatch");
    const a = (await createUpload(reg, "mismatch", "1.0.0", archive)).json;
    await putArchive(a.presigned_url, archive);
    const wrongEtag = await confirm(reg, a.upload_id, {
      etag: "0".repeat(32),
      file_size_bytes: archive.size,
    });
    assertEquals([wrongEtag.json.success, wrongEtag.json.validation_status], [false, "failed"]);
    assertStringIncludes(wrongEtag.json.validation_errors[0], "does not match the uploaded object's ETag");
    const b = (await createUpload(reg, "mismatch", "1.0.0", archive)).json;
    await putArchive(b.presigned_url, archive);
    const wrongSize = await confirm(reg, b.upload_id, { file_size_bytes: archive.size + 1 });
    assertStringIncludes(wrongSize.json.validation_errors[0], "file_size_bytes");
    const c = (await createUpload(reg, "mismatch", "1.0.0", { ...archive, size: archive.size - 1 })).json;
    await putArchive(c.presigned_url, archive);
    const declared = await confirm(reg, c.upload_id, {});
    assertStringIncludes(declared.json.validation_errors[0], "was requested for");
    // Nothing was created: the name and version are still free.
    assertEquals((await publish(reg, "mismatch", "1.0.0", archive)).success, true);
  });

  await t.step(
    "a plugin the scan rejects: success false, the finding with file and line; nothing kept",
    async () => {
      const bad = await pluginArchive("sneaky", {
        mutate: async (root) => {
          await Deno.writeTextFile(
            `${root}/processors/evil.py`,
            "import subprocess\nsubprocess.run(['ls'])\n",
          );
        },
      });
      const r = await publish(reg, "sneaky", "1.0.0", bad);
      assertEquals([r.success, r.plugin_id, r.validation_status], [false, null, "failed"]);
      assert(
        r.validation_errors.some((e: string) => /^security: processors\/evil\.py:1:\d+: /.test(e)),
        JSON.stringify(r.validation_errors),
      );
      assertEquals((await reg.api("GET", reg.ns("/plugins/sneaky_1_0_0"))).status, 404);
      assertEquals((await createUpload(reg, "sneaky", "1.0.0", bad)).status, 200, "the name stays free");
    },
  );

  await t.step("two uploads of one name and version: the second confirm is success: false", async () => {
    const archive = await pluginArchive("twice");
    const a = (await createUpload(reg, "twice", "1.0.0", archive)).json;
    const b = (await createUpload(reg, "twice", "1.0.0", archive)).json;
    await putArchive(a.presigned_url, archive);
    await putArchive(b.presigned_url, archive);
    assertEquals((await confirm(reg, a.upload_id, {})).json.success, true);
    const second = await confirm(reg, b.upload_id, {});
    assertEquals(second.json.success, false);
    assertStringIncludes(second.json.validation_errors[0], "already exists");
  });
});

Deno.test("deploy, status, undeploy, realtime/test, get, list and delete", async (t) => {
  await using reg = await startRegistry();
  await publish(reg, "plain_plugin", "1.0.0", await pluginArchive("plain_plugin"));
  await publish(reg, "live_plugin", "0.1.0", await pluginArchive("live_plugin", { realtime: true }));
  const plain = "plain_plugin_1_0_0";
  const live = "live_plugin_0_1_0";

  await t.step(
    "a validated plugin is pending until deployed; 404 NotFoundError for unknown ids",
    async () => {
      const status = (await reg.api("GET", reg.ns(`/plugins/${plain}/status`))).json;
      assertEquals([status.plugin_id, status.namespace_id, status.status, status.deployed], [
        plain,
        "default",
        "pending",
        false,
      ]);
      for (
        const [method, path] of [
          ["GET", ""],
          ["GET", "/status"],
          ["POST", "/deploy"],
          ["POST", "/undeploy"],
          ["DELETE", ""],
        ]
      ) {
        assertError(await reg.api(method, reg.ns(`/plugins/nope_1_0_0${path}`)), 404, "NotFoundError");
      }
    },
  );

  await t.step("batch deploy: deployed at once, deployment_type batch_only", async () => {
    const r = await reg.api("POST", reg.ns(`/plugins/${plain}/deploy?deployment_type=batch_only`));
    assertEquals([r.status, r.json.status, r.json.deployment_type], [200, "deployed", "batch_only"]);
    const status = (await reg.api("GET", reg.ns(`/plugins/${plain}/status`))).json;
    assertEquals([status.status, status.deployed, status.realtime_enabled, status.route_prefix], [
      "deployed",
      true,
      false,
      null,
    ]);
    // Without the query, a plugin without realtime.py is deployed for batch processing too.
    assertEquals(
      (await reg.api("POST", reg.ns(`/plugins/${plain}/deploy`))).json.deployment_type,
      "batch_only",
    );
    const refused = await reg.api("POST", reg.ns(`/plugins/${plain}/deploy?deployment_type=realtime`));
    assertError(refused, 400, "BadRequestError");
    assertStringIncludes(refused.json.error.message, "realtime.py");
    assert422(await reg.api("POST", reg.ns(`/plugins/${plain}/deploy?deployment_type=fast`)), [
      "query",
      "deployment_type",
    ], "enum");
  });

  await t.step(
    "realtime deploy: queued, then pending → in_progress → deployed (recorded, no code run)",
    async () => {
      const r = await reg.api("POST", reg.ns(`/plugins/${live}/deploy`));
      assertEquals([r.json.status, r.json.deployment_type], ["queued", "realtime"]);
      assertEquals(r.json.route_prefix, `/inference/custom_plugin_${live}`);
      assertEquals(r.json.deployment_name, `custom_plugin_${live}`);
      const settled = await waitFor(reg, live);
      assertEquals([settled.status, settled.deployed, settled.realtime_enabled], ["deployed", true, true]);
      const test = await reg.api("POST", reg.ns(`/plugins/${live}/realtime/test`), {
        inputs: { text: "hi" },
      });
      assertEquals([test.status, test.json.status, test.json.inference_name], [
        200,
        "error",
        `custom_plugin_${live}`,
      ]);
      assertStringIncludes(test.json.error, "does not run plugin code");
      assertEquals((await reg.api("POST", reg.ns(`/plugins/${plain}/realtime/test`), {})).status, 404);
    },
  );

  await t.step("undeploy: not_deployed, the archive kept; deploy again works", async () => {
    const r = await reg.api("POST", reg.ns(`/plugins/${live}/undeploy`));
    assertEquals([r.status, r.json.success, r.json.deployment_removed], [200, true, true]);
    assertEquals((await reg.api("GET", reg.ns(`/plugins/${live}/status`))).json.status, "not_deployed");
    assertEquals((await reg.api("POST", reg.ns(`/plugins/${live}/realtime/test`), {})).status, 404);
    await reg.api("POST", reg.ns(`/plugins/${live}/deploy?deployment_type=batch_only`));
    assertEquals((await reg.api("GET", reg.ns(`/plugins/${live}/status`))).json.status, "deployed");
  });

  await t.step("get: the document wrapped in `plugin`, with a working presigned download URL", async () => {
    const r = await reg.api("GET", reg.ns(`/plugins/${plain}?return_presigned_urls=true`));
    const doc = r.json.plugin;
    assertEquals([doc.plugin_id, doc.name, doc.version, doc.namespace_id, doc.deployed], [
      plain,
      "plain_plugin",
      "1.0.0",
      "default",
      true,
    ]);
    assertEquals(doc.manifest.feature_extractor_name, "plain_plugin");
    const download = await fetch(r.json.presigned_download_url);
    assertEquals(download.status, 200);
    assertEquals((await download.bytes()).length > 100, true);
    assertEquals((await reg.api("GET", reg.ns(`/plugins/${plain}`))).json.presigned_download_url, null);
    assert422(await reg.api("GET", reg.ns(`/plugins/${plain}?return_presigned_urls=maybe`)), [
      "query",
      "return_presigned_urls",
    ], "bool_parsing");
    const tampered = new URL(r.json.presigned_download_url);
    tampered.pathname = tampered.pathname.replace(plain, live);
    assertEquals((await fetch(tampered)).status, 403);
  });

  await t.step("list: every plugin of the namespace, by name", async () => {
    const r = (await reg.api("GET", reg.ns("/plugins"))).json;
    assertEquals([r.total, r.namespace_id], [2, "default"]);
    assertEquals(r.plugins.map((p: { plugin_id: string }) => p.plugin_id), [live, plain]);
  });

  await t.step("delete: the record and the archive go; the name and version are free again", async () => {
    const doc = (await reg.api("GET", reg.ns(`/plugins/${plain}`))).json.plugin;
    const blob = new URL(doc.s3_archive_url).pathname;
    const r = await reg.api("DELETE", reg.ns(`/plugins/${plain}`));
    assertEquals([r.status, r.json.success, r.json.plugin_id, r.json.deployment_removed], [
      200,
      true,
      plain,
      false,
    ]);
    assertError(await reg.api("GET", reg.ns(`/plugins/${plain}`)), 404, "NotFoundError");
    assertEquals(await Deno.stat(blob).then(() => true, () => false), false, "the archive is gone");
    assertEquals((await createUpload(reg, "plain_plugin", "1.0.0")).status, 200);
  });
});

Deno.test("organization plugins: upload, list, get, available, enable, disable, delete", async () => {
  await using reg = await startRegistry();
  const archive = await pluginArchive("org_tool");
  const created = await reg.api("POST", "/v1/plugins/uploads", {
    name: "org_tool",
    version: "1.0.0",
    file_size_bytes: archive.size,
  });
  assertEquals([created.status, created.json.organization_id], [200, "org_local"], created.text);
  assertStringIncludes(created.json.s3_key, "org_local/plugin_custom/");
  const put = await putArchive(created.json.presigned_url, archive);
  const confirmed = await reg.api("POST", `/v1/plugins/uploads/${created.json.upload_id}/confirm`, {
    etag: put.headers.get("etag"),
    file_size_bytes: archive.size,
  });
  assertEquals([confirmed.json.success, confirmed.json.plugin_id], [true, "org_tool_1_0_0"], confirmed.text);
  const id = "org_tool_1_0_0";

  const list = (await reg.api("GET", "/v1/plugins")).json;
  assertEquals([list.total, list.organization_id, list.plugins[0].plugin_id], [1, "org_local", id]);
  assertEquals((await reg.api("GET", `/v1/plugins/${id}`)).json.plugin.organization_id, "org_local");
  assertEquals((await reg.api("GET", "/v1/plugins/nope")).status, 404);
  assertEquals((await reg.api("GET", reg.ns("/plugins"))).json.total, 0, "not a namespace plugin");
  assertEquals(
    (await reg.api("POST", "/v1/plugins/uploads", { name: "org_tool", version: "1.0.0" })).status,
    409,
  );

  const available = (await reg.api("GET", reg.ns("/plugins/available"))).json;
  assertEquals(available.plugins.map((p: { enabled_in_namespace: boolean }) => p.enabled_in_namespace), [
    false,
  ]);
  const enabled = await reg.api("POST", reg.ns(`/plugins/org/${id}/enable`), { params: { threshold: 0.5 } });
  assertEquals([enabled.json.success, enabled.json.deployment_status, enabled.json.feature_uri], [
    true,
    "deployed",
    "mixpeek://org_tool@1.0.0",
  ]);
  assertEquals(
    (await reg.api("GET", reg.ns("/plugins/available"))).json.plugins[0].enabled_in_namespace,
    true,
  );
  const extractor = (await reg.api("GET", reg.ns(`/extractors/${id}`))).json;
  assertEquals([extractor.source, extractor.default_parameters], ["custom", { threshold: 0.5 }]);
  assertEquals(
    (await reg.api("POST", reg.ns(`/plugins/org/${id}/enable`), { deploy: false })).json.deployment_status,
    "skipped",
  );
  assertEquals((await reg.api("POST", reg.ns("/plugins/org/nope/enable"))).status, 404);
  assert422(await reg.api("POST", reg.ns(`/plugins/org/${id}/enable`), { deploy: "sure" }), [
    "body",
    "deploy",
  ], "bool_type");

  const disabled = await reg.api("POST", reg.ns(`/plugins/org/${id}/disable`));
  assertEquals([disabled.json.success, disabled.json.namespace_id], [true, "default"]);
  assertEquals(
    (await reg.api("POST", reg.ns(`/plugins/org/${id}/disable`))).status,
    404,
    "not enabled any more",
  );
  await reg.api("POST", reg.ns(`/plugins/org/${id}/enable`));
  const deleted = await reg.api("DELETE", `/v1/plugins/${id}`);
  assertEquals([deleted.json.success, deleted.json.plugin_id], [true, id]);
  assertEquals((await reg.api("GET", reg.ns("/plugins/available"))).json.total, 0);
  assertEquals(
    (await reg.api("GET", reg.ns(`/extractors/${id}`))).status,
    404,
    "disabled everywhere with it",
  );
});

Deno.test("extractor lists: builtins, custom plugins, community; the original CLI's list with X-Namespace", async () => {
  await using reg = await startRegistry();
  await publish(reg, "listed", "1.0.0", await pluginArchive("listed"));
  const list = async (query: string) => (await reg.api("GET", reg.ns(`/extractors${query}`))).json;

  const all = await list("");
  assert(all.builtin_count >= 3, JSON.stringify(all));
  assertEquals(all.custom_count, 0, "an undeployed plugin is left out by default");
  assertEquals((await list("?include_disabled=true")).custom_count, 1);
  await reg.api("POST", reg.ns("/plugins/listed_1_0_0/deploy"));
  const deployed = await list("?source=custom");
  assertEquals(deployed.extractors.map((e: { feature_extractor_id: string }) => e.feature_extractor_id), [
    "listed_1_0_0",
  ]);
  assertEquals(deployed.extractors[0].feature_uri, "mixpeek://listed@1.0.0");
  const builtin = await list("?source=builtin");
  assert(builtin.extractors.every((e: { source: string }) => e.source === "builtin"));
  assert((await list("?source=all")).extractors.some((e: { source: string }) => e.source === "community"));
  assert422(await reg.api("GET", reg.ns("/extractors?source=everything")), ["query", "source"], "enum");
  assertEquals(
    (await reg.api("GET", reg.ns("/extractors/text_extractor_v1"))).json.feature_uri,
    "mixpeek://text_extractor@v1/embedding",
  );
  const missing = await reg.api("GET", reg.ns("/extractors/unknown_extractor_v1"));
  assertError(missing, 404, "NotFoundError");
  assertEquals(missing.json.error.message, "Extractor 'unknown_extractor_v1' not found");

  const features = await reg.api("GET", "/v1/collections/features/extractors", undefined, {
    "x-namespace": "default",
  });
  assert(Array.isArray(features.json));
  assert(
    features.json.some((e: { feature_extractor_name: string; source: string }) =>
      e.feature_extractor_name === "listed" && e.source === "custom"
    ),
  );
  const builtinsOnly = (await reg.api("GET", "/v1/collections/features/extractors")).json;
  assert(builtinsOnly.every((e: { source: string }) => e.source !== "custom"));
  assertError(
    await reg.api("GET", "/v1/collections/features/extractors", undefined, { "x-namespace": "nope" }),
    404,
    "NotFoundError",
  );
});

Deno.test("the multipart upload (POST …/plugins) validates and creates the plugin in one request", async () => {
  await using reg = await startRegistry();
  const archive = await pluginArchive("direct");
  const form = new FormData();
  form.set("file", new Blob([archive.bytes]), "direct.tar.gz");
  form.set("name", "direct");
  form.set("version", "v1");
  const r = await reply(
    await fetch(`${reg.url}${reg.ns("/plugins")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${reg.key}` },
      body: form,
    }),
  );
  assertEquals([r.status, r.json.success, r.json.plugin_id, r.json.validation_status], [
    200,
    true,
    "direct_1_0_0",
    "passed",
  ], r.text);
  const again = await reply(
    await fetch(`${reg.url}${reg.ns("/plugins")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${reg.key}` },
      body: form,
    }),
  );
  assertError(again, 409, "ConflictError");
  const partial = new FormData();
  partial.set("name", "direct2");
  const missing = await reply(
    await fetch(`${reg.url}${reg.ns("/plugins")}`, {
      method: "POST",
      headers: { authorization: `Bearer ${reg.key}` },
      body: partial,
    }),
  );
  assert422(missing, ["body", "file"], "missing");
  assert422(missing, ["body", "version"], "missing");
});

Deno.test("an upload URL stops working when its lifetime is over", async () => {
  await using reg = await startRegistry({ uploadTtlSeconds: 1 });
  const archive = archiveOf(new TextEncoder().encode("short-lived"));
  const ticket = (await createUpload(reg, "short_lived", "1.0.0", archive)).json;
  assert(Date.parse(ticket.expires_at) - Date.now() <= 1000);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(ticket.expires_at) - Date.now()) + 50));
  const r = await putArchive(ticket.presigned_url, archive);
  assertEquals(r.status, 403);
  assertStringIncludes(r.text, "<Code>AccessDenied</Code>");
  assertStringIncludes(r.text, "Request has expired");
  const late = await confirm(reg, ticket.upload_id, {});
  assertError(late, 400, "BadRequestError");
  assertStringIncludes(late.json.error.message, "expired");
});
