/**
 * Builds the security scanner's parser: tree-sitter's C runtime (npm `tree-sitter`, vendor/tree-sitter/lib)
 * and the tree-sitter-python grammar (npm `tree-sitter-python`, src/), pinned with their integrity in
 * SOURCES and fetched with `npm pack`, plus the
 * glue in scripts/wasm/scan_parser.c, compiled by clang into one WASM module and written, base64-encoded,
 * to lib/embedded/python_parser.js (so binaries and `deno run jsr:` need no files at run time), with its
 * types in python_parser.d.ts.
 *
 *   deno task build-parser            rebuild lib/embedded/python_parser.js and .d.ts
 *   deno task build-parser --check    exit 1 if the embedded module differs from a fresh build
 *
 * Why JavaScript and not TypeScript: Deno keeps a transpiled copy of every TypeScript module and reads the
 * source and that copy each time one is loaded. For this 750 KB string, importing it took 6–8 ms as
 * TypeScript and ~2.3 ms as JavaScript (cached, in process), on every scan that has to parse.
 *
 * Why not web-tree-sitter's two modules: one module built with -O2 and with the tree flattened in C
 * (instead of a JavaScript call per node) parses and copies the tree in ~0.2 s/MB against ~0.26, compiles
 * once per process, and is handed to worker threads already compiled (see lib/scan/parser.ts).
 *
 * Needs clang with the wasm32-wasi target, wasm-ld and wasi-libc (Debian: `apt-get install clang lld
 * wasi-libc`). The output is byte-for-byte reproducible with the same clang; the version is recorded.
 * Exit codes: 0 built / up to date, 1 stale (--check), 2 no compiler (the message says what to install).
 * The tests rebuild offline (tests/scan/parser_test.ts); scripts/run_tests.ts puts the sources in npm's
 * cache first (`npm cache add`).
 */

import { commandOutput } from "./command.ts";

const ROOT = new URL("../", import.meta.url);
const OUT = "lib/embedded/python_parser.js";
const OUT_TYPES = "lib/embedded/python_parser.d.ts";
const GLUE = "scripts/wasm/scan_parser.c";
const SYSROOT_CANDIDATES = ["/usr", "/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot"];
const CFLAGS = [
  "--target=wasm32-wasi",
  "-O2",
  "-DNDEBUG",
  "-mexec-model=reactor",
  "-fno-ident",
  "-Wno-unused-but-set-variable",
  // No DWARF from wasi-libc's archive (a fifth of the module otherwise).
  "-Wl,--strip-debug",
  // The shadow stack below the data, so an overflow traps (and becomes a finding) instead of overwriting it.
  "-Wl,--stack-first",
  "-Wl,-z,stack-size=1048576",
];

/** The build cannot run here: no compiler, or (offline) the sources are not in npm's cache. */
export class BuildUnavailableError extends Error {}

/** The C sources' npm packages, pinned with their registry integrity (the grammar matches deno.json's). */
export const SOURCES = {
  runtime: {
    spec: "tree-sitter@0.25.1",
    integrity:
      "sha512-mrcEdkYtHfrK1A6fs3O6FxkBo0Qig5XUXqHhxUOQu0bmPo00QF4XaSx4edpazdHwxnSCjlGKGgIqWdaN4dvTLA==",
    dir: "vendor/tree-sitter/lib",
  },
  grammar: {
    spec: "tree-sitter-python@0.25.0",
    integrity:
      "sha512-eCmJx6zQa35GxaCtQD+wXHOhYqBxEL+bp71W/s3fcDMu06MrtzkVXR437dRrCrbrDbyLuUDJpAgycs7ncngLXw==",
    dir: "src",
  },
} as const;

/**
 * Gets a package with `npm pack` (the machine's npm registry, or only npm's cache when offline), checks its
 * integrity and unpacks it.
 */
async function _fetchPackage(
  spec: string,
  integrity: string,
  into: string,
  offline: boolean,
): Promise<string> {
  const packed = await commandOutput("npm", [
    "pack",
    "--silent",
    ...(offline ? ["--offline"] : []),
    "--pack-destination",
    into,
    spec,
  ]);
  if (!packed.ok) {
    if (offline) {
      throw new BuildUnavailableError(
        `${spec} is not in npm's cache (\`npm cache add ${spec}\` fetches it; the tests run offline)`,
      );
    }
    throw new Error(`npm pack ${spec} failed: ${packed.stderr}`);
  }
  const tarball = `${into}/${packed.stdout.trim().split("\n").pop()}`;
  const bytes = await Deno.readFile(tarball);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", bytes));
  if (`sha512-${_base64(digest)}` !== integrity) {
    throw new Error(`${spec}: the tarball's integrity does not match`);
  }
  const dir = `${into}/${spec.replace(/[@/]/g, "_")}`;
  await Deno.mkdir(dir);
  const untar = await commandOutput("tar", ["-xzf", tarball, "-C", dir]);
  if (!untar.ok) throw new Error(`tar -xzf ${tarball} failed: ${untar.stderr}`);
  return `${dir}/package`;
}

/** Hex SHA-256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function _base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

async function _sysroot(): Promise<string | null> {
  for (const dir of SYSROOT_CANDIDATES) {
    const lib = await Deno.stat(`${dir}/lib/wasm32-wasi/libc.a`).catch(() => null);
    if (lib?.isFile) return dir;
  }
  return null;
}

export interface Build {
  wasm: Uint8Array<ArrayBuffer>;
  compiler: string;
  /** The C library linked in: its archive's sha256 (a different wasi-libc gives different bytes). */
  libc: string;
  sources: Record<string, string>;
}

/**
 * Compiles the module; throws BuildUnavailableError when clang, wasm-ld or wasi-libc is missing, or when
 * `offline` and the sources are not in npm's cache.
 */
export async function buildParser(options: { offline?: boolean } = {}): Promise<Build> {
  const offline = options.offline ?? false;
  const version = await commandOutput("clang", ["--version"]);
  if (!version.ok) {
    throw new BuildUnavailableError(
      "clang is not installed (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)",
    );
  }
  const sysroot = await _sysroot();
  if (!sysroot) throw new BuildUnavailableError("wasi-libc is not installed (apt-get install wasi-libc)");
  const glue = new URL(GLUE, ROOT).pathname;
  const dir = await Deno.makeTempDir({ prefix: "mixpeek-parser-" });
  try {
    const { runtime: r, grammar: g } = SOURCES;
    const runtime = `${await _fetchPackage(r.spec, r.integrity, dir, offline)}/${r.dir}`;
    const grammar = `${await _fetchPackage(g.spec, g.integrity, dir, offline)}/${g.dir}`;
    const out = `${dir}/scan_parser.wasm`;
    const args = [
      ...CFLAGS,
      `--sysroot=${sysroot}`,
      "-isystem",
      `${sysroot}/include/wasm32-wasi`,
      `-L${sysroot}/lib/wasm32-wasi`,
      // Paths do not end up in the module; map them anyway so a build never depends on where it ran.
      `-ffile-prefix-map=${runtime}=tree-sitter`,
      `-ffile-prefix-map=${grammar}=tree-sitter-python`,
      `-I${runtime}/include`,
      `-I${runtime}/src`,
      `-I${grammar}`,
      "-o",
      out,
      glue,
      `${runtime}/src/lib.c`,
      `${grammar}/parser.c`,
      `${grammar}/scanner.c`,
    ];
    const result = await commandOutput("clang", args);
    if (!result.ok) {
      if (/wasm-ld|unable to execute|crt1|libc\.a/.test(result.stderr)) {
        throw new BuildUnavailableError(
          `clang cannot link for wasm32-wasi (apt-get install lld wasi-libc libclang-rt-14-dev-wasm32):\n${result.stderr}`,
        );
      }
      throw new Error(`clang failed:\n${result.stderr}`);
    }
    const wasm = await Deno.readFile(out);
    return {
      wasm,
      compiler: version.stdout.split("\n")[0].trim(),
      libc: `wasi-libc libc.a sha256 ${await sha256Hex(
        await Deno.readFile(`${sysroot}/lib/wasm32-wasi/libc.a`),
      )}`,
      sources: {
        runtime: `npm:${SOURCES.runtime.spec}/${SOURCES.runtime.dir}`,
        grammar: `npm:${SOURCES.grammar.spec}/${SOURCES.grammar.dir}`,
        glue: GLUE,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The generated module's text for a build. */
export async function renderParserModule(build: Build): Promise<string> {
  const sha256 = await sha256Hex(build.wasm);
  return [
    '// @ts-self-types="./python_parser.d.ts"',
    "// Generated by scripts/build_parser.ts — do not edit; run `deno task build-parser`.",
    "/** The security scanner's parser: tree-sitter + tree-sitter-python in one WASM module (lib/scan/parser.ts). */",
    "export const PYTHON_PARSER_WASM = Object.freeze({",
    `  sources: Object.freeze(${JSON.stringify(build.sources)}),`,
    `  compiler: ${JSON.stringify(build.compiler)},`,
    `  libc: ${JSON.stringify(build.libc)},`,
    `  sha256: ${JSON.stringify(sha256)},`,
    `  base64: ${JSON.stringify(_base64(build.wasm))},`,
    "});",
    "",
  ].join("\n");
}

/** The types of the generated module (the same for every build). */
export function renderParserTypes(): string {
  return [
    "// Generated by scripts/build_parser.ts — do not edit; run `deno task build-parser`.",
    "/** The security scanner's parser: tree-sitter + tree-sitter-python in one WASM module (lib/scan/parser.ts). */",
    "export declare const PYTHON_PARSER_WASM: Readonly<{",
    "  sources: Readonly<Record<string, string>>;",
    "  compiler: string;",
    "  libc: string;",
    "  sha256: string;",
    "  base64: string;",
    "}>;",
    "",
  ].join("\n");
}

async function main(check: boolean): Promise<number> {
  let build: Build;
  try {
    build = await buildParser();
  } catch (error) {
    if (error instanceof BuildUnavailableError) {
      console.error(`cannot build the parser: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const outputs: [string, string][] = [
    [OUT, await renderParserModule(build)],
    [OUT_TYPES, renderParserTypes()],
  ];
  const stale: [string, string][] = [];
  for (const [path, text] of outputs) {
    const current = await Deno.readTextFile(new URL(path, ROOT)).catch(() => "");
    if (current !== text) stale.push([path, text]);
  }
  if (stale.length === 0) {
    console.error(`${OUT} is up to date (${build.wasm.length} bytes)`);
    return 0;
  }
  if (check) {
    console.error(
      `${stale.map(([path]) => path).join(", ")} differ from a fresh build: run \`deno task build-parser\``,
    );
    return 1;
  }
  for (const [path, text] of stale) {
    await Deno.writeTextFile(new URL(path, ROOT), text);
    console.error(`wrote ${path} (the parser: ${build.wasm.length} bytes of WASM, ${build.compiler})`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args.includes("--check")));
