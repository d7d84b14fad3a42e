/**
 * Category `deserialization`: `pickle` and `marshal` loads (errors: loading runs code from the data), and
 * any use of `pickle`, `marshal` or `shelve` (the platform's warning: an error in strict mode).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

const INSTEAD_LOAD =
  "load models with their library (`torch.load(path, weights_only=True)`, safetensors, `from_pretrained`, `onnxruntime.InferenceSession`) and data as JSON";

export const DESERIALIZATION_RULES: RuleEntry[] = [
  rule(
    "deserialization-pickle-load",
    "deserialization",
    "pickle.load / pickle.loads",
    "`{name}` unpickles data, which runs any code the data names",
    INSTEAD_LOAD,
    {
      paths: [
        "pickle.load",
        "pickle.loads",
        "pickle.Unpickler",
        "pickle._load",
        "pickle._loads",
        "pickle._Unpickler",
      ],
    },
  ),
  rule(
    "deserialization-marshal-load",
    "deserialization",
    "marshal.load / marshal.loads",
    "`{name}` loads marshalled code objects",
    INSTEAD_LOAD,
    { paths: ["marshal.load", "marshal.loads"] },
  ),
  rule(
    "deserialization-module",
    "deserialization",
    "pickle, marshal and shelve",
    "`{name}` is a serialisation format that can run code when loaded",
    "prefer JSON, safetensors or the library's own format (the platform warns about pickle, marshal and shelve, and rejects them in strict mode)",
    { paths: ["pickle", "marshal", "shelve"], severity: "warning" },
  ),
];
