/**
 * The labelled corpus (tests/fixtures/scan/corpus/): each file's error findings are exactly in the
 * categories its label names (recall 100%, and no error in any other category: no false positive), its
 * warnings exactly in the `warn:` categories, and allowed files have no error at all.
 */
import { assert } from "../helpers/assert.ts";
import { scanSource } from "../../lib/scan/scan.ts";
import { CATEGORIES, RULES } from "../../lib/scan/rules/registry.ts";
import { corpus } from "./_helpers.ts";

const files = corpus();
const forbidden = files.filter((f) => f.expect[0] !== "clean");
const allowed = files.filter((f) => f.expect[0] === "clean");

/** Rules the corpus cannot hold (a file it cannot read, one over the size limit): tests/scan/broken_input_test.ts. */
const NOT_IN_CORPUS = new Set(["source-unreadable", "source-too-large"]);

Deno.test("the corpus has at least 150 forbidden and 60 allowed files, each labelled with known categories", () => {
  assert(forbidden.length >= 150, `only ${forbidden.length} forbidden files`);
  assert(allowed.length >= 60, `only ${allowed.length} allowed files`);
  for (const f of files) {
    for (const c of [...f.expect.filter((c) => c !== "clean"), ...f.warn]) {
      assert((CATEGORIES as readonly string[]).includes(c), `${f.name}: unknown category ${c}`);
    }
  }
  // Every category is exercised as an error (its harmless twins are the clean_* files, see the README).
  for (const c of CATEGORIES) assert(forbidden.some((f) => f.expect.includes(c)), `no fixture for ${c}`);
});

Deno.test("recall is 100%: every forbidden file gets an error finding in each labelled category", async () => {
  const missed: string[] = [];
  for (const f of forbidden) {
    const findings = await scanSource(f.name, f.bytes);
    const got = new Set(findings.filter((x) => x.severity === "error").map((x) => x.category));
    for (const c of f.expect) {
      if (!got.has(c)) missed.push(`${f.name}: no ${c} error (got ${[...got].join(", ") || "none"})`);
    }
  }
  assert(missed.length === 0, `missed:\n${missed.join("\n")}`);
});

Deno.test("no false positives: no error outside a file's labelled categories; allowed files have none", async () => {
  const flagged: string[] = [];
  for (const f of files) {
    for (const x of await scanSource(f.name, f.bytes)) {
      if (x.severity === "error" && !f.expect.includes(x.category)) {
        flagged.push(`${f.name}:${x.line}:${x.column} ${x.rule_id} ${x.message}`);
      }
    }
  }
  assert(flagged.length === 0, `false positives:\n${flagged.join("\n")}`);
});

Deno.test("warnings are exactly the labelled ones (the platform's: pickle/marshal/shelve use, the dunders)", async () => {
  const wrong: string[] = [];
  for (const f of files) {
    const findings = await scanSource(f.name, f.bytes);
    const got = new Set(findings.filter((x) => x.severity === "warning").map((x) => x.category));
    const want = new Set(f.warn);
    for (const c of want) if (!got.has(c)) wrong.push(`${f.name}: no ${c} warning`);
    for (const x of findings) {
      if (x.severity === "warning" && !want.has(x.category)) {
        wrong.push(`${f.name}:${x.line}:${x.column} unexpected warning ${x.rule_id} ${x.message}`);
      }
    }
  }
  assert(wrong.length === 0, wrong.join("\n"));
});

Deno.test("every rule id is exercised by the corpus", async () => {
  const seen = new Set<string>();
  for (const f of files) for (const x of await scanSource(f.name, f.bytes)) seen.add(x.rule_id);
  const missing = Object.keys(RULES).filter((id) => !seen.has(id) && !NOT_IN_CORPUS.has(id));
  assert(missing.length === 0, `rules no corpus file triggers: ${missing.join(", ")}`);
});

Deno.test("findings carry file, 1-based position, rule, category, severity, a message with the alternative, and the line", async () => {
  const f = files.find((x) => x.name === "shell_os_system.py")!;
  const [finding] = await scanSource("plugin/core.py", f.bytes);
  assert(finding.file === "plugin/core.py");
  assert(finding.line === 6 && finding.column === 5, JSON.stringify(finding));
  assert(finding.end_line === 6 && finding.end_column === 14, JSON.stringify(finding));
  assert(
    finding.rule_id === "shell-os-system" && finding.category === "shell" && finding.severity === "error",
  );
  assert(
    finding.message.includes("os.system") && finding.message.includes("do the work in Python"),
    finding.message,
  );
  assert(finding.source === '    os.system("echo " + record["text"])', finding.source);
});
