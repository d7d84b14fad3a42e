"""The document readers on text and on PDFs assembled here object by object, then sample_data.json."""

import base64
import zlib

import pytest
from pydantic import ValidationError

from manifest import InputSchema
from pipeline import build_steps
from processors.core import decode_text, read_literal, read_pdf, show_text
from processors.runner import run_steps


def pdf(*objects: bytes) -> bytes:
    """A PDF body with numbered objects (no xref table: the reader here does not need one)."""
    numbered = (b"%d 0 obj\n%s\nendobj\n" % (number, body) for number, body in enumerate(objects, start=1))
    return b"%PDF-1.7\n" + b"".join(numbered) + b"%%EOF\n"


def stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(content), extra, content)


def test_literal_strings_and_their_escapes():
    content = rb"(a\(b\)c\\d (nested) \101\53\0537\t\q end\
joined)rest"
    text, end = read_literal(content, 1)
    assert text == "a(b)c\\d (nested) A++7\tq endjoined"
    assert content[end:] == b"rest"
    with pytest.raises(ValueError, match="unterminated"):
        read_literal(b"(never closed", 1)


def test_show_text_operators():
    content = b"""% a comment (not text) Tj
    /Span <</MCID 0>> BDC BT /F1 12 Tf 72 700 Td (Hello,) Tj [(Mix) 20 (peek) -400 (plugins)] TJ
    0 -14 Td <576F726C64> Tj T* (line three) Tj (four) ' 1 2 (five) " ET EMC"""
    assert show_text(content) == "Hello,Mixpeek plugins\nWorld\nline three\nfour\nfive\n"


def test_pages_are_counted_without_the_pages_tree():
    page = b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>"
    raw = pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page,
              stream(b"BT (Only page) Tj ET"))
    assert read_pdf(raw) == (1, "Only page")


def test_flate_streams_are_read_and_other_filters_skipped():
    compressed = zlib.compress(b"BT (Deflated text) Tj ET")
    hidden_pages = zlib.compress(b"<< /Type /Page >> << /Type /Page >> << /Type /Pages >>")
    raw = pdf(
        stream(compressed, b"/Filter /FlateDecode "),
        stream(hidden_pages, b"/Type /ObjStm /Filter [/FlateDecode] "),
        stream(b"BT (not read) Tj ET", b"/Filter [/FlateDecode /ASCII85Decode] "),
        stream(b"garbage", b"/Filter /FlateDecode "),
    )
    assert read_pdf(raw) == (2, "Deflated text")


def test_text_files_decode_and_split_pages_on_form_feeds():
    assert decode_text("\ufeffcafé".encode("utf-8")) == "café"
    assert decode_text("café".encode("latin-1")) == "café"
    output = run_steps(build_steps(), {"data_base64": base64.b64encode(b"one\n\ntwo three\fpage two").decode(),
                                       "mime_type": "text/plain"})
    counts = (output["format"], output["page_count"], output["word_count"], output["line_count"])
    assert counts == ("text", 2, 5, 3)  # a form feed also ends a line


def test_pdf_mime_type_needs_a_pdf_header():
    record = {"data_base64": base64.b64encode(b"not a pdf").decode(), "mime_type": "application/pdf"}
    with pytest.raises(ValueError, match="%PDF-"):
        run_steps(build_steps(), record)


def test_input_mime_types():
    markdown = InputSchema.model_validate({"data_base64": "AA==", "mime_type": "text/markdown"})
    assert markdown.mime_type == "text/markdown"
    with pytest.raises(ValidationError):
        InputSchema.model_validate({"data_base64": "AA==", "mime_type": "application/msword"})


def test_pipeline_on_sample_data(sample_records):
    outputs = [run_steps(build_steps(), record) for record in sample_records]
    assert [(o["format"], o["page_count"]) for o in outputs] == [("text", 2), ("pdf", 2), ("pdf", 1)]
    assert outputs[1]["text"] == "Hello, Mixpeek!\nPlugins (with parens) work.\n\nKerned text\nSecond line"
    assert outputs[2]["text"] == "Compressed page"
    assert (outputs[1]["word_count"], outputs[1]["line_count"]) == (10, 4)
