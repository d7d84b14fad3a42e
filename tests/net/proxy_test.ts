/**
 * Never the key in clear through a proxy. One rule for the API calls and the upload (lib/api/proxy.ts):
 * loopback is reached directly whatever HTTP_PROXY / HTTPS_PROXY / ALL_PROXY say; an https destination goes
 * through an http:// proxy only as a CONNECT tunnel; a plain-http API call through a proxy is refused. A
 * recording proxy on loopback keeps every byte a client sends it, so the tests can show what it saw.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { ROOT, runProcess, tempDir } from "../helpers/cli.ts";
import { bypassesProxy, proxyFor } from "../../lib/api/proxy.ts";
import { scaffold, startE2E } from "../publish/_helpers.ts";
import { recordingProxy, testCertificates, tlsFront } from "./_helpers.ts";

Deno.test("NO_PROXY matching, loopback always direct, ALL_PROXY as the fallback", () => {
  const url = new URL("https://bucket.s3.example.com/key");
  assertEquals(bypassesProxy(url, undefined), false);
  assertEquals(bypassesProxy(url, "*"), true);
  assertEquals(bypassesProxy(url, "example.com"), true);
  assertEquals(bypassesProxy(url, ".example.com"), true);
  assertEquals(bypassesProxy(url, "other.com, s3.example.com:443"), true);
  assertEquals(bypassesProxy(url, "s3.example.com:8443"), false);
  assertEquals(bypassesProxy(url, "ample.com"), false);
  const env = (vars: Record<string, string>) => ({ get: (n: string) => vars[n] });
  assertEquals(proxyFor(url, env({ HTTPS_PROXY: "proxy.corp:3128" }))?.href, "http://proxy.corp:3128/");
  assertEquals(proxyFor(url, env({ https_proxy: "http://p:1" }))?.host, "p:1");
  assertEquals(proxyFor(url, env({ HTTP_PROXY: "http://p:1" })), undefined, "http proxy is not for https");
  assertEquals(proxyFor(url, env({ ALL_PROXY: "http://all:1" }))?.host, "all:1");
  assertEquals(proxyFor(url, env({ HTTPS_PROXY: "http://p:1", NO_PROXY: "example.com" })), undefined);
  const every = env({ HTTP_PROXY: "http://p:1", HTTPS_PROXY: "http://p:1", ALL_PROXY: "http://p:1" });
  for (
    const local of ["http://127.0.0.1:8787/x", "https://localhost/x", "http://[::1]:1/x", "http://127.9.9.9/"]
  ) {
    assertEquals(proxyFor(new URL(local), every), undefined, local);
  }
});

Deno.test("loopback bypasses every proxy variable: publish to `mixpeek local` sends the proxy nothing", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const proxy = recordingProxy();
  try {
    const root = await scaffold(dir.path, "proxied");
    const all = {
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
      ALL_PROXY: proxy.url,
      http_proxy: proxy.url,
    };
    const r = await e2e.cli(["--json", "plugin", "publish", root, "--wait"], { env: all });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).status, "deployed");
    assertEquals(proxy.connections(), 0, proxy.firstLines.join("\n"));
  } finally {
    proxy.close();
  }
});

Deno.test("an https API through an http:// proxy is only ever a CONNECT tunnel: the proxy never sees the key", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const certs = await testCertificates(dir.path, ["api.mixpeek.test", "uploads.mixpeek.test", "localhost"]);
  const front = tlsFront(e2e.reg.url, certs); // https://api.mixpeek.test → mixpeek local
  const proxy = recordingProxy({ "api.mixpeek.test": front.port });
  try {
    const root = await scaffold(dir.path, "tunnelled");
    const env = {
      MIXPEEK_BASE_URL: "https://api.mixpeek.test",
      HTTPS_PROXY: proxy.url,
      HTTP_PROXY: proxy.url,
      DENO_CERT: certs.ca,
    };
    const r = await e2e.cli(["--json", "plugin", "publish", root, "--wait"], { env });
    assertEquals(r.code, 0, r.stderr);
    const list = await e2e.cli(["plugin", "list", "-s", "custom"], { env });
    assertEquals(list.code, 0, list.stderr);
    assertStringIncludes(list.stdout, "tunnelled_0_1_0\ttunnelled\t");
    assert(proxy.connections() >= 1);
    for (const line of proxy.firstLines) assertEquals(line, "CONNECT api.mixpeek.test:443 HTTP/1.1");
    const seen = proxy.received();
    assert(!seen.includes(e2e.reg.key), "the key crossed the proxy in clear");
    assert(!/authorization/i.test(seen), "a request head crossed the proxy in clear");
  } finally {
    proxy.close();
    await front.close();
  }
});

Deno.test("a plain-http API through a proxy is refused before anything is sent", async () => {
  await using e2e = await startE2E();
  const proxy = recordingProxy();
  try {
    const r = await e2e.cli(["--insecure", "plugin", "list"], {
      env: { MIXPEEK_BASE_URL: "http://api.mixpeek.test:8787", HTTP_PROXY: proxy.url },
    });
    assertEquals(r.code, 2, r.stderr);
    assertEquals(
      r.stderr,
      `error: the API at http://api.mixpeek.test:8787 is plain http, and the proxy ${
        new URL(proxy.url).host
      } ` +
        "would read the API key in every request\n" +
        "hint: use an https base URL (sent through the proxy as a tunnel), or list api.mixpeek.test in NO_PROXY\n",
    );
    assertEquals(proxy.connections(), 0);
  } finally {
    proxy.close();
  }
});

Deno.test("an https upload URL goes through an HTTPS_PROXY CONNECT tunnel, straight to the host without one", async () => {
  await using dir = await tempDir();
  const certs = await testCertificates(dir.path, ["uploads.mixpeek.test", "localhost"]);
  let received = -1;
  let authorization: string | null = "unset";
  const target = Deno.serve(
    { hostname: "127.0.0.1", port: 0, ...certs, onListen: () => {} },
    async (request) => {
      authorization = request.headers.get("authorization");
      received = (await request.arrayBuffer()).byteLength;
      return new Response("", { status: 200 });
    },
  );
  const proxy = recordingProxy({ "uploads.mixpeek.test": target.addr.port });
  try {
    await Deno.writeFile(`${dir.path}/archive.bin`, new Uint8Array(300_000).fill(7));
    const script = (host: string) =>
      [
        `import { putFile } from "${ROOT}/lib/api/upload.ts";`,
        `await putFile({ url: "https://${host}:${target.addr.port}/bucket/key?X-Amz-Signature=abc", contentType: "application/gzip" },`,
        `  "${dir.path}/archive.bin", 300000);`,
        `console.log("uploaded");`,
      ].join("\n");
    const base = { DENO_CERT: certs.ca, PATH: Deno.env.get("PATH") ?? "" };
    const r = await runProcess(Deno.execPath(), ["eval", script("uploads.mixpeek.test")], {
      env: { ...base, HTTPS_PROXY: proxy.url },
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals([r.stdout.trim(), received, authorization], ["uploaded", 300_000, null]);
    assertEquals(proxy.firstLines, [`CONNECT uploads.mixpeek.test:${target.addr.port} HTTP/1.1`]);
    assert(!proxy.received().includes("X-Amz-Signature"), "the signed URL crossed the proxy in clear");

    // localhost is loopback: direct, even with the proxy set.
    received = -1;
    const direct = await runProcess(Deno.execPath(), ["eval", script("localhost")], {
      env: { ...base, HTTPS_PROXY: proxy.url },
    });
    assertEquals(direct.code, 0, direct.stderr);
    assertEquals(received, 300_000);
    assertEquals(proxy.connections(), 1);
  } finally {
    proxy.close();
    await target.shutdown();
  }
});
