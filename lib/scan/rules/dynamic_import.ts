/**
 * Category `dynamic-import`: importing or resolving names computed at run time (__import__, importlib
 * loaders, import_module, pkgutil.resolve_name and other resolvers, breakpoint(), sys.modules and import
 * hooks, module loaders).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_IMPORT = "import modules by name at the top of the file (import x / from x import y)";

export const DYNAMIC_IMPORT_RULES: RuleEntry[] = [
  rule(
    "dynamic-import-import",
    "dynamic-import",
    "__import__",
    "`{name}` imports a module named at run time",
    INSTEAD_IMPORT,
    {
      paths: [
        "builtins.__import__",
        "importlib.__import__",
        "importlib.import_module", // forbidden by the platform whatever the name
        "importlib._bootstrap",
        "importlib._bootstrap_external",
      ],
    },
  ),
  rule(
    "dynamic-import-importlib",
    "dynamic-import",
    "importlib loaders",
    "`{name}` imports or executes a module named or located at run time",
    INSTEAD_IMPORT,
    {
      paths: [
        "importlib.util.spec_from_file_location",
        "importlib.util.spec_from_loader",
        "importlib.util.module_from_spec",
        "importlib.util.LazyLoader",
        "importlib.machinery.SourceFileLoader",
        "importlib.machinery.SourcelessFileLoader",
        "importlib.machinery.PathFinder",
        "importlib.machinery.FileFinder",
        "imp",
        "_imp",
        "zipimport",
        "pkgutil.ImpImporter",
        "pkgutil.ImpLoader",
      ],
      attributes: ["exec_module", "load_module"],
    },
  ),
  rule(
    "dynamic-import-resolver",
    "dynamic-import",
    "name resolvers",
    "`{name}` resolves a dotted name given as data to an object",
    "refer to the object directly (from x import y) instead of naming it in a string",
  ),
  rule(
    "dynamic-import-breakpoint",
    "dynamic-import",
    "breakpoint()",
    "`{name}` calls whatever PYTHONBREAKPOINT names",
    "remove debugging hooks from plugin code",
    { paths: ["builtins.breakpoint", "sys.breakpointhook", "sys.__breakpointhook__"] },
  ),
  rule(
    "dynamic-import-sys-modules",
    "dynamic-import",
    "sys.modules and import hooks",
    "`{name}` reaches modules or import hooks by a name computed at run time",
    INSTEAD_IMPORT,
    { paths: ["sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"] },
  ),
  rule(
    "dynamic-import-loader",
    "dynamic-import",
    "module loaders",
    "`{name}` gives access to the module loader, which can load any module",
    INSTEAD_IMPORT,
    { attributes: ["__loader__"] },
  ),
];
