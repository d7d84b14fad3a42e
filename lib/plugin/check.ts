/**
 * `plugin test` and `plugin validate`: the seven checks of SPEC.md §4, run for real with the author's Python
 * and the local platform runtime (lib/plugin/runtime/).
 *
 *   structure    lib/plugin/layout.ts (TypeScript, no Python)
 *   manifest     ┐
 *   pipeline     │ one run of the embedded harness (lib/plugin/harness/harness.py), in order, which
 *   sample_data  │ imports the plugin as its package the way Mixpeek does
 *   realtime     ┘
 *   scan         lib/scan/scan.ts (TypeScript), concurrently with the Python runs, or first (`scanFirst`)
 *   tests        pytest with the same interpreter, concurrently with the harness
 *
 * Results are reported through `onCheck` in CHECK_IDS order as soon as each one and all before it are
 * known, so the output is stable. Each Python child runs in its own process group under a timeout, with
 * the environment of childEnv() (no API key, no cloud credentials): a hang or crash becomes a failed check.
 * The plugin's name and version are judged here, by lib/plugin/identity.ts, from what the harness read.
 */
import { basename, isAbsolute, join, relative, resolve } from "../paths.ts";
import { HARNESS_FILES } from "../embedded/harness.ts";
import { FailedError, InterruptedError, UsageError } from "../errors.ts";
import { normalizeVersion, pluginNameProblem } from "./identity.ts";
import { parseJUnit } from "./junit.ts";
import { checkLayout, REQUIRED_FILES, statOrUndefined } from "./layout.ts";
import { type ChildResult, type EnvLike, findPython, runChild } from "./python.ts";
import { childEnv, runtimePath } from "./runtime.ts";

export const CHECK_IDS = [
  "structure",
  "manifest",
  "pipeline",
  "scan",
  "tests",
  "sample_data",
  "realtime",
] as const;
export type CheckId = typeof CHECK_IDS[number];
export type CheckStatus = "pass" | "fail" | "skip";

/** `plugin validate`: every check but pytest and sample data. */
export const VALIDATE_CHECKS: readonly CheckId[] = ["structure", "manifest", "pipeline", "scan", "realtime"];
/** What `plugin publish` runs before it packs (with `scanFirst`, so no plugin code runs before the scan). */
export const PUBLISH_CHECKS: readonly CheckId[] = VALIDATE_CHECKS;

export interface CheckDetail {
  /** Relative to the plugin folder ('/'-separated), or the sample data file as given. */
  file?: string;
  line?: number;
  /** 1-based, where the tool knows it (scan findings). */
  column?: number;
  message: string;
  /** 0-based index of the sample data record. */
  record?: number;
  /** pytest node id of a failing test. */
  test_id?: string;
}

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  reason: string;
  details: CheckDetail[];
  duration_ms: number;
  /** pytest's own output (tests check, only with `verbose`). */
  output?: string;
}

export interface FeatureSpec {
  feature_name: string;
  embedding_dim: number;
  distance_metric: string;
}

/** The plugin's identity as its manifest declares it (set once the manifest check passed). */
export interface PluginMetadata {
  name: string;
  /** As written in manifest.py (`v1`, `1.0`, `1.0.0`): publish sends normalized_version. */
  version: string;
  /** normalizeVersion(version): what Mixpeek stores (`v1` → `1.0.0`). */
  normalized_version: string;
  description: string | null;
  category: string | null;
  /** The plugin has realtime.py (publish deploys it for realtime serving). */
  realtime: boolean;
  /** The declared embedding features (well formed). */
  features: FeatureSpec[];
  compute_profile: Record<string, unknown> | null;
  /** compute_profile.resource_type, else "cpu". */
  resource_type: string;
  /** "metadata": a metadata dict; "module": module-level fields (feature_extractor_name = …). */
  style: "metadata" | "module";
}

export interface TestReport {
  /** The plugin folder, absolute. */
  path: string;
  /** The interpreter that ran the plugin's code. */
  python?: string;
  python_version?: string;
  pydantic_version?: string;
  /** From manifest.py, when the manifest check passed. */
  metadata?: PluginMetadata;
  ok: boolean;
  checks: CheckResult[];
  duration_ms: number;
}

export interface TestOptions {
  /** `--python`: the interpreter (a path, or a name looked up on PATH). */
  python?: string;
  /** `--sample-data`: JSON array, JSON lines or CSV, relative to `cwd`. */
  sampleData?: string;
  /** `--params`: the collection's parameters (validated against parameter_schema, passed to build_steps). */
  params?: Record<string, unknown>;
  /** Limit for each Python child (the harness, pytest); default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Where MIXPEEK_PYTHON, PATH and HOME are read (default Deno.env). Children get childEnv(). */
  env?: EnvLike;
  cwd?: string;
  /** Called once per check, in CHECK_IDS order, as soon as the check and all before it are done. */
  onCheck?: (check: CheckResult) => void;
  /** Keep pytest's own output in the tests check. */
  verbose?: boolean;
  /**
   * The checks to run (default: all); the others are reported as skipped. structure, manifest and pipeline
   * always run. "schemas" is the former name of "manifest".
   */
  checks?: readonly (CheckId | "schemas")[];
  /**
   * Run the security scan before any plugin code, and no plugin code when it fails (publish: a plugin is
   * imported only once it passed the scan).
   */
  scanFirst?: boolean;
  /** Scan in low-memory mode (one thread, periodic collection): `publish` packs and uploads next. */
  scanLowMemory?: boolean;
  /** Use the user's scan cache (lib/scan/cache.ts): `plugin test` and `validate` do, publish does not. */
  scanCache?: boolean;
  /** Aborting stops every child process; testPlugin then throws InterruptedError. */
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
/** Record failures reported in detail; the summary still counts all of them. */
export const MAX_RECORD_FAILURES = 20;

/**
 * Runs pytest in-process so that a missing pytest is told apart from a failing run (exit code 97), with the
 * plugin folder itself off sys.path: tests import the plugin as its package, as Mixpeek would.
 */
const PYTEST_BOOT = [
  "import os, sys",
  "sys.path[:] = [p for p in sys.path if p not in ('', '.') and os.path.realpath(p) != os.getcwd()]",
  "try:",
  "    import pytest",
  "except ImportError:",
  "    sys.stderr.write('mixpeek: pytest is not installed for ' + sys.executable + '\\n')",
  "    sys.exit(97)",
  "sys.argv[0] = 'pytest'",
  "sys.exit(pytest.main(sys.argv[1:]))",
].join("\n");
const PYTEST_MISSING = 97;

/** The checks the harness runs, in its order. */
const HARNESS_CHECKS: readonly CheckId[] = ["manifest", "pipeline", "sample_data", "realtime"];
/** Always run: nothing else can be judged without them. */
const CORE_CHECKS: readonly CheckId[] = ["structure", "manifest", "pipeline"];

/**
 * A tiny loader that reads the harness source from stdin and runs it. Passing the source this way keeps
 * the command line short (Windows caps it at 32 KiB; `ps` stays readable) and needs no temporary file;
 * stdin is at EOF afterwards, so plugin code that reads it gets nothing rather than blocking.
 */
const HARNESS_LOADER = "import sys; exec(compile(sys.stdin.read(), '<mixpeek-harness>', 'exec'))";

export interface HarnessOptions {
  sample?: { path: string; name: string };
  params?: Record<string, unknown>;
}

/** How to run the harness (cwd: the plugin): interpreter arguments, and the source to write to its stdin. */
export function harnessCommand(
  root: string,
  checks: readonly CheckId[],
  options: HarnessOptions = {},
): { args: string[]; stdin: string } {
  const config = {
    root,
    package: basename(root),
    checks,
    sample_data: options.sample?.path ?? null,
    sample_data_name: options.sample?.name ?? null,
    params: options.params ?? null,
    max_record_failures: MAX_RECORD_FAILURES,
  };
  return { args: ["-B", "-c", HARNESS_LOADER, JSON.stringify(config)], stdin: HARNESS_FILES["harness.py"] };
}

/** The interpreter arguments of the pytest run (cwd: the plugin): no cache folder, JUnit XML with file/line. */
export function pytestArgs(root: string, junitXml: string): string[] {
  return [
    "-B",
    "-c",
    PYTEST_BOOT,
    "-p",
    "no:cacheprovider",
    `--junitxml=${junitXml}`,
    "-o",
    "junit_family=xunit1",
    "--rootdir",
    root,
    "tests",
  ];
}

function _skip(id: CheckId, reason: string): CheckResult {
  return { id, status: "skip", reason, details: [], duration_ms: 0 };
}

function _since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

function _tail(text: string, lines = 3): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n").trim();
}

/** Reports results in CHECK_IDS order, each as soon as it and every check before it are known. */
class _Board {
  readonly #results = new Map<CheckId, CheckResult>();
  #next = 0;
  constructor(private readonly onCheck?: (check: CheckResult) => void) {}

  set(result: CheckResult): void {
    if (this.#results.has(result.id)) return;
    this.#results.set(result.id, result);
    while (this.#next < CHECK_IDS.length && this.#results.has(CHECK_IDS[this.#next])) {
      this.onCheck?.(this.#results.get(CHECK_IDS[this.#next])!);
      this.#next++;
    }
  }

  has(id: CheckId): boolean {
    return this.#results.has(id);
  }

  get(id: CheckId): CheckResult | undefined {
    return this.#results.get(id);
  }

  all(): CheckResult[] {
    return CHECK_IDS.map((id) => this.#results.get(id)!).filter((r) => r !== undefined);
  }
}

/** Validates `--sample-data`: an existing file (bad values are usage errors, exit 2). */
async function _sampleFile(
  cwd: string,
  root: string,
  value: string,
): Promise<{ path: string; name: string }> {
  const path = resolve(cwd, value);
  const info = await statOrUndefined(path);
  if (!info) {
    const inPlugin = resolve(root, value);
    const guess = inPlugin !== path && (await statOrUndefined(inPlugin))?.isFile
      ? relative(cwd, inPlugin)
      : undefined;
    throw new UsageError(`--sample-data ${value}: no such file`, {
      hint: guess
        ? `relative paths are resolved from the current folder: did you mean --sample-data ${guess}?`
        : "relative paths are resolved from the current folder; pass a JSON array, JSON lines or CSV file",
    });
  }
  if (!info.isFile) throw new UsageError(`--sample-data ${value}: not a file`);
  return { path, name: value };
}

function _structureCheck(problems: Awaited<ReturnType<typeof checkLayout>>, start: number): CheckResult {
  if (problems.length === 0) {
    return {
      id: "structure",
      status: "pass",
      reason: `a Python package: ${REQUIRED_FILES.map((f) => f.path).join(", ")}, relative imports`,
      details: [],
      duration_ms: _since(start),
    };
  }
  return {
    id: "structure",
    status: "fail",
    reason: problems.length === 1 ? problems[0].message : `${problems.length} problems`,
    details: problems.map((p) => ({ file: p.path, ...(p.line ? { line: p.line } : {}), message: p.message })),
    duration_ms: _since(start),
  };
}

/**
 * The security scan (lib/scan/) under the platform's policy (lib/scan/policy.ts), as publish and the registry
 * apply it: errors fail the check with file:line:column, rule and message; warnings are listed under a
 * passing check.
 */
async function _scanCheck(root: string, options: TestOptions): Promise<CheckResult> {
  const start = performance.now();
  try {
    // Lazy: tree-sitter loads only when needed.
    const [{ scanTree }, { blockingFindings, nonBlockingFindings }] = await Promise.all([
      import("../scan/scan.ts"),
      import("../scan/policy.ts"),
    ]);
    const report = await scanTree(root, { lowMemory: options.scanLowMemory, cache: options.scanCache });
    const errors = blockingFindings(report);
    const warnings = nonBlockingFindings(report);
    const files = `${report.files_scanned} Python files`;
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const detail = (f: (typeof report.findings)[number]) => ({
      file: f.file,
      line: f.line,
      column: f.column,
      message: `${f.severity === "warning" ? "warning: " : ""}${f.rule_id}: ${f.message}`,
    });
    if (errors.length === 0) {
      return {
        id: "scan",
        status: "pass",
        reason: warnings.length === 0
          ? `${files}, no findings`
          : `${files}, no errors; ${
            plural(warnings.length, "warning")
          } (errors with \`plugin scan --strict\`)`,
        details: warnings.map(detail),
        duration_ms: _since(start),
      };
    }
    return {
      id: "scan",
      status: "fail",
      reason: `${plural(errors.length, "finding")} in ${files}` +
        (warnings.length ? ` (and ${plural(warnings.length, "warning")})` : ""),
      details: [...errors, ...warnings].map(detail),
      duration_ms: _since(start),
    };
  } catch (error) {
    return {
      id: "scan",
      status: "fail",
      reason: "the security scan could not run",
      details: [{ message: (error as Error).message }],
      duration_ms: _since(start),
    };
  }
}

interface Hello {
  python: string;
  executable: string;
  pydantic: boolean;
  pytest: boolean;
  pandas: boolean;
  runtime: boolean;
}

interface TimeoutEvent {
  check: CheckId | null;
  stage: string;
  file: string | null;
  line: number | null;
}

/** What the harness read from manifest.py (its "metadata" event). */
interface ManifestFacts {
  name: string | null;
  version: string | null;
  description: string | null;
  category: string | null;
  realtime: boolean;
  features: FeatureSpec[];
  compute_profile: Record<string, unknown> | null;
  style: "metadata" | "module";
  lines: { name: number | null; version: number | null };
}

/** The name and version rules of Mixpeek's wire (lib/plugin/identity.ts), as manifest check details. */
export function identityProblems(facts: ManifestFacts): CheckDetail[] {
  const problems: CheckDetail[] = [];
  const at = (line: number | null) => ({ file: "manifest.py", ...(line ? { line } : {}) });
  if (facts.name !== null) {
    const problem = pluginNameProblem(facts.name);
    if (problem) {
      problems.push({ ...at(facts.lines.name), message: `${problem}; Mixpeek refuses it at upload` });
    }
  }
  if (facts.version !== null && normalizeVersion(facts.version) === undefined) {
    problems.push({
      ...at(facts.lines.version),
      message: `version "${facts.version}" is not a version Mixpeek accepts: write X.Y.Z such as "1.0.0" ` +
        `("v1", "1.0" and "v2.1" are accepted too, and become 1.0.0, 1.0.0 and 2.1.0)`,
    });
  }
  return problems;
}

/** A harness result for the manifest, with the identity problems the CLI finds added. */
function _judgeManifest(result: CheckResult, facts: ManifestFacts | undefined): CheckResult {
  if (!facts) return result;
  const problems = identityProblems(facts);
  if (problems.length === 0) {
    const normalized = facts.version === null ? undefined : normalizeVersion(facts.version);
    if (result.status === "pass" && normalized && normalized !== facts.version) {
      return {
        ...result,
        reason: `${result.reason}; version ${facts.version} is published as ${normalized}`,
      };
    }
    return result;
  }
  const details = [...problems, ...(result.status === "fail" ? result.details : [])];
  return {
    ...result,
    status: "fail",
    reason: details.length === 1 ? details[0].message : `${details.length} problems in manifest.py`,
    details,
  };
}

function _metadataOf(facts: ManifestFacts): PluginMetadata {
  const profile = facts.compute_profile;
  const resource = typeof profile?.resource_type === "string" ? profile.resource_type : "cpu";
  return {
    name: facts.name ?? "",
    version: facts.version ?? "",
    normalized_version: normalizeVersion(facts.version ?? "") ?? "",
    description: facts.description,
    category: facts.category,
    realtime: facts.realtime,
    features: facts.features,
    compute_profile: profile,
    resource_type: resource,
    style: facts.style,
  };
}

interface HarnessRun {
  root: string;
  result: Promise<ChildResult>;
  hello: Promise<Hello | undefined>;
  /** The results the harness reported, by check. */
  reported: Map<CheckId, CheckResult>;
  current(): { id: CheckId; started: number; stage?: string; file?: string } | undefined;
  timeout(): TimeoutEvent | undefined;
  pydanticVersion(): string | undefined;
  facts(): ManifestFacts | undefined;
}

function _startHarness(
  python: string,
  root: string,
  checks: CheckId[],
  options: HarnessOptions & { env: Record<string, string>; timeoutMs: number; signal: AbortSignal },
  onResult: (result: CheckResult) => void,
): HarnessRun {
  const reported = new Map<CheckId, CheckResult>();
  let current: { id: CheckId; started: number; stage?: string; file?: string } | undefined;
  let timeoutEvent: TimeoutEvent | undefined;
  let pydanticVersion: string | undefined;
  let facts: ManifestFacts | undefined;
  let resolveHello!: (hello: Hello | undefined) => void;
  const hello = new Promise<Hello | undefined>((r) => resolveHello = r);
  const onLine = (line: string) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not a protocol line
    }
    switch (event.event) {
      case "hello":
        resolveHello(event as unknown as Hello);
        break;
      case "pydantic":
        pydanticVersion = String(event.version);
        break;
      case "metadata":
        facts = event.metadata as ManifestFacts;
        break;
      case "start":
        current = { id: event.check as CheckId, started: performance.now() };
        break;
      case "stage":
        if (current) {
          current.stage = String(event.stage);
          current.file = typeof event.file === "string" ? event.file : undefined;
        }
        break;
      case "result": {
        let result: CheckResult = {
          id: event.check as CheckId,
          status: event.status as CheckResult["status"],
          reason: String(event.reason),
          details: event.details as CheckDetail[],
          duration_ms: Number(event.duration_ms),
        };
        if (result.id === "manifest") result = _judgeManifest(result, facts);
        reported.set(result.id, result);
        current = undefined;
        onResult(result);
        break;
      }
      case "timeout":
        timeoutEvent = event as unknown as TimeoutEvent;
        break;
    }
  };
  const result = runChild(python, {
    ...harnessCommand(root, checks, options),
    cwd: root,
    env: options.env,
    clearEnv: true,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onStdoutLine: onLine,
  });
  result.then(() => resolveHello(undefined), () => resolveHello(undefined));
  return {
    root,
    result,
    hello,
    reported,
    current: () => current,
    timeout: () => timeoutEvent,
    pydanticVersion: () => pydanticVersion,
    facts: () => facts,
  };
}

/**
 * Where a hard crash happened, from the traceback Python's faulthandler prints ("most recent call first"):
 * the innermost frame inside the plugin folder (outside a virtualenv).
 */
function _crashLocation(stderr: string, root: string): { file: string; line: number } | undefined {
  for (const m of stderr.matchAll(/^\s*File "(.+?)", line (\d+)/gm)) {
    if (!isAbsolute(m[1])) continue; // "<mixpeek-harness>", "<string>": not a plugin file
    const rel = relative(root, m[1]).split("\\").join("/");
    if (rel.startsWith("..") || isAbsolute(rel) || /^(\.?venv|env)\//.test(rel)) continue;
    return { file: rel, line: Number(m[2]) };
  }
  return undefined;
}

/** What Python said as it died: faulthandler's "Fatal Python error" line, else the end of its stderr. */
function _crashText(stderr: string): string {
  const fatal = /^Fatal Python error: .*$/m.exec(stderr)?.[0];
  if (fatal) return `: ${fatal}`;
  const own = stderr.split("\n").filter((line) => !/File "<(mixpeek-harness|string)>"/.test(line)).join("\n");
  const tail = _tail(own, 6);
  return tail ? `:\n${tail}` : "";
}

/** Results for the harness checks it did not report: the one running when it stopped fails, the rest skip. */
function _unfinished(
  run: HarnessRun,
  checks: CheckId[],
  child: ChildResult,
  timeoutMs: number,
): CheckResult[] {
  const missing = checks.filter((id) => !run.reported.has(id));
  if (missing.length === 0) return [];
  const event = run.timeout();
  const current = run.current();
  const culprit = (event?.check ?? current?.id ?? missing[0]) as CheckId;
  const stageText = event?.stage ?? current?.stage;
  const stage = stageText ? ` while ${stageText}` : "";
  const seconds = timeoutMs / 1000;
  const detail: CheckDetail = {
    message: child.timed_out
      ? `did not finish within ${seconds} s${stage} (raise the limit with --timeout)`
      : `python exited with code ${child.code}${child.signal ? ` (${child.signal})` : ""}${stage}` +
        _crashText(child.stderr),
  };
  const where = event?.file
    ? { file: event.file, line: event.line }
    : _crashLocation(child.stderr, run.root) ??
      (current?.file ? { file: current.file, line: null } : undefined);
  if (where?.file) {
    detail.file = where.file;
    if (where.line) detail.line = where.line;
  }
  return missing.map((id) => {
    if (id !== culprit) {
      return _skip(
        id,
        child.timed_out ? "not run: the harness was stopped by the timeout" : "not run: python exited",
      );
    }
    return {
      id,
      status: "fail",
      reason: child.timed_out ? `timed out after ${seconds} s${stage}` : `python exited unexpectedly${stage}`,
      details: [detail],
      duration_ms: current ? _since(current.started) : 0,
    };
  });
}

async function _testsCheck(
  python: string,
  root: string,
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
  verbose: boolean,
): Promise<CheckResult> {
  const start = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-pytest-" });
  const xmlPath = join(dir, "junit.xml");
  try {
    const run = await runChild(python, {
      args: pytestArgs(root, xmlPath),
      cwd: root,
      env,
      clearEnv: true,
      timeoutMs,
      signal,
    });
    const output = (run.stdout + (run.stderr ? "\n" + run.stderr : "")).trimEnd();
    // The step's wall time: interpreter start-up, conftest and collection included (pytest's own "time" in
    // its report leaves those out, so "3 passed in 0.02 s" could stand for a step of two seconds).
    const wallMs = _since(start);
    const result = await _testsResult(run, xmlPath, timeoutMs, wallMs);
    return { ...result, duration_ms: wallMs, ...(verbose ? { output } : {}) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function _testsResult(
  run: ChildResult,
  xmlPath: string,
  timeoutMs: number,
  wallMs: number,
): Promise<Omit<CheckResult, "duration_ms">> {
  const fail = (reason: string, message: string): Omit<CheckResult, "duration_ms"> => ({
    id: "tests",
    status: "fail",
    reason,
    details: [{ file: "tests", message }],
  });
  if (run.timed_out) {
    const last = _tail(run.stdout, 1);
    return fail(
      `pytest timed out after ${timeoutMs / 1000} s`,
      `pytest did not finish within ${timeoutMs / 1000} s (does a test or an import hang?)` +
        (last ? `; its last output: ${last}` : ""),
    );
  }
  if (run.code === PYTEST_MISSING) return fail("pytest is not installed", _tail(run.stderr, 1));
  const xml = await Deno.readTextFile(xmlPath).catch(() => undefined);
  if (run.code === 5) {
    return { id: "tests", status: "skip", reason: "tests/ holds no tests pytest collects", details: [] };
  }
  let report;
  try {
    report = xml === undefined ? undefined : parseJUnit(xml);
  } catch {
    report = undefined;
  }
  if (!report) {
    return fail(`pytest exited with code ${run.code} without a report`, _tail(run.stderr || run.stdout, 6));
  }
  const counts = [
    report.failures ? `${report.failures} failed` : "",
    report.errors ? `${report.errors} error${report.errors === 1 ? "" : "s"}` : "",
    `${report.passed} passed`,
    report.skipped ? `${report.skipped} skipped` : "",
  ].filter((s) => s !== "").join(", ");
  const failed = report.failed.map((f) => ({
    ...(f.file ? { file: f.file } : {}),
    ...(f.line ? { line: f.line } : {}),
    test_id: f.test_id,
    message: f.message,
  }));
  if (failed.length > 0 || run.code !== 0) {
    const details = failed.length > 0 ? failed : [{
      file: "tests",
      message: `pytest exited with code ${run.code}: ${_tail(run.stdout || run.stderr, 4)}`,
    }];
    return { id: "tests", status: "fail", reason: counts, details };
  }
  return { id: "tests", status: "pass", reason: `${counts} in ${(wallMs / 1000).toFixed(2)} s`, details: [] };
}

function _sampleSkipReason(root: string, hasShippedSample: boolean, cwd: string): string {
  if (!hasShippedSample) return "no --sample-data FILE given";
  const rel = relative(cwd, join(root, "sample_data.json")) || "sample_data.json";
  return `no --sample-data FILE given (the plugin ships one: --sample-data ${rel})`;
}

function _wantedChecks(checks: TestOptions["checks"]): Set<CheckId> {
  if (checks === undefined) return new Set(CHECK_IDS);
  const wanted = new Set<CheckId>(CORE_CHECKS);
  for (const id of checks) wanted.add(id === "schemas" ? "manifest" : id);
  return wanted;
}

/** Runs the checks on the plugin folder `root` and returns the report (it never prints). */
export async function testPlugin(root: string, options: TestOptions = {}): Promise<TestReport> {
  const start = performance.now();
  const cwd = options.cwd ?? Deno.cwd();
  const path = resolve(cwd, root);
  const info = await statOrUndefined(path);
  if (!info) {
    throw new UsageError(`--path ${root}: no such folder`, {
      hint: "pass the plugin folder (the one holding manifest.py) with --path DIR",
    });
  }
  const sample = options.sampleData === undefined
    ? undefined
    : await _sampleFile(cwd, path, options.sampleData);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const board = new _Board(options.onCheck);
  /** What is learnt about the interpreter along the way. */
  const facts: Pick<TestReport, "python" | "python_version" | "pydantic_version" | "metadata"> = {};
  const wantedSet = _wantedChecks(options.checks);
  const wanted = (id: CheckId) => wantedSet.has(id);
  const NOT_REQUESTED = "not run by this command";
  const finish = (): TestReport => {
    const checks = board.all();
    return {
      path,
      ok: checks.every((c) => c.status !== "fail"),
      ...facts,
      checks,
      duration_ms: _since(start),
    };
  };
  const skipPython = (reason: string) => {
    for (const id of ["manifest", "pipeline", "tests", "sample_data", "realtime"] as const) {
      board.set(_skip(id, wanted(id) ? reason : NOT_REQUESTED));
    }
  };

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const checks = HARNESS_CHECKS.filter((id) =>
    wanted(id) && (id !== "sample_data" || sample !== undefined)
  ) as CheckId[];
  /** Finds the interpreter, writes the runtime if needed and starts the harness. */
  const launch = async () => {
    const python = await findPython(path, { flag: options.python, env: options.env, cwd });
    const env = childEnv({ runtime: await runtimePath(options.env) });
    const harness = _startHarness(
      python.command,
      path,
      checks,
      { sample, params: options.params, env, timeoutMs, signal: stop.signal },
      (r) => board.set(r),
    );
    return { python, env, harness };
  };
  let launched: ReturnType<typeof launch> | undefined;
  try {
    // Python's start-up is the longest part of a run: unless no plugin code may run before the scan
    // (scanFirst), the harness starts while the structure check (TypeScript) reads the files, and is
    // stopped if the structure is wrong.
    if (!options.scanFirst && info.isDirectory) {
      launched = launch();
      launched.catch(() => {}); // observed below, or dropped when the structure check fails
    }
    const structureStart = performance.now();
    board.set(_structureCheck(await checkLayout(path), structureStart));
    if (board.get("structure")!.status === "fail") {
      stop.abort();
      await launched?.then((l) => l.harness.result).catch(() => {});
      board.set(
        !wanted("scan")
          ? _skip("scan", NOT_REQUESTED)
          : info.isDirectory
          ? await _scanCheck(path, options)
          : _skip("scan", "not run: the path is a file"),
      );
      skipPython("not run: the structure check failed");
      return finish();
    }

    let scan: Promise<CheckResult> | undefined;
    const startScan = () => {
      if (scan) return;
      scan = wanted("scan") ? _scanCheck(path, options) : Promise.resolve(_skip("scan", NOT_REQUESTED));
      scan.then((r) => board.set(r));
    };
    if (options.scanFirst) {
      startScan();
      const scanned = await scan!;
      if (scanned.status === "fail") {
        // No plugin code runs before the scan passed (publish): the Python checks are not started.
        skipPython("not run: the security scan failed, so no plugin code is run");
        return finish();
      }
    }

    const hasTests = wanted("tests") && (await statOrUndefined(join(path, "tests")))?.isDirectory === true;
    if (!wanted("sample_data")) board.set(_skip("sample_data", NOT_REQUESTED));
    else if (!sample) {
      const shipped = (await statOrUndefined(join(path, "sample_data.json")))?.isFile === true;
      board.set(_skip("sample_data", _sampleSkipReason(path, shipped, cwd)));
    }
    if (!wanted("realtime")) board.set(_skip("realtime", NOT_REQUESTED));
    if (!wanted("tests")) board.set(_skip("tests", NOT_REQUESTED));
    else if (!hasTests) board.set(_skip("tests", "no tests/ folder"));

    const { python, env, harness } = await (launched ?? launch());
    facts.python = python.command;
    // The scan is CPU work (parser set-up, then parsing) for one core. Without tests it runs beside the
    // harness; with tests, the harness and pytest already use two cores, so it waits for one of them.
    if (!hasTests) startScan();
    const hello = await harness.hello;
    const problem = hello ? _environmentProblem(hello, hasTests) : undefined;
    if (!hello || problem) {
      stop.abort();
      const child = await harness.result;
      if (options.signal?.aborted) throw new InterruptedError("interrupted");
      throw problem ??
        new FailedError(`${python.command} could not run the test harness (it needs Python 3.8+)`, {
          hint: `its output: ${
            _tail(child.stderr, 2) || `exit code ${child.code}`
          }; pass another Python with --python`,
        });
    }
    facts.python = hello.executable || python.command;
    facts.python_version = hello.python;
    // pytest starts as soon as the interpreter is known (the harness's first event), from the resolved
    // executable so a version-manager shim is not paid for twice, unless a scoped --allow-run only
    // grants the command that was discovered.
    const pytestPython = _mayRun(facts.python) ? facts.python : python.command;
    const tests = hasTests
      ? _testsCheck(pytestPython, path, env, timeoutMs, stop.signal, options.verbose === true)
      : undefined;
    // Rejections are observed by the `await Promise.all` below; these branches only must not leave them unhandled.
    tests?.then((r) => board.set(r), () => {});
    if (tests) Promise.race([harness.result, tests]).then(startScan, () => {});
    const child = await harness.result;
    const pydanticVersion = harness.pydanticVersion();
    if (pydanticVersion) facts.pydantic_version = pydanticVersion;
    for (const result of _unfinished(harness, checks, child, timeoutMs)) board.set(result);
    const manifestFacts = harness.facts();
    if (manifestFacts && board.get("manifest")?.status === "pass") {
      facts.metadata = _metadataOf(manifestFacts);
    }
    startScan(); // (no-op when it already runs)
    await Promise.all([scan, tests]);
    if (options.signal?.aborted) throw new InterruptedError("interrupted");
    return finish();
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
  }
}

function _mayRun(command: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "run", command }).state === "granted";
  } catch {
    return false;
  }
}

function _environmentProblem(hello: Hello, hasTests: boolean): FailedError | undefined {
  const who = `${hello.executable} (Python ${hello.python})`;
  if (hello.runtime === false) {
    return new FailedError(`${who} cannot import the local platform runtime (engine, shared)`, {
      hint: "something resets PYTHONPATH for this interpreter (a sitecustomize or a -I wrapper?); " +
        "pass another one with --python",
    });
  }
  const missing = [!hello.pydantic ? "pydantic" : "", hasTests && !hello.pytest ? "pytest" : ""].filter(
    Boolean,
  );
  if (missing.length === 0) return undefined;
  return new FailedError(
    `${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not installed for ${who}`,
    {
      hint:
        `install ${missing.length === 1 ? "it" : "them"}: ${hello.executable} -m pip install ${
          missing.join(" ")
        }${hello.pandas === false ? " pandas" : ""}` +
        " (or pass another interpreter with --python)",
    },
  );
}
