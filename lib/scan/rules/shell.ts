/**
 * Category `shell`: starting processes or shell commands (subprocess, os.system, os.popen, os.exec*,
 * os.spawn*, os.posix_spawn*, pty, commands, popen2, asyncio subprocesses, process libraries) and the
 * standard library APIs that start a process inside (the reviewed list of `shell-stdlib-process`, each
 * entry proven by tests/scan/stdlib_inside_test.ts against the real CPython).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_SHELL =
  "plugins cannot start processes: do the work in Python (pathlib, shutil, a library call), or run a model through the platform's inference services";

const OS_EXEC = ["execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "_execvpe"];
const OS_SPAWN = [
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
  "startfile",
  "_spawnvef",
];

/**
 * Standard library APIs that start a process inside (reviewed against CPython 3.11's sources; the test
 * triggers each under an audit hook that stops at the process start). Reviewed and left out: uuid.getnode
 * and uuid1 (they run `ip`/`ifconfig` only when the _uuid C module is missing), mailcap (finds commands but
 * never runs them outside its test()), platform.system/uname (only `.processor` runs `uname -p`).
 */
export const STDLIB_PROCESS_APIS: readonly string[] = [
  "webbrowser", // every browser controller runs the browser with subprocess.Popen
  "pydoc.pager", // getpager() picks `less`/`more`/$PAGER through os.system and os.popen in a terminal
  "pydoc.getpager",
  "pydoc.pipepager",
  "pydoc.tempfilepager",
  "pydoc.doc", // pages its output through pager()
  "pydoc.help",
  "pydoc.Helper",
  "pydoc.browse", // starts a server and a browser
  "pydoc.cli",
  "builtins.help", // pydoc.help
  "imaplib.IMAP4_stream", // runs the given command with subprocess.Popen
  "pipes", // pipes.Template runs its pipeline with os.popen / os.system
  "platform.architecture", // runs `file -b` on the executable
  "platform.processor", // runs `uname -p` on Linux
  "platform.platform", // reads uname().processor
  "platform._syscmd_file",
  "ensurepip", // runs pip in a subprocess
  "venv", // EnvBuilder runs ensurepip in a subprocess
  "_bootsubprocess",
  "_osx_support",
  "_aix_support",
];

export const SHELL_RULES: RuleEntry[] = [
  rule("shell-subprocess", "shell", "subprocess", "`{name}` starts a process", INSTEAD_SHELL, {
    paths: ["subprocess", "_posixsubprocess", "_winapi.CreateProcess", "asyncio.subprocess"],
  }),
  rule("shell-os-system", "shell", "os.system / os.popen", "`{name}` runs a shell command", INSTEAD_SHELL, {
    paths: ["os.system", "os.popen", "platform.popen", "commands", "popen2"],
  }),
  rule(
    "shell-os-exec",
    "shell",
    "os.exec*",
    "`{name}` replaces the process with another program",
    INSTEAD_SHELL,
    {
      paths: OS_EXEC.map((n) => `os.${n}`),
    },
  ),
  rule(
    "shell-os-spawn",
    "shell",
    "os.spawn*, os.posix_spawn*, pty",
    "`{name}` starts a process",
    INSTEAD_SHELL,
    {
      paths: [
        ...OS_SPAWN.map((n) => `os.${n}`),
        "pty",
        "distutils.spawn",
        "multiprocessing.util.spawnv_passfds",
        "multiprocessing.popen_fork",
        "multiprocessing.popen_forkserver",
        "multiprocessing.popen_spawn_posix",
      ],
    },
  ),
  rule(
    "shell-asyncio-subprocess",
    "shell",
    "asyncio subprocesses",
    "`{name}` starts a process from asyncio",
    INSTEAD_SHELL,
    {
      paths: [
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.base_subprocess",
      ],
      attributes: [
        "subprocess_exec",
        "subprocess_shell",
        "create_subprocess_exec",
        "create_subprocess_shell",
      ],
    },
  ),
  rule(
    "shell-stdlib-process",
    "shell",
    "standard library APIs that start processes",
    "`{name}` starts a process inside the standard library",
    INSTEAD_SHELL,
    { paths: STDLIB_PROCESS_APIS },
  ),
  rule(
    "shell-library",
    "shell",
    "process libraries",
    "`{name}` is a library that starts processes",
    INSTEAD_SHELL,
    {
      paths: ["sh", "pexpect", "plumbum", "sarge", "envoy", "delegator", "invoke", "fabric", "ptyprocess"],
    },
  ),
];
