"""Daily review signals, lagged covariates and keywords, checked by hand on tiny frames."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from trendcast.errors import DataValidationError
from trendcast.text.covariates import add_text_covariates, text_covariates
from trendcast.text.keywords import keywords, negative_keywords, tokenize
from trendcast.text.signals import daily_signals, rating_sentiment


@pytest.fixture
def reviews() -> pd.DataFrame:
    ts = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 12:00", "2024-01-03 09:00", "2024-01-02 08:00",
                         "2024-01-09 20:00"])
    return pd.DataFrame({"unique_id": ["A", "A", "A", "B", "A"], "ts": ts,
                         "sentiment": [0.9, 0.1, 0.2, 0.8, np.nan]})


def test_daily_signals_by_hand(reviews):
    s = daily_signals(reviews, windows=(2, 7)).set_index(["unique_id", "ds"])
    a1 = s.loc[("A", pd.Timestamp("2024-01-01"))]
    assert (a1["reviews"], a1["negative"], a1["sentiment_2d"]) == (2, 1, 0.5)
    a3 = s.loc[("A", pd.Timestamp("2024-01-03"))]
    # 2-day window = Jan 2..3: one review (0.2, negative); 7-day = Jan 1..3: 3 reviews, 2 negative
    assert (a3["reviews_2d"], a3["neg_share_2d"]) == (1, 1.0) and a3["sentiment_2d"] == pytest.approx(0.2)
    assert a3["reviews_7d"] == 3 and a3["neg_share_7d"] == pytest.approx(2 / 3)
    assert a3["sentiment_7d"] == pytest.approx(1.2 / 3)
    a5 = s.loc[("A", pd.Timestamp("2024-01-05"))]
    assert a5["reviews_2d"] == 0 and np.isnan(a5["neg_share_2d"]) and np.isnan(a5["sentiment_2d"])
    a9 = s.loc[("A", pd.Timestamp("2024-01-09"))]  # unscored review: volume yes, sentiment no
    assert (a9["reviews"], a9["scored"], a9["negative"], a9["reviews_7d"]) == (1, 0, 0, 2)
    assert a9["neg_share_7d"] == 1.0  # Jan 3..9: the one scored review (Jan 3) is negative
    # grid: each product from its first review to the last day of all reviews
    assert s.loc["B"].index.min() == pd.Timestamp("2024-01-02") and s.loc["B"].index.max() == pd.Timestamp("2024-01-09")
    assert len(s) == 9 + 8


def test_daily_signals_rejects_bad_input(reviews):
    with pytest.raises(DataValidationError, match="sentiment"):
        daily_signals(reviews.drop(columns="sentiment"))
    with pytest.raises(DataValidationError, match="windows"):
        daily_signals(reviews, windows=(0,))
    with pytest.raises(DataValidationError, match="probability"):
        daily_signals(reviews.assign(sentiment=2.0))
    assert rating_sentiment(pd.Series([1, 2, 3, 5])).tolist() == [0.0, 0.25, 0.5, 1.0]
    with pytest.raises(DataValidationError, match="1..5"):
        rating_sentiment(pd.Series([0, 4]))


def test_covariates_are_lagged_shrunk_and_persisted_past_the_origin(reviews):
    s = daily_signals(reviews)
    cov = text_covariates(s, pd.date_range("2024-01-01", "2024-01-12"), lag=2, until="2024-01-05",
                          volume_windows=(2,), share_windows=(7,), prior_weight=1.0)
    a = cov[cov["unique_id"] == "A"].set_index("ds")
    # shop share up to the origin: 2 negatives of 4 scored, (2 + 1) / (4 + 2)
    assert cov.attrs["assumptions"]["shop_negative_share"] == 0.5
    # Jan 5 uses Jan 3's windows: 1 review in Jan 2..3; 2 of 3 negative -> (2 + 0.5) / (3 + 1)
    assert a.loc["2024-01-05", "txt_reviews_2d"] == 1 and a.loc["2024-01-05", "txt_neg_share_7d"] == 0.625
    # the first lag days know nothing: no reviews, the shop's share
    assert a.loc["2024-01-01", "txt_reviews_2d"] == 0 and a.loc["2024-01-02", "txt_neg_share_7d"] == 0.5
    # after origin + lag the origin's value repeats: the Jan 9 review is never seen
    assert a.loc["2024-01-07":, "txt_reviews_2d"].eq(a.loc["2024-01-07", "txt_reviews_2d"]).all()
    assert a.loc["2024-01-12", "txt_neg_share_7d"] == a.loc["2024-01-07", "txt_neg_share_7d"]
    frame = pd.DataFrame({"unique_id": ["A", "C"], "ds": pd.to_datetime(["2024-01-05", "2024-01-05"]), "y": 1.0})
    merged = add_text_covariates(frame, s, lag=2, until="2024-01-05", volume_windows=(2,),
                                 share_windows=(7,), prior_weight=1.0).set_index("unique_id")
    assert merged.loc["C", "txt_reviews_2d"] == 0 and merged.loc["C", "txt_neg_share_7d"] == 0.5
    assert merged.loc["A", "txt_reviews_2d"] == 1
    with pytest.raises(DataValidationError, match="lag"):
        text_covariates(s, pd.date_range("2024-01-01", periods=3), lag=-1)


def test_chinese_keywords_are_chinese_words():
    texts = ["充电宝质量太差，充不进电，已退货。", "用了两天就充不进电，客服也不回复。", "非常失望，充电宝充不进电。"]
    words = [w for w, _ in keywords(texts, "zh", top=5)]
    assert words and all(re.search(r"[\u4e00-\u9fff]", w) and len(w) >= 2 for w in words)
    assert "充不进" in words
    assert all(re.search(r"[\u4e00-\u9fff]", w) for w in tokenize("Aurora的充电宝很好用", "zh"))


def test_english_keywords_skip_stop_words_and_contrast_with_background():
    texts = ["The zip broke after two days", "Zip broke, the fabric is fine", "the zip broke again"]
    background = ["The fabric is great", "Lovely fabric and colour", "fabric feels nice"]
    words = [w for w, _ in keywords(texts, "en", top=3, background=background)]
    assert words[:2] == ["zip", "broke"] or words[:2] == ["broke", "zip"]
    assert "the" not in words and "fabric" not in words  # as common in the background


def test_negative_keywords_per_product():
    reviews = pd.DataFrame({
        "unique_id": ["A"] * 4 + ["B"] * 2,
        "text": ["拉链坏了，差评", "拉链又坏了", "很好用，推荐", "面料很舒服", "Great", "Love it"],
        "language": ["zh"] * 4 + ["en"] * 2, "sentiment": [0.1, 0.2, 0.9, 0.8, 0.9, 0.95]})
    kw = negative_keywords(reviews, top=3)
    assert set(kw["unique_id"]) == {"A"}  # B has no negative review
    assert kw.iloc[0]["keyword"] == "拉链" and (kw["n_negative"] == 2).all()
    with pytest.raises(DataValidationError, match="score them first"):
        negative_keywords(reviews.drop(columns="sentiment"))


def test_text_covariates_feed_lightgbm_with_known_future_values():
    from conftest import make_sales
    from trendcast.models.boosting import LightGBMGlobal

    sales = make_sales(n_series=4, n_days=120).drop(columns=["price", "promo"])
    rng = np.random.default_rng(0)
    rows = sales[rng.random(len(sales)) < 0.3]
    reviews = pd.DataFrame({"unique_id": rows["unique_id"], "ts": rows["ds"] + pd.Timedelta(hours=9),
                            "sentiment": rng.random(len(rows))})
    cutoff = sales["ds"].max() - pd.Timedelta(days=7)
    frame = add_text_covariates(sales, daily_signals(reviews), lag=1, until=cutoff)
    assert frame.attrs["text_covariates"]["future"].startswith("values needing reviews after the origin")
    train, future = frame[frame["ds"] <= cutoff], frame[frame["ds"] > cutoff]
    # nothing after the origin leaks in: every future value equals the one on the day after it
    first = future.groupby("unique_id").head(1).set_index("unique_id")["txt_neg_share_28d"]
    assert (future["txt_neg_share_28d"] == future["unique_id"].map(first)).all()
    model = LightGBMGlobal(n_estimators=20, min_child_samples=5, static_features=()).fit(train)
    assert {"txt_reviews_7d", "txt_neg_share_28d"} <= set(model.dynamic_)
    fc = model.predict(7, X_df=future.drop(columns="y"))
    assert len(fc) == 28 and fc["LightGBM"].notna().all()
