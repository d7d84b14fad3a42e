/**
 * Set-up check run before the test suite: the tests drive a real Python (pydantic 2, pytest) and, for the
 * S3 backend, moto_server. Missing Python packages are installed with pip when the registry is reachable;
 * otherwise this says exactly what to install and exits 1.
 */

const REQUIRED = [
  { module: "pydantic", pip: "pydantic>=2" },
  { module: "pytest", pip: "pytest>=7" },
  { module: "moto", pip: "moto[server]>=5" },
];

async function python(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await new Deno.Command("python3", { args, stdout: "piped", stderr: "piped" }).output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
  } catch {
    return { code: 127, out: "python3 not found" };
  }
}

async function missingModules(): Promise<typeof REQUIRED> {
  const missing = [];
  for (const req of REQUIRED) {
    if ((await python(["-c", `import ${req.module}`])).code !== 0) missing.push(req);
  }
  return missing;
}

async function main(): Promise<number> {
  const version = await python(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
  if (version.code !== 0) {
    console.error("preflight: python3 is required (3.9 or newer) and was not found on PATH");
    return 1;
  }
  let missing = await missingModules();
  if (missing.length > 0) {
    const pkgs = missing.map((m) => m.pip);
    console.error(`preflight: installing ${pkgs.join(", ")} with pip`);
    await python(["-m", "pip", "install", "--user", "--quiet", ...pkgs]);
    missing = await missingModules();
  }
  if (missing.length > 0) {
    console.error(`preflight: missing Python packages: ${missing.map((m) => m.pip).join(", ")}`);
    console.error(
      `  install them with: python3 -m pip install ${missing.map((m) => `'${m.pip}'`).join(" ")}`,
    );
    return 1;
  }
  console.error(`preflight: python3 ${version.out.trim()} with pydantic, pytest and moto: ok`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
