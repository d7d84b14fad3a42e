"""The PDF reader on documents assembled here object by object, then the processor on the samples."""

import zlib
from pathlib import Path

import pandas as pd
import pytest

from ..processors.core import {{class_name}}Config, {{class_name}}Processor, describe_pdf, read_literal, read_pdf, show_text

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


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


def test_a_pdf_needs_a_pdf_header():
    with pytest.raises(ValueError, match="not a PDF"):
        describe_pdf(b"plain text", 100)


def test_the_processor_on_the_sample_files():
    urls = [(SAMPLES / name).as_uri() for name in ("two-pages.pdf", "compressed.pdf")]
    batch = pd.DataFrame({"data": urls, "mime_type": "application/pdf"})
    out = {{class_name}}Processor({{class_name}}Config())(batch)
    assert out["page_count"].tolist() == [2, 1]
    assert out["text"][0] == "Hello, Mixpeek!\nPlugins (with parens) work.\n\nKerned text\nSecond line"
    assert out["text"][1] == "Compressed page"
    assert (out["word_count"][0], out["line_count"][0]) == (10, 4)


def test_the_text_is_cut_at_max_text_chars():
    url = (SAMPLES / "two-pages.pdf").as_uri()
    out = {{class_name}}Processor({{class_name}}Config(max_text_chars=5))(pd.DataFrame({"data": [url]}))
    assert out["text"][0] == "Hello" and out["char_count"][0] > 5
