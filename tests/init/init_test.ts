import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, runInTerminal, runProcess, tempDir, type TerminalScript } from "../helpers/cli.ts";
import { CATEGORIES, RESOURCES } from "../../lib/plugin/categories.ts";

const PY_ENV = { PYTHONDONTWRITEBYTECODE: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

/** Imports the generated manifest with the machine's Python and returns its metadata as JSON. */
async function readMetadata(folder: string) {
  const code = [
    "import json, sys",
    "sys.path.insert(0, sys.argv[1])",
    "import manifest",
    "m = dict(manifest.metadata)",
    "m['resource_type'] = getattr(m['resource_type'], 'value', m['resource_type'])",
    "m['input_schema'] = m['input_schema'].__name__",
    "m['output_schema'] = m['output_schema'].__name__",
    "print(json.dumps(m))",
  ].join("\n");
  const r = await runProcess("python3", ["-c", code, folder], { env: PY_ENV });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Every .py file compiles with the machine's CPython (no bytecode written). */
async function assertCompiles(folder: string) {
  const code = [
    "import pathlib, sys",
    "for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.py')):",
    "    compile(p.read_bytes(), str(p), 'exec')",
  ].join("\n");
  const r = await runProcess("python3", ["-c", code, folder], { env: PY_ENV });
  assertEquals(r.code, 0, r.stderr);
}

async function assertPytestPasses(folder: string) {
  const r = await runProcess("python3", ["-m", "pytest", "-q", "-p", "no:cacheprovider"], {
    cwd: folder,
    env: PY_ENV,
  });
  assertEquals(r.code, 0, `pytest failed in ${folder}:\n${r.stdout}\n${r.stderr}`);
  assert(/\d+ passed/.test(r.stdout), r.stdout);
  return r.stdout;
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

/** Runs tasks with at most `limit` at a time (the machine has 2 cores). */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length > 0) await task(queue.shift()!);
  }));
}

Deno.test("init: every category × resource type by flags gives a plugin whose own pytest passes", async () => {
  await using dir = await tempDir();
  const combos = CATEGORIES.flatMap((category) =>
    RESOURCES.map((resource) => ({ category, resource, realtime: resource === "cpu" }))
  );
  await pool(combos, 2, async ({ category, resource, realtime }) => {
    const name = `${category}-${resource}-plugin`;
    const folder = `${dir.path}/${name}`;
    const args = [
      "--json",
      "plugin",
      "init",
      name,
      "--category",
      category,
      "--resource",
      resource,
      "--no-input",
    ];
    args.push("--author", "Test Author", "--description", `A "${category}" plugin \\ with quotes`);
    if (realtime) args.push("--realtime");
    const r = await runCli(args, { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assertEquals(result.folder, folder);
    assertEquals(result.name, name.replace(/-/g, "_"));
    assertEquals(result.realtime, realtime);
    assertEquals(result.files.includes("realtime.py"), realtime);
    for (
      const required of [
        "__init__.py",
        "manifest.py",
        "pipeline.py",
        "processors/__init__.py",
        "processors/core.py",
      ]
    ) {
      assert(result.files.includes(required), `${category}: ${required} missing`);
    }
    const files = await readTree(folder);
    assertEquals([...files.keys()].sort(), [...result.files].sort());
    for (const [path, text] of files) assert(!text.includes("{{"), `${path} has an unrendered placeholder`);

    const meta = await readMetadata(folder);
    assertEquals(meta.name, name.replace(/-/g, "_"));
    assertEquals(meta.version, "0.1.0");
    assertEquals(meta.category, category);
    assertEquals(meta.resource_type, resource);
    assertEquals(meta.realtime, realtime);
    assertEquals(meta.author, "Test Author");
    assertEquals(meta.description, `A "${category}" plugin \\ with quotes`);
    assertEquals([meta.input_schema, meta.output_schema], ["InputSchema", "OutputSchema"]);
    await assertCompiles(folder);
    await assertPytestPasses(folder);
  });
});

Deno.test("init: defaults without --resource follow the category, and human output names the next steps", async () => {
  await using dir = await tempDir();
  const r = await runCli(["plugin", "init", "loudness", "--category", "audio", "--no-input"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, 'Created audio plugin "loudness" (gpu) in loudness');
  assertStringIncludes(r.stdout, "mixpeek plugin test");
  const meta = await readMetadata(`${dir.path}/loudness`);
  assertEquals([meta.resource_type, meta.realtime], ["gpu", false]);
  assertEquals(meta.description, "Loudness: an audio feature extractor for Mixpeek");
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
  const prompted = await readTree(`${dir.path}/prompted/loud-meter`);
  const flagged = await readTree(`${dir.path}/flags/loud-meter`);
  assertEquals([...prompted.keys()].sort(), [...flagged.keys()].sort());
  for (const [path, text] of flagged) assertEquals(prompted.get(path), text, path);
  assert(prompted.has("realtime.py"));
});

Deno.test("init: missing required values without prompts exit 2 naming the flag, and create nothing", async () => {
  await using dir = await tempDir();
  // --no-input
  let r = await runCli(["plugin", "init", "alpha", "--no-input"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "missing the plugin category");
  assertStringIncludes(r.stderr, "--category text|image|video|audio|document|multimodal");
  // stdin is not a terminal (runCli gives /dev/null), no --no-input
  r = await runCli(["plugin", "init", "alpha"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "--category");
  r = await runCli(["--json", "plugin", "init", "--category", "text"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "missing the plugin name");
  assertEquals(JSON.parse(r.stdout).error.type, "usage");
  assertEquals(await listDir(dir.path), []);
});

Deno.test("init: bad names are refused with the reason and leave nothing behind", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    ["1plugin", "not a valid plugin name"],
    ["My Plugin", "not a valid plugin name"],
    ["my--plugin", "not a valid plugin name"],
    ["plugin-", "not a valid plugin name"],
    ["class", "is a Python keyword"],
    ["manifest", "the name of a module inside every plugin"],
    ["a".repeat(65), "longer than 64 characters"],
  ];
  for (const [name, message] of cases) {
    const r = await runCli(["plugin", "init", name, "--category", "text", "--no-input"], { cwd: dir.path });
    assertEquals(r.code, 2, `${name}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  const r = await runCli(
    ["plugin", "init", "ok", "--category", "text", "--no-input", "--description", "two\nlines"],
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
  assert((await Deno.readTextFile(`${folder}/manifest.py`)).includes("metadata"));
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
  const long = `${dir.path}/${"x".repeat(300)}/p`;
  r = await runCli(["plugin", "init", "p", "--category", "text", "--no-input", "--output", long]);
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
