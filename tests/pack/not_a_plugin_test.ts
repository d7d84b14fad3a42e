/**
 * `plugin pack` of a folder that is not a plugin: a warning naming it ("… is not a plugin folder (no
 * manifest.py) …", the wording `plugin scan` uses), exit 2 with --strict, and never an empty archive; from
 * a folder inside a plugin, the plugin itself is packed.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { scaffold } from "../publish/_helpers.ts";

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("a folder without manifest.py is packed with a warning; --strict makes it exit 2 and writes nothing", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/notes`;
  await Deno.mkdir(folder);
  await Deno.writeTextFile(`${folder}/readme.txt`, "not a plugin\n");

  const warned = await runCli(["--json", "plugin", "pack", folder, "-o", `${dir.path}/notes.tar.gz`]);
  assertEquals(warned.code, 0, warned.stderr);
  assertEquals(
    warned.stderr,
    `warning: ${folder} is not a plugin folder (no manifest.py); packing it as it is (--strict makes this an error)\n`,
  );
  assertEquals(JSON.parse(warned.stdout).files, ["readme.txt"]);

  const strict = await runCli(["plugin", "pack", "--strict", "-o", `${dir.path}/strict.tar.gz`], {
    cwd: folder,
  });
  assertEquals(strict.code, 2, strict.stderr);
  assertEquals(
    strict.stderr,
    "error: the current folder is not a plugin folder (no manifest.py)\n" +
      "hint: pass the folder that holds manifest.py (or one inside it), or leave out --strict to pack it as it is\n",
  );
  assert(!(await exists(`${dir.path}/strict.tar.gz`)), "--strict wrote an archive");
});

Deno.test("a folder with nothing to pack is refused (exit 2), never written as an empty archive", async () => {
  await using dir = await tempDir();
  const empty = `${dir.path}/empty`;
  await Deno.mkdir(`${empty}/__pycache__`, { recursive: true });
  await Deno.writeTextFile(`${empty}/__pycache__/x.pyc`, "ignored by default");
  const r = await runCli(["plugin", "pack", empty]);
  assertEquals(r.code, 2, r.stderr);
  assertStringIncludes(
    r.stderr,
    `error: nothing to pack: ${empty} holds no file that goes into an archive\n`,
  );
  assert(!(await exists(`${empty}/dist`)), "dist/ was left behind");
});

Deno.test("from a folder inside the plugin, pack walks up and packs the plugin, without a warning", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "walk_up");
  const fromRoot = await runCli(["--json", "plugin", "pack", root, "-o", `${dir.path}/a.tar.gz`]);
  const fromInside = await runCli(["--json", "plugin", "pack", "-o", `${dir.path}/b.tar.gz`], {
    cwd: `${root}/processors`,
  });
  assertEquals([fromRoot.code, fromInside.code], [0, 0], fromInside.stderr);
  assertEquals(fromInside.stderr, "");
  assertEquals(JSON.parse(fromInside.stdout).sha256, JSON.parse(fromRoot.stdout).sha256);
});
