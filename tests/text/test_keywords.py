"""Keywords of negative reviews when some reviews have no text (a rating only)."""

from __future__ import annotations

import pandas as pd

from trendcast.text.keywords import keywords, negative_keywords


def test_reviews_without_text_in_the_background_are_left_out():
    words = keywords(["battery died fast", "battery broke"], "en",
                     background=["great sound", None, float("nan"), "  "])
    assert words and words[0][0] == "battery"


def test_negative_keywords_of_a_product_with_empty_reviews():
    reviews = pd.DataFrame({
        "unique_id": ["A"] * 5, "language": ["en"] * 5,
        "text": ["battery died fast", "battery broke", "great sound", None, None],
        "sentiment": [0.1, 0.2, 0.9, float("nan"), 0.8]})
    out = negative_keywords(reviews, top=3)
    assert out["keyword"].iloc[0] == "battery"
    assert set(out["n_negative"]) == {2}
