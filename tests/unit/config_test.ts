import { assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import {
  configDir,
  maskSecret,
  parseSettingKey,
  readUserConfig,
  resolveConfig,
  validateBaseUrl,
  writeUserConfig,
} from "../../lib/config.ts";
import { UsageError } from "../../lib/errors.ts";
import { tempDir } from "../helpers/cli.ts";

const env = (vars: Record<string, string>) => ({ get: (name: string) => vars[name] });

Deno.test("resolveConfig applies flag > env > file > default per setting", () => {
  const resolved = resolveConfig(
    { namespace: "ns-flag" },
    env({ MIXPEEK_NAMESPACE: "ns-env", MIXPEEK_API_KEY: "key-env" }),
    { namespace: "ns-file", api_key: "key-file", base_url: "https://file.example" },
  );
  assertEquals(resolved.namespace, { key: "namespace", value: "ns-flag", source: "flag" });
  assertEquals(resolved.api_key, { key: "api_key", value: "key-env", source: "env" });
  assertEquals(resolved.base_url, { key: "base_url", value: "https://file.example", source: "file" });
  const empty = resolveConfig({}, env({}), {});
  assertEquals(empty.base_url.source, "default");
  assertEquals(empty.api_key, { key: "api_key", source: "unset" });
});

Deno.test("configDir follows MIXPEEK_CONFIG_DIR, XDG, macOS and Windows conventions", () => {
  assertEquals(configDir(env({ MIXPEEK_CONFIG_DIR: "/x" }), "linux"), "/x");
  assertEquals(configDir(env({ HOME: "/home/a" }), "linux"), "/home/a/.config/mixpeek");
  assertEquals(configDir(env({ HOME: "/home/a", XDG_CONFIG_HOME: "/xdg" }), "linux"), "/xdg/mixpeek");
  assertEquals(
    configDir(env({ HOME: "/Users/a" }), "darwin"),
    "/Users/a/Library/Application Support/mixpeek",
  );
  assertEquals(
    configDir(env({ APPDATA: "C:\\Users\\a\\AppData\\Roaming" }), "windows"),
    "C:\\Users\\a\\AppData\\Roaming\\mixpeek",
  );
});

Deno.test("setting names have one spelling, the flag's: api-key, base-url, namespace", async () => {
  assertEquals(parseSettingKey("api-key"), "api_key");
  assertEquals(parseSettingKey("base-url"), "base_url");
  assertEquals(parseSettingKey("namespace"), "namespace");
  for (const other of ["token", "api_key", "baseUrl"]) {
    await assertRejects(
      () => Promise.resolve(parseSettingKey(other)),
      UsageError,
      `unknown setting "${other}"`,
    );
  }
});

Deno.test("maskSecret never reveals more than the last four characters", () => {
  assertEquals(maskSecret("short"), "****");
  assertEquals(maskSecret("mxp_sk_0123456789"), "****6789");
});

Deno.test("validateBaseUrl refuses clear-text http off loopback, credentials and other schemes", () => {
  const s = (value: string) => ({ key: "base_url" as const, value, source: "flag" as const });
  assertEquals(validateBaseUrl(s("https://api.mixpeek.com/"), false), "https://api.mixpeek.com");
  assertEquals(validateBaseUrl(s("http://127.0.0.1:8787"), false), "http://127.0.0.1:8787");
  assertEquals(validateBaseUrl(s("http://localhost:1"), false), "http://localhost:1");
  assertEquals(validateBaseUrl(s("http://[::1]:1"), false), "http://[::1]:1");
  assertEquals(validateBaseUrl(s("http://example.com"), true), "http://example.com");
  for (
    const [value, message] of [
      ["http://example.com", "plain http"],
      ["ftp://example.com", "must be an http(s) URL"],
      ["https://user:pw@example.com", "must not contain credentials"],
      ["not a url", "is not a valid URL"],
    ]
  ) {
    try {
      validateBaseUrl(s(value), false);
      throw new Error(`accepted ${value}`);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      assertStringIncludes(error.message, "--base-url");
      assertStringIncludes(error.message, message);
    }
  }
});

Deno.test("the user config file round-trips, is written 0600 and a malformed one names its path", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/sub/config.json`;
  assertEquals(await readUserConfig(path), {});
  await writeUserConfig(path, { namespace: "ns", api_key: "k" });
  assertEquals(await readUserConfig(path), { api_key: "k", namespace: "ns" });
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  await Deno.writeTextFile(path, "[1,2]");
  await assertRejects(() => readUserConfig(path), UsageError, `config file ${path} must hold a JSON object`);
});
