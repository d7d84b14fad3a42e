/**
 * The S3 blob backend against moto_server (started by the test on a free port): real SigV4 presigned PUT
 * URLs, uploaded to by curl as any generic client would, HEAD on confirm, re-validation from the bucket,
 * delete removing the object.
 */
import { AwsClient } from "aws4fetch";
import { UsageError } from "../../lib/errors.ts";
import { startLocalRegistry } from "../../lib/local/registry.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";
import {
  type Archive,
  pluginArchive,
  S3_CREDENTIALS,
  startMoto,
  startRegistry,
  waitFor,
} from "./_helpers.ts";

const BUCKET = "plugins";

async function curlPut(url: string, file: string, headers: Record<string, string>) {
  const args = ["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "PUT", "-T", file];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  const result = await runProcess("curl", [...args, url]);
  const lines = result.stdout.trimEnd().split("\n");
  return { status: Number(lines.at(-1)), body: lines.slice(0, -1).join("\n"), stderr: result.stderr };
}

Deno.test("S3 backend (moto_server): presigned PUT, confirm with HEAD, validation from the bucket, delete", async (t) => {
  await using moto = await startMoto();
  await using files = await tempDir("mixpeek-s3-files-");
  const s3 = new AwsClient({
    accessKeyId: S3_CREDENTIALS.access_key_id,
    secretAccessKey: S3_CREDENTIALS.secret_access_key,
    region: S3_CREDENTIALS.region,
    service: "s3",
    retries: 0,
  });
  const head = async (key: string) => {
    const r = await s3.fetch(`${moto.endpoint}/${BUCKET}/${key}`, { method: "HEAD" });
    await r.body?.cancel();
    return r;
  };

  await t.step("a missing bucket is a clear usage error at start", async () => {
    await using dir = await tempDir("mixpeek-s3-data-");
    await assertRejects(
      () =>
        startLocalRegistry({
          dataDir: dir.path,
          port: 0,
          s3: { endpoint: moto.endpoint, bucket: BUCKET, ...S3_CREDENTIALS },
        }),
      UsageError,
      "does not exist",
    );
  });

  const created = await s3.fetch(`${moto.endpoint}/${BUCKET}`, { method: "PUT" });
  await created.body?.cancel();
  assertEquals(created.status, 200);

  await using reg = await startRegistry({
    s3: { endpoint: moto.endpoint, bucket: BUCKET, ...S3_CREDENTIALS },
  });
  const save = async (name: string, archive: Archive) => {
    const path = `${files.path}/${name}.tar.gz`;
    await Deno.writeFile(path, archive.bytes);
    return path;
  };

  let pluginId = "";
  let key = "";
  await t.step("the ticket is a SigV4 presigned PUT that signs the size, type and checksum", async () => {
    const archive = await pluginArchive("s3_plugin", { realtime: true });
    const ticket = (await reg.api("POST", reg.ns("/plugins/uploads"), {
      name: "s3_plugin",
      version: "1.0.0",
      size_bytes: archive.size,
      sha256: archive.sha256,
    })).json;
    const url = new URL(ticket.upload_url);
    assertEquals(url.origin, moto.endpoint);
    key = url.pathname.slice(`/${BUCKET}/`.length);
    assertEquals(key, `plugins/default/${ticket.upload_id}.tar.gz`);
    assertEquals(url.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assertEquals(
      url.searchParams.get("X-Amz-SignedHeaders"),
      "content-length;content-type;host;x-amz-checksum-sha256",
    );
    assertMatch(url.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
    assert(!ticket.upload_url.includes(reg.key));

    const early = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
      sha256: archive.sha256,
    });
    assertEquals(
      [early.status, early.json.error.type],
      [409, "conflict"],
      "confirm before the object exists",
    );

    const put = await curlPut(ticket.upload_url, await save("s3_plugin", archive), ticket.headers);
    assertEquals(put.status, 200, put.body + put.stderr);
    const object = await head(key);
    assertEquals([object.status, object.headers.get("content-length")], [200, String(archive.size)]);

    const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
      sha256: archive.sha256,
    });
    assertEquals([confirmed.status, confirmed.json.status], [202, "pending"], confirmed.text);
    pluginId = confirmed.json.plugin_id;
    const ready = await waitFor(reg, pluginId);
    assertEquals([ready.status, ready.realtime], ["ready", true], ready.error ?? "");
  });

  await t.step(
    "other bytes in the bucket (moto checks neither size nor checksum) fail validation",
    async () => {
      const declared = await pluginArchive("swapped");
      const flipped = declared.bytes.slice();
      flipped[Math.floor(flipped.length / 2)] ^= 0xff;
      const cases: [string, Uint8Array, string][] = [
        ["same size, other bytes", flipped, declared.sha256],
        ["another size", declared.bytes.subarray(0, declared.size - 100), `upload declared ${declared.size}`],
      ];
      let patch = 0;
      for (const [label, bytes, reason] of cases) {
        const ticket = (await reg.api("POST", reg.ns("/plugins/uploads"), {
          name: "swapped",
          version: `1.0.${patch++}`,
          size_bytes: declared.size,
          sha256: declared.sha256,
        })).json;
        const path = `${files.path}/swapped_${patch}.tar.gz`;
        await Deno.writeFile(path, bytes);
        const put = await curlPut(ticket.upload_url, path, {});
        assertEquals(put.status, 200, `${label}: moto is lenient and stores whatever it gets`);
        const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
          sha256: declared.sha256,
        });
        assertEquals(confirmed.status, 202);
        const failed = await waitFor(reg, confirmed.json.plugin_id);
        assertEquals(failed.status, "failed", label);
        assertStringIncludes(failed.error ?? "", reason);
      }
    },
  );

  await t.step("delete removes the record and the object", async () => {
    const deleted = await reg.api("DELETE", reg.ns(`/plugins/${pluginId}`));
    assertEquals([deleted.status, deleted.json.deleted], [200, true]);
    assertEquals((await head(key)).status, 404);
    assertEquals((await reg.api("GET", reg.ns(`/plugins/${pluginId}`))).status, 404);
  });

  await t.step("the disk upload route does not exist with the S3 backend", async () => {
    const r = await fetch(`${reg.url}/_uploads/upl_x?expires=1&signature=0`, { method: "PUT", body: "x" });
    await r.body?.cancel();
    assertEquals(r.status, 404);
  });
});
