/**
 * The one source of truth for what the security scan forbids (SPEC.md §4): categories, rules (id, category,
 * message with the safe alternative) and the tables that map Python names to rules. `plugin scan`,
 * `plugin test`, `plugin publish` and the local registry all read this module through lib/scan/scan.ts.
 *
 * Categories:
 *  - `shell`           starting processes or shell commands: subprocess, os.system, os.popen, os.exec*, os.spawn*,
 *                      os.posix_spawn*, os.fork, pty, asyncio.create_subprocess_*, and libraries that wrap them.
 *  - `dynamic-code`    running code built at run time: eval, exec, compile, code/codeop/runpy, debuggers,
 *                      FunctionType/CodeType, constant pickle/marshal payloads, strings Python evaluates
 *                      (string annotations, ForwardRef, timeit statements, logging.config.fileConfig).
 *  - `network`         raw network access: socket, socketserver, asyncio streams and loop socket APIs, servers,
 *                      non-HTTP protocol clients. HTTP clients (urllib.request, http.client, requests, httpx)
 *                      are allowed.
 *  - `native-code`     native code and raw memory: ctypes, cffi, numpy.ctypeslib, extension loaders.
 *  - `dynamic-import`  importing or resolving names computed at run time: __import__, importlib loaders,
 *                      import_module with a computed name, pkgutil.resolve_name, breakpoint(), sys.modules.
 *  - `introspection`   reaching interpreter internals that lead to the above: __builtins__, __subclasses__,
 *                      __globals__, frame globals, gc.get_objects, computed lookups in (or hand-offs of)
 *                      namespaces such as os, builtins and globals().
 *  - `source`          the file is not what CPython would run as-is: not UTF-8, a non-UTF-8 encoding
 *                      declaration, NUL bytes, syntax errors, Python 2 syntax, inconsistent indentation,
 *                      invisible characters, too large or too deeply nested to analyse. The scan fails closed.
 *
 * @module
 */

export const CATEGORIES = [
  "shell",
  "dynamic-code",
  "network",
  "native-code",
  "dynamic-import",
  "introspection",
  "source",
] as const;
export type Category = typeof CATEGORIES[number];

/** The categories SPEC.md §4 forbids by name ([doc]); `introspection` and `source` are ours. */
export const SPEC_CATEGORIES: readonly Category[] = [
  "shell",
  "dynamic-code",
  "network",
  "native-code",
  "dynamic-import",
];

export interface Rule {
  id: string;
  category: Category;
  /** Short name (SARIF shortDescription). */
  title: string;
  /** What the flagged code does; `{name}` is replaced with the Python name found. */
  problem: string;
  /** What to do instead. */
  instead: string;
}

const INSTEAD = {
  shell: "plugins cannot start processes: do the work in Python (pathlib, shutil, a library call)",
  code: "plugins cannot run code built at run time: call the functions directly",
  network:
    "plugins cannot open raw connections: use an HTTP client (urllib.request, http.client, requests, httpx) and declare resource_type API",
  native:
    "plugins cannot load native code or touch raw memory: use a published Python package (numpy, torch, …)",
  import: "import modules by name at the top of the file (import x / from x import y)",
  introspection: "use the object you need directly instead of reaching it through interpreter internals",
  source: "save the file as UTF-8 Python 3 that `python3 -m py_compile` accepts",
};

function _rule(id: string, category: Category, title: string, problem: string, instead: string): Rule {
  return { id, category, title, problem, instead };
}

/** Every rule, keyed by id. Ids are stable: tools (SARIF, CI filters) refer to them. */
export const RULES: Readonly<Record<string, Rule>> = Object.fromEntries([
  // shell
  _rule("shell-subprocess", "shell", "subprocess", "`{name}` starts a process", INSTEAD.shell),
  _rule("shell-os-system", "shell", "os.system / os.popen", "`{name}` runs a shell command", INSTEAD.shell),
  _rule(
    "shell-os-exec",
    "shell",
    "os.exec*",
    "`{name}` replaces the process with another program",
    INSTEAD.shell,
  ),
  _rule("shell-os-spawn", "shell", "os.spawn*, os.fork, pty", "`{name}` starts a process", INSTEAD.shell),
  _rule(
    "shell-asyncio-subprocess",
    "shell",
    "asyncio subprocesses",
    "`{name}` starts a process from asyncio",
    INSTEAD.shell,
  ),
  _rule(
    "shell-library",
    "shell",
    "process libraries",
    "`{name}` is a library that starts processes",
    INSTEAD.shell,
  ),
  // dynamic code
  _rule(
    "dynamic-code-eval",
    "dynamic-code",
    "eval",
    "`{name}` evaluates a string as Python code",
    INSTEAD.code,
  ),
  _rule(
    "dynamic-code-exec",
    "dynamic-code",
    "exec",
    "`{name}` executes a string as Python code",
    INSTEAD.code,
  ),
  _rule(
    "dynamic-code-compile",
    "dynamic-code",
    "compile",
    "`{name}` turns a string into a code object",
    INSTEAD.code,
  ),
  _rule(
    "dynamic-code-interpreter",
    "dynamic-code",
    "interpreters and debuggers",
    "`{name}` runs Python source or a debugger at run time",
    INSTEAD.code,
  ),
  _rule(
    "dynamic-code-function-type",
    "dynamic-code",
    "building functions from code objects",
    "`{name}` builds or replaces executable code objects",
    INSTEAD.code,
  ),
  _rule(
    "dynamic-code-payload",
    "dynamic-code",
    "embedded pickle / marshal / YAML payloads",
    "`{name}` deserialises an embedded payload, which can run arbitrary code",
    "ship data as JSON (or load model files your plugin downloads at run time); never embed pickled or marshalled objects in source",
  ),
  _rule(
    "dynamic-code-string",
    "dynamic-code",
    "strings Python evaluates",
    "{name}",
    "write annotations and statements as code, not strings; keep string annotations to plain type names",
  ),
  // network
  _rule(
    "network-socket",
    "network",
    "raw sockets",
    "`{name}` opens raw network connections",
    INSTEAD.network,
  ),
  _rule(
    "network-asyncio",
    "network",
    "asyncio streams and sockets",
    "`{name}` opens raw network connections from asyncio",
    INSTEAD.network,
  ),
  _rule(
    "network-server",
    "network",
    "network servers",
    "`{name}` listens for network connections",
    INSTEAD.network,
  ),
  _rule(
    "network-protocol",
    "network",
    "non-HTTP protocol clients",
    "`{name}` opens a raw protocol connection (FTP, SMTP, telnet, …)",
    INSTEAD.network,
  ),
  _rule(
    "network-library",
    "network",
    "raw network libraries",
    "`{name}` is a library for raw network access",
    INSTEAD.network,
  ),
  // native code
  _rule(
    "native-code-ctypes",
    "native-code",
    "ctypes",
    "`{name}` calls native code and reads raw memory",
    INSTEAD.native,
  ),
  _rule("native-code-cffi", "native-code", "cffi", "`{name}` calls native code through cffi", INSTEAD.native),
  _rule(
    "native-code-loader",
    "native-code",
    "native code loaders",
    "`{name}` loads or generates native code",
    INSTEAD.native,
  ),
  // dynamic imports
  _rule(
    "dynamic-import-import",
    "dynamic-import",
    "__import__",
    "`{name}` imports a module named at run time",
    INSTEAD.import,
  ),
  _rule(
    "dynamic-import-importlib",
    "dynamic-import",
    "importlib loaders",
    "`{name}` imports or executes a module named or located at run time",
    INSTEAD.import,
  ),
  _rule(
    "dynamic-import-resolver",
    "dynamic-import",
    "name resolvers",
    "`{name}` resolves a dotted name given as data to an object",
    "refer to the object directly (from x import y) instead of naming it in a string",
  ),
  _rule(
    "dynamic-import-breakpoint",
    "dynamic-import",
    "breakpoint()",
    "`{name}` calls whatever PYTHONBREAKPOINT names",
    "remove debugging hooks from plugin code",
  ),
  _rule(
    "dynamic-import-sys-modules",
    "dynamic-import",
    "sys.modules and import hooks",
    "`{name}` reaches modules or import hooks by a name computed at run time",
    INSTEAD.import,
  ),
  _rule(
    "dynamic-import-loader",
    "dynamic-import",
    "module loaders",
    "`{name}` gives access to the module loader, which can load any module",
    INSTEAD.import,
  ),
  // introspection
  _rule(
    "introspection-builtins",
    "introspection",
    "__builtins__",
    "`{name}` reaches the builtins namespace (eval, exec, __import__)",
    "call the builtin you need by its name",
  ),
  _rule(
    "introspection-dunder",
    "introspection",
    "interpreter internals",
    "`{name}` walks interpreter internals (classes, function or frame globals)",
    INSTEAD.introspection,
  ),
  _rule(
    "introspection-dynamic-lookup",
    "introspection",
    "computed lookups",
    "{name}",
    "access attributes by name in code (module.attribute), not through strings computed at run time",
  ),
  _rule(
    "introspection-namespace-escape",
    "introspection",
    "namespace hand-offs",
    "{name}",
    "pass the specific function you need, not the whole module or namespace",
  ),
  // source
  _rule("source-syntax", "source", "syntax error", "{name}", INSTEAD.source),
  _rule("source-python2", "source", "Python 2 syntax", "{name}", "port the code to Python 3"),
  _rule("source-encoding", "source", "source encoding", "{name}", INSTEAD.source),
  _rule(
    "source-unreadable",
    "source",
    "unreadable file",
    "{name}",
    "make the file readable (or remove it): every .py file of a plugin is checked",
  ),
  _rule(
    "source-null-byte",
    "source",
    "NUL bytes",
    "{name}",
    "remove the NUL bytes (binary data belongs in data files)",
  ),
  _rule(
    "source-indentation",
    "source",
    "inconsistent indentation",
    "{name}",
    "indent with spaces only (4 per level), as `python3 -m tabnanny` expects",
  ),
  _rule(
    "source-invisible-character",
    "source",
    "invisible characters",
    "{name}",
    "remove invisible and control characters from code (they are allowed inside strings and comments only)",
  ),
  _rule(
    "source-too-large",
    "source",
    "file too large",
    "{name}",
    "plugins ship code, not data: move data to a JSON/CSV/NumPy file that the plugin reads at run time",
  ),
  _rule(
    "source-too-deep",
    "source",
    "nesting too deep",
    "{name}",
    "split the expression into smaller statements",
  ),
].map((r) => [r.id, r]));

/** The rule with this id (throws on an unknown id: a programming error). */
export function ruleById(id: string): Rule {
  const rule = RULES[id];
  if (!rule) throw new Error(`unknown scan rule ${id}`);
  return rule;
}

/** The finding message: what the code does (and where, for code inside strings), then what to do instead. */
export function ruleMessage(id: string, name: string, context?: string): string {
  const rule = ruleById(id);
  const problem = rule.problem.replaceAll("{name}", name);
  return `${problem}${context ? ` (${context})` : ""}; ${rule.instead}`;
}

// ---------------------------------------------------------------------------------------------------------
// Name tables. A "path" is the dotted name an object is reached by from an import: `os.system`,
// `builtins.eval`, `subprocess.run`. A path is forbidden when it or one of its prefixes is in FORBIDDEN_PATHS.

const _OS_EXEC = ["execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "_execvpe"];
const _OS_SPAWN = [
  "spawnl",
  "spawnle",
  "spawnlp",
  "spawnlpe",
  "spawnv",
  "spawnve",
  "spawnvp",
  "spawnvpe",
  "posix_spawn",
  "posix_spawnp",
  "fork",
  "forkpty",
  "startfile",
  "_spawnvef",
];

function _entries(rule: string, paths: string[]): [string, string][] {
  return paths.map((p) => [p, rule]);
}

/** Dotted path (or prefix) → rule id. */
export const FORBIDDEN_PATHS: ReadonlyMap<string, string> = new Map<string, string>([
  ..._entries("shell-subprocess", [
    "subprocess",
    "_posixsubprocess",
    "_winapi.CreateProcess",
    "asyncio.subprocess",
  ]),
  ..._entries("shell-os-system", [
    "os.system",
    "os.popen",
    "platform.popen",
    "commands",
    "popen2",
    "pydoc.pager",
    "pydoc.pipepager",
    "pydoc.tempfilepager",
    "builtins.help",
  ]),
  ..._entries("shell-os-exec", _OS_EXEC.map((n) => `os.${n}`)),
  ..._entries("shell-os-spawn", [
    ..._OS_SPAWN.map((n) => `os.${n}`),
    "pty",
    "distutils.spawn",
    "multiprocessing.util.spawnv_passfds",
    "multiprocessing.popen_fork",
    "multiprocessing.popen_forkserver",
    "multiprocessing.popen_spawn_posix",
    "webbrowser",
  ]),
  ..._entries("shell-asyncio-subprocess", [
    "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell",
    "asyncio.base_subprocess",
  ]),
  ..._entries("shell-library", [
    "sh",
    "pexpect",
    "plumbum",
    "sarge",
    "envoy",
    "delegator",
    "invoke",
    "fabric",
    "ptyprocess",
  ]),
  ..._entries("dynamic-code-eval", ["builtins.eval"]),
  ..._entries("dynamic-code-exec", ["builtins.exec", "builtins.execfile"]),
  ..._entries("dynamic-code-compile", ["builtins.compile"]),
  ..._entries("dynamic-code-interpreter", [
    "code",
    "codeop",
    "runpy",
    "pdb",
    "bdb",
    "doctest",
    "cProfile.run",
    "cProfile.runctx",
    "profile.run",
    "profile.runctx",
    "trace.Trace",
    "IPython",
  ]),
  ..._entries("dynamic-code-payload", ["marshal.loads", "marshal.load"]),
  ..._entries("dynamic-code-string", ["logging.config.fileConfig"]),
  ..._entries("network-socket", [
    "socket",
    "_socket",
    "socketserver",
    "SocketServer",
    "ssl.wrap_socket",
    "ssl.SSLSocket",
    "ssl.create_connection",
  ]),
  ..._entries("network-asyncio", [
    "asyncio.open_connection",
    "asyncio.start_server",
    "asyncio.open_unix_connection",
    "asyncio.start_unix_server",
    "asyncio.streams",
  ]),
  ..._entries("network-server", [
    "http.server",
    "xmlrpc.server",
    "SimpleXMLRPCServer",
    "SimpleHTTPServer",
    "BaseHTTPServer",
    "wsgiref.simple_server",
    "multiprocessing.connection",
    "multiprocessing.managers",
    "logging.config.listen",
    "asyncore",
    "asynchat",
    "smtpd",
  ]),
  ..._entries("network-protocol", ["telnetlib", "ftplib", "smtplib", "poplib", "imaplib", "nntplib"]),
  ..._entries("network-library", [
    "paramiko",
    "zmq",
    "twisted.internet",
    "gevent.socket",
    "gevent.server",
    "eventlet.green.socket",
    "scapy",
    "pwn",
    "pwnlib",
  ]),
  ..._entries("native-code-ctypes", ["ctypes", "_ctypes", "numpy.ctypeslib"]),
  ..._entries("native-code-cffi", ["cffi", "_cffi_backend"]),
  ..._entries("native-code-loader", [
    "importlib.machinery.ExtensionFileLoader",
    "imp.load_dynamic",
    "llvmlite",
    "cppyy",
    "_imp.create_dynamic",
  ]),
  ..._entries("dynamic-import-import", [
    "builtins.__import__",
    "importlib.__import__",
    "importlib._bootstrap",
    "importlib._bootstrap_external",
  ]),
  ..._entries("dynamic-import-importlib", [
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
  ]),
  ..._entries("dynamic-import-breakpoint", [
    "builtins.breakpoint",
    "sys.breakpointhook",
    "sys.__breakpointhook__",
  ]),
  ..._entries("dynamic-import-sys-modules", ["sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"]),
  ..._entries("introspection-dunder", [
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "sys._current_frames",
  ]),
]);

/** Rules applied to a call of the path only (referring to it, e.g. in isinstance, is fine). */
export const CALL_ONLY_PATHS: ReadonlyMap<string, string> = new Map([
  ["types.FunctionType", "dynamic-code-function-type"],
  ["types.LambdaType", "dynamic-code-function-type"],
  ["types.CodeType", "dynamic-code-function-type"],
]);

/**
 * Attribute names that are forbidden on any object (their owner is usually not known: an event loop, an SSL
 * context, a module spec's loader, a frame).
 */
export const FORBIDDEN_ATTRIBUTES: ReadonlyMap<string, string> = new Map([
  ["subprocess_exec", "shell-asyncio-subprocess"],
  ["subprocess_shell", "shell-asyncio-subprocess"],
  ["create_subprocess_exec", "shell-asyncio-subprocess"],
  ["create_subprocess_shell", "shell-asyncio-subprocess"],
  ["open_connection", "network-asyncio"],
  ["open_unix_connection", "network-asyncio"],
  ["start_server", "network-asyncio"],
  ["start_unix_server", "network-asyncio"],
  ["create_connection", "network-asyncio"],
  ["create_server", "network-asyncio"],
  ["create_unix_connection", "network-asyncio"],
  ["create_unix_server", "network-asyncio"],
  ["create_datagram_endpoint", "network-asyncio"],
  ["sock_connect", "network-asyncio"],
  ["sock_accept", "network-asyncio"],
  ["connect_accepted_socket", "network-asyncio"],
  ["wrap_socket", "network-socket"],
  ["exec_module", "dynamic-import-importlib"],
  ["load_module", "dynamic-import-importlib"],
  ["__loader__", "dynamic-import-loader"],
  ["__builtins__", "introspection-builtins"],
  ["__subclasses__", "introspection-dunder"],
  ["__globals__", "introspection-dunder"],
  ["f_globals", "introspection-dunder"],
  ["f_locals", "introspection-dunder"],
  ["f_builtins", "introspection-dunder"],
  ["func_globals", "introspection-dunder"],
]);

/** Builtin names whose mere use is a finding (looked up like Python does: not when shadowed). */
export const FORBIDDEN_BUILTINS: ReadonlySet<string> = new Set(
  [...FORBIDDEN_PATHS.keys()].filter((p) => p.startsWith("builtins.")).map((p) =>
    p.slice("builtins.".length)
  ),
);

/** Module-level names Python defines in every module that lead to the loader. */
export const FORBIDDEN_MODULE_GLOBALS: ReadonlyMap<string, string> = new Map([
  ["__loader__", "dynamic-import-loader"],
  ["__builtins__", "introspection-builtins"],
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

/** Dictionary keys whose string value logging.config / hydra resolve to an object. */
export const RESOLVER_KEYS: ReadonlySet<string> = new Set(["()", "class", "_target_"]);

/** The forbidden rule for a dotted path (longest matching prefix), or undefined. */
export function forbiddenRule(path: string): string | undefined {
  let p = path;
  for (;;) {
    const rule = FORBIDDEN_PATHS.get(p);
    if (rule !== undefined) return rule;
    const dot = p.lastIndexOf(".");
    if (dot < 0) return undefined;
    p = p.slice(0, dot);
  }
}

/** The canonical form of a dotted path: module aliases resolved (`posix.system` → `os.system`). */
export function canonicalPath(path: string): string {
  const dot = path.indexOf(".");
  const head = dot < 0 ? path : path.slice(0, dot);
  const alias = MODULE_ALIASES.get(head);
  return alias === undefined ? path : alias + (dot < 0 ? "" : path.slice(dot));
}
