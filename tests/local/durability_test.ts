/**
 * Restart durability (records, keys and archives survive; queued and in-progress deployments resume; upload
 * URLs outlive a restart), concurrent uploads (20 at once, nothing lost or mixed up), and a data dir of the
 * first mixpeek local (schema 1): converted with a copy kept, or refused when it is newer.
 */
import { DatabaseSync } from "node:sqlite";
import { FailedError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import {
  confirm,
  createUpload,
  pluginArchive,
  publish,
  putArchive,
  sha256Hex,
  startRegistry,
  waitFor,
} from "./_helpers.ts";

Deno.test("records, the key and archives survive a restart; deployments resume", async () => {
  await using dir = await tempDir("mixpeek-durable-");
  const plain = await pluginArchive("durable");
  const live = await pluginArchive("durable_live", { realtime: true });
  const slow = await pluginArchive("slow_live", { realtime: true });
  const late = await pluginArchive("late");

  const first = await startRegistry({ dataDir: dir.path, deployStepMs: 30 });
  assert(first.registry.new_api_key);
  await publish(first, "durable", "1.0.0", plain);
  await publish(first, "durable_live", "1.0.0", live);
  await first.api("POST", first.ns("/plugins/durable_live_1_0_0/deploy"));
  await waitFor(first, "durable_live_1_0_0");
  // Uploaded but not confirmed before the restart.
  const ticket = (await createUpload(first, "late", "2.0.0", late)).json;
  assertEquals((await putArchive(ticket.presigned_url, late)).status, 200);
  // A URL issued before the restart and used after it (the signing secret is kept).
  const afterRestart = await pluginArchive("after_restart");
  const oldTicket = (await createUpload(first, "after_restart", "1.0.0", afterRestart)).json;
  const listBefore = (await first.api("GET", first.ns("/plugins"))).json.plugins;
  await first.stop();

  // A deployment queued right before a stop (its steps take 10 s here) resumes after the restart.
  const third = await startRegistry({ dataDir: dir.path, deployStepMs: 10_000 });
  await publish(third, "slow_live", "1.0.0", slow);
  assertEquals((await third.api("POST", third.ns("/plugins/slow_live_1_0_0/deploy"))).json.status, "queued");
  await third.stop();

  await using second = await startRegistry({ dataDir: dir.path, deployStepMs: 30 });
  assertEquals(second.key, first.key, "the dev key is kept");
  assert(!second.registry.new_api_key);
  assertEquals((await waitFor(second, "slow_live_1_0_0")).status, "deployed", "the deployment resumed");
  const listAfter = (await second.api("GET", second.ns("/plugins"))).json.plugins
    .filter((p: { plugin_id: string }) => p.plugin_id !== "slow_live_1_0_0");
  assertEquals(listAfter, listBefore, "same records");
  const status = (await second.api("GET", second.ns("/plugins/durable_live_1_0_0/status"))).json;
  assertEquals([status.status, status.realtime_enabled], ["deployed", true]);
  const blob = await Deno.readFile(`${dir.path}/blobs/${ticket.s3_key}`);
  assertEquals(sha256Hex(blob), late.sha256);
  const confirmed = await confirm(second, ticket.upload_id, { file_size_bytes: late.size });
  assertEquals([confirmed.status, confirmed.json.success], [200, true], confirmed.text);
  // (The port is a new free one: same path and signature on the new origin.)
  const moved = new URL(oldTicket.presigned_url);
  const put = await putArchive(`${second.url}${moved.pathname}${moved.search}`, afterRestart);
  assertEquals(put.status, 200, `an upload URL outlives a restart: ${put.text}`);
  // Deleting after the restart removes the archive that was stored before it.
  const doc = (await second.api("GET", second.ns("/plugins/durable_1_0_0"))).json.plugin;
  assertEquals(doc.code_hash, plain.sha256);
  assertEquals((await second.api("DELETE", second.ns("/plugins/durable_1_0_0"))).status, 200);
  assertEquals(await Deno.stat(new URL(doc.s3_archive_url).pathname).then(() => true, () => false), false);

  // The database is WAL with a schema version, and holds the key's hash only.
  await second.stop();
  const db = new DatabaseSync(`${dir.path}/registry.db`, { readOnly: true });
  try {
    assertEquals((db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode, "wal");
    assertEquals((db.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number }).v, 2);
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
  await using reg = await startRegistry({ quota: 100 });
  const archives = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      pluginArchive(`concurrent_${i}`, {
        mutate: (root) => Deno.writeTextFile(`${root}/data_${i}.txt`, `payload ${i}\n`.repeat(100 + i)),
      })),
  );
  const answers = await Promise.all(archives.map((a, i) => publish(reg, `concurrent_${i}`, "1.0.0", a)));
  assertEquals(answers.map((a) => a.success), Array(20).fill(true));
  const listed = (await reg.api("GET", reg.ns("/plugins"))).json.plugins;
  assertEquals(listed.length, 20);
  const docs = await Promise.all(
    listed.map(async (p: { plugin_id: string }) =>
      (await reg.api("GET", reg.ns(`/plugins/${p.plugin_id}`))).json.plugin
    ),
  );
  const byName = new Map(docs.map((d) => [d.name, d.code_hash]));
  archives.forEach((a, i) => assertEquals(byName.get(`concurrent_${i}`), a.sha256));
  const stored = new Set(docs.map((d) => sha256Hex(Deno.readFileSync(new URL(d.s3_archive_url).pathname))));
  assertEquals(stored, new Set(archives.map((a) => a.sha256)));

  // The same upload PUT five times at once: all succeed, one object, the same ETag.
  const one = await pluginArchive("same_upload");
  const ticket = (await createUpload(reg, "same_upload", "1.0.0", one)).json;
  const puts = await Promise.all(Array.from({ length: 5 }, () => putArchive(ticket.presigned_url, one)));
  assertEquals(puts.map((p) => [p.status, p.headers.get("etag")]), Array(5).fill([200, `"${one.md5}"`]));
  assertEquals(await Deno.readFile(`${reg.dataDir}/blobs/${ticket.s3_key}`), one.bytes);
  assertEquals([...Deno.readDirSync(`${reg.dataDir}/tmp`)], []);
});

/** The first mixpeek local's schema (version 1), as it created it. */
const SCHEMA_V1 = `
  CREATE TABLE schema_version (version INTEGER NOT NULL);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, label TEXT NOT NULL, created_at TEXT NOT NULL);
  CREATE TABLE namespaces (namespace_id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
  CREATE TABLE uploads (upload_id TEXT PRIMARY KEY, namespace_id TEXT NOT NULL REFERENCES namespaces(namespace_id),
    name TEXT NOT NULL, version TEXT NOT NULL, size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('created', 'uploaded', 'confirmed')),
    plugin_id TEXT, expires_at TEXT NOT NULL, created_at TEXT NOT NULL, uploaded_at TEXT);
  CREATE TABLE plugins (plugin_id TEXT PRIMARY KEY, namespace_id TEXT NOT NULL REFERENCES namespaces(namespace_id),
    name TEXT NOT NULL, version TEXT NOT NULL, version_key TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('builtin', 'custom', 'community')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'validating', 'deploying', 'ready', 'failed')),
    error TEXT, sha256 TEXT, size_bytes INTEGER, realtime INTEGER NOT NULL DEFAULT 0, deployment TEXT,
    blob_key TEXT, upload_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE UNIQUE INDEX plugins_live_version ON plugins (namespace_id, name, version) WHERE status <> 'failed';
  INSERT INTO schema_version VALUES (1);
  INSERT INTO namespaces VALUES ('default', '2025-01-01T00:00:00.000Z');`;

Deno.test("a data dir of the first mixpeek local is converted, with the old database kept beside it", async () => {
  await using dir = await tempDir("mixpeek-v1-");
  const archive = await pluginArchive("old_ready");
  await Deno.mkdir(`${dir.path}/blobs/plugins/default`, { recursive: true });
  await Deno.writeFile(`${dir.path}/blobs/plugins/default/upl_1.tar.gz`, archive.bytes);
  await Deno.writeTextFile(`${dir.path}/api_key`, "mxp_local_oldkey\n", { mode: 0o600 });
  const db = new DatabaseSync(`${dir.path}/registry.db`);
  db.exec(SCHEMA_V1);
  const insert = db.prepare(
    `INSERT INTO plugins VALUES (?, 'default', ?, ?, '', ?, ?, NULL, ?, ?, ?, ?, 'plugins/default/upl_1.tar.gz', NULL,
      '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
  );
  insert.run(
    "plg_a",
    "old_ready",
    "1.2.0",
    "custom",
    "ready",
    archive.sha256,
    archive.size,
    1,
    '{"status":"active"}',
  );
  insert.run("plg_b", "old_failed", "1.0.0", "custom", "failed", "0".repeat(64), 1, 0, null);
  insert.run("plg_c", "old_beta", "1.0.0-beta.1", "custom", "ready", "0".repeat(64), 1, 0, null);
  insert.run("plg_d", "text_embedding", "2.1.0", "builtin", "ready", null, null, 0, null);
  db.close();
  const before = await Deno.readFile(`${dir.path}/registry.db`);

  const logs: string[] = [];
  await using reg = await startRegistry({ dataDir: dir.path, onLog: (l) => logs.push(l) });
  assertEquals(reg.key, "mxp_local_oldkey");
  const list = (await reg.api("GET", reg.ns("/plugins"))).json;
  assertEquals(list.plugins.map((p: { plugin_id: string }) => p.plugin_id), ["old_ready_1_2_0"]);
  const doc = (await reg.api("GET", reg.ns("/plugins/old_ready_1_2_0"))).json.plugin;
  assertEquals([doc.code_hash, doc.validation_status, doc.deployed], [archive.sha256, "passed", true]);
  const download = await reg.api("GET", reg.ns("/plugins/old_ready_1_2_0?return_presigned_urls=true"));
  assertEquals(
    await (await fetch(download.json.presigned_download_url)).bytes(),
    archive.bytes,
    "archive kept",
  );
  assert(logs.some((l) => l.includes("registry.v1.db")), logs.join("\n"));
  assert(logs.some((l) => l.includes("old_failed@1.0.0") && l.includes("failed")), logs.join("\n"));
  assert(logs.some((l) => l.includes("old_beta@1.0.0-beta.1")), logs.join("\n"));
  // The copy is the old database, whole.
  const copy = new DatabaseSync(`${dir.path}/registry.v1.db`, { readOnly: true });
  try {
    const rows = copy.prepare("SELECT plugin_id FROM plugins ORDER BY plugin_id").all() as {
      plugin_id: string;
    }[];
    assertEquals(rows.map((r) => r.plugin_id), ["plg_a", "plg_b", "plg_c", "plg_d"]);
  } finally {
    copy.close();
  }
  assert(before.length > 0);
});

Deno.test("a data dir of a newer schema is refused, and left as it was", async () => {
  await using dir = await tempDir("mixpeek-v9-");
  const db = new DatabaseSync(`${dir.path}/registry.db`);
  db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (9);");
  db.close();
  const before = await Deno.readFile(`${dir.path}/registry.db`);
  const error = await assertRejects(() => startRegistry({ dataDir: dir.path }), FailedError);
  assertStringIncludes(error.message, "schema version 9, newer than this mixpeek knows");
  assertStringIncludes(error.message, "nothing was changed");
  assertEquals(await Deno.readFile(`${dir.path}/registry.db`), before);
});
