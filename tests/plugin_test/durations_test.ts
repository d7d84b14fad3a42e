/**
 * Test durations are the wall time of the step: the `tests` check's line says how long pytest took from
 * start to finish (interpreter start-up, conftest, collection), the same figure as its `duration_ms` in
 * --json, not pytest's own "time" (which leaves those out: a one-second conftest showed as "in 0.00 s").
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { scaffold } from "../publish/_helpers.ts";

Deno.test("the tests check shows the step's wall time, in the text and as duration_ms in --json", async () => {
  await using dir = await tempDir();
  const root = await scaffold(dir.path, "timed_tests");
  // Loaded before pytest starts its own clock.
  await Deno.writeTextFile(`${root}/tests/conftest.py`, "import time\n\ntime.sleep(1.0)\n");

  const json = await runCli(["--json", "plugin", "test", root]);
  assertEquals(json.code, 0, json.stderr);
  const tests = JSON.parse(json.stdout).checks.find((c: { id: string }) => c.id === "tests");
  assertEquals(tests.status, "pass");
  assert(tests.duration_ms >= 1000, `duration_ms ${tests.duration_ms} is shorter than the conftest's sleep`);
  const shown = tests.reason.match(/ in (\d+\.\d\d) s$/)?.[1];
  assertEquals(shown, (tests.duration_ms / 1000).toFixed(2), tests.reason);

  const text = await runCli(["plugin", "test", root]);
  assertEquals(text.code, 0, text.stderr);
  const line = text.stdout.split("\n").find((l) => l.startsWith("✓ tests"));
  assertMatch(line ?? "", /^✓ tests +\d+ passed in (\d+\.\d\d) s$/);
  assert(Number(line!.match(/in (\d+\.\d\d) s$/)![1]) >= 1.0, line);
});
