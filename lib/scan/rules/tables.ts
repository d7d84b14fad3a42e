/**
 * Tables the checks (lib/scan/checks/) read besides the rules' paths: namespaces whose computed lookups or
 * hand-offs are findings, deserialisers whose constant payloads are, and the dictionary keys whose string
 * values configuration loaders resolve to objects.
 *
 * @module
 */

/**
 * Namespaces with forbidden members: a lookup in them by a name the scanner cannot compute, or handing them
 * whole to code the scanner does not follow, is a finding.
 */
export const DANGEROUS_NAMESPACES: ReadonlySet<string> = new Set([
  "os",
  "builtins",
  "sys",
  "sys.modules",
  "importlib",
  "importlib.util",
  "importlib.machinery",
  "asyncio",
  "gc",
  "pkgutil",
  "pydoc",
  "pty",
]);

/** Deserialisers that run code from their input: a constant (embedded) payload is a finding. */
export const PAYLOAD_LOADERS: ReadonlySet<string> = new Set([
  "pickle.loads",
  "pickle.load",
  "pickle.Unpickler",
  "dill.loads",
  "dill.load",
  "cloudpickle.loads",
  "cloudpickle.load",
  "jsonpickle.decode",
  "joblib.load",
  "shelve.open",
  "yaml.load",
  "yaml.load_all",
  "yaml.unsafe_load",
  "yaml.unsafe_load_all",
  "yaml.full_load",
  "yaml.full_load_all",
]);

/** Dictionary keys whose string value logging.config / hydra resolve to an object. */
export const RESOLVER_KEYS: ReadonlySet<string> = new Set(["()", "class", "_target_"]);

/** Call paths whose `stmt` / `setup` strings are run as statements. */
export const TIMEIT: ReadonlySet<string> = new Set(["timeit.timeit", "timeit.repeat", "timeit.Timer"]);
export const FORWARD_REFS: ReadonlySet<string> = new Set([
  "typing.ForwardRef",
  "typing_extensions.ForwardRef",
]);
export const TYPEVARS: ReadonlySet<string> = new Set(["typing.TypeVar", "typing_extensions.TypeVar"]);
export const DICT_CONFIG: ReadonlySet<string> = new Set(["logging.config.dictConfig"]);
