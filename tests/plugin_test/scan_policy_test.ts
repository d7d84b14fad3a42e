/**
 * One scan policy for `plugin validate`/`test`, `plugin scan` and publish (lib/scan/policy.ts): the
 * platform's warnings (here, `pickle` use) are shown with file:line:column and do not fail a plugin; errors
 * do; `plugin scan --strict` turns the warnings into errors (exit 3).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { copyFixture, pluginValidate } from "./_helpers.ts";

const WARNED = "import pickle\n\n\ndef snapshot(value):\n    return pickle.dumps(value)\n";

Deno.test("a platform warning passes validate (listed with its column), and fails plugin scan --strict", async () => {
  await using dir = await tempDir();
  const root = await copyFixture("mixpeek_v1/text_extractor", dir.path, "warned_plugin");
  await Deno.writeTextFile(`${root}/processors/cache.py`, WARNED);

  const validate = await pluginValidate([root]);
  assertEquals(validate.code, 0, validate.stdout + validate.stderr);
  const scanLine = validate.stdout.split("\n").find((l) => l.includes("scan"))!;
  assertStringIncludes(scanLine, "no errors; 2 warnings");
  assert(/processors\/cache\.py:1:8: warning: deserialization-module/.test(validate.stdout), validate.stdout);

  const json = JSON.parse((await pluginValidate(["--json", root])).stdout);
  const scan = json.checks.find((c: { id: string }) => c.id === "scan");
  assertEquals(scan.status, "pass");
  assertEquals([scan.details[0].file, scan.details[0].line, scan.details[0].column], [
    "processors/cache.py",
    1,
    8,
  ]);

  const plain = await runCli(["plugin", "scan", root]);
  assertEquals(plain.code, 0, plain.stdout + plain.stderr);
  const strict = await runCli(["plugin", "scan", "--strict", root]);
  assertEquals(strict.code, 3, strict.stdout + strict.stderr);

  // An error beside the warning fails the check, and both are listed.
  await Deno.writeTextFile(
    `${root}/processors/cache.py`,
    WARNED + "\n\ndef load(blob):\n    return pickle.loads(blob)\n",
  );
  const failed = await pluginValidate(["--json", root]);
  assertEquals(failed.code, 3);
  const failedScan = JSON.parse(failed.stdout).checks.find((c: { id: string }) => c.id === "scan");
  assertEquals(failedScan.status, "fail");
  assertStringIncludes(failedScan.reason, "1 finding");
});
