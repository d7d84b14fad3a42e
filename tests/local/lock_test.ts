/**
 * One registry per data dir. A second `mixpeek local` on a data dir in use exits 2 with a message naming
 * the running one (pid, URL) and touches nothing: the first one's upload in flight (its temp file in tmp/)
 * completes and confirms afterwards. A registry killed with SIGKILL leaves no lock that blocks the next start.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { pluginArchive } from "./_helpers.ts";
import { connect, names, putHead, readUntilClosed, runLocal, spawnRegistry, until } from "./_spawn.ts";

Deno.test("a second mixpeek local on a data dir in use exits 2 naming the first, and leaves its upload in flight alone", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  await using first = await spawnRegistry(data.path, home.path);

  // An upload in flight on the first registry: half of its body is in tmp/.
  const archive = await pluginArchive("lock_plugin");
  const ticket = await first.api("POST", "/v1/namespaces/default/plugins/uploads", {
    name: "lock_plugin",
    version: "1.0.0",
    file_size_bytes: archive.size,
  });
  assertEquals(ticket.status, 200, ticket.text);
  const { upload_id, presigned_url } = ticket.json as { upload_id: string; presigned_url: string };
  const put = await connect(first.url);
  const half = Math.floor(archive.size / 2);
  await put.write(putHead(presigned_url, archive.size));
  await put.write(archive.bytes.subarray(0, half));
  const inFlight = await until(async () => {
    const parts = await names(`${data.path}/tmp`);
    return parts.length === 1 ? parts : undefined;
  }, "the upload's temp file");
  const owner = JSON.parse(await Deno.readTextFile(`${data.path}/lock.json`));
  assertEquals([owner.pid, owner.url], [first.pid, first.url]);

  const second = await runLocal(["--port", "0", "--data-dir", data.path], home.path);
  assertEquals(second.code, 2, second.stderr);
  assertEquals(second.stdout, "");
  assertEquals(
    second.stderr,
    `error: the data dir ${data.path} is in use by another mixpeek local (pid ${first.pid}, ${first.url}, ` +
      `started ${owner.started_at})\n` +
      `hint: use that one (export MIXPEEK_BASE_URL=${first.url}), stop it (kill ${first.pid}), or pass ` +
      `another --data-dir\n`,
  );
  // Nothing of the first one's was touched: its temp file is there, its lock file names it still.
  assertEquals(await names(`${data.path}/tmp`), inFlight);
  assertEquals(JSON.parse(await Deno.readTextFile(`${data.path}/lock.json`)), owner);

  // The upload completes and is confirmed as if nothing happened.
  await put.write(archive.bytes.subarray(half));
  const answer = await readUntilClosed(put);
  assert(answer.startsWith("HTTP/1.1 200 OK\r\n"), answer);
  assertStringIncludes(answer.toLowerCase(), `etag: "${archive.md5}"`);
  const confirmed = await first.api("POST", `/v1/namespaces/default/plugins/uploads/${upload_id}/confirm`, {
    etag: archive.md5,
    file_size_bytes: archive.size,
  });
  assertEquals((confirmed.json as { success: boolean }).success, true, confirmed.text);
  assertEquals(await names(`${data.path}/tmp`), []);

  const stopped = await first.stop("SIGTERM");
  assertEquals(stopped.code, 0, stopped.stderr);
  assertEquals(await names(data.path).then((n) => n.includes("lock.json")), false, "a clean stop removes it");
});

Deno.test("a registry killed with SIGKILL leaves no lock behind: the next start works and says so", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  const first = await spawnRegistry(data.path, home.path);
  const archive = await pluginArchive("killed_plugin");
  const ticket = await first.api("POST", "/v1/namespaces/default/plugins/uploads", {
    name: "killed_plugin",
    version: "1.0.0",
  });
  const { upload_id, presigned_url } = ticket.json as { upload_id: string; presigned_url: string };
  const put = await fetch(presigned_url, {
    method: "PUT",
    body: archive.bytes,
    headers: { "content-type": "application/gzip" },
  });
  await put.body?.cancel();
  const confirmed = await first.api(
    "POST",
    `/v1/namespaces/default/plugins/uploads/${upload_id}/confirm`,
    {},
  );
  assertEquals((confirmed.json as { success: boolean }).success, true, confirmed.text);
  const killed = await first.stop("SIGKILL");
  assertEquals(killed.code, 137);

  await using second = await spawnRegistry(data.path, home.path);
  assertStringIncludes(
    second.stderr(),
    `the previous mixpeek local on this data dir (pid ${first.pid}) did not stop cleanly; its unfinished ` +
      "uploads and validations were discarded",
  );
  const owner = JSON.parse(await Deno.readTextFile(`${data.path}/lock.json`));
  assertEquals([owner.pid, owner.url], [second.pid, second.url]);
  const list = await second.api("GET", "/v1/namespaces/default/plugins");
  assertEquals((list.json as { plugins: { plugin_id: string }[] }).plugins.map((p) => p.plugin_id), [
    "killed_plugin_1_0_0",
  ]);
  assertEquals((await second.stop("SIGINT")).code, 0);
});

Deno.test("in one process too: a second startLocalRegistry on the data dir is refused until the first closes", async () => {
  const { startLocalRegistry } = await import("../../lib/local/registry.ts");
  const { UsageError } = await import("../../lib/errors.ts");
  await using data = await tempDir("mixpeek-data-");
  const first = await startLocalRegistry({ dataDir: data.path, port: 0 });
  let refused: unknown;
  try {
    await (await startLocalRegistry({ dataDir: data.path, port: 0 })).close();
  } catch (error) {
    refused = error;
  }
  assert(refused instanceof UsageError, String(refused));
  assertStringIncludes(refused.message, `is in use by another mixpeek local (pid ${Deno.pid}, ${first.url}`);
  await first.close();
  const again = await startLocalRegistry({ dataDir: data.path, port: 0 });
  await again.close();
});
