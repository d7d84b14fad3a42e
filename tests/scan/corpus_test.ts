/**
 * The labelled corpus (tests/fixtures/scan/corpus/): every forbidden file is caught in each category its
 * label names (recall 100%), and no allowed file has any finding (no false positive).
 */
import { assert } from "../helpers/assert.ts";
import { scanSource } from "../../lib/scan/scan.ts";
import { CATEGORIES } from "../../lib/scan/rules/registry.ts";
import { corpus } from "./_helpers.ts";

const files = corpus();
const forbidden = files.filter((f) => f.expect[0] !== "clean");
const allowed = files.filter((f) => f.expect[0] === "clean");

Deno.test("the corpus has at least 60 forbidden and 40 allowed files, each labelled with known categories", () => {
  assert(forbidden.length >= 60, `only ${forbidden.length} forbidden files`);
  assert(allowed.length >= 40, `only ${allowed.length} allowed files`);
  for (const f of forbidden) {
    for (const c of f.expect) {
      assert((CATEGORIES as readonly string[]).includes(c), `${f.name}: unknown category ${c}`);
    }
  }
  // Every SPEC category is exercised.
  for (const c of CATEGORIES) assert(forbidden.some((f) => f.expect.includes(c)), `no fixture for ${c}`);
});

Deno.test("recall is 100%: every forbidden file gets a finding in each labelled category", async () => {
  const missed: string[] = [];
  for (const f of forbidden) {
    const findings = await scanSource(f.name, f.bytes);
    const got = new Set(findings.map((x) => x.category));
    for (const c of f.expect) {
      if (!got.has(c)) missed.push(`${f.name}: no ${c} finding (got ${[...got].join(", ") || "none"})`);
    }
  }
  assert(missed.length === 0, `missed:\n${missed.join("\n")}`);
});

Deno.test("no false positives: allowed files (the words in comments, strings, model.eval(), …) are clean", async () => {
  const flagged: string[] = [];
  for (const f of allowed) {
    for (const x of await scanSource(f.name, f.bytes)) {
      flagged.push(`${f.name}:${x.line}:${x.column} ${x.rule_id} ${x.message}`);
    }
  }
  assert(flagged.length === 0, `false positives:\n${flagged.join("\n")}`);
});

Deno.test("findings carry file, 1-based position, rule, category, a message with the alternative, and the line", async () => {
  const f = files.find((x) => x.name === "shell_os_system.py")!;
  const [finding] = await scanSource("plugin/core.py", f.bytes);
  assert(finding.file === "plugin/core.py");
  assert(finding.line === 6 && finding.column === 5, JSON.stringify(finding));
  assert(finding.end_line === 6 && finding.end_column === 14, JSON.stringify(finding));
  assert(finding.rule_id === "shell-os-system" && finding.category === "shell");
  assert(
    finding.message.includes("os.system") && finding.message.includes("do the work in Python"),
    finding.message,
  );
  assert(finding.source === '    os.system("echo " + record["text"])', finding.source);
});
