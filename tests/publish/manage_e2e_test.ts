/**
 * The prompts of publish and delete, answered in a real pseudo-terminal; `status --wait` on a deployment that
 * failed; the confirm of a plugin the registry rejects.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { screenLines } from "../net/_helpers.ts";
import { runInTerminal, tempDir, type TerminalScript } from "../helpers/cli.ts";
import type { Deployer } from "../../lib/local/deployer.ts";
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
    "Publish asked \\d",
    "n\r",
  ]]);
  assertEquals(declined.exit_code, 1, declined.output);
  assertEquals(screenLines(declined.raw).at(-1), "cancelled: nothing was changed");
  assert(!declined.output.includes("error:"), "declining is not an error");
  assertStringIncludes(declined.output, "to namespace default at http://127.0.0");
  assert(!e2e.log.some((l) => l.includes("/plugins/uploads")), "declining still uploaded");

  const accepted = await inTerminal(e2e, dir.path, ["plugin", "publish", "--path", root, "--wait"], [[
    "Publish asked",
    "y\r",
  ]]);
  assertEquals(accepted.exit_code, 0, accepted.output);
  const id = accepted.output.match(/as (asked_\w+) \(mixpeek:/)?.[1];
  assert(id, accepted.output);

  // The same rule for the delete's question (its default is no): the same line, the same exit code.
  const kept = await inTerminal(e2e, dir.path, ["plugin", "delete", id], [["Delete asked \\d", "\r"]]);
  assertEquals(kept.exit_code, 1, kept.output);
  assertEquals(screenLines(kept.raw).at(-1), "cancelled: nothing was changed");
  assertEquals((await e2e.cli(["plugin", "status", id])).stdout.split("\n")[0], "deployed");

  const removed = await inTerminal(e2e, dir.path, ["plugin", "delete", id], [["Delete asked", "y\r"]]);
  assertEquals(removed.exit_code, 0, removed.output);
  assertStringIncludes(removed.output, `Plugin ${id} deleted`);
  assertEquals((await e2e.cli(["plugin", "get", id])).code, 5);

  // --yes skips the question even in a terminal.
  const yes = await inTerminal(e2e, dir.path, ["plugin", "publish", "--path", root, "--yes"], []);
  assertEquals(yes.exit_code, 0, yes.output);
  assert(!yes.output.includes("Publish asked"));
});

/** A Deployer whose realtime deployments fail, as a crashing worker would make them. */
const failing: Deployer = {
  method: "test_failing",
  async start(_target, report) {
    report({ status: "pending" });
    await new Promise((r) => setTimeout(r, 20));
    report({ status: "failed", error: "the worker exited with code 1: ImportError in realtime.py" });
  },
  stop: () => Promise.resolve(),
  invoke: () => Promise.reject(new Error("not running")),
  close: () => Promise.resolve(),
};

Deno.test("status --wait on a deployment that failed exits 1 with the reason; publish --wait too", async () => {
  await using e2e = await startE2E({ deployer: failing });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "crashing", { realtime: true });
  const pub = await e2e.cli(["--json", "plugin", "publish", root, "--wait"]);
  assertEquals(pub.code, 1, pub.stderr);
  assertStringIncludes(pub.stderr, "is published, but its deployment failed: the worker exited with code 1");
  const id = JSON.parse(pub.stdout).error.message.match(/plugin (crashing_\w+) is published/)?.[1];
  assertStringIncludes(
    pub.stderr,
    `hint: see it with \`mixpeek plugin status ${id}\` or \`mixpeek plugin get ${id}\``,
  );
  assert(id, pub.stdout);

  const r = await e2e.cli(["--json", "plugin", "status", id, "--wait", "--timeout", "30"]);
  assertEquals(r.code, 1, r.stderr);
  const status = JSON.parse(r.stdout); // one document: the status, not an extra error object
  assertEquals(status.status, "failed");
  assertStringIncludes(status.error, "ImportError in realtime.py");
  assertStringIncludes(r.stderr, "ImportError in realtime.py");
  const plain = await e2e.cli(["plugin", "status", id]);
  assertEquals(plain.code, 0, "without --wait the status is reported, not judged");
  assert(plain.stdout.startsWith("failed: "));

  const bad = await e2e.cli(["plugin", "status", id, "--wait", "--timeout", "soon"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--timeout must be a positive number of seconds");
});

Deno.test("a plugin the registry rejects at confirm exits 3 listing its validation_errors", async () => {
  // A registry whose scan finds what the CLI's own scan does not (a rule the client does not know yet).
  await using e2e = await startE2E({
    checks: {
      extract: (await import("../../lib/pack/extract.ts")).extractArchive,
      checkLayout: () => Promise.resolve([]),
      scanTree: () =>
        Promise.resolve({
          findings: [{
            file: "processors/core.py",
            line: 3,
            column: 1,
            rule_id: "server-only-rule",
            category: "policy",
            message: "the server forbids this",
          }],
        }),
    },
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "refused");
  const r = await e2e.cli(["--json", "plugin", "publish", root]);
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, "the server rejected refused");
  assertStringIncludes(
    r.stderr,
    "security: processors/core.py:3:1: server-only-rule (policy): the server forbids this",
  );
  assertEquals(JSON.parse(r.stdout).error.exit_code, 3);
  assert(!e2e.log.some((l) => l.includes("/deploy")), "a rejected plugin is not deployed");
});
