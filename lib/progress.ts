/**
 * Progress on long work, drawn by Output as its "live line": one line at the bottom of stderr, redrawn in
 * place ten times a second, in a terminal only. With `--json`, or when stderr is a pipe or a file, there is
 * no live line at all (the status lines the commands print stay); see Output.live.
 *
 * - Transfer: bytes, rate and ETA while bytes move; "no progress for N s" once they stop, so a stall never
 *   sits on screen as a healthy line; once every byte is out, "waiting for the answer" with the time since,
 *   so a full upload that the server does not acknowledge never shows a frozen "100 %". Ended, the line is
 *   erased (or replaced by a one-line summary).
 * - Spinner: a label, a status the caller updates (a deployment's `queued` → `in_progress`) and the time
 *   elapsed.
 */
import { formatBytes } from "./pack/size.ts";

/** What Output draws: the line for the current moment. */
export interface LiveLine {
  render(now: number): string;
}

/** The handle of a live line; every method is a no-op when nothing is drawn (pipes, --json). */
export interface Live {
  /** Ends the line: erased, or replaced by `summary` (a permanent line, terminal only). */
  end(summary?: string): void;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** No byte for this long: the transfer line says so instead of showing a rate. */
export const STALL_NOTICE_MS = 2000;

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "--:--";
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

function _spin(now: number): string {
  return SPINNER[Math.floor(now / 100) % SPINNER.length];
}

/** A transfer of `total` bytes (upload, pack). `update` records; Output redraws on its own clock. */
export class TransferLine implements LiveLine {
  readonly #label: string;
  readonly #total: number;
  readonly #start: number;
  /** What the line says once every byte is done (e.g. "waiting for the storage to answer"). */
  readonly #waiting: string;
  #done = 0;
  #lastChange: number;
  #completedAt?: number;

  constructor(label: string, total: number, options: { waiting: string; now?: number }) {
    this.#label = label;
    this.#total = total;
    this.#waiting = options.waiting;
    this.#start = options.now ?? performance.now();
    this.#lastChange = this.#start;
  }

  update(done: number, now = performance.now()): void {
    if (done !== this.#done) this.#lastChange = now;
    this.#done = done;
    if (done >= this.#total && this.#completedAt === undefined) this.#completedAt = now;
  }

  get done(): number {
    return this.#done;
  }

  /** Rate over the whole transfer so far (bytes/s). */
  rate(now: number): number {
    const seconds = (Math.min(now, this.#completedAt ?? now) - this.#start) / 1000;
    return seconds > 0 ? this.#done / seconds : 0;
  }

  render(now: number): string {
    const sizes = `${formatBytes(this.#done)} / ${formatBytes(this.#total)}`;
    if (this.#completedAt !== undefined) {
      return `${_spin(now)} ${this.#label}: ${formatBytes(this.#total)} sent, ${this.#waiting} ` +
        `(${formatDuration(now - this.#completedAt)})`;
    }
    const percent = this.#total > 0 ? Math.floor((this.#done / this.#total) * 100) : 0;
    const idle = now - this.#lastChange;
    if (idle >= STALL_NOTICE_MS) {
      return `${_spin(now)} ${this.#label} ${String(percent).padStart(3)} % ${sizes}, no progress for ` +
        formatDuration(idle);
    }
    const rate = this.rate(now);
    const eta = rate > 0 ? ((this.#total - this.#done) / rate) * 1000 : Infinity;
    return `${_spin(now)} ${this.#label} ${String(percent).padStart(3)} % ${sizes} ${
      formatBytes(Math.round(rate))
    }/s ` +
      `ETA ${formatDuration(eta)}`;
  }

  /** "uploaded 1.2 MiB in 0.4 s (3.0 MiB/s)" */
  summary(verb: string, now = performance.now()): string {
    const end = this.#completedAt ?? now;
    const seconds = Math.max(0.001, (end - this.#start) / 1000);
    return `${verb} ${formatBytes(this.#done)} in ${seconds.toFixed(1)} s ` +
      `(${formatBytes(Math.round(this.#done / seconds))}/s)`;
  }
}

/** A wait with a status: "⠙ waiting for the deployment: in_progress (12s)". */
export class SpinnerLine implements LiveLine {
  readonly #label: string;
  readonly #start: number;
  #status: string;

  constructor(label: string, status = "", now = performance.now()) {
    this.#label = label;
    this.#status = status;
    this.#start = now;
  }

  set status(status: string) {
    this.#status = status;
  }

  elapsed(now = performance.now()): number {
    return now - this.#start;
  }

  render(now: number): string {
    const status = this.#status ? `: ${this.#status}` : "";
    return `${_spin(now)} ${this.#label}${status} (${formatDuration(now - this.#start)})`;
  }
}
