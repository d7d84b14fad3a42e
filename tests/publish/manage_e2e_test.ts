/**
 * The prompts of publish and delete, answered in a real pseudo-terminal, and `status --wait` on a plugin
 * the registry rejected.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runInTerminal, tempDir, type TerminalScript } from "../helpers/cli.ts";
import { pluginArchive, publish as apiPublish, waitFor } from "../local/_helpers.ts";
import { scaffold, startE2E } from "./_helpers.ts";

/** `mixpeek args…` in a real pseudo-terminal, pointed at the registry, typing `script` at the prompts. */
function inTerminal(
  e2e: { env: Record<string, string> },
  home: string,
  args: string[],
  script: TerminalScript,
) {
  return runInTerminal(args, script, { home, env: e2e.env });
}

Deno.test("in a terminal, publish asks before uploading (no = nothing sent) and delete asks before deleting", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "asked");

  const declined = await inTerminal(e2e, dir.path, ["plugin", "publish", "--path", root], [[
    "Publish asked 0\\.1\\.0",
    "n\r",
  ]]);
  assertEquals(declined.exit_code, 1, declined.output);
  assertStringIncludes(declined.output, "nothing was sent");
  assertStringIncludes(declined.output, "to namespace default at http://127.0.0");
  assert(!e2e.log.some((l) => l.includes("/plugins/uploads")), "declining still uploaded");

  const accepted = await inTerminal(e2e, dir.path, ["plugin", "publish", "--path", root, "--wait"], [[
    "Publish asked",
    "y\r",
  ]]);
  assertEquals(accepted.exit_code, 0, accepted.output);
  const id = accepted.output.match(/as (plg_\w+): ready/)?.[1];
  assert(id, accepted.output);

  const kept = await inTerminal(e2e, dir.path, ["plugin", "delete", id], [["Delete asked 0\\.1\\.0", "\r"]]);
  assertEquals(kept.exit_code, 0, kept.output);
  assertStringIncludes(kept.output, "not deleted");
  assertEquals((await e2e.cli(["plugin", "status", id])).stdout.trim(), "ready");

  const removed = await inTerminal(e2e, dir.path, ["plugin", "delete", id], [["Delete asked", "y\r"]]);
  assertEquals(removed.exit_code, 0, removed.output);
  assertStringIncludes(removed.output, `deleted ${id}`);
  assertEquals((await e2e.cli(["plugin", "get", id])).code, 5);

  // --yes skips the question even in a terminal.
  const yes = await inTerminal(e2e, dir.path, ["plugin", "publish", "--path", root, "--yes"], []);
  assertEquals(yes.exit_code, 0, yes.output);
  assert(!yes.output.includes("Publish asked"));
});

Deno.test("status --wait on a plugin the registry rejected exits 3 with the registry's reason", async () => {
  await using e2e = await startE2E();
  // Uploaded straight through the API (the CLI's own scan would have stopped it before any upload).
  const archive = await pluginArchive("rejected", {
    mutate: (root) => Deno.writeTextFile(`${root}/processors/net.py`, "import socket\n"),
  });
  const record = await apiPublish(e2e.reg, "rejected", "0.1.0", archive);
  await waitFor(e2e.reg, record.plugin_id);

  const r = await e2e.cli(["--json", "plugin", "status", record.plugin_id, "--wait", "--timeout", "30"]);
  assertEquals(r.code, 3, r.stderr);
  const status = JSON.parse(r.stdout); // one document: the status, not an extra error object
  assertEquals(status.status, "failed");
  assertStringIncludes(status.error, "processors/net.py");
  assertStringIncludes(r.stderr, "processors/net.py");
  const plain = await e2e.cli(["plugin", "status", record.plugin_id]);
  assertEquals(plain.code, 0, "without --wait the status is reported, not judged");
  assert(plain.stdout.startsWith("failed: "));

  const bad = await e2e.cli(["plugin", "status", record.plugin_id, "--wait", "--timeout", "soon"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--timeout must be a positive number of seconds");
});
