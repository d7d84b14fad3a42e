/**
 * Issue 15 end to end, through the CLI as an author runs it against `mixpeek local` with real workers:
 * publish → status --wait → invoke (twice, and with --parameters) → undeploy → invoke fails; once for the
 * realtime text template and once for a plugin in the shape of Mixpeek's original template (a
 * BaseInferenceService with `_process_single`). The answers are checked against the plugin's own functions
 * run directly in Python, so only running the plugin's code can pass.
 */
import { runtimePath } from "../../lib/plugin/runtime.ts";
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";
import { copyTree } from "../plugin_test/_helpers.ts";
import { scaffold } from "../publish/_helpers.ts";
import { alive, FIXTURES, python, startWorkerRegistry } from "./_helpers.ts";

Deno.test("realtime text template: publish, status --wait, two invokes give the plugin's own embeddings, undeploy", async () => {
  await using w = await startWorkerRegistry();
  const env = { MIXPEEK_BASE_URL: w.reg.url, MIXPEEK_API_KEY: w.reg.key, MIXPEEK_NAMESPACE: "default" };
  const cli = (args: string[]) => runCli(args, { env });
  await using dir = await tempDir("mixpeek-deploy-e2e-");
  const root = await scaffold(dir.path, "rt_embed", { realtime: true });

  const published = await cli(["--json", "plugin", "publish", root, "--yes"]);
  assertEquals(published.code, 0, published.stderr);
  const id = JSON.parse(published.stdout).plugin_id as string;
  const waited = await cli(["--json", "plugin", "status", id, "--wait", "--timeout", "120"]);
  assertEquals(waited.code, 0, waited.stderr);
  const status = JSON.parse(waited.stdout);
  assertEquals([status.status, status.realtime_enabled, status.route_prefix], [
    "deployed",
    true,
    `/inference/custom_plugin_${id}`,
  ]);
  const [worker] = w.deployer().workers();
  assert(worker && await alive(worker.pid), "a worker hosts the deployment");

  const texts = ["a quick brown fox", "Mixpeek plugins embed text"];
  const answers = [];
  for (const text of texts) {
    const r = await cli(["--json", "plugin", "invoke", id, "--inputs", JSON.stringify({ text })]);
    assertEquals(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout); // the whole PluginRealtimeTestResponse
    assertEquals([answer.status, answer.inference_name, answer.response_type, answer.error], [
      "success",
      `custom_plugin_${id}`,
      "dict",
      null,
    ]);
    assertEquals(answer.response_keys.sort(), ["embedding", "rt_embed_embedding", "token_count"]);
    answers.push(answer.raw_response);
  }
  const withBigrams = await cli([
    "--json",
    "plugin",
    "invoke",
    id,
    "--inputs",
    JSON.stringify({ text: texts[0] }),
    "--parameters",
    '{"ngram": 2}',
  ]);
  assertEquals(withBigrams.code, 0, withBigrams.stderr);

  // The same function of the plugin, run directly: the manifest's size, its defaults, its n-gram hashing.
  const expected = JSON.parse(
    await python(
      `import json
from rt_embed import manifest
from rt_embed.processors.vectors import ngram_vector
params = manifest.parameter_schema()
texts = ${JSON.stringify(texts)}
print(json.dumps({
    "dim": manifest.features[0]["embedding_dim"],
    "vectors": [ngram_vector(t, manifest.EMBEDDING_DIM, params.ngram, params.lowercase) for t in texts],
    "bigrams": ngram_vector(texts[0], manifest.EMBEDDING_DIM, 2, params.lowercase),
    "tokens": [len(t.split()) for t in texts],
}))`,
      dir.path,
      await runtimePath(),
    ),
  );
  assertEquals(expected.dim, 128);
  assertNotEquals(answers[0].embedding, answers[1].embedding, "two inputs, two embeddings");
  for (const [i, answer] of answers.entries()) {
    assertEquals(answer.embedding.length, expected.dim, "the size the manifest declares");
    assertEquals(answer.embedding, expected.vectors[i], "computed by the plugin's own ngram_vector");
    assertEquals(answer.rt_embed_embedding, expected.vectors[i]);
    assertEquals(answer.token_count, expected.tokens[i]);
  }
  assertEquals(
    JSON.parse(withBigrams.stdout).raw_response.embedding,
    expected.bigrams,
    "--parameters reach it",
  );

  // Without --json: the service's answer itself, as JSON on stdout (and --inputs from a file).
  await Deno.writeTextFile(`${dir.path}/query.json`, JSON.stringify({ text: texts[1] }));
  const human = await cli(["plugin", "invoke", id, "--inputs", `@${dir.path}/query.json`]);
  assertEquals(human.code, 0, human.stderr);
  assertEquals(JSON.parse(human.stdout), answers[1]);

  // The deployment's own route answers the same, with the service's answer as the body.
  const direct = await fetch(`${w.reg.url}/inference/custom_plugin_${id}`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.reg.key}`, "content-type": "application/json" },
    body: JSON.stringify({ inputs: { text: texts[0] } }),
  });
  assertEquals([direct.status, direct.headers.get("x-response-type")], [200, "dict"]);
  assertEquals(await direct.json(), answers[0]);

  // Undeploy: not_deployed, the worker is gone, and invoke says why with exit 1.
  const undeployed = await cli(["--json", "plugin", "undeploy", id]);
  assertEquals([undeployed.code, JSON.parse(undeployed.stdout).deployment_removed], [0, true]);
  const after = await cli(["plugin", "status", id]);
  assertEquals(after.stdout.split("\n")[0], "not_deployed");
  assertEquals(w.deployer().workers(), []);
  assertEquals(await alive(worker.pid), false, "undeploy stopped the worker");
  const refused = await cli(["plugin", "invoke", id, "--inputs", JSON.stringify({ text: texts[0] })]);
  assertEquals(refused.code, 1, refused.stderr);
  assertStringIncludes(refused.stderr, `${id} is not deployed for realtime inference (status: not_deployed)`);
  assertStringIncludes(refused.stderr, `mixpeek plugin deploy ${id}`);
  const refusedJson = await cli(["--json", "plugin", "invoke", id, "--inputs", "{}"]);
  assertEquals(refusedJson.code, 1);
  assertEquals(JSON.parse(refusedJson.stdout).error.exit_code, 1);
});

Deno.test("a plugin in the shape of Mixpeek's original template (_process_single) deploys and answers", async () => {
  await using w = await startWorkerRegistry();
  const env = { MIXPEEK_BASE_URL: w.reg.url, MIXPEEK_API_KEY: w.reg.key, MIXPEEK_NAMESPACE: "default" };
  const cli = (args: string[]) => runCli(args, { env });
  await using dir = await tempDir("mixpeek-deploy-v1-");
  const root = `${dir.path}/text_extractor`;
  await copyTree(`${FIXTURES}/mixpeek_v1/text_extractor`, root);

  const published = await cli(["--json", "plugin", "publish", "-p", root, "--yes"]);
  assertEquals(published.code, 0, published.stderr);
  const id = JSON.parse(published.stdout).plugin_id as string;
  assertEquals(id, "text_extractor_1_0_0", "version v1 is sent as 1.0.0");
  const waited = await cli(["plugin", "status", id, "--wait", "--timeout", "120"]);
  assertEquals(waited.code, 0, waited.stderr);
  assertEquals(waited.stdout.split("\n")[0], "deployed");
  assertEquals(w.deployer().workers().map((x) => x.service), ["TextExtractorRealtimeService"]);

  const texts = ["hello world", "a much longer text that the processor scores higher than the first one"];
  const results = [];
  for (const text of texts) {
    const r = await cli(["plugin", "invoke", id, "--inputs", JSON.stringify({ text })]);
    assertEquals(r.code, 0, r.stderr);
    results.push(JSON.parse(r.stdout));
  }
  const expected = JSON.parse(
    await python(
      `import json
from text_extractor.processors.core import TextExtractorConfig, TextExtractorProcessor
processor = TextExtractorProcessor(TextExtractorConfig())
print(json.dumps([dict(zip(("result", "confidence"), processor._process_single(t))) for t in ${
        JSON.stringify(texts)
      }]))`,
      dir.path,
      await runtimePath(),
    ),
  );
  assertEquals(results, expected, "the answers of the plugin's own _process_single");
  assertNotEquals(results[0], results[1]);
  assertEquals(results[0].result, "Processed: hello world");

  assertEquals((await cli(["plugin", "undeploy", id])).code, 0);
  assertEquals((await cli(["plugin", "status", id])).stdout.split("\n")[0], "not_deployed");
  const refused = await cli(["plugin", "invoke", id, "--inputs", '{"text": "hi"}']);
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "is not deployed for realtime inference (status: not_deployed)");
});
