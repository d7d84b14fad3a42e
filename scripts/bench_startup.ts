/**
 * Start-up cost of `mixpeek --help` and `mixpeek --version` (deno run of main.ts with a warm cache),
 * median of repeated runs, next to what a Python CLI pays just to start: `python3 -c "import pydantic, click"`,
 * measured in the same run. Target: under 1/3 of the Python figure.
 */
import { median, timeCommand } from "./bench_util.ts";

const ROUNDS = 15;
const main = new URL("../main.ts", import.meta.url).pathname;
const deno = Deno.execPath();
const cli = (args: string[]) => [deno, "run", "--quiet", "-A", main, ...args];

async function medianMs(cmd: string[]): Promise<number> {
  await timeCommand(cmd); // warm caches (Deno's module cache, Python's bytecode)
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) samples.push(await timeCommand(cmd));
  return median(samples);
}

const python = await medianMs(["python3", "-c", "import pydantic, click"]);
const rows: [string, number][] = [
  ["mixpeek --help", await medianMs(cli(["--help"]))],
  ["mixpeek --version", await medianMs(cli(["--version"]))],
];
console.log(
  `reference: python3 -c "import pydantic, click"  median ${python.toFixed(1)} ms (${ROUNDS} runs)`,
);
let ok = true;
for (const [label, ms] of rows) {
  const ratio = ms / python;
  ok &&= ratio < 1 / 3;
  console.log(
    `${label.padEnd(20)} median ${ms.toFixed(1).padStart(6)} ms  ratio ${ratio.toFixed(2)} of python ` +
      `(target < 0.33): ${ratio < 1 / 3 ? "met" : "NOT met"}`,
  );
}
if (!ok) Deno.exitCode = 1;
