"""The manifest contract Mixpeek checks: metadata keys, schemas, sample data."""

import re

import pytest
from pydantic import BaseModel, ValidationError

import manifest
from manifest import InputSchema, OutputSchema, ResourceType, metadata

REQUIRED_KEYS = {
    "name", "version", "description", "author", "category",
    "resource_type", "realtime", "row_conditions", "input_schema", "output_schema",
}
CATEGORIES = {"text", "image", "video", "audio", "document", "multimodal"}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def test_metadata_has_every_required_key():
    assert REQUIRED_KEYS <= set(metadata)


def test_identity_values():
    assert re.fullmatch(r"[a-z][a-z0-9_]*", metadata["name"])
    assert SEMVER.match(metadata["version"])
    assert metadata["category"] in CATEGORIES
    assert isinstance(metadata["description"], str)
    assert isinstance(metadata["author"], str)


def test_resource_type_is_an_enum_member():
    assert isinstance(metadata["resource_type"], ResourceType)
    assert {member.value for member in ResourceType} == {"cpu", "gpu", "api"}


def test_realtime_flag_matches_realtime_module(plugin_root):
    assert metadata["realtime"] is (plugin_root / "realtime.py").is_file()


def test_row_conditions_shape():
    assert metadata["row_conditions"], "say which rows the plugin processes"
    for condition in metadata["row_conditions"]:
        assert set(condition) == {"field", "operator", "value"}
        assert isinstance(condition["field"], str) and condition["field"]
        assert isinstance(condition["operator"], str) and condition["operator"]


@pytest.mark.parametrize("model", [InputSchema, OutputSchema])
def test_schemas_are_pydantic_models_with_documented_fields(model):
    assert issubclass(model, BaseModel)
    schema = model.model_json_schema()
    models = [schema, *schema.get("$defs", {}).values()]
    for sub in models:
        for field_name, prop in sub.get("properties", {}).items():
            assert prop.get("description"), f"{field_name} has no description"


def test_manifest_exports_the_schemas_it_names():
    assert metadata["input_schema"] is manifest.InputSchema
    assert metadata["output_schema"] is manifest.OutputSchema


def test_sample_data_is_valid_input(sample_records):
    assert isinstance(sample_records, list) and 2 <= len(sample_records) <= 4
    for record in sample_records:
        InputSchema.model_validate(record)


def test_empty_record_is_rejected():
    with pytest.raises(ValidationError):
        InputSchema.model_validate({})
