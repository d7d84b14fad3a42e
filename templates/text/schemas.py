"""Input and output of the text plugin. manifest.py re-exports these; Mixpeek reads them from there."""

from typing import List, Literal

from pydantic import BaseModel, Field

# Rows that have a `text` field are sent to this plugin.
ROW_CONDITIONS = [{"field": "text", "operator": "exists", "value": True}]


class InputSchema(BaseModel):
    """One text to analyse."""

    text: str = Field(..., min_length=1, max_length=1_000_000, description="The text to analyse.")
    top_k: int = Field(5, ge=1, le=50, description="How many keywords to return.")


class Keyword(BaseModel):
    """A frequent content word."""

    word: str = Field(..., description="The keyword, lower-cased.")
    count: int = Field(..., ge=1, description="How often it occurs in the text.")


class OutputSchema(BaseModel):
    """Keyword features and a lexicon sentiment score."""

    word_count: int = Field(..., ge=0, description="Number of word tokens.")
    unique_word_count: int = Field(..., ge=0, description="Number of distinct word tokens.")
    keywords: List[Keyword] = Field(..., description="Most frequent words that are not stopwords, most frequent first.")
    sentiment_score: float = Field(
        ..., ge=-1.0, le=1.0, description="(positive - negative) / (positive + negative + 1) over lexicon hits."
    )
    sentiment_label: Literal["negative", "neutral", "positive"] = Field(
        ..., description="negative below -0.1, positive above 0.1, neutral otherwise."
    )
