/**
 * Publish against `mixpeek local` with its S3 backend (moto_server) behind a recording proxy on loopback:
 * the CLI's presigned PUT goes to the "S3" host, so every request that reaches a host other than the
 * API base URL is seen, and the API key must be in none of them — nor in any output, log or archive.
 */
import { gunzipSync } from "node:zlib";
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { S3_CREDENTIALS, startMoto } from "../local/_helpers.ts";
import { scaffold, startE2E } from "./_helpers.ts";
import { AwsClient } from "aws4fetch";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A loopback proxy in front of `upstream` that records every request it forwards. */
function recordingProxy(upstream: string) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      url: request.url,
      headers: Object.fromEntries(request.headers),
      body,
    });
    const headers = new Headers(request.headers);
    headers.delete("host");
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: body.length > 0 ? body : undefined,
    });
    const answerBody = request.method === "HEAD" ? null : new Uint8Array(await answer.arrayBuffer());
    return new Response(answerBody, { status: answer.status, headers: answer.headers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("S3 backend: publish works, and the API key goes only to the API base URL", async () => {
  await using moto = await startMoto();
  const proxy = recordingProxy(moto.endpoint);
  try {
    const s3 = new AwsClient({
      accessKeyId: S3_CREDENTIALS.access_key_id,
      secretAccessKey: S3_CREDENTIALS.secret_access_key,
      region: S3_CREDENTIALS.region,
      service: "s3",
    });
    assertEquals((await s3.fetch(`${moto.endpoint}/plugins-bucket`, { method: "PUT" })).status, 200);

    await using e2e = await startE2E({
      s3: { endpoint: proxy.url, bucket: "plugins-bucket", ...S3_CREDENTIALS },
    });
    await using dir = await tempDir();
    const root = await scaffold(dir.path, "s3_plugin", { realtime: true });
    const key = e2e.reg.key;
    const outputs: string[] = [];
    const run = async (args: string[]) => {
      const r = await e2e.cli(args);
      outputs.push(r.stdout, r.stderr);
      assertEquals(r.code, 0, r.stderr);
      return r;
    };

    const pub = JSON.parse(
      (await run(["--json", "--verbose", "plugin", "publish", "--path", root, "--wait"])).stdout,
    );
    assertEquals([pub.status, pub.deployment?.status], ["deployed", "queued"]);
    await run(["--verbose", "plugin", "list"]);
    await run(["-v", "plugin", "list", "-s", "custom"]);
    await run(["--verbose", "plugin", "status", pub.plugin_id]);
    await run(["--api-key", key, "--verbose", "plugin", "get", pub.plugin_id, "--download-url"]);
    await run(["plugin", "undeploy", pub.plugin_id, "--api-key", key]);
    await run(["config", "list"]);
    const packed = JSON.parse((await run(["--json", "plugin", "pack", "--path", root])).stdout);

    // The presigned PUT reached the S3 host with the archive, its Content-Type and length, and without any
    // Authorization header.
    const puts = proxy.seen.filter((r) => r.method === "PUT" && r.url.includes("/plugins-bucket/"));
    assertEquals(puts.length, 1);
    assertEquals(puts[0].headers.authorization, undefined);
    assertEquals(puts[0].body.length, pub.archive.size);
    assertEquals(puts[0].headers["content-length"], String(pub.archive.size));
    assertEquals(puts[0].headers["content-type"], "application/gzip");
    assert(proxy.seen.some((r) => r.method === "HEAD"), "the registry checked the object with HEAD");

    const needle = new TextEncoder().encode(key);
    const contains = (haystack: Uint8Array) => {
      outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
        for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
        return true;
      }
      return false;
    };
    for (const r of proxy.seen) {
      assert(!r.url.includes(key), `key in a URL sent to ${r.url}`);
      for (const [name, value] of Object.entries(r.headers)) {
        assert(!value.includes(key), `key in header ${name}`);
      }
      assert(!contains(r.body), `key in the body of ${r.method} ${r.url}`);
    }
    for (const text of outputs) assert(!text.includes(key), "key printed");
    for (const line of e2e.log) assert(!line.includes(key), "key logged by the registry");
    const tar = gunzipSync(await Deno.readFile(packed.path));
    assert(!contains(tar), "key inside the archive");
    assertEquals(tar.length > 0, true);
  } finally {
    await proxy.close();
  }
});
