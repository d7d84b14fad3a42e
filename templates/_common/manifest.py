"""Plugin manifest: what this plugin is, what it runs on and which rows it handles.

Mixpeek (and `mixpeek plugin test`) imports this module and reads `metadata`, `InputSchema`
and `OutputSchema`. Edit the identity below here; edit the schemas in schemas.py.
"""

from enum import Enum

from schemas import ROW_CONDITIONS, InputSchema, OutputSchema


class ResourceType(str, Enum):
    """Where the plugin's work runs. Mirrors the platform's ResourceType, so the plugin runs with pydantic alone."""

    CPU = "cpu"  # text embeddings, classification, parsing
    GPU = "gpu"  # local models such as Whisper or CLIP
    API = "api"  # external services such as OpenAI or Vertex


metadata = {
    "name": "{{name}}",
    "version": "{{version}}",
    "description": "{{description}}",
    "author": "{{author}}",
    "category": "{{category}}",
    "resource_type": ResourceType("{{resource_type}}"),
    "realtime": "{{realtime}}" == "True",
    "row_conditions": ROW_CONDITIONS,
    "input_schema": InputSchema,
    "output_schema": OutputSchema,
}

__all__ = ["InputSchema", "OutputSchema", "ResourceType", "metadata"]
