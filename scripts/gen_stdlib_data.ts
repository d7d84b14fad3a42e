/**
 * Generates lib/scan/semantic/stdlib_data.ts from the real Python: which attributes of standard-library
 * modules are other modules (`shutil.os`, `tempfile._os`, `http.client.socket`) or functions and classes
 * defined elsewhere (`ssl.socket` is `socket.socket`), kept where the target leads to a rule (it is
 * forbidden, holds forbidden members, or re-exports a module that does). The scanner then follows any such
 * attribute to the module or object it carries, instead of a hand-written list.
 *
 *   deno run -A scripts/gen_stdlib_data.ts [--python python3] [--check]
 *
 * The dump comes from scripts/stdlib/module_attributes.py, which imports every standard-library module
 * under an audit hook that stops processes, sockets and threads. Entries are merged with the committed file
 * (builds differ in optional modules: run it with each interpreter to cover), and the file records the
 * Python versions it was generated with. `--check` exits 1 when this interpreter finds an entry the
 * committed file lacks (tests/scan/stdlib_data_test.ts runs it).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { commandOutput } from "./command.ts";
import { CALL_ONLY_PATHS, FORBIDDEN_PATHS, forbiddenRule } from "../lib/scan/rules/registry.ts";
import { DANGEROUS_NAMESPACES } from "../lib/scan/rules/tables.ts";
import { MODULE_ALIASES } from "../lib/scan/semantic/python_names.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const OUT = `${ROOT}/lib/scan/semantic/stdlib_data.ts`;
const DUMP = `${ROOT}/scripts/stdlib/module_attributes.py`;

interface Dump {
  python: string;
  modules: string[];
  module_attributes: Record<string, Record<string, string>>;
  reexports: Record<string, Record<string, string>>;
}

export interface StdlibData {
  pythons: string[];
  modules: string[];
  moduleAttributes: Record<string, Record<string, string>>;
  reexports: Record<string, Record<string, string>>;
}

function _alias(p: string): string {
  const dot = p.indexOf(".");
  const head = dot < 0 ? p : p.slice(0, dot);
  const alias = MODULE_ALIASES.get(head);
  return alias === undefined ? p : alias + (dot < 0 ? "" : p.slice(dot));
}

/** The entries of a dump that lead to a rule. */
export function filterDump(dump: Dump): Omit<StdlibData, "pythons"> {
  const rulePaths = [...FORBIDDEN_PATHS.keys(), ...CALL_ONLY_PATHS.keys()];
  const interesting = new Set<string>();
  const direct = (t: string) =>
    forbiddenRule(t) !== undefined || DANGEROUS_NAMESPACES.has(t) || t === "builtins" ||
    rulePaths.some((p) => p.startsWith(t + "."));
  for (const [m, attrs] of Object.entries(dump.module_attributes)) {
    if (direct(_alias(m))) interesting.add(_alias(m));
    for (const t of Object.values(attrs)) if (direct(_alias(t))) interesting.add(_alias(t));
  }
  for (const others of Object.values(dump.reexports)) {
    for (const w of Object.values(others)) {
      if (forbiddenRule(_alias(w))) interesting.add(_alias(w).split(".")[0]);
    }
  }
  // A module that re-exports an interesting module (or object) is interesting too: to a fixpoint.
  for (let changed = true; changed;) {
    changed = false;
    for (const [m, attrs] of Object.entries(dump.module_attributes)) {
      const mm = _alias(m);
      if (interesting.has(mm)) continue;
      if (Object.values(attrs).some((t) => interesting.has(_alias(t)))) {
        interesting.add(mm);
        changed = true;
      }
    }
  }
  const moduleAttributes: Record<string, Record<string, string>> = {};
  for (const [m, attrs] of Object.entries(dump.module_attributes)) {
    for (const [a, t] of Object.entries(attrs)) {
      if (!interesting.has(_alias(t))) continue;
      (moduleAttributes[m] ??= {})[a] = _alias(t);
    }
  }
  const reexports: Record<string, Record<string, string>> = {};
  for (const [m, others] of Object.entries(dump.reexports)) {
    for (const [a, w] of Object.entries(others)) {
      const target = _alias(w);
      const rule = forbiddenRule(target);
      if (rule !== undefined && forbiddenRule(_alias(`${m}.${a}`)) !== rule) {
        (reexports[m] ??= {})[a] = target;
      }
    }
  }
  return { modules: dump.modules, moduleAttributes, reexports };
}

function _merge(a: StdlibData, b: StdlibData): StdlibData {
  const nested = (x: Record<string, Record<string, string>>, y: Record<string, Record<string, string>>) => {
    const out: Record<string, Record<string, string>> = {};
    for (const src of [x, y]) {
      for (const [m, attrs] of Object.entries(src)) Object.assign(out[m] ??= {}, attrs);
    }
    return out;
  };
  return {
    pythons: [...new Set([...a.pythons, ...b.pythons])].sort(),
    modules: [...new Set([...a.modules, ...b.modules])].sort(),
    moduleAttributes: nested(a.moduleAttributes, b.moduleAttributes),
    reexports: nested(a.reexports, b.reexports),
  };
}

function _sorted(x: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  return Object.fromEntries(
    Object.keys(x).sort().map((
      m,
    ) => [m, Object.fromEntries(Object.keys(x[m]).sort().map((a) => [a, x[m][a]]))]),
  );
}

export function render(data: StdlibData): string {
  return `// Generated by scripts/gen_stdlib_data.ts from ${
    data.pythons.map((p) => `Python ${p}`).join(", ")
  }: do not edit.
// Standard-library attributes that carry another module or a forbidden object (see the script).

/** Python versions the data was generated with. */
export const STDLIB_DATA_PYTHONS: readonly string[] = ${JSON.stringify(data.pythons)};

/** Every standard-library module the generator imported. */
export const STDLIB_MODULE_NAMES: readonly string[] = ${JSON.stringify(data.modules, null, 2)};

/** module → attribute → the module that attribute is (\`shutil.os\` is \`os\`). */
export const MODULE_ATTRIBUTES: Readonly<Record<string, Readonly<Record<string, string>>>> = ${
    JSON.stringify(_sorted(data.moduleAttributes), null, 2)
  };

/** module → attribute → where the function or class is defined, when that is forbidden (\`ssl.socket\`). */
export const REEXPORTS: Readonly<Record<string, Readonly<Record<string, string>>>> = ${
    JSON.stringify(_sorted(data.reexports), null, 2)
  };
`;
}

async function _committed(): Promise<StdlibData | undefined> {
  try {
    const m = await import(`${OUT}?t=${Date.now()}`);
    return {
      pythons: [...m.STDLIB_DATA_PYTHONS],
      modules: [...m.STDLIB_MODULE_NAMES],
      moduleAttributes: m.MODULE_ATTRIBUTES,
      reexports: m.REEXPORTS,
    };
  } catch {
    return undefined;
  }
}

/** What this interpreter finds (filtered). */
export async function generate(python: string): Promise<StdlibData> {
  const out = await commandOutput(python, [DUMP]);
  if (!out.ok) throw new Error(`${python} ${DUMP} failed (${out.code}): ${out.stderr.trim()}`);
  const dump = JSON.parse(out.stdout) as Dump;
  return { pythons: [dump.python], ...filterDump(dump) };
}

/** Entries of `fresh` that `committed` lacks. */
export function missing(committed: StdlibData, fresh: StdlibData): string[] {
  const out: string[] = [];
  for (const [key, table] of [["module", "moduleAttributes"], ["re-export", "reexports"]] as const) {
    for (const [m, attrs] of Object.entries(fresh[table])) {
      for (const [a, t] of Object.entries(attrs)) {
        if (committed[table][m]?.[a] !== t) out.push(`${key} ${m}.${a} → ${t}`);
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { python: { type: "string", default: "python3" }, check: { type: "boolean", default: false } },
  });
  const fresh = await generate(values.python!);
  const committed = await _committed();
  if (values.check) {
    const lacking = committed ? missing(committed, fresh) : ["no committed lib/scan/semantic/stdlib_data.ts"];
    if (lacking.length) {
      console.error(`stdlib data is stale for Python ${fresh.pythons[0]}:\n  ${lacking.join("\n  ")}`);
      console.error("run: deno run -A scripts/gen_stdlib_data.ts");
      Deno.exit(1);
    }
    console.log(`stdlib data covers Python ${fresh.pythons[0]}`);
  } else {
    const data = committed ? _merge(committed, fresh) : fresh;
    await Deno.writeTextFile(OUT, render(data));
    // The repository's formatting (deno fmt --check is a gate).
    await commandOutput(Deno.execPath(), ["fmt", "--quiet", OUT]);
    const count = (t: Record<string, Record<string, string>>) =>
      Object.values(t).reduce((n, x) => n + Object.keys(x).length, 0);
    console.log(
      `wrote ${OUT}: ${count(data.moduleAttributes)} module attributes, ${
        count(data.reexports)
      } re-exports, ${data.modules.length} modules (Python ${data.pythons.join(", ")})`,
    );
  }
}
