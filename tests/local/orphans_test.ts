/**
 * No orphan archives, on disk and in S3 (moto_server behind a loopback proxy that can refuse DELETEs): a
 * deleted plugin's archive goes with it (and, when the store refused, at the next start); a failed
 * version's archive goes, also when the client PUTs it again through its still-valid S3 URL, and the
 * version can be republished; a deleted plugin's upload cannot be revived: PUT is refused (disk), confirm
 * answers the document's 404, and whatever the URL put back is removed. At start-up every file of the data
 * dir that no record names is removed.
 */
import { DatabaseSync } from "node:sqlite";
import { AwsClient } from "aws4fetch";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  type Archive,
  confirm,
  createUpload,
  listTree,
  pluginArchive,
  publish,
  putArchive,
  S3_CREDENTIALS,
  startMoto,
  startRegistry,
} from "./_helpers.ts";

function badArchive(name: string): Promise<Archive> {
  return pluginArchive(name, {
    mutate: async (root) => {
      const core = `${root}/processors/core.py`;
      await Deno.writeTextFile(core, "import subprocess\n" + await Deno.readTextFile(core));
    },
  });
}

Deno.test("disk: deleted and failed archives are removed, a deleted upload stays dead, strays go at start-up", async (t) => {
  await using data = await tempDir("mixpeek-data-");
  const logs: string[] = [];
  const options = { dataDir: data.path, onLog: (line: string) => logs.push(line) };
  let reg = await startRegistry(options);
  const blobs = `${data.path}/blobs`;
  try {
    let deletedUpload = { upload_id: "", presigned_url: "" };
    const good = await pluginArchive("kept_plugin");

    await t.step("a deleted plugin's archive is removed with its record", async () => {
      const created = await createUpload(reg, "kept_plugin", "1.0.0", good);
      deletedUpload = created.json;
      await putArchive(created.json.presigned_url, good);
      const confirmed = await confirm(reg, created.json.upload_id, {
        etag: good.md5,
        file_size_bytes: good.size,
      });
      assertEquals(confirmed.json.success, true);
      assertEquals(await listTree(blobs), [created.json.s3_key]);
      const deleted = await reg.api("DELETE", reg.ns("/plugins/kept_plugin_1_0_0"));
      assertEquals(deleted.status, 200);
      assertEquals(await listTree(blobs), []);
    });

    await t.step("a deleted plugin's upload cannot be revived by a PUT or a confirm", async () => {
      const put = await putArchive(deletedUpload.presigned_url, good);
      assertEquals(put.status, 404);
      assertMatch(put.text, /<Code>NoSuchUpload<\/Code>/);
      const again = await confirm(reg, deletedUpload.upload_id, {
        etag: good.md5,
        file_size_bytes: good.size,
      });
      // 404 "Upload not found or S3 object missing" is the document's answer (checked by reg.api).
      assertEquals(again.status, 404);
      assertEquals(
        again.json.error.message,
        `Upload not found: ${deletedUpload.upload_id} (its plugin was deleted)`,
      );
      assertEquals((await reg.api("GET", reg.ns("/plugins/kept_plugin_1_0_0"))).status, 404);
      assertEquals((await reg.api("GET", reg.ns("/plugins"))).json.plugins, []);
      assertEquals(await listTree(blobs), []);
    });

    let republished = "";
    await t.step("a failed version's archive is removed, and the version republished", async () => {
      const failed = await publish(reg, "again_plugin", "1.0.0", await badArchive("again_plugin"));
      assertEquals(failed.success, false);
      assertEquals(await listTree(blobs), []);
      const created = await createUpload(reg, "again_plugin", "1.0.0");
      republished = created.json.s3_key;
      const archive = await pluginArchive("again_plugin");
      await putArchive(created.json.presigned_url, archive);
      assertEquals((await confirm(reg, created.json.upload_id, {})).json.success, true);
      assertEquals(await listTree(blobs), [republished]);
    });

    await t.step("at start-up, files no record names are removed (a crash's leftovers)", async () => {
      await reg.stop();
      const ghost = `${blobs}/default/plugins/plu_ghost`;
      await Deno.mkdir(ghost, { recursive: true });
      await Deno.writeTextFile(`${ghost}/ghost_1_0_0.tar.gz`, "left by a crash");
      await Deno.writeTextFile(`${blobs}/${republished}.0123.part`, "half a write");
      // The server died between removing a record and its archive:
      const db = new DatabaseSync(`${data.path}/registry.db`);
      db.exec("DELETE FROM plugins");
      db.close();
      logs.length = 0;
      reg = await startRegistry(options);
      assertEquals(await listTree(blobs), []);
      assertEquals([...Deno.readDirSync(blobs)], [], "the emptied folders went too");
      assert(logs.includes("removed 3 archive file(s) without a record from the data dir"), logs.join("\n"));
    });
  } finally {
    await reg.stop();
  }
});

Deno.test("S3 (moto_server): deleted and failed objects are removed, also when the store refused or the URL put them back", async (t) => {
  await using moto = await startMoto();
  const s3 = new AwsClient({
    accessKeyId: S3_CREDENTIALS.access_key_id,
    secretAccessKey: S3_CREDENTIALS.secret_access_key,
    region: S3_CREDENTIALS.region,
    service: "s3",
    retries: 0,
  });
  const bucket = "orphans";
  await (await s3.fetch(`${moto.endpoint}/${bucket}`, { method: "PUT" })).body?.cancel();
  const keys = async () => {
    const listing = await (await s3.fetch(`${moto.endpoint}/${bucket}?list-type=2`)).text();
    return [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]).sort();
  };

  // The registry talks to moto through this proxy, which refuses DELETEs while `refuse` is set.
  let refuse = false;
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (refuse && request.method === "DELETE") {
      await request.body?.cancel();
      return new Response("<Error><Code>ServiceUnavailable</Code></Error>", { status: 503 });
    }
    const body = request.method === "GET" || request.method === "HEAD"
      ? undefined
      : await request.arrayBuffer();
    const headers = new Headers(request.headers);
    headers.delete("host");
    const answer = await fetch(`${moto.endpoint}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body,
    });
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  });
  await using data = await tempDir("mixpeek-data-");
  const logs: string[] = [];
  const options = {
    dataDir: data.path,
    s3: { endpoint: `http://127.0.0.1:${proxy.addr.port}`, bucket, ...S3_CREDENTIALS },
    onLog: (line: string) => logs.push(line),
  };
  let reg = await startRegistry(options);
  try {
    const good = await pluginArchive("bucket_plugin");
    let upload = { upload_id: "", presigned_url: "", s3_key: "" };

    await t.step("a delete the store refused is finished at the next start", async () => {
      upload = (await createUpload(reg, "bucket_plugin", "1.0.0", good)).json;
      assertEquals((await putArchive(upload.presigned_url, good)).status, 200);
      assertEquals((await confirm(reg, upload.upload_id, {})).json.success, true);
      assertEquals(await keys(), [upload.s3_key]);
      refuse = true;
      const deleted = await reg.api("DELETE", reg.ns("/plugins/bucket_plugin_1_0_0"));
      assertEquals([deleted.status, deleted.json.success], [200, true]);
      assertEquals(await keys(), [upload.s3_key], "the store refused the DELETE");
      assert(
        logs.some((l) => l.startsWith(`cannot remove the archive ${upload.s3_key} (will retry)`)),
        logs.join("\n"),
      );
      refuse = false;
      await reg.stop();
      reg = await startRegistry(options);
      assertEquals(await keys(), []);
    });

    await t.step(
      "a deleted plugin's upload URL puts the object back: confirm answers 404 and removes it",
      async () => {
        assertEquals((await putArchive(upload.presigned_url, good)).status, 200, "S3 URLs cannot be revoked");
        assertEquals(await keys(), [upload.s3_key]);
        const again = await confirm(reg, upload.upload_id, {});
        assertEquals(again.status, 404);
        assertEquals(
          again.json.error.message,
          `Upload not found: ${upload.upload_id} (its plugin was deleted)`,
        );
        assertEquals(await keys(), []);
        assertEquals((await reg.api("GET", reg.ns("/plugins"))).json.plugins, []);
      },
    );

    await t.step(
      "a failed version's object is removed, again after a re-PUT; the version is republished",
      async () => {
        const bad = await badArchive("flaky_plugin");
        const failedUpload = (await createUpload(reg, "flaky_plugin", "1.0.0", bad)).json;
        await putArchive(failedUpload.presigned_url, bad);
        const failed = await confirm(reg, failedUpload.upload_id, {});
        assertEquals(failed.json.success, false);
        assertStringIncludes(failed.json.validation_errors.join("\n"), "processors/core.py:1");
        assertEquals(await keys(), []);
        assertEquals((await putArchive(failedUpload.presigned_url, bad)).status, 200);
        assertEquals(await keys(), [failedUpload.s3_key]);
        const repeated = await confirm(reg, failedUpload.upload_id, {});
        assertEquals(repeated.json, failed.json, "a repeated confirm gets the same answer");
        assertEquals(await keys(), []);

        const fixed = await pluginArchive("flaky_plugin");
        const ok = (await createUpload(reg, "flaky_plugin", "1.0.0", fixed)).json;
        await putArchive(ok.presigned_url, fixed);
        assertEquals((await confirm(reg, ok.upload_id, {})).json.success, true);
        assertEquals(await keys(), [ok.s3_key], "the bucket holds exactly the published archive");
      },
    );
  } finally {
    await reg.stop();
    await proxy.shutdown();
  }
});
