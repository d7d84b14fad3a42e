"""engine.plugins.extractors.pipeline: declarative batch pipelines (local platform runtime).

On Mixpeek a plugin's `build_steps()` describes its work with `StepDefinition`s inside a `PipelineDefinition`,
and `build_pipeline_steps()` turns them into the steps the engine runs on Ray Data. This module does the same
on one machine, over pandas DataFrames, with the behaviour plugins rely on:

- each step applies its processor batch by batch: `batch_size` rows from the step, else from the plugin's
  `compute_profile`, else the resource type's default (CPU 64, GPU 8, API 16);
- the processor class is instantiated once per step, as `service_class(config, progress_actor=None)`, the
  first time the step has rows for it, and then called once per batch;
- only the rows the step's `RowCondition` matches (by `mime_type`, else `blob_type`) reach the processor; the
  other rows pass through unchanged, in their place (a frame with neither column, built by hand, has every
  row processed, with a warning);
- a processor returns as many rows as it was given: anything else raises `RowCountError`.

Concurrency settings are validated but not used: the local runtime runs every batch in order, in-process.
pandas is imported only when a step runs, so importing a plugin does not need it.
"""

import enum
import inspect
import sys
from typing import Any, Dict, List, Optional

__all__ = [
    "DEFAULT_BATCH_SIZES",
    "PipelineDefinition",
    "PipelineStep",
    "ProcessorOutputError",
    "ResourceType",
    "RowCondition",
    "RowCountError",
    "StepDefinition",
    "build_pipeline_steps",
]


class ResourceType(str, enum.Enum):
    """Where a step runs: CPU workers (batches of about 64), GPU workers (about 8), or API calls."""

    CPU = "cpu"
    GPU = "gpu"
    API = "api"


DEFAULT_BATCH_SIZES = {ResourceType.CPU: 64, ResourceType.GPU: 8, ResourceType.API: 16}

_UNSELECTABLE_WARNED = set()

_MIME_PREFIX = {"text": "text/", "image": "image/", "video": "video/", "audio": "audio/"}


class RowCondition(str, enum.Enum):
    """Which rows a step processes, by MIME type. Rows that do not match pass through unchanged."""

    ALWAYS = "always"
    IS_TEXT = "is_text"
    IS_IMAGE = "is_image"
    IS_VIDEO = "is_video"
    IS_AUDIO = "is_audio"
    IS_PDF = "is_pdf"
    IS_VIDEO_OR_AUDIO = "is_video_or_audio"
    IS_VISUAL = "is_visual"

    def _kinds(self):
        return {
            RowCondition.IS_TEXT: ("text",),
            RowCondition.IS_IMAGE: ("image",),
            RowCondition.IS_VIDEO: ("video",),
            RowCondition.IS_AUDIO: ("audio",),
            RowCondition.IS_PDF: ("pdf",),
            RowCondition.IS_VIDEO_OR_AUDIO: ("video", "audio"),
            RowCondition.IS_VISUAL: ("image", "video"),
        }.get(self, ())

    def matches_mime(self, mime_type: Any) -> bool:
        """Whether a row with this MIME type is processed (`application/pdf` for IS_PDF, `kind/*` otherwise)."""
        if self is RowCondition.ALWAYS:
            return True
        if not isinstance(mime_type, str):
            return False
        mime = mime_type.strip().lower()
        for kind in self._kinds():
            if kind == "pdf" and mime == "application/pdf":
                return True
            if kind in _MIME_PREFIX and mime.startswith(_MIME_PREFIX[kind]):
                return True
        return False

    def matches_blob_type(self, blob_type: Any) -> bool:
        if self is RowCondition.ALWAYS:
            return True
        if not isinstance(blob_type, str):
            return False
        kind = blob_type.strip().lower()
        return kind in self._kinds() or (kind == "document" and "pdf" in self._kinds())

    def mask(self, frame) -> List[bool]:
        """One bool per row of a DataFrame: `mime_type` decides, else `blob_type`."""
        if self is RowCondition.ALWAYS:
            return [True] * len(frame)
        if "mime_type" in frame.columns:
            return [self.matches_mime(value) for value in frame["mime_type"]]
        if "blob_type" in frame.columns:
            return [self.matches_blob_type(value) for value in frame["blob_type"]]
        # The platform's batches always have both columns; a frame built by hand (a unit test, Mixpeek's own
        # `plugin test` over raw records) may have neither: then there is nothing to select by, and every row
        # is processed, with a warning once.
        if self not in _UNSELECTABLE_WARNED:
            _UNSELECTABLE_WARNED.add(self)
            sys.stderr.write(
                "mixpeek: warning: RowCondition.%s selects rows by mime_type (or blob_type), and this batch has "
                "neither (columns: %s): every row is processed\n" % (self.name, list(frame.columns))
            )
        return [True] * len(frame)


def _enum_value(enum_cls, value, what):
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if value.strip().lower() in (member.value, member.name.lower()):
                return member
    raise ValueError(
        "%s must be a %s (%s), got %r" % (what, enum_cls.__name__, ", ".join(m.name for m in enum_cls), value)
    )


def _positive_int(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("%s must be a whole number of at least 1, got %r" % (what, value))
    return value


class StepDefinition:
    """One step of a pipeline: a processor class, where it runs, its config and the rows it takes."""

    def __init__(
        self,
        service_class: Any,
        resource_type: Any = ResourceType.CPU,
        config: Any = None,
        condition: Any = RowCondition.ALWAYS,
        enabled: bool = True,
        concurrency: Optional[int] = None,
        batch_size: Optional[int] = None,
        name: Optional[str] = None,
    ):
        if not callable(service_class):
            raise TypeError(
                "StepDefinition(service_class=...) must be the processor class (called once per batch), got %r"
                % (service_class,)
            )
        self.service_class = service_class
        self.resource_type = _enum_value(ResourceType, resource_type, "StepDefinition.resource_type")
        self.config = config
        self.condition = _enum_value(RowCondition, condition if condition is not None else "always",
                                     "StepDefinition.condition")
        self.enabled = bool(enabled)
        self.concurrency = _positive_int(concurrency, "StepDefinition.concurrency")
        self.batch_size = _positive_int(batch_size, "StepDefinition.batch_size")
        self.name = name or getattr(service_class, "__name__", None) or type(service_class).__name__

    def __repr__(self):
        return "StepDefinition(%s, resource_type=%s, condition=%s%s)" % (
            self.name, self.resource_type.name, self.condition.name,
            ", batch_size=%d" % self.batch_size if self.batch_size else "",
        )


class PipelineDefinition:
    """A named, versioned list of StepDefinitions."""

    def __init__(self, name: str, version: str, steps: List[StepDefinition], description: Optional[str] = None):
        if not isinstance(steps, (list, tuple)):
            raise TypeError("PipelineDefinition(steps=...) must be a list of StepDefinition, got %r" % (steps,))
        for index, step in enumerate(steps):
            if not isinstance(step, StepDefinition):
                raise TypeError("PipelineDefinition: steps[%d] is %r, not a StepDefinition" % (index, step))
        self.name = name
        self.version = version
        self.steps = list(steps)
        self.description = description

    def __repr__(self):
        return "PipelineDefinition(%r, %r, %d steps)" % (self.name, self.version, len(self.steps))


class ProcessorOutputError(TypeError):
    """A processor returned something other than a DataFrame (or a dict of columns)."""

    def __init__(self, step, result):
        self.step = step
        self.processor_class = step.definition.service_class
        super().__init__(
            "step %r: the processor returned %s; __call__(self, batch) must return the batch as a pandas "
            "DataFrame (with its new columns)" % (step.name, "None" if result is None else type(result).__name__)
        )


class RowCountError(ValueError):
    """A processor returned a different number of rows than it was given."""

    def __init__(self, step, given, returned):
        self.step = step
        self.processor_class = step.definition.service_class
        self.given = given
        self.returned = returned
        super().__init__(
            "step %r: the processor returned %d row%s for a batch of %d; a processor must return one row per "
            "input row (add columns to the batch; do not filter, split or merge rows)"
            % (step.name, returned, "" if returned == 1 else "s", given)
        )


def _pandas():
    try:
        import pandas
    except ImportError as exc:
        raise ModuleNotFoundError(
            "No module named 'pandas': pandas is a requirement of a plugin's Python, as on the platform; "
            "install it with: %s -m pip install pandas" % sys.executable,
            name="pandas",
        ) from exc
    return pandas


def _accepts(callable_, name):
    try:
        params = inspect.signature(callable_).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in params)


def _positional_count(callable_):
    try:
        params = inspect.signature(callable_).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 1
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


class PipelineStep:
    """An executable step: call it with a pandas DataFrame, get the DataFrame with the processor's columns."""

    def __init__(self, definition: StepDefinition, batch_size: int, index: int):
        self.definition = definition
        self.name = definition.name
        self.index = index
        self.resource_type = definition.resource_type
        self.condition = definition.condition
        self.batch_size = batch_size
        #: The processor instance, built on the first batch and kept for every later one.
        self.processor = None
        #: How many batches the processor was called with, and their sizes (for tests and reports).
        self.batches = 0
        self.batch_sizes: List[int] = []

    def __repr__(self):
        return "<PipelineStep %s: %s, batches of %d, rows %s>" % (
            self.name, self.resource_type.name, self.batch_size, self.condition.name,
        )

    def _build(self):
        if self.processor is None:
            target = self.definition.service_class
            if inspect.isclass(target):
                config = self.definition.config
                if _accepts(target, "progress_actor"):
                    self.processor = target(config, progress_actor=None)
                elif _positional_count(target) >= 1:
                    self.processor = target(config)
                else:
                    self.processor = target()
                if not callable(self.processor):
                    raise TypeError(
                        "%s has no __call__(self, batch): a processor is called once per batch with a "
                        "pandas DataFrame and returns it" % target.__name__
                    )
            else:
                self.processor = target  # a plain function over batches
        return self.processor

    def __call__(self, frame):
        pd = _pandas()
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("step %r takes a pandas DataFrame, got %s" % (self.name, type(frame).__name__))
        frame = frame.reset_index(drop=True)
        mask = self.condition.mask(frame)
        selected = [i for i, keep in enumerate(mask) if keep]
        if not selected:
            return frame
        processor = self._build()
        parts = []
        for start in range(0, len(selected), self.batch_size):
            positions = selected[start:start + self.batch_size]
            batch = frame.iloc[positions].reset_index(drop=True)
            result = processor(batch)
            self.batches += 1
            self.batch_sizes.append(len(positions))
            result = self._as_frame(result, pd)
            if len(result) != len(positions):
                raise RowCountError(self, len(positions), len(result))
            parts.append(result.reset_index(drop=True))
        processed = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True, sort=False)
        if len(selected) == len(frame):
            return processed
        return _merge(pd, frame, processed, selected)

    def _as_frame(self, result, pd):
        if isinstance(result, pd.DataFrame):
            return result
        if isinstance(result, dict):  # Ray Data also accepts a dict of columns
            return pd.DataFrame(result)
        raise ProcessorOutputError(self, result)


def _merge(pd, frame, processed, selected):
    """The processed rows back in their places among the rows that passed through unchanged."""
    columns = list(processed.columns) + [c for c in frame.columns if c not in processed.columns]
    slot = {position: k for k, position in enumerate(selected)}
    data = {}
    for column in columns:
        done = processed[column].tolist() if column in processed.columns else None
        kept = frame[column].tolist() if column in frame.columns else None
        data[column] = [
            (done[slot[i]] if done is not None else None) if i in slot else (kept[i] if kept is not None else None)
            for i in range(len(frame))
        ]
    return pd.DataFrame(data, columns=columns)


def _caller_profile(depth=2) -> Optional[Dict[str, Any]]:
    """The compute_profile of the plugin that called build_pipeline_steps (its package's manifest), if any."""
    try:
        package = sys._getframe(depth).f_globals.get("__package__")
    except ValueError:
        return None
    if not package:
        return None
    manifest = sys.modules.get(package + ".manifest")
    if manifest is None:
        try:
            import importlib

            manifest = importlib.import_module(package + ".manifest")
        except Exception:  # noqa: BLE001 -- no manifest to read: use the defaults
            return None
    profile = getattr(manifest, "compute_profile", None)
    return profile if isinstance(profile, dict) else None


def build_pipeline_steps(
    pipeline: PipelineDefinition,
    dataset_size: Optional[int] = None,
    compute_profile: Optional[Dict[str, Any]] = None,
) -> List[PipelineStep]:
    """The executable steps of a pipeline (disabled steps left out), each a callable over DataFrames.

    Batch sizes come from each step, else from `compute_profile` (by default the calling plugin's
    manifest.compute_profile), else from the step's resource type.
    """
    if not isinstance(pipeline, PipelineDefinition):
        raise TypeError("build_pipeline_steps() takes a PipelineDefinition, got %r" % (pipeline,))
    if dataset_size is not None and (isinstance(dataset_size, bool) or not isinstance(dataset_size, int)):
        raise TypeError("dataset_size must be an int or None, got %r" % (dataset_size,))
    profile = compute_profile if compute_profile is not None else _caller_profile()
    profile_batch = profile.get("batch_size") if isinstance(profile, dict) else None
    if isinstance(profile_batch, bool) or not isinstance(profile_batch, int) or profile_batch < 1:
        profile_batch = None
    steps = []
    for definition in pipeline.steps:
        if not definition.enabled:
            continue
        size = definition.batch_size or profile_batch or DEFAULT_BATCH_SIZES[definition.resource_type]
        steps.append(PipelineStep(definition, size, len(steps)))
    return steps

