/**
 * What the scanner knows about Python's names, independent of any rule: the builtins, the names every module
 * defines, modules that are other names for a module (`posix` is `os`), attribute names modules re-export
 * their imports under (`shutil.os`), and the functions that resolve a dotted name given as a string.
 *
 * A "path" is the dotted name an object is reached by from an import: `os.system`, `builtins.eval`.
 *
 * @module
 */
import { MODULE_ATTRIBUTES, REEXPORTS, STDLIB_MODULE_NAMES } from "./stdlib_data.ts";

export const BUILTIN_NAMES: ReadonlySet<string> = new Set(
  (
    "abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex " +
    "delattr dict dir divmod enumerate eval exec execfile filter float format frozenset getattr globals hasattr hash " +
    "help hex id input int isinstance issubclass iter len list locals map max memoryview min next object oct " +
    "open ord pow print property range repr reversed round set setattr slice sorted staticmethod str sum super " +
    "tuple type vars zip __import__ __build_class__ reload unicode basestring long file raw_input apply " +
    "intern coerce buffer cmp"
  ).split(" "),
);

/** Module-level names Python defines in every module. */
export const MODULE_DUNDERS: ReadonlySet<string> = new Set([
  "__name__",
  "__file__",
  "__doc__",
  "__package__",
  "__spec__",
  "__path__",
  "__cached__",
  "__annotations__",
  "__loader__",
  "__builtins__",
  "__dict__",
]);

/**
 * Attribute names that, on any object, are taken to be the module of that name: modules re-export their
 * imports (`shutil.os`, `tempfile._os`, `x.subprocess`), so `anything.os.system` is `os.system`.
 */
export const MODULE_LIKE_ATTRIBUTES: ReadonlyMap<string, string> = new Map([
  ["os", "os"],
  ["_os", "os"],
  ["posix", "os"],
  ["nt", "os"],
  ["sys", "sys"],
  ["_sys", "sys"],
  ["builtins", "builtins"],
  ["__builtin__", "builtins"],
  ["subprocess", "subprocess"],
  ["_subprocess", "subprocess"],
  ["socket", "socket"],
  ["_socket", "socket"],
  ["ctypes", "ctypes"],
  ["_ctypes", "ctypes"],
  ["importlib", "importlib"],
  ["pty", "pty"],
  ["asyncio", "asyncio"],
  ["runpy", "runpy"],
  ["cffi", "cffi"],
]);

/** Module names that are other names for a module (`posix.system` is `os.system`). */
export const MODULE_ALIASES: ReadonlyMap<string, string> = new Map([
  ["posix", "os"],
  ["nt", "os"],
  ["__builtin__", "builtins"],
  ["_pickle", "pickle"],
  ["cPickle", "pickle"],
  ["_socket", "socket"],
]);

/** Functions that resolve a dotted name given as a string (`"os:system"`, `"os.system"`). */
export const RESOLVERS: ReadonlySet<string> = new Set([
  "pkgutil.resolve_name",
  "pydoc.locate",
  "importlib.import_module",
  "builtins.__import__",
  "importlib.__import__",
  "werkzeug.utils.import_string",
  "django.utils.module_loading.import_string",
  "hydra.utils.get_method",
  "hydra.utils.get_class",
  "hydra.utils.get_object",
  "zope.dottedname.resolve.resolve",
  "importlib.metadata.EntryPoint",
]);

function _alias(path: string): string {
  const dot = path.indexOf(".");
  const head = dot < 0 ? path : path.slice(0, dot);
  const alias = MODULE_ALIASES.get(head);
  return alias === undefined ? path : alias + (dot < 0 ? "" : path.slice(dot));
}

const STDLIB_MODULES: ReadonlySet<string> = new Set(STDLIB_MODULE_NAMES);

/** Whether a path names a standard-library module (whose attributes lib/scan/semantic/stdlib_data.ts knows). */
export function isStdlibModule(path: string): boolean {
  return STDLIB_MODULES.has(path);
}

/**
 * The canonical form of a dotted path: module aliases resolved (`posix.system` → `os.system`), and the
 * standard library's re-exports followed from the left (`shutil.os.system` → `os.system`,
 * `http.client.socket.socket` → `socket.socket`, `ssl.socket` → `socket.socket`).
 */
export function canonicalPath(path: string): string {
  let p = _alias(path);
  for (let guard = 0; guard < 8; guard++) {
    let next: string | undefined;
    for (let dot = p.indexOf("."); dot >= 0 && next === undefined; dot = p.indexOf(".", dot + 1)) {
      const module = p.slice(0, dot);
      const end = p.indexOf(".", dot + 1);
      const attr = end < 0 ? p.slice(dot + 1) : p.slice(dot + 1, end);
      const target = MODULE_ATTRIBUTES[module]?.[attr] ?? REEXPORTS[module]?.[attr];
      if (target !== undefined) next = _alias(target) + (end < 0 ? "" : p.slice(end));
    }
    if (next === undefined) return p;
    p = next;
  }
  return p;
}

/** A dotted name as resolvers read it: "pkg.mod:attr.sub" or "pkg.mod.attr". */
export function dottedName(s: string): string | undefined {
  const t = s.trim();
  if (!/^[A-Za-z_][\w.]*(?::[A-Za-z_][\w.]*)?$/.test(t)) return undefined;
  return canonicalPath(t.replace(":", "."));
}

/** How a path is shown in messages: builtins without their module. */
export function displayPath(p: string): string {
  return p.startsWith("builtins.") ? p.slice("builtins.".length) : p;
}
