/**
 * Human vs `--json` rendering and colour rules. Data goes to stdout, everything else
 * (status lines, warnings, errors, prompts, progress) to stderr, so `--json` on stdout stays clean.
 */
import { deniedPermission, MixpeekError } from "./errors.ts";
import { osErrorFacts, osErrorHint, plainOsText } from "./os_errors.ts";
import { formatBytes } from "./pack/size.ts";

export interface OutputOptions {
  json: boolean;
  /** False with `--no-color`; colour is also off when NO_COLOR is set or the stream is not a TTY. */
  color: boolean;
  verbose: boolean;
}

export interface Writers {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdoutIsTerminal: boolean;
  stderrIsTerminal: boolean;
}

const encoder = new TextEncoder();

function writeAll(file: typeof Deno.stdout | typeof Deno.stderr, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

export function processWriters(): Writers {
  return {
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
  };
}

type Paint = (text: string) => string;

export interface Palette {
  red: Paint;
  green: Paint;
  yellow: Paint;
  dim: Paint;
  bold: Paint;
}

function _sgr(open: number, close: number): Paint {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const plain: Paint = (text) => text;
const PLAIN: Palette = { red: plain, green: plain, yellow: plain, dim: plain, bold: plain };
const ANSI: Palette = {
  red: _sgr(31, 39),
  green: _sgr(32, 39),
  yellow: _sgr(33, 39),
  dim: _sgr(2, 22),
  bold: _sgr(1, 22),
};

/** Colour only when asked for, allowed by NO_COLOR (https://no-color.org) and the stream is a terminal. */
export function colorEnabled(requested: boolean, isTerminal: boolean, env = Deno.env): boolean {
  const noColor = env.get("NO_COLOR");
  return requested && isTerminal && (noColor === undefined || noColor === "");
}

export type Row = Record<string, string | number | boolean | null | undefined>;

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** Colours for stderr (status lines and errors). */
  readonly err: Palette;
  /** Colours for stdout (human-readable data). */
  readonly out: Palette;
  readonly #w: Writers;

  constructor(options: OutputOptions, writers: Writers = processWriters()) {
    this.json = options.json;
    this.verbose = options.verbose;
    this.#w = writers;
    this.err = colorEnabled(options.color, writers.stderrIsTerminal) ? ANSI : PLAIN;
    this.out = colorEnabled(options.color, writers.stdoutIsTerminal) ? ANSI : PLAIN;
  }

  get stdoutIsTerminal(): boolean {
    return this.#w.stdoutIsTerminal;
  }

  get stderrIsTerminal(): boolean {
    return this.#w.stderrIsTerminal;
  }

  /** The command's result: JSON with `--json`, otherwise the human rendering. */
  result<T>(data: T, human: (data: T, palette: Palette) => string): void {
    if (this.json) this.#w.stdout(JSON.stringify(data, null, 2) + "\n");
    else {
      const text = human(data, this.out);
      if (text !== "") this.#w.stdout(text.endsWith("\n") ? text : text + "\n");
    }
  }

  /** Raw text on stdout (a generated script, an archive listing). */
  writeStdout(text: string): void {
    this.#w.stdout(text);
  }

  /** Raw text on stderr (progress lines). */
  writeStderr(text: string): void {
    this.#w.stderr(text);
  }

  /** A progress display for a transfer of `total` bytes (see Progress). */
  progress(label: string, total: number, intervalMs?: number): Progress {
    return new Progress(this, label, total, intervalMs);
  }

  /** A status line on stderr. */
  info(message: string): void {
    this.#w.stderr(message + "\n");
  }

  /** A status line only shown with `--verbose`. */
  debug(message: string): void {
    if (this.verbose) this.#w.stderr(this.err.dim(message) + "\n");
  }

  success(message: string): void {
    this.#w.stderr(`${this.err.green("✓")} ${message}\n`);
  }

  warn(message: string): void {
    this.#w.stderr(`${this.err.yellow("warning:")} ${message}\n`);
  }

  /** Rows as an aligned table in a terminal, tab-separated values when piped (one header line either way). */
  table(rows: Row[], columns: string[]): void {
    const cell = (v: Row[string]) => (v === null || v === undefined ? "" : String(v));
    if (!this.#w.stdoutIsTerminal) {
      const clean = (s: string) => s.replace(/[\t\n\r]/g, " ");
      const lines = [
        columns.join("\t"),
        ...rows.map((r) => columns.map((c) => clean(cell(r[c]))).join("\t")),
      ];
      this.#w.stdout(lines.join("\n") + "\n");
      return;
    }
    const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
    const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
    const header = this.out.bold(line(columns.map((c) => c.toUpperCase())));
    this.#w.stdout([header, ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n") + "\n");
  }

  /**
   * The one place errors are printed: `error: <what>` on stderr with the hint last, the cause chain
   * under `--verbose`; with `--json` an `{"error": …}` document on stdout as well, so scripts parsing
   * stdout always get JSON.
   */
  error(error: unknown): void {
    const raw = error instanceof Error ? error.message : String(error);
    const message = plainOsText(raw);
    const hint = permissionHint(error) ?? (error instanceof MixpeekError ? error.hint : undefined) ??
      osErrorHint(raw);
    this.#w.stderr(`${this.err.red("error:")} ${message}\n`);
    if (this.verbose) {
      for (let cause = (error as Error)?.cause; cause !== undefined; cause = (cause as Error)?.cause) {
        this.#w.stderr(
          this.err.dim(`  caused by: ${cause instanceof Error ? cause.message : String(cause)}`) + "\n",
        );
        if (!(cause instanceof Error)) break;
      }
      if (!(error instanceof MixpeekError) && error instanceof Error && error.stack) {
        this.#w.stderr(this.err.dim(error.stack) + "\n");
      }
    }
    if (hint) this.#w.stderr(`${this.err.dim("hint:")} ${hint}\n`);
    const reported = error instanceof MixpeekError && error.reported;
    if (this.json && !reported) {
      this.#w.stdout(JSON.stringify({ error: errorDocument(error) }, null, 2) + "\n");
    }
  }
}

export interface ErrorDocument {
  type: string;
  message: string;
  hint?: string;
  exit_code: number;
  status?: number;
  request_id?: string;
}

export function errorDocument(error: unknown): ErrorDocument {
  const permission = permissionHint(error);
  if (permission) {
    return { type: "permission", message: (error as Error).message, hint: permission, exit_code: 2 };
  }
  const raw = error instanceof Error ? error.message : String(error);
  if (!(error instanceof MixpeekError)) {
    const hint = osErrorHint(raw);
    return {
      type: osErrorFacts(raw) ? "os" : "internal",
      message: plainOsText(raw),
      ...(hint ? { hint } : {}),
      exit_code: 1,
    };
  }
  const doc: ErrorDocument = { type: error.type, message: plainOsText(raw), exit_code: error.exitCode };
  const hint = error.hint ?? osErrorHint(raw);
  if (hint) doc.hint = hint;
  const api = error as { status?: number; requestId?: string };
  if (api.status !== undefined) doc.status = api.status;
  if (api.requestId !== undefined) doc.request_id = api.requestId;
  return doc;
}

/**
 * What to do about a Deno permission the run was not granted (see deniedPermission), or undefined. Deno's
 * own message names the flag ("run again with the --allow-write flag"); the hint says where it goes.
 */
export function permissionHint(error: unknown): string | undefined {
  const denied = deniedPermission(error);
  if (!denied) return undefined;
  const flag = denied.message.match(/--allow-[a-z-]+/)?.[0] ?? "the --allow-* flag it names";
  return Deno.build.standalone
    ? `this binary was compiled without that permission: please report it; meanwhile run from source with ${flag}`
    : `this run lacks a Deno permission: add ${flag} (scoped to what it names) to the deno run flags, ` +
      `or see "Least privilege" in the README`;
}

/**
 * Sizes use one style everywhere, the binary one of lib/pack/size.ts (KiB, MiB, GiB), because Mixpeek's
 * limits are binary (its "500 MB" is 524,288,000 bytes) and `--max-size 500MB` parses as 500 MiB.
 */
export { formatBytes };

function _formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * Transfer progress on stderr: one line redrawn in place in a terminal (at most 10 times a second), a
 * plain line every few seconds when stderr is not a terminal, nothing at all with `--json`.
 */
export class Progress {
  readonly #out: Output;
  readonly #label: string;
  readonly #total: number;
  readonly #intervalMs: number;
  readonly #start = performance.now();
  #lastDraw = 0;
  #done = 0;

  constructor(out: Output, label: string, total: number, intervalMs?: number) {
    this.#out = out;
    this.#label = label;
    this.#total = total;
    this.#intervalMs = intervalMs ?? (out.stderrIsTerminal ? 100 : 5000);
  }

  /** The line as it would be shown for `done` bytes after `elapsedMs`. */
  static describe(label: string, done: number, total: number, elapsedMs: number): string {
    const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    return `${label} ${String(percent).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)} ` +
      `${formatBytes(rate)}/s ETA ${_formatDuration(eta)}`;
  }

  update(done: number): void {
    this.#done = done;
    if (this.#out.json) return;
    const now = performance.now();
    if (now - this.#lastDraw < this.#intervalMs && done < this.#total) return;
    this.#lastDraw = now;
    this.#draw(now);
  }

  #draw(now: number): void {
    const line = Progress.describe(this.#label, this.#done, this.#total, now - this.#start);
    this.#out.writeStderr(this.#out.stderrIsTerminal ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Ends the progress display (the terminal line is finished with a newline). */
  finish(): void {
    if (this.#out.json) return;
    if (this.#out.stderrIsTerminal) this.#out.writeStderr("\n");
    else if (this.#lastDraw === 0 || this.#done < this.#total) this.#draw(performance.now());
  }
}
