/**
 * The Deno permissions mixpeek needs, in one place: baked into the compiled binaries (scripts/compile.ts),
 * shown in the README ("Least privilege") and exercised by tests/dist/least_privilege_test.ts.
 *
 * Only environment variables can be listed at compile time. The plugin folder (`--path`, `--output`), the
 * API host (`--base-url`), the registry's data dir and the Python interpreter (`--python`, a plugin's
 * `.venv`) are the user's choice at run time, so a binary gets read/write/net/run unscoped; a `deno run`
 * can scope all of them (see `scopedFlags`).
 */

/** Variables the CLI itself reads (lib/: `env.get(...)`; the test checks this list against the source). */
export const CLI_ENV = [
  // settings (flag > env > config file > default)
  "MIXPEEK_API_KEY",
  "MIXPEEK_BASE_URL",
  "MIXPEEK_NAMESPACE",
  "MIXPEEK_CONFIG_DIR",
  "MIXPEEK_REQUEST_TIMEOUT",
  "MIXPEEK_UPLOAD_STALL_TIMEOUT",
  // plugin test / init / scan / local
  "MIXPEEK_PYTHON",
  "MIXPEEK_AUTHOR",
  "MIXPEEK_SCAN_WORKERS",
  "MIXPEEK_LOCAL_DATA_DIR",
  // where the config, data and cache dirs are, per platform; the author's default name
  "HOME",
  "USERPROFILE",
  "APPDATA",
  "LOCALAPPDATA",
  "XDG_CONFIG_HOME",
  "XDG_DATA_HOME",
  "XDG_CACHE_HOME",
  "USER",
  "USERNAME",
  // named in the message when a temporary folder cannot be made there (lib/os_errors.ts)
  "TMPDIR",
  // finding python3 on PATH (PATHEXT and "Path" on Windows)
  "PATH",
  "Path",
  "PATHEXT",
  "NO_COLOR",
  // proxies, for the API calls and the streaming upload (lib/api/proxy.ts)
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  // `mixpeek local --s3-endpoint`
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
] as const;

/**
 * Variables the npm dependencies read (`process.env.X` is permission-checked like `Deno.env.get`):
 * @inquirer/prompts in a terminal. FORCE_COLOR and NO_COLOR need no grant.
 */
export const DEPENDENCY_ENV = [
  "CLI_WIDTH",
  "TERM",
  "TERM_PROGRAM",
  "CI",
  "WT_SESSION",
  "TERMINAL_EMULATOR",
  "TERMINUS_SUBLIME",
  "ConEmuTask",
  "INQUIRER_KEYBINDINGS",
  "EDITOR",
  "VISUAL",
] as const;

export const ENV_VARS: readonly string[] = [...CLI_ENV, ...DEPENDENCY_ENV];

/**
 * The flags baked into the compiled binary: the variables the CLI and its dependencies read and nothing
 * else from the environment (any other read gives `undefined`, `--ignore-env`, instead of failing); no
 * --allow-ffi, --allow-sys or --allow-import (nothing needs them); never a prompt.
 */
export function binaryFlags(): string[] {
  return [
    "--allow-read",
    "--allow-write",
    "--allow-net",
    "--allow-run",
    `--allow-env=${ENV_VARS.join(",")}`,
    "--ignore-env",
    "--no-prompt",
  ];
}

export interface Scope {
  /** Folders (and files) the run may read and write: the plugin folder, the config dir, the temp dir. */
  paths: string[];
  /** Extra paths it may only read: the Python interpreter, which discovery stats on PATH. */
  readOnly?: string[];
  /** host:port of the API (or `mixpeek local`). */
  net?: string[];
  /** Commands it may start: python3 (or the interpreter's path). */
  run?: string[];
}

/** `deno run` flags for a run scoped to `scope` (the README's least-privilege invocation). */
export function scopedFlags(scope: Scope): string[] {
  const flags = [
    "--no-prompt",
    `--allow-read=${[...scope.paths, ...(scope.readOnly ?? [])].join(",")}`,
    `--allow-write=${scope.paths.join(",")}`,
    `--allow-env=${ENV_VARS.join(",")}`,
  ];
  if (scope.net?.length) flags.push(`--allow-net=${scope.net.join(",")}`);
  if (scope.run?.length) flags.push(`--allow-run=${scope.run.join(",")}`);
  return flags;
}
