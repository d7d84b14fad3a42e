"""mixpeek local's deployment worker: hosts one plugin's realtime service, as a Ray Serve replica does.

The registry (lib/local/workers/) embeds this file (lib/embedded/worker.ts) and runs it as

    python -B serve_worker.py '<config json>'

in the deployment's private folder, with the plugin's validated archive extracted there, the local platform
runtime (engine.*, shared.*, mixpeek_local) on PYTHONPATH, and an environment without the API key or cloud
credentials (lib/plugin/runtime.ts childEnv). Config: {"root": the plugin folder, "package": its package
name, "route": "/inference/custom_plugin_{plugin_id}", "host": "127.0.0.1"}.

The plugin is imported the way the platform imports it (and `plugin test` does): as the package named after
its folder, then `<package>.realtime`; its service is the first class mixpeek_local.services.
find_service_classes finds, built once with no arguments, and every request is
mixpeek_local.services.invoke_service on this process's one event loop, so concurrent requests interleave
as they do on a replica (a service that blocks the loop blocks them all, as it would there).

Protocol with the registry: JSON lines on the original stdout. Before any plugin code runs, file descriptor
1 is pointed at stderr, so whatever the plugin prints goes to the registry's log and cannot corrupt this:
    {"event": "ready", "port", "service", "entry_point", "max_ongoing_requests", "python", "pid"}
    {"event": "failed", "stage", "error"}   (then exit 3)
stdin stays open and is never read by the plugin: at EOF (the registry stopped the worker, or died, even by
kill -9) the worker exits at once, so it never outlives the registry.

HTTP/1.1 with keep-alive on 127.0.0.1 only (the port is picked by the system):
    GET  /healthz  → 200 {"ok": true}
    POST <route>   body {"inputs": {...}, "parameters": {...}}, header X-Timeout-Ms (default 30000)
                   → 200 the service's answer as JSON, with X-Response-Type (its Python type name)
                   → 500 {"error", "error_type", "where", "traceback"}  the service raised (or its answer is
                         not JSON)
                   → 504 {"error"}  no answer within X-Timeout-Ms: the call was cancelled
                   → 400 {"error"}  the body is not {"inputs": object, "parameters": object}
Standard library only; Python 3.8+.
"""

import asyncio
import importlib
import importlib.util
import json
import math
import os
import platform
import sys
import threading
import traceback

MAX_BODY = 64 * 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
           413: "Payload Too Large", 500: "Internal Server Error", 504: "Gateway Timeout"}
TRACEBACK_FRAMES = 6


class Expired(Exception):
    """The call's limit passed (and the call was cancelled)."""


class StartFailure(Exception):
    def __init__(self, stage, error):
        super().__init__(error)
        self.stage = stage
        self.error = error


def open_channel():
    """The protocol channel: a private copy of stdout; fd 1 itself then points at stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    return channel


def emit(channel, event):
    channel.write(json.dumps(event) + "\n")
    channel.flush()


def watch_parent():
    """Exits the moment stdin reaches EOF: the registry closed it (stop) or is gone (crash, kill -9)."""
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    sys.stderr.flush()
    os._exit(0)


def _inside(frame, root):
    return os.path.realpath(frame.filename).startswith(root + os.sep)


def _name(frame, root):
    if not _inside(frame, root):
        return frame.filename
    return os.path.relpath(os.path.realpath(frame.filename), root).replace(os.sep, "/")


def where(exc, root):
    """`file, line N, in fn` of the deepest traceback frame inside the plugin folder (or the deepest one)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    inside = [f for f in frames if _inside(f, root)]
    frame = (inside or frames)[-1]
    return "%s, line %d, in %s" % (_name(frame, root), frame.lineno, frame.name)


def describe(exc):
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def traceback_tail(exc, root):
    """The traceback's plugin frames (paths relative to the plugin folder; the platform's are left out),
    the last few, then the exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    shown = [f for f in frames if _inside(f, root)] or frames[-2:]
    lines = ["Traceback (most recent call last; the plugin's frames):"]
    for frame in shown[-TRACEBACK_FRAMES:]:
        lines.append('  File "%s", line %d, in %s' % (_name(frame, root), frame.lineno, frame.name))
        if frame.line:
            lines.append("    " + frame.line.strip())
    lines.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return "\n".join(lines)


def plain(value):
    """numpy / pandas values as plain JSON values (lists, ints, floats; NaN and NaT as null)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and type(value).__module__.split(".")[0] == "numpy":
        return plain(tolist())
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError("the answer holds a %s.%s, which is not JSON" % (type(value).__module__, type(value).__name__))


class Worker:
    def __init__(self, config):
        self.root = os.path.realpath(config["root"])
        self.package = config["package"]
        self.route = config["route"]
        self.host = config.get("host", "127.0.0.1")
        self.service = None
        self.invoke = None

    # -- start-up ---------------------------------------------------------------------------------------

    def load(self):
        """Imports the plugin package and its realtime module, and builds the service (or StartFailure)."""
        name = self.package
        stdlib = getattr(sys, "stdlib_module_names", ())
        try:
            installed = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            installed = None
        if name in sys.modules or name in stdlib or name in ("engine", "shared", "mixpeek_local") or installed:
            raise StartFailure("importing the plugin", "the folder name %r is also the name of a module Python "
                               "already has, so the platform could not import the plugin as %r: rename it"
                               % (name, name))
        try:
            from mixpeek_local.services import find_service_classes, invoke_service
        except ImportError as exc:
            raise StartFailure("importing the platform runtime", "the local platform runtime is not importable "
                               "(%s); PYTHONPATH must hold it" % describe(exc))
        self.invoke = invoke_service
        stage = "importing __init__.py"
        try:
            spec = importlib.util.spec_from_file_location(
                name, os.path.join(self.root, "__init__.py"), submodule_search_locations=[self.root])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            stage = "importing realtime.py"
            realtime = importlib.import_module(name + ".realtime")
        except BaseException as exc:  # noqa: B902 -- plugin code may raise anything, SystemExit included
            raise StartFailure(stage, self.failure(stage, exc))
        classes = find_service_classes(realtime)
        if not classes:
            raise StartFailure("finding the service", "realtime.py defines no realtime service: no subclass of "
                               "BaseInferenceService (from shared.plugins.inference.serve)")
        cls = classes[0]
        entry_points = cls.implemented_entry_points()
        if not entry_points:
            raise StartFailure("finding the service", "%s implements none of run_inference, __call__ or "
                               "_process_single(self, inputs, parameters)" % cls.__name__)
        stage = "building %s()" % cls.__name__
        try:
            self.service = cls()
        except BaseException as exc:  # noqa: B902
            raise StartFailure(stage, self.failure(stage, exc))
        config = getattr(cls, "serve_config", None)
        limit = getattr(config, "max_ongoing_requests", 32)
        return {
            "service": cls.__name__,
            "entry_point": entry_points[0],
            "max_ongoing_requests": limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
            else 32,
        }

    def failure(self, stage, exc):
        at = where(exc, self.root)
        return "%s raised %s%s\n%s" % (stage, describe(exc), " (%s)" % at if at else "", traceback_tail(exc, self.root))

    # -- requests ---------------------------------------------------------------------------------------

    async def call(self, body, timeout_ms):
        try:
            request = json.loads(body.decode("utf-8")) if body else {}
        except ValueError as exc:
            return 400, {"error": "the body is not JSON: %s" % exc}, None
        inputs = request.get("inputs", {}) if isinstance(request, dict) else None
        parameters = request.get("parameters", {}) if isinstance(request, dict) else None
        if not isinstance(inputs, dict) or not isinstance(parameters, dict):
            return 400, {"error": "the body must be {\"inputs\": {...}, \"parameters\": {...}}"}, None
        try:
            answer = await self.limited(self.invoke(self.service, inputs, parameters), timeout_ms / 1000.0)
            return 200, answer, type(answer).__name__
        except Expired:
            return 504, {"error": "no answer within %d ms" % timeout_ms}, None
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: B902 -- the service may raise anything, SystemExit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            return 500, {
                "error": describe(exc),
                "error_type": type(exc).__name__,
                "where": where(exc, self.root),
                "traceback": traceback_tail(exc, self.root),
            }, None

    @staticmethod
    async def limited(call, seconds):
        """`await call`, cancelled after `seconds` (then Expired): in this task where asyncio.timeout exists
        (3.11+), else in a task of its own (wait_for). A TimeoutError the service raises itself (a request of
        its own that timed out) stays the service's error."""
        if hasattr(asyncio, "timeout"):
            limit = asyncio.timeout(seconds)
            try:
                async with limit:
                    return await call
            except TimeoutError:
                if limit.expired():
                    raise Expired()
                raise
        task = asyncio.ensure_future(call)
        done, _ = await asyncio.wait([task], timeout=seconds)
        if not done:
            task.cancel()
            raise Expired()
        return task.result()

    async def handle(self, reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():
                        await self.respond(writer, 400, {"error": "incomplete request head"}, close=True)
                    break
                except asyncio.LimitOverrunError:
                    await self.respond(writer, 400, {"error": "the request head is too long"}, close=True)
                    break
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split()
                headers = {}
                for header in lines[1:]:
                    key, _, value = header.partition(":")
                    if key:
                        headers[key.strip().lower()] = value.strip()
                if len(parts) != 3:
                    await self.respond(writer, 400, {"error": "bad request line"}, close=True)
                    break
                method, target, _ = parts
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    await self.respond(writer, 411, {"error": "send a Content-Length"}, close=True)
                    break
                length = int(headers.get("content-length", "0") or "0")
                if length > MAX_BODY:
                    await self.respond(writer, 413, {"error": "the body is over %d bytes" % MAX_BODY}, close=True)
                    break
                body = await reader.readexactly(length) if length else b""
                path = target.split("?", 1)[0]
                if path == "/healthz":
                    status, payload, kind = 200, {"ok": True}, None
                elif path != self.route:
                    status, payload, kind = 404, {"error": "no such route: %s (this worker serves %s)"
                                                  % (path, self.route)}, None
                elif method != "POST":
                    status, payload, kind = 405, {"error": "POST only"}, None
                else:
                    try:
                        timeout_ms = max(1, int(headers.get("x-timeout-ms", "30000")))
                    except ValueError:
                        timeout_ms = 30000
                    status, payload, kind = await self.call(body, timeout_ms)
                close = headers.get("connection", "").lower() == "close"
                await self.respond(writer, status, payload, kind, close)
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def respond(self, writer, status, payload, kind=None, close=False):
        try:
            try:
                data = json.dumps(payload, allow_nan=False).encode("utf-8")  # plain lists and floats: fast
            except (TypeError, ValueError):
                data = json.dumps(plain(payload), allow_nan=False).encode("utf-8")  # numpy, NaN, dates
        except (TypeError, ValueError) as exc:
            status, kind = 500, None
            data = json.dumps({"error": describe(exc), "error_type": type(exc).__name__, "where": None,
                               "traceback": ""}).encode("utf-8")
        head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Error")), "Content-Type: application/json",
                "Content-Length: %d" % len(data)]
        if kind:
            head.append("X-Response-Type: %s" % kind)
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()

    async def serve(self, channel):
        try:
            facts = self.load()
        except StartFailure as failure:
            emit(channel, {"event": "failed", "stage": failure.stage, "error": failure.error})
            sys.stderr.flush()
            os._exit(3)
        server = await asyncio.start_server(self.handle, self.host, 0)
        port = server.sockets[0].getsockname()[1]
        emit(channel, dict(facts, event="ready", port=port, python=platform.python_version(), pid=os.getpid()))
        async with server:
            await server.serve_forever()


def main():
    channel = open_channel()
    config = json.loads(sys.argv[1])
    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()
    # The plugin is imported as a package: its folder must not make its modules importable by bare name,
    # and neither may this script's folder.
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) not in (
        here, os.path.realpath(config["root"]))]
    asyncio.run(Worker(config).serve(channel))


main()
