"""Input and output of the document plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from typing import Literal

from pydantic import BaseModel, Field

from processors.media import MediaInput

DOCUMENT_MIME_TYPES = ["application/pdf", "text/plain", "text/markdown", "text/csv"]

# Rows holding a PDF or a plain-text document are sent to this plugin.
ROW_CONDITIONS = [{"field": "mime_type", "operator": "in", "value": DOCUMENT_MIME_TYPES}]


class InputSchema(MediaInput):
    """One document, base64-encoded: a PDF or any text/* file."""

    mime_type: str = Field(
        ...,
        pattern=r"^(application/pdf|text/[\w.+-]+)$",
        description="application/pdf or a text/* type (e.g. text/plain, text/markdown).",
    )


class OutputSchema(BaseModel):
    """The document's text and simple counts over it."""

    format: Literal["pdf", "text"] = Field(..., description="How the bytes were read.")
    page_count: int = Field(
        ...,
        ge=0,
        description="PDF: page objects found (0 if they sit in compressed object streams); text: form feeds + 1.",
    )
    text: str = Field(..., description="Extracted text; for PDF, the strings shown by Tj/TJ/'/\" operators.")
    char_count: int = Field(..., ge=0, description="Characters in `text`.")
    word_count: int = Field(..., ge=0, description="Whitespace-separated words in `text`.")
    line_count: int = Field(..., ge=0, description="Non-empty lines in `text`.")
