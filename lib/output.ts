/**
 * Human vs `--json` rendering and colour rules. Data goes to stdout, everything else
 * (status lines, warnings, errors, prompts, progress) to stderr, so `--json` on stdout stays clean.
 */
import { CancelledError, deniedPermission, InterruptedError, MixpeekError } from "./errors.ts";
import { osErrorFacts, osErrorHint, plainOsText } from "./os_errors.ts";
import { formatBytes } from "./pack/size.ts";
import { type Live, type LiveLine, SpinnerLine, TransferLine } from "./progress.ts";

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
  /** The terminal's width, for the live line (which must not wrap to be redrawn in place). */
  stderrColumns?: () => number;
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
    stderrColumns: () => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80;
      }
    },
  };
}

/** Redraws per second of the live line. */
const LIVE_INTERVAL_MS = 100;
const ERASE_LINE = "\r\x1b[2K";

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
  /** The line drawn at the bottom of stderr (progress, a spinner), if any: other stderr text goes above it. */
  #live?: LiveLine;
  #liveTimer?: ReturnType<typeof setInterval>;

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

  /** Raw text on stderr (above the live line, if one is shown). */
  writeStderr(text: string): void {
    this.#stderr(text);
  }

  /** Whether live lines are drawn: stderr is a terminal and the output is not --json. */
  get animates(): boolean {
    return !this.json && this.#w.stderrIsTerminal;
  }

  /**
   * Shows `line` at the bottom of stderr until the handle ends it (see lib/progress.ts); a no-op handle when
   * nothing animates. A new live line replaces the one shown.
   */
  live(line: LiveLine): Live {
    if (!this.animates) return { end: () => {} };
    this.#live = line;
    this.#drawLive();
    if (this.#liveTimer === undefined) {
      const timer = setInterval(() => this.#drawLive(), LIVE_INTERVAL_MS);
      Deno.unrefTimer(timer); // never what keeps the process alive
      this.#liveTimer = timer;
    }
    return {
      end: (summary?: string) => {
        if (this.#live !== line) return;
        this.#live = undefined;
        clearInterval(this.#liveTimer);
        this.#liveTimer = undefined;
        this.#w.stderr(ERASE_LINE + (summary ? `${summary}\n` : ""));
      },
    };
  }

  /** A transfer display of `total` bytes (a no-op outside a terminal); `waiting`: its text once all is done. */
  progress(label: string, total: number, waiting = "finishing"): Progress {
    return new Progress(this, new TransferLine(label, total, { waiting }));
  }

  /** A spinner with a status and the time elapsed (a no-op outside a terminal). */
  spinner(label: string, status = ""): Spinner {
    return new Spinner(this, new SpinnerLine(label, status));
  }

  #drawLive(): void {
    if (!this.#live) return;
    const reported = this.#w.stderrColumns?.() ?? 0;
    const columns = reported >= 20 ? reported : 80; // 0 when the terminal does not say (a bare pty)
    let text = this.#live.render(performance.now());
    if (text.length > columns - 1) text = text.slice(0, Math.max(0, columns - 2)) + "…";
    this.#w.stderr(ERASE_LINE + text);
  }

  /** Text on stderr: above the live line (erased, the text written, the line drawn again). */
  #stderr(text: string): void {
    if (!this.#live) return this.#w.stderr(text);
    this.#w.stderr(ERASE_LINE + text);
    this.#drawLive();
  }

  /** A status line on stderr. */
  info(message: string): void {
    this.#stderr(message + "\n");
  }

  /** A status line only shown with `--verbose`. */
  debug(message: string): void {
    if (this.verbose) this.#stderr(this.err.dim(message) + "\n");
  }

  success(message: string): void {
    this.#stderr(`${this.err.green("✓")} ${message}\n`);
  }

  warn(message: string): void {
    this.#stderr(`${this.err.yellow("warning:")} ${message}\n`);
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
    // Ctrl-C and a "no" at a prompt are the user's choice, not a failure: no "error:" in front.
    const chosen = error instanceof InterruptedError || error instanceof CancelledError;
    // In a terminal, Ctrl-C left its echo ("^C") on the current line: the message takes that line.
    if (error instanceof InterruptedError && this.#w.stderrIsTerminal && !this.#live) {
      this.#w.stderr(ERASE_LINE);
    }
    this.#stderr(chosen ? `${message}\n` : `${this.err.red("error:")} ${message}\n`);
    if (this.verbose) {
      for (let cause = (error as Error)?.cause; cause !== undefined; cause = (cause as Error)?.cause) {
        this.#stderr(
          this.err.dim(`  caused by: ${cause instanceof Error ? cause.message : String(cause)}`) + "\n",
        );
        if (!(cause instanceof Error)) break;
      }
      if (!(error instanceof MixpeekError) && error instanceof Error && error.stack) {
        this.#stderr(this.err.dim(error.stack) + "\n");
      }
    }
    if (hint) this.#stderr(`${this.err.dim("hint:")} ${hint}\n`);
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

/** A transfer display (lib/progress.ts TransferLine) on the Output's live line. */
export class Progress {
  readonly #line: TransferLine;
  readonly #live: Live;

  constructor(out: Output, line: TransferLine) {
    this.#line = line;
    this.#live = out.live(line);
  }

  update(done: number): void {
    this.#line.update(done);
  }

  /** Ends the display; `verb` ("uploaded", "packed") leaves a one-line summary in the terminal. */
  finish(verb?: string): void {
    this.#live.end(verb ? this.#line.summary(verb) : undefined);
  }
}

/** A spinner (lib/progress.ts SpinnerLine) on the Output's live line. */
export class Spinner {
  readonly #line: SpinnerLine;
  readonly #live: Live;

  constructor(out: Output, line: SpinnerLine) {
    this.#line = line;
    this.#live = out.live(line);
  }

  set status(status: string) {
    this.#line.status = status;
  }

  /** Milliseconds since the spinner started. */
  get elapsedMs(): number {
    return this.#line.elapsed();
  }

  finish(summary?: string): void {
    this.#live.end(summary);
  }
}
