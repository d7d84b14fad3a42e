/**
 * No command prints a raw OS error: the reason in words, the operation and the path, and a hint. Spawned as a
 * user would run the CLI, on paths the OS refuses (a folder inside a regular file; a TMPDIR that does not
 * exist). (These runs are as root in CI, so file modes refuse nothing; /proc would need Deno's --allow-all.)
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { osErrorHint, plainOsText } from "../../lib/os_errors.ts";

Deno.test("plainOsText: Deno's OS error fragments become words with the operation and the path", () => {
  assertEquals(
    plainOsText("No such file or directory (os error 2): mkdir '/proc/x'"),
    "no such file or directory (creating the folder /proc/x)",
  );
  assertEquals(
    plainOsText("cannot write config file /etc/m.json: Permission denied (os error 13): open '/etc/m.json'"),
    "cannot write config file /etc/m.json: permission denied (opening)",
  );
  assertEquals(
    plainOsText("Read-only file system (os error 30): rename '/ro/a' -> '/ro/b'"),
    "read-only file system (moving /ro/a to /ro/b)",
  );
  assertEquals(plainOsText("nothing raw here"), "nothing raw here");
  assertEquals(
    osErrorHint("No space left on device (os error 28): write"),
    "the disk is full: free some space and try again",
  );
  assertEquals(osErrorHint("nothing raw here"), undefined);
});

const isLinux = Deno.build.os === "linux";

Deno.test({
  name: "init into a folder inside a file: one sentence naming the path, a hint, exit 1, in text and JSON",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    await Deno.writeTextFile(`${dir.path}/blocker`, "a file, not a folder\n");
    const out = `${dir.path}/blocker/demo`;
    const args = ["plugin", "init", "demo_plugin", "--category", "text", "--no-input", "--output", out];
    const text = await runCli(args, { cwd: dir.path });
    assertEquals(text.code, 1, text.stderr);
    assert(!text.stderr.includes("os error"), text.stderr);
    assertStringIncludes(text.stderr, `${dir.path}/blocker`);
    assertStringIncludes(text.stderr, "not a directory");
    assertStringIncludes(text.stderr, "hint:");
    const json = await runCli(["--json", ...args], { cwd: dir.path });
    assertEquals(json.code, 1);
    const doc = JSON.parse(json.stdout).error;
    assert(!doc.message.includes("os error"), doc.message);
    assertEquals(typeof doc.hint, "string");
  },
});

Deno.test({
  name: "a TMPDIR that does not exist: the error names it and says to create it or change TMPDIR",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    const root = `${dir.path}/demo_plugin`;
    const init = await runCli(["plugin", "init", "demo_plugin", "--category", "text", "--no-input"], {
      cwd: dir.path,
    });
    assertEquals(init.code, 0, init.stderr);
    const missing = `${dir.path}/no-such-tmp`;
    const r = await runCli(["plugin", "publish", "--path", root, "--dry-run"], { env: { TMPDIR: missing } });
    assertEquals(r.code, 1, r.stderr);
    assert(!r.stderr.includes("os error"), r.stderr);
    assertStringIncludes(r.stderr, `creating a temporary folder in ${missing}`);
    assertStringIncludes(r.stderr, `hint: the temp folder ${missing} does not exist`);
  },
});

Deno.test({
  name: "mixpeek local --data-dir inside a file: the folder, the reason in words and a hint, exit 1",
  ignore: !isLinux,
  async fn() {
    await using dir = await tempDir();
    await Deno.writeTextFile(`${dir.path}/blocker`, "a file, not a folder\n");
    const r = await runCli(["local", "--port", "0", "--data-dir", `${dir.path}/blocker/registry`]);
    assertEquals(r.code, 1, r.stderr);
    assert(!r.stderr.includes("os error"), r.stderr);
    assertStringIncludes(r.stderr, `${dir.path}/blocker/registry`);
    assertStringIncludes(r.stderr, "not a directory");
    assertStringIncludes(r.stderr, "hint:");
  },
});
