/**
 * Proxy variables: API calls (Deno's fetch) and the presigned upload (node:http, lib/api/proxy.ts) go
 * through HTTP_PROXY / HTTPS_PROXY unless NO_PROXY names the host. Real proxies on loopback.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import { bypassesProxy, proxyFor } from "../../lib/api/proxy.ts";
import { scaffold, startE2E } from "./_helpers.ts";

/** A forward HTTP proxy (absolute-form requests) that records what it forwards. */
function forwardProxy() {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    seen.push(`${request.method} ${request.url}`);
    const body = new Uint8Array(await request.arrayBuffer());
    const answer = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: body.length > 0 ? body : undefined,
    });
    return new Response(await answer.arrayBuffer(), { status: answer.status, headers: answer.headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

/** A CONNECT proxy over raw TCP (what HTTPS_PROXY points at), recording the CONNECT lines. */
function connectProxy() {
  const seen: string[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const buffer = new Uint8Array(8192);
        const n = await conn.read(buffer);
        const head = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
        seen.push(head.split("\r\n")[0]);
        const target = head.match(/^CONNECT ([^:\s]+):(\d+) /);
        if (!target) return conn.close();
        const upstream = await Deno.connect({
          hostname: target[1] === "localhost" ? "127.0.0.1" : target[1],
          port: Number(target[2]),
        });
        conns.push(upstream);
        await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection Established\r\n\r\n"));
        conn.readable.pipeTo(upstream.writable).catch(() => {});
        upstream.readable.pipeTo(conn.writable).catch(() => {});
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    close: () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

Deno.test("NO_PROXY matching: *, exact hosts, domain suffixes and ports", () => {
  const url = new URL("https://bucket.s3.example.com/key");
  assertEquals(bypassesProxy(url, undefined), false);
  assertEquals(bypassesProxy(url, "*"), true);
  assertEquals(bypassesProxy(url, "example.com"), true);
  assertEquals(bypassesProxy(url, ".example.com"), true);
  assertEquals(bypassesProxy(url, "other.com, s3.example.com:443"), true);
  assertEquals(bypassesProxy(url, "s3.example.com:8443"), false);
  assertEquals(bypassesProxy(url, "ample.com"), false);
  assertEquals(bypassesProxy(new URL("http://127.0.0.1:9/x"), "localhost,127.0.0.1"), true);
  const env = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });
  assertEquals(proxyFor(url, env({ HTTPS_PROXY: "proxy.corp:3128" }))?.href, "http://proxy.corp:3128/");
  assertEquals(proxyFor(url, env({ https_proxy: "http://p:1" }))?.host, "p:1");
  assertEquals(proxyFor(url, env({ HTTP_PROXY: "http://p:1" })), undefined, "http proxy is not for https");
  assertEquals(proxyFor(url, env({ HTTPS_PROXY: "http://p:1", NO_PROXY: "example.com" })), undefined);
});

Deno.test("publish goes through HTTP_PROXY (API calls and the upload), and NO_PROXY bypasses it", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const proxy = forwardProxy();
  try {
    const root = await scaffold(dir.path, "proxied");
    const r = await e2e.cli(["--json", "plugin", "publish", "--path", root, "--wait"], {
      env: { HTTP_PROXY: proxy.url },
    });
    assertEquals(r.code, 0, r.stderr);
    const base = e2e.reg.url;
    assert(proxy.seen.includes(`POST ${base}/v1/namespaces/default/plugins/uploads`), proxy.seen.join("\n"));
    assert(proxy.seen.some((l) => l.startsWith(`PUT ${base}/_uploads/`)), "the upload bypassed the proxy");
    assert(proxy.seen.some((l) => /\/confirm$/.test(l)));

    proxy.seen.length = 0;
    const direct = await e2e.cli(["plugin", "list"], {
      env: { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" },
    });
    assertEquals(direct.code, 0, direct.stderr);
    assertEquals(proxy.seen, []);
  } finally {
    await proxy.close();
  }
});

Deno.test("an https upload URL goes through an HTTPS_PROXY CONNECT tunnel (and DENO_CERT is trusted)", async () => {
  await using dir = await tempDir();
  // A test CA and a server certificate it signed (rustls refuses a self-signed end-entity certificate).
  const d = dir.path;
  await Deno.writeTextFile(
    `${d}/leaf.ext`,
    "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  for (
    const args of [
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=mixpeek test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-keyout",
        `${d}/ca.key`,
        "-out",
        `${d}/ca.pem`,
      ],
      [
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        `${d}/key.pem`,
        "-out",
        `${d}/leaf.csr`,
      ],
      [
        "x509",
        "-req",
        "-in",
        `${d}/leaf.csr`,
        "-CA",
        `${d}/ca.pem`,
        "-CAkey",
        `${d}/ca.key`,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${d}/leaf.ext`,
        "-out",
        `${d}/cert.pem`,
      ],
    ] // deno-fmt-ignore
  ) {
    const r = await runProcess("openssl", args);
    assertEquals(r.code, 0, r.stderr);
  }
  let received = -1;
  let authorization: string | null = "unset";
  const target = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(`${dir.path}/cert.pem`),
    key: await Deno.readTextFile(`${dir.path}/key.pem`),
    onListen: () => {},
  }, async (request) => {
    authorization = request.headers.get("authorization");
    received = (await request.arrayBuffer()).byteLength;
    return new Response("", { status: 200 });
  });
  const proxy = connectProxy();
  try {
    await Deno.writeFile(`${dir.path}/archive.bin`, new Uint8Array(300_000).fill(7));
    const script = [
      `import { putFile } from "${ROOT}/lib/api/upload.ts";`,
      `await putFile({ url: "https://localhost:${target.addr.port}/bucket/key", contentType: "application/gzip" },`,
      `  "${dir.path}/archive.bin", 300000);`,
      `console.log("uploaded");`,
    ].join("\n");
    const r = await runProcess(Deno.execPath(), ["eval", script], {
      env: { HTTPS_PROXY: proxy.url, DENO_CERT: `${dir.path}/ca.pem`, PATH: Deno.env.get("PATH") ?? "" },
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), "uploaded");
    assertEquals(received, 300_000);
    assertEquals(authorization, null);
    assertEquals(proxy.seen, [`CONNECT localhost:${target.addr.port} HTTP/1.1`]);

    // And straight to the https host when no proxy is set.
    received = -1;
    const direct = await runProcess(Deno.execPath(), ["eval", script], {
      env: { DENO_CERT: `${dir.path}/ca.pem`, PATH: Deno.env.get("PATH") ?? "" },
    });
    assertEquals(direct.code, 0, direct.stderr);
    assertEquals(received, 300_000);
    assertEquals(proxy.seen.length, 1);
  } finally {
    proxy.close();
    await target.shutdown();
  }
});
