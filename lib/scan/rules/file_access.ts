/**
 * Category `file-access`: the builtin `open()` (Mixpeek's platform forbids it), by any name it is reached
 * under (`io.open` and `_io.open` are the same function). Library file I/O is allowed: `Image.open`,
 * `pd.read_csv`, `torch.load`, `onnxruntime.InferenceSession`, `from_pretrained`, pathlib.
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const FILE_ACCESS_RULES: RuleEntry[] = [
  rule(
    "file-access-open",
    "file-access",
    "the builtin open()",
    "`{name}` opens files directly, which the platform forbids",
    "read media with `shared.plugins.open_asset(url, suffix)` (a context manager giving a local path) or `download_asset`, and files with their library (Image.open, pd.read_csv, json.loads(path.read_text()), from_pretrained)",
    { paths: ["builtins.open", "io.open", "_io.open", "io.open_code", "_io.open_code"] },
  ),
];
