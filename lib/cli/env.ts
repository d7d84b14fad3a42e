/**
 * `mixpeek plugin env`: the PYTHONPATH line that puts the local platform runtime (engine.*, shared.*) in
 * front of any Python, so plain pytest, an IDE or Mixpeek's own Python CLI import a plugin as `plugin test`
 * does. `eval "$(mixpeek plugin env)"` in a POSIX shell; `--shell` for fish, PowerShell or cmd.
 */
import { UsageError } from "../errors.ts";
import { runtimePath, runtimeVersion } from "../plugin/runtime.ts";
import type { Context } from "./context.ts";

export const SHELLS = ["sh", "fish", "powershell", "cmd"] as const;
export type EnvShell = typeof SHELLS[number];

export interface EnvFlags {
  shell?: string;
}

export interface EnvInfo {
  /** The runtime folder (put it first on PYTHONPATH). */
  runtime: string;
  version: string;
  shell: EnvShell;
  /** The line to run in that shell (it keeps any PYTHONPATH already set, after the runtime). */
  line: string;
  env: { PYTHONPATH: string };
}

function _single(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The line that prepends `runtime` to PYTHONPATH in `shell`. */
export function envLine(runtime: string, shell: EnvShell): string {
  switch (shell) {
    case "sh":
      return `export PYTHONPATH=${_single(runtime)}"\${PYTHONPATH:+:\$PYTHONPATH}"`;
    case "fish":
      return `set -gx PYTHONPATH ${_single(runtime)} $PYTHONPATH`;
    case "powershell":
      return `$env:PYTHONPATH = '${
        runtime.replace(/'/g, "''")
      }' + $(if ($env:PYTHONPATH) { ';' + $env:PYTHONPATH })`;
    case "cmd":
      return `set "PYTHONPATH=${runtime};%PYTHONPATH%"`;
  }
}

export async function runEnv(flags: EnvFlags, ctx: Context): Promise<void> {
  const shell = (flags.shell ?? (Deno.build.os === "windows" ? "powershell" : "sh")) as EnvShell;
  if (!SHELLS.includes(shell)) {
    throw new UsageError(`--shell ${flags.shell}: expected one of ${SHELLS.join(", ")}`);
  }
  const runtime = await runtimePath(ctx.env);
  const info: EnvInfo = {
    runtime,
    version: runtimeVersion(),
    shell,
    line: envLine(runtime, shell),
    env: { PYTHONPATH: runtime },
  };
  ctx.out.result(info, (i) => i.line);
}
