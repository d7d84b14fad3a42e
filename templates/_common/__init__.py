"""{{title}}: {{description}}

A Mixpeek {{category}} plugin. Mixpeek imports this folder as the package `{{name}}`, so its modules import
one another relatively (`from .manifest import ...`).
"""

from .manifest import input_schema, metadata, output_schema, parameter_schema
from .pipeline import build_steps, extractor_definition

__version__ = metadata["version"]

__all__ = [
    "build_steps",
    "extractor_definition",
    "input_schema",
    "metadata",
    "output_schema",
    "parameter_schema",
]
