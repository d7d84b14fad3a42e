"""Dumps what the standard library's modules re-export, for scripts/gen_stdlib_data.ts.

For every importable standard-library module (sys.stdlib_module_names and their submodules, except tests,
IDLE, demos and `__main__` modules): the attributes whose value is a module (`shutil.os` is `os`) and the
functions and classes defined elsewhere (`ssl.socket` is `socket.socket`). Importing runs under an audit hook
that stops any process start, socket use or thread start, and with stdin/stdout/stderr redirected, so an
import with side effects cannot reach out. Prints one JSON document on stdout.
"""
import contextlib
import importlib
import io
import json
import os
import pkgutil
import sys
import types
import _thread

BLOCKED = ("subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
           "pty.", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "webbrowser.",
           "os.startfile", "os.kill", "os.killpg")


class _Blocked(BaseException):
    pass


def _hook(event, args):
    if event.startswith(BLOCKED):
        raise _Blocked(event)


def _no_threads(*args, **kwargs):
    raise _Blocked("_thread.start_new_thread")


SKIP_TOP = {"antigravity", "this", "idlelib", "turtledemo", "test", "__main__", "tkinter", "turtle",
            "__phello__", "_xxtestfuzz", "xxlimited", "xxlimited_35", "_testcapi", "_testinternalcapi",
            "_testbuffer", "_testimportmultiple", "_testmultiphase", "_ctypes_test", "_xxsubinterpreters"}
SKIP_PARTS = {"test", "tests", "idle_test", "__main__", "_test"}


def _names():
    out = set()
    for top in sorted(sys.stdlib_module_names):
        if top in SKIP_TOP:
            continue
        out.add(top)
        try:
            with _quiet():
                mod = importlib.import_module(top)
        except BaseException:
            continue
        path = getattr(mod, "__path__", None)
        if not path:
            continue
        for info in pkgutil.walk_packages(path, top + ".", onerror=lambda name: None):
            if SKIP_PARTS.intersection(info.name.split(".")):
                continue
            out.add(info.name)
    return sorted(out)


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def main():
    sys.addaudithook(_hook)
    _thread.start_new_thread = _no_threads
    sys.stdin = io.StringIO()
    modules = {}
    reexports = {}
    imported = []
    for name in _names():
        try:
            with _quiet():
                mod = importlib.import_module(name)
        except BaseException:
            continue
        imported.append(name)
        attrs = {}
        others = {}
        for attr, value in sorted(vars(mod).items()):
            if attr.startswith("__") and attr.endswith("__"):
                continue
            if isinstance(value, types.ModuleType):
                if value.__name__ != f"{name}.{attr}":
                    attrs[attr] = value.__name__
            elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
                owner = getattr(value, "__module__", None)
                qual = getattr(value, "__qualname__", None)
                if isinstance(owner, str) and isinstance(qual, str) and "<" not in qual:
                    where = f"{owner}.{qual}"
                    if where != f"{name}.{attr}":
                        others[attr] = where
        if attrs:
            modules[name] = attrs
        if others:
            reexports[name] = others
    json.dump({
        "python": "%d.%d" % sys.version_info[:2],
        "modules": imported,
        "module_attributes": modules,
        "reexports": reexports,
    }, sys.__stdout__, sort_keys=True)


main()
