/**
 * Typed errors. Library code throws these; only main.ts turns them into an exit code
 * (through `exitCodeOf`) and only lib/output.ts prints them.
 *
 * Exit codes (documented in README and `mixpeek --help`):
 * 0 ok · 1 failed or cancelled · 2 usage · 3 plugin invalid or scan rejected · 4 auth · 5 API/network ·
 * 6 timed out · 130 interrupted
 *
 * "Cancelled" is a prompt answered no (publish, delete): nothing was changed, exit 1 (CancelledError), the
 * same for every command that asks. Ctrl-C, at a prompt or anywhere else, is "interrupted" (130).
 */

export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  INVALID: 3,
  AUTH: 4,
  API: 5,
  TIMEOUT: 6,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];

export interface ErrorDetails {
  /** One line telling the user what to do next. */
  hint?: string;
  cause?: unknown;
  /**
   * The command already rendered its result (e.g. a failed check list or a scan report) before throwing,
   * so with `--json` no separate error document is printed: stdout holds exactly one JSON document.
   */
  reported?: boolean;
}

/** Base class: every error the CLI expects carries an exit code and an optional hint. */
export class MixpeekError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.FAILED;
  readonly hint?: string;
  readonly reported: boolean;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
    this.reported = details.reported === true;
  }

  /**
   * The same error (class, exit code, details) with a new message and hint: for a caller that knows more
   * about the situation than the code that threw (publish: "the plugin is published, but …").
   */
  reframe(message: string, hint?: string): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, "message", { value: message, writable: true, configurable: true });
    Object.defineProperty(copy, "hint", { value: hint ?? this.hint, writable: false, configurable: true });
    Object.defineProperty(copy, "cause", { value: this, writable: true, configurable: true });
    Object.defineProperty(copy, "stack", {
      value: `${this.name}: ${message}`,
      writable: true,
      configurable: true,
    });
    return copy;
  }

  /** Stable machine-readable type used in `--json` error documents. */
  get type(): string {
    return this.name.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  }
}

/** Bad flags, arguments or values: the user can fix the invocation. */
export class UsageError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.USAGE;
}

/** The plugin folder is not a valid plugin (structure, schemas, pipeline, tests). */
export class ValidationError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.INVALID;
}

/** The security scan found forbidden code. */
export class ScanRejectedError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.INVALID;
}

export interface ApiErrorDetails extends ErrorDetails {
  status?: number;
  requestId?: string;
  errorType?: string;
  /**
   * An earlier attempt of the same request failed after it may have reached the server (a reset, a lost
   * answer): this answer (409, 404) may be the effect of that first attempt, not a real refusal.
   */
  lostAnswer?: boolean;
}

/** The API answered with an error, or could not be reached. */
export class ApiError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.API;
  readonly status?: number;
  readonly requestId?: string;
  readonly errorType?: string;
  readonly lostAnswer: boolean;

  constructor(message: string, details: ApiErrorDetails = {}) {
    super(message, details);
    this.status = details.status;
    this.requestId = details.requestId;
    this.errorType = details.errorType;
    this.lostAnswer = details.lostAnswer === true;
  }
}

/** Missing or rejected API key (an API error with its own exit code). */
export class AuthError extends ApiError {
  override readonly exitCode: ExitCodeValue = ExitCode.AUTH;
}

/** Something took longer than its limit. */
export class TimeoutError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.TIMEOUT;
}

/** The user pressed Ctrl-C (or the process got SIGTERM). */
export class InterruptedError extends MixpeekError {
  override readonly exitCode: ExitCodeValue = ExitCode.INTERRUPTED;
}

/** A prompt was answered no: nothing was changed (exit 1, the same for every command that asks). */
export class CancelledError extends MixpeekError {
  constructor(message = "cancelled: nothing was changed", details: ErrorDetails = {}) {
    super(message, details);
  }
}

/** A local operation failed (file system, child process). */
export class FailedError extends MixpeekError {}

/** The exit code for any thrown value: typed errors carry theirs, anything else is a plain failure. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  if (deniedPermission(error)) return ExitCode.USAGE;
  return error instanceof MixpeekError ? error.exitCode : ExitCode.FAILED;
}

/**
 * The Deno permission refusal in `error` or its cause chain, if any: the run was not granted a permission
 * (a scoped `deno run`, or a binary compiled with fewer). It maps to exit 2 (usage), since the fix is in the
 * invocation. `Deno.errors.PermissionDenied` is the operating system refusing (file modes), not this.
 */
export function deniedPermission(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof Deno.errors.NotCapable) return e;
  }
  return undefined;
}
