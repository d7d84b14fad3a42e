/**
 * Category `shell`: starting processes or shell commands (subprocess, os.system, os.popen, os.exec*,
 * os.spawn*, os.posix_spawn*, pty, asyncio subprocesses, and the libraries and stdlib APIs that start
 * processes inside).
 *
 * @module
 */
import { rule, type RuleEntry } from "./rule.ts";

export const INSTEAD_SHELL =
  "plugins cannot start processes: do the work in Python (pathlib, shutil, a library call)";

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
  "fork",
  "forkpty",
  "startfile",
  "_spawnvef",
];

export const SHELL_RULES: RuleEntry[] = [
  rule("shell-subprocess", "shell", "subprocess", "`{name}` starts a process", INSTEAD_SHELL, {
    paths: ["subprocess", "_posixsubprocess", "_winapi.CreateProcess", "asyncio.subprocess"],
  }),
  rule("shell-os-system", "shell", "os.system / os.popen", "`{name}` runs a shell command", INSTEAD_SHELL, {
    paths: [
      "os.system",
      "os.popen",
      "platform.popen",
      "commands",
      "popen2",
      "pydoc.pager",
      "pydoc.pipepager",
      "pydoc.tempfilepager",
      "builtins.help",
    ],
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
  rule("shell-os-spawn", "shell", "os.spawn*, os.fork, pty", "`{name}` starts a process", INSTEAD_SHELL, {
    paths: [
      ...OS_SPAWN.map((n) => `os.${n}`),
      "pty",
      "distutils.spawn",
      "multiprocessing.util.spawnv_passfds",
      "multiprocessing.popen_fork",
      "multiprocessing.popen_forkserver",
      "multiprocessing.popen_spawn_posix",
      "webbrowser",
    ],
  }),
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
