"""Keywords of review texts: jieba TF-IDF for Chinese, a small tokenizer + TF-IDF for English.

Chinese keywords are jieba's TF-IDF (``jieba.analyse.extract_tags``' weights: term frequency x
jieba's IDF from a large general corpus), computed on the cached tokens. English keywords are
term frequency in the texts x IDF over a background corpus (the texts themselves when none is
given). With a ``background`` (say, the product's earlier reviews) candidates are re-ranked by
how much more often they occur in the texts than there, so a complaint's new words (a defect)
come before words every review uses.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

from trendcast.errors import DataValidationError

EN_STOPWORDS = frozenset({
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "don", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will",
    "with", "would", "you", "your", "it's", "i'm", "i've", "didn't", "doesn't", "isn't", "wasn't",
    "don't", "can't", "won't", "one", "two",
})
_EN_TOKEN = re.compile(r"[a-z][a-z']+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _jieba() -> Any:
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str, lang: str) -> list[str]:
    """Content words: jieba words with a Chinese character and at least 2 characters (zh), or
    lower-case words of 3+ letters that are not stop words (en)."""
    if lang not in ("zh", "en"):
        raise DataValidationError(f"lang must be 'zh' or 'en', got {lang!r}")
    return list(_tokens(text, lang))


@lru_cache(maxsize=50_000)
def _tokens(text: str, lang: str) -> tuple[str, ...]:
    """:func:`tokenize`, remembered: templated and repeated reviews are cut once per process
    (a product's reviews are tokenized again as its background for every keyword call)."""
    if lang == "zh":
        return tuple(w for w in _jieba().lcut(text) if len(w) >= 2 and _CJK.search(w))
    return tuple(w for w in _EN_TOKEN.findall(text.lower()) if len(w) >= 3 and w not in EN_STOPWORDS)


def _doc_share(docs: list[list[str]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for toks in docs:
        counts.update(set(toks))
    return counts


def keywords(texts: Sequence[str], lang: str, *, top: int = 5,
             background: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """The ``top`` keywords of ``texts`` as ``(word, weight)``, best first.

    Args:
        texts: the reviews to describe.
        lang: ``zh`` or ``en``.
        top: how many keywords.
        background: reviews to contrast with; words no more frequent in ``texts`` than in
            ``background`` are dropped.
    """
    if top < 1:
        raise DataValidationError(f"top must be >= 1, got {top}")
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    # reviews without text (a rating only) have no words: left out of the background too
    background = [t for t in background or () if isinstance(t, str) and t.strip()] or None
    if not texts:
        return []
    docs = [tokenize(t, lang) for t in texts]
    if lang == "zh":
        # jieba's TF-IDF (extract_tags) on the tokens already cut: term frequency x jieba's IDF
        tfidf = _jieba().analyse.default_tfidf
        tf = Counter(w for d in docs for w in d if w.lower() not in tfidf.stop_words)
        total = max(sum(tf.values()), 1)
        candidates = [(w, c / total * tfidf.idf_freq.get(w, tfidf.median_idf)) for w, c in tf.items()]
        candidates.sort(key=lambda x: -x[1])
        candidates = candidates[: top * 5]
    else:
        tf = Counter(w for d in docs for w in d)
        ref = [tokenize(t, lang) for t in background] if background else docs
        df, n = _doc_share(ref), len(ref)
        total = max(sum(tf.values()), 1)
        candidates = [(w, c / total * (math.log((1 + n) / (1 + df[w])) + 1)) for w, c in tf.items()]
        candidates.sort(key=lambda x: -x[1])
        candidates = candidates[: top * 5]
    if background:
        bg = [tokenize(t, lang) for t in background]
        in_texts, in_bg = _doc_share(docs), _doc_share(bg)
        n_t, n_b = len(docs), max(len(bg), 1)
        lifted = []
        for w, s in candidates:
            # smoothed log-ratio of the share of documents containing the word
            lift = math.log((in_texts[w] + 0.5) / (n_t + 1)) - math.log((in_bg[w] + 0.5) / (n_b + 1))
            if lift > 0:
                lifted.append((w, s * lift))
        candidates = sorted(lifted, key=lambda x: -x[1])
    return [(w, round(s, 4)) for w, s in candidates[:top]]


def negative_keywords(reviews: pd.DataFrame, *, top: int = 5, threshold: float = 0.5) -> pd.DataFrame:
    """Top keywords of each product's negative reviews, per language, contrasted with its
    other reviews.

    Args:
        reviews: ``unique_id, text, language, sentiment`` (P(positive)).
        top: keywords per product and language.
        threshold: a review is negative when ``sentiment < threshold``.

    Returns:
        ``unique_id, language, rank, keyword, weight, n_negative``.
    """
    missing = {"unique_id", "text", "language", "sentiment"} - set(reviews.columns)
    if missing:
        raise DataValidationError(f"reviews lack column(s) {sorted(missing)}; score them first "
                                  "(trendcast.services.sentiment.score_reviews)")
    rows = []
    for (uid, lang), part in reviews.groupby(["unique_id", "language"], sort=True):
        if lang not in ("zh", "en"):
            continue
        neg = part["sentiment"] < threshold
        if not neg.any():
            continue
        words = keywords(part.loc[neg, "text"].tolist(), str(lang), top=top,
                         background=part.loc[~neg, "text"].tolist() or None)
        rows += [(uid, lang, i + 1, w, s, int(neg.sum())) for i, (w, s) in enumerate(words)]
    return pd.DataFrame(rows, columns=["unique_id", "language", "rank", "keyword", "weight", "n_negative"])
