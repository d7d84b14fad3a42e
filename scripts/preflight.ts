/**
 * Set-up check for the test suite and the demo: they drive a real Python that has what a plugin's Python
 * needs (pydantic 2, pandas, pytest; pillow for the image templates) and, for the S3 tests, moto. `npx deno@…` puts the folder of `node` (often /usr/bin) first on PATH, so
 * the first `python3` there may be a bare system Python while the one the user set up (pyenv, a venv)
 * comes later: every `python3` on PATH is tried in order and the first with the packages wins. Missing
 * packages are installed with pip when the registry is reachable; otherwise this says what to install.
 */

export interface PythonChoice {
  /** The folder to put first on PATH so `python3` is this interpreter. */
  dir: string;
  executable: string;
  version: string;
}

/** What a plugin's Python needs to run the templates: `mixpeek plugin test` says the same when one is missing. */
const REQUIRED = ["pydantic>=2", "pytest>=7", "pandas>=1.5", "pillow>=9"];
const TESTS_EXTRA = ["moto[server]>=5"];

/** A probe run by each candidate: prints its version, exits 1 naming what is missing or too old. */
const PROBE = `
import sys, importlib
missing = []
MODULES = {"pillow": "PIL"}  # distribution name -> import name, where they differ
for spec in sys.argv[1:]:
    name, _, minimum = spec.partition(">=")
    module = MODULES.get(name.split("[")[0], name.split("[")[0])
    try:
        mod = importlib.import_module(module)
    except Exception:
        missing.append(spec); continue
    version = getattr(mod, "__version__", None) or getattr(mod, "VERSION", "0")
    numbers = lambda text: tuple(int(part) for part in str(text).split(".")[:2] if part.isdigit())
    if minimum and numbers(version) < numbers(minimum):
        missing.append(spec)
print("%d.%d.%d" % sys.version_info[:3])
print(" ".join(missing))
sys.exit(1 if missing else 0)
`;

function _candidates(): string[] {
  const sep = Deno.build.os === "windows" ? ";" : ":";
  const names = Deno.build.os === "windows" ? ["python.exe", "python3.exe"] : ["python3", "python"];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of (Deno.env.get("PATH") ?? "").split(sep)) {
    for (const name of names) {
      const path = `${dir}/${name}`;
      try {
        if (!Deno.statSync(path).isFile || seen.has(path)) continue;
      } catch {
        continue;
      }
      seen.add(path);
      out.push(path);
    }
  }
  return out;
}

async function _probe(
  python: string,
  specs: string[],
): Promise<{ ok: boolean; version: string; missing: string[] }> {
  try {
    const r = await new Deno.Command(python, {
      args: ["-c", PROBE, ...specs],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    const [version = "", missing = ""] = new TextDecoder().decode(r.stdout).split("\n");
    return { ok: r.code === 0, version, missing: missing.split(" ").filter(Boolean) };
  } catch {
    return { ok: false, version: "", missing: specs };
  }
}

/** The first python3 on PATH with every package in `specs`, installing them with pip into the first one if none has them. */
export async function choosePython(specs: string[] = REQUIRED): Promise<PythonChoice | { error: string }> {
  const candidates = _candidates();
  if (candidates.length === 0) return { error: "no python3 on PATH: install Python 3.9 or newer" };
  for (const python of candidates) {
    const probe = await _probe(python, specs);
    if (probe.ok) {
      return { dir: python.slice(0, python.lastIndexOf("/")), executable: python, version: probe.version };
    }
  }
  const first = candidates[0];
  const { missing } = await _probe(first, specs);
  console.error(`preflight: installing ${missing.join(", ")} with pip for ${first}`);
  // Into the interpreter's own site-packages first: a --user install lives under $HOME, so a child run with
  // another HOME (tests/dist/least_privilege_test.ts, as a scoped CI job would) cannot import it. --user is
  // the fallback for an interpreter whose site-packages this user may not write (a system Python).
  for (const args of [[], ["--user"]]) {
    const pip = await new Deno.Command(first, {
      args: ["-m", "pip", "install", ...args, "--quiet", ...missing],
    })
      .output().catch(() => undefined);
    if (pip?.success) break;
  }
  const again = await _probe(first, specs);
  if (again.ok) {
    return { dir: first.slice(0, first.lastIndexOf("/")), executable: first, version: again.version };
  }
  return {
    error: `no Python on PATH has ${specs.join(", ")} (tried ${candidates.join(", ")}); install them with: ` +
      `python3 -m pip install ${missing.map((m) => `'${m}'`).join(" ")}`,
  };
}

/** PATH with the chosen interpreter's folder first. */
export function pathWith(choice: PythonChoice): string {
  const sep = Deno.build.os === "windows" ? ";" : ":";
  return `${choice.dir}${sep}${Deno.env.get("PATH") ?? ""}`;
}

export const TEST_REQUIREMENTS = [...REQUIRED, ...TESTS_EXTRA];

if (import.meta.main) {
  const choice = await choosePython(TEST_REQUIREMENTS);
  if ("error" in choice) {
    console.error(`preflight: ${choice.error}`);
    Deno.exit(1);
  }
  console.error(
    `preflight: using ${choice.executable} (Python ${choice.version}) with pydantic, pytest, pandas, pillow and moto`,
  );
}
