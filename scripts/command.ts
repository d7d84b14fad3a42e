/** Runs a program to completion for the scripts: its exit code and decoded output, never a throw. */
export interface CommandOutput {
  /** The exit code; 127 when the program could not be started. */
  code: number;
  ok: boolean;
  stdout: string;
  stderr: string;
}

export async function commandOutput(cmd: string, args: string[]): Promise<CommandOutput> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
      .output();
    const d = new TextDecoder();
    return { code: out.code, ok: out.success, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  } catch (error) {
    return { code: 127, ok: false, stdout: "", stderr: (error as Error).message };
  }
}
