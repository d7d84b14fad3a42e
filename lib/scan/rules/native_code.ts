/**
 * Category `native-code`: native code and raw memory (ctypes, cffi, numpy.ctypeslib, extension loaders).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_NATIVE =
  "plugins cannot load native code or touch raw memory: use a published Python package (numpy, torch, …)";

export const NATIVE_CODE_RULES: RuleEntry[] = [
  rule(
    "native-code-ctypes",
    "native-code",
    "ctypes",
    "`{name}` calls native code and reads raw memory",
    INSTEAD_NATIVE,
    { paths: ["ctypes", "_ctypes", "numpy.ctypeslib"] },
  ),
  rule("native-code-cffi", "native-code", "cffi", "`{name}` calls native code through cffi", INSTEAD_NATIVE, {
    paths: ["cffi", "_cffi_backend"],
  }),
  rule(
    "native-code-loader",
    "native-code",
    "native code loaders",
    "`{name}` loads or generates native code",
    INSTEAD_NATIVE,
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
