import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { runCli, tempDir } from "../helpers/cli.ts";

const KEY = "mxp_sk_live_0123456789abcdefSECRET";

async function getJson(args: string[], env: Record<string, string>) {
  const r = await runCli(["--json", ...args], { env });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

Deno.test("config: precedence flag > env > file > default, proven for each level", async () => {
  await using dir = await tempDir();
  const env = { MIXPEEK_CONFIG_DIR: dir.path };

  let got = await getJson(["config", "get", "base-url"], env);
  assertEquals(got, { key: "base-url", value: "https://api.mixpeek.com", source: "default" });

  const set = await runCli(["config", "set", "base-url", "https://file.example.com"], { env });
  assertEquals(set.code, 0, set.stderr);
  got = await getJson(["config", "get", "base-url"], env);
  assertEquals(got, { key: "base-url", value: "https://file.example.com", source: "file" });

  const withEnv = { ...env, MIXPEEK_BASE_URL: "https://env.example.com" };
  got = await getJson(["config", "get", "base-url"], withEnv);
  assertEquals(got, { key: "base-url", value: "https://env.example.com", source: "env" });

  got = await getJson(["--base-url", "https://flag.example.com", "config", "get", "base-url"], withEnv);
  assertEquals(got, { key: "base-url", value: "https://flag.example.com", source: "flag" });

  // An empty environment variable counts as unset.
  got = await getJson(["config", "get", "base-url"], { ...env, MIXPEEK_BASE_URL: "" });
  assertEquals(got.source, "file");

  const unset = await runCli(["config", "unset", "base-url"], { env });
  assertEquals(unset.code, 0, unset.stderr);
  got = await getJson(["config", "get", "base-url"], env);
  assertEquals(got.source, "default");
});

Deno.test("config: the API key is stored 0600, read from stdin, and only ever shown masked", async () => {
  await using dir = await tempDir();
  const env = { MIXPEEK_CONFIG_DIR: dir.path };
  const set = await runCli(["config", "set", "api-key"], { env, stdin: KEY + "\n" });
  assertEquals(set.code, 0, set.stderr);
  const path = `${dir.path}/config.json`;
  assertEquals(JSON.parse(await Deno.readTextFile(path))["api-key"], KEY);
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);

  for (const args of [["config", "list"], ["--json", "config", "list"], ["config", "get", "api-key"]]) {
    const r = await runCli(args, { env });
    assertEquals(r.code, 0, r.stderr);
    assert(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), `raw key shown by ${args.join(" ")}`);
    assert(!r.stdout.includes("0123456789"), "more than the last 4 characters shown");
  }
  const list = await getJson(["config", "list"], env);
  const apiKey = list.settings.find((s: { key: string }) => s.key === "api-key");
  assertEquals(apiKey, { key: "api-key", value: "****CRET", source: "file", env: "MIXPEEK_API_KEY" });
  assertEquals(list.path, path);

  // env beats the file for the key too, and is masked the same way.
  const fromEnv = await getJson(["config", "get", "api-key"], { ...env, MIXPEEK_API_KEY: "short" });
  assertEquals(fromEnv, { key: "api-key", value: "****", source: "env" });
});

Deno.test("config: bad input gets exit 2 with a clear message", async () => {
  await using dir = await tempDir();
  const env = { MIXPEEK_CONFIG_DIR: dir.path };
  let r = await runCli(["config", "set", "colour", "red"], { env });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "'colour' is invalid");
  assertStringIncludes(r.stderr, "api-key, base-url, namespace");

  r = await runCli(["config", "set", "base-url", "http://api.example.com"], { env });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "plain http");
  assertStringIncludes(r.stderr, "--insecure");
  r = await runCli(["--insecure", "config", "set", "base-url", "http://api.example.com"], { env });
  assertEquals(r.code, 0, r.stderr);
  r = await runCli(["config", "set", "base-url", "http://127.0.0.1:8787"], { env });
  assertEquals(r.code, 0, r.stderr);

  r = await runCli(["config", "set", "namespace"], { env });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "missing value for namespace");

  await Deno.writeTextFile(`${dir.path}/config.json`, "{not json");
  r = await runCli(["--json", "config", "list"], { env });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, `${dir.path}/config.json is not valid JSON`);
  assertEquals(JSON.parse(r.stdout).error.exit_code, 2);
});

Deno.test("cli: --version, --help with examples and exit codes, unknown commands are usage errors", async () => {
  const version = await runCli(["--version"]);
  assertEquals(version.code, 0);
  const meta = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assertEquals(version.stdout.trim(), meta.version);

  const help = await runCli(["--help"]);
  assertEquals(help.code, 0);
  for (
    const text of [
      "Examples:",
      "Exit codes:",
      "--api-key",
      "--base-url",
      "--namespace",
      "--no-input",
      "plugin",
    ]
  ) {
    assertStringIncludes(help.stdout, text);
  }
  const bogus = await runCli(["frobnicate"]);
  assertEquals(bogus.code, 2);
  assertStringIncludes(bogus.stderr, "unknown command 'frobnicate'");
  const badOption = await runCli(["plugin", "init", "x", "--category", "smell"]);
  assertEquals(badOption.code, 2);
  assertStringIncludes(
    badOption.stderr,
    "Allowed choices are text, image, video, audio, document, multimodal",
  );
  const jsonUsage = await runCli(["--json", "plugin", "list", "--source", "bogus"]);
  assertEquals(jsonUsage.code, 2);
  const doc = JSON.parse(jsonUsage.stdout);
  assertEquals([doc.error.type, doc.error.exit_code], ["usage", 2]);
  assertStringIncludes(doc.error.message, "Allowed choices are all, builtin, custom, community");
});

Deno.test("config: one spelling everywhere; get of an unset key exits 1; old snake_case files still read", async () => {
  await using dir = await tempDir();
  const env = { MIXPEEK_CONFIG_DIR: dir.path };
  for (const verb of ["set", "get", "unset"]) {
    const r = await runCli(
      ["config", verb, "base_url", ...(verb === "set" ? ["https://x.example.com"] : [])],
      {
        env,
      },
    );
    assertEquals(r.code, 2, `config ${verb} base_url`);
    assertStringIncludes(r.stderr, "Allowed choices are api-key, base-url, namespace");
  }

  const unset = await runCli(["config", "get", "namespace"], { env });
  assertEquals(unset.code, 1);
  assertEquals(unset.stdout, "");
  assertStringIncludes(unset.stderr, "error: namespace is not set");
  assertStringIncludes(unset.stderr, "mixpeek config set namespace <value>");
  const unsetJson = await runCli(["--json", "config", "get", "namespace"], { env });
  assertEquals(unsetJson.code, 1);
  assertEquals(JSON.parse(unsetJson.stdout), { key: "namespace", value: null, source: "unset" });

  // A file written by an earlier version (snake_case keys) keeps working, and the next write respells it.
  const path = `${dir.path}/config.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ base_url: "https://old.example.com", namespace: "ns_old" }),
  );
  const old = await runCli(["--json", "config", "get", "base-url"], { env });
  assertEquals(JSON.parse(old.stdout), { key: "base-url", value: "https://old.example.com", source: "file" });
  assertEquals((await runCli(["config", "set", "namespace", "ns_new"], { env })).code, 0);
  assertEquals(JSON.parse(await Deno.readTextFile(path)), {
    "base-url": "https://old.example.com",
    namespace: "ns_new",
  });
  const list = await runCli(["config", "list"], { env });
  assertStringIncludes(list.stdout, "base-url");
  assert(!list.stdout.includes("base_url"), list.stdout);
});
