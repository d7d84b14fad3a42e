/**
 * `mixpeek local` under attack, from raw TCP connections: idle connections, request heads sent a byte at a
 * time (slowloris) and upload bodies that stop are closed by their timeouts; 200 stalled uploads cost the
 * registry process less than 50 MiB of memory (VmRSS from /proc) and leave no temp file; the connection cap
 * answers 503; and an honest upload whose body keeps arriving slowly, for longer than every timeout, still
 * succeeds. Each server runs as its own process with short timeouts (flags), so its memory is its own.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { pluginArchive } from "./_helpers.ts";
import {
  connect,
  ENCODER,
  names,
  putHead,
  readUntilClosed,
  sleep,
  type Spawned,
  spawnRegistry,
  until,
} from "./_spawn.ts";

const MiB = 1024 * 1024;

async function tickets(
  reg: Spawned,
  count: number,
  prefix: string,
): Promise<{ upload_id: string; url: string }[]> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const r = await reg.api("POST", "/v1/namespaces/default/plugins/uploads", {
      name: `${prefix}_plugin`,
      version: `1.0.${i}`,
    });
    if (r.status !== 200) throw new Error(`create upload: ${r.status} ${r.text}`);
    const json = r.json as { upload_id: string; presigned_url: string };
    out.push({ upload_id: json.upload_id, url: json.presigned_url });
  }
  return out;
}

Deno.test("200 stalled uploads: under 50 MiB of the registry's memory, closed by the body timeout, no temp file left", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  // Timeouts long enough for all 200 to be open at once, short enough for the test.
  await using reg = await spawnRegistry(data.path, home.path, [
    "--body-timeout",
    "8",
    "--idle-timeout",
    "30",
  ]);
  const stalled = 200;
  const sent = 64 * 1024; // each sends its head and 64 KiB of a 10 MB body, then nothing
  const all = await tickets(reg, stalled + 1, "stall");

  // A warm-up: one stalled upload, cut off by the timeout, so the code paths are compiled and counted out.
  const warm = await connect(reg.url);
  await warm.write(putHead(all[stalled].url, 10_000_000));
  await warm.write(new Uint8Array(sent));
  assertEquals(await readUntilClosed(warm), "", "a stalled body is cut off without an answer");
  await sleep(500);
  const before = reg.status("VmRSS");

  const conns = await Promise.all(
    all.slice(0, stalled).map(async (t) => {
      const conn = await connect(reg.url);
      await conn.write(putHead(t.url, 10_000_000));
      await conn.write(new Uint8Array(sent));
      return conn;
    }),
  );
  const closed = conns.map((conn) => readUntilClosed(conn));
  // All 200 are being received (each has its temp file) at the time of the measurement.
  await until(
    async () => (await names(`${data.path}/tmp`)).length === stalled || undefined,
    "200 temp files",
  );
  const during = reg.status("VmRSS");
  const grown = during - before;
  console.log(
    `200 stalled uploads (64 KiB sent each): VmRSS ${(before / MiB).toFixed(1)} → ${
      (during / MiB).toFixed(1)
    } MiB ` +
      `(+${(grown / MiB).toFixed(1)} MiB; limit 50 MiB), VmHWM ${(reg.status("VmHWM") / MiB).toFixed(1)} MiB`,
  );
  assert(grown < 50 * MiB, `200 stalled uploads cost ${(grown / MiB).toFixed(1)} MiB`);

  // The body timeout closes every one of them, without an answer (the server is still reading the body).
  assertEquals(new Set(await Promise.all(closed)), new Set([""]));
  await until(
    async () => (await names(`${data.path}/tmp`)).length === 0 || undefined,
    "the temp files to go",
  );
  // Nothing was stored: each upload is still waiting for its archive.
  const confirm = await reg.api(
    "POST",
    `/v1/namespaces/default/plugins/uploads/${all[0].upload_id}/confirm`,
    {},
  );
  assertEquals(confirm.status, 404);
  assertStringIncludes(confirm.text, "S3 object missing");
  assertEquals(await names(`${data.path}/blobs`), []);
  assertEquals((await reg.api("GET", "/healthz")).status, 200);
  assertMatch(reg.stderr(), /closed \d+ connection\(s\) whose request body sent nothing for 8 s\n/);
});

Deno.test("idle connections, slow request heads, the connection cap; a slow but moving upload succeeds", async (t) => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  await using reg = await spawnRegistry(data.path, home.path, [
    "--idle-timeout",
    "1.5",
    "--header-timeout",
    "1.5",
    "--body-timeout",
    "2",
    "--max-connections",
    "40",
  ]);

  await t.step("a connection that never sends a request is closed, silently", async () => {
    const idle = await Promise.all(Array.from({ length: 10 }, () => connect(reg.url)));
    assertEquals(await Promise.all(idle.map(readUntilClosed)), Array(10).fill(""));
  });

  await t.step("a keep-alive connection is closed once idle after its answer", async () => {
    const conn = await connect(reg.url);
    await conn.write(ENCODER.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const text = await readUntilClosed(conn);
    assertMatch(text, /^HTTP\/1\.1 200 OK\r\n/);
    assertStringIncludes(text, '{"status":"ok"}');
  });

  await t.step(
    "slowloris: a head sent a byte at a time gets 408 once the header timeout is over",
    async () => {
      const slow = await Promise.all(Array.from({ length: 10 }, async () => {
        const conn = await connect(reg.url);
        const answer = readUntilClosed(conn);
        const head = ENCODER.encode("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + "a".repeat(400));
        let sentBytes = 0;
        try {
          for (const byte of head) { // one byte every 50 ms: 20 s for the whole head, never finished
            await conn.write(Uint8Array.of(byte));
            sentBytes++;
            await sleep(50);
          }
        } catch { /* the server closed the connection */ }
        return { text: await answer, sentBytes, total: head.length };
      }));
      for (const { text, sentBytes, total } of slow) {
        assert(sentBytes < total, "the head was cut off before it was complete");
        assertMatch(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
        assertStringIncludes(text, '"type":"RequestTimeoutError"');
        assertStringIncludes(text, "the request head did not arrive within 1.5 s");
      }
    },
  );

  await t.step("a request head over 64 KiB gets 431", async () => {
    const conn = await connect(reg.url);
    const answer = readUntilClosed(conn);
    try {
      await conn.write(
        ENCODER.encode(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`),
      );
    } catch { /* closed while writing */ }
    const text = await answer;
    assertMatch(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assertStringIncludes(text, "the request head is larger than 65536 bytes");
  });

  await t.step("past --max-connections, a connection gets 503 with Retry-After", async () => {
    const held = await Promise.all(Array.from({ length: 40 }, () => connect(reg.url)));
    await sleep(200);
    const extra = await connect(reg.url);
    const text = await readUntilClosed(extra);
    assertMatch(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assertStringIncludes(text.toLowerCase(), "retry-after: 1\r\n");
    assertStringIncludes(text, "too many connections (40 are open)");
    for (const conn of held) conn.close();
  });

  await t.step(
    "an upload whose body keeps coming, slower than every timeout in total, is stored",
    async () => {
      const archive = await pluginArchive("slow_plugin");
      const [ticket] = await tickets(reg, 1, "slow");
      const conn = await connect(reg.url);
      await conn.write(putHead(ticket.url, archive.size));
      const pieces = 16;
      const step = Math.ceil(archive.size / pieces);
      for (let offset = 0; offset < archive.size; offset += step) {
        await conn.write(archive.bytes.subarray(offset, offset + step));
        await sleep(300); // 16 × 300 ms: longer than the idle, header and body timeouts together
      }
      const text = await readUntilClosed(conn);
      assertMatch(text, /^HTTP\/1\.1 200 OK\r\n/);
      assertStringIncludes(text.toLowerCase(), `etag: "${archive.md5}"`);
      const confirmed = await reg.api(
        "POST",
        `/v1/namespaces/default/plugins/uploads/${ticket.upload_id}/confirm`,
        { etag: archive.md5, file_size_bytes: archive.size },
      );
      assertEquals((confirmed.json as { success: boolean }).success, true, confirmed.text);
    },
  );

  await t.step("the registry still answers, and all of it was logged", async () => {
    assertEquals((await reg.api("GET", "/healthz")).status, 200);
    const stopped = await reg.stop("SIGTERM");
    assertEquals(stopped.code, 0, stopped.stderr);
  });
});

Deno.test("with the loopback-port link (Windows' default), requests go through the guard, with its secret only", async () => {
  const { startRegistry, publish, pluginArchive: archiveOf } = await import("./_helpers.ts");
  await using reg = await startRegistry({ backendTransport: "tcp" });
  const answer = await publish(reg, "tcp_plugin", "1.0.0", await archiveOf("tcp_plugin"));
  assertEquals(answer.success, true);
  // A client cannot pass for the guard: its own copy of the header makes the value wrong.
  const forged = await reg.api("GET", reg.ns("/plugins"), undefined, { "x-mixpeek-guard": "guess" });
  assertEquals(forged.status, 403);
  assertEquals(forged.json.error.message, "requests must come through the registry's own port");
  assertEquals((await reg.api("GET", reg.ns("/plugins"))).json.total, 1);
});

Deno.test("the guard follows HTTP/1.1 framing: pipelined requests, chunked bodies with extensions and trailers, keep-alive", async () => {
  const { startRegistry } = await import("./_helpers.ts");
  // A short body timeout: had the guard lost track of where a body ends, the pause below would cut the
  // connection as a stalled body (idle connections get longer).
  await using reg = await startRegistry({ limits: { body_ms: 300, idle_ms: 10_000 } });
  const conn = await connect(reg.url);
  const auth = `Authorization: Bearer ${reg.key}\r\n`;
  const body = JSON.stringify({ name: "framed_plugin", version: "1.0.0" });
  const chunked = [
    `${body.slice(0, 10).length.toString(16)};ext=1\r\n${body.slice(0, 10)}\r\n`,
    `${body.slice(10).length.toString(16)}\r\n${body.slice(10)}\r\n`,
    "0\r\nX-Trailer: yes\r\n\r\n",
  ].join("");
  // Three requests in one write, then a fourth later on the same connection.
  await conn.write(ENCODER.encode(
    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
      `POST /v1/namespaces/default/plugins/uploads HTTP/1.1\r\nHost: x\r\n${auth}` +
      `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}` +
      `GET /v1/namespaces/default/plugins HTTP/1.1\r\nHost: x\r\n${auth}\r\n`,
  ));
  await sleep(1000);
  await conn.write(ENCODER.encode("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const text = await readUntilClosed(conn);
  const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => m[1]);
  assertEquals(statuses, ["200", "200", "200", "200"], text);
  assertStringIncludes(text, '"name":"framed_plugin"');
  assertStringIncludes(text, '"plugins":[]');
});

Deno.test("the server's socket is private; a data dir path too long for a socket uses a private temp folder", async () => {
  const { startRegistry } = await import("./_helpers.ts");
  {
    await using reg = await startRegistry();
    assertEquals((await Deno.stat(`${reg.dataDir}/http.sock`)).mode! & 0o777, 0o600);
  }
  await using base = await tempDir("mixpeek-data-");
  const deep = `${base.path}/${"d".repeat(60)}/${"e".repeat(60)}`;
  const before = new Set(await names(Deno.env.get("TMPDIR") ?? "/tmp"));
  const reg = await startRegistry({ dataDir: deep });
  assertEquals(await names(deep).then((n) => n.includes("http.sock")), false);
  const created = (await names(Deno.env.get("TMPDIR") ?? "/tmp")).filter((n) => !before.has(n));
  assert(created.some((n) => n.startsWith("mixpeek-sock-")), created.join(", "));
  assertEquals((await reg.api("GET", "/healthz")).status, 200);
  await reg.stop();
  const after = new Set(await names(Deno.env.get("TMPDIR") ?? "/tmp"));
  for (const name of created.filter((n) => n.startsWith("mixpeek-sock-"))) {
    assert(!after.has(name), `${name} is removed at close`);
  }
});
