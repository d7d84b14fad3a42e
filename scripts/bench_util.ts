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

/** Random bytes with every fourth byte masked to 4 bits: gzip saves only a few percent, like model weights. */
function _fillIncompressibleish(buffer: Uint8Array): void {
  for (let i = 0; i < buffer.length; i += 65536) crypto.getRandomValues(buffer.subarray(i, i + 65536));
  for (let i = 0; i < buffer.length; i += 4) buffer[i] &= 0x0f;
}

/** A small, varied Python module (~4–16 KB) so gzip has real work, like source code. */
function _pyModule(seed: number): string {
  let x = seed * 2654435761 % 4294967296;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = ["score", "embed", "frame", "token", "batch", "window", "vector", "label", "chunk", "image"];
  const w = () => words[Math.floor(rnd() * words.length)] + "_" + Math.floor(rnd() * 1000);
  const lines = [`"""Generated module ${seed}."""`, "import math", ""];
  const functions = 8 + Math.floor(rnd() * 24);
  for (let f = 0; f < functions; f++) {
    const name = w();
    const first = w();
    let second = w();
    while (second === first) second = w(); // CPython refuses duplicate parameter names
    lines.push(`def ${name}(${first}: float, ${second}: int = ${Math.floor(rnd() * 100)}) -> float:`);
    lines.push(`    """Compute ${w()} from ${w()} (${rnd().toFixed(6)})."""`);
    for (let s = 0; s < 4; s++) {
      lines.push(`    ${w()} = math.sqrt(${rnd().toFixed(8)} * ${Math.floor(rnd() * 1e6)})`);
    }
    lines.push(`    return ${rnd().toFixed(10)}`, "");
  }
  return lines.join("\n") + "\n";
}

/**
 * The bulk of a benchmark plugin inside `dir`: `pyFiles` generated modules in packages of 100 under src/
 * (each package with its __init__.py) and `bigFiles` binary files under weights/ filling up to `totalBytes`.
 */
export async function generatePayload(
  dir: string,
  options: { totalBytes: number; pyFiles: number; bigFiles: number },
): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  const perPackage = 100;
  const encoder = new TextEncoder();
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await Deno.writeTextFile(`${dir}/src/__init__.py`, "");
  for (let i = 0; i < options.pyFiles; i++) {
    const pkg = `${dir}/src/pkg_${String(Math.floor(i / perPackage)).padStart(3, "0")}`;
    if (i % perPackage === 0) {
      await Deno.mkdir(pkg, { recursive: true });
      await Deno.writeTextFile(`${pkg}/__init__.py`, "");
    }
    const data = encoder.encode(_pyModule(i));
    await Deno.writeFile(`${pkg}/mod_${i}.py`, data);
    bytes += data.length;
  }
  await Deno.mkdir(`${dir}/weights`, { recursive: true });
  const bigEach = Math.max(0, Math.floor((options.totalBytes - bytes) / options.bigFiles));
  const chunk = new Uint8Array(8 * 1024 * 1024);
  for (let f = 0; f < options.bigFiles; f++) {
    using file = await Deno.open(`${dir}/weights/part_${f}.bin`, { write: true, create: true });
    let left = bigEach;
    while (left > 0) {
      _fillIncompressibleish(chunk);
      const piece = chunk.subarray(0, Math.min(left, chunk.length));
      let off = 0;
      while (off < piece.length) off += await file.write(piece.subarray(off));
      left -= piece.length;
    }
    bytes += bigEach;
  }
  const packages = Math.ceil(options.pyFiles / perPackage);
  return { bytes, files: options.pyFiles + packages + 1 + options.bigFiles };
}

/** What `mixpeek --json local` prints once it listens. */
export interface LocalInfo {
  base_url: string;
  api_key: string;
  namespace: string;
}

/**
 * Starts `mixpeek --json local --port 0 --data-dir <dataDir> [args…]` (main.ts, its own process, as a user
 * runs it) and returns once it listens, with its start document. Its stderr is dropped.
 */
export async function startLocal(
  dataDir: string,
  args: string[] = [],
): Promise<LocalInfo & { child: Deno.ChildProcess }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "--json", "local", "--port", "0", "--data-dir", dataDir, ...args],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`mixpeek local exited before listening: ${text}`);
    text += value;
    try {
      const info = JSON.parse(text) as LocalInfo;
      reader.releaseLock();
      child.stdout.cancel().catch(() => {});
      return { child, ...info };
    } catch { /* not complete yet */ }
  }
}
