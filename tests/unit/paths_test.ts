/**
 * lib/paths.ts's POSIX functions give node:path.posix's answers: every function over a grid of absolute,
 * relative, dotted, doubled-slash and trailing-slash paths (the working folder included, for resolve).
 */
import { posix } from "node:path";
import { posixPaths } from "../../lib/paths.ts";
import { assertEquals } from "../helpers/assert.ts";

const PARTS = [
  "",
  ".",
  "..",
  "/",
  "a",
  "a/",
  "/a",
  "/a/",
  "a/b",
  "/a/b/c",
  "a//b",
  "./a",
  "../a",
  "a/./b",
  "a/../b",
  "a/b/../../..",
  "/..",
  "/a/../..",
  "//a",
  "a.py",
  "dir/x.tar.gz",
  "plugins/sentiment_scorer/",
];

Deno.test("join, resolve, relative, dirname, basename and isAbsolute agree with node:path.posix", () => {
  for (const a of PARTS) {
    assertEquals(posixPaths.dirname(a), posix.dirname(a), `dirname(${a})`);
    assertEquals(posixPaths.basename(a), posix.basename(a), `basename(${a})`);
    assertEquals(posixPaths.basename(a, ".py"), posix.basename(a, ".py"), `basename(${a}, .py)`);
    assertEquals(posixPaths.isAbsolute(a), posix.isAbsolute(a), `isAbsolute(${a})`);
    assertEquals(posixPaths.resolve(a), posix.resolve(a), `resolve(${a})`);
    for (const b of PARTS) {
      assertEquals(posixPaths.join(a, b), posix.join(a, b), `join(${a}, ${b})`);
      assertEquals(posixPaths.resolve(a, b), posix.resolve(a, b), `resolve(${a}, ${b})`);
      assertEquals(posixPaths.relative(a, b), posix.relative(a, b), `relative(${a}, ${b})`);
      for (const c of ["", "x", "/y", "../z/"]) {
        assertEquals(posixPaths.join(a, b, c), posix.join(a, b, c), `join(${a}, ${b}, ${c})`);
      }
    }
  }
  assertEquals(posixPaths.join(), posix.join());
  assertEquals(posixPaths.resolve(), posix.resolve());
  assertEquals(posixPaths.delimiter, posix.delimiter);
});
