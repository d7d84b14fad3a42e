"""The local platform runtime (lib/plugin/runtime/) behaves as SPEC §5 says, under real pandas.

Run by tests/plugin_test/runtime_test.ts with the runtime the CLI writes on PYTHONPATH.
"""

import asyncio
import http.server
import math
import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from engine.plugins.extractors.pipeline import (
    DEFAULT_BATCH_SIZES,
    PipelineDefinition,
    ProcessorOutputError,
    ResourceType,
    RowCondition,
    RowCountError,
    StepDefinition,
    build_pipeline_steps,
)
from mixpeek_local.container import LocalContainer, PlatformServiceUnavailable
from mixpeek_local.rows import RecordError, blob_type_of, record_to_row
from mixpeek_local.services import call_service, find_service_classes
from shared.collection.features.extractors.models import ExtractorConfig, ExtractorDefinition, ExtractorRequest
from shared.inference.registry import get_batch_service
from shared.plugins import download_asset, open_asset
from shared.plugins.inference.batch import BaseBatchInferenceService
from shared.plugins.inference.serve import BaseInferenceService, ServeDeploymentConfig
from shared.plugins.sdk import concurrent_api_calls, parallel_io


class Counting:
    """A processor that records every instance and batch."""

    instances = []

    def __init__(self, config, progress_actor=None):
        self.config = config
        self.batches = []
        Counting.instances.append(self)

    def __call__(self, batch):
        self.batches.append(len(batch))
        batch = batch.copy()
        batch["seen"] = [str(value).upper() for value in batch["data"]]
        return batch


def steps(*definitions, **kwargs):
    return build_pipeline_steps(PipelineDefinition("p", "1.0.0", list(definitions)), **kwargs)


def frame(n, mimes=("text/plain",)):
    return pd.DataFrame({"data": ["row%d" % i for i in range(n)], "mime_type": [mimes[i % len(mimes)] for i in range(n)]})


@pytest.fixture(autouse=True)
def fresh():
    Counting.instances.clear()


@pytest.mark.parametrize("resource, size", [(ResourceType.CPU, 64), (ResourceType.GPU, 8), (ResourceType.API, 16)])
def test_batches_default_to_the_resource_types_size(resource, size):
    (step,) = steps(StepDefinition(Counting, resource_type=resource), compute_profile={})
    out = step(frame(size * 2 + 3))
    assert len(out) == size * 2 + 3
    assert step.batch_sizes == [size, size, 3]
    assert DEFAULT_BATCH_SIZES[resource] == size


def test_the_step_batch_size_beats_the_profile_which_beats_the_default():
    (own,) = steps(StepDefinition(Counting, batch_size=5), compute_profile={"batch_size": 7})
    (profile,) = steps(StepDefinition(Counting), compute_profile={"batch_size": 7})
    own(frame(12))
    profile(frame(12))
    assert own.batch_sizes == [5, 5, 2]
    assert profile.batch_sizes == [7, 5]


def test_one_processor_instance_per_step_whatever_the_batches_and_calls():
    first, second = steps(StepDefinition(Counting, batch_size=2), StepDefinition(Counting, batch_size=3))
    data = first(frame(7))
    second(first(data))
    assert len(Counting.instances) == 2
    assert Counting.instances[0].batches == [2, 2, 2, 1, 2, 2, 2, 1]
    assert Counting.instances[0].config is None


def test_row_conditions_select_by_mime_type_and_pass_the_rest_through_in_place():
    (step,) = steps(StepDefinition(Counting, condition=RowCondition.IS_IMAGE, batch_size=2))
    data = frame(5, mimes=("text/plain", "image/png"))
    data["keep"] = [1, 2, 3, 4, 5]
    out = step(data)
    assert out["data"].tolist() == data["data"].tolist()
    assert out["keep"].tolist() == [1, 2, 3, 4, 5]
    assert out["seen"].tolist()[1::2] == ["ROW1", "ROW3"]
    assert all(value is None or (isinstance(value, float) and math.isnan(value)) for value in out["seen"][0::2])
    assert Counting.instances[0].batches == [2]


@pytest.mark.parametrize("condition, mime, matches", [
    (RowCondition.IS_TEXT, "text/markdown", True),
    (RowCondition.IS_PDF, "application/pdf", True),
    (RowCondition.IS_PDF, "text/plain", False),
    (RowCondition.IS_VIDEO_OR_AUDIO, "audio/wav", True),
    (RowCondition.IS_VIDEO_OR_AUDIO, "video/mp4", True),
    (RowCondition.IS_VISUAL, "image/png", True),
    (RowCondition.IS_VISUAL, "audio/wav", False),
    (RowCondition.ALWAYS, None, True),
])
def test_row_condition_mime_rules(condition, mime, matches):
    assert condition.matches_mime(mime) is matches


def test_no_matching_row_means_no_processor_at_all():
    (step,) = steps(StepDefinition(Counting, condition=RowCondition.IS_AUDIO))
    assert step(frame(3)).equals(frame(3))
    assert Counting.instances == []


def test_conditions_fall_back_to_blob_type_and_without_either_process_every_row(capsys):
    (step,) = steps(StepDefinition(Counting, condition=RowCondition.IS_TEXT))
    assert step(pd.DataFrame({"data": ["a"], "blob_type": ["text"]}))["seen"].tolist() == ["A"]
    assert step(pd.DataFrame({"data": ["a", "b"]}))["seen"].tolist() == ["A", "B"]
    step(pd.DataFrame({"data": ["c"]}))
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1 and "every row is processed" in warnings[0]


def test_row_counts_are_kept_or_the_step_fails():
    class Dropper(Counting):
        def __call__(self, batch):
            return batch.iloc[:1]

    (step,) = steps(StepDefinition(Dropper, batch_size=3))
    with pytest.raises(RowCountError, match="returned 1 row for a batch of 3") as caught:
        step(frame(3))
    assert caught.value.processor_class is Dropper


def test_a_processor_must_return_a_frame_or_a_dict_of_columns():
    class Columns(Counting):
        def __call__(self, batch):
            return {"data": list(batch["data"]), "n": [1] * len(batch)}

    class Nothing(Counting):
        def __call__(self, batch):
            return None

    (columns,) = steps(StepDefinition(Columns))
    assert columns(frame(2))["n"].tolist() == [1, 1]
    (nothing,) = steps(StepDefinition(Nothing))
    with pytest.raises(ProcessorOutputError, match="returned None"):
        nothing(frame(2))


def test_step_definitions_are_validated_and_disabled_steps_left_out():
    with pytest.raises(ValueError, match="resource_type"):
        StepDefinition(Counting, resource_type="tpu")
    with pytest.raises(ValueError, match="batch_size"):
        StepDefinition(Counting, batch_size=0)
    assert StepDefinition(Counting, resource_type="gpu").resource_type is ResourceType.GPU
    assert len(steps(StepDefinition(Counting, enabled=False), StepDefinition(Counting))) == 1
    with pytest.raises(TypeError, match="StepDefinition"):
        PipelineDefinition("p", "1", [Counting])


def test_processors_are_built_the_way_the_platform_builds_them():
    built = []

    class NoProgress:
        def __init__(self, config):
            built.append(config)

        def __call__(self, batch):
            return batch

    (step,) = steps(StepDefinition(NoProgress, config={"k": 1}))
    step(frame(1))
    assert built == [{"k": 1}]


def test_open_asset_and_download_asset_take_paths_file_urls_and_http(tmp_path):
    target = tmp_path / "clip.bin"
    target.write_bytes(b"\x00\x01media")
    with open_asset(str(target)) as path:
        assert Path(path).read_bytes() == b"\x00\x01media"
    with open_asset(target.as_uri(), ".bin") as path:
        assert path == str(target)
    assert download_asset(target.as_uri()) == str(target)

    handler = lambda *args, **kw: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/clip.bin" % server.server_address[1]
        with open_asset(url) as path:
            assert path.endswith(".bin") and Path(path).read_bytes() == b"\x00\x01media"
        assert not os.path.exists(path)  # the download is removed after the block
        downloaded = download_asset(url, ".x")
        assert downloaded.endswith(".x") and Path(downloaded).read_bytes() == b"\x00\x01media"
        os.unlink(downloaded)
    finally:
        server.shutdown()
    with pytest.raises(FileNotFoundError, match="no such file"):
        with open_asset(str(tmp_path / "missing.png")):
            pass
    with pytest.raises(ValueError, match="s3://"):
        download_asset("s3://bucket/key.png")
    with pytest.raises(TypeError, match="never holds bytes"):
        download_asset(b"\x89PNG")


def test_sdk_helpers_keep_order_and_limit_concurrency():
    assert parallel_io(lambda x: x * 2, range(20), max_workers=4) == [x * 2 for x in range(20)]
    running, peak = [0], [0]

    async def call(x):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.01)
        running[0] -= 1
        return -x

    assert concurrent_api_calls(call, range(10), max_concurrency=3) == [-x for x in range(10)]
    assert peak[0] == 3
    assert concurrent_api_calls(str, [1, 2]) == ["1", "2"]
    with pytest.raises(ValueError):
        parallel_io(str, [1], max_workers=0)


def test_built_in_models_give_deterministic_stand_ins_of_their_size_with_one_warning(capsys):
    service = get_batch_service("intfloat/multilingual-e5-large-instruct")
    again = get_batch_service("e5_large")
    first, second = service.embed(["hello", "world"])
    assert len(first) == 1024 and math.isclose(sum(x * x for x in first), 1.0)
    assert first == again.embed(["hello"])[0] and first != second
    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1 and "stand-in vectors of 1024 numbers" in warnings[0]
    out = get_batch_service("clip")(pd.DataFrame({"data": ["a", "b"]}))
    assert [len(v) for v in out["embedding"]] == [512, 512]
    with pytest.raises(KeyError, match="known:"):
        get_batch_service("gpt-17")


def test_the_serve_base_dispatches_to_whichever_entry_point_is_implemented():
    class Sync(BaseInferenceService):
        def _process_single(self, inputs, parameters):
            return {"n": len(inputs["text"]), "p": parameters}

    class Async(BaseInferenceService):
        async def run_inference(self, inputs, parameters):
            return {"ok": True}

    class Direct(BaseInferenceService):
        async def __call__(self, inputs, parameters=None):
            return {"direct": True}

    assert call_service(Sync(), {"text": "abc"}, {"x": 1}) == {"n": 3, "p": {"x": 1}}
    assert call_service(Async(), {}) == {"ok": True}
    assert call_service(Direct(), {}) == {"direct": True}
    assert Sync.implemented_entry_points() == ["_process_single"]
    assert Sync().logger.name.endswith("Sync")
    with pytest.raises(NotImplementedError, match="implements none"):
        call_service(BaseInferenceService(), {})
    with pytest.raises(ValueError, match="num_replicas"):
        ServeDeploymentConfig(num_replicas=0)


def test_find_service_classes_prefers_the_modules_own():
    import types

    module = types.ModuleType("plugin.realtime")

    class Imported(BaseInferenceService):
        pass

    class Own(BaseInferenceService):
        pass

    Own.__module__ = "plugin.realtime"
    module.Imported, module.Own, module.BaseInferenceService = Imported, Own, BaseInferenceService
    assert find_service_classes(module) == [Own, Imported]


def test_batch_inference_base_checks_row_counts():
    class Half(BaseBatchInferenceService):
        def process_batch(self, batch):
            return batch.iloc[: len(batch) // 2]

    with pytest.raises(ValueError, match="one row per input row"):
        Half()(frame(4))


def test_extractor_models():
    definition = ExtractorDefinition(name="x", version="v1", extractor_function_path=len)
    assert (definition.name, definition.version, definition.requires_file_resolution) == ("x", "v1", False)
    request = ExtractorRequest(ExtractorConfig("x", "1.0.0", parameters={"a": 1}))
    assert request.extractor_config.parameters == {"a": 1}
    assert request.feature_extractor_id == "x_1_0_0"
    with pytest.raises(ValueError):
        ExtractorDefinition(name="", version="1")


def test_sample_records_become_platform_rows(tmp_path):
    (tmp_path / "cat.png").write_bytes(b"\x89PNG....")
    row = record_to_row({"data": "cat.png", "caption": "a cat"}, 0, str(tmp_path), "x_1_0_0")
    assert row["data"] == (tmp_path / "cat.png").as_uri()
    assert (row["mime_type"], row["blob_type"], row["size_bytes"], row["caption"]) == ("image/png", "image", 8, "a cat")
    assert row["feature_extractor_id"] == "x_1_0_0" and row["collection_id"] == "col_local"
    assert row["document_id"].startswith("doc_") and row["document_id"] != record_to_row({"data": "cat.png"}, 1, str(tmp_path))["document_id"]
    text = record_to_row({"data": "hello there"}, 0, str(tmp_path))
    assert (text["data"], text["mime_type"], text["blob_type"], text["size_bytes"]) == ("hello there", "text/plain", "text", 11)
    assert record_to_row({"text": "structured"}, 0, str(tmp_path))["mime_type"] == "text/plain"
    assert blob_type_of("application/pdf") == "pdf" and blob_type_of("video/mp4") == "video"
    with pytest.raises(RecordError, match="no such file"):
        record_to_row({"data": "dog.jpg"}, 0, str(tmp_path))
    with pytest.raises(RecordError, match="never puts bytes"):
        record_to_row({"data": b"raw"}, 0, str(tmp_path))


def test_the_local_container_has_no_secrets_and_no_llm():
    container = LocalContainer()
    assert container.secrets.get("OPENAI_API_KEY") is None
    assert LocalContainer({"K": "v"}).secrets["K"] == "v"
    with pytest.raises(PlatformServiceUnavailable, match="not available in the local runtime"):
        container.llm.generate("hi")
