/**
 * The uploader refuses unsafe request parts: a presigned URL (as the API gave it) with CR/LF, a space or a
 * control character, a host or path that is not plain ASCII once serialised, a header name that is not a
 * token, a header value with CR/LF, a header the ticket may not set. The refusal names the part, and
 * nothing is sent: a recording listener behind the URL sees no connection. End to end, an API on loopback
 * hands publish a poisoned ticket.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { checkPutTarget, UploadError } from "../../lib/api/upload.ts";
import { scaffold } from "../publish/_helpers.ts";

/** A TCP listener that only counts the connections it gets. */
function countingListener() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      connections++;
      conn.close();
    }
  })().catch(() => {});
  return { port: listener.addr.port, connections: () => connections, close: () => listener.close() };
}

/** An API on loopback whose upload-URL answer carries `presignedUrl`; every other route is a 404. */
function poisonedApi(presignedUrl: string) {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}`);
    if (request.method === "POST" && url.pathname === "/v1/namespaces/default/plugins/uploads") {
      const body = await request.json();
      return Response.json({
        upload_id: "up_poisoned",
        presigned_url: presignedUrl,
        s3_key: `plugins/${body.name}/${body.version}.tar.gz`,
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        namespace_id: "default",
        name: body.name,
        version: body.version,
      });
    }
    return Response.json({ detail: "Not Found" }, { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("publish refuses a presigned URL that would split the request line: clear message, nothing sent", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "poisoned");
  const target = countingListener();
  const cases: [string, string][] = [
    [
      `http://127.0.0.1:${target.port}/up\r\nX-Injected: 1\r\n\r\nGET /admin`,
      "contains a line break (CR/LF)",
    ],
    [`http://127.0.0.1:${target.port}/up load`, "contains a space"],
    [`http://127.0.0.1:${target.port}/up\u0000`, "contains a control character (0x00)"],
    [`http://127.0.0.1:${target.port}/up/\u00e9t\u00e9`, ""], // percent-encoded by the URL: safe, sent
  ];
  try {
    for (const [presigned, expected] of cases.slice(0, 3)) {
      const api = poisonedApi(presigned);
      try {
        const r = await runCli(["--json", "plugin", "publish", root, "--yes"], {
          env: {
            MIXPEEK_BASE_URL: api.url,
            MIXPEEK_API_KEY: "mxp_test_key_0123456789",
            MIXPEEK_NAMESPACE: "default",
          },
        });
        assertEquals(r.code, 5, r.stderr);
        const doc = JSON.parse(r.stdout).error;
        assertEquals(doc.message, `refusing to send the upload: the presigned URL ${expected}`);
        assertStringIncludes(doc.hint, "the upload ticket came from the API at --base-url");
        assertEquals(api.seen, ["POST /v1/namespaces/default/plugins/uploads"], "no retry, no confirm");
      } finally {
        await api.close();
      }
    }
    assertEquals(target.connections(), 0, "a byte reached the upload host");
    assertEquals(
      checkPutTarget({ url: cases[3][0], contentType: "application/gzip" }).url.pathname,
      "/up/%C3%A9t%C3%A9",
    );
  } finally {
    target.close();
  }
});

Deno.test("an upload URL on a loopback port where nothing listens fails at once, naming it (no retry)", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "nowhere");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const api = poisonedApi(`http://127.0.0.1:${port}/_uploads/up_poisoned?signature=abc`);
  try {
    const r = await runCli(["plugin", "publish", root, "--yes"], {
      env: {
        MIXPEEK_BASE_URL: api.url,
        MIXPEEK_API_KEY: "mxp_test_key_0123456789",
        MIXPEEK_NAMESPACE: "default",
      },
    });
    assertEquals(r.code, 5, r.stderr);
    assertStringIncludes(
      r.stderr,
      `error: the upload: cannot connect to 127.0.0.1:${port}: connection refused (nothing listens there)\n` +
        "hint: is `mixpeek local` running?",
    );
    assert(!r.stderr.includes("retrying"), r.stderr);
    assertEquals(api.seen, ["POST /v1/namespaces/default/plugins/uploads"]);
  } finally {
    await api.close();
  }
});

Deno.test("header names must be tokens, values free of CR/LF, and a ticket cannot set framing or auth headers", () => {
  const url = "https://bucket.s3.example.com/key?X-Amz-Signature=abc";
  const refuse = (headers: Record<string, string>, message: string) => {
    const error = assertThrows(
      () => checkPutTarget({ url, contentType: "application/gzip", headers }),
      UploadError,
    );
    assertEquals(error.message, `refusing to send the upload: ${message}`);
    assertEquals(error.retryable, false);
  };
  refuse({ "X-Amz-Meta Evil": "1" }, 'the header name "X-Amz-Meta Evil" is not an HTTP token');
  refuse({ "X-Amz-Meta:x": "1" }, 'the header name "X-Amz-Meta:x" is not an HTTP token');
  refuse({ "X-Amz-Meta-A": "1\r\nHost: evil" }, "the value of X-Amz-Meta-A contains a line break (CR/LF)");
  refuse({ "X-Amz-Meta-A": "a\nb" }, "the value of X-Amz-Meta-A contains a line break (CR/LF)");
  refuse({ "X-Amz-Meta-A": "a\u0007" }, "the value of X-Amz-Meta-A contains a control character (0x07)");
  refuse(
    { Authorization: "Bearer x" },
    "the ticket sets the Authorization header, which the uploader never takes from a ticket",
  );
  refuse(
    { "content-length": "1" },
    "the ticket sets the content-length header, which the uploader never takes from a ticket",
  );
  refuse(
    { "Transfer-Encoding": "chunked" },
    "the ticket sets the Transfer-Encoding header, which the uploader never takes from a ticket",
  );
  const error = assertThrows(
    () => checkPutTarget({ url, contentType: "application/gzip\r\nX: 1" }),
    UploadError,
  );
  assertStringIncludes(error.message, "the value of Content-Type contains a line break");
  // What a ticket may carry: signed headers with ordinary values (spaces and tabs included).
  const ok = checkPutTarget({
    url,
    contentType: "application/gzip",
    headers: { "x-amz-meta-note": "a b\tc" },
  });
  assertEquals(ok.headerLines, ["Content-Type: application/gzip", "x-amz-meta-note: a b\tc"]);
  assert(ok.url.search.includes("X-Amz-Signature"));
});
