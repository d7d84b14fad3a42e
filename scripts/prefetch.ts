/**
 * Set-up the test suite needs from the network, fetched before the tests run (the tests themselves talk to
 * nothing but loopback). `deno bundle` downloads esbuild from npm on first use; a test that bundles the CLI
 * runs it in a scrubbed environment (no CA settings), so the download must already be in the Deno cache.
 */

/** Where `deno bundle` keeps esbuild once fetched: `<DENO_DIR>/dl/esbuild-<version>/`. */
export async function bundlerCached(denoDir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(`${denoDir}/dl`)) {
      if (entry.isDirectory && entry.name.startsWith("esbuild-")) return true;
    }
  } catch { /* no dl folder yet */ }
  return false;
}

/** Bundles a one-line module with this process's environment, which fetches esbuild into the cache. */
export async function prefetchBundler(): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-prefetch-" });
  try {
    await Deno.writeTextFile(`${dir}/warm.ts`, "console.log(1);\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--output", `${dir}/warm.js`, `${dir}/warm.ts`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    const text = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    return `deno bundle could not fetch esbuild: ${text}`;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
