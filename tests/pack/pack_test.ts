/**
 * `mixpeek plugin pack` end to end: the CLI as a user runs it, archives (tar.gz and zip) read back by GNU tar,
 * Info-ZIP's unzip and Python's tarfile and zipfile, determinism, one top-level folder named like the package,
 * Mixpeek's limits, and nothing left behind on failure.
 */
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { packPlugin, type PackResult } from "../../lib/pack/pack.ts";
import { PackRejectedError } from "../../lib/pack/select.ts";
import { FailedError, InterruptedError, UsageError } from "../../lib/errors.ts";
import { FIXED_MTIME } from "../../lib/pack/tar.ts";
import { compareArchivePaths } from "../../lib/pack/paths.ts";
import { formatBytes } from "../../lib/pack/size.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { baseEnv, MAIN, PERMISSIONS, runCli, runProcess, tempDir } from "../helpers/cli.ts";
import { archiveMembers, exists, listDir, verifyArchive, writeTree } from "./_helpers.ts";

const LONG = `deep/${"d".repeat(60)}/${"f".repeat(60)}.py`;
const NFD = "cafe\u0301.py";
const NFC = "caf\u00e9.py";

function blob(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

/** The plugin used by the determinism test: as the archive should contain it (NFC names). */
const CONTENT: Record<string, string | Uint8Array> = {
  "__init__.py": "",
  "manifest.py": 'metadata = {"name": "demo", "version": "1.0.0"}\n',
  "pipeline.py": "def build_steps():\n    return []\n",
  "processors/__init__.py": "",
  "processors/core.py": "def run(x):\n    return x\n",
  "run.sh": "#!/bin/sh\necho hi\n",
  "empty.txt": "",
  "..weird": "dots are fine\n",
  "a..b/...": "so are these\n",
  [NFC]: "unicode\n",
  "日本語/テスト.py": "x = '日本語'\n",
  [LONG]: "long = True\n",
  "data/blob.bin": blob(300_000, 7),
  ".gitignore": "*.log\n",
  "alias.py": 'metadata = {"name": "demo", "version": "1.0.0"}\n', // a symlink to manifest.py
};
const EXECUTABLE = ["run.sh"];

/** What goes on disk: NFD file name, a symlink, junk the pack must ignore, an empty folder. */
function diskSpec(): Array<[string, { b64: string; mode: number } | { link: string } | { dir: true }]> {
  const entries: Array<[string, { b64: string; mode: number } | { link: string } | { dir: true }]> = [];
  for (const [path, content] of Object.entries(CONTENT)) {
    if (path === "alias.py") continue;
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const name = path === NFC ? NFD : path;
    entries.push([name, { b64: _b64(bytes), mode: EXECUTABLE.includes(path) ? 0o777 : 0o666 }]);
  }
  entries.push(["alias.py", { link: "manifest.py" }]);
  entries.push(["debug.log", { b64: _b64(new TextEncoder().encode("ignored\n")), mode: 0o666 }]);
  entries.push(["__pycache__/core.cpython-311.pyc", { b64: "AA==", mode: 0o666 }]);
  entries.push(["empty_dir/nested", { dir: true }]);
  return entries;
}

function _b64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Creates the tree with Python under `umask`, in the given order, with every mtime set to `mtime`. */
const PY_MAKE = `
import base64, json, os, sys
root, umask, mtime, order = sys.argv[1], int(sys.argv[2], 8), int(sys.argv[3]), sys.argv[4]
os.umask(umask)
entries = json.load(sys.stdin)
if order == "reverse":
    entries.reverse()
for path, spec in entries:
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if "dir" in spec:
        os.makedirs(full, exist_ok=True)
    elif "link" in spec:
        os.symlink(spec["link"], full)
    else:
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, spec["mode"])
        os.write(fd, base64.b64decode(spec["b64"]))
        os.close(fd)
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        os.utime(os.path.join(dirpath, name), (mtime, mtime), follow_symlinks=False)
`;

async function makePlugin(root: string, umask: string, mtime: number, order: "forward" | "reverse") {
  const child = new Deno.Command("python3", {
    args: ["-c", PY_MAKE, root, umask, String(mtime), order],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(diskSpec())));
  await writer.close();
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

async function packJson(args: string[], cwd?: string): Promise<PackResult> {
  const r = await runCli(["--json", "plugin", "pack", ...args], { cwd });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as PackResult;
}

Deno.test("pack: byte-identical archives across mtimes, creation order and umask; GNU tar and Python read them", async () => {
  await using work = await tempDir();
  await makePlugin(`${work.path}/one/demo`, "022", 1_000_000_000, "forward");
  await makePlugin(`${work.path}/two/demo`, "077", 1_700_000_000, "reverse");
  const one = await packJson(["--path", `${work.path}/one/demo`, "--output", `${work.path}/one.tar.gz`]);
  const two = await packJson([`${work.path}/two/demo`, "-o", `${work.path}/two.tar.gz`]);

  const bytes = await Deno.readFile(one.path);
  assertEquals(bytes, await Deno.readFile(two.path));
  assertEquals(one.sha256, two.sha256);
  assertEquals(one.sha256, await sha256(one.path));
  assertEquals([one.size, one.format, one.folder], [bytes.length, "tar.gz", "demo"]);
  assertEquals(one.file_count, Object.keys(CONTENT).length);
  assertEquals(one.files, two.files);

  // Sorted by UTF-8 bytes, NFC names, no junk.
  const sorted = Object.keys(CONTENT).sort(compareArchivePaths);
  assertEquals(one.files, sorted);

  // gzip: no name, mtime 0, XFL 0, OS 3; one member holding a tar padded to whole 10 KiB records.
  assertEquals([...bytes.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const tar = zlib.gunzipSync(bytes);
  assertEquals(tar.length % 10240, 0);

  const members = await verifyArchive(one.path, CONTENT, EXECUTABLE, "demo");
  assertEquals(members.map((m) => m.name), sorted);
  for (const m of members) {
    assertEquals([m.type, m.mtime, m.uid, m.gid, m.uname, m.gname], ["0", FIXED_MTIME, 0, 0, "", ""], m.name);
    assertEquals(m.mode, EXECUTABLE.includes(m.name) ? 0o755 : 0o644, m.name);
  }
});

Deno.test("pack --format zip: byte-identical too; unzip and Python's zipfile read it", async () => {
  await using work = await tempDir();
  await makePlugin(`${work.path}/one/demo`, "022", 1_000_000_000, "forward");
  await makePlugin(`${work.path}/two/demo`, "077", 1_700_000_000, "reverse");
  const one = await packJson([`${work.path}/one/demo`, "--format", "zip", "-o", `${work.path}/one.zip`]);
  const two = await packJson([`${work.path}/two/demo`, "--format", "zip", "-o", `${work.path}/two.zip`]);
  assertEquals(await Deno.readFile(one.path), await Deno.readFile(two.path));
  assertEquals([one.format, one.folder, one.sha256], ["zip", "demo", await sha256(one.path)]);
  const members = await verifyArchive(one.path, CONTENT, EXECUTABLE, "demo");
  assertEquals(members.map((m) => m.name), Object.keys(CONTENT).sort(compareArchivePaths));
  for (const m of members) {
    const { date_time, system } = m as unknown as { date_time: number[]; system: number };
    assertEquals([date_time, system], [[1985, 10, 26, 8, 15, 0], 3], m.name);
    assertEquals(m.mode, EXECUTABLE.includes(m.name) ? 0o755 : 0o644, m.name);
  }
  // The default output is dist/<package>.zip.
  const inDist = await packJson(["--format", "zip"], `${work.path}/one/demo`);
  assertEquals(inDist.path, `${work.path}/one/demo/dist/demo.zip`);
  assertEquals(inDist.sha256, one.sha256);
});

Deno.test("pack: the top folder is the package name; a folder that cannot be one is refused", async () => {
  await using work = await tempDir();
  await writeTree(`${work.path}/my-plugin`, { "main.py": "print(1)\n" });
  const kebab = await packJson([`${work.path}/my-plugin`]);
  assertEquals([kebab.folder, kebab.path], ["my_plugin", `${work.path}/my-plugin/dist/my_plugin.tar.gz`]);
  await verifyArchive(kebab.path, { "main.py": "print(1)\n" }, [], "my_plugin");
  await writeTree(`${work.path}/9lives`, { "main.py": "" });
  const bad = await runCli(["plugin", "pack", `${work.path}/9lives`]);
  assertEquals(bad.code, 2, bad.stderr);
  assertStringIncludes(bad.stderr, "is not a Python package name");
  assertStringIncludes(bad.stderr, "rename the folder");
  // publish names the folder after the manifest's plugin (the library option).
  const named = await packPlugin(`${work.path}/my-plugin`, {
    folder: "sentiment",
    output: `${work.path}/s.zip`,
    format: "zip",
  });
  await verifyArchive(named.path, { "main.py": "print(1)\n" }, [], "sentiment");
  await assertRejects(() => packPlugin(`${work.path}/my-plugin`, { folder: "not-a-name" }), UsageError);
  // The path as an argument and as -p must agree.
  const both = await runCli(["plugin", "pack", `${work.path}/my-plugin`, "-p", `${work.path}/9lives`]);
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "given twice");
});

Deno.test("pack: default output in dist/, never packed itself, previous archives excluded, human output", async () => {
  await using work = await tempDir();
  const root = `${work.path}/my_plugin`;
  await writeTree(root, { "main.py": "print(1)\n", "old.tar.gz": "previous", "sub/older.tgz": "previous" });

  const first = await runCli(["plugin", "pack", "--list"], { cwd: root });
  assertEquals(first.code, 0, first.stderr);
  const archive = `${root}/dist/my_plugin.tar.gz`;
  const sha = await sha256(archive);
  assertEquals(
    first.stdout,
    [
      "path    dist/my_plugin.tar.gz",
      "format  tar.gz, one top folder: my_plugin/",
      "files   1",
      `size    ${(await Deno.stat(archive)).size} bytes (${
        formatBytes((await Deno.stat(archive)).size)
      }; 9 B unpacked)`,
      `sha256  ${sha}`,
      "",
      "contents:",
      "  main.py",
      "",
    ].join("\n"),
  );

  // Packing again (the archive now sits in dist/) gives the same bytes.
  const again = await packJson(["--path", root]);
  assertEquals([again.path, again.sha256, again.files], [archive, sha, ["main.py"]]);

  // An output inside the plugin with any name is never packed by the runs writing it ...
  const inside = await packJson(["--path", root, "--output", `${root}/plugin.archive`]);
  const next = await packJson(["--path", root, "--output", `${root}/plugin.archive`]);
  assertEquals([inside.files, next.files, next.sha256], [["main.py"], ["main.py"], sha]);
  // ... but a later pack elsewhere would take it, so the author is warned.
  assertStringIncludes(next.warnings.join("\n"), "the archive plugin.archive is inside the plugin");
  await Deno.remove(`${root}/plugin.archive`);

  // An existing folder (or a path ending in /) gets the default name inside it.
  await Deno.mkdir(`${work.path}/out`);
  const inFolder = await packJson(["--path", root, "--output", `${work.path}/out`]);
  assertEquals(inFolder.path, `${work.path}/out/my_plugin.tar.gz`);
  const newFolder = await packJson(["--path", root, "--output", `${work.path}/new/folder/`]);
  assertEquals(newFolder.path, `${work.path}/new/folder/my_plugin.tar.gz`);
  assertEquals(Object.keys(newFolder), [
    "path",
    "format",
    "folder",
    "size",
    "sha256",
    "file_count",
    "files",
    "unpacked_size",
    "warnings",
  ]);
  await verifyArchive(newFolder.path, { "main.py": "print(1)\n" }, [], "my_plugin");
});

Deno.test("pack: secrets stop the pack (exit 3, every file listed, nothing written); --allow-secret packs them", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  const key = "AKIA" + "Z7Q3EGRSXN4PLM2T";
  await writeTree(root, { "main.py": "", ".env": "TOKEN=1\n", "conf/settings.py": `KEY = "${key}"\n` });
  const refused = await runCli(["plugin", "pack", "--path", root]);
  assertEquals(refused.code, 3, refused.stderr);
  assertStringIncludes(refused.stderr, "2 files look like secrets");
  assertStringIncludes(refused.stderr, ".env: environment file");
  assertStringIncludes(refused.stderr, "conf/settings.py:1: AWS access key id");
  assertStringIncludes(refused.stderr, "--allow-secret .env --allow-secret conf/settings.py");
  assertStringIncludes(refused.stderr, ".mixpeekignore");
  assertEquals(refused.stdout, "");
  assertEquals(await listDir(root), [".env", "conf", "main.py"], "no dist/ folder, no temp file");

  const json = await runCli(["--json", "plugin", "pack", "--path", root, "--allow-secret", ".env"]);
  assertEquals(json.code, 3);
  const doc = JSON.parse(json.stdout);
  assertEquals([doc.error.type, doc.error.exit_code], ["pack_rejected", 3]);
  assertStringIncludes(doc.error.message, "conf/settings.py:1");

  const allowed = await runCli(
    ["plugin", "pack", "--path", root, "--allow-secret", ".env", "--allow-secret", "./conf/settings.py"],
  );
  assertEquals(allowed.code, 0, allowed.stderr);
  assertStringIncludes(
    allowed.stderr,
    "warning: packing flagged files because of --allow-secret: .env, conf/settings.py",
  );
  await verifyArchive(
    `${root}/dist/p.tar.gz`,
    {
      "main.py": "",
      ".env": "TOKEN=1\n",
      "conf/settings.py": `KEY = "${key}"\n`,
    },
    [],
    "p",
  );
});

Deno.test("pack: limit flags, symlink escapes and bad flags", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  await writeTree(root, { "a.py": "x".repeat(2000), "b.py": "", "c.py": "" });
  const tooMany = await runCli(["plugin", "pack", "--path", root, "--max-files", "2"]);
  assertEquals(tooMany.code, 3);
  assertStringIncludes(tooMany.stderr, "more than the 2-file limit");
  assertStringIncludes(tooMany.stderr, "--max-files");
  const tooBig = await runCli(["plugin", "pack", "--path", root, "--max-file-size", "1K"]);
  assertEquals(tooBig.code, 3);
  assertStringIncludes(tooBig.stderr, "a.py: 2.0 KiB, over the 1.0 KiB limit for one file");
  const total = await runCli(["plugin", "pack", "--path", root, "--max-size", "1kb"]);
  assertEquals(total.code, 3);
  assertStringIncludes(total.stderr, "over the 1.0 KiB limit");
  for (const bad of [["--max-size", "lots"], ["--max-files", "-1"], ["--max-file-size", "0"]]) {
    const r = await runCli(["plugin", "pack", "--path", root, ...bad]);
    assertEquals(r.code, 2, `${bad.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, bad[0]);
  }
  const missing = await runCli(["plugin", "pack", "--path", `${work.path}/nope`]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "does not exist");

  await Deno.symlink("/etc/hostname", `${root}/host.txt`);
  const escape = await runCli(["plugin", "pack", "--path", root]);
  assertEquals(escape.code, 3);
  assertStringIncludes(escape.stderr, "host.txt: is a symlink pointing outside the plugin (→ /etc/hostname)");
  assertEquals(await listDir(root), ["a.py", "b.py", "c.py", "host.txt"]);
});

async function waitForTemp(dir: string): Promise<string> {
  for (;;) {
    const temp = (await listDir(dir).catch(() => [])).find((n) => n.endsWith(".mixpeek-tmp"));
    if (temp && (await Deno.stat(`${dir}/${temp}`)).size > 0) return temp;
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("pack: Ctrl-C stops a running pack, removes its temp file and keeps the previous archive", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  await writeTree(root, { "main.py": "" });
  await Deno.mkdir(`${work.path}/out`);
  await Deno.writeTextFile(`${work.path}/out/p.tar.gz`, "previous archive");
  // A 4 GiB sparse file: takes seconds to compress, costs no disk.
  await Deno.writeFile(`${root}/zeros.bin`, new Uint8Array(0));
  await Deno.truncate(`${root}/zeros.bin`, 4 * 1024 ** 3);
  await using home = await tempDir("mixpeek-home-");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      MAIN,
      "plugin",
      "pack",
      "--path",
      root,
      "--output",
      `${work.path}/out/p.tar.gz`,
      "--max-size",
      "8GB",
      "--max-file-size",
      "8GB",
    ],
    env: await baseEnv(home.path),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await waitForTemp(`${work.path}/out`);
  child.kill("SIGINT");
  const out = await child.output();
  assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
  assertStringIncludes(new TextDecoder().decode(out.stderr), "interrupted");
  assertEquals(await listDir(`${work.path}/out`), ["p.tar.gz"]);
  assertEquals(await Deno.readTextFile(`${work.path}/out/p.tar.gz`), "previous archive");
});

Deno.test("pack: a file that changes while packing fails the pack and leaves nothing behind", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  await writeTree(root, { "main.py": "", "zeros.bin": "" });
  await Deno.truncate(`${root}/zeros.bin`, 4 * 1024 ** 3);
  const limits = { max_total_bytes: 8 * 1024 ** 3, max_file_bytes: 8 * 1024 ** 3 };
  const output = `${work.path}/out/p.tar.gz`;
  const packing = packPlugin(root, { output, limits });
  await waitForTemp(`${work.path}/out`);
  await Deno.truncate(`${root}/zeros.bin`, 1024);
  const error = await assertRejects(
    () => packing,
    FailedError,
    "zeros.bin changed while packing (it shrank)",
  );
  assertEquals(error.exitCode, 1);
  assert(!(await exists(`${work.path}/out`)), "the temp file and the folder made for the output are gone");

  // And an abort through the signal (what Ctrl-C does) is an InterruptedError, with nothing left either.
  await Deno.truncate(`${root}/zeros.bin`, 4 * 1024 ** 3);
  const controller = new AbortController();
  const aborted = packPlugin(root, { output, limits, signal: controller.signal });
  await waitForTemp(`${work.path}/out`);
  controller.abort();
  await assertRejects(() => aborted, InterruptedError);
  assert(!(await exists(`${work.path}/out`)));
});

Deno.test("pack: large files round-trip; archive order is by UTF-8 bytes; an empty folder is refused", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  const big = blob(3 * 128 * 1024 + 17, 3); // spans several gzip input buffers
  // "\u{1F600}" sorts after "\uFFEE" in UTF-8 but before it in UTF-16: the archive uses UTF-8 order.
  const spec = { "big.bin": big, "z\u{1F600}.txt": "emoji", "z\uFFEE.txt": "halfwidth" };
  await writeTree(root, spec);
  for (const format of ["tar.gz", "zip"]) {
    const result = await packJson([
      "--path",
      root,
      "--format",
      format,
      "--output",
      `${work.path}/p.${format}`,
    ]);
    assertEquals(result.files, ["big.bin", "z\uFFEE.txt", "z\u{1F600}.txt"]);
    const members = await archiveMembers(result.path, "p");
    assertEquals(members.map((m) => m.name), result.files);
    await verifyArchive(result.path, spec, [], "p");
  }

  // Never an empty archive (tests/pack/not_a_plugin_test.ts has the rest of that rule).
  await using empty = await tempDir();
  const none = await runCli([
    "plugin",
    "pack",
    "--path",
    empty.path,
    "--output",
    `${work.path}/empty.tar.gz`,
  ]);
  assertEquals(none.code, 2, none.stderr);
  assertStringIncludes(none.stderr, "nothing to pack");
  assert(!(await exists(`${work.path}/empty.tar.gz`)));
});

Deno.test("pack: Mixpeek's limits by default (1,000 files, 500 MB), named in the message; the archive limit", async () => {
  await using work = await tempDir();
  const spec: Record<string, string> = {};
  for (let i = 0; i < 1001; i++) spec[`m/f${i}.py`] = "";
  await writeTree(`${work.path}/many`, spec);
  const many = await runCli(["plugin", "pack", `${work.path}/many`]);
  assertEquals(many.code, 3);
  assertStringIncludes(many.stderr, "more than the 1000-file limit");
  await writeTree(`${work.path}/small`, { "a.bin": crypto.getRandomValues(new Uint8Array(60_000)) });
  const error = await assertRejects(
    () => packPlugin(`${work.path}/small`, { output: `${work.path}/s.tar.gz`, max_archive_bytes: 50_000 }),
    PackRejectedError,
    "over the 48.8 KiB archive limit",
  );
  assertEquals(error.exitCode, 3);
  assert(!(await exists(`${work.path}/s.tar.gz`)), "nothing is left behind");
  assertEquals(await listDir(work.path), ["many", "small"]);
});

Deno.test("pack: the archive's sha256 and size are those of the bytes on disk, for a tree of many files", async () => {
  await using work = await tempDir();
  const spec: Record<string, string> = {};
  for (let i = 0; i < 300; i++) spec[`pkg_${i % 7}/mod_${i}.py`] = `VALUE_${i} = ${i}\n`.repeat(i % 50);
  await writeTree(`${work.path}/p`, spec);
  const r = await packPlugin(`${work.path}/p`, { output: `${work.path}/p.tar.gz` });
  assertEquals([r.size, r.sha256], [(await Deno.stat(r.path)).size, await sha256(r.path)]);
  assertEquals(r.unpacked_size, Object.values(spec).reduce((n, s) => n + s.length, 0));
  await verifyArchive(r.path, spec, [], "p");
  const tv = await runProcess("tar", ["-tzvf", r.path]);
  assertStringIncludes(tv.stdout, "1985-10-26");
});
