/**
 * The README's two set-up commands are what CI and a newcomer run: `.ci/run` must call the README's test
 * command word for word, and both commands must keep Deno's first-run noise (downloads, the nodeModulesDir
 * advice box, "Check …" lines) out of the transcript with `task --quiet`.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ROOT } from "../helpers/cli.ts";

async function _quickStart(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme);
  assert(block, "README.md has a Quick start with a sh block");
  return block[1].split("\n").map((line) => line.replace(/#.*$/, "").trim()).filter(Boolean);
}

Deno.test("README quick start: a demo and a test command, both quiet; .ci/run runs the test one verbatim", async () => {
  const commands = await _quickStart();
  assertEquals(commands.length, 2, commands.join("\n"));
  const [demo, test] = commands;
  assertEquals(demo, "npx -y deno@2.9.6 task --quiet demo");
  assertEquals(test, "npx -y deno@2.9.6 task --quiet test");
  const ci = await Deno.readTextFile(`${ROOT}/.ci/run`);
  assert(
    ci.split("\n").some((line) => line.startsWith(`${test} `) || line === test),
    ".ci/run calls: " + test,
  );
});
