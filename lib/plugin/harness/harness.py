"""The `mixpeek plugin test` harness: checks a plugin against the Mixpeek plugin contract, in the author's Python.

The CLI embeds this file (lib/embedded/harness.ts) and runs it as `python -B -c <loader> <config json>`, the
loader reading this source from stdin, with the plugin folder as the working directory. The plugin folder goes first on sys.path, so its modules
are imported by their top-level names (manifest, pipeline, processors.core, realtime) as Mixpeek does.

Results are JSON lines on the original stdout (the protocol channel). Before any plugin code runs, file
descriptor 1 is pointed at stderr, so whatever the plugin prints (even from C code) cannot corrupt the
protocol. Events, in order:
  {"event": "hello", "python", "executable", "pydantic": bool, "pytest": bool}
  {"event": "pydantic", "version"}
  {"event": "start", "check"}  ...  {"event": "result", "check", "status", "reason", "details", "duration_ms"}
  {"event": "done"}
On SIGTERM (the CLI's timeout) it reports {"event": "timeout", "check", "stage", "file", "line"}, naming
the plugin line that was running, and exits at once.

Standard library only; runs on Python 3.8+, with pydantic 2 or pydantic 1 (chosen by the installed version).
"""

import ast
import csv
import faulthandler
import importlib
import importlib.util
import inspect
import io
import json
import os
import platform
import re
import signal
import sys
import time
import traceback
from enum import Enum

CATEGORIES = ("text", "image", "video", "audio", "document", "multimodal")
RESOURCES = ("cpu", "gpu", "api")
REQUIRED_KEYS = ("name", "version", "description", "author", "category", "resource_type")
NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$"
)
MAX_MESSAGE = 2000
MISSING = object()


class Harness:
    """One run: the protocol channel, the plugin root, what is running now, and what earlier checks found."""

    def __init__(self, channel, config):
        self.channel = channel
        self.root = os.path.realpath(config["root"])
        self.sample_path = config.get("sample_data")
        self.sample_name = config.get("sample_data_name") or self.sample_path
        self.max_failures = int(config.get("max_record_failures", 20))
        self.checks = config.get("checks")
        self.check = None
        self.stage = "starting"
        self.pydantic = None
        self.manifest_failed = False
        self.schemas = None  # (InputSchema, OutputSchema) when the schemas check passed
        self.steps = None  # the validated build_steps() result when the pipeline check passed
        self._bindings = {}

    # -- protocol ---------------------------------------------------------------------------------------

    def emit(self, event):
        self.channel.write(json.dumps(event, default=str) + "\n")
        self.channel.flush()

    def set_stage(self, stage, file=None, announce=True):
        """What runs now (and in which file): told to the CLI, so a crash can be placed, and kept for the
        SIGTERM report."""
        self.stage = stage
        if announce:
            self.emit(drop_none({"event": "stage", "check": self.check, "stage": stage, "file": file}))

    def on_sigterm(self, _signum, frame):
        """The CLI's timeout: say which check, stage and plugin line were running, then leave at once."""
        file, line = None, None
        for entry in traceback.extract_stack(frame):
            rel = self.rel(entry.filename)
            if rel is not None:
                file, line = rel, entry.lineno
        try:
            self.emit({"event": "timeout", "check": self.check, "stage": self.stage, "file": file, "line": line})
        finally:
            os._exit(124)

    # -- locations --------------------------------------------------------------------------------------

    def rel(self, path):
        """`path` relative to the plugin root ('/'-separated) when it is plugin code, else None."""
        if not path or path.startswith("<"):
            return None
        real = os.path.realpath(path)
        if not real.startswith(self.root + os.sep):
            return None
        parts = os.path.relpath(real, self.root).split(os.sep)
        if parts[0] in (".venv", "venv", "env") or "site-packages" in parts:
            return None
        return "/".join(parts)

    def where(self, exc):
        """The plugin file and line an exception comes from: the innermost plugin frame of its traceback,
        or for a SyntaxError in plugin code the offending line itself."""
        if isinstance(exc, SyntaxError) and exc.filename:
            rel = self.rel(exc.filename)
            if rel is not None:
                return rel, exc.lineno
        found = (None, None)
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            rel = self.rel(frame.f_code.co_filename)
            if rel is not None:
                found = (rel, lineno)
        return found

    def bindings(self, rel):
        """Module-level names of a plugin file -> line of their last binding; and the line of each literal
        key of a module-level `metadata = {...}` (for messages that point at the offending line)."""
        if rel in self._bindings:
            return self._bindings[rel]
        names, keys = {}, {}
        try:
            with open(os.path.join(self.root, rel), "rb") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = node.lineno
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names[(alias.asname or alias.name).split(".")[0]] = node.lineno
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        names[target.id] = node.lineno
                        if target.id == "metadata" and isinstance(node.value, ast.Dict):
                            keys = {
                                k.value: k.lineno
                                for k in node.value.keys
                                if isinstance(k, ast.Constant) and isinstance(k.value, str)
                            }
        self._bindings[rel] = (names, keys)
        return names, keys

    def definition(self, obj):
        """(file, line) where a class or function is defined, when that is plugin code."""
        try:
            target = inspect.unwrap(obj) if callable(obj) else obj
            rel = self.rel(inspect.getsourcefile(target) or "")
            if rel is None:
                return None, None
            return rel, inspect.getsourcelines(target)[1]
        except (TypeError, OSError, ValueError):
            return None, None

    # -- checks -----------------------------------------------------------------------------------------

    def run_check(self, check_id, fn):
        self.check = check_id
        self.emit({"event": "start", "check": check_id})
        started = time.perf_counter()
        try:
            status, reason, details = fn()
        except Exception as exc:  # a bug in the harness: report it rather than die silently
            status, reason = "fail", "internal error in the test harness: " + describe(exc)
            details = [{"message": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}]
        self.emit({
            "event": "result",
            "check": check_id,
            "status": status,
            "reason": reason,
            "details": details,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        })
        self.check = None

    def import_plugin_module(self, name, rel):
        """Imports plugin module `name` (file `rel`); returns (module, None) or (None, failure detail)."""
        self.set_stage("importing " + rel, rel)
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # noqa: B902 -- plugin code may raise anything, SystemExit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            file, line = self.where(exc)
            message = "import failed: " + describe(exc)
            if isinstance(exc, ModuleNotFoundError) and exc.name and not self.is_plugin_module(exc.name):
                message += " (is it installed for this Python? pick another one with --python or MIXPEEK_PYTHON)"
            return None, detail(file or rel, line, message)
        loaded = self.rel(getattr(module, "__file__", None) or "")
        if loaded != rel:
            found = getattr(module, "__file__", None) or "a built-in module"
            return None, detail(rel, None, "`import %s` loaded %s instead of %s" % (name, found, rel))
        return module, None

    def is_plugin_module(self, name):
        top = name.split(".")[0]
        return os.path.exists(os.path.join(self.root, top + ".py")) or os.path.isdir(os.path.join(self.root, top))

    def check_schemas(self):
        manifest, failure = self.import_plugin_module("manifest", "manifest.py")
        if failure is not None:
            self.manifest_failed = True
            return "fail", "manifest.py failed to import", [failure]
        names, keys = self.bindings("manifest.py")
        self.set_stage("checking metadata", "manifest.py", announce=False)
        metadata = getattr(manifest, "metadata", MISSING)
        if metadata is MISSING:
            return "fail", "manifest.py does not define metadata", [detail(
                "manifest.py", None,
                "no module-level `metadata`; add metadata = {\"name\": ..., \"version\": \"0.1.0\", "
                "\"description\": ..., \"author\": ..., \"category\": ..., \"resource_type\": ...}",
            )]
        if not isinstance(metadata, dict):
            return "fail", "metadata is not a dict", [detail(
                "manifest.py", names.get("metadata"), "metadata is %s; it must be a dict" % kind(metadata),
            )]

        problems = []

        def problem(key, message):
            problems.append(detail("manifest.py", keys.get(key) or names.get("metadata"), message))

        for key in REQUIRED_KEYS:
            if key not in metadata:
                problem(None, "metadata has no %r key (required: %s)" % (key, ", ".join(REQUIRED_KEYS)))
        self.check_identity(metadata, problem)

        schemas = []
        for attr, key in (("InputSchema", "input_schema"), ("OutputSchema", "output_schema")):
            self.set_stage("checking " + attr, "manifest.py")
            cls = self.check_schema(manifest, metadata, attr, key, names, keys, problems)
            schemas.append(cls)
        if problems:
            reason = problems[0]["message"] if len(problems) == 1 else "%d problems in manifest.py" % len(problems)
            return "fail", reason, problems
        self.schemas = tuple(schemas)
        # What publish needs to request an upload (name, version) and to decide on a deployment (realtime).
        self.emit({"event": "metadata", "metadata": {
            "name": metadata["name"], "version": metadata["version"], "category": value_of(metadata["category"]),
            "resource_type": value_of(metadata["resource_type"]), "realtime": bool(metadata.get("realtime")),
        }})
        return "pass", "metadata ok: %s %s (%s, %s); InputSchema and OutputSchema are pydantic %s models" % (
            metadata["name"], metadata["version"], value_of(metadata["category"]),
            value_of(metadata["resource_type"]), self.pydantic.major,
        ), []

    def check_identity(self, metadata, problem):
        name = metadata.get("name", MISSING)
        if name is not MISSING and not (isinstance(name, str) and NAME.match(name) and len(name) <= 64):
            problem("name", "metadata['name'] = %s is not a snake_case name (lowercase letters, digits and "
                            "single underscores, starting with a letter, e.g. sentiment_scorer)" % short(name))
        version = metadata.get("version", MISSING)
        if version is not MISSING and not (isinstance(version, str) and SEMVER.match(version)):
            problem("version", "metadata['version'] = %s is not a semantic version such as 1.0.0" % short(version))
        for key in ("description", "author"):
            value = metadata.get(key, MISSING)
            if value is not MISSING and not (isinstance(value, str) and value.strip()):
                problem(key, "metadata[%r] = %s must be a non-empty string" % (key, short(value)))
        category = metadata.get("category", MISSING)
        if category is not MISSING and value_of(category) not in CATEGORIES:
            problem("category", "metadata['category'] = %s is not a known category (%s)"
                    % (short(category), ", ".join(CATEGORIES)))
        resource = metadata.get("resource_type", MISSING)
        if resource is not MISSING and resource_of(resource) is None:
            problem("resource_type", "metadata['resource_type'] = %s is not a known resource type (%s)"
                    % (short(resource), ", ".join(RESOURCES)))
        realtime = metadata.get("realtime", MISSING)
        if realtime is not MISSING:
            if not isinstance(realtime, bool):
                problem("realtime", "metadata['realtime'] = %s must be True or False" % short(realtime))
            elif realtime and not os.path.isfile(os.path.join(self.root, "realtime.py")):
                problem("realtime", "metadata['realtime'] is True but the plugin has no realtime.py")
        conditions = metadata.get("row_conditions", MISSING)
        if conditions is not MISSING and not (
            isinstance(conditions, (list, tuple)) and all(isinstance(c, dict) for c in conditions)
        ):
            problem("row_conditions", "metadata['row_conditions'] = %s must be a list of dicts" % short(conditions))

    def check_schema(self, manifest, metadata, attr, key, names, keys, problems):
        """Finds manifest.<attr> / metadata[key], checks it is a pydantic model with a JSON Schema."""
        exported = getattr(manifest, attr, MISSING)
        declared = metadata.get(key, MISSING)
        line = names.get(attr) or keys.get(key) or names.get("metadata")
        if exported is MISSING and declared is MISSING:
            problems.append(detail("manifest.py", None,
                                   "manifest.py defines no %s (a pydantic BaseModel subclass)" % attr))
            return None
        if exported is not MISSING and declared is not MISSING and exported is not declared:
            problems.append(detail("manifest.py", keys.get(key) or line,
                                   "metadata[%r] is not manifest.%s; point both at the same class" % (key, attr)))
            return None
        cls = exported if exported is not MISSING else declared
        if not self.pydantic.is_model(cls):
            problems.append(detail("manifest.py", line, "%s is %s, not a pydantic model (a subclass of "
                                                        "pydantic.BaseModel)" % (attr, kind(cls))))
            return None
        try:
            json.dumps(self.pydantic.json_schema(cls))
        except Exception as exc:
            file, at = self.where(exc)
            if file is None:
                file, at = self.definition(cls)
            problems.append(detail(file or "manifest.py", at or line,
                                   "%s has no valid JSON Schema: %s" % (attr, describe(exc))))
            return None
        return cls

    def check_pipeline(self):
        if self.manifest_failed:
            return "skip", "not run: manifest.py failed to import (see schemas)", []
        pipeline, failure = self.import_plugin_module("pipeline", "pipeline.py")
        if failure is not None:
            return "fail", "pipeline.py failed to import", [failure]
        names, _ = self.bindings("pipeline.py")
        build = getattr(pipeline, "build_steps", MISSING)
        if build is MISSING:
            return "fail", "pipeline.py does not define build_steps()", [detail(
                "pipeline.py", None,
                "no build_steps(); add def build_steps() -> list returning [{\"name\": ..., \"fn\": ...}, ...]",
            )]
        def_line = names.get("build_steps")
        if not callable(build):
            return "fail", "build_steps is not callable", [detail(
                "pipeline.py", def_line, "build_steps is %s; it must be a function returning the steps" % kind(build),
            )]
        self.set_stage("calling build_steps()", "pipeline.py")
        try:
            steps = build()
        except BaseException as exc:  # noqa: B902 -- plugin code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            file, line = self.where(exc)
            return "fail", "build_steps() raised " + type(exc).__name__, [detail(
                file or "pipeline.py", line or def_line, "build_steps() raised " + describe(exc),
            )]
        problems = step_problems(steps)
        if problems:
            reason = problems[0] if len(problems) == 1 else "build_steps() returned %d malformed steps" % len(problems)
            return "fail", reason, [detail("pipeline.py", def_line, p) for p in problems]
        if os.path.isfile(os.path.join(self.root, "realtime.py")):
            _, failure = self.import_plugin_module("realtime", "realtime.py")
            if failure is not None:
                return "fail", "realtime.py failed to import", [failure]
        self.steps = steps
        plural = "step" if len(steps) == 1 else "steps"
        return "pass", "build_steps() returns %d %s: %s" % (
            len(steps), plural, " \u2192 ".join(step["name"] for step in steps),
        ), []

    def check_sample_data(self):
        if self.schemas is None or self.steps is None:
            return "skip", "not run: needs the schemas and pipeline checks to pass", []
        self.set_stage("reading " + self.sample_name, self.sample_name)
        records, failure = read_records(self.sample_path, self.sample_name)
        if failure is not None:
            return "fail", "%s could not be read" % self.sample_name, [failure]
        if not records:
            return "fail", "%s has no records" % self.sample_name, [detail(
                self.sample_name, None, "no records; add at least one input record",
            )]
        failures, failed = [], 0
        for index, (record, line) in enumerate(records):
            self.set_stage("running record %d" % index, self.sample_name)
            problem = self.run_record(index, record, line)
            if problem is not None:
                failed += 1
                if len(failures) < self.max_failures:
                    failures.append(problem)
        total = len(records)
        summary = "%d %s: %d ok, %d failed" % (total, "record" if total == 1 else "records", total - failed, failed)
        return ("fail" if failed else "pass"), summary, failures

    def run_record(self, index, record, line):
        """Runs one record the way Mixpeek does; returns a failure detail or None."""
        input_schema, output_schema = self.schemas
        where = {"file": self.sample_name, "line": line, "record": index}
        if not isinstance(record, dict):
            return dict(where, message="record %d is %s, expected an object" % (index, kind(record)))
        try:
            data = self.pydantic.dump(self.pydantic.validate(input_schema, record))
        except Exception as exc:
            return dict(where, message="record %d does not match InputSchema: %s" % (index, validation_text(exc)))
        for step in self.steps:
            name = step["name"]
            self.set_stage("running step %r on record %d" % (name, index), announce=False)
            try:
                data = step["fn"](data)
            except BaseException as exc:  # noqa: B902 -- plugin code may raise anything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                file, at = self.where(exc)
                return drop_none({"file": file, "line": at, "record": index,
                                  "message": "record %d: step %r raised %s" % (index, name, describe(exc))})
            if not isinstance(data, dict):
                file, at = self.definition(step["fn"])
                return drop_none({"file": file or "pipeline.py", "line": at, "record": index,
                                  "message": "record %d: step %r returned %s, expected a dict"
                                  % (index, name, kind(data))})
        self.set_stage("validating the output of record %d" % index, announce=False)
        try:
            self.pydantic.validate(output_schema, data)
        except Exception as exc:
            file, at = self.definition(output_schema)
            return drop_none({"file": file or "manifest.py", "line": at, "record": index,
                              "message": "record %d: output does not match OutputSchema: %s"
                              % (index, validation_text(exc))})
        return None


class Pydantic:
    """The installed pydantic, behind one small API that works for v2 and v1 models alike: a class with
    model_validate / model_json_schema uses the v2 API, anything else the v1 API (parse_obj / schema)."""

    def __init__(self, module):
        self.module = module
        self.version = str(getattr(module, "VERSION", None) or getattr(module, "__version__", "0"))
        self.major = int(re.match(r"\d+", self.version).group(0)) if re.match(r"\d+", self.version) else 0

    def is_model(self, cls):
        if not inspect.isclass(cls):
            return False
        if issubclass(cls, self.module.BaseModel):
            return True
        v1 = sys.modules.get("pydantic.v1")  # pydantic 2's bundled v1 API, if the plugin uses it
        return v1 is not None and issubclass(cls, v1.BaseModel)

    @staticmethod
    def validate(cls, data):
        return cls.model_validate(data) if hasattr(cls, "model_validate") else cls.parse_obj(data)

    @staticmethod
    def dump(instance):
        return instance.model_dump() if hasattr(instance, "model_dump") else instance.dict()

    @staticmethod
    def json_schema(cls):
        return cls.model_json_schema() if hasattr(cls, "model_json_schema") else cls.schema()


# -- helpers ----------------------------------------------------------------------------------------------


def detail(file, line, message):
    return drop_none({"file": file, "line": line, "message": message})


def drop_none(mapping):
    return {k: v for k, v in mapping.items() if v is not None}


def clip(text):
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "\u2026"


def describe(exc):
    """`Type: message` for an exception, without the file and line a SyntaxError repeats."""
    if isinstance(exc, SyntaxError):
        return clip("%s: %s" % (type(exc).__name__, exc.msg))
    if isinstance(exc, SystemExit):
        return "SystemExit: the code called sys.exit(%r)" % (exc.code,)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    # pydantic appends a documentation link paragraph; the message is clearer without it.
    text = re.sub(r"\s*For further information visit \S+", "", text)
    return clip(text.strip())


def short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "\u2026"


def kind(value):
    """A short phrase for what a value is, for messages ('a dict', 'None', 'the class Foo')."""
    if value is None:
        return "None"
    if inspect.isclass(value):
        return "the class %s" % value.__name__
    if inspect.ismodule(value):
        return "the module %s" % value.__name__
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    if isinstance(value, (str, int, float)):
        return "%s %s (%s)" % (article, name, short(value))
    return "%s %s" % (article, name)


def value_of(value):
    return value.value if isinstance(value, Enum) else value


def resource_of(value):
    """'cpu' | 'gpu' | 'api' for a resource type given as a string or an Enum member, else None."""
    candidates = [value_of(value)]
    if isinstance(value, Enum):
        candidates.append(value.name)
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.lower() in RESOURCES:
            return candidate.lower()
    return None


def step_problems(steps):
    if not isinstance(steps, list):
        return ["build_steps() returned %s; it must return a non-empty list of steps" % kind(steps)]
    if not steps:
        return ["build_steps() returned an empty list; it must return at least one step"]
    problems, seen = [], set()
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            problems.append("step %d is %s, expected a dict {\"name\": str, \"fn\": callable}" % (index, kind(step)))
            continue
        name = step.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append("step %d needs a non-empty string \"name\"" % index)
        elif name in seen:
            problems.append("step %d: two steps are named %r; step names must be unique" % (index, name))
        else:
            seen.add(name)
        if not callable(step.get("fn")):
            problems.append("step %d (%s) needs a callable \"fn\", got %s" % (index, short(name), kind(step.get("fn"))))
    return problems


def validation_text(exc):
    """A one-line summary of a pydantic ValidationError (v1 or v2): `field: message; ...`."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            parts = []
            for error in errors():
                loc = ".".join(str(part) for part in error.get("loc", ())) or "(record)"
                parts.append("%s: %s" % (loc, error.get("msg", "invalid")))
            if parts:
                return clip("; ".join(parts))
        except Exception:  # noqa: BLE001 -- fall back to the exception text
            pass
    return describe(exc)


# -- sample data ------------------------------------------------------------------------------------------


def read_records(path, name):
    """Records of a JSON array, JSON lines or CSV (with a header) file: ([(record, line)], None) or (None, detail).
    The format comes from the extension (.json, .jsonl/.ndjson, .csv), else from the first character."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return None, detail(name, None, "cannot read: %s" % exc.strerror)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, detail(name, line, "not valid UTF-8 (byte 0x%02x on line %d); save the file as UTF-8"
                            % (raw[exc.start], line))
    extension = os.path.splitext(path)[1].lower()
    first = text.lstrip()[:1]
    if extension in (".jsonl", ".ndjson"):
        return json_lines(text, name)
    if extension == ".csv":
        return csv_records(text, name)
    if extension == ".json" or first in ("[", "{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if first == "{" and exc.msg == "Extra data":
                return json_lines(text, name)
            return None, detail(name, exc.lineno, "invalid JSON: %s (line %d, column %d)"
                                % (exc.msg, exc.lineno, exc.colno))
        if isinstance(value, dict):
            return [(value, line_of(text, len(text) - len(text.lstrip())))], None
        if not isinstance(value, list):
            return None, detail(name, 1, "expected a JSON array of records, found %s" % kind(value))
        return list(zip(value, array_lines(text))), None
    return csv_records(text, name)


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def array_lines(text):
    """The line on which each element of a (valid) top-level JSON array starts."""
    decoder = json.JSONDecoder()
    ws = re.compile(r"[ \t\r\n]*")
    lines, line, last = [], 1, 0
    index = ws.match(text, 0).end() + 1  # past "["
    while True:
        index = ws.match(text, index).end()
        if index >= len(text) or text[index] == "]":
            return lines
        line += text.count("\n", last, index)
        last = index
        lines.append(line)
        _, index = decoder.raw_decode(text, index)
        index = ws.match(text, index).end()
        if index < len(text) and text[index] == ",":
            index += 1


def json_lines(text, name):
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((json.loads(line), number))
        except json.JSONDecodeError as exc:
            return None, detail(name, number, "invalid JSON on line %d, column %d: %s" % (number, exc.colno, exc.msg))
    return records, None


def csv_records(text, name):
    """CSV with a header row. Empty cells are left out (the field takes its default); a cell holding a JSON
    array or object is decoded, so nested fields can be given."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            return None, detail(name, 1, "CSV needs a header row naming the fields")
        header = [cell.strip() for cell in header]
        duplicates = sorted({cell for cell in header if header.count(cell) > 1})
        if duplicates or "" in header:
            return None, detail(name, 1, "the CSV header has %s" % (
                "duplicate columns: " + ", ".join(duplicates) if duplicates else "an empty column name"))
        start = reader.line_num + 1  # where the next record starts (a quoted cell may span lines)
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                return None, detail(name, line, "line %d has %d fields; the header has %d"
                                    % (line, len(row), len(header)))
            record = {}
            for key, cell in zip(header, row):
                if cell == "":
                    continue
                record[key] = csv_cell(cell)
            records.append((record, line))
    except csv.Error as exc:
        return None, detail(name, start, "invalid CSV in the record starting on line %d: %s" % (start, exc))
    return records, None


def csv_cell(cell):
    stripped = cell.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except ValueError:
            return cell
    return cell


# -- entry point ------------------------------------------------------------------------------------------


def open_channel():
    """The protocol channel: a private copy of stdout; fd 1 itself then points at stderr."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    return channel


def main():
    channel = open_channel()
    harness = Harness(channel, json.loads(sys.argv[1]))
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, harness.on_sigterm)
    faulthandler.enable()  # a hard crash (segfault, abort) still prints where it happened, to stderr
    has_pydantic = importlib.util.find_spec("pydantic") is not None
    harness.emit({
        "event": "hello",
        "python": platform.python_version(),
        "executable": sys.executable,
        "pydantic": has_pydantic,
        "pytest": importlib.util.find_spec("pytest") is not None,
    })
    if not has_pydantic:
        return
    harness.stage = "importing pydantic"
    import pydantic

    harness.pydantic = Pydantic(pydantic)
    harness.emit({"event": "pydantic", "version": harness.pydantic.version})
    sys.path.insert(0, harness.root)
    checks = {
        "schemas": harness.check_schemas,
        "pipeline": harness.check_pipeline,
        "sample_data": harness.check_sample_data,
    }
    for check_id in harness.checks or list(checks):
        harness.run_check(check_id, checks[check_id])
    harness.emit({"event": "done"})
    # Leave at once: a thread or an atexit hook the plugin started must not keep the run alive.
    for stream in (sys.stdout, sys.stderr, channel):
        stream.flush()
    os._exit(0)


main()
