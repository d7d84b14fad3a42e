/** Shared by the scanner tests: the labelled corpus and a python3 runner. */
import { ROOT } from "../helpers/cli.ts";

export const CORPUS = `${ROOT}/tests/fixtures/scan/corpus`;
export const SCHEMA = `${ROOT}/tests/fixtures/scan/sarif/sarif-2.1.0.json`;

export interface CorpusFile {
  name: string;
  bytes: Uint8Array;
  /** "clean", or exactly the categories of the file's error findings. */
  expect: string[];
  /** Exactly the categories of its warnings (the platform's: pickle, dunders); none when not labelled. */
  warn: string[];
}

/** Every corpus file with its label (`# expect: <categories>[; warn: <categories>]` on line 1 or 2). */
export function corpus(): CorpusFile[] {
  const names = [...Deno.readDirSync(CORPUS)].map((e) => e.name).filter((n) => n.endsWith(".py")).sort();
  return names.map((name) => {
    const bytes = Deno.readFileSync(`${CORPUS}/${name}`);
    const head = new TextDecoder("latin1").decode(bytes.subarray(0, 300)).split(/\r\n|\r|\n/).slice(0, 2)
      .join("\n");
    const m = /# expect: ([\w, -]+)(?:; warn: ([\w, -]+))?/.exec(head);
    if (!m) throw new Error(`${name}: no "# expect: <category>" label on line 1 or 2`);
    const list = (text: string | undefined) => (text ?? "").split(",").map((s) => s.trim()).filter((s) => s);
    return { name, bytes, expect: list(m[1]), warn: list(m[2]) };
  });
}

/** The machine's Python standard library folder (python3's sysconfig). */
export async function stdlibDir(): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-c", "import sysconfig;print(sysconfig.get_paths()['stdlib'])"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Runs python3 with a script reading JSON on stdin and printing JSON on stdout. */
export async function python<T>(script: string, input: unknown): Promise<T> {
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`python3 failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}

export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * CPython's verdict per source: "ok" or the exception. `compile()` on the raw bytes, as `import` reads them:
 * the parser's errors and the compiler's (symbol table, code generation), which `ast.parse` does not raise.
 */
export const CPYTHON_COMPILE = `
import base64, json, sys, warnings
warnings.simplefilter("ignore")
out = []
for item in json.load(sys.stdin):
    try:
        compile(base64.b64decode(item), "case.py", "exec", dont_inherit=True)
        out.append("ok")
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError) as e:
        out.append(type(e).__name__ + ": " + str(e))
print(json.dumps(out))
`;
