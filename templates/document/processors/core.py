"""{{class_name}}Processor: the pages and text of each PDF, with the standard library only.

Pages are the `/Type /Page` objects (not `/Pages`); text is taken from content streams that are
uncompressed or FlateDecode-compressed, reading the string operands of Tj, TJ, ' and ". Fonts with custom
encodings (most PDFs from word processors) need a real PDF library or an OCR step (resource type GPU or API).
"""

import re
import zlib
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Tuple

import pandas as pd

from .media import add_columns, read_bytes

PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b(.*?)\bendobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
FLATE_ONLY = re.compile(rb"/Filter\s*(?:/FlateDecode(?![A-Za-z])|\[\s*/FlateDecode\s*\])")
OCTAL = re.compile(rb"[0-7]{1,3}")
BARE_WORD = re.compile(rb"[^()<>\[\]{}/%\s]+")
LINE_END = re.compile(rb"[\r\n]")
MAX_STREAM_BYTES = 20_000_000  # inflate no more than this from one stream
ESCAPES = {ord("n"): "\n", ord("r"): "\r", ord("t"): "\t", ord("b"): "\b", ord("f"): "\f"}
NEW_LINE_OPERATORS = frozenset(["'", '"', "T*", "Td", "TD", "ET"])
SHOW_OPERATORS = frozenset(["Tj", "TJ", "'", '"'])


def pdf_streams(raw: bytes) -> Iterator[Tuple[bytes, bool]]:
    """(data, was_compressed) for each stream that is uncompressed or FlateDecode-only, in file order."""
    for body in OBJECT.findall(raw):
        found = STREAM.search(body)
        if not found:
            continue
        dictionary, data = body[:found.start()], found.group(1)
        if b"/Filter" not in dictionary:
            yield data, False
        elif FLATE_ONLY.search(dictionary) and b"/Image" not in dictionary:
            try:
                yield zlib.decompressobj().decompress(data, MAX_STREAM_BYTES), True
            except zlib.error:
                continue  # a damaged stream: skip it, keep the rest of the document


def read_escape(content: bytes, pos: int) -> Tuple[str, int]:
    """The character a backslash escape stands for (pos is just after the backslash) and where it ends."""
    octal = OCTAL.match(content, pos)
    if octal:
        return chr(int(octal.group(), 8) & 0xFF), octal.end()
    escaped = content[pos:pos + 1]
    if escaped == b"\r":  # a backslash before an end of line joins the lines
        return "", pos + (2 if content[pos + 1:pos + 2] == b"\n" else 1)
    if escaped == b"\n":
        return "", pos + 1
    return ESCAPES.get(escaped[0], escaped.decode("latin-1")) if escaped else "", pos + len(escaped)


def read_literal(content: bytes, pos: int) -> Tuple[str, int]:
    """The PDF literal string that starts after the '(' at pos-1, and the position after its ')'."""
    out: List[str] = []
    depth = 1
    while pos < len(content):
        char = content[pos]
        if char == 0x5C:  # backslash
            text, pos = read_escape(content, pos + 1)
            out.append(text)
            continue
        pos += 1
        depth += (char == 0x28) - (char == 0x29)  # balanced parentheses need no escape
        if depth == 0:
            return "".join(out), pos
        out.append(chr(char))
    raise ValueError("unterminated PDF string")


def read_hex(content: bytes, pos: int) -> Tuple[str, int]:
    """The PDF hex string that starts after the '<' at pos-1, and the position after its '>'."""
    end = content.find(b">", pos)
    if end < 0:
        raise ValueError("unterminated PDF hex string")
    digits = bytes(c for c in content[pos:end] if c not in b" \t\r\n\f\x00")
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii")).decode("latin-1"), end + 1


def content_tokens(content: bytes) -> Iterator[Tuple[str, Any]]:
    """("string", text), ("[" | "]", None), ("number", value) or ("op", name) for each token of a content stream."""
    pos = 0
    while pos < len(content):
        char = content[pos:pos + 1]
        if content.startswith((b"<<", b">>"), pos):
            pos += 2
        elif char in (b"(", b"<"):
            text, pos = (read_literal if char == b"(" else read_hex)(content, pos + 1)
            yield "string", text
        elif char in (b"[", b"]"):
            yield char.decode(), None
            pos += 1
        elif char == b"%":
            line_end = LINE_END.search(content, pos)
            pos = line_end.end() if line_end else len(content)
        elif not BARE_WORD.match(content, pos):
            pos += 1  # white space, '/', braces
        else:
            word = BARE_WORD.match(content, pos).group()
            pos += len(word)
            try:
                yield "number", float(word)
            except ValueError:
                yield "op", word.decode("latin-1")


def show_text(content: bytes) -> str:
    """The text one content stream shows; operators that move to a new line start a new line."""
    pieces: List[str] = []
    operands: List[str] = []
    in_array = False
    for kind, value in content_tokens(content):
        if kind == "string":
            operands.append(value)
        elif kind == "number" and in_array and value < -200:  # a wide TJ gap is a word space
            operands.append(" ")
        elif kind in ("[", "]"):
            in_array = kind == "["
        elif kind == "op":
            if value in NEW_LINE_OPERATORS and pieces and pieces[-1] != "\n":
                pieces.append("\n")
            if value in SHOW_OPERATORS:
                pieces.append("".join(operands))
            operands = []
    return "".join(pieces)


def read_pdf(raw: bytes) -> Tuple[int, str]:
    """(page count, text) of a PDF. Page objects are counted in the file and inside compressed streams."""
    pages = len(PAGE_OBJECT.findall(raw))
    texts = []
    for data, was_compressed in pdf_streams(raw):
        pages += len(PAGE_OBJECT.findall(data)) if was_compressed else 0
        if b"BT" in data:
            texts.append(stream_text(data))
    return pages, "\n\n".join(text for text in texts if text)


def stream_text(data: bytes) -> str:
    """show_text() of a stream, or "" when the stream turns out not to be a readable content stream."""
    try:
        return show_text(data).strip()
    except ValueError:
        return ""


def describe_pdf(raw: bytes, max_text_chars: int) -> Dict[str, Any]:
    if b"%PDF-" not in raw[:1024]:  # the header may follow a little junk
        raise ValueError("not a PDF: no %PDF- header in the first 1024 bytes")
    page_count, text = read_pdf(raw)
    return {
        "page_count": page_count,
        "text": text[:max_text_chars],
        "char_count": len(text),
        "word_count": len(text.split()),
        "line_count": sum(1 for line in text.splitlines() if line.strip()),
    }


@dataclass
class {{class_name}}Config:
    """What the processor needs from the collection's parameters."""

    max_text_chars: int = 2000

    @classmethod
    def from_params(cls, params):
        return cls(max_text_chars=params.max_text_chars)


class {{class_name}}Processor:
    """Built once per worker; called once per batch of PDF rows (their URLs are in the data column)."""

    def __init__(self, config: {{class_name}}Config, progress_actor=None):
        self.config = config
        self.progress_actor = progress_actor

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        limit = self.config.max_text_chars
        return add_columns(batch, [describe_pdf(read_bytes(url, ".pdf"), limit) for url in batch["data"]])
