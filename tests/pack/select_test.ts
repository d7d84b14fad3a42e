/**
 * File selection (lib/pack/select.ts) on real folders: ignore rules, the secret guard, symlinks, special
 * files, names, limits.
 */
import { type PackProblem, PackRejectedError, selectFiles } from "../../lib/pack/select.ts";
import { findSecretInText, scanFileForSecrets, secretByName } from "../../lib/pack/secrets.ts";
import { UsageError } from "../../lib/errors.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { runProcess, tempDir } from "../helpers/cli.ts";
import { writeTree } from "./_helpers.ts";

async function paths(root: string, options = {}): Promise<string[]> {
  return (await selectFiles(root, options)).files.map((f) => f.path);
}

async function problems(root: string, options = {}): Promise<PackProblem[]> {
  const error = await assertRejects(() => selectFiles(root, options), PackRejectedError);
  return error.problems;
}

Deno.test("select: default exclusions", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "main.py": "x = 1\n",
    ".git/config": "[core]\n",
    "sub/.git": "gitdir: ../.git/modules/sub\n",
    "__pycache__/main.cpython-311.pyc": "\0",
    "pkg/__pycache__/x.pyc": "\0",
    "stray.pyc": "\0",
    "stray.pyo": "\0",
    ".venv/lib/site.py": "x",
    "venv/bin/python": "x",
    "myenv/pyvenv.cfg": "home = /usr/bin\n",
    "myenv/lib/a.py": "x",
    "node_modules/left-pad/index.js": "x",
    ".pytest_cache/v/cache": "x",
    ".mypy_cache/3.11/x.json": "x",
    ".ruff_cache/x": "x",
    ".DS_Store": "x",
    "pkg/.DS_Store": "x",
    "dist/old.tar.gz": "x",
    "build.tar.gz": "x",
    "other.tgz": "x",
    "plugin.egg-info/PKG-INFO": "x",
    ".idea/workspace.xml": "x",
    "pkg/mod.py": "y = 2\n",
    "venv.py": "a file named like a venv folder is kept\n",
    "dist.py": "so is this\n",
  });
  assertEquals(await paths(dir.path), ["dist.py", "main.py", "pkg/mod.py", "venv.py"]);
});

Deno.test("select: .gitignore and .mixpeekignore, negation, nested files", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    ".gitignore": "*.log\n!keep.log\n/build/\ndata/*.csv\n*.onnx\n/top.txt\n",
    ".mixpeekignore": "notes.md\ndocs/\n!model.onnx\n!dist/\n",
    "main.py": "",
    "a.log": "",
    "keep.log": "",
    "build/out.py": "",
    "sub/build/kept.py": "anchored /build/ only matches at the root\n",
    "data/a.csv": "",
    "data/deep/b.csv": "",
    "model.onnx": "weights brought back by .mixpeekignore",
    "other.onnx": "",
    "top.txt": "",
    "sub/top.txt": "",
    "notes.md": "",
    "docs/index.md": "",
    "dist/asset.bin": "a default brought back by .mixpeekignore",
    "sub/.gitignore": "*.tmp\n!/local.log\n",
    "sub/.mixpeekignore": "!important.tmp\n",
    "sub/x.tmp": "",
    "sub/important.tmp": "",
    "sub/local.log": "",
    "x.tmp": "the nested *.tmp rule does not reach the root",
    "sub/deeper/.mixpeekignore": "*.py\n",
    "sub/deeper/gone.py": "",
    "sub/deeper/kept.txt": "",
  });
  assertEquals(await paths(dir.path), [
    ".gitignore",
    ".mixpeekignore",
    "data/deep/b.csv",
    "dist/asset.bin",
    "keep.log",
    "main.py",
    "model.onnx",
    "sub/.gitignore",
    "sub/.mixpeekignore",
    "sub/build/kept.py",
    "sub/deeper/.mixpeekignore",
    "sub/deeper/kept.txt",
    "sub/important.tmp",
    "sub/local.log",
    "sub/top.txt",
    "x.tmp",
  ]);
});

Deno.test("select: as in git, a file inside an excluded folder cannot be re-included; .git never", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    ".gitignore": "models/\n",
    ".mixpeekignore": "!models/big.bin\n!.git/\n",
    "models/big.bin": "x",
    ".git/HEAD": "ref",
    "a.py": "",
  });
  assertEquals(await paths(dir.path), [".gitignore", ".mixpeekignore", "a.py"]);
  await Deno.writeTextFile(`${dir.path}/.mixpeekignore`, "!models/\nmodels/*.tmp\n");
  await writeTree(dir.path, { "models/x.tmp": "" });
  assertEquals(await paths(dir.path), [".gitignore", ".mixpeekignore", "a.py", "models/big.bin"]);
});

const NAME_SECRETS: Record<string, string> = {
  ".env": "environment file",
  "config/.env.local": "environment file",
  ".envrc": "environment file",
  "prod.env": "environment file",
  "certs/server.pem": "private key file",
  "server.key": "private key file",
  "id_rsa": "private key file",
  ".ssh/id_ed25519": "private key file",
  "bundle.p12": "private key file",
  ".npmrc": "registry credentials",
  ".pypirc": "registry credentials",
  ".netrc": "registry credentials",
  ".docker/config.json": "registry credentials",
  ".aws/credentials": "cloud credentials",
  "credentials.json": "cloud credentials",
  "service-account-prod.json": "cloud credentials",
  "gcloud/application_default_credentials.json": "cloud credentials",
  ".kube/config": "cloud credentials",
};

// Built from pieces so this test file does not itself look like it holds keys.
const AWS_ID = "AKIA" + "Q3EGRSZ7XN4PLM2T";
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "0123456789";
const SK = "sk-" + "proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6";
const PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n";
const CONTENT_SECRETS: Record<string, [string, string]> = {
  "aws_id.py": [`KEY = "${AWS_ID}"\n`, "AWS access key id"],
  "aws_secret.ini": [`[default]\naws_secret_access_key = ${AWS_SECRET}\n`, "AWS secret access key"],
  "key_block.txt": [`notes\n\n${PEM}`, "private key block"],
  "openssh.txt": ["-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3Blbn\n", "private key block"],
  "openai.py": [`import os\nclient = make(api_key="${SK}")\n`, "API key (sk-…)"],
  "stripe.py": [
    `STRIPE = "${"sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"}"\n`,
    "secret key (sk_live_/sk_test_…)",
  ],
  "gh.py": [`TOKEN = "${"ghp_" + "a".repeat(30) + "123456"}"\n`, "GitHub token"],
  "slack.py": [`SLACK = "${"xox" + "b-1234567890-abcdefghij"}"\n`, "Slack token"],
  "google.py": [`KEY = "${"AIza" + "SyA1234567890abcdefghijklmnopqrstuv"}"\n`, "Google API key"],
  "hf.py": [`TOKEN = "${"hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH"}"\n`, "Hugging Face token"],
};

Deno.test("secrets: every kind is recognised by name or content", () => {
  for (const [path, kind] of Object.entries(NAME_SECRETS)) {
    assertStringIncludes(secretByName(path) ?? "(none)", kind, path);
  }
  for (
    const fine of [".env.example", "id_rsa.pub", "keys.py", "environment.py", "README.md", "config.json"]
  ) {
    assertEquals(secretByName(fine), undefined, fine);
  }
  for (const [path, [text, kind]] of Object.entries(CONTENT_SECRETS)) {
    assertEquals(findSecretInText(text)?.kind, kind, path);
  }
  const harmless = [
    'EXAMPLE = "AKIAIOSFODNN7EXAMPLE"  # the key AWS documents',
    'api_key = "sk-your-api-key-goes-here-please"  # a placeholder',
    "task-scheduler-for-background-jobs-and-more",
    "model.eval(); df.eval('a + b')",
    "-----BEGIN PUBLIC KEY-----",
  ];
  for (const text of harmless) assertEquals(findSecretInText(text), undefined, text);
});

Deno.test("secrets: each flagged file stops selection, listed with how to exclude or allow it", async () => {
  await using dir = await tempDir();
  const spec: Record<string, string> = { "main.py": "print('ok')\n" };
  for (const path of Object.keys(NAME_SECRETS)) spec[path] = "x=1\n";
  for (const [path, [text]] of Object.entries(CONTENT_SECRETS)) spec[path] = text;
  await writeTree(dir.path, spec);

  const error = await assertRejects(() => selectFiles(dir.path), PackRejectedError);
  const flagged = error.problems.filter((p) => p.kind === "secret").map((p) => p.path).sort();
  assertEquals(flagged, [...Object.keys(NAME_SECRETS), ...Object.keys(CONTENT_SECRETS)].sort());
  assertEquals(error.exitCode, 3);
  assertStringIncludes(error.message, ".mixpeekignore");
  assertStringIncludes(error.message, "--allow-secret certs/server.pem");
  assertStringIncludes(error.message, "aws_id.py:1: AWS access key id");
  assertStringIncludes(error.message, "openai.py:2: API key");
  assertStringIncludes(error.hint ?? "", "--allow-secret");

  // Allowing all but one still refuses that one; allowing every one (a folder allows what is under it) packs.
  const all = [...Object.keys(NAME_SECRETS), ...Object.keys(CONTENT_SECRETS)];
  const rest = await problems(dir.path, { allow_secrets: all.filter((p) => p !== "hf.py") });
  assertEquals(rest.map((p) => p.path), ["hf.py"]);
  const allowed = all.filter((p) => !p.startsWith("certs/")).concat(["./certs/", "nothing-here.txt"]);
  const result = await selectFiles(dir.path, { allow_secrets: allowed });
  assertEquals(result.files.length, all.length + 1);
  assertStringIncludes(result.warnings.join("\n"), "packing flagged files because of --allow-secret");
  assertStringIncludes(result.warnings.join("\n"), "--allow-secret nothing-here.txt matched no flagged file");

  // Excluding them in .mixpeekignore also works.
  await Deno.writeTextFile(`${dir.path}/.mixpeekignore`, all.join("\n"));
  assertEquals(await paths(dir.path), [".mixpeekignore", "main.py"]);
});

Deno.test("secrets: binary files are skipped, a key across the 64 KiB read boundary is still found", async () => {
  await using dir = await tempDir();
  const binary = new Uint8Array(100_000);
  binary.set(new TextEncoder().encode(AWS_ID), 50_000); // behind a NUL in the first 8,000 bytes
  const filler = "# padding line\n".repeat(Math.ceil(65_536 / 15));
  const text = filler.slice(0, 65_536 - 10) + " " + AWS_ID + "\n";
  await writeTree(dir.path, { "weights.bin": binary, "long.py": text, "empty.py": "" });
  assertEquals(await scanFileForSecrets(`${dir.path}/weights.bin`), undefined);
  assertEquals(await scanFileForSecrets(`${dir.path}/empty.py`), undefined);
  const hit = await scanFileForSecrets(`${dir.path}/long.py`);
  assertEquals(hit, { kind: "AWS access key id", line: text.split("\n").length - 1 });
});

Deno.test("symlinks: inside ones are followed, outside ones, broken ones and loops are refused", async () => {
  await using outside = await tempDir();
  await using dir = await tempDir();
  await writeTree(outside.path, { "secret.txt": "outside" });
  await writeTree(dir.path, { "real.py": "print(1)\n", "lib/util.py": "u = 1\n", "main.py": "" });
  await Deno.symlink("real.py", `${dir.path}/alias.py`);
  await Deno.symlink("lib", `${dir.path}/lib_link`);
  await Deno.symlink("../real.py", `${dir.path}/lib/up.py`);
  const selected = await selectFiles(dir.path);
  assertEquals(selected.files.map((f) => f.path), [
    "alias.py",
    "lib/up.py",
    "lib/util.py",
    "lib_link/up.py",
    "lib_link/util.py",
    "main.py",
    "real.py",
  ]);
  const alias = selected.files.find((f) => f.path === "alias.py")!;
  assertEquals([alias.abs_path, alias.size], [`${dir.path}/real.py`, 9]);

  await Deno.symlink(`${outside.path}/secret.txt`, `${dir.path}/escape.txt`);
  await Deno.symlink("../../", `${dir.path}/lib/parent_escape`);
  await Deno.symlink("missing.py", `${dir.path}/broken.py`);
  await Deno.symlink("loop_b", `${dir.path}/loop_a`);
  await Deno.symlink("loop_a", `${dir.path}/loop_b`);
  await Deno.symlink("..", `${dir.path}/lib/cycle`);
  const found = await problems(dir.path);
  const byPath = Object.fromEntries(found.map((p) => [p.path, p.message]));
  assertEquals(Object.keys(byPath).sort(), [
    "broken.py",
    "escape.txt",
    "lib/cycle",
    "lib/parent_escape",
    "lib_link/cycle",
    "lib_link/parent_escape",
    "loop_a",
    "loop_b",
  ]);
  assertStringIncludes(byPath["escape.txt"], "pointing outside the plugin");
  assertStringIncludes(byPath["escape.txt"], outside.path);
  assertStringIncludes(byPath["broken.py"], "broken symlink");
  assertStringIncludes(byPath["loop_a"], "symlink loop");
  assertStringIncludes(byPath["lib/cycle"], "symlink loop");
  assert(found.every((p) => p.kind === "symlink"));

  // An excluded link is never looked at.
  await Deno.writeTextFile(
    `${dir.path}/.mixpeekignore`,
    "escape.txt\nbroken.py\nloop_*\ncycle\nparent_escape\n",
  );
  assertEquals((await selectFiles(dir.path)).files.length, 8);
});

Deno.test("symlinks: a link to a secret is judged by its target's name too", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, { ".aws/credentials": "[default]\n", "main.py": "" });
  await Deno.writeTextFile(`${dir.path}/.mixpeekignore`, ".aws/\n");
  await Deno.symlink(".aws/credentials", `${dir.path}/settings.ini`);
  const found = await problems(dir.path);
  assertEquals(found.map((p) => [p.path, p.kind]), [["settings.ini", "secret"]]);
});

Deno.test("special files are skipped with a warning", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, { "main.py": "" });
  assertEquals((await runProcess("mkfifo", [`${dir.path}/pipe`])).code, 0);
  const listener = Deno.listen({ transport: "unix", path: `${dir.path}/sock` });
  try {
    const result = await selectFiles(dir.path);
    assertEquals(result.files.map((f) => f.path), ["main.py"]);
    assertEquals(result.warnings.sort(), [
      "skipped pipe: a FIFO cannot be packed",
      "skipped sock: a socket cannot be packed",
    ]);
  } finally {
    listener.close();
  }
});

Deno.test("names: dot-dot-like names are fine, NFD becomes NFC, odd names and collisions are refused", async () => {
  await using dir = await tempDir();
  const nfd = "cafe\u0301.py"; // "café.py" decomposed
  await writeTree(dir.path, {
    "..a": "1",
    "a..": "2",
    "...": "3",
    ".. b/c..d.py": "4",
    [nfd]: "5",
    "empty.txt": "",
  });
  await Deno.mkdir(`${dir.path}/empty_folder/nested`, { recursive: true });
  const selected = await selectFiles(dir.path);
  assertEquals(selected.files.map((f) => f.path), [
    ".. b/c..d.py",
    "...",
    "..a",
    "a..",
    "caf\u00e9.py",
    "empty.txt",
  ]);
  assertEquals(selected.files.find((f) => f.path === "empty.txt")!.size, 0);
  assertEquals(selected.files.find((f) => f.path === "caf\u00e9.py")!.abs_path, `${dir.path}/${nfd}`);

  await writeTree(dir.path, { "caf\u00e9.py": "6", "README.md": "", "readme.md": "", "back\\slash.py": "" });
  await Deno.writeTextFile(`${dir.path}/new\nline.py`, "");
  const found = await problems(dir.path);
  const messages = found.map((p) => `${p.path}: ${p.message}`).join("\n");
  assertStringIncludes(messages, "back\\slash.py: the name contains a backslash");
  assertStringIncludes(messages, "new\nline.py: the name contains a control character");
  assertStringIncludes(messages, "caf\u00e9.py: collides with caf\u00e9.py");
  assertStringIncludes(messages, "collides with README.md");
  assertEquals(found.length, 4);
});

Deno.test("modes: any execute bit gives 0755, everything else 0644", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "run.sh": { content: "#!/bin/sh\n", mode: 0o700 },
    "group.sh": { content: "", mode: 0o610 },
    "plain.py": { content: "", mode: 0o600 },
    "wide.py": { content: "", mode: 0o666 },
  });
  const modes = Object.fromEntries((await selectFiles(dir.path)).files.map((f) => [f.path, f.mode]));
  assertEquals(modes, { "group.sh": 0o755, "plain.py": 0o644, "run.sh": 0o755, "wide.py": 0o644 });
});

Deno.test("limits: file count, one file's size and the total are enforced with the offending files", async () => {
  await using dir = await tempDir();
  await writeTree(dir.path, {
    "a.py": "x".repeat(100),
    "big.bin": new Uint8Array(5000),
    "c.py": "x".repeat(10),
    "sub/d.py": "",
  });
  const count = await problems(dir.path, { limits: { max_files: 3 } });
  assertEquals(count.length, 1);
  assertStringIncludes(count[0].message, "more than the 3-file limit");
  const one = await problems(dir.path, { limits: { max_file_bytes: 1000 } });
  assertEquals(one.map((p) => [p.kind, p.path]), [["limit", "big.bin"]]);
  assertStringIncludes(one[0].message, "over the 1000 B limit for one file");
  const total = await problems(dir.path, { limits: { max_total_bytes: 4000 } });
  assertEquals(total.map((p) => p.kind), ["limit"]);
  assertStringIncludes(
    total[0].message,
    "add up to 5.0 KiB, over the 3.9 KiB limit; largest: big.bin 4.9 KiB",
  );
  assertEquals(
    (await selectFiles(dir.path, { limits: { max_files: 4, max_total_bytes: 5110 } })).total_bytes,
    5110,
  );
});

Deno.test("select: a missing folder or a file is a usage error", async () => {
  await using dir = await tempDir();
  await assertRejects(() => selectFiles(`${dir.path}/nope`), UsageError, "does not exist");
  await Deno.writeTextFile(`${dir.path}/file`, "");
  await assertRejects(() => selectFiles(`${dir.path}/file`), UsageError, "is not a folder");
});
