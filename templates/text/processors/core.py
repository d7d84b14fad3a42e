"""Text features with the standard library only: word counts, keywords, and a small sentiment lexicon.

Replace the lexicon with a model call (resource type GPU or API) when you need more than a baseline.
"""

import re
from collections import Counter
from typing import Any, Dict, List, Tuple

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves also
    """.split()
)
POSITIVE = frozenset(
    """
    good great excellent amazing awesome love loved lovely like liked nice happy glad pleased delightful
    wonderful fantastic best better perfect enjoy enjoyed fast easy helpful recommend beautiful brilliant
    superb reliable smooth friendly clean impressive fun success successful win
    """.split()
)
NEGATIVE = frozenset(
    """
    bad terrible awful horrible hate hated dislike poor worst worse slow broken bug buggy crash crashed
    difficult hard annoying angry sad disappointed disappointing ugly useless fail failed failure problem
    problems error errors wrong expensive dirty rude boring lost
    """.split()
)
NEGATORS = frozenset("not no never nothing nobody none nor neither cannot without".split())


def tokenize(text: str) -> List[str]:
    """Lower-cased words; apostrophes inside words are kept ("don't")."""
    return WORD.findall(text.lower())


def top_keywords(tokens: List[str], top_k: int) -> List[Dict[str, Any]]:
    """The `top_k` most frequent non-stopwords of 3+ letters, ties broken by first appearance."""
    candidates = [t for t in tokens if len(t) >= 3 and t not in STOPWORDS and not t.isdigit()]
    counts = Counter(candidates)
    first_seen = {}
    for position, token in enumerate(candidates):
        first_seen.setdefault(token, position)
    ranked = sorted(counts, key=lambda word: (-counts[word], first_seen[word]))
    return [{"word": word, "count": counts[word]} for word in ranked[:top_k]]


def is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def sentiment(tokens: List[str]) -> Tuple[float, str]:
    """Score in (-1, 1) from lexicon hits; a negator up to two words before a hit flips it ("not good")."""
    positive = negative = 0
    for index, token in enumerate(tokens):
        polarity = (token in POSITIVE) - (token in NEGATIVE)
        if not polarity:
            continue
        if any(is_negator(previous) for previous in tokens[max(0, index - 2):index]):
            polarity = -polarity
        if polarity > 0:
            positive += 1
        else:
            negative += 1
    score = round((positive - negative) / (positive + negative + 1), 4)
    label = "positive" if score > 0.1 else "negative" if score < -0.1 else "neutral"
    return score, label


def tokenize_step(data: Dict[str, Any]) -> Dict[str, Any]:
    return {**data, "tokens": tokenize(data["text"])}


def keyword_step(data: Dict[str, Any]) -> Dict[str, Any]:
    tokens = data["tokens"]
    return {
        **data,
        "word_count": len(tokens),
        "unique_word_count": len(set(tokens)),
        "keywords": top_keywords(tokens, data["top_k"]),
    }


def sentiment_step(data: Dict[str, Any]) -> Dict[str, Any]:
    score, label = sentiment(data["tokens"])
    return {**data, "sentiment_score": score, "sentiment_label": label}
