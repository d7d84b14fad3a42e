/**
 * Paths on Windows: the packer turns local paths into `/`-separated ones (Windows accepts both), so archive
 * paths and the default output stay `/`-separated, and drive-letter paths count as absolute. Runs on any OS
 * (the helpers take the OS as a parameter); the templates' keys are `/`-separated too.
 */
import { isAbsolutePath, toSlashes } from "../../lib/pack/paths.ts";
import { defaultOutputPath } from "../../lib/pack/pack.ts";
import { TEMPLATE_FILES } from "../../lib/embedded/templates.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

Deno.test("toSlashes: backslashes become '/' on Windows only (elsewhere they are part of a name)", () => {
  assertEquals(toSlashes("C:\\Users\\ada\\plugin", "windows"), "C:/Users/ada/plugin");
  assertEquals(toSlashes("\\\\server\\share\\plugin", "windows"), "//server/share/plugin");
  assertEquals(toSlashes("/home/ada/we\\ird", "linux"), "/home/ada/we\\ird");
  assertEquals(toSlashes("/Users/ada/plugin", "darwin"), "/Users/ada/plugin");
});

Deno.test("isAbsolutePath: drive letters and UNC paths on Windows, '/' everywhere", () => {
  assert(isAbsolutePath("C:/Users/ada", "windows"));
  assert(isAbsolutePath("//server/share", "windows"));
  assert(isAbsolutePath("/tmp/x", "windows"));
  assert(!isAbsolutePath("plugins/x", "windows"));
  assert(!isAbsolutePath("C:/Users/ada", "linux"), "on POSIX C:/… is a relative path");
  assert(isAbsolutePath("/tmp/x", "linux"));
});

Deno.test("the default archive of a Windows plugin folder is named after the folder, '/'-separated", () => {
  assertEquals(
    defaultOutputPath(toSlashes("C:\\Users\\ada\\sentiment", "windows")),
    "C:/Users/ada/sentiment/dist/sentiment.tar.gz",
  );
});

Deno.test("template keys are '/'-separated relative paths", () => {
  const keys = Object.keys(TEMPLATE_FILES);
  assert(keys.length > 20, `${keys.length} template files`);
  for (const key of keys) {
    assert(!key.includes("\\") && !key.startsWith("/") && !key.split("/").includes(".."), key);
  }
});
