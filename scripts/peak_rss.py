"""Run a command and report its peak resident memory, two ways.

usage: python3 peak_rss.py STDOUT_FILE STDERR_FILE -- COMMAND ARGS...
Prints one JSON line: {"exit_code", "vmhwm_kib", "maxrss_kib"}. `vmhwm_kib` is the largest VmHWM read from
/proc/PID/status while the command runs (polled every 2 ms: it may miss a last spike before exit);
`maxrss_kib` is the kernel's own figure, from wait4's rusage, exact. The command's output goes to the files.
"""

import json
import os
import sys
import time


def main() -> int:
    out_path, err_path = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1:]
    pid = os.fork()
    if pid == 0:
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.execvp(command[0], command)
    hwm = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            break
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.002)
    print(json.dumps({
        "exit_code": os.waitstatus_to_exitcode(status),
        "vmhwm_kib": hwm,
        "maxrss_kib": usage.ru_maxrss,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
