/**
 * `plugin test`: the six checks of SPEC.md §2, run for real with the author's Python.
 *
 *   structure    lib/plugin/layout.ts (TypeScript, no Python)
 *   schemas      ┐
 *   pipeline     ├ one run of the embedded harness (lib/plugin/harness/harness.py), in order
 *   sample_data  ┘
 *   scan         lib/scan/scan.ts (TypeScript), concurrently with the Python runs
 *   tests        pytest with the same interpreter, concurrently with the harness
 *
 * Results are reported through `onCheck` in that fixed order (structure, schemas, pipeline, scan, tests,
 * sample_data) as soon as each one and all before it are known, so the output is stable. Each Python child
 * runs in its own process group under a timeout: a hang or crash becomes a failed check.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { HARNESS_FILES } from "../embedded/harness.ts";
import { FailedError, InterruptedError, UsageError } from "../errors.ts";
import { parseJUnit } from "./junit.ts";
import { checkLayout, REQUIRED_FILES, statOrUndefined } from "./layout.ts";
import { type ChildResult, type EnvLike, findPython, runChild } from "./python.ts";

export const CHECK_IDS = ["structure", "schemas", "pipeline", "scan", "tests", "sample_data"] as const;
export type CheckId = typeof CHECK_IDS[number];
export type CheckStatus = "pass" | "fail" | "skip";

export interface CheckDetail {
  /** Relative to the plugin folder ('/'-separated), or the sample data file as given. */
  file?: string;
  line?: number;
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

/** The plugin's identity as its manifest declares it (known once the schemas check passed). */
export interface PluginMetadata {
  name: string;
  version: string;
  category: string;
  resource_type: string;
  realtime: boolean;
}

export interface TestReport {
  /** The plugin folder, absolute. */
  path: string;
  /** The interpreter that ran the plugin's code. */
  python?: string;
  python_version?: string;
  pydantic_version?: string;
  /** From manifest.py, when the schemas check passed. */
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
  /** Limit for each Python child (the harness, pytest); default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Where MIXPEEK_PYTHON and PATH are read (default Deno.env). The children inherit the process env. */
  env?: EnvLike;
  cwd?: string;
  /** Called once per check, in CHECK_IDS order, as soon as the check and all before it are done. */
  onCheck?: (check: CheckResult) => void;
  /** Keep pytest's own output in the tests check. */
  verbose?: boolean;
  /**
   * The optional checks to run (default: all). structure, schemas and pipeline always run; `publish`
   * leaves out tests and sample_data.
   */
  checks?: CheckId[];
  /** Scan in low-memory mode (one thread, periodic collection): `publish` packs and uploads next. */
  scanLowMemory?: boolean;
  /** Aborting stops every child process; testPlugin then throws InterruptedError. */
  signal?: AbortSignal;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
/** Record failures reported in detail; the summary still counts all of them. */
export const MAX_RECORD_FAILURES = 20;

/** Variables added to the children's environment: no .pyc files or caches left in the author's folder. */
export const CHILD_ENV = { PYTHONDONTWRITEBYTECODE: "1", PYTHONIOENCODING: "utf-8" };

/** Runs pytest in-process so that a missing pytest is told apart from a failing run (exit code 97). */
const PYTEST_BOOT = [
  "import sys",
  "try:",
  "    import pytest",
  "except ImportError:",
  "    sys.stderr.write('mixpeek: pytest is not installed for ' + sys.executable + '\\n')",
  "    sys.exit(97)",
  "sys.argv[0] = 'pytest'",
  "sys.exit(pytest.main(sys.argv[1:]))",
].join("\n");
const PYTEST_MISSING = 97;

const HARNESS_CHECKS: readonly CheckId[] = ["schemas", "pipeline", "sample_data"];

/**
 * A tiny loader that reads the harness source from stdin and runs it. Passing the source this way keeps
 * the command line short (Windows caps it at 32 KiB; `ps` stays readable) and needs no temporary file;
 * stdin is at EOF afterwards, so plugin code that reads it gets nothing rather than blocking.
 */
const HARNESS_LOADER = "import sys; exec(compile(sys.stdin.read(), '<mixpeek-harness>', 'exec'))";

/** How to run the harness (cwd: the plugin): interpreter arguments, and the source to write to its stdin. */
export function harnessCommand(
  root: string,
  checks: CheckId[],
  sample?: { path: string; name: string },
): { args: string[]; stdin: string } {
  const config = {
    root,
    checks,
    sample_data: sample?.path ?? null,
    sample_data_name: sample?.name ?? null,
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
      reason: `${REQUIRED_FILES.map((f) => f.path).join(", ")} present`,
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

/** The security scan (lib/scan/): findings fail the check with file:line, rule and message. */
async function _scanCheck(root: string, lowMemory?: boolean): Promise<CheckResult> {
  const start = performance.now();
  try {
    const { scanTree } = await import("../scan/scan.ts"); // lazy: tree-sitter loads only when needed
    const report = await scanTree(root, { lowMemory });
    const findings = report.findings;
    if (findings.length === 0) {
      return {
        id: "scan",
        status: "pass",
        reason: `${report.files_scanned} Python files, no findings`,
        details: [],
        duration_ms: _since(start),
      };
    }
    return {
      id: "scan",
      status: "fail",
      reason: `${findings.length} finding${
        findings.length === 1 ? "" : "s"
      } in ${report.files_scanned} Python files`,
      details: findings.map((f) => ({
        file: f.file,
        line: f.line,
        message: `${f.rule_id}: ${f.message}`,
      })),
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
}

interface TimeoutEvent {
  check: CheckId | null;
  stage: string;
  file: string | null;
  line: number | null;
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
  metadata(): PluginMetadata | undefined;
}

function _startHarness(
  python: string,
  root: string,
  checks: CheckId[],
  sample: { path: string; name: string } | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  onResult: (result: CheckResult) => void,
): HarnessRun {
  const reported = new Map<CheckId, CheckResult>();
  let current: { id: CheckId; started: number; stage?: string; file?: string } | undefined;
  let timeoutEvent: TimeoutEvent | undefined;
  let pydanticVersion: string | undefined;
  let metadata: PluginMetadata | undefined;
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
        metadata = event.metadata as PluginMetadata;
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
        const result: CheckResult = {
          id: event.check as CheckId,
          status: event.status as CheckResult["status"],
          reason: String(event.reason),
          details: event.details as CheckDetail[],
          duration_ms: Number(event.duration_ms),
        };
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
    ...harnessCommand(root, checks, sample),
    cwd: root,
    env: CHILD_ENV,
    timeoutMs,
    signal,
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
    metadata: () => metadata,
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
      env: CHILD_ENV,
      timeoutMs,
      signal,
    });
    const output = (run.stdout + (run.stderr ? "\n" + run.stderr : "")).trimEnd();
    const result = await _testsResult(run, xmlPath, timeoutMs);
    return { ...result, duration_ms: _since(start), ...(verbose ? { output } : {}) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function _testsResult(
  run: ChildResult,
  xmlPath: string,
  timeoutMs: number,
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
  return { id: "tests", status: "pass", reason: `${counts} in ${report.time.toFixed(2)} s`, details: [] };
}

function _sampleSkipReason(root: string, hasShippedSample: boolean, cwd: string): string {
  if (!hasShippedSample) return "no --sample-data FILE given";
  const rel = relative(cwd, join(root, "sample_data.json")) || "sample_data.json";
  return `no --sample-data FILE given (the plugin ships one: --sample-data ${rel})`;
}

/** Runs every check on the plugin folder `root` and returns the report (it never prints). */
export async function testPlugin(root: string, options: TestOptions = {}): Promise<TestReport> {
  const start = performance.now();
  const cwd = options.cwd ?? Deno.cwd();
  const path = resolve(cwd, root);
  const info = await statOrUndefined(path);
  if (!info) {
    throw new UsageError(`--path ${root}: no such folder`, {
      hint: "pass the plugin folder with --path DIR",
    });
  }
  const sample = options.sampleData === undefined
    ? undefined
    : await _sampleFile(cwd, path, options.sampleData);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const board = new _Board(options.onCheck);
  /** What is learnt about the interpreter along the way. */
  const facts: Pick<TestReport, "python" | "python_version" | "pydantic_version" | "metadata"> = {};
  const wanted = (id: CheckId) => options.checks === undefined || options.checks.includes(id);
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

  const structureStart = performance.now();
  board.set(_structureCheck(await checkLayout(path), structureStart));
  if (board.all()[0].status === "fail") {
    const reason = "not run: the structure check failed";
    board.set(_skip("schemas", reason));
    board.set(_skip("pipeline", reason));
    board.set(
      !wanted("scan")
        ? _skip("scan", NOT_REQUESTED)
        : info.isDirectory
        ? await _scanCheck(path, options.scanLowMemory)
        : _skip("scan", "not run: the path is a file"),
    );
    board.set(_skip("tests", reason));
    board.set(_skip("sample_data", reason));
    return finish();
  }

  const python = await findPython(path, { flag: options.python, env: options.env, cwd });
  facts.python = python.command;
  const hasTests = wanted("tests") && (await statOrUndefined(join(path, "tests")))?.isDirectory === true;
  const checks = HARNESS_CHECKS.filter((id) => id !== "sample_data" || sample !== undefined);
  if (!wanted("sample_data")) board.set(_skip("sample_data", NOT_REQUESTED));
  else if (!sample) {
    const shipped = (await statOrUndefined(join(path, "sample_data.json")))?.isFile === true;
    board.set(_skip("sample_data", _sampleSkipReason(path, shipped, cwd)));
  }
  if (!wanted("tests")) board.set(_skip("tests", NOT_REQUESTED));
  else if (!hasTests) board.set(_skip("tests", "no tests/ folder"));

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let scan: Promise<CheckResult> | undefined;
  try {
    const harness = _startHarness(
      python.command,
      path,
      checks,
      sample,
      timeoutMs,
      stop.signal,
      (r) => board.set(r),
    );
    // The scan is CPU work (parser set-up, then parsing) for one core. Without tests it runs beside the
    // harness; with tests, the harness and pytest already use two cores, so it waits for one of them.
    const startScan = () => {
      if (scan) return;
      if (!wanted("scan")) {
        scan = Promise.resolve(_skip("scan", NOT_REQUESTED));
        scan.then((r) => board.set(r));
        return;
      }
      scan = _scanCheck(path, options.scanLowMemory);
      scan.then((r) => board.set(r));
    };
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
      ? _testsCheck(pytestPython, path, timeoutMs, stop.signal, options.verbose === true)
      : undefined;
    // Rejections are observed by the `await Promise.all` below; these branches only must not leave them unhandled.
    tests?.then((r) => board.set(r), () => {});
    if (tests) Promise.race([harness.result, tests]).then(startScan, () => {});
    const child = await harness.result;
    const pydanticVersion = harness.pydanticVersion();
    if (pydanticVersion) facts.pydantic_version = pydanticVersion;
    facts.metadata = harness.metadata();
    for (const result of _unfinished(harness, checks, child, timeoutMs)) board.set(result);
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
        }` +
        " (or pass another interpreter with --python)",
    },
  );
}
