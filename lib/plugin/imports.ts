/**
 * The import statements of a Python file, found without Python: strings, comments and bracketed line
 * continuations are skipped the way the tokenizer does, so an `import x` inside a docstring is not one.
 * The structure check uses this to find absolute imports of the plugin's own modules (Mixpeek imports a
 * plugin as a package, so `from manifest import X` must be `from .manifest import X`).
 */

export interface PythonImport {
  /** 1-based line where the statement starts. */
  line: number;
  kind: "import" | "from";
  /** Leading dots of a `from` import (0 for absolute imports and for every `import x`). */
  level: number;
  /** `from X import …`: X without the dots ("" for `from . import x`); `import X`: X. */
  module: string;
  /** `from … import a, b as c`: [{name: "a"}, {name: "b", as: "c"}]; `import X as Y`: [{name: X, as: Y}]. */
  names: { name: string; as?: string }[];
}

interface Statement {
  text: string;
  line: number;
}

/** The characters the statement splitter acts on; everything between them is copied as one slice. */
const SPECIAL = /[#"'\\\n()[\]{}]/g;

/**
 * Logical statements that mention `import`, with strings blanked (`""`) and comments dropped, each with its
 * first line. Linear in
 * the source, and quick on long runs of plain text: a regex jumps from one special character to the next,
 * the text between is copied as one slice, and a statement is joined once. (A `text.trim()` per character
 * flattened a growing string each time: a 4 MB literal took minutes and froze the registry's event loop.)
 */
function* _statements(source: string): Generator<Statement | null> {
  const out: Statement[] = [];
  let steps = 0;
  let parts: string[] = [];
  let blank = true;
  let start = 1;
  let line = 1;
  let depth = 0;
  const add = (piece: string) => {
    if (piece === "") return;
    if (blank) {
      if (piece.trim() === "") return; // leading white space: nothing to keep, the statement has not begun
      start = line;
      blank = false;
    }
    parts.push(piece);
  };
  const flush = () => {
    const text = blank ? "" : parts.join("");
    // Only statements that can import are kept (most of a file is not), so the parse after is cheap.
    if (text.includes("import")) {
      for (const part of text.split(";")) {
        if (part.trim() !== "") out.push({ text: part, line: start });
      }
    }
    parts = [];
    blank = true;
  };
  let i = 0;
  while (i < source.length) {
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
    if (++steps % 4096 === 0) yield null; // a point where an async caller may give the event loop a turn
    SPECIAL.lastIndex = i;
    const m = SPECIAL.exec(source);
    const at = m ? m.index : source.length;
    add(source.slice(i, at));
    if (!m) break;
    const c = m[0];
    i = at;
    if (c === "#") {
      const end = source.indexOf("\n", i);
      i = end === -1 ? source.length : end; // the newline itself is handled next
      continue;
    }
    if (c === '"' || c === "'") {
      const triple = source.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      let j = i + quote.length;
      while (j < source.length) {
        if (source[j] === "\\") {
          if (source[j + 1] === "\n") line++;
          j += 2;
          continue;
        }
        if (source.startsWith(quote, j)) break;
        if (source[j] === "\n") {
          if (!triple) break; // an unterminated string ends at the line (a syntax error anyway)
          line++;
        }
        j++;
      }
      add('""');
      i = j + (source.startsWith(quote, j) ? quote.length : 0);
      continue;
    }
    if (c === "\\") {
      if (source[i + 1] === "\n") {
        line++;
        add(" ");
        i += 2;
      } else {
        add(c);
        i++;
      }
      continue;
    }
    if (c === "\n") {
      line++;
      i++;
      if (depth > 0) add(" ");
      else flush();
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (depth > 0) depth--;
    add(c);
    i++;
  }
  flush();
  yield* out;
}

const COMPOUND = /^(?:if|elif|else|try|except|finally|with|for|while)\b[^:]*:\s*((?:import|from)\s.*)$/;
const DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*$/;

function _alias(part: string): { name: string; as?: string } | undefined {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.\s]*?)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?\s*$/.exec(part);
  if (!m) return undefined;
  const name = m[1].replace(/\s+/g, "");
  return m[2] ? { name, as: m[2] } : { name };
}

function _parse(text: string, line: number): PythonImport | undefined {
  let body = text.trim();
  const compound = COMPOUND.exec(body);
  if (compound) body = compound[1];
  if (body.startsWith("import ") || body.startsWith("import\t")) {
    const names = body.slice(6).split(",").map(_alias);
    if (names.some((n) => n === undefined || !DOTTED.test(n.name))) return undefined;
    const list = names as { name: string; as?: string }[];
    return { line, kind: "import", level: 0, module: list[0].name, names: list };
  }
  const m = /^from\s+(\.*)\s*([A-Za-z_][A-Za-z0-9_.\s]*?)?\s+import\s+(.+)$/.exec(body);
  if (!m) return undefined;
  const module = (m[2] ?? "").replace(/\s+/g, "");
  if (module !== "" && !DOTTED.test(module)) return undefined;
  const list = m[3].trim().replace(/^\(/, "").replace(/\)$/, "");
  const names = list === "*" ? [{ name: "*" }] : list.split(",").filter((p) => p.trim() !== "").map(_alias);
  if (names.some((n) => n === undefined)) return undefined;
  return { line, kind: "from", level: m[1].length, module, names: names as { name: string; as?: string }[] };
}

/** Every `import` / `from … import` statement of `source`, in order. */
export function pythonImports(source: string): PythonImport[] {
  const found: PythonImport[] = [];
  for (const statement of _statements(source)) {
    const parsed = statement && _parse(statement.text, statement.line);
    if (parsed) found.push(parsed);
  }
  return found;
}

/** Work between two turns of the event loop in `pythonImportsYielding`. */
const SLICE_MS = 20;

/**
 * `pythonImports` that gives the event loop a turn every ~20 ms: the local registry runs the structure
 * check on uploaded files (up to the scanner's 4 MiB limit each), which must not stall its other requests.
 */
export async function pythonImportsYielding(source: string): Promise<PythonImport[]> {
  const found: PythonImport[] = [];
  let since = performance.now();
  for (const statement of _statements(source)) {
    if (statement === null) {
      if (performance.now() - since > SLICE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        since = performance.now();
      }
      continue;
    }
    const parsed = _parse(statement.text, statement.line);
    if (parsed) found.push(parsed);
  }
  return found;
}

/**
 * The relative spelling of an absolute import of the plugin's own module, for a file `depth` folders below
 * the plugin root: `from manifest import X` → `from .manifest import X`; `import processors.core as c` →
 * `from .processors import core as c`; in tests/, `from ..manifest import X`.
 */
export function relativeSpelling(imp: PythonImport, depth: number): string {
  const dots = ".".repeat(depth + 1);
  const names = (list: { name: string; as?: string }[]) =>
    list.map((n) => (n.as ? `${n.name} as ${n.as}` : n.name)).join(", ");
  if (imp.kind === "from") return `from ${dots}${imp.module} import ${names(imp.names)}`;
  return imp.names.map((n) => {
    const parts = n.name.split(".");
    const last = parts.pop()!;
    const alias = n.as ? ` as ${n.as}` : "";
    return `from ${dots}${parts.join(".")} import ${last}${alias}`;
  }).join("; ");
}
