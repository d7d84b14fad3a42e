/** Small helpers shared by the benchmark scripts. */

/** Wall time of one run of `cmd` in milliseconds (output discarded); throws if it fails. */
export async function timeCommand(cmd: string[], options: { cwd?: string } = {}): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: options.cwd,
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).output();
  const ms = performance.now() - start;
  if (!out.success) throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return ms;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs a command and samples its peak resident memory (VmHWM from /proc, Linux) and wall time.
 * Returns the exit code too, so callers can check success.
 */
export async function measureProcess(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ms: number; peakRssMb: number; code: number; stdout: string; stderr: string }> {
  const start = performance.now();
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let peakKb = 0;
  const poll = setInterval(async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const hwm = status.match(/VmHWM:\s+(\d+) kB/);
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch { /* process gone */ }
  }, 20);
  const out = await child.output();
  clearInterval(poll);
  const decoder = new TextDecoder();
  return {
    ms: performance.now() - start,
    peakRssMb: peakKb / 1024,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}
