/**
 * Category `dynamic-code`: running code built at run time (eval, exec, compile, code/codeop/runpy,
 * debuggers and profilers that run strings (also through their instances: `cProfile.Profile().runctx`,
 * `trace.Trace().run`, `pdb.Pdb().run`, `bdb.Bdb().run`), FunctionType/CodeType, embedded payloads, and strings Python
 * evaluates: string annotations, ForwardRef, timeit statements, logging.config.fileConfig).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_CODE = "plugins cannot run code built at run time: call the functions directly";

export const DYNAMIC_CODE_RULES: RuleEntry[] = [
  rule(
    "dynamic-code-eval",
    "dynamic-code",
    "eval",
    "`{name}` evaluates a string as Python code",
    INSTEAD_CODE,
    {
      paths: ["builtins.eval"],
    },
  ),
  rule(
    "dynamic-code-exec",
    "dynamic-code",
    "exec",
    "`{name}` executes a string as Python code",
    INSTEAD_CODE,
    {
      paths: ["builtins.exec", "builtins.execfile"],
    },
  ),
  rule(
    "dynamic-code-compile",
    "dynamic-code",
    "compile",
    "`{name}` turns a string into a code object",
    INSTEAD_CODE,
    { paths: ["builtins.compile"] },
  ),
  rule(
    "dynamic-code-interpreter",
    "dynamic-code",
    "interpreters and debuggers",
    "`{name}` runs Python source or a debugger at run time",
    INSTEAD_CODE,
    {
      paths: [
        "code",
        "codeop",
        "runpy",
        "pdb",
        "bdb",
        "doctest",
        "cProfile.run",
        "cProfile.runctx",
        "cProfile.Profile.run", // instances: cProfile.Profile().runctx("code", g, l)
        "cProfile.Profile.runctx",
        "profile.run",
        "profile.runctx",
        "profile.Profile.run",
        "profile.Profile.runctx",
        "trace.Trace",
        "IPython",
      ],
    },
  ),
  rule(
    "dynamic-code-function-type",
    "dynamic-code",
    "building functions from code objects",
    "`{name}` builds or replaces executable code objects",
    INSTEAD_CODE,
    { callPaths: ["types.FunctionType", "types.LambdaType", "types.CodeType"] },
  ),
  rule(
    "dynamic-code-payload",
    "dynamic-code",
    "embedded pickle / marshal / YAML payloads",
    "`{name}` deserialises an embedded payload, which can run arbitrary code",
    "ship data as JSON (or load model files your plugin downloads at run time); never embed pickled or marshalled objects in source",
  ),
  rule(
    "dynamic-code-string",
    "dynamic-code",
    "strings Python evaluates",
    "{name}",
    "write annotations and statements as code, not strings; keep string annotations to plain type names",
    { paths: ["logging.config.fileConfig"] },
  ),
];
