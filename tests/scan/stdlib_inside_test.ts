/**
 * The reviewed lists of standard-library APIs that start a process, open a socket or start threads inside
 * (lib/scan/rules/shell.ts, network.ts, concurrency.ts): a test per entry. Each entry's trigger runs in the
 * real CPython under an audit hook that stops at the process start, socket use or thread start
 * (tests/fixtures/scan/stdlib_trigger.py), which proves the entry does what the list says; and the scan
 * flags the same trigger with the entry's rule.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { ROOT } from "../helpers/cli.ts";
import { scanSource } from "../../lib/scan/scan.ts";
import { forbiddenRule } from "../../lib/scan/rules/registry.ts";
import { canonicalPath } from "../../lib/scan/semantic/python_names.ts";
import { STDLIB_PROCESS_APIS } from "../../lib/scan/rules/shell.ts";
import { STDLIB_SOCKET_APIS } from "../../lib/scan/rules/network.ts";
import { STDLIB_PROCESS_POOL_APIS, STDLIB_THREAD_APIS } from "../../lib/scan/rules/concurrency.ts";

const TRIGGER = `${ROOT}/tests/fixtures/scan/stdlib_trigger.py`;

/** Makes pydoc believe it writes to a terminal, with `cat` as the pager. */
const TTY = "import io, os, sys\n" +
  "class _Tty(io.StringIO):\n    def isatty(self):\n        return True\n" +
  "sys.stdin = _Tty()\nsys.stdout = _Tty()\nos.environ['PAGER'] = 'cat'\n";

interface Trigger {
  code: string;
  /** What CPython starts first. */
  starts: "process" | "socket" | "thread";
  env?: Record<string, string>;
}

const TRIGGERS: Record<string, Trigger> = {
  "webbrowser": {
    code: "import webbrowser\nwebbrowser.open('http://127.0.0.1:9/')\n",
    starts: "process",
    env: { BROWSER: "true" },
  },
  "pydoc.pager": { code: TTY + "import pydoc\npydoc.pager('text')\n", starts: "process" },
  "pydoc.getpager": { code: TTY + "import pydoc\npydoc.getpager()('text')\n", starts: "process" },
  "pydoc.pipepager": { code: "import pydoc\npydoc.pipepager('text', 'cat')\n", starts: "process" },
  "pydoc.tempfilepager": { code: "import pydoc\npydoc.tempfilepager('text', 'cat')\n", starts: "process" },
  "pydoc.doc": { code: TTY + "import pydoc\npydoc.doc(len)\n", starts: "process" },
  "pydoc.help": { code: TTY + "import pydoc\npydoc.help(len)\n", starts: "process" },
  "pydoc.Helper": { code: TTY + "import pydoc\npydoc.Helper()(len)\n", starts: "process" },
  "pydoc.browse": { code: "import pydoc\npydoc.browse(port=0, open_browser=False)\n", starts: "thread" },
  "pydoc.cli": { code: TTY + "import pydoc\nsys.argv = ['pydoc', 'len']\npydoc.cli()\n", starts: "process" },
  "builtins.help": { code: TTY + "import site\nsite.sethelper()\nhelp(len)\n", starts: "process" },
  "imaplib.IMAP4_stream": { code: "import imaplib\nimaplib.IMAP4_stream('true')\n", starts: "process" },
  "pipes": {
    code: "import pipes, tempfile\nt = pipes.Template()\nt.append('cat', '--')\n" +
      "t.open(tempfile.mktemp(), 'w')\n",
    starts: "process",
  },
  "platform.architecture": { code: "import platform\nplatform.architecture('/bin/sh')\n", starts: "process" },
  "platform.processor": { code: "import platform\nplatform.processor()\n", starts: "process" },
  "platform.platform": { code: "import platform\nplatform.platform()\n", starts: "process" },
  "platform._syscmd_file": {
    code: "import platform\nplatform._syscmd_file('/bin/sh', '')\n",
    starts: "process",
  },
  "ensurepip": {
    code: "import ensurepip, tempfile\nensurepip.bootstrap(root=tempfile.mkdtemp())\n",
    starts: "process",
  },
  "venv": {
    code: "import tempfile, venv\nvenv.create(tempfile.mkdtemp() + '/env', with_pip=True)\n",
    starts: "process",
  },
  "_bootsubprocess": {
    code: "import _bootsubprocess\n_bootsubprocess.check_output(['true'])\n",
    starts: "process",
  },
  "_osx_support": { code: "import _osx_support\n_osx_support._read_output('true')\n", starts: "process" },
  "_aix_support": { code: "import _aix_support\n_aix_support._aix_bos_rte()\n", starts: "process" },
  "logging.handlers.SocketHandler": {
    code: "import logging, logging.handlers\n" +
      "logging.handlers.SocketHandler('127.0.0.1', 9).emit(logging.makeLogRecord({}))\n",
    starts: "socket",
  },
  "logging.handlers.DatagramHandler": {
    code: "import logging, logging.handlers\n" +
      "logging.handlers.DatagramHandler('127.0.0.1', 9).emit(logging.makeLogRecord({}))\n",
    starts: "socket",
  },
  "logging.handlers.SysLogHandler": {
    code: "import logging, logging.handlers\n" +
      "logging.handlers.SysLogHandler(address=('127.0.0.1', 9)).emit(logging.makeLogRecord({}))\n",
    starts: "socket",
  },
  "logging.config.listen": {
    code: "import logging.config\nlogging.config.listen(0).start()\n",
    starts: "thread",
  },
  "ssl.get_server_certificate": {
    code: "import ssl\nssl.get_server_certificate(('127.0.0.1', 9))\n",
    starts: "socket",
  },
  "concurrent.futures.thread": {
    code: "import concurrent.futures.thread as t\nt.ThreadPoolExecutor(1).submit(print, 1)\n",
    starts: "thread",
  },
  "concurrent.futures.ThreadPoolExecutor": {
    code: "from concurrent.futures import ThreadPoolExecutor\nThreadPoolExecutor(1).submit(print, 1)\n",
    starts: "thread",
  },
  "asyncio.to_thread": {
    code: "import asyncio\nasyncio.run(asyncio.to_thread(print, 1))\n",
    starts: "thread",
  },
  "logging.handlers.QueueListener": {
    code: "import logging.handlers, queue\nlogging.handlers.QueueListener(queue.Queue()).start()\n",
    starts: "thread",
  },
  "concurrent.futures.process": {
    code: "import concurrent.futures.process as p\np.ProcessPoolExecutor(1).submit(print, 1)\n",
    starts: "process",
  },
  "concurrent.futures.ProcessPoolExecutor": {
    code: "from concurrent.futures import ProcessPoolExecutor\nProcessPoolExecutor(1).submit(print, 1)\n",
    starts: "process",
  },
};

const REVIEWED = [
  ...STDLIB_PROCESS_APIS,
  ...STDLIB_SOCKET_APIS,
  ...STDLIB_THREAD_APIS,
  ...STDLIB_PROCESS_POOL_APIS,
];

async function _cpython(trigger: Trigger): Promise<string> {
  const out = await new Deno.Command("python3", {
    args: ["-S", TRIGGER, trigger.code],
    env: { ...trigger.env, PYTHONDONTWRITEBYTECODE: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return out.success
    ? JSON.parse(d.decode(out.stdout).trim().split("\n").pop()!)
    : `exit ${out.code}: ${d.decode(out.stderr)}`;
}

Deno.test("every reviewed entry has a trigger here, and every trigger is a reviewed entry", () => {
  assertEquals([...REVIEWED].sort(), Object.keys(TRIGGERS).sort());
});

for (const path of REVIEWED) {
  Deno.test(`${path}: CPython starts a ${TRIGGERS[path]?.starts} inside it, and the scan flags it`, async () => {
    const trigger = TRIGGERS[path];
    assert(trigger, `no trigger for ${path}`);
    assertEquals(await _cpython(trigger), trigger.starts, trigger.code);
    const rule = forbiddenRule(canonicalPath(path));
    assert(rule, `${path} has no rule`);
    const findings = await scanSource("trigger.py", new TextEncoder().encode(trigger.code));
    assert(
      findings.some((f) => f.rule_id === rule && f.severity === "error"),
      `${path}: no ${rule} finding in ${JSON.stringify(findings.map((f) => f.rule_id))}`,
    );
  });
}
