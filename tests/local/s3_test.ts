/**
 * The S3 blob backend against moto_server (started by the test on a free port): real SigV4 presigned PUT
 * URLs that sign Content-Type only, uploaded to by curl as Mixpeek's original CLI does, HEAD (size and MD5
 * ETag) on confirm, validation from the bucket, presigned downloads, delete removing the object.
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

  let key = "";
  await t.step("the answer is a SigV4 presigned PUT that signs Content-Type only", async () => {
    const archive = await pluginArchive("s3_plugin", { realtime: true });
    const ticket = (await reg.api("POST", reg.ns("/plugins/uploads"), {
      name: "s3_plugin",
      version: "1.0.0",
      file_size_bytes: archive.size,
    })).json;
    const url = new URL(ticket.presigned_url);
    assertEquals(url.origin, moto.endpoint);
    key = url.pathname.slice(`/${BUCKET}/`.length);
    assertEquals(key, ticket.s3_key);
    assertEquals(key, `default/plugins/${ticket.upload_id}/s3_plugin_1_0_0.tar.gz`);
    assertEquals(url.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assertEquals(url.searchParams.get("X-Amz-SignedHeaders"), "content-type;host");
    assertMatch(url.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/);
    assert(!ticket.presigned_url.includes(reg.key));

    const early = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {});
    assertEquals(
      [early.status, early.json.error.type],
      [404, "NotFoundError"],
      "confirm before the object exists",
    );

    // curl with nothing but Content-Type, as Mixpeek's original CLI PUTs.
    const put = await curlPut(ticket.presigned_url, await save("s3_plugin", archive), {
      "Content-Type": "application/gzip",
    });
    assertEquals(put.status, 200, put.body + put.stderr);
    const object = await head(key);
    assertEquals([object.status, object.headers.get("content-length")], [200, String(archive.size)]);
    assertEquals(object.headers.get("etag"), `"${archive.md5}"`, "S3's ETag is the MD5");

    const confirmed = await reg.api("POST", reg.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
      etag: archive.md5,
      file_size_bytes: archive.size,
    });
    assertEquals([confirmed.status, confirmed.json.success], [200, true], confirmed.text);
    assertEquals(confirmed.json.s3_archive_url, `s3://${BUCKET}/${key}`);
    const deployed = await reg.api("POST", reg.ns("/plugins/s3_plugin_1_0_0/deploy"));
    assertEquals(deployed.json.status, "queued");
    assertEquals((await waitFor(reg, "s3_plugin_1_0_0")).status, "deployed");
    const detail = await reg.api("GET", reg.ns("/plugins/s3_plugin_1_0_0?return_presigned_urls=true"));
    const download = await fetch(detail.json.presigned_download_url);
    assertEquals(await download.bytes(), archive.bytes, "the presigned download reads the bucket");
  });

  await t.step("an ETag or size the object does not have fails the confirm", async () => {
    const declared = await pluginArchive("swapped");
    const other = await pluginArchive("swapped", {
      mutate: (root) => Deno.writeTextFile(`${root}/extra.txt`, "changed\n"),
    });
    const a = (await reg.api("POST", reg.ns("/plugins/uploads"), { name: "swapped", version: "1.0.0" })).json;
    await curlPut(a.presigned_url, await save("swapped_a", other), { "Content-Type": "application/gzip" });
    const wrongEtag = await reg.api("POST", reg.ns(`/plugins/uploads/${a.upload_id}/confirm`), {
      etag: declared.md5,
    });
    assertEquals(wrongEtag.json.success, false);
    assertStringIncludes(wrongEtag.json.validation_errors[0], "ETag");
    const b = (await reg.api("POST", reg.ns("/plugins/uploads"), {
      name: "swapped",
      version: "1.0.0",
      file_size_bytes: declared.size,
    })).json;
    await curlPut(b.presigned_url, await save("swapped_b", other), { "Content-Type": "application/gzip" });
    const wrongSize = await reg.api("POST", reg.ns(`/plugins/uploads/${b.upload_id}/confirm`), {});
    assertEquals(wrongSize.json.success, false);
    assertStringIncludes(wrongSize.json.validation_errors[0], `requested for ${declared.size} bytes`);
    assertEquals((await head(b.s3_key)).status, 404, "a refused object is removed from the bucket");
  });

  await t.step("delete removes the record and the object", async () => {
    const deleted = await reg.api("DELETE", reg.ns("/plugins/s3_plugin_1_0_0"));
    assertEquals([deleted.status, deleted.json.success, deleted.json.deployment_removed], [200, true, true]);
    assertEquals((await head(key)).status, 404);
    assertEquals((await reg.api("GET", reg.ns("/plugins/s3_plugin_1_0_0"))).status, 404);
  });

  await t.step("the disk upload route does not exist with the S3 backend", async () => {
    const r = await fetch(`${reg.url}/_uploads/plu_x?expires=1&signature=0`, { method: "PUT", body: "x" });
    await r.body?.cancel();
    assertEquals(r.status, 404);
  });
});
