"""The processing code of {{title}}: processors/core.py holds {{class_name}}Processor."""

from .core import {{class_name}}Config, {{class_name}}Processor

__all__ = ["{{class_name}}Config", "{{class_name}}Processor"]
