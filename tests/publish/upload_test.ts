/**
 * The presigned upload against raw TCP peers on loopback that misbehave the way real servers and proxies
 * do: an early refusal while the body is still coming, a chunked error body, a proxy that never answers.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import { putFile, UploadError } from "../../lib/api/upload.ts";

/** A TCP server that hands each connection to `handle` (after reading the request head). */
function rawServer(handle: (conn: Deno.Conn, head: string) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        let head = "";
        const buffer = new Uint8Array(4096);
        while (!head.includes("\r\n\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) return;
          head += new TextDecoder().decode(buffer.subarray(0, n));
        }
        await handle(conn, head);
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

const write = (conn: Deno.Conn, text: string) => conn.write(new TextEncoder().encode(text));

function ticket(url: string) {
  return { url: `${url}/bucket/key?X-Amz-Signature=abc`, contentType: "application/gzip" };
}

Deno.test("an early 403 from a server that stops reading is the 403 (fresh URL), not a stall", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/big.bin`;
  await Deno.writeFile(file, new Uint8Array(64 * 1024 * 1024)); // more than the socket buffers hold
  const server = rawServer(async (conn) => {
    const body = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    await write(conn, `HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    // and then neither reads the body nor closes
  });
  try {
    const error = await assertRejects(
      () => putFile(ticket(server.url), file, 64 * 1024 * 1024, { idleTimeoutMs: 500 }),
      UploadError,
      "HTTP 403: AccessDenied: Request has expired",
    );
    assertEquals([error.freshUrl, error.retryable, error.status], [true, true, 403]);
  } finally {
    server.close();
  }
});

Deno.test("a chunked error body is read without its framing", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/small.bin`;
  await Deno.writeFile(file, new Uint8Array(1000));
  const server = rawServer(async (conn) => {
    await write(
      conn,
      "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "8\r\n<Error><\r\n" + "1d;ext=1\r\nCode>BadDigest</Code></Error>\r\n" + "0\r\n\r\n",
    );
    conn.close();
  });
  try {
    const error = await assertRejects(() => putFile(ticket(server.url), file, 1000), UploadError);
    assertStringIncludes(error.message, "HTTP 400: BadDigest");
    assert(!error.message.includes("\r"), JSON.stringify(error.message));
    assertEquals(error.retryable, false);
  } finally {
    server.close();
  }
});

Deno.test("a response cut short of its Content-Length is a retryable network error", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/small.bin`;
  await Deno.writeFile(file, new Uint8Array(10));
  const server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    conn.close();
  });
  try {
    const error = await assertRejects(
      () => putFile(ticket(server.url), file, 10),
      UploadError,
      "the upload: the connection to 127.0.0.1:",
    );
    assertStringIncludes(error.message, "was closed before the answer arrived");
    assertEquals(error.retryable, true);
  } finally {
    server.close();
  }
});

Deno.test("a proxy that accepts but never answers CONNECT: the idle timeout still ends the upload", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a.bin`, new Uint8Array(10));
  const silent = rawServer(() => new Promise(() => {})); // reads the CONNECT head, says nothing
  try {
    const script = [
      `import { putFile } from "${ROOT}/lib/api/upload.ts";`,
      `const t = { url: "https://uploads.example.com/key", contentType: "application/gzip" };`,
      `try { await putFile(t, "${dir.path}/a.bin", 10, { idleTimeoutMs: 300 }); console.log("uploaded"); }`,
      `catch (e) { console.log(e.name + ": " + e.message); }`,
    ].join("\n");
    const r = await runProcess(Deno.execPath(), ["eval", script], {
      env: { HTTPS_PROXY: silent.url, PATH: Deno.env.get("PATH") ?? "" },
    });
    assertEquals(r.code, 0, r.stderr);
    // A stall is an UploadError publish retries with a fresh URL (a final one becomes a TimeoutError there).
    assertEquals(r.stdout.trim(), "UploadError: the upload stalled: no progress for 0.3 s");
  } finally {
    silent.close();
  }
});

Deno.test("aborting while the connection is being set up ends the upload at once", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(`${dir.path}/a.bin`, new Uint8Array(10));
  const silent = rawServer(() => new Promise(() => {})); // never answers the request
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  try {
    const pending = putFile(ticket(silent.url), `${dir.path}/a.bin`, 10, { signal: controller.signal });
    const error = await pending.then(() => undefined, (e) => e);
    assertEquals(error?.name, "InterruptedError");
  } finally {
    silent.close();
  }
});

Deno.test("the PUT sends Content-Type, a real Content-Length and nothing a signature could cover; the ETag comes back", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/a.zip`;
  await Deno.writeFile(file, new Uint8Array(5000).fill(1));
  let head = "";
  const server = rawServer(async (conn, received) => {
    head = received;
    let got = received.length - received.indexOf("\r\n\r\n") - 4;
    const buffer = new Uint8Array(8192);
    while (got < 5000) {
      const n = await conn.read(buffer);
      if (n === null) break;
      got += n;
    }
    await write(
      conn,
      'HTTP/1.1 200 OK\r\nETag: "0123456789abcdef0123456789abcdef"\r\nContent-Length: 0\r\n\r\n',
    );
    conn.close();
  });
  try {
    const result = await putFile(
      { url: `${server.url}/bucket/key?X-Amz-Signature=abc`, contentType: "application/zip" },
      file,
      5000,
    );
    assertEquals(result.etag, '"0123456789abcdef0123456789abcdef"');
    const lines = head.split("\r\n");
    assertEquals(lines[0], "PUT /bucket/key?X-Amz-Signature=abc HTTP/1.1");
    const names = lines.slice(1).filter((l) => l.includes(":")).map((l) => l.split(":")[0].toLowerCase());
    assertEquals(names.sort(), ["connection", "content-length", "content-type", "host", "user-agent"]);
    assert(lines.includes("Content-Type: application/zip") && lines.includes("Content-Length: 5000"));
  } finally {
    server.close();
  }
});

Deno.test("a 403 SignatureDoesNotMatch is final (a fresh URL would fail the same way)", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/small.bin`;
  await Deno.writeFile(file, new Uint8Array(10));
  const server = rawServer(async (conn) => {
    const body = "<Error><Code>SignatureDoesNotMatch</Code><Message>wrong type</Message></Error>";
    await write(conn, `HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    conn.close();
  });
  try {
    const error = await assertRejects(
      () => putFile(ticket(server.url), file, 10),
      UploadError,
      "SignatureDoesNotMatch",
    );
    assertEquals([error.retryable, error.freshUrl], [false, false]);
  } finally {
    server.close();
  }
});
