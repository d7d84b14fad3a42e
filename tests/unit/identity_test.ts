import { assertEquals } from "../helpers/assert.ts";
import { featureUriOf, normalizeVersion, pluginIdOf, pluginNameProblem } from "../../lib/plugin/identity.ts";

Deno.test("normalizeVersion: v1, 1.0 and v2.1 become X.Y.Z; other spellings are refused", () => {
  assertEquals(normalizeVersion("v1"), "1.0.0");
  assertEquals(normalizeVersion("1.0"), "1.0.0");
  assertEquals(normalizeVersion("v2.1"), "2.1.0");
  assertEquals(normalizeVersion("1.2.3"), "1.2.3");
  assertEquals(normalizeVersion("V01.02.03"), "1.2.3");
  for (const bad of ["", "v", "1.2.3.4", "1.0.0-beta", "latest", "1..2", "v1.x"]) {
    assertEquals(normalizeVersion(bad), undefined, bad);
  }
});

Deno.test("plugin names follow Mixpeek's pattern; ids and feature URIs are derived from name and version", () => {
  for (const ok of ["abc", "My_Plugin2", "a" + "b".repeat(63)]) {
    assertEquals(pluginNameProblem(ok), undefined);
  }
  for (const bad of ["ab", "1abc", "_abc", "my-plugin", "a" + "b".repeat(64), "caf\u00e9"]) {
    assertEquals(typeof pluginNameProblem(bad), "string", bad);
  }
  assertEquals(pluginIdOf("my_plugin", "1.0.0"), "my_plugin_1_0_0");
  assertEquals(featureUriOf("my_plugin", "1.0.0"), "mixpeek://my_plugin@1.0.0");
});
