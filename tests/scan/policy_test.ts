/**
 * The one rejection rule (lib/scan/policy.ts) every caller applies: errors reject, the platform's warnings
 * reject in strict mode only; and the rule table behind it: every rule has a severity, the platform's
 * warnings are the only warnings, each rule id is one table entry.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { blockingFindings, nonBlockingFindings, rejects } from "../../lib/scan/policy.ts";
import { CATEGORIES, RULES } from "../../lib/scan/rules/registry.ts";
import { scanSource } from "../../lib/scan/scan.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("errors reject; warnings are shown and reject only in strict mode", async () => {
  const warned = { findings: await scanSource("a.py", enc("import pickle\nx = object().__class__\n")) };
  assertEquals(warned.findings.map((f) => f.severity), ["warning", "warning"]);
  assertEquals(rejects(warned), false);
  assertEquals(rejects(warned, { strict: true }), true);
  assertEquals(blockingFindings(warned), []);
  assertEquals(blockingFindings(warned, { strict: true }).length, 2);
  assertEquals(nonBlockingFindings(warned).length, 2);
  assertEquals(nonBlockingFindings(warned, { strict: true }), []);
  const mixed = { findings: await scanSource("b.py", enc("import pickle\npickle.loads(data)\n")) };
  assertEquals(rejects(mixed), true);
  assertEquals(blockingFindings(mixed).map((f) => f.rule_id), ["deserialization-pickle-load"]);
  assertEquals(rejects({ findings: [] }, { strict: true }), false);
});

Deno.test("the rule table: known categories, a severity each, the platform's warnings only as warnings", () => {
  const warnings = Object.values(RULES).filter((r) => r.severity === "warning").map((r) => r.id).sort();
  assertEquals(warnings, ["deserialization-module", "introspection-dunder-access"]);
  for (const rule of Object.values(RULES)) {
    assert((CATEGORIES as readonly string[]).includes(rule.category), rule.id);
    assert(
      rule.id.startsWith(rule.category + "-"),
      `${rule.id} is not named after its category ${rule.category}`,
    );
    assert(rule.instead.length > 10, rule.id);
  }
});

Deno.test("messages name the safe alternative for open() and threads", async () => {
  const [open] = await scanSource("c.py", enc("open('x')\n"));
  assert(open.message.includes("shared.plugins.open_asset"), open.message);
  const [thread] = await scanSource("d.py", enc("import threading\n"));
  assert(
    thread.message.includes("shared.plugins.sdk.parallel_io") && thread.message.includes("Ray"),
    thread.message,
  );
});
