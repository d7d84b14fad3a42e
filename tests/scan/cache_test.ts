/**
 * The scan cache (lib/scan/cache.ts): a file scanned before, byte for byte and by the same scanner, takes its
 * findings from the cache (proved by planting a finding there that only the cache could give); any change to
 * the file, a different scanner fingerprint, a damaged cache file or --no-cache scans afresh; deleted files
 * leave the cache; publish's checks never read it; a cache folder that cannot be written costs only speed.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { MAX_FOLDERS, ScanCache, scanCacheDir, sha256Hex } from "../../lib/scan/cache.ts";
import { scanTree } from "../../lib/scan/scan.ts";
import type { Finding } from "../../lib/scan/finding.ts";

const PLUGIN = {
  "manifest.py": "metadata = {}\n",
  "pipeline.py": "import os\n\n\ndef build_steps():\n    os.system('ls')\n",
  "processors/clean.py": "def run(batch):\n    return batch\n",
};

async function _tree(files: Record<string, string>, dir: string): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
}

function _planted(file: string): Finding {
  return {
    file,
    line: 1,
    column: 1,
    end_line: 1,
    end_column: 2,
    rule_id: "planted-by-test",
    category: "test",
    severity: "error",
    message: "only the cache knows this",
    source: "",
  };
}

/** Rewrites the cache file so that `rel`'s entry (same sha256) carries a planted finding. */
async function _plant(cache: ScanCache, rel: string): Promise<void> {
  const data = JSON.parse(await Deno.readTextFile(cache.path));
  data.files[rel].findings = [_planted(rel)];
  await Deno.writeTextFile(cache.path, JSON.stringify(data));
}

Deno.test("a file scanned before comes from the cache; an edit, another scanner or damage scans afresh", async () => {
  await using plugin = await tempDir("mixpeek-cache-plugin-");
  await using cacheHome = await tempDir("mixpeek-cache-home-");
  await _tree(PLUGIN, plugin.path);
  const root = await Deno.realPath(plugin.path);
  const dir = `${cacheHome.path}/scan`;
  const open = (scanner?: string) => ScanCache.open(root, dir, scanner);

  // No cache yet: the real scan, recorded.
  const first = await scanTree(root, { cache: false });
  const cache = (await open())!;
  assertEquals(cache.get("pipeline.py", "0".repeat(64)), undefined);
  for (const rel of Object.keys(PLUGIN)) {
    const bytes = await Deno.readFile(`${root}/${rel}`);
    cache.set(rel, await _sha(bytes), first.findings.filter((f) => f.file === rel));
  }
  await cache.save();
  assertEquals((await Deno.stat(cache.path)).mode! & 0o777, 0o600);

  // The planted finding proves the second scan did not parse clean.py.
  await _plant(cache, "processors/clean.py");
  const hit = await _scanWithCacheAt(root, cacheHome.path);
  assert(hit.findings.some((f) => f.rule_id === "planted-by-test"), JSON.stringify(hit.findings));
  assert(
    hit.findings.some((f) => f.rule_id === "shell-os-system"),
    "pipeline.py's real finding, from the cache",
  );

  // One byte changes: that file is scanned again (and the planted finding is gone).
  await Deno.writeTextFile(`${root}/processors/clean.py`, PLUGIN["processors/clean.py"] + "\n");
  const edited = await _scanWithCacheAt(root, cacheHome.path);
  assertEquals(edited.findings.filter((f) => f.rule_id === "planted-by-test"), []);
  assertEquals(edited.findings.map((f) => f.rule_id), first.findings.map((f) => f.rule_id));

  // Another scanner fingerprint ignores the whole file.
  await _plant((await open())!, "pipeline.py");
  assert((await open())!.get("pipeline.py", await _sha(await Deno.readFile(`${root}/pipeline.py`))));
  const other = await open("another-scanner");
  assertEquals(other!.get("pipeline.py", await _sha(await Deno.readFile(`${root}/pipeline.py`))), undefined);

  // A damaged cache file is no cache.
  await Deno.writeTextFile((await open())!.path, "{not json");
  const damaged = await _scanWithCacheAt(root, cacheHome.path);
  assertEquals(damaged.findings.map((f) => f.rule_id), first.findings.map((f) => f.rule_id));

  // A deleted file leaves the cache.
  await Deno.remove(`${root}/processors/clean.py`);
  await _scanWithCacheAt(root, cacheHome.path);
  const after = JSON.parse(await Deno.readTextFile((await open())!.path));
  assertEquals(Object.keys(after.files).sort(), ["manifest.py", "pipeline.py"]);
});

Deno.test("plugin scan uses the cache, --no-cache does not; an unwritable cache folder only costs speed", async () => {
  await using plugin = await tempDir("mixpeek-cache-cli-");
  await using cacheHome = await tempDir("mixpeek-cache-xdg-");
  await _tree(PLUGIN, plugin.path);
  const env = { XDG_CACHE_HOME: cacheHome.path };
  const scan = (...extra: string[]) => runCli(["--json", "plugin", "scan", plugin.path, ...extra], { env });

  const cold = await scan();
  assertEquals(cold.code, 3, cold.stderr);
  const root = await Deno.realPath(plugin.path);
  const dir = scanCacheDir(
    { get: (name) => name === "XDG_CACHE_HOME" ? cacheHome.path : undefined },
    "linux",
  )!;
  assertEquals(dir, `${cacheHome.path}/mixpeek/scan`);
  const cache = (await ScanCache.open(root, dir))!;
  await _plant(cache, "processors/clean.py");

  const warm = JSON.parse((await scan()).stdout);
  assert(warm.findings.some((f: Finding) => f.rule_id === "planted-by-test"), "the CLI read the cache");
  const fresh = JSON.parse((await scan("--no-cache")).stdout);
  assertEquals(fresh.findings.filter((f: Finding) => f.rule_id === "planted-by-test"), []);
  assertEquals(fresh.findings.map((f: Finding) => f.rule_id), ["shell-os-system"]);

  // A cache folder that is a file: the scan still runs and reports.
  await Deno.remove(`${cacheHome.path}/mixpeek`, { recursive: true });
  await Deno.writeTextFile(`${cacheHome.path}/mixpeek`, "not a folder");
  const blocked = await scan();
  assertEquals(blocked.code, 3, blocked.stderr);
  assertStringIncludes(blocked.stdout, "shell-os-system");
});

Deno.test("publish never reads the cache: a cache that hides a finding fools plugin scan, not publish", async () => {
  await using plugin = await tempDir("mixpeek-cache-publish-");
  await using cacheHome = await tempDir("mixpeek-cache-xdg-");
  await _tree(PLUGIN, plugin.path);
  const env = { XDG_CACHE_HOME: cacheHome.path };
  assertEquals((await runCli(["plugin", "scan", plugin.path], { env })).code, 3);
  // Whoever can write the cache can hide pipeline.py's os.system from the local scan...
  const cache = (await ScanCache.open(await Deno.realPath(plugin.path), `${cacheHome.path}/mixpeek/scan`))!;
  const data = JSON.parse(await Deno.readTextFile(cache.path));
  data.files["pipeline.py"].findings = [];
  await Deno.writeTextFile(cache.path, JSON.stringify(data));
  const fooled = await runCli(["plugin", "scan", plugin.path], { env });
  assertEquals(fooled.code, 0, fooled.stdout);
  // ...but what publish sends is scanned afresh.
  const publish = await runCli(["plugin", "publish", plugin.path, "--dry-run", "--no-input"], { env });
  assertEquals(publish.code, 3, publish.stderr);
  assertStringIncludes(publish.stdout + publish.stderr, "shell-os-system");
});

function _sha(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return sha256Hex(bytes);
}

/** scanTree with the cache kept under `cacheHome` (instead of the user's). */
async function _scanWithCacheAt(root: string, cacheHome: string) {
  return scanTree(root, { cache: await ScanCache.open(root, `${cacheHome}/scan`) });
}

Deno.test("the cache keeps at most MAX_FOLDERS folders: a new one drops the least recently scanned", async () => {
  await using cacheHome = await tempDir("mixpeek-cache-prune-");
  const dir = `${cacheHome.path}/scan`;
  await Deno.mkdir(dir, { recursive: true });
  const old = new Date(Date.now() - 86_400_000);
  for (let i = 0; i < MAX_FOLDERS + 5; i++) {
    const path = `${dir}/${String(i).padStart(32, "0")}.json`;
    await Deno.writeTextFile(path, "{}");
    await Deno.utime(path, old, new Date(old.getTime() + i * 1000));
  }
  const cache = (await ScanCache.open("/some/plugin", dir))!;
  cache.set("a.py", "0".repeat(64), []);
  await cache.save();
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assertEquals(names.length, MAX_FOLDERS);
  assert(names.includes(cache.path.slice(dir.length + 1)), "the new folder's file stays");
  assert(!names.includes(`${"0".repeat(32)}.json`), "the oldest went");
});
