/**
 * Reads pytest's JUnit XML report (`--junitxml`, `junit_family=xunit1` for file/line attributes): counts and
 * each failing test's id, location and message. A small tokenizer is enough for the well-formed, escaped XML
 * pytest writes; no XML library is needed.
 */

export interface JUnitFailure {
  /** pytest node id, e.g. `tests/test_core.py::TestX::test_y[param]`. */
  test_id: string;
  kind: "failure" | "error";
  message: string;
  /** Where it failed: the last `path:line:` of the traceback, else the test's own location. */
  file?: string;
  line?: number;
}

export interface JUnitReport {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  passed: number;
  /** Total time pytest reported, in seconds. */
  time: number;
  failed: JUnitFailure[];
}

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function _unescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, entity: string) => {
    if (entity.startsWith("#x")) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith("#")) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? match;
  });
}

/** Parses the element tree of an XML document (no DTDs, namespaces or processing beyond skipping them). */
export function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const tag =
    /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<![^>]*>/g;
  const attr = /([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  let last = 0;
  for (let m = tag.exec(xml); m !== null; m = tag.exec(xml)) {
    const top = stack[stack.length - 1];
    top.text += _unescape(xml.slice(last, m.index));
    last = tag.lastIndex;
    if (m[5] !== undefined) {
      top.text += m[5];
      continue;
    }
    if (m[2] === undefined) continue; // comment, declaration, processing instruction
    if (m[1] === "/") {
      if (stack.length > 1 && top.name === m[2]) stack.pop();
      else throw new SyntaxError(`unexpected </${m[2]}>`);
      continue;
    }
    const element: XmlElement = { name: m[2], attrs: {}, children: [], text: "" };
    for (const a of m[3].matchAll(attr)) element.attrs[a[1]] = _unescape(a[2] ?? a[3] ?? "");
    top.children.push(element);
    if (m[4] !== "/") stack.push(element);
  }
  if (stack.length !== 1) throw new SyntaxError(`unclosed <${stack[stack.length - 1].name}>`);
  return root;
}

function* _all(element: XmlElement, name: string): Generator<XmlElement> {
  for (const child of element.children) {
    if (child.name === name) yield child;
    yield* _all(child, name);
  }
}

/** The pytest node id of a testcase: file (xunit1) plus the class path and the test name. */
function _testId(testcase: XmlElement): string {
  const name = testcase.attrs.name ?? "";
  const classname = testcase.attrs.classname ?? "";
  const file = testcase.attrs.file;
  if (!file) return classname ? `${classname}::${name}` : name;
  const module = file.replace(/\.py$/, "").replace(/[\\/]/g, ".");
  if (classname === "" && name === module) return file.replace(/\\/g, "/"); // a collection error
  const classes = classname.startsWith(module) ? classname.slice(module.length).replace(/^\./, "") : "";
  return [file.replace(/\\/g, "/"), ...(classes ? classes.split(".") : []), name].join("::");
}

/**
 * Where a failure happened: the last `path.py:LINE:` of the pytest traceback, preferring paths relative to
 * the rootdir (the plugin's own files) over absolute ones (the standard library, site-packages).
 */
function _location(text: string): { file: string; line: number } | undefined {
  let any: { file: string; line: number } | undefined;
  let own: { file: string; line: number } | undefined;
  for (const m of text.matchAll(/^([^\s:][^:\n]*\.py):(\d+):/gm)) {
    any = { file: m[1], line: Number(m[2]) };
    if (!m[1].startsWith("/") && !/^[A-Za-z]:[\\/]/.test(m[1])) own = any;
  }
  return own ?? any;
}

const MAX_MESSAGE = 2000;

/** The failure's message: pytest's `message` attribute, or the `E   ` lines of the traceback when the
 * attribute says nothing useful (a collection failure). */
function _message(element: XmlElement): string {
  const attr = (element.attrs.message ?? "").trim();
  const eLines = element.text.split("\n").filter((l) => l.startsWith("E ")).map((l) => l.slice(1).trim());
  const text = attr === "" || attr === "collection failure" ? eLines.join("\n") || attr : attr;
  const message = text || element.text.trim().split("\n")[0] || element.name;
  return message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE - 1) + "…" : message;
}

export function parseJUnit(xml: string): JUnitReport {
  const doc = parseXml(xml);
  const report: JUnitReport = {
    tests: 0,
    failures: 0,
    errors: 0,
    skipped: 0,
    passed: 0,
    time: 0,
    failed: [],
  };
  for (const suite of _all(doc, "testsuite")) {
    report.tests += Number(suite.attrs.tests ?? 0);
    report.failures += Number(suite.attrs.failures ?? 0);
    report.errors += Number(suite.attrs.errors ?? 0);
    report.skipped += Number(suite.attrs.skipped ?? 0);
    report.time += Number(suite.attrs.time ?? 0);
  }
  report.passed = Math.max(0, report.tests - report.failures - report.errors - report.skipped);
  for (const testcase of _all(doc, "testcase")) {
    for (const child of testcase.children) {
      if (child.name !== "failure" && child.name !== "error") continue;
      const where = _location(child.text);
      const ownLine = testcase.attrs.line === undefined ? undefined : Number(testcase.attrs.line) + 1;
      report.failed.push({
        test_id: _testId(testcase),
        kind: child.name,
        message: _message(child),
        file: where?.file ?? testcase.attrs.file,
        line: where?.line ?? (testcase.attrs.file ? ownLine : undefined),
      });
    }
  }
  return report;
}
