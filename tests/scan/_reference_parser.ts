/**
 * The reference the scanner's parser is checked against: web-tree-sitter (tree-sitter's own JavaScript
 * binding; the version deno.json pins ships the same C runtime, byte for byte, that scripts/build_parser.ts
 * compiles) with the grammar's published WASM, walked through its public TreeCursor API, flattened the way
 * scripts/wasm/scan_parser.c documents (pre-order visible nodes; leaves and "exact" kinds keep tree-sitter's
 * range, other parents span their first to last child; the module spans the whole source).
 */
import { Language, Parser, type Tree } from "web-tree-sitter";
import { K, K_ERROR, kindTable, SyntaxTree, type TreeError } from "../../lib/scan/tree.ts";

const EXACT = new Set<number>([K.string_content, K.format_specifier, K_ERROR]);

async function _npmFile(specifier: string, path: string): Promise<Uint8Array> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", specifier],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    npmPackages?: Record<string, { localPath?: string }>;
  };
  const wanted = specifier.replace(/^npm:/, "");
  const entry = Object.entries(info.npmPackages ?? {}).find(([id]) =>
    id === wanted || id.startsWith(wanted + "_")
  );
  if (!entry?.[1].localPath) throw new Error(`deno info ${specifier}: no local path`);
  return await Deno.readFile(`${entry[1].localPath}/${path}`);
}

/** The pinned version of an npm package in deno.json's imports. */
export async function pinned(name: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url))) as {
    imports: Record<string, string>;
  };
  const spec = config.imports[name];
  if (!spec) throw new Error(`deno.json does not pin ${name}`);
  return spec;
}

export interface ReferenceParser {
  parse(source: string): SyntaxTree;
}

export async function referenceParser(): Promise<ReferenceParser> {
  const runtime = await _npmFile(await pinned("web-tree-sitter"), "tree-sitter.wasm");
  const grammar = await _npmFile(await pinned("tree-sitter-python"), "tree-sitter-python.wasm");
  await Parser.init({ wasmBinary: runtime });
  const language = await Language.load(grammar);
  const parser = new Parser();
  parser.setLanguage(language);
  const kinds = kindTable(language.types, (id) => language.nodeTypeIsNamed(id));
  return {
    parse(source: string): SyntaxTree {
      const tree = parser.parse(source)!;
      try {
        return new SyntaxTree({ source, ..._flatten(tree, kinds, source.length), errors: _errors(tree) });
      } finally {
        tree.delete();
      }
    },
  };
}

function _flatten(tree: Tree, kinds: Uint8Array, length: number) {
  const kind: number[] = [];
  const parent: number[] = [];
  const first: number[] = [];
  const next: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  let maxDepth = 0;
  const cursor = tree.walk();
  const stack: { node: number; last: number }[] = [];
  const visit = () => {
    const i = kind.length;
    const id = cursor.nodeTypeId;
    kind.push(id < kinds.length ? kinds[id] : K_ERROR);
    first.push(-1);
    next.push(-1);
    start.push(cursor.startIndex);
    end.push(cursor.endIndex);
    const top = stack[stack.length - 1];
    parent.push(top ? top.node : -1);
    if (top) {
      if (top.last < 0) first[top.node] = i;
      else next[top.last] = i;
      top.last = i;
    }
    stack.push({ node: i, last: -1 });
    maxDepth = Math.max(maxDepth, stack.length - 1);
  };
  visit();
  outer: for (;;) {
    if (cursor.gotoFirstChild()) {
      visit();
      continue;
    }
    for (;;) {
      stack.pop();
      if (cursor.gotoNextSibling()) {
        visit();
        continue outer;
      }
      if (!cursor.gotoParent()) break outer;
      const { node, last } = stack[stack.length - 1];
      if (!EXACT.has(kind[node])) {
        start[node] = start[first[node]];
        end[node] = end[last];
      }
    }
  }
  cursor.delete();
  start[0] = 0;
  end[0] = length;
  return {
    count: kind.length,
    kind: Uint8Array.from(kind),
    parent: Int32Array.from(parent),
    first: Int32Array.from(first),
    next: Int32Array.from(next),
    start: Int32Array.from(start),
    end: Int32Array.from(end),
    maxDepth,
  };
}

function _errors(tree: Tree): TreeError[] {
  if (!tree.rootNode.hasError) return [];
  const errors: TreeError[] = [];
  const cursor = tree.walk();
  outer: for (;;) {
    const isError = cursor.nodeType === "ERROR";
    if (isError || cursor.nodeIsMissing) {
      errors.push({
        start: cursor.startIndex,
        end: cursor.endIndex,
        missing: !isError,
        expected: isError ? undefined : cursor.nodeType,
      });
      if (errors.length >= 20) break;
      if (isError) {
        while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) break outer;
        continue;
      }
    }
    if (cursor.gotoFirstChild()) continue;
    while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) break outer;
  }
  cursor.delete();
  return errors;
}
