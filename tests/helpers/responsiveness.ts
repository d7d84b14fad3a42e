/**
 * A server's responsiveness under load, told apart from the machine's own pauses. A control (an idle Deno
 * process that answers on loopback) is asked at the same moment as the server under test, every sample. A
 * pause of the whole machine (a busy CI host, the VM descheduled, the other test files of a --parallel run)
 * delays both answers; a blocked event loop delays only the server's. The tests assert the excess: the
 * server's time minus the control's in the same sample, and report both.
 */

const CONTROL = `
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) }, () => new Response("ok"));
`;

export interface Sample {
  /** The server's answer time, ms. */
  ms: number;
  /** The control's, asked at the same moment. */
  control: number;
}

export interface Control extends AsyncDisposable {
  /** GETs `url` and the control together; both must answer 200 within 5 s. */
  sample(url: string): Promise<Sample>;
}

async function _timed(url: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  await r.body?.cancel();
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
  return performance.now() - started;
}

export async function startControl(): Promise<Control> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", CONTROL],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the control server stopped before it listened");
    text += value;
  }
  const url = `http://127.0.0.1:${Number(text.trim())}/`;
  await _timed(url); // warm
  return {
    async sample(target: string): Promise<Sample> {
      const [ms, control] = await Promise.all([_timed(target), _timed(url)]);
      return { ms, control };
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
    },
  };
}

/** The slowest answer, and the largest excess over the control (what the server itself took). */
export function summarize(samples: Sample[]): { slowest: number; excess: number; controlAtSlowest: number } {
  let slowest = samples[0];
  let excess = -Infinity;
  for (const s of samples) {
    if (s.ms > slowest.ms) slowest = s;
    excess = Math.max(excess, s.ms - s.control);
  }
  return { slowest: slowest.ms, excess, controlAtSlowest: slowest.control };
}
