/**
 * The whole test suite, as the README runs it: choose the Python the tests drive (scripts/preflight.ts),
 * then `deno test` with the same Deno binary (so it works when Deno came from `npx deno@…` and is not on
 * PATH) and that Python first on PATH. Extra arguments go to `deno test` (e.g. a folder or `--filter`).
 */
import { choosePython, pathWith, TEST_REQUIREMENTS } from "./preflight.ts";
import { SOURCES } from "./build_parser.ts";
import { prefetchBundler } from "./prefetch.ts";

const root = new URL("../", import.meta.url).pathname;
const choice = await choosePython(TEST_REQUIREMENTS);
if ("error" in choice) {
  console.error(`preflight: ${choice.error}`);
  Deno.exit(1);
}
console.error(`preflight: tests use ${choice.executable} (Python ${choice.version})`);

// The parser's C sources, for the offline reproducible-build test (tests/scan/parser_test.ts): fetched
// here, as set-up, so the tests themselves talk to nothing but loopback. Best effort: without them that
// one test is skipped and says why.
try {
  const specs = Object.values(SOURCES).map((s) => s.spec);
  const cached = await new Deno.Command("npm", {
    args: ["cache", "add", ...specs],
    stdout: "null",
    stderr: "null",
  })
    .output();
  if (!cached.success) console.error(`preflight: npm cache add ${specs.join(" ")} failed`);
} catch {
  console.error("preflight: npm is not on PATH; the parser's reproducible-build test will be skipped");
}
// esbuild, for the test that bundles the CLI (tests/dist/module_graph_test.ts); without it that test skips.
const bundler = await prefetchBundler();
if (bundler) console.error(`preflight: ${bundler}; the bundle test will be skipped`);

const targets = Deno.args.filter((a) => !a.startsWith("-"));
const flags = Deno.args.filter((a) => a.startsWith("-"));
// --quiet drops the "Check …" and "Download …" lines (first-run noise), not the results; a log file gets no
// colour codes (NO_COLOR) unless the caller asked for them.
const plain = !Deno.stdout.isTerminal() && Deno.env.get("FORCE_COLOR") === undefined;
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--quiet", "--parallel", ...flags, ...(targets.length ? targets : [`${root}tests/`])],
  env: { PATH: pathWith(choice), ...(plain ? { NO_COLOR: "1" } : {}) },
  stdin: "null",
}).spawn();
Deno.exit((await child.status).code);
