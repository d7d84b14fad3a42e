/**
 * lib/scan/semantic/stdlib_data.ts is what the real Python says: regenerated from this machine's python3
 * (scripts/gen_stdlib_data.ts), every entry that leads to a rule is in the committed file; and the scanner
 * follows those attributes to the module or object they carry.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { generate, missing } from "../../scripts/gen_stdlib_data.ts";
import {
  MODULE_ATTRIBUTES,
  REEXPORTS,
  STDLIB_DATA_PYTHONS,
  STDLIB_MODULE_NAMES,
} from "../../lib/scan/semantic/stdlib_data.ts";
import { canonicalPath } from "../../lib/scan/semantic/python_names.ts";
import { scanSource } from "../../lib/scan/scan.ts";

Deno.test("the committed stdlib data covers this machine's Python (module attributes and re-exports)", async () => {
  const fresh = await generate("python3");
  assert(
    STDLIB_DATA_PYTHONS.includes(fresh.pythons[0]),
    `generated for ${STDLIB_DATA_PYTHONS}, not ${fresh.pythons[0]}`,
  );
  assertEquals(
    missing({
      pythons: [...STDLIB_DATA_PYTHONS],
      modules: [...STDLIB_MODULE_NAMES],
      moduleAttributes: MODULE_ATTRIBUTES,
      reexports: REEXPORTS,
    }, fresh),
    [],
  );
  assert(fresh.modules.length > 500, `only ${fresh.modules.length} modules imported`);
});

Deno.test("module-typed attributes of stdlib modules carry their module; re-exports their object", () => {
  assertEquals(canonicalPath("shutil.os.system"), "os.system");
  assertEquals(canonicalPath("tempfile._os.popen"), "os.popen");
  assertEquals(canonicalPath("logging.os"), "os");
  assertEquals(canonicalPath("http.client.socket.socket"), "socket.socket");
  assertEquals(canonicalPath("ssl.socket"), "socket.socket");
  assertEquals(canonicalPath("os.path.os.system"), "os.system");
  assertEquals(canonicalPath("json.dumps"), "json.dumps");
});

Deno.test("any module attribute the data knows is followed, not only the hand-written ones", async () => {
  // Every module-typed attribute of these modules that carries `os`: each is a way to os.system.
  const carriers = Object.entries(MODULE_ATTRIBUTES).flatMap(([m, attrs]) =>
    Object.entries(attrs).filter(([, t]) => t === "os").map(([a]) => `${m}.${a}`)
  ).filter((p) => !p.startsWith("_") && !p.includes("._") && !/^(os|posix|nt)\b/.test(p)).slice(0, 40);
  assert(carriers.length >= 20, carriers.join(" "));
  const missed: string[] = [];
  for (const carrier of carriers) {
    const [module, attr] = [
      carrier.slice(0, carrier.lastIndexOf(".")),
      carrier.slice(carrier.lastIndexOf(".") + 1),
    ];
    const source = `import ${module}\n${carrier}.system("id")\n`;
    const findings = await scanSource("carrier.py", new TextEncoder().encode(source));
    if (!findings.some((f) => f.rule_id === "shell-os-system")) missed.push(`${carrier} (${attr})`);
  }
  assertEquals(missed, []);
});
