/**
 * Confirm-time validation cannot be used to knock the registry over: 50 confirms sent at once are
 * validated at most two at a time (each validation has its own folder in work/, counted from outside while
 * they run), start no process, and /healthz keeps answering while they are in flight. Concurrent confirms
 * of one upload share one validation and one answer; two uploads of one version confirmed at once give one
 * plugin and one "already exists" (no 500).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { tempDir } from "../helpers/cli.ts";
import { type Archive, pluginArchive } from "./_helpers.ts";
import { names, type Spawned, spawnRegistry } from "./_spawn.ts";

const MiB = 1024 * 1024;

/** A plugin with many Python files, so that each validation (extract + structure + scan) takes a while. */
function heavyArchive(): Promise<Archive> {
  return pluginArchive("heavy_plugin", {
    mutate: async (root) => {
      for (let i = 0; i < 80; i++) {
        const body = `import json\n\n\ndef step_${i}(rows):\n    return [json.dumps(r) for r in rows if r]\n`;
        await Deno.writeTextFile(`${root}/processors/extra_${i}.py`, body.repeat(30));
      }
    },
  });
}

async function uploaded(reg: Spawned, name: string, version: string, archive: Archive): Promise<string> {
  const ticket = await reg.api("POST", "/v1/namespaces/default/plugins/uploads", { name, version });
  if (ticket.status !== 200) throw new Error(`create upload: ${ticket.status} ${ticket.text}`);
  const { upload_id, presigned_url } = ticket.json as { upload_id: string; presigned_url: string };
  const put = await fetch(presigned_url, {
    method: "PUT",
    body: archive.bytes,
    headers: { "content-type": "application/gzip" },
  });
  await put.body?.cancel();
  if (put.status !== 200) throw new Error(`PUT: ${put.status}`);
  return upload_id;
}

function confirm(reg: Spawned, uploadId: string) {
  return reg.api("POST", `/v1/namespaces/default/plugins/uploads/${uploadId}/confirm`, {});
}

/** The registry's child processes (each thread's children file). */
function children(pid: number): number {
  let count = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // the thread ended between the listing and the read
      throw error;
    }
    if (text !== "") count += text.split(/\s+/).length;
  }
  return count;
}

Deno.test("50 confirms at once: validated two at a time, no process started, /healthz answers meanwhile", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  await using reg = await spawnRegistry(data.path, home.path, ["--plugin-quota", "100"]);
  const archive = await heavyArchive();
  const count = 50;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await uploaded(reg, `load_${String(i).padStart(2, "0")}`, "1.0.0", archive));
  }
  const baseline = { threads: reg.status("Threads"), hwm: reg.status("VmHWM") };

  let pending = count;
  const answers = Promise.all(ids.map(async (id) => {
    try {
      return await confirm(reg, id);
    } finally {
      pending--;
    }
  }));
  const peak = { work: 0, threads: 0, children: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak.work = Math.max(peak.work, (await names(`${data.path}/work`)).length);
      peak.threads = Math.max(peak.threads, reg.status("Threads"));
      peak.children = Math.max(peak.children, children(reg.pid));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  // Health checks, one after another, while the confirms are answered: each one must come back while
  // validations are still queued or running.
  const health: { status: number; pendingAtAnswer: number }[] = [];
  while (health.length < 20) {
    const r = await fetch(`${reg.url}/healthz`);
    await r.body?.cancel();
    health.push({ status: r.status, pendingAtAnswer: pending });
  }
  const replies = await answers;
  sampling = false;
  await sampler;

  for (const r of replies) {
    assertEquals([r.status, (r.json as { success: boolean }).success], [200, true], r.text);
  }
  const list = await reg.api("GET", "/v1/namespaces/default/plugins");
  assertEquals((list.json as { total: number }).total, count);
  assertEquals(health.map((h) => h.status), Array(20).fill(200));
  assert(
    health.every((h) => h.pendingAtAnswer > 0),
    `every /healthz answer came while confirms were in flight: ${JSON.stringify(health)}`,
  );
  assert(peak.work >= 1 && peak.work <= 2, `validations at once: ${peak.work} (at most 2)`);
  assertEquals(peak.children, 0, "validation starts no process");
  const hwm = reg.status("VmHWM");
  console.log(
    `50 concurrent confirms: at most ${peak.work} validations at once, threads ${baseline.threads} → ` +
      `${peak.threads} at most, VmHWM ${(baseline.hwm / MiB).toFixed(0)} → ${(hwm / MiB).toFixed(0)} MiB`,
  );
  // Two validations with their scan threads, and Deno's I/O threads: bounded, whatever the number of confirms
  // (50 validations at once would start 50 scans, each with its parse workers).
  assert(peak.threads <= baseline.threads + 32, `threads: ${baseline.threads} → ${peak.threads}`);
  assert(
    hwm - baseline.hwm < 400 * MiB,
    `peak memory grew by ${((hwm - baseline.hwm) / MiB).toFixed(0)} MiB`,
  );
  assertEquals(await names(`${data.path}/work`), []);
});

Deno.test("concurrent confirms of one upload share one validation; two uploads of one version give one plugin", async () => {
  await using home = await tempDir("mixpeek-home-");
  await using data = await tempDir("mixpeek-data-");
  await using reg = await spawnRegistry(data.path, home.path);
  const archive = await heavyArchive();

  const id = await uploaded(reg, "shared_plugin", "1.0.0", archive);
  const same = await Promise.all(Array.from({ length: 10 }, () => confirm(reg, id)));
  assertEquals(same.map((r) => r.status), Array(10).fill(200));
  assertEquals((same[0].json as { success: boolean }).success, true, same[0].text);
  for (const r of same) assertEquals(r.json, same[0].json, "one answer for all of them");

  const a = await uploaded(reg, "twice_plugin", "1.0.0", archive);
  const b = await uploaded(reg, "twice_plugin", "1.0.0", archive);
  const both = await Promise.all([confirm(reg, a), confirm(reg, b)]);
  assertEquals(both.map((r) => r.status), [200, 200], both.map((r) => r.text).join("\n"));
  const outcomes = both.map((r) => r.json as { success: boolean; validation_errors: string[] });
  assertEquals(outcomes.map((o) => o.success).sort(), [false, true]);
  assertEquals(outcomes.find((o) => !o.success)!.validation_errors, [
    "Plugin twice_plugin@1.0.0 already exists",
  ]);
  const list = await reg.api("GET", "/v1/namespaces/default/plugins");
  assertEquals(
    (list.json as { plugins: { plugin_id: string }[] }).plugins.map((p) => p.plugin_id),
    ["shared_plugin_1_0_0", "twice_plugin_1_0_0"],
  );
  assertEquals(
    await names(`${data.path}/blobs/default/plugins`).then((n) => n.length),
    2,
    "the loser's archive went",
  );
});
