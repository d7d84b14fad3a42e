"""The manifest is what Mixpeek reads at upload: it must be complete and consistent with the pipeline."""

import re

import pytest

from ..manifest import (
    compute_profile,
    features,
    input_schema,
    metadata,
    output_schema,
    parameter_schema,
    supported_input_types,
)
from ..pipeline import build_steps, extractor_definition
from .test_pipeline import request


def test_metadata_names_the_plugin():
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]{2,63}", metadata["feature_extractor_name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", metadata["version"])
    assert metadata["category"] == "{{category}}"
    assert metadata["description"].strip()
    assert supported_input_types


@pytest.mark.parametrize("schema", [input_schema, output_schema, parameter_schema])
def test_schemas_have_a_json_schema(schema):
    assert schema.model_json_schema()["properties"]


def test_parameter_defaults_validate():
    defaults = parameter_schema()
    assert parameter_schema.model_validate(defaults.model_dump()) == defaults


def test_features_are_declared_with_mixpeeks_key_names():
    for feature in features:
        assert set(feature) == {"feature_type", "feature_name", "embedding_dim", "distance_metric"}
        assert feature["distance_metric"] in ("cosine", "euclid", "dot")
        assert feature["feature_name"] in output_schema.model_fields


def test_the_steps_run_where_compute_profile_says():
    for step in build_steps(request())["steps"]:
        assert step.resource_type.value == compute_profile["resource_type"]
        assert step.batch_size == compute_profile["batch_size"]


def test_extractor_definition_points_at_build_steps():
    assert extractor_definition.name == metadata["feature_extractor_name"]
    assert extractor_definition.version == metadata["version"]
    assert extractor_definition.extractor_function_path is build_steps
