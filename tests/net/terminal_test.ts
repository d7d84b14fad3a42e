/**
 * What a person at a terminal sees, in a real pseudo-terminal (tests/helpers/pty_drive.py), and that pipes
 * and --json stay clean:
 * - progress on long work: packing and the upload show bytes and rate; the server's validation and the
 *   deployment show a spinner with the status and the time elapsed; a stalled upload never leaves a
 *   "100 %" on screen (the line says it waits for the answer, then the stall warning replaces it);
 * - one rule for a declined prompt, and `--no-input` never deletes without `--yes`;
 * - Ctrl-C during `plugin test` prints only "interrupted" (exit 130).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { runInTerminal, tempDir } from "../helpers/cli.ts";
import { scaffold, startE2E } from "../publish/_helpers.ts";
import { screenLines } from "./_helpers.ts";

const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

Deno.test("publish in a terminal: packing and upload progress, spinners while validating and deploying, no stale 100 %", async () => {
  await using e2e = await startE2E({
    deployStepMs: 400,
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 1 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "on_screen", { realtime: true });
  // Bulk for the byte counts (a model file would be much larger): 3 MiB that gzip cannot shrink.
  const bulk = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < bulk.length; i += 65536) crypto.getRandomValues(bulk.subarray(i, i + 65536));
  await Deno.writeFile(`${root}/weights.bin`, bulk);
  const r = await runInTerminal(["plugin", "publish", root, "--yes", "--wait"], [], {
    home: dir.path,
    env: { ...e2e.env, MIXPEEK_UPLOAD_STALL_TIMEOUT: "1" },
  });
  assertEquals(r.exit_code, 0, r.output);
  const frames = r.raw.split(new RegExp("\r|\x1b\\[2K")).map((f) => f.trim()).filter((f) =>
    SPINNER.test(f[0] ?? "")
  );
  // Packing: bytes (and a rate) drawn while the files are read, compressed and hashed.
  assert(
    frames.some((f) => /^. packing +\d+ % [\d.]+ (B|KiB|MiB) \/ 3\.\d MiB [\d.]+ (B|KiB|MiB)\/s ETA/.test(f)),
    frames.join("\n"),
  );
  // The upload: bytes and rate, then, all bytes out, the wait for the storage's answer with its time.
  assert(frames.some((f) => /^. uploading +\d+ % .* \/ 3\.\d MiB /.test(f)), frames.join("\n"));
  assert(
    frames.some((f) => /^. uploading: 3\.\d MiB sent, waiting for the storage to answer \(\d+s\)$/.test(f)),
    frames.join("\n"),
  );
  // The server's validation and the deployment: a spinner with the status and the time elapsed.
  assert(
    frames.some((f) => /^. validating: the server checks and scans the upload \(\d+s\)$/.test(f)),
    frames.join("\n"),
  );
  assert(
    frames.some((f) => /^. waiting for the deployment: (queued|pending|in_progress) \(\d+s\)$/.test(f)),
    frames.join("\n"),
  );

  const screen = screenLines(r.raw);
  assert(!screen.some((l) => l.includes("100 %")), `a stale 100 % on screen:\n${screen.join("\n")}`);
  assert(
    !screen.some((l) => SPINNER.test(l[0] ?? "")),
    `a live line was left on screen:\n${screen.join("\n")}`,
  );
  assert(
    screen.includes(
      "warning: the upload stalled: no progress for 1 s; requesting a fresh upload URL (attempt 2 of 4)",
    ),
    screen.join("\n"),
  );
  assert(
    screen.some((l) => /^uploaded 3\.\d MiB in \d+\.\d s \([\d.]+ (KiB|MiB|GiB)\/s\)$/.test(l)),
    screen.join("\n"),
  );
  assert(screen.includes("deployment: deployed"), screen.join("\n"));
  assertMatch(screen.join("\n"), /published on_screen 0\.1\.0 as on_screen_0_1_0/);
});

Deno.test("pipes and --json stay clean: no live lines, no carriage returns, no escapes", async () => {
  await using e2e = await startE2E({
    faults: [{ method: "PUT", path: "/_uploads/*", fault: "hang", times: 1 }],
  });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "piped");
  const r = await e2e.cli(["plugin", "publish", root, "--wait"], {
    env: { MIXPEEK_UPLOAD_STALL_TIMEOUT: "0.5" },
  });
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stderr.includes("\r") && !r.stderr.includes("\x1b"), JSON.stringify(r.stderr));
  assert(!SPINNER.test(r.stderr) && !/ % |packing|uploading/.test(r.stderr), r.stderr);
  assertStringIncludes(
    r.stderr,
    "warning: the upload stalled: no progress for 0.5 s; requesting a fresh upload URL",
  );
  const pack = await e2e.cli(["plugin", "pack", root, "-o", `${dir.path}/p.tar.gz`]);
  assertEquals([pack.code, pack.stderr], [0, ""]);

  // --json in a terminal: the document on stdout, no live line on stderr.
  const json = await runInTerminal(["--json", "plugin", "pack", root, "-o", `${dir.path}/q.tar.gz`], [], {
    home: dir.path,
    env: e2e.env,
  });
  assertEquals(json.exit_code, 0, json.output);
  assert(!SPINNER.test(json.raw) && !json.raw.includes("packing"), json.raw);
  assertEquals(JSON.parse(json.output).file_count > 0, true);
});

Deno.test("`plugin pack` in a terminal shows bytes and rate while packing, and leaves only its result", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "packed_here");
  const bulk = new Uint8Array(24 * 1024 * 1024);
  for (let i = 0; i < bulk.length; i += 65536) crypto.getRandomValues(bulk.subarray(i, i + 65536));
  await Deno.writeFile(`${root}/weights.bin`, bulk);
  const r = await runInTerminal(["plugin", "pack", root, "-o", `${dir.path}/out.tar.gz`], [], {
    home: dir.path,
  });
  assertEquals(r.exit_code, 0, r.output);
  assertMatch(r.raw, /. packing +\d+ % [\d.]+ (B|KiB|MiB) \/ 24\.\d MiB [\d.]+ (B|KiB|MiB|GiB)\/s ETA/);
  const screen = screenLines(r.raw);
  assert(!screen.some((l) => SPINNER.test(l[0] ?? "")), screen.join("\n"));
  assertMatch(screen.join("\n"), /^path {4}.*out\.tar\.gz$/m);
});

Deno.test("one rule for a declined prompt, and --no-input never deletes without --yes, even in a terminal", async () => {
  await using e2e = await startE2E();
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "asked_twice");
  const pub = await e2e.cli(["--json", "plugin", "publish", root]);
  assertEquals(pub.code, 0, pub.stderr);
  const id = JSON.parse(pub.stdout).plugin_id;

  // --no-input in a terminal: no question, no delete, exit 2 naming --yes.
  const refused = await runInTerminal(["plugin", "delete", id, "--no-input"], [], {
    home: dir.path,
    env: e2e.env,
  });
  assertEquals(refused.exit_code, 2, refused.output);
  assertStringIncludes(refused.output, `error: refusing to delete ${id} without confirmation`);
  assertStringIncludes(refused.output, "hint: pass --yes (--no-input turns the question off)");
  assert(!refused.output.includes("Delete"), "it asked");
  assertEquals((await e2e.cli(["plugin", "get", id])).code, 0, "the plugin was deleted");

  // A "no" to the publish question and to the delete question: the same line, the same exit code.
  const bumped = (await Deno.readTextFile(`${root}/manifest.py`)).replace(/"0\.1\.0"/g, '"0.2.0"');
  await Deno.writeTextFile(`${root}/manifest.py`, bumped);
  const publishNo = await runInTerminal(["plugin", "publish", root], [["Publish asked_twice", "n\r"]], {
    home: dir.path,
    env: e2e.env,
  });
  const deleteNo = await runInTerminal(["plugin", "delete", id], [["Delete asked_twice", "n\r"]], {
    home: dir.path,
    env: e2e.env,
  });
  for (const declined of [publishNo, deleteNo]) {
    assertEquals(declined.exit_code, 1, declined.output);
    const lines = screenLines(declined.raw);
    assertEquals(lines[lines.length - 1], "cancelled: nothing was changed");
  }
  const list = JSON.parse((await e2e.cli(["--json", "plugin", "list", "-s", "custom"])).stdout);
  assertEquals(list.plugins.map((p: { plugin_id: string }) => p.plugin_id), [id], "something was changed");
});

Deno.test('Ctrl-C during `plugin test` prints only "interrupted" (exit 130), no made-up pytest failure', async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "interrupt_me");
  await Deno.writeTextFile(
    `${root}/tests/test_slow.py`,
    "import time\n\n\ndef test_slow():\n    time.sleep(60)\n",
  );
  const r = await runInTerminal(["plugin", "test", root], [["✓ scan", "\x03"]], { home: dir.path });
  assertEquals(r.exit_code, 130, r.output);
  const screen = screenLines(r.raw);
  // The terminal's own "^C" echo is overwritten by the message: after the last check, only that line.
  const after = screen.slice(screen.findIndex((l) => l.startsWith("✓ scan")) + 1);
  assertEquals(after, ["interrupted"], screen.join("\n"));
  assert(!/pytest|✗|tests {2}/.test(r.output), r.output);
});

Deno.test('Ctrl-C during `status --wait`: "interrupted", exit 130, and how to follow the deployment', async () => {
  await using e2e = await startE2E({ deployStepMs: 5000 });
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "waited_on", { realtime: true });
  const pub = await e2e.cli(["--json", "plugin", "publish", root]);
  assertEquals(pub.code, 0, pub.stderr);
  const id = JSON.parse(pub.stdout).plugin_id;
  const r = await runInTerminal(["plugin", "status", id, "--wait"], [[
    "waiting for the deployment of",
    "\x03",
  ]], {
    home: dir.path,
    env: e2e.env,
  });
  assertEquals(r.exit_code, 130, r.output);
  const screen = screenLines(r.raw);
  assertEquals(screen.slice(-2), [
    "interrupted: the deployment continues on the server",
    `hint: follow it with \`mixpeek plugin status ${id} --wait\``,
  ]);
  assert(!screen.some((l) => SPINNER.test(l[0] ?? "")), screen.join("\n"));
});
