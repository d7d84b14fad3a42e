/**
 * The README's demo, run as a plugin author would run the CLI: scaffold one plugin per category into a
 * temporary folder with `mixpeek plugin init`, then run each plugin's own pytest suite with the machine's
 * Python. Exits non-zero if any step fails.
 */
const CATEGORIES = ["text", "image", "video", "audio", "document", "multimodal"];
const main = new URL("../main.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function step(label: string, cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  }).output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (!out.success) {
    console.error(`✗ ${label}\n${text}`);
    Deno.exit(1);
  }
  return text;
}

const workdir = await Deno.makeTempDir({ prefix: "mixpeek-demo-" });
console.log(`mixpeek demo in ${workdir}`);
try {
  for (const category of CATEGORIES) {
    const name = `demo-${category}`;
    const mixpeek = ["run", "--quiet", "-A", main];
    await step(`mixpeek plugin init ${name}`, Deno.execPath(), [
      ...mixpeek,
      "plugin",
      "init",
      name,
      "--category",
      category,
      "--author",
      "Demo",
      "--no-input",
    ], workdir);
    const pytest = await step(
      `pytest in ${name}`,
      "python3",
      ["-m", "pytest", "-q", "-p", "no:cacheprovider"],
      `${workdir}/${name}`,
    );
    const summary = pytest.trim().split("\n").at(-1);
    console.log(`✓ ${category.padEnd(10)} mixpeek plugin init ${name} → pytest: ${summary}`);
  }
  console.log("demo finished: every category scaffolds a plugin whose own tests pass");
} finally {
  await Deno.remove(workdir, { recursive: true });
}
