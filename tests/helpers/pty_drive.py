"""Drive a program through a pseudo-terminal, as a person typing at its prompts would.

usage: python3 pty_drive.py SCRIPT.json -- COMMAND ARGS...
SCRIPT.json is a list of [expect_regex, keys] pairs: wait until the screen output (ANSI codes stripped)
matches expect_regex after the previous match, then type keys ("\r" is Enter, "\x1b[B" is arrow down).
Prints a JSON object {"exit_code", "output", "raw"} on stdout ("raw": the bytes as written, escapes and all). Fails (exit 3) if an expectation is not met in time.
"""

import json
import os
import pty
import re
import select
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def main() -> int:
    script_path = sys.argv[1]
    command = sys.argv[sys.argv.index("--") + 1:]
    with open(script_path, encoding="utf-8") as handle:
        script = json.load(handle)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    raw = b""
    seen = 0
    deadline_per_step = 20.0

    def read_some(timeout: float) -> bool:
        nonlocal raw
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        raw += chunk
        return True

    for expect, keys in script:
        pattern = re.compile(expect)
        deadline = time.monotonic() + deadline_per_step
        while True:
            text = ANSI.sub("", raw.decode("utf-8", "replace"))
            match = pattern.search(text, seen)
            if match:
                seen = match.end()
                break
            if time.monotonic() > deadline or not read_some(0.2):
                print(json.dumps({"exit_code": None, "output": text, "missing": expect}))
                os.kill(pid, 9)
                return 3
        time.sleep(0.15)  # let the prompt finish drawing before typing
        for key in keys if isinstance(keys, list) else [keys]:
            os.write(fd, key.encode("utf-8"))
            time.sleep(0.1)
    # Read until the child closes the terminal (EOF or EIO), then reap it.
    deadline = time.monotonic() + 30
    while read_some(0.5) and time.monotonic() < deadline:
        pass
    _, status = os.waitpid(pid, 0)
    text = ANSI.sub("", raw.decode("utf-8", "replace"))
    raw_text = raw.decode("utf-8", "replace")
    print(json.dumps({"exit_code": os.waitstatus_to_exitcode(status), "output": text, "raw": raw_text}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
