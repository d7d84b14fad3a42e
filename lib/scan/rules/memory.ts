/**
 * Category `memory`: native code and raw memory (ctypes, cffi, numpy.ctypeslib, extension loaders).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_MEMORY =
  "plugins cannot load native code or touch raw memory: use a published Python package (numpy, torch, onnxruntime, …)";

export const MEMORY_RULES: RuleEntry[] = [
  rule(
    "memory-ctypes",
    "memory",
    "ctypes",
    "`{name}` calls native code and reads raw memory",
    INSTEAD_MEMORY,
    {
      paths: ["ctypes", "_ctypes", "numpy.ctypeslib"],
    },
  ),
  rule("memory-cffi", "memory", "cffi", "`{name}` calls native code through cffi", INSTEAD_MEMORY, {
    paths: ["cffi", "_cffi_backend"],
  }),
  rule(
    "memory-loader",
    "memory",
    "native code loaders",
    "`{name}` loads or generates native code",
    INSTEAD_MEMORY,
    {
      paths: [
        "importlib.machinery.ExtensionFileLoader",
        "imp.load_dynamic",
        "llvmlite",
        "cppyy",
        "_imp.create_dynamic",
      ],
    },
  ),
];
