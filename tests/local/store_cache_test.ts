/**
 * The store's in-memory reads (store.ts): plugin rows are kept until the next write, and namespaces once
 * found. These tests show that no write is missed: every answer after a write is the database's own.
 */
import { type PluginRow, RegistryStore, validatedPlugin } from "../../lib/local/store.ts";
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";

function plugin(id: string): PluginRow {
  return validatedPlugin({
    scope: "namespace",
    owner: "default",
    plugin_id: id,
    name: id,
    version: "1.0.0",
    description: null,
    format: "tar.gz",
    blob_key: `blobs/${id}`,
    upload_id: null,
    code_hash: "0".repeat(64),
    size_bytes: 10,
    security_scan_passed: true,
    realtime: true,
  });
}

Deno.test("a plugin row read again is the same frozen row until a write, then the new one", async () => {
  await using dir = await tempDir("mixpeek-store-");
  const store = RegistryStore.open(`${dir.path}/registry.db`);
  try {
    store.insertPlugin(plugin("a_1_0_0"));
    store.insertPlugin(plugin("b_1_0_0"));
    const first = store.getPlugin("namespace", "default", "a_1_0_0")!;
    assert(store.getPlugin("namespace", "default", "a_1_0_0") === first);
    // A caller cannot change what later callers get.
    assertThrows(() => ((first as PluginRow).deployment_status = "deployed"), TypeError);
    assertThrows(() => (first.validation_errors as string[]).push("x"), TypeError);

    // A write to another row is a write too: every row is read afresh after it.
    store.setDeployment(store.getPlugin("namespace", "default", "b_1_0_0")!, { deployment_status: "queued" });
    const again = store.getPlugin("namespace", "default", "a_1_0_0")!;
    assert(again !== first);
    assertEquals(again, first);

    store.setDeployment(again, { deployment_status: "deployed", deployment_type: "realtime" });
    assertEquals(store.getPlugin("namespace", "default", "a_1_0_0")!.deployment_status, "deployed");
    store.setDeployment(again, { deployment_status: "not_deployed", deployment_type: null });
    assertEquals(store.getPlugin("namespace", "default", "a_1_0_0")!.deployment_status, "not_deployed");

    assertEquals(store.deletePlugin("namespace", "default", "a_1_0_0")?.plugin_id, "a_1_0_0");
    assertEquals(store.getPlugin("namespace", "default", "a_1_0_0"), undefined);
    // A row that was absent is not remembered as absent.
    store.insertPlugin(plugin("a_1_0_0"));
    assertEquals(store.getPlugin("namespace", "default", "a_1_0_0")?.deployment_status, "validated");
  } finally {
    store.close();
  }
});

Deno.test("a failed write keeps the row as it was; a namespace absent once is looked up again", async () => {
  await using dir = await tempDir("mixpeek-store-");
  const store = RegistryStore.open(`${dir.path}/registry.db`);
  try {
    store.insertPlugin(plugin("a_1_0_0"));
    // insertPlugin of a row that exists fails inside its transaction (the primary key): rolled back.
    assertThrows(() => store.insertPlugin(plugin("a_1_0_0")), Error);
    assertEquals(store.getPlugin("namespace", "default", "a_1_0_0")?.deployment_status, "validated");
    assertEquals(store.namespaceExists("nowhere"), false);
    store.ensureNamespace("nowhere");
    assertEquals(store.namespaceExists("nowhere"), true);
  } finally {
    store.close();
  }
});
