/**
 * Category `source`: the file is not what CPython would run as-is (not UTF-8, a non-UTF-8 encoding
 * declaration, NUL bytes, syntax errors, Python 2 syntax, inconsistent indentation, invisible characters,
 * too large or too deeply nested to analyse). The scan fails closed.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

const INSTEAD_SOURCE = "save the file as UTF-8 Python 3 that `python3 -m py_compile` accepts";

export const SOURCE_RULES: RuleEntry[] = [
  rule("source-syntax", "source", "syntax error", "{name}", INSTEAD_SOURCE),
  rule(
    "source-compile",
    "source",
    "refused by CPython's compiler",
    "{name} (CPython's compile() refuses the file)",
    INSTEAD_SOURCE,
  ),
  rule("source-python2", "source", "Python 2 syntax", "{name}", "port the code to Python 3"),
  rule("source-encoding", "source", "source encoding", "{name}", INSTEAD_SOURCE),
  rule(
    "source-unreadable",
    "source",
    "unreadable file",
    "{name}",
    "make the file readable (or remove it): every .py file of a plugin is checked",
  ),
  rule(
    "source-null-byte",
    "source",
    "NUL bytes",
    "{name}",
    "remove the NUL bytes (binary data belongs in data files)",
  ),
  rule(
    "source-indentation",
    "source",
    "inconsistent indentation",
    "{name}",
    "indent with spaces only (4 per level), as `python3 -m tabnanny` expects",
  ),
  rule(
    "source-invisible-character",
    "source",
    "invisible characters",
    "{name}",
    "remove invisible and control characters from code (they are allowed inside strings and comments only)",
  ),
  rule(
    "source-too-large",
    "source",
    "file too large",
    "{name}",
    "plugins ship code, not data: move data to a JSON/CSV/NumPy file that the plugin reads at run time",
  ),
  rule(
    "source-too-deep",
    "source",
    "nesting too deep",
    "{name}",
    "split the expression into smaller statements",
  ),
];
