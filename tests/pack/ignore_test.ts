/** The gitignore pattern matcher on its own (lib/pack/ignore.ts). */
import { compilePattern, lastMatch, parseIgnoreFile } from "../../lib/pack/ignore.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

function matches(pattern: string, path: string, isDir = false, base = ""): boolean {
  const rule = compilePattern(pattern, base, "test");
  assert(rule, `pattern ${pattern} compiled to nothing`);
  const hit = lastMatch([rule], path, isDir);
  return hit !== undefined;
}

Deno.test("ignore: plain names match at any depth, anchored ones only from their folder", () => {
  assert(matches("foo.txt", "foo.txt"));
  assert(matches("foo.txt", "a/b/foo.txt"));
  assert(!matches("foo.txt", "foo.txt.bak"));
  assert(matches("/foo.txt", "foo.txt"));
  assert(!matches("/foo.txt", "a/foo.txt"));
  assert(matches("a/foo.txt", "a/foo.txt"));
  assert(!matches("a/foo.txt", "x/a/foo.txt"), "a pattern with a middle slash is anchored");
  assert(matches("foo.txt", "sub/foo.txt", false, "sub"));
  assert(!matches("foo.txt", "other/foo.txt", false, "sub"), "a nested ignore file only covers its folder");
  assert(matches("/top", "sub/top", false, "sub"));
  assert(!matches("/top", "sub/x/top", false, "sub"));
});

Deno.test("ignore: wildcards, classes and double stars", () => {
  assert(matches("*.log", "x/debug.log"));
  assert(!matches("*.log", "x/debug.log/y"), "* does not cross folders when anchored to the name");
  assert(matches("data/*.csv", "data/a.csv"));
  assert(!matches("data/*.csv", "data/sub/a.csv"));
  assert(matches("file?.py", "file1.py"));
  assert(!matches("file?.py", "file10.py"));
  assert(matches("[abc].py", "b.py"));
  assert(!matches("[abc].py", "d.py"));
  assert(matches("[!abc].py", "d.py"));
  assert(matches("[a-c]x", "bx"));
  assert(matches("**/logs", "logs", true));
  assert(matches("**/logs", "a/b/logs", true));
  assert(matches("a/**/b", "a/b"));
  assert(matches("a/**/b", "a/x/y/b"));
  assert(matches("a/**", "a/x/y"));
  assert(!matches("a/**", "a"), "a/** matches what is inside a, not a itself");
  assert(matches("[", "["), "an unclosed class is a literal bracket");
});

Deno.test("ignore: folder-only patterns, escapes, comments and trailing spaces", () => {
  assert(matches("build/", "build", true));
  assert(!matches("build/", "build", false), "a trailing slash matches folders only");
  assertEquals(compilePattern("# comment", "", "t"), undefined);
  assertEquals(compilePattern("   ", "", "t"), undefined);
  assert(matches("\\#notes", "#notes"));
  assert(matches("\\!bang", "!bang"));
  assert(matches("trailing   ", "trailing"));
  assert(matches("space\\ ", "space "));
  assert(matches("a.b", "a.b") && !matches("a.b", "axb"), "regex characters are literal");
  assert(matches("(x)+", "(x)+"));
});

Deno.test("ignore: the last matching rule wins and negation re-includes", () => {
  const rules = parseIgnoreFile("*.log\n!keep.log\n# c\n\nlogs/\n", "", ".gitignore");
  assertEquals(rules.length, 3);
  assertEquals(rules[1].source, ".gitignore:2");
  const verdict = (path: string, isDir = false) => {
    const r = lastMatch(rules, path, isDir);
    return r === undefined ? "none" : r.negate ? "keep" : "drop";
  };
  assertEquals(verdict("a.log"), "drop");
  assertEquals(verdict("keep.log"), "keep");
  assertEquals(verdict("x/keep.log"), "keep");
  assertEquals(verdict("logs", true), "drop");
  assertEquals(verdict("main.py"), "none");
});
