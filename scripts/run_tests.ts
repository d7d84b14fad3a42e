/**
 * The whole test suite, as the README runs it: the set-up check, then `deno test` with the same Deno
 * binary (so it works when Deno came from `npx deno@…` and is not on PATH). Extra arguments go to
 * `deno test` (e.g. a folder or `--filter`).
 */

async function run(args: string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args, stdin: "null" }).spawn();
  return (await child.status).code;
}

const root = new URL("../", import.meta.url).pathname;
const preflight = await run(["run", "--allow-run", `${root}scripts/preflight.ts`]);
if (preflight !== 0) Deno.exit(preflight);
const targets = Deno.args.filter((a) => !a.startsWith("-"));
const flags = Deno.args.filter((a) => a.startsWith("-"));
Deno.exit(
  await run(["test", "-A", "--parallel", ...flags, ...(targets.length ? targets : [`${root}tests/`])]),
);
