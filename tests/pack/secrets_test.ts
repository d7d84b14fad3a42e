/**
 * The secret guard knows Mixpeek's own key shapes: `sk_live_…`/`sk_test_…` (as Mixpeek's docs spell them),
 * other `sk_…` keys, and the `mxp_local_…` dev key `mixpeek local` prints; in a file's content and in its
 * name. Keys are built from pieces so this file does not itself look like it holds them.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { findSecretInText, secretByName } from "../../lib/pack/secrets.ts";
import { writeTree } from "./_helpers.ts";

const LIVE = "sk_" + "live_" + "9fQ2xLm4Rt7Vb1Nc";
const TEST = "sk_" + "test_" + "51HqLyjWDarjtT1zdp7dc";
const PLAIN = "sk_" + "a8F3k29dLq0ZxW7pVn4T";
const DEV = "mxp_" + "local_" + "0f4c2b9e8a7d4c3b9e1f2a3b4c5d6e7f";

Deno.test("secrets: Mixpeek-style keys in content; placeholders and ordinary identifiers are not keys", () => {
  assertEquals(findSecretInText(`KEY = "${LIVE}"`)?.kind, "secret key (sk_live_/sk_test_…)");
  assertEquals(findSecretInText(`key: ${TEST}`)?.kind, "secret key (sk_live_/sk_test_…)");
  assertEquals(findSecretInText(`MIXPEEK_API_KEY=${PLAIN}`)?.kind, "Mixpeek API key (sk_…)");
  assertEquals(findSecretInText(`export MIXPEEK_API_KEY=${DEV}`)?.kind, "Mixpeek API key (mxp_…)");
  for (
    const harmless of [
      'MIXPEEK_API_KEY = "sk_your_api_key"',
      "Authorization: Bearer sk_xxxxxxxxxxxxx",
      "ask_questions_quickly_and_often_2",
      "task_runner_for_background_jobs",
      "def risk_score_v2(batch): ...",
      "mxp_placeholder_value_here",
    ]
  ) {
    assertEquals(findSecretInText(harmless), undefined, harmless);
  }
});

Deno.test("secrets: a key in a file or folder name is caught like one in the content", () => {
  assertEquals(secretByName(`notes/${LIVE}.txt`), "secret key (sk_live_/sk_test_…) in the file name");
  assertEquals(secretByName(`${DEV}/readme.md`), "Mixpeek API key (mxp_…) in the file name");
  assertEquals(secretByName("processors/risk_score_v2.py"), undefined);
});

Deno.test("pack: the dev key mixpeek local prints, and a key in a file name, stop the pack (exit 3, nothing written)", async () => {
  await using work = await tempDir();
  const root = `${work.path}/p`;
  await writeTree(root, {
    "manifest.py": "",
    "settings.py": `API_KEY = "${DEV}"\n`,
    [`keys/${TEST}.txt`]: "",
  });
  const refused = await runCli(["plugin", "pack", "--path", root]);
  assertEquals(refused.code, 3, refused.stderr);
  assertStringIncludes(refused.stderr, "2 files look like secrets");
  assertStringIncludes(refused.stderr, "settings.py:1: Mixpeek API key (mxp_…)");
  assertStringIncludes(refused.stderr, "secret key (sk_live_/sk_test_…) in the file name");
  assertEquals(refused.stdout, "");
  assertEquals(
    (await Deno.stat(`${root}/dist`).catch(() => undefined)) === undefined,
    true,
    "no dist/ written",
  );
});
