"""The `mixpeek plugin test` harness: checks a plugin against Mixpeek's plugin contract, in the author's Python.

The CLI embeds this file (lib/embedded/harness.ts) and runs it as `python -B -c <loader> <config json>`, the
loader reading this source from stdin, with the plugin folder as the working directory and the local platform
runtime (engine.*, shared.*, mixpeek_local) on PYTHONPATH. The plugin is imported the way Mixpeek imports it:
as a package named after its folder (`import my_plugin`, then `my_plugin.manifest`, `my_plugin.pipeline`,
`my_plugin.realtime`), so its modules must use relative imports. The plugin folder itself is not on sys.path.

Results are JSON lines on the original stdout (the protocol channel). Before any plugin code runs, file
descriptor 1 is pointed at stderr, so whatever the plugin prints (even from C code) cannot corrupt the
protocol. Events, in order:
  {"event": "hello", "python", "executable", "pydantic": bool, "pytest": bool, "pandas": bool, "runtime": bool}
  {"event": "pydantic", "version"}
  {"event": "metadata", "metadata": {...}}   (during the manifest check, once name and version are read)
  {"event": "start", "check"}  ...  {"event": "result", "check", "status", "reason", "details", "duration_ms"}
  {"event": "done"}
On SIGTERM (the CLI's timeout) it reports {"event": "timeout", "check", "stage", "file", "line"}, naming
the plugin line that was running, and exits at once.

The plugin's name and version are judged by the CLI (lib/plugin/identity.ts, the one copy of Mixpeek's rule),
from the metadata event. Standard library only (pandas for sample data); Python 3.8+, pydantic 2 or 1.
"""

import ast
import csv
import faulthandler
import importlib
import importlib.util
import inspect
import io
import json
import math
import os
import platform
import re
import signal
import sys
import time
import traceback
from enum import Enum

CATEGORIES = ("text", "image", "video", "audio", "document", "multimodal")
INPUT_TYPES = ("text", "image", "video", "audio", "pdf", "document", "multimodal")
RESOURCES = ("cpu", "gpu", "api")
DISTANCES = ("cosine", "euclid", "dot")
FEATURE_KEYS = ("feature_type", "feature_name", "embedding_dim", "distance_metric")
# Key names Mixpeek accepts at upload but ignores, so the collection gets no vector index: the right spelling.
FEATURE_ALIASES = {
    "type": "feature_type",
    "kind": "feature_type",
    "name": "feature_name",
    "dimensions": "embedding_dim",
    "dimension": "embedding_dim",
    "dims": "embedding_dim",
    "dim": "embedding_dim",
    "size": "embedding_dim",
    "distance": "distance_metric",
    "metric": "distance_metric",
    "similarity": "distance_metric",
}
PROFILE_KEYS = ("resource_type", "batch_size", "max_concurrency", "actor_memory_gb", "gpu_memory_gb")
JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
MAX_MESSAGE = 2000
MISSING = object()
REQUIREMENT = re.compile(
    r"^\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"  # name
    r"(?:\s*\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\])?"  # [extras]
    r"(?:\s*(?:@\s*\S+|\(?\s*(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
    r"(?:\s*,\s*(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+)*\s*\)?))?"  # @ url | version specifiers
    r"(?:\s*;\s*\S.*)?\s*$"  # ; marker
)


class Harness:
    """One run: the protocol channel, the plugin, what is running now, and what earlier checks found."""

    def __init__(self, channel, config):
        self.channel = channel
        self.root = os.path.realpath(config["root"])
        self.package = config.get("package") or os.path.basename(self.root)
        self.sample_path = config.get("sample_data")
        self.sample_name = config.get("sample_data_name") or self.sample_path
        self.params = config.get("params")
        self.max_failures = int(config.get("max_record_failures", 20))
        self.checks = config.get("checks")
        self.check = None
        self.stage = "starting"
        self.pydantic = None
        self.plugin = None  # the imported package
        self.import_failure = None  # the detail of a failed package import
        self.manifest = None  # a Manifest once the manifest module imported
        self.manifest_ok = False
        self.manifest_import_failed = False
        self.steps = None
        self.prepare = None
        self._records = MISSING
        self._sources = {}

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

    def source(self, rel):
        """What the AST of a plugin file says about its module-level names (see Source)."""
        if rel not in self._sources:
            self._sources[rel] = Source(os.path.join(self.root, rel))
        return self._sources[rel]

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

    def field_line(self, cls, field):
        """(file, line) of a model field's definition (the class line when the field is inherited)."""
        file, line = self.definition(cls)
        if file is None:
            return None, None
        return file, self.source(file).class_fields.get(cls.__name__, {}).get(field, line)

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

    def import_failed(self, exc, rel):
        file, line = self.where(exc)
        message = "import failed: " + describe(exc)
        missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        if missing and missing.split(".")[0] == "pandas" and "pip install pandas" not in message:
            message += (" (pandas is a requirement of the plugin's Python, as on the platform; install it: "
                        "%s -m pip install pandas)" % sys.executable)
        elif missing and missing.split(".")[0] in ("engine", "shared"):
            message += (" (the local platform runtime provides engine.* and shared.*: is PYTHONPATH "
                        "overridden? `mixpeek plugin env` prints the line that sets it)")
        elif missing and not missing.startswith(self.package) and not self.is_plugin_module(missing):
            message += " (is it installed for this Python? pick another one with --python or MIXPEEK_PYTHON)"
        elif missing and self.is_plugin_module(missing):
            message += (" (the plugin's own module: the platform imports the plugin as the package %r, so "
                        "import it relatively, e.g. `from .%s import ...`)" % (self.package, missing))
        elif self.pydantic is not None and self.pydantic.major == 1 and _raised_in_pydantic(exc):
            # A plugin written for pydantic 2 (the templates, Mixpeek's platform) under a pydantic 1 fails
            # inside pydantic with a message that does not say the version is the cause.
            message += (" (this Python has pydantic %s; a plugin written for pydantic 2, as the templates "
                        "and Mixpeek's platform are, needs it: %s -m pip install 'pydantic>=2', or pick "
                        "another Python with --python or MIXPEEK_PYTHON)" % (self.pydantic.version, sys.executable))
        return detail(file or rel, line, message)

    def is_plugin_module(self, name):
        top = name.split(".")[0]
        return os.path.exists(os.path.join(self.root, top + ".py")) or os.path.isdir(os.path.join(self.root, top))

    def load_package(self):
        """Imports the plugin folder as the package `self.package` (once); None, or the failure detail."""
        if self.plugin is not None or self.import_failure is not None:
            return self.import_failure
        name = self.package
        stdlib = getattr(sys, "stdlib_module_names", ())
        try:
            installed = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            installed = None
        if name in sys.modules or name in stdlib or name in ("engine", "shared", "mixpeek_local") or installed:
            owner = "the local platform runtime" if name in ("engine", "shared", "mixpeek_local") else (
                "a module of the standard library" if name in stdlib else
                "an installed package (%s)" % (getattr(installed, "origin", None) or name) if installed else
                "a module already loaded")
            self.import_failure = detail(".", None, "the folder name %r is also the name of %s, so the platform "
                                         "could not import the plugin as %r: rename the folder" % (name, owner, name))
            return self.import_failure
        self.set_stage("importing __init__.py", "__init__.py")
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(self.root, "__init__.py"), submodule_search_locations=[self.root])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: B902 -- plugin code may raise anything, SystemExit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]
            self.import_failure = self.import_failed(exc, "__init__.py")
            return self.import_failure
        self.plugin = module
        return None

    def import_module(self, short, rel):
        """Imports `<package>.<short>` (file `rel`): (module, None) or (None, failure detail)."""
        failure = self.load_package()
        if failure is not None:
            return None, failure
        self.set_stage("importing " + rel, rel)
        try:
            module = importlib.import_module("%s.%s" % (self.package, short))
        except BaseException as exc:  # noqa: B902
            if isinstance(exc, KeyboardInterrupt):
                raise
            return None, self.import_failed(exc, rel)
        loaded = self.rel(getattr(module, "__file__", None) or "")
        if loaded != rel:
            return None, detail(rel, None, "`%s.%s` loaded %s instead of %s"
                                % (self.package, short, getattr(module, "__file__", None) or "a built-in", rel))
        return module, None

    # -- manifest ---------------------------------------------------------------------------------------

    def check_manifest(self):
        module, failure = self.import_module("manifest", "manifest.py")
        if failure is not None:
            self.manifest_import_failed = True
            return "fail", failure["message"] if failure.get("file") == "." else "manifest.py failed to import", [
                failure]
        self.set_stage("checking manifest.py", "manifest.py", announce=False)
        manifest = Manifest(self, module)
        self.manifest = manifest
        problems = manifest.validate()
        self.emit({"event": "metadata", "metadata": manifest.summary()})
        if problems:
            reason = problems[0]["message"] if len(problems) == 1 else "%d problems in manifest.py" % len(problems)
            return "fail", reason, problems
        self.manifest_ok = True
        return "pass", manifest.describe(), []

    # -- pipeline ---------------------------------------------------------------------------------------

    def request(self):
        from shared.collection.features.extractors.models import ExtractorConfig, ExtractorRequest

        name = self.manifest.name if self.manifest and isinstance(self.manifest.name, str) else self.package
        version = self.manifest.version if self.manifest and isinstance(self.manifest.version, str) else "0.0.0"
        config = ExtractorConfig(feature_extractor_name=name, version=version, parameters=dict(self.params or {}))
        return ExtractorRequest(config)

    def check_params(self):
        """--params against parameter_schema: None, or the failure detail."""
        params = self.params or {}
        schema = self.manifest.parameter_schema if self.manifest else None
        if schema is None or not self.pydantic.is_model(schema):
            return None
        try:
            self.pydantic.validate(schema, params)
        except Exception as exc:  # noqa: BLE001 -- pydantic's ValidationError (v1 or v2)
            field = first_field(exc)
            file, line = self.field_line(schema, field) if field else self.definition(schema)
            return detail(file or "manifest.py", line, "--params %s do not validate against parameter_schema "
                          "(%s): %s" % (short(params), schema.__name__, validation_text(exc)))
        return None

    def check_pipeline(self):
        if self.import_failure is not None or self.manifest_import_failed:
            return "skip", "not run: the plugin did not import (see manifest)", []
        module, failure = self.import_module("pipeline", "pipeline.py")
        if failure is not None:
            return "fail", "pipeline.py failed to import", [failure]
        names = self.source("pipeline.py").names
        build = getattr(module, "build_steps", MISSING)
        if build is MISSING:
            return "fail", "pipeline.py does not define build_steps()", [detail(
                "pipeline.py", None, "no build_steps(); add def build_steps(extractor_request, container=None, "
                "base_steps=None, dataset_size=None, content_flags=None) returning {\"steps\": [...], \"prepare\": fn}",
            )]
        def_line = names.get("build_steps")
        if not callable(build):
            return "fail", "build_steps is not callable", [detail(
                "pipeline.py", def_line, "build_steps is %s; it must be a function" % kind(build))]
        problem = self.check_params()
        if problem is not None:
            return "fail", problem["message"], [problem]
        kwargs, problem = call_arguments(build)
        if problem is not None:
            return "fail", problem, [detail("pipeline.py", def_line, problem)]
        self.set_stage("calling build_steps()", "pipeline.py")
        try:
            result = build(self.request(), **kwargs)
        except BaseException as exc:  # noqa: B902 -- plugin code may raise anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            file, line = self.where(exc)
            return "fail", "build_steps() raised " + type(exc).__name__, [detail(
                file or "pipeline.py", line or def_line, "build_steps() raised " + describe(exc))]
        problems = pipeline_problems(result)
        if problems:
            reason = problems[0] if len(problems) == 1 else "build_steps() returned %d problems" % len(problems)
            return "fail", reason, [detail("pipeline.py", def_line, p) for p in problems]
        problems = self.definition_problems(module)
        if problems:
            return "fail", problems[0]["message"], problems
        self.steps, self.prepare = list(result["steps"]), result["prepare"]
        return "pass", "build_steps() returns %d step%s%s and prepare" % (
            len(self.steps), "" if len(self.steps) == 1 else "s",
            (": " + " \u2192 ".join(describe_step(s) for s in self.steps)) if self.steps else "",
        ), []

    def definition_problems(self, module):
        """pipeline.extractor_definition, when there is one (Mixpeek's original template has it)."""
        from shared.collection.features.extractors.models import ExtractorDefinition

        value = getattr(module, "extractor_definition", MISSING)
        if value is MISSING:
            return []
        line = self.source("pipeline.py").names.get("extractor_definition")
        if not isinstance(value, ExtractorDefinition):
            return [detail("pipeline.py", line, "extractor_definition is %s, not an ExtractorDefinition "
                           "(from shared.collection.features.extractors.models)" % kind(value))]
        problems = []
        target = value.extractor_function_path
        if target is not None and not isinstance(target, str) and target is not getattr(module, "build_steps", None):
            problems.append(detail("pipeline.py", line, "extractor_definition.extractor_function_path is %s, not "
                                   "this module's build_steps" % kind(target)))
        if self.manifest is not None:
            for attr, expected in (("name", self.manifest.name), ("version", self.manifest.version)):
                actual = getattr(value, attr)
                if isinstance(expected, str) and actual != expected:
                    problems.append(detail("pipeline.py", line, "extractor_definition.%s is %r but the manifest "
                                           "says %r; use metadata[...] for both" % (attr, actual, expected)))
        return problems

    # -- sample data ------------------------------------------------------------------------------------

    def records(self):
        """[(record, line)] of --sample-data, or a failure detail; None without sample data."""
        if self._records is MISSING:
            if not self.sample_path:
                self._records = None
            else:
                self.set_stage("reading " + self.sample_name, self.sample_name)
                records, failure = read_records(self.sample_path, self.sample_name)
                if failure is None and not records:
                    failure = detail(self.sample_name, None, "no records; add at least one input record")
                self._records = failure if failure is not None else records
        return self._records

    def rows(self, records):
        """Batch rows for the records: ([row], [failure detail])."""
        from mixpeek_local.rows import RecordError, record_to_row

        base = os.path.dirname(os.path.abspath(self.sample_path))
        extractor = "%s_%s" % (self.manifest.name, str(self.manifest.version).replace(".", "_"))
        rows, failures = [], []
        for index, (record, line) in enumerate(records):
            try:
                rows.append(record_to_row(record, index, base, feature_extractor_id=extractor))
            except RecordError as exc:
                failures.append({"file": self.sample_name, "line": line, "record": index,
                                 "message": "record %d: %s" % (index, exc)})
        return rows, failures

    def check_sample_data(self):
        if not (self.manifest_ok and self.steps is not None):
            return "skip", "not run: needs the manifest and pipeline checks to pass", []
        records = self.records()
        if isinstance(records, dict):
            return "fail", "%s could not be read" % self.sample_name, [records]
        try:
            import pandas as pd
        except ImportError:
            message = ("pandas is not installed for %s: it is a requirement of the plugin's Python, as on the "
                       "platform; install it: %s -m pip install pandas" % (sys.executable, sys.executable))
            return "fail", "pandas is not installed", [detail(self.sample_name, None, message)]
        rows, failures = self.rows(records)
        if failures:
            return "fail", "%d of %d records cannot become rows" % (len(failures), len(records)), failures[
                :self.max_failures]
        frame = pd.DataFrame(rows)
        lines = [line for _, line in records]
        self.set_stage("running prepare()", "pipeline.py")
        try:
            prepared = self.prepare(frame)
        except BaseException as exc:  # noqa: B902
            if isinstance(exc, KeyboardInterrupt):
                raise
            file, line = self.where(exc)
            return "fail", "prepare() raised " + type(exc).__name__, [detail(file or "pipeline.py", line,
                                                                            "prepare() raised " + describe(exc))]
        if not isinstance(prepared, pd.DataFrame):
            file, line = self.definition(self.prepare)
            return "fail", "prepare() returned %s" % kind(prepared), [detail(
                file or "pipeline.py", line, "prepare(ds) returned %s; it must return the dataset it was given "
                "(locally a pandas DataFrame), filtered or transformed" % kind(prepared))]
        if len(prepared) != len(frame):
            file, line = self.definition(self.prepare)
            return "fail", "prepare() changed the row count", [detail(
                file or "pipeline.py", line, "prepare(ds) returned %d rows for %d records; row counts are kept"
                % (len(prepared), len(frame)))]
        data = prepared
        for index, step in enumerate(self.steps):
            label = describe_step(step)
            self.set_stage("running step %d (%s)" % (index, label), "pipeline.py")
            try:
                out = step(data)
            except BaseException as exc:  # noqa: B902
                if isinstance(exc, KeyboardInterrupt):
                    raise
                file, line = self.where(exc)
                processor = getattr(exc, "processor_class", None)
                if processor is not None:  # the runtime's RowCountError: point at the processor
                    file, line = self.definition(getattr(processor, "__call__", processor))
                return "fail", "step %d (%s) raised %s" % (index, label, type(exc).__name__), [detail(
                    file or "pipeline.py", line, "step %d (%s) raised %s" % (index, label, describe(exc)))]
            if not isinstance(out, pd.DataFrame):
                file, line = self.definition(step)
                return "fail", "step %d (%s) returned %s" % (index, label, kind(out)), [detail(
                    file or "pipeline.py", line, "step %d (%s) returned %s; a step takes and returns a pandas "
                    "DataFrame" % (index, label, kind(out)))]
            if len(out) != len(data):
                file, line = self.definition(step)
                return "fail", "step %d (%s) changed the row count" % (index, label), [detail(
                    file or "pipeline.py", line, "step %d (%s) returned %d rows for %d; row counts are kept"
                    % (index, label, len(out), len(data)))]
            data = out
        self.set_stage("validating the output rows", "manifest.py", announce=False)
        failed = []
        for index, row in enumerate(data.to_dict("records")):
            problem = self.check_row(index, plain(row), lines[index] if index < len(lines) else None)
            if problem is not None:
                failed.append(problem)
        total = len(rows)
        summary = "%d %s: %d ok, %d failed" % (total, "record" if total == 1 else "records", total - len(failed),
                                               len(failed))
        batches = [s for s in self.steps if getattr(s, "batch_sizes", None)]
        if batches:
            summary += " (%s)" % "; ".join("%s: %d batch%s of %s" % (
                s.name, s.batches, "" if s.batches == 1 else "es", "/".join(str(n) for n in s.batch_sizes))
                for s in batches)
        notices = stand_in_notices()
        if notices:
            summary += "; " + "; ".join(notices)
        return ("fail" if failed else "pass"), summary, failed[:self.max_failures]

    def check_row(self, index, row, line):
        """An output row against output_schema and the declared embeddings: None or a failure detail."""
        manifest = self.manifest
        where = "record %d%s" % (index, " (%s:%d)" % (self.sample_name, line) if line else "")
        problem = manifest.output_problem(row)
        if problem is not None:
            field, message = problem
            file, at = manifest.output_location(field)
            return drop_none({"file": file, "line": at, "record": index,
                              "message": "%s: the output row does not match output_schema: %s" % (where, message)})
        for feature in manifest.embeddings():
            column = feature["feature_name"] if feature["feature_name"] in row else (
                "embedding" if feature is manifest.embeddings()[0] and "embedding" in row else None)
            file, at = manifest.feature_location(feature["index"], "embedding_dim")
            if column is None:
                return drop_none({"file": file, "line": at, "record": index, "message": (
                    "%s: features declare the embedding %r, but the output row has no %r column%s"
                    % (where, feature["feature_name"], feature["feature_name"],
                       " (nor \"embedding\")" if feature is manifest.embeddings()[0] else ""))})
            problem = vector_problem(row[column], feature["embedding_dim"])
            if problem is not None:
                return drop_none({"file": file, "line": at, "record": index,
                                  "message": "%s: %s %s (features declare embedding_dim %d for %r)"
                                  % (where, column, problem, feature["embedding_dim"], feature["feature_name"])})
        return None

    # -- realtime ---------------------------------------------------------------------------------------

    def check_realtime(self):
        if not os.path.isfile(os.path.join(self.root, "realtime.py")):
            return "skip", "no realtime.py (a batch-only plugin)", []
        if self.import_failure is not None or self.manifest_import_failed:
            return "skip", "not run: the plugin did not import (see manifest)", []
        module, failure = self.import_module("realtime", "realtime.py")
        if failure is not None:
            return "fail", "realtime.py failed to import", [failure]
        from mixpeek_local.services import call_service, find_service_classes
        from shared.plugins.inference.serve import ServeDeploymentConfig

        classes = find_service_classes(module)
        if not classes:
            return "fail", "realtime.py defines no realtime service", [detail(
                "realtime.py", None, "no subclass of BaseInferenceService (from shared.plugins.inference.serve) "
                "in realtime.py; define one with async run_inference(self, inputs, parameters) -> dict")]
        cls = classes[0]
        file, line = self.definition(cls)
        file = file or "realtime.py"
        if not cls.implemented_entry_points():
            return "fail", "%s implements no entry point" % cls.__name__, [detail(file, line, (
                "%s implements none of run_inference, __call__ or _process_single(self, inputs, parameters)"
                % cls.__name__))]
        config = getattr(cls, "serve_config", None)
        if config is not None and not isinstance(config, ServeDeploymentConfig):
            at = self.source(file).class_fields.get(cls.__name__, {}).get("serve_config", line)
            return "fail", "serve_config is not a ServeDeploymentConfig", [detail(file, at, (
                "%s.serve_config is %s; use ServeDeploymentConfig(enabled=True, num_replicas=1)"
                % (cls.__name__, kind(config))))]
        self.set_stage("building %s" % cls.__name__, file)
        try:
            service = cls()
        except BaseException as exc:  # noqa: B902
            if isinstance(exc, KeyboardInterrupt):
                raise
            at_file, at = self.where(exc)
            return "fail", "%s() raised %s" % (cls.__name__, type(exc).__name__), [detail(
                at_file or file, at or line, "building %s() raised %s" % (cls.__name__, describe(exc)))]
        records = self.records()
        if records is None:
            return "pass", "%s builds; not called: no --sample-data (its first record is the request)" % (
                cls.__name__), []
        if isinstance(records, dict):
            return "skip", "not run: %s could not be read (see sample_data)" % self.sample_name, []
        if self.manifest is None:
            return "skip", "not run: manifest.py did not import", []
        rows, failures = self.rows(records[:1])
        if failures:
            return "skip", "not run: the first record cannot become a request (see sample_data)", []
        inputs = rows[0]
        entry = cls.implemented_entry_points()[0]
        entry_file, entry_line = self.definition(getattr(cls, entry))
        entry_file, entry_line = entry_file or file, entry_line or line
        self.set_stage("calling %s.%s" % (cls.__name__, entry), entry_file)
        try:
            answer = call_service(service, inputs, dict(self.params or {}))
        except BaseException as exc:  # noqa: B902
            if isinstance(exc, KeyboardInterrupt):
                raise
            at_file, at = self.where(exc)
            return "fail", "%s raised %s" % (cls.__name__, type(exc).__name__), [detail(
                at_file or entry_file, at or entry_line, "calling %s with record 0 raised %s"
                % (cls.__name__, describe(exc)))]
        if not isinstance(answer, dict):
            return "fail", "%s returned %s" % (cls.__name__, kind(answer)), [detail(
                entry_file, entry_line, "%s.%s returned %s for record 0; a realtime service returns a dict"
                % (cls.__name__, entry, kind(answer)))]
        answer = plain(answer)
        for position, feature in enumerate(self.manifest.embeddings()):
            key = "embedding" if position == 0 and "embedding" in answer else feature["feature_name"]
            if key not in answer:
                return "fail", "%s returned no %r" % (cls.__name__, "embedding" if position == 0 else key), [detail(
                    entry_file, entry_line, "%s.%s returned the keys %s; features declare the embedding %r, so the "
                    "answer needs %s" % (cls.__name__, entry, sorted(answer), feature["feature_name"],
                                         "\"embedding\"" if position == 0 else repr(feature["feature_name"])))]
            problem = vector_problem(answer[key], feature["embedding_dim"])
            if problem is not None:
                return "fail", "%s: %s %s" % (cls.__name__, key, problem), [detail(
                    entry_file, entry_line, "%s.%s: %s %s (features declare embedding_dim %d for %r)"
                    % (cls.__name__, entry, key, problem, feature["embedding_dim"], feature["feature_name"]))]
        keys = ", ".join(sorted(answer)) or "no keys"
        return "pass", "%s answered record 0 with a dict (%s)" % (cls.__name__, keys), []


class Manifest:
    """The exports of manifest.py, in either style: a `metadata` dict (Mixpeek's original template and the
    plugin docs) or module-level fields (`feature_extractor_name = ...`, the newer docs)."""

    def __init__(self, harness, module):
        self.h = harness
        self.module = module
        self.src = harness.source("manifest.py")
        raw = getattr(module, "metadata", MISSING)
        self.metadata = raw if isinstance(raw, dict) else None
        self.metadata_raw = raw
        self.style = "metadata" if raw is not MISSING else "module"
        self.name = self.version = None
        self.name_line = self.version_line = None
        self.description = self.category = None
        self.problems = []
        self.input_schema = self.output_schema = self.parameter_schema = None
        self.features = []
        self.profile = None

    # where a value comes from: a metadata key or a module-level name
    def get(self, key, metadata_first=False):
        """(value, line) of `key`: a module-level export or a key of metadata; MISSING when absent."""
        in_module = getattr(self.module, key, MISSING)
        in_meta = self.metadata.get(key, MISSING) if self.metadata is not None else MISSING
        order = ((in_meta, "meta"), (in_module, "module")) if metadata_first else ((in_module, "module"),
                                                                                 (in_meta, "meta"))
        for value, origin in order:
            if value is not MISSING:
                return value, self.line(key, origin)
        return MISSING, self.line(key, "module")

    def line(self, key, origin="meta"):
        if origin == "meta":
            return self.src.dict_keys.get("metadata", {}).get(key) or self.src.names.get("metadata")
        return self.src.names.get(key)

    def problem(self, line, message):
        self.problems.append(detail("manifest.py", line, message))

    def validate(self):
        if self.style == "metadata" and self.metadata is None:
            self.problem(self.src.names.get("metadata"), "metadata is %s; it must be a dict with "
                         "feature_extractor_name, version, description and category" % kind(self.metadata_raw))
            return self.problems
        self.check_identity()
        self.check_schemas()
        self.check_lists()
        self.check_features()
        self.check_profile()
        self.check_extras()
        return self.problems

    def check_identity(self):
        meta = self.style == "metadata"
        name, name_line = (self.get("feature_extractor_name", True) if meta
                           else (getattr(self.module, "feature_extractor_name", MISSING),
                                 self.src.names.get("feature_extractor_name")))
        if meta:
            legacy = self.metadata.get("name", MISSING)
            if name is MISSING:
                name, name_line = legacy, self.line("name")
            elif legacy is not MISSING and legacy != name:
                self.problem(self.line("name"), "metadata has both \"feature_extractor_name\" (%s) and \"name\" (%s); "
                             "keep one" % (short(name), short(legacy)))
        if name is MISSING:
            self.problem(self.src.names.get("metadata") if meta else None, (
                "metadata has no \"feature_extractor_name\" (Mixpeek's original template calls it \"name\")"
                if meta else "manifest.py defines neither `metadata` (a dict with feature_extractor_name, version, "
                "description and category) nor a module-level feature_extractor_name"))
            if not meta:
                return  # not a manifest at all: the rest would only repeat it
        elif not isinstance(name, str):
            self.problem(name_line, "the plugin name is %s; it must be a string" % kind(name))
        else:
            self.name = name
        self.name_line = name_line
        version, self.version_line = self.get("version", meta)
        if version is MISSING:
            self.problem(self.src.names.get("metadata") if meta else None,
                         "%s has no version (e.g. \"1.0.0\")" % ("metadata" if meta else "manifest.py"))
        elif not isinstance(version, str):
            self.problem(self.version_line, "version is %s; it must be a string such as \"1.0.0\"" % kind(version))
        else:
            self.version = version
        description, line = self.get("description", meta)
        if description is MISSING:
            self.problem(self.src.names.get("metadata") if meta else None,
                         "%s has no description (one line saying what the plugin extracts)"
                         % ("metadata" if meta else "manifest.py"))
        elif not (isinstance(description, str) and description.strip()):
            self.problem(line, "description is %s; it must be a non-empty string" % short(description))
        self.description = description if isinstance(description, str) else None
        category, line = self.get("category", meta)
        if category is MISSING:
            if meta:
                self.problem(self.src.names.get("metadata"),
                             "metadata has no category (one of %s)" % ", ".join(CATEGORIES))
        elif value_of(category) not in CATEGORIES:
            self.problem(line, "category %s is not one of %s" % (short(category), ", ".join(CATEGORIES)))
        self.category = value_of(category) if category is not MISSING else None
        for key in ("author", "icon"):
            value, line = self.get(key, meta)
            if value is not MISSING and not isinstance(value, str):
                self.problem(line, "%s is %s; it must be a string" % (key, kind(value)))

    def check_schemas(self):
        pyd = self.h.pydantic
        required = self.style == "metadata"
        for key in ("input_schema", "output_schema", "parameter_schema"):
            value, line = self.get(key)
            if value is MISSING:
                if key == "output_schema" or (key == "input_schema" and required):
                    self.problem(None, "manifest.py exports no %s (a pydantic model class%s)"
                                 % (key, ", or a dict of {field: {\"type\": ...}}" if key == "output_schema" else ""))
                continue
            if key == "output_schema" and isinstance(value, dict):
                if self.check_dict_schema(value, line):
                    self.output_schema = value
                continue
            if not pyd.is_model(value):
                self.problem(line, "%s is %s, not a pydantic model class (a subclass of pydantic.BaseModel)%s"
                             % (key, kind(value), "; or a dict of {field: {\"type\": ...}}" if key == "output_schema"
                                else ""))
                continue
            try:
                json.dumps(pyd.json_schema(value))
            except Exception as exc:  # noqa: BLE001 -- pydantic refuses to build the schema
                file, at = self.h.where(exc)
                if file is None:
                    file, at = self.h.definition(value)
                self.problems.append(detail(file or "manifest.py", at or line,
                                            "%s (%s) has no JSON Schema: %s" % (key, value.__name__, describe(exc))))
                continue
            setattr(self, key, value)
        if self.parameter_schema is not None:
            self.check_parameter_defaults()

    def check_dict_schema(self, schema, line):
        keys = self.src.dict_keys.get("output_schema", {})
        good = True
        for field, spec in schema.items():
            at = keys.get(field, line)
            types = spec.get("type") if isinstance(spec, dict) else None
            listed = types if isinstance(types, list) else [types]
            if not isinstance(spec, dict) or not all(t in JSON_TYPES for t in listed):
                self.problem(at, "output_schema[%s] is %s; each field is {\"type\": %s, \"description\": ...}"
                             % (short(field), short(spec), "|".join(JSON_TYPES)))
                good = False
        return good

    def check_parameter_defaults(self):
        pyd = self.h.pydantic
        schema = self.parameter_schema
        defaults = pyd.defaults(schema)
        try:
            pyd.validate(schema, defaults)
        except Exception as exc:  # noqa: BLE001
            field = first_field(exc)
            file, line = self.h.field_line(schema, field) if field else self.h.definition(schema)
            self.problems.append(detail(file or "manifest.py", line, "parameter_schema (%s): the default of %s does "
                                        "not validate: %s" % (schema.__name__, field or "a field",
                                                              validation_text(exc))))

    def check_lists(self):
        types, line = self.get("supported_input_types")
        if types is not MISSING:
            if not (isinstance(types, (list, tuple)) and types and all(isinstance(t, str) for t in types)):
                self.problem(line, "supported_input_types is %s; it must be a non-empty list such as [\"text\"]"
                             % short(types))
            else:
                unknown = [t for t in types if t not in INPUT_TYPES]
                if unknown:
                    self.problem(line, "supported_input_types has %s; known types: %s"
                                 % (", ".join(repr(t) for t in unknown), ", ".join(INPUT_TYPES)))
        deps, line = self.get("dependencies")
        if deps is not MISSING:
            if not (isinstance(deps, (list, tuple)) and all(isinstance(d, str) for d in deps)):
                self.problem(line, "dependencies is %s; it must be a list of pip requirement strings such as "
                             "\"numpy>=1.24\"" % short(deps))
            else:
                for dep in deps:
                    if not valid_requirement(dep):
                        self.problem(line, "dependencies: %r is not a valid pip requirement (e.g. \"numpy>=1.24\", "
                                     "\"pillow\", \"torch==2.3.1\")" % dep)

    def check_features(self):
        features, line = self.get("features")
        if features is MISSING:
            return
        items = self.src.list_items.get("features", [])
        if not isinstance(features, (list, tuple)):
            self.problem(line, "features is %s; it must be a list of {\"feature_type\": \"embedding\", "
                         "\"feature_name\", \"embedding_dim\", \"distance_metric\"}" % kind(features))
            return
        seen = set()
        for index, feature in enumerate(features):
            keys = items[index] if index < len(items) else {}
            at = keys.get("__line__", line)
            if not isinstance(feature, dict):
                self.problem(at, "features[%d] is %s, not a dict" % (index, kind(feature)))
                continue
            wrong = [(k, FEATURE_ALIASES[k]) for k in feature if k in FEATURE_ALIASES and FEATURE_ALIASES[k] not in feature]
            for key, right in wrong:
                self.problem(keys.get(key, at), "features[%d] uses the key %r: Mixpeek accepts it at upload but "
                             "ignores it, so the collection gets no vector index and nothing is searchable; write %r"
                             % (index, key, right))
            if wrong:
                continue
            missing = [k for k in FEATURE_KEYS if k not in feature]
            kind_ = feature.get("feature_type")
            if "feature_type" in missing or (kind_ == "embedding" and missing):
                self.problem(at, "features[%d] has no %s (an embedding feature is {\"feature_type\": \"embedding\", "
                             "\"feature_name\", \"embedding_dim\", \"distance_metric\"})"
                             % (index, ", ".join(missing)))
                continue
            if kind_ != "embedding":
                continue
            name = feature["feature_name"]
            if not (isinstance(name, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name)):
                self.problem(keys.get("feature_name", at), "features[%d].feature_name %s must be an identifier "
                             "such as \"text_embedding\"" % (index, short(name)))
                continue
            if name in seen:
                self.problem(keys.get("feature_name", at), "features[%d]: two features are named %r" % (index, name))
                continue
            seen.add(name)
            dim = feature["embedding_dim"]
            if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 65536:
                self.problem(keys.get("embedding_dim", at), "features[%d].embedding_dim %s must be a whole number "
                             "from 1 to 65536" % (index, short(dim)))
                continue
            metric = feature["distance_metric"]
            if metric not in DISTANCES:
                self.problem(keys.get("distance_metric", at), "features[%d].distance_metric %s must be one of %s"
                             % (index, short(metric), ", ".join(DISTANCES)))
                continue
            column_problem = self.feature_column_problem(name, len(self.features) == 0)
            if column_problem:
                self.problem(at, "features[%d] (%s): %s" % (index, name, column_problem))
                continue
            self.features.append({"index": index, "feature_name": name, "embedding_dim": dim,
                                  "distance_metric": metric})

    def feature_column_problem(self, name, first):
        fields = self.output_fields()
        if fields is None or name in fields or (first and "embedding" in fields):
            return None
        return ("output_schema has no %r field%s to hold the vector; add %s: List[float]"
                % (name, " (nor \"embedding\")" if first else "", name))

    def check_profile(self):
        profile, line = self.get("compute_profile")
        if profile is MISSING:
            return
        keys = self.src.dict_keys.get("compute_profile", {})
        if not isinstance(profile, dict):
            self.problem(line, "compute_profile is %s; it must be a dict such as {\"resource_type\": \"cpu\", "
                         "\"batch_size\": 64}" % kind(profile))
            return
        bad = False
        for key, value in profile.items():
            at = keys.get(key, line)
            if key not in PROFILE_KEYS:
                self.problem(at, "compute_profile has the unknown key %r (known: %s)" % (key, ", ".join(PROFILE_KEYS)))
                bad = True
            elif key == "resource_type" and resource_of(value) is None:
                self.problem(at, "compute_profile[\"resource_type\"] %s must be one of %s"
                             % (short(value), ", ".join(RESOURCES)))
                bad = True
            elif key in ("batch_size", "max_concurrency") and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 1):
                self.problem(at, "compute_profile[%r] %s must be a whole number of at least 1" % (key, short(value)))
                bad = True
            elif key in ("actor_memory_gb", "gpu_memory_gb") and value is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                self.problem(at, "compute_profile[%r] %s must be a number of gigabytes above 0" % (key, short(value)))
                bad = True
        if not bad:
            self.profile = dict(profile, resource_type=resource_of(profile.get("resource_type", "cpu")))

    def check_extras(self):
        uri, line = self.get("feature_uri")
        if uri is not MISSING:
            if not (isinstance(uri, str) and uri.startswith("mixpeek://")):
                self.problem(line, "feature_uri %s must look like \"mixpeek://name@version\"" % short(uri))
            elif not os.path.isfile(os.path.join(self.h.root, "realtime.py")):
                self.problem(line, "feature_uri is set but the plugin has no realtime.py: feature search embeds "
                             "each query through the plugin's realtime service, so this URI would find nothing; "
                             "add realtime.py (`mixpeek plugin init --realtime` shows one) or remove feature_uri")
        image, line = self.get("container_image")
        if image is not MISSING and not (isinstance(image, str) and image.strip() and " " not in image.strip()):
            self.problem(line, "container_image %s must be an image reference such as "
                         "\"us-docker.pkg.dev/project/repo/image:1.0.0\"" % short(image))

    # -- facts for the other checks ----------------------------------------------------------------------

    def output_fields(self):
        schema = self.output_schema
        if schema is None:
            value, _ = self.get("output_schema")
            schema = value if value is not MISSING else None
        if isinstance(schema, dict):
            return set(schema)
        if schema is not None and self.h.pydantic.is_model(schema):
            return set(self.h.pydantic.fields(schema))
        return None

    def embeddings(self):
        return self.features

    def output_problem(self, row):
        """(field, message) when the row breaks output_schema, else None."""
        schema = self.output_schema
        if isinstance(schema, dict):
            for field, spec in schema.items():
                if field not in row:
                    return field, "%s: missing (the output has the columns %s)" % (field, ", ".join(sorted(row)))
                problem = json_type_problem(row[field], spec)
                if problem:
                    return field, "%s: %s" % (field, problem)
            return None
        pyd = self.h.pydantic
        fields = pyd.fields(schema)
        data = {k: v for k, v in row.items() if k in fields}
        try:
            pyd.validate(schema, data)
        except Exception as exc:  # noqa: BLE001
            return first_field(exc), validation_text(exc)
        return None

    def output_location(self, field):
        schema = self.output_schema
        if isinstance(schema, dict):
            return "manifest.py", self.src.dict_keys.get("output_schema", {}).get(field) or self.src.names.get(
                "output_schema")
        if field:
            file, line = self.h.field_line(schema, field)
        else:
            file, line = self.h.definition(schema)
        return file or "manifest.py", line

    def feature_location(self, index, key):
        items = self.src.list_items.get("features", [])
        keys = items[index] if index < len(items) else {}
        return "manifest.py", keys.get(key) or keys.get("__line__") or self.src.names.get("features")

    def summary(self):
        """What the CLI learns from the manifest (the metadata event)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "category": self.category,
            "realtime": os.path.isfile(os.path.join(self.h.root, "realtime.py")),
            "features": [{k: f[k] for k in ("feature_name", "embedding_dim", "distance_metric")}
                         for f in self.features],
            "compute_profile": self.profile,
            "style": self.style,
            "lines": {"name": self.name_line if self.name is not None else None,
                      "version": self.version_line if self.version is not None else None},
        }

    def describe(self):
        models = [k for k in ("input_schema", "output_schema", "parameter_schema")
                  if getattr(self, k) is not None and not isinstance(getattr(self, k), dict)]
        text = "%s %s" % (self.name, self.version)
        if self.category:
            text += " (%s)" % self.category
        if models:
            text += "; %s: pydantic %d model%s" % (", ".join(models), self.h.pydantic.major,
                                                   "" if len(models) == 1 else "s")
        if isinstance(self.output_schema, dict):
            text += "; output_schema: %d fields" % len(self.output_schema)
        if self.features:
            text += "; features: %s" % ", ".join("%s (%d-d %s)" % (f["feature_name"], f["embedding_dim"],
                                                                  f["distance_metric"]) for f in self.features)
        return text


class Source:
    """The module-level facts of one plugin file's AST, for messages that point at the offending line:
    names (binding → line), dict_keys (NAME = {...} → key → line), list_items (NAME = [{...}, ...] → per item
    key → line, with "__line__"), class_fields (class → field → line)."""

    def __init__(self, path):
        self.names, self.dict_keys, self.list_items, self.class_fields = {}, {}, {}, {}
        try:
            with open(path, "rb") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            return
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.names[node.name] = node.lineno
                if isinstance(node, ast.ClassDef):
                    self.class_fields[node.name] = self.fields(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    self.names[(alias.asname or alias.name).split(".")[0]] = node.lineno
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.names[target.id] = node.lineno
                        if isinstance(node.value, ast.Dict):
                            self.dict_keys[target.id] = self.keys(node.value)
                        elif isinstance(node.value, (ast.List, ast.Tuple)):
                            self.list_items[target.id] = [
                                dict(self.keys(item), __line__=item.lineno) if isinstance(item, ast.Dict)
                                else {"__line__": item.lineno} for item in node.value.elts]

    @staticmethod
    def keys(node):
        return {k.value: k.lineno for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}

    @staticmethod
    def fields(node):
        found = {}
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                found[item.target.id] = item.lineno
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = item.lineno
        return found


def _raised_in_pydantic(exc):
    """Whether the innermost frame of the exception's traceback is pydantic's own code."""
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    return bool(frames) and "/pydantic/" in frames[-1].f_code.co_filename.replace("\\", "/")


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
    def json_schema(cls):
        return cls.model_json_schema() if hasattr(cls, "model_json_schema") else cls.schema()

    @staticmethod
    def fields(cls):
        fields = getattr(cls, "model_fields", None)
        if isinstance(fields, dict):
            return fields
        return getattr(cls, "__fields__", {}) or {}

    def defaults(self, cls):
        """{field: default} for the fields that have one (passing them explicitly makes pydantic check them)."""
        out = {}
        for name, field in self.fields(cls).items():
            if hasattr(field, "is_required"):  # v2 FieldInfo
                if not field.is_required():
                    out[name] = field.get_default(call_default_factory=True)
            elif not getattr(field, "required", True):  # v1 ModelField
                out[name] = field.get_default() if hasattr(field, "get_default") else field.default
        return out


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


def valid_requirement(text):
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:
        return bool(REQUIREMENT.match(text))
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


def call_arguments(build):
    """The keyword arguments build_steps accepts of the platform's call, or a problem."""
    wanted = {"container": None, "base_steps": None, "dataset_size": None, "content_flags": None}
    try:
        params = list(inspect.signature(build).parameters.values())
    except (TypeError, ValueError):
        return wanted, None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not positional and not any(p.kind is p.VAR_POSITIONAL for p in params):
        return None, ("build_steps() takes no arguments; the platform calls build_steps(extractor_request, "
                      "container=None, base_steps=None, dataset_size=None, content_flags=None)")
    if any(p.kind is p.VAR_KEYWORD for p in params):
        from mixpeek_local.container import LocalContainer

        return dict(wanted, container=LocalContainer()), None
    names = {p.name for p in params}
    kwargs = {k: v for k, v in wanted.items() if k in names}
    if "container" in kwargs:
        from mixpeek_local.container import LocalContainer

        kwargs["container"] = LocalContainer()
    return kwargs, None


def pipeline_problems(result):
    if isinstance(result, (list, tuple)):
        return ["build_steps() returned %s; the platform expects a dict {\"steps\": [...], \"prepare\": fn}: "
                "return {\"steps\": build_pipeline_steps(pipeline), \"prepare\": lambda ds: ds}" % kind(result)]
    if not isinstance(result, dict):
        return ["build_steps() returned %s; it must return {\"steps\": [...], \"prepare\": fn}" % kind(result)]
    problems = []
    missing = [k for k in ("steps", "prepare") if k not in result]
    if missing:
        problems.append("build_steps() returned a dict without %s; it must return {\"steps\": [...], "
                        "\"prepare\": fn}" % " and ".join(repr(k) for k in missing))
    steps = result.get("steps", [])
    if not isinstance(steps, (list, tuple)):
        problems.append("build_steps()[\"steps\"] is %s; it must be a list of steps" % kind(steps))
    else:
        from engine.plugins.extractors.pipeline import PipelineDefinition, StepDefinition

        for index, step in enumerate(steps):
            if isinstance(step, (StepDefinition, PipelineDefinition)):
                problems.append("steps[%d] is a %s, not an executable step: pass the PipelineDefinition through "
                                "build_pipeline_steps(pipeline)" % (index, type(step).__name__))
            elif not callable(step):
                problems.append("steps[%d] is %s; every step is a callable that takes and returns a pandas "
                                "DataFrame (build_pipeline_steps makes them)" % (index, kind(step)))
        if not steps and not problems:
            problems.append("build_steps() returned no steps; add a StepDefinition to the pipeline")
    if "prepare" in result and not callable(result["prepare"]):
        problems.append("build_steps()[\"prepare\"] is %s; it must be a function (ds -> ds)" % kind(result["prepare"]))
    return problems


def describe_step(step):
    definition = getattr(step, "definition", None)
    if definition is not None:
        return "%s (%s, batches of %d, %s)" % (step.name, step.resource_type.value, step.batch_size,
                                               step.condition.name)
    return getattr(step, "__name__", None) or type(step).__name__


def first_field(exc):
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            for error in errors():
                loc = error.get("loc", ())
                if loc and isinstance(loc[0], str) and loc[0] != "__root__":
                    return loc[0]
        except Exception:  # noqa: BLE001
            return None
    return None


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


def plain(value):
    """numpy / pandas values as plain Python (lists, ints, floats; NaN and NaT as None) for validation."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else value
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
    return value


def json_type_problem(value, spec):
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    if value is None:
        return None if ("null" in types or spec.get("nullable")) else "is null"
    checks = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }
    if not any(checks[t](value) for t in types if t in checks):
        return "%s is not of type %s" % (kind(value), "|".join(types))
    items = spec.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        for index, item in enumerate(value):
            problem = json_type_problem(item, items)
            if problem:
                return "item %d %s" % (index, problem)
    return None


def vector_problem(value, dim):
    if not isinstance(value, list):
        return "is %s, not a list of %d numbers" % (kind(value), dim)
    if len(value) != dim:
        return "has %d numbers, not %d" % (len(value), dim)
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            return "has %s at position %d, not a finite number" % (short(item), index)
    return None


def stand_in_notices():
    registry = sys.modules.get("shared.inference.registry")
    return list(getattr(registry, "NOTICES", [])) if registry else []


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
        records = list(zip(value, array_lines(text)))
        for record, line in records:
            if not isinstance(record, dict):
                return None, detail(name, line, "a record is %s; each record is a JSON object such as "
                                    "{\"data\": \"...\"}" % kind(record))
        return records, None
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
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return None, detail(name, number, "invalid JSON on line %d, column %d: %s" % (number, exc.colno, exc.msg))
        if not isinstance(value, dict):
            return None, detail(name, number, "line %d is %s; each line is a JSON object" % (number, kind(value)))
        records.append((value, number))
    return records, None


def csv_records(text, name):
    """CSV with a header row. Empty cells are left out (the field takes its default); a cell holding a JSON
    array or object is decoded, so nested fields can be given."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = []
    start = 1
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
    # The platform imports the plugin as a package: the plugin folder itself (the working directory, which
    # `-c` puts first on sys.path) must not make its modules importable by their bare names.
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != harness.root]
    find = importlib.util.find_spec
    has_pydantic = find("pydantic") is not None
    harness.emit({
        "event": "hello",
        "python": platform.python_version(),
        "executable": sys.executable,
        "pydantic": has_pydantic,
        "pytest": find("pytest") is not None,
        "pandas": find("pandas") is not None,
        "runtime": find("engine") is not None and find("shared") is not None and find("mixpeek_local") is not None,
    })
    if not has_pydantic:
        return
    harness.stage = "importing pydantic"
    import pydantic

    harness.pydantic = Pydantic(pydantic)
    harness.emit({"event": "pydantic", "version": harness.pydantic.version})
    checks = {
        "manifest": harness.check_manifest,
        "pipeline": harness.check_pipeline,
        "sample_data": harness.check_sample_data,
        "realtime": harness.check_realtime,
    }
    for check_id in harness.checks or list(checks):
        harness.run_check(check_id, checks[check_id])
    harness.emit({"event": "done"})
    # Leave at once: a thread or an atexit hook the plugin started must not keep the run alive.
    for stream in (sys.stdout, sys.stderr, channel):
        stream.flush()
    os._exit(0)


main()
