/**
 * Restart durability (records, keys and archives survive; interrupted work resumes) and concurrent uploads
 * (20 at once, nothing lost or mixed up).
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  createUpload,
  pluginArchive,
  publish,
  putArchive,
  sha256Hex,
  startRegistry,
  waitFor,
} from "./_helpers.ts";

Deno.test("records, the key and archives survive a restart; interrupted work resumes", async () => {
  await using dir = await tempDir("mixpeek-durable-");
  const plain = await pluginArchive("durable");
  const live = await pluginArchive("durable_live", { realtime: true });
  const late = await pluginArchive("late");

  const first = await startRegistry({ dataDir: dir.path });
  assert(first.registry.new_api_key);
  const plainId = (await publish(first, "durable", "1.0.0", plain)).plugin_id;
  const liveId = (await publish(first, "durable_live", "1.0.0", live)).plugin_id;
  await waitFor(first, plainId);
  await waitFor(first, liveId);
  assertEquals((await first.api("POST", first.ns(`/plugins/${liveId}/deploy`))).status, 202);
  const deployed = await waitFor(first, liveId, ["ready"]);
  // Uploaded but not confirmed before the restart.
  const ticket = (await createUpload(first, "late", "2.0.0", late)).json;
  assertEquals((await putArchive(ticket, late.bytes)).status, 200);
  // A ticket issued before the restart and used after it (the signing secret is kept).
  const afterRestart = await pluginArchive("after_restart");
  const oldTicket = (await createUpload(first, "after_restart", "1.0.0", afterRestart)).json;
  // Confirmed right before the stop: its validation may be cut short, and must resume.
  const cut = await pluginArchive("cut_short");
  const cutId = (await publish(first, "cut_short", "1.0.0", cut)).plugin_id;
  const listBefore = (await first.api("GET", first.ns("/plugins?source=all"))).json.plugins
    .filter((p: { plugin_id: string }) => p.plugin_id !== cutId);
  await first.stop();

  await using second = await startRegistry({ dataDir: dir.path });
  assertEquals(second.key, first.key, "the dev key is kept");
  assert(!second.registry.new_api_key);
  assertEquals(
    (await waitFor(second, cutId)).status,
    "ready",
    "interrupted validation resumes after a restart",
  );
  const listAfter = (await second.api("GET", second.ns("/plugins?source=all"))).json.plugins
    .filter((p: { plugin_id: string }) => p.plugin_id !== cutId);
  assertEquals(listAfter, listBefore, "same records (and no second copy of the seeded catalogue)");
  const again = (await second.api("GET", second.ns(`/plugins/${liveId}`))).json;
  assertEquals(again, deployed);
  assertEquals(again.deployment.status, "active");
  const blob = await Deno.readFile(`${dir.path}/blobs/plugins/default/${ticket.upload_id}.tar.gz`);
  assertEquals(sha256Hex(blob), late.sha256);
  const confirmed = await second.api("POST", second.ns(`/plugins/uploads/${ticket.upload_id}/confirm`), {
    sha256: late.sha256,
  });
  assertEquals(confirmed.status, 202, confirmed.text);
  assertEquals((await waitFor(second, confirmed.json.plugin_id)).status, "ready");
  // (The port is a new free one: same path and signature on the new origin.)
  const moved = new URL(oldTicket.upload_url);
  const upload_url = `${second.url}${moved.pathname}${moved.search}`;
  const put = await putArchive({ ...oldTicket, upload_url }, afterRestart.bytes);
  assertEquals(put.status, 200, `an upload URL outlives a restart: ${put.text}`);
  // Deleting after the restart removes the archive that was stored before it.
  const plainRecord = (await second.api("GET", second.ns(`/plugins/${plainId}`))).json;
  assertEquals(plainRecord.sha256, plain.sha256);
  assertEquals((await second.api("DELETE", second.ns(`/plugins/${plainId}`))).status, 200);
  const names = [...Deno.readDirSync(`${dir.path}/blobs/plugins/default`)].map((e) => e.name);
  assertEquals(names.length, 4);

  // The database is WAL with a schema version.
  await second.stop();
  const db = new DatabaseSync(`${dir.path}/registry.db`, { readOnly: true });
  try {
    assertEquals((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    assertEquals((db.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number }).v, 1);
    const keys = db.prepare("SELECT key_hash FROM api_keys").all() as { key_hash: string }[];
    assertEquals(
      keys.map((k) => k.key_hash),
      [sha256Hex(new TextEncoder().encode(first.key))],
      "only the key's hash",
    );
  } finally {
    db.close();
  }
  for (const file of ["api_key", "registry.db", "registry.db-wal"]) {
    assertEquals((await Deno.stat(`${dir.path}/${file}`)).mode! & 0o777, 0o600, file);
  }
});

Deno.test("20 concurrent uploads: every one stored, validated and listed, nothing mixed up", async () => {
  await using reg = await startRegistry();
  const archives = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      pluginArchive(`concurrent_${i}`, {
        mutate: (root) => Deno.writeTextFile(`${root}/data_${i}.txt`, `payload ${i}\n`.repeat(100 + i)),
      })),
  );
  const records = await Promise.all(archives.map((a, i) => publish(reg, `concurrent_${i}`, "1.0.0", a)));
  const done = await Promise.all(records.map((r) => waitFor(reg, r.plugin_id)));
  assertEquals(done.map((d) => d.status), Array(20).fill("ready"));
  assertEquals(done.map((d) => d.sha256), archives.map((a) => a.sha256));
  const listed = (await reg.api("GET", reg.ns("/plugins?source=custom&limit=100"))).json.plugins;
  assertEquals(listed.length, 20);
  const blobs = [...Deno.readDirSync(`${reg.dataDir}/blobs/plugins/default`)].map((e) => e.name);
  assertEquals(blobs.length, 20);
  const stored = new Set(
    blobs.map((b) => sha256Hex(Deno.readFileSync(`${reg.dataDir}/blobs/plugins/default/${b}`))),
  );
  assertEquals(stored, new Set(archives.map((a) => a.sha256)));

  // The same upload PUT five times at once: all succeed, one blob.
  const one = await pluginArchive("same_upload");
  const ticket = (await createUpload(reg, "same_upload", "1.0.0", one)).json;
  const puts = await Promise.all(Array.from({ length: 5 }, () => putArchive(ticket, one.bytes)));
  assertEquals(puts.map((p) => p.status), Array(5).fill(200));
  assertEquals([...Deno.readDirSync(`${reg.dataDir}/blobs/plugins/default`)].length, 21);
  assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], []);
});
