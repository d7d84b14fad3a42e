/**
 * SARIF 2.1.0 output validated against the SARIF 2.1.0 JSON schema (vendored from the SARIF SDK's
 * Multitool package, see tests/fixtures/scan/sarif/SOURCE.md) with ajv, plus the parts GitHub code
 * scanning relies on (rules with ids, results pointing at rules, physical locations with regions).
 */
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { assert, assertEquals } from "../helpers/assert.ts";
import { toSarif } from "../../lib/scan/report.ts";
import { scanFiles } from "../../lib/scan/scan.ts";
import { RULES } from "../../lib/scan/rules/registry.ts";
import { CORPUS, SCHEMA } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function _validator(): (doc: unknown) => string[] {
  // deno-lint-ignore no-explicit-any
  const ajv = new (Ajv2020 as any)({ allErrors: true, strict: false });
  // deno-lint-ignore no-explicit-any
  (addFormats as any)(ajv);
  const validate = ajv.compile(JSON.parse(Deno.readTextFileSync(SCHEMA)));
  return (
    doc,
  ) => (validate(doc) ? [] : (validate.errors as Json[]).map((e) => `${e.instancePath} ${e.message}`));
}

const validate = _validator();

Deno.test("the validator rejects an invalid log (the schema is really applied)", () => {
  assert(validate({ version: "2.1.0" }).length > 0);
  assert(validate({ version: "9.9", runs: [] }).length > 0);
  assert(validate({ version: "2.1.0", runs: [{ tool: { driver: {} } }] }).length > 0);
});

Deno.test("SARIF for the whole corpus is valid SARIF 2.1.0 and GitHub-shaped", async () => {
  const files = [...Deno.readDirSync(CORPUS)].map((e) => e.name).filter((n) => n.endsWith(".py"));
  const report = await scanFiles(CORPUS, files);
  assert(report.findings.length > 100);
  // Paths relative to the folder the scan runs in: here, the corpus itself.
  const sarif: Json = JSON.parse(JSON.stringify(toSarif(report, { toolVersion: "1.2.3", cwd: report.root })));
  assertEquals(validate(sarif), []);
  assertEquals(sarif.version, "2.1.0");
  const run = sarif.runs[0];
  const rules: Json[] = run.tool.driver.rules;
  assertEquals(rules.length, Object.keys(RULES).length);
  for (const rule of rules) {
    assert(typeof rule.id === "string" && rule.shortDescription.text && rule.help.text, JSON.stringify(rule));
    assert(/^\d+(\.\d)?$/.test(rule.properties["security-severity"]));
  }
  assertEquals(run.results.length, report.findings.length);
  const fingerprints = new Set<string>();
  for (const [i, result] of run.results.entries()) {
    const finding = report.findings[i];
    assertEquals(rules[result.ruleIndex].id, result.ruleId);
    assertEquals(result.ruleId, finding.rule_id);
    assertEquals(result.message.text, finding.message);
    const location = result.locations[0].physicalLocation;
    assertEquals(location.artifactLocation.uri, encodeURIComponent(finding.file));
    assertEquals(location.artifactLocation.uriBaseId, "%SRCROOT%");
    assertEquals(location.region.startLine, finding.line);
    assertEquals(location.region.startColumn, finding.column);
    assert(location.region.endLine >= location.region.startLine);
    const fp = result.partialFingerprints["mixpeekScan/v1"];
    assert(!fingerprints.has(fp), `duplicate fingerprint ${fp}`);
    fingerprints.add(fp);
  }
  assert(run.originalUriBaseIds["%SRCROOT%"].uri.startsWith("file:///"));
  assert(run.originalUriBaseIds["%SRCROOT%"].uri.endsWith("/"));
});

Deno.test("SARIF with no findings is valid too, and paths with spaces are URI-encoded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-sarif-" });
  try {
    await Deno.mkdir(`${dir}/my plugin`);
    await Deno.writeTextFile(`${dir}/my plugin/clean.py`, "x = 1\n");
    const clean = toSarif(await scanFiles(dir, ["my plugin/clean.py"]), { toolVersion: "0.1.0", cwd: dir });
    assertEquals(validate(JSON.parse(JSON.stringify(clean))), []);
    await Deno.writeTextFile(`${dir}/my plugin/bad.py`, "import socket\n");
    const report = await scanFiles(dir, ["my plugin/bad.py"]);
    const bad: Json = toSarif(report, { toolVersion: "0.1.0", cwd: dir });
    assertEquals(validate(JSON.parse(JSON.stringify(bad))), []);
    assertEquals(
      bad.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri,
      "my%20plugin/bad.py",
    );
    const absolute: Json = toSarif(report, { toolVersion: "0.1.0", absolute: true });
    assertEquals(validate(JSON.parse(JSON.stringify(absolute))), []);
    assertEquals(
      absolute.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri,
      `file://${dir.split("/").map(encodeURIComponent).join("/")}/my%20plugin/bad.py`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
