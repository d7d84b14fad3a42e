/**
 * `mixpeek plugin init`: Mixpeek's flags and their short forms, the defaults (author from git before $USER,
 * no prompts once a category is given), the folder as the package, and nothing half-written on errors.
 * The full template matrix (category × resource × realtime, every check) is tests/plugin_test/templates_test.ts.
 */
import { dirname } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, runInTerminal, runProcess, tempDir, type TerminalScript } from "../helpers/cli.ts";
import { runtimePath } from "../../lib/plugin/runtime.ts";

const PY_ENV = { PYTHONDONTWRITEBYTECODE: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

/** Imports the generated package as Mixpeek would (the runtime on PYTHONPATH) and returns its manifest facts. */
async function readManifest(folder: string) {
  const code = [
    "import importlib, json, sys",
    "m = importlib.import_module(sys.argv[1] + '.manifest')",
    "print(json.dumps({**m.metadata, 'input_schema': m.input_schema.__name__, 'compute_profile': m.compute_profile,",
    "                  'features': m.features}))",
  ].join("\n");
  const name = folder.split("/").pop()!;
  const r = await runProcess("python3", ["-c", code, name], {
    env: { ...PY_ENV, PYTHONPATH: `${await runtimePath()}:${dirname(folder)}` },
  });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** All files of a folder (relative path → content). */
async function readTree(root: string, prefix = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) {
      for (const [k, v] of await readTree(root, rel + "/")) files.set(k, v);
    } else files.set(rel, await Deno.readTextFile(`${root}/${rel}`));
  }
  return files;
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) names.push(entry.name);
  return names.sort();
}

Deno.test("init: Mixpeek's short flags -c -d -a -o; the folder is the package, 0755; --resource sets compute_profile", async () => {
  await using dir = await tempDir();
  const r = await runCli(
    [
      "--json",
      "plugin",
      "init",
      "loud-meter",
      "-c",
      "audio",
      "-d",
      'Measures "loudness"',
      "-a",
      "Ada",
      "-o",
      "out/loud_meter",
      "--resource",
      "api",
    ],
    { cwd: dir.path },
  );
  assertEquals(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assertEquals([result.name, result.folder, result.category, result.resource_type], [
    "loud_meter",
    `${dir.path}/out/loud_meter`,
    "audio",
    "api",
  ]);
  const meta = await readManifest(`${dir.path}/out/loud_meter`);
  assertEquals([meta.feature_extractor_name, meta.version, meta.category, meta.author, meta.description], [
    "loud_meter",
    "0.1.0",
    "audio",
    "Ada",
    'Measures "loudness"',
  ]);
  assertEquals(meta.compute_profile, {
    resource_type: "api",
    batch_size: 16,
    max_concurrency: 2,
    actor_memory_gb: 2.0,
  });
  assertEquals(meta.input_schema, "LoudMeterInput");
  if (Deno.build.os !== "windows") {
    assertEquals((await Deno.stat(`${dir.path}/out/loud_meter`)).mode! & 0o777, 0o755);
  }

  // Without -o the folder is ./<package name>: the kebab-case name becomes the snake_case package.
  const plain = await runCli(["plugin", "init", "word-count", "-c", "text", "--no-input"], { cwd: dir.path });
  assertEquals(plain.code, 0, plain.stderr);
  assertStringIncludes(plain.stdout, 'Created text plugin "word_count" (cpu) in word_count');
  assert((await Deno.stat(`${dir.path}/word_count/manifest.py`)).isFile);
});

Deno.test("init: -o must name a package folder (the folder is what Mixpeek imports)", async () => {
  await using dir = await tempDir();
  const r = await runCli(["plugin", "init", "thumbs", "-c", "image", "-o", "plugins/my-thumbs"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 2, r.stderr);
  assertStringIncludes(
    r.stderr,
    'the folder name "my-thumbs" is not a Python package name, and the folder is the package',
  );
  assertStringIncludes(r.stderr, "--output plugins/thumbs");
  assertEquals(await listDir(dir.path), []);
});

Deno.test("init: the author is git's user.name before $USER (and MIXPEEK_AUTHOR before both)", async () => {
  await using dir = await tempDir();
  const home = `${dir.path}/home`;
  await Deno.mkdir(home);
  const git = await runProcess("git", ["config", "--global", "user.name", "Grace Hopper"], {
    env: { HOME: home },
  })
    .catch(() => ({ code: 127, stdout: "", stderr: "no git" }));
  const author = async (name: string, env: Record<string, string>) => {
    const r = await runCli(["--json", "plugin", "init", name, "-c", "text"], { cwd: dir.path, env });
    assertEquals(r.code, 0, r.stderr);
    return (await readManifest(`${dir.path}/${name}`)).author;
  };
  if (git.code === 0) assertEquals(await author("from_git", { HOME: home, USER: "ghopper" }), "Grace Hopper");
  assertEquals(await author("from_user", { USER: "ghopper" }), "ghopper"); // runCli's HOME has no .gitconfig
  assertEquals(await author("from_env", { HOME: home, USER: "x", MIXPEEK_AUTHOR: "Team" }), "Team");
});

Deno.test("init: with a category given nothing is asked, even in a terminal", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/work`);
  const session = await runInTerminal(["plugin", "init", "quiet-one", "-c", "video"], [] as TerminalScript, {
    home: dir.path,
    cwd: `${dir.path}/work`,
  });
  assertEquals(session.exit_code, 0, session.output);
  assert(!/Description|Author|Resource type|realtime\?/.test(session.output), session.output);
  const meta = await readManifest(`${dir.path}/work/quiet_one`);
  assertEquals(meta.description, "Quiet One: a video feature extractor for Mixpeek");
});

Deno.test("init: interactive answers typed at the prompts give the same plugin as the equivalent flags", async () => {
  await using dir = await tempDir();
  const script = [
    ["Plugin name", "loud-meter\r"],
    ["Category", ["\x1b[B", "\x1b[B", "\x1b[B", "\r"]], // text → image → video → audio
    ["Description", "Measures loudness\r"],
    ["Author", "Ada Lovelace\r"],
    ["Resource type", ["\x1b[A", "\r"]], // audio defaults to gpu; one up is cpu
    ["realtime", "y\r"],
  ];
  await Deno.mkdir(`${dir.path}/prompted`);
  const session = await runInTerminal(["plugin", "init"], script as TerminalScript, {
    home: dir.path,
    cwd: `${dir.path}/prompted`,
  });
  assertEquals(session.exit_code, 0, session.output);
  assertStringIncludes(session.output, "Created audio plugin");

  await Deno.mkdir(`${dir.path}/flags`);
  const flags = await runCli([
    "plugin",
    "init",
    "loud-meter",
    "--category",
    "audio",
    "--description",
    "Measures loudness",
    "--author",
    "Ada Lovelace",
    "--resource",
    "cpu",
    "--realtime",
    "--no-input",
  ], { cwd: `${dir.path}/flags` });
  assertEquals(flags.code, 0, flags.stderr);
  const prompted = await readTree(`${dir.path}/prompted/loud_meter`);
  const flagged = await readTree(`${dir.path}/flags/loud_meter`);
  assertEquals([...prompted.keys()].sort(), [...flagged.keys()].sort());
  for (const [path, text] of flagged) assertEquals(prompted.get(path), text, path);
  assert(prompted.has("realtime.py"));
});

Deno.test("init: without prompts the category defaults to text; a missing name exits 2 and creates nothing", async () => {
  await using dir = await tempDir();
  let r = await runCli(["--json", "plugin", "init", "--category", "text"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "missing the plugin name");
  assertEquals(JSON.parse(r.stdout).error.type, "usage");
  assertEquals(await listDir(dir.path), []);
  r = await runCli(["--json", "plugin", "init", "alpha", "--no-input"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).category, "text");
});

Deno.test("init: bad names are refused with the reason and leave nothing behind", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    ["1plugin", "not a valid plugin name"],
    ["My Plugin", "not a valid plugin name"],
    ["ab", "3 to 64 letters"],
    ["a".repeat(65), "3 to 64 letters"],
    ["class", "is a Python keyword"],
    ["manifest", "the name of a module inside every plugin"],
    ["shared", "of the platform runtime"],
  ];
  for (const [name, message] of cases) {
    const r = await runCli(["plugin", "init", name, "--category", "text", "--no-input"], { cwd: dir.path });
    assertEquals(r.code, 2, `${name}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  const r = await runCli(
    ["plugin", "init", "okay", "--category", "text", "--no-input", "--description", "two\nlines"],
    { cwd: dir.path },
  );
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "single line");
  assertEquals(await listDir(dir.path), []);
});

Deno.test("init: an existing non-empty folder is refused without --force and kept intact with it", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/taken`;
  await Deno.mkdir(folder);
  await Deno.writeTextFile(`${folder}/notes.txt`, "mine");
  await Deno.writeTextFile(`${folder}/manifest.py`, "# old");
  const args = ["plugin", "init", "taken", "--category", "text", "--no-input"];
  let r = await runCli(args, { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, `${folder} already exists and is not empty`);
  assertStringIncludes(r.stderr, "--force");
  assertEquals(await listDir(folder), ["manifest.py", "notes.txt"]);
  assertEquals(await listDir(dir.path), ["taken"]); // no staging folder left

  r = await runCli([...args, "--force"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(`${folder}/notes.txt`), "mine");
  assert((await Deno.readTextFile(`${folder}/manifest.py`)).includes("feature_extractor_name"));
  assertEquals(await listDir(dir.path), ["taken"]);

  // An empty folder is fine without --force; a file in the way is not.
  await Deno.mkdir(`${dir.path}/empty`);
  r = await runCli(["plugin", "init", "empty", "--category", "image", "--no-input"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  await Deno.writeTextFile(`${dir.path}/afile`, "x");
  r = await runCli(["plugin", "init", "afile", "--category", "image", "--no-input"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "exists and is not a folder");
});

Deno.test("init: an unwritable output location is a clear error and leaves nothing behind", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/blocker`, "a file, not a folder");
  let r = await runCli(
    [
      "plugin",
      "init",
      "deep",
      "--category",
      "text",
      "--no-input",
      "--output",
      `${dir.path}/blocker/sub/deep`,
    ],
    { cwd: dir.path },
  );
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, `cannot create folder ${dir.path}/blocker/sub`);
  assertStringIncludes(r.stderr, "--output");
  assertEquals(await listDir(dir.path), ["blocker"]);

  // A name the file system cannot hold is an error naming the path, not a raw OS message.
  const long = `${dir.path}/${"x".repeat(300)}/plug`;
  r = await runCli(["plugin", "init", "plug", "--category", "text", "--no-input", "--output", long]);
  assertEquals(r.code, 1, r.stderr);
  assertStringIncludes(r.stderr, `cannot use ${long}`);
  assertStringIncludes(r.stderr, "--output");

  // Parents that can be created are, and the plugin lands there.
  r = await runCli(
    ["plugin", "init", "nested", "--category", "text", "--no-input", "--output", "a/b/nested"],
    {
      cwd: dir.path,
    },
  );
  assertEquals(r.code, 0, r.stderr);
  assert((await Deno.stat(`${dir.path}/a/b/nested/manifest.py`)).isFile);
});

Deno.test("init: --json output parses and never contains the API key", async () => {
  await using dir = await tempDir();
  const key = "mxp_sk_test_abcdefghijklmnop";
  const r = await runCli(
    ["--json", "--api-key", key, "plugin", "init", "secretive", "--category", "document", "--no-input"],
    { cwd: dir.path, env: { MIXPEEK_API_KEY: key } },
  );
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stdout.includes(key) && !r.stderr.includes(key));
  const result = JSON.parse(r.stdout);
  assertEquals(Object.keys(result).sort(), [
    "category",
    "files",
    "folder",
    "name",
    "realtime",
    "resource_type",
    "title",
    "version",
  ]);
  for (const [, text] of await readTree(`${dir.path}/secretive`)) assert(!text.includes(key));
});
