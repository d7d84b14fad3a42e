/**
 * `deno task bench [name…]`: runs the benchmark scripts (scripts/bench_<name>.ts) one after the other.
 * Each prints its figure next to the reference measured in the same run, and the ratio.
 * With no names, every benchmark runs (the 1 GB ones take a few minutes and need ~3 GB of free disk).
 */

const dir = new URL("./", import.meta.url);
const available: string[] = [];
for await (const entry of Deno.readDir(dir)) {
  const m = entry.name.match(/^bench_(.+)\.ts$/);
  if (m) available.push(m[1]);
}
available.sort();
const wanted = Deno.args.length > 0 ? Deno.args : available;
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${available.join(", ")}`);
  Deno.exit(2);
}
let failed = 0;
for (const name of wanted) {
  console.log(`\n=== bench ${name} ===`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`bench_${name}.ts`, dir).pathname],
    stdin: "null",
  }).spawn();
  if ((await child.status).code !== 0) failed++;
}
Deno.exit(failed === 0 ? 0 : 1);
