/**
 * Every route of the local registry and every error status, over real HTTP on 127.0.0.1 (disk backend).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import {
  archiveOf,
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
  assertEquals(r.json?.error?.type, type);
  assert(typeof r.json.error.message === "string" && r.json.error.message.length > 10);
  assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
}

Deno.test("auth, namespaces, routing and JSON body rules", async (t) => {
  await using reg = await startRegistry();

  await t.step("401 without a key, with a wrong key, with a malformed header", async () => {
    for (const auth of [undefined, "Bearer nope", "Basic abc", "Bearer"]) {
      const headers: Record<string, string> = auth === undefined ? {} : { authorization: auth };
      const r = await reply(await fetch(`${reg.url}${reg.ns("/plugins")}`, { headers }));
      assertError(r, 401, "unauthorized");
      assertStringIncludes(r.headers.get("www-authenticate") ?? "", "Bearer");
    }
  });

  await t.step("404 namespace_not_found, 404 not_found, 405 with Allow", async () => {
    assertError(await reg.api("GET", "/v1/namespaces/nope/plugins"), 404, "namespace_not_found");
    assertError(await reg.api("GET", "/v2/whatever"), 404, "not_found");
    assertError(await reg.api("GET", reg.ns("/plugins/a/b/c")), 404, "not_found");
    const r = await reg.api("PUT", reg.ns("/plugins"));
    assertError(r, 405, "method_not_allowed");
    assertEquals(r.headers.get("allow"), "GET");
    assertEquals((await reg.api("GET", reg.ns("/plugins/uploads"))).headers.get("allow"), "POST");
    assertEquals((await reg.api("POST", reg.ns("/plugins/plg_x"))).headers.get("allow"), "GET, DELETE");
    assertError(await reg.api("GET", reg.ns("/plugins/uploads/upl_x/confirm")), 405, "method_not_allowed");
  });

  await t.step("415 for a body that is not JSON, 400 for malformed JSON, 413 for a huge body", async () => {
    const body = JSON.stringify({ name: "a", version: "1.0.0", size_bytes: 1, sha256: "0".repeat(64) });
    assertError(
      await reg.api("POST", reg.ns("/plugins/uploads"), body, { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    assertError(await reg.api("POST", reg.ns("/plugins/uploads"), "{nope"), 400, "validation_error");
    assertError(await reg.api("POST", reg.ns("/plugins/uploads"), "[1]"), 400, "validation_error");
    assertError(
      await reg.api("POST", reg.ns("/plugins/uploads"), "x".repeat(70_000)),
      413,
      "payload_too_large",
    );
    assertError(await reg.api("POST", reg.ns("/plugins/uploads")), 400, "validation_error");
  });

  await t.step("healthz needs no key", async () => {
    const r = await reply(await fetch(`${reg.url}/healthz`));
    assertEquals([r.status, r.json], [200, { status: "ok" }]);
    assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
  });
});

Deno.test("POST /plugins/uploads validates every field", async (t) => {
  await using reg = await startRegistry({ maxUploadBytes: 1000 });
  const good = { name: "my_plugin", version: "1.0.0", size_bytes: 10, sha256: "ab".repeat(32) };
  const cases: [string, Record<string, unknown>, number, string][] = [
    ["missing name", { ...good, name: undefined }, 400, "validation_error"],
    ["kebab-case name", { ...good, name: "my-plugin" }, 400, "validation_error"],
    ["uppercase name", { ...good, name: "MyPlugin" }, 400, "validation_error"],
    ["keyword name", { ...good, name: "import" }, 400, "validation_error"],
    ["bad version", { ...good, version: "1.0" }, 400, "validation_error"],
    ["leading zero version", { ...good, version: "01.0.0" }, 400, "validation_error"],
    ["string size", { ...good, size_bytes: "10" }, 400, "validation_error"],
    ["zero size", { ...good, size_bytes: 0 }, 400, "validation_error"],
    ["fractional size", { ...good, size_bytes: 1.5 }, 400, "validation_error"],
    ["size over the limit", { ...good, size_bytes: 1001 }, 413, "payload_too_large"],
    ["short sha256", { ...good, sha256: "abc" }, 400, "validation_error"],
    ["non-hex sha256", { ...good, sha256: "zz".repeat(32) }, 400, "validation_error"],
  ];
  for (const [label, body, status, type] of cases) {
    await t.step(label, async () => {
      const r = await reg.api("POST", reg.ns("/plugins/uploads"), body);
      assertError(r, status, type);
    });
  }
  await t.step("201 ticket: a signed URL on this server, the headers to send, an expiry", async () => {
    const r = await reg.api("POST", reg.ns("/plugins/uploads"), {
      ...good,
      sha256: good.sha256.toUpperCase(),
      version: "1.0.0-rc.1+build.5",
    });
    assertEquals(r.status, 201);
    assertMatch(r.json.upload_id, /^upl_[0-9a-f]{24}$/);
    assertEquals(r.json.method, "PUT");
    const url = new URL(r.json.upload_url);
    assertEquals(url.origin, reg.url);
    assertEquals(url.pathname, `/_uploads/${r.json.upload_id}`);
    assertMatch(url.searchParams.get("signature") ?? "", /^[0-9a-f]{64}$/);
    assert(!r.json.upload_url.includes(reg.key), "the upload URL must not carry the API key");
    assertEquals(r.json.headers, {
      "Content-Type": "application/gzip",
      "x-amz-checksum-sha256": btoa(String.fromCharCode(...new Array(32).fill(0xab))),
    });
    const ttl = Date.parse(r.json.expires_at) - Date.now();
    assert(ttl > 3000_000 && ttl <= 3600_000, `expires_at ${r.json.expires_at}`);
  });
});

Deno.test("the upload route follows S3's rules for presigned PUTs", async (t) => {
  const logs: string[] = [];
  await using reg = await startRegistry({ onLog: (line) => logs.push(line) });
  const archive = archiveOf(
    new TextEncoder().encode("not really a tarball, but the route does not care".repeat(20)),
  );
  const ticket = (await createUpload(reg, "route_rules", "1.0.0", archive)).json;
  const s3Error = (r: { status: number; text: string; headers: Headers }, status: number, code: string) => {
    assertEquals(r.status, status, r.text);
    assertStringIncludes(r.text, `<Code>${code}</Code>`);
    assertStringIncludes(r.headers.get("content-type") ?? "", "application/xml");
    assertMatch(r.headers.get("x-request-id") ?? "", REQUEST_ID);
  };

  await t.step("405 for anything but PUT", async () => {
    for (const method of ["GET", "POST", "DELETE", "HEAD"]) {
      const r = await reply(await fetch(ticket.upload_url, { method }));
      assertEquals(r.status, 405);
      assertEquals(r.headers.get("allow"), "PUT");
    }
  });

  await t.step("400 when an Authorization header is sent (the URL is the credential)", async () => {
    s3Error(
      await putArchive(ticket, archive.bytes, { authorization: `Bearer ${reg.key}` }),
      400,
      "InvalidArgument",
    );
  });

  await t.step("403 when the URL is tampered with or unsigned", async () => {
    const url = new URL(ticket.upload_url);
    url.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
    s3Error(
      await putArchive({ ...ticket, upload_url: url.toString() }, archive.bytes),
      403,
      "SignatureDoesNotMatch",
    );
    const other = (await createUpload(reg, "route_rules", "1.0.1", archive)).json;
    const swapped = new URL(ticket.upload_url);
    swapped.pathname = `/_uploads/${other.upload_id}`;
    s3Error(
      await putArchive({ ...ticket, upload_url: swapped.toString() }, archive.bytes),
      403,
      "SignatureDoesNotMatch",
    );
    const bare = new URL(ticket.upload_url);
    bare.search = "";
    s3Error(await putArchive({ ...ticket, upload_url: bare.toString() }, archive.bytes), 403, "AccessDenied");
  });

  await t.step("404 for an upload that does not exist", async () => {
    const url = new URL(ticket.upload_url);
    url.pathname = "/_uploads/upl_000000000000000000000000";
    s3Error(await putArchive({ ...ticket, upload_url: url.toString() }, archive.bytes), 404, "NoSuchUpload");
  });

  await t.step(
    "411 for a chunked body (what fetch sends for a stream) and for no Content-Length",
    async () => {
      const stream = new Blob([archive.bytes as Uint8Array<ArrayBuffer>]).stream();
      const r = await reply(
        await fetch(ticket.upload_url, { method: "PUT", body: stream, headers: ticket.headers }),
      );
      s3Error(r, 411, "MissingContentLength");
      assertStringIncludes(r.text, "chunked");
      // A raw request with neither Content-Length nor Transfer-Encoding.
      const url = new URL(ticket.upload_url);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) });
      const head =
        `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/gzip\r\n` +
        `x-amz-checksum-sha256: ${ticket.headers["x-amz-checksum-sha256"]}\r\nConnection: close\r\n\r\n`;
      await conn.write(new TextEncoder().encode(head));
      const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      assertMatch(raw, /^HTTP\/1\.1 411 /);
      assertStringIncludes(raw, "MissingContentLength");
    },
  );

  await t.step("403 when a header of the ticket is missing or different", async () => {
    s3Error(await putArchive({ ...ticket, headers: {} }, archive.bytes), 403, "SignatureDoesNotMatch");
    s3Error(
      await putArchive(ticket, archive.bytes, { "content-type": "application/octet-stream" }),
      403,
      "SignatureDoesNotMatch",
    );
  });

  await t.step("400 for a body of another size, 400 BadDigest for other bytes of the same size", async () => {
    s3Error(await putArchive(ticket, archive.bytes.subarray(1)), 400, "EntityTooSmall");
    s3Error(await putArchive(ticket, new Uint8Array([...archive.bytes, 1])), 400, "EntityTooLarge");
    const tampered = archive.bytes.slice();
    tampered[5] ^= 1;
    const r = await putArchive(ticket, tampered);
    s3Error(r, 400, "BadDigest");
    assertStringIncludes(r.text, archive.sha256);
    s3Error(
      await putArchive(ticket, archive.bytes, { "content-md5": "AAAAAAAAAAAAAAAAAAAAAA==" }),
      400,
      "BadDigest",
    );
  });

  await t.step("a client that goes away mid-body leaves nothing behind", async () => {
    const url = new URL(ticket.upload_url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(url.port) });
    const head =
      `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${archive.size}\r\n` +
      Object.entries(ticket.headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
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
    "nothing is stored by a refused PUT; a good PUT stores it; a repeated PUT is idempotent",
    async () => {
      const pending = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
        sha256: archive.sha256,
      });
      assertError(pending, 409, "conflict");
      const first = await putArchive(ticket, archive.bytes);
      assertEquals(first.status, 200, first.text);
      assertEquals(first.headers.get("x-amz-checksum-sha256"), ticket.headers["x-amz-checksum-sha256"]);
      const second = await putArchive(ticket, archive.bytes);
      assertEquals(second.status, 200, second.text);
      const blobs = [...Deno.readDirSync(`${reg.dataDir}/blobs/plugins/default`)].map((e) => e.name);
      assertEquals(blobs, [`${ticket.upload_id}.tar.gz`]);
      assertEquals(await Deno.readFile(`${reg.dataDir}/blobs/plugins/default/${blobs[0]}`), archive.bytes);
      assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], [], "no temp files left behind");
    },
  );
});

Deno.test("confirm, status, get, list, deploy and delete", async (t) => {
  await using reg = await startRegistry();
  const plain = await pluginArchive("plain_plugin");
  const live = await pluginArchive("live_plugin", { realtime: true });
  let plainId = "";
  let liveId = "";

  await t.step(
    "confirm: 404 unknown upload, 400 bad_digest, 409 before the PUT, then 202 pending",
    async () => {
      const ticket = (await createUpload(reg, "plain_plugin", "1.0.0", plain)).json;
      assertError(
        await reg.api("POST", reg.ns("/plugins/uploads/upl_000000000000000000000000/confirm"), {
          sha256: plain.sha256,
        }),
        404,
        "upload_not_found",
      );
      assertError(
        await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
          sha256: "0".repeat(64),
        }),
        400,
        "bad_digest",
      );
      assertError(
        await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {}),
        400,
        "validation_error",
      );
      assertError(
        await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
          sha256: plain.sha256,
        }),
        409,
        "conflict",
      );
      assertEquals((await putArchive(ticket, plain.bytes)).status, 200);
      const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
        sha256: plain.sha256,
      });
      assertEquals(confirmed.status, 202, confirmed.text);
      const record = confirmed.json;
      assertEquals(Object.keys(record), [
        "plugin_id",
        "namespace_id",
        "name",
        "version",
        "source",
        "status",
        "error",
        "sha256",
        "size_bytes",
        "realtime",
        "deployment",
        "created_at",
        "updated_at",
      ]); // deno-fmt-ignore
      assertMatch(record.plugin_id, /^plg_[0-9a-f]{24}$/);
      assertEquals(
        [record.namespace_id, record.name, record.version, record.source, record.status, record.error],
        ["default", "plain_plugin", "1.0.0", "custom", "pending", null],
      );
      assertEquals([record.sha256, record.size_bytes], [plain.sha256, plain.size]);
      assert(!Number.isNaN(Date.parse(record.created_at)) && record.created_at.endsWith("Z"));
      plainId = record.plugin_id;
      const again = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
        sha256: plain.sha256,
      });
      assertEquals([again.status, again.json.plugin_id], [202, plainId], "confirm is idempotent");
    },
  );

  await t.step("the plugin becomes ready, with realtime false", async () => {
    const ready = await waitFor(reg, plainId);
    assertEquals([ready.status, ready.error, ready.realtime], ["ready", null, false]);
  });

  await t.step("the same name and version again is 409, at create and at confirm", async () => {
    assertError(await createUpload(reg, "plain_plugin", "1.0.0", plain), 409, "conflict");
    const other = await pluginArchive("second");
    const a = (await createUpload(reg, "twice", "1.0.0", other)).json;
    const b = (await createUpload(reg, "twice", "1.0.0", other)).json;
    await putArchive(a, other.bytes);
    await putArchive(b, other.bytes);
    assertEquals(
      (await reg.api("POST", reg.ns(`/plugins/uploads/${a.upload_id}/confirm`), { sha256: other.sha256 }))
        .status,
      202,
    );
    assertError(
      await reg.api("POST", reg.ns(`/plugins/uploads/${b.upload_id}/confirm`), { sha256: other.sha256 }),
      409,
      "conflict",
    );
  });

  await t.step("status and get; 404 plugin_not_found", async () => {
    const status = await reg.api("GET", reg.ns(`/plugins/${plainId}/status`));
    assertEquals(Object.keys(status.json), ["plugin_id", "status", "error", "updated_at"]);
    assertEquals([status.json.plugin_id, status.json.status, status.json.error], [plainId, "ready", null]);
    assertEquals((await reg.api("GET", reg.ns(`/plugins/${plainId}`))).json.plugin_id, plainId);
    assertError(await reg.api("GET", reg.ns("/plugins/plg_nope")), 404, "plugin_not_found");
    assertError(await reg.api("GET", reg.ns("/plugins/plg_nope/status")), 404, "plugin_not_found");
    assertError(await reg.api("POST", reg.ns("/plugins/plg_nope/deploy")), 404, "plugin_not_found");
    assertError(await reg.api("DELETE", reg.ns("/plugins/plg_nope")), 404, "plugin_not_found");
  });

  await t.step(
    "deploy: 400 realtime_not_supported without realtime.py; deploying → ready with realtime.py",
    async () => {
      const refused = await reg.api("POST", reg.ns(`/plugins/${plainId}/deploy`));
      assertError(refused, 400, "realtime_not_supported");
      assertStringIncludes(refused.json.error.message, "realtime.py");
      liveId = (await publish(reg, "live_plugin", "0.1.0", live)).plugin_id;
      const ready = await waitFor(reg, liveId);
      assertEquals([ready.status, ready.realtime, ready.deployment], ["ready", true, null]);
      const deploying = await reg.api("POST", reg.ns(`/plugins/${liveId}/deploy`));
      assertEquals([deploying.status, deploying.json.status, deploying.json.deployment.status], [
        202,
        "deploying",
        "deploying",
      ]);
      assertError(await reg.api("POST", reg.ns(`/plugins/${liveId}/deploy`)), 409, "conflict");
      const deployed = await waitFor(reg, liveId, ["ready"]);
      assertEquals(deployed.deployment?.status, "active");
      assertEquals(deployed.deployment?.endpoint, `${reg.url}${reg.ns(`/plugins/${liveId}/realtime`)}`);
      assertError(await reg.api("POST", reg.ns(`/plugins/${liveId}/realtime`), {}), 501, "not_implemented");
    },
  );

  await t.step(
    "list: sources, stable order by name then version precedence, pages with a cursor",
    async () => {
      for (const version of ["1.10.0", "1.2.0", "1.2.0-beta.2", "1.2.0-beta.10"]) {
        await publish(reg, "ordering", version, await pluginArchive("ordering"));
      }
      const all = (await reg.api("GET", reg.ns("/plugins"))).json;
      assertEquals(all.next_cursor, null);
      const names = all.plugins.map((p: { name: string; version: string }) => `${p.name}@${p.version}`);
      assertEquals(names, [
        "audio_transcription@1.2.0",
        "image_captioning@1.0.3",
        "language_detector@0.4.1",
        "live_plugin@0.1.0",
        "ordering@1.2.0-beta.2",
        "ordering@1.2.0-beta.10",
        "ordering@1.2.0",
        "ordering@1.10.0",
        "plain_plugin@1.0.0",
        "text_embedding@2.1.0",
        "twice@1.0.0",
        "video_scene_detection@1.1.0",
      ]); // deno-fmt-ignore
      const bySource = async (source: string) =>
      (await reg.api("GET", reg.ns(`/plugins?source=${source}`))).json.plugins.map((p: { source: string }) => p.source);
      assertEquals(await bySource("builtin"), ["builtin", "builtin", "builtin", "builtin"]);
      assertEquals(await bySource("community"), ["community"]);
      assertEquals((await bySource("custom")).length, 7);
      assertEquals((await bySource("all")).length, 12);
      assertError(await reg.api("GET", reg.ns("/plugins?source=everything")), 400, "validation_error");
      for (const limit of ["0", "101", "x", "2.5"]) {
        assertError(await reg.api("GET", reg.ns(`/plugins?limit=${limit}`)), 400, "validation_error");
      }
      assertError(await reg.api("GET", reg.ns("/plugins?cursor=garbage")), 400, "validation_error");
      const paged: string[] = [];
      let cursor: string | null = "";
      let pages = 0;
      while (cursor !== null) {
        const page: { json: { plugins: { name: string; version: string }[]; next_cursor: string | null } } =
          await reg.api(
            "GET",
            reg.ns(`/plugins?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
          );
        paged.push(...page.json.plugins.map((p) => `${p.name}@${p.version}`));
        cursor = page.json.next_cursor;
        pages++;
      }
      assertEquals([paged, pages], [names, 3]);
    },
  );

  await t.step("delete: 403 for builtin entries; 200 removes record, upload and archive", async () => {
    const builtin = (await reg.api("GET", reg.ns("/plugins?source=builtin&limit=1"))).json.plugins[0];
    assertError(await reg.api("DELETE", reg.ns(`/plugins/${builtin.plugin_id}`)), 403, "forbidden");
    const blobsBefore = [...Deno.readDirSync(`${reg.dataDir}/blobs/plugins/default`)].length;
    const deleted = await reg.api("DELETE", reg.ns(`/plugins/${plainId}`));
    assertEquals([deleted.status, deleted.json], [200, { plugin_id: plainId, deleted: true }]);
    assertError(await reg.api("GET", reg.ns(`/plugins/${plainId}`)), 404, "plugin_not_found");
    assertEquals([...Deno.readDirSync(`${reg.dataDir}/blobs/plugins/default`)].length, blobsBefore - 1);
    // Its name and version are free again.
    assertEquals((await createUpload(reg, "plain_plugin", "1.0.0", plain)).status, 201);
  });
});

Deno.test("an upload URL stops working when its lifetime (--upload-ttl) is over", async () => {
  await using reg = await startRegistry({ uploadTtlSeconds: 1 });
  const archive = archiveOf(new TextEncoder().encode("short-lived"));
  const ticket = (await createUpload(reg, "short_lived", "1.0.0", archive)).json;
  assert(Date.parse(ticket.expires_at) - Date.now() <= 1000);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(ticket.expires_at) - Date.now()) + 50));
  const r = await putArchive(ticket, archive.bytes);
  assertEquals(r.status, 403);
  assertStringIncludes(r.text, "<Code>AccessDenied</Code>");
  assertStringIncludes(r.text, "Request has expired");
});
