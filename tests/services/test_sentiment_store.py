"""Stored review sentiment: scores are kept per review, text and model version and reused."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from trendcast.data.store import open_store
from trendcast.data.tables import statements_for
from trendcast.services import sentiment as service
from trendcast.services.ingest import ingest_frames
from trendcast.services.sentiment import product_sentiment, score_reviews, text_hash


class CountingModel:
    """A sentiment model that records every text it is asked to score."""

    n_train_ = 10

    def __init__(self, version: str | None = "fake-1") -> None:
        self.version = version
        self.calls: list[list[str]] = []
        self.encoder = SimpleNamespace(config=lambda: {"name": "fake", "prefix": "query", "max_chars": 512})

    def predict_proba(self, texts, progress=None):  # noqa: ANN001 - the SentimentModel signature
        self.calls.append(list(texts))
        pos = np.array([0.9 if ("好" in t or "good" in t) else 0.1 for t in texts])
        return np.column_stack([1 - pos, pos])


def _reviews(texts: list[str | None]) -> pd.DataFrame:
    n = len(texts)
    return pd.DataFrame({
        "review_id": [f"r{i}" for i in range(n)], "unique_id": ["A" if i % 2 else "B" for i in range(n)],
        "ts": pd.date_range("2024-05-01", periods=n, freq="D"), "rating": [None] * n,
        "text": texts, "language": ["zh"] * n})


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "_SCORES", {})  # nothing remembered from other tests
    path = tmp_path / "rev.duckdb"
    texts = ["很好", "太差", "很好", "good value", None, "太差"]
    with open_store(path) as store:
        ingest_frames(store, {"products": pd.DataFrame({"unique_id": ["A", "B"]}),
                              "reviews": _reviews(texts)}, source="test")
    return path


def test_second_run_reuses_stored_scores_and_embeds_nothing(workspace, monkeypatch):
    first_model = CountingModel()
    with open_store(workspace) as store:
        first = score_reviews(store, model=first_model)
        assert sorted(first_model.calls[0]) == ["good value", "太差", "很好"]  # distinct texts once
        stored = store.review_scores("fake-1")
    assert len(stored) == 5  # one row per review with text; r4 has none
    assert set(stored["text_hash"]) == {text_hash(t) for t in ("很好", "太差", "good value")}
    with open_store(workspace, read_only=True) as store:
        one = store.review_scores("fake-1", ["A"])  # product A: r1, r3, r5 (r5 has text)
        assert one["review_id"].tolist() == ["r1", "r3", "r5"]
        model = CountingModel()
        part = score_reviews(store, ids=["A"], model=model)
        assert model.calls == [] and part["sentiment"].notna().sum() == 3

    monkeypatch.setattr(service, "_SCORES", {})  # a new process: only the workspace remembers
    again = CountingModel()
    with open_store(workspace, read_only=True) as store:
        second = score_reviews(store, model=again)
    assert again.calls == []
    pd.testing.assert_series_equal(first["sentiment"], second["sentiment"])
    assert any("0 distinct texts embedded now, 5 of 5 reviews scored from stored scores" in n
               for n in second.attrs["notes"])


def test_only_new_or_edited_texts_are_scored_and_an_edit_replaces_its_row(workspace, monkeypatch):
    with open_store(workspace) as store:
        score_reviews(store, model=CountingModel())
        edited = _reviews(["很好", "太差", "很好", "good value", None, "太差"])
        edited.loc[1, "text"] = "good now"  # r1 edited
        extra = _reviews(["x"] * 7).iloc[[6]].assign(text="全新的评价")  # r6: new review
        ingest_frames(store, {"reviews": pd.concat([edited, extra])}, source="edit")
        monkeypatch.setattr(service, "_SCORES", {})
        model = CountingModel()
        scored = score_reviews(store, model=model).set_index("review_id")
        assert sorted(model.calls[0]) == ["good now", "全新的评价"]
        assert scored.loc["r1", "sentiment"] == pytest.approx(0.9)
        rows = store.review_scores("fake-1")
    assert (rows["review_id"] == "r1").sum() == 1  # the old text's score is gone
    assert rows.set_index("review_id").loc["r1", "text_hash"] == text_hash("good now")
    assert len(rows) == 6


def test_another_model_version_scores_everything_again(workspace):
    with open_store(workspace) as store:
        score_reviews(store, model=CountingModel("fake-1"))
        newer = CountingModel("fake-2")
        score_reviews(store, model=newer)
        assert sorted(newer.calls[0]) == ["good value", "太差", "很好"]
        assert len(store.review_scores("fake-1")) == len(store.review_scores("fake-2")) == 5
        assert store.save_review_scores(store.review_scores("fake-2").assign(model_version="fake-2")) == 0


def test_read_only_workspace_and_unversioned_models_say_scores_are_not_stored(workspace):
    with open_store(workspace, read_only=True) as store:
        out = score_reviews(store, model=CountingModel())
        assert "not stored (the workspace is open read-only)" in " ".join(out.attrs["notes"])
        assert store.review_scores("fake-1").empty
    with open_store(workspace) as store:
        out = product_sentiment(store, model=CountingModel(version=None))
        assert "scores not stored" in " ".join(out.attrs["notes"])


def test_review_scores_table_in_both_dialects():
    pg = " ".join(statements_for("postgres", 6))
    duck = " ".join(statements_for("duckdb", 6))
    assert "review_scores" in pg and '"sentiment" DOUBLE PRECISION' in pg
    assert '"sentiment" DOUBLE' in duck and "CREATE INDEX" not in duck


def test_stored_scores_and_backtest_metrics_on_postgres(pg_url, monkeypatch):
    monkeypatch.setattr(service, "_SCORES", {})
    with open_store(pg_url) as store:
        ingest_frames(store, {"products": pd.DataFrame({"unique_id": ["A", "B"]}),
                              "reviews": _reviews(["很好", "太差", "很好", None])}, source="test")
        first = CountingModel()
        score_reviews(store, model=first)
        assert sorted(first.calls[0]) == ["太差", "很好"]
        assert len(store.review_scores("fake-1")) == 3
        assert store.review_scores("fake-1", ["A"])["review_id"].tolist() == ["r1"]
        monkeypatch.setattr(service, "_SCORES", {})
        again = CountingModel()
        score_reviews(store, model=again)
        assert again.calls == []
        assert store.backtest_metrics().empty


class StoppingModel(CountingModel):
    """Scores its first ``parts`` calls, then stops as a killed or interrupted run would."""

    def __init__(self, parts: int) -> None:
        super().__init__()
        self.parts = parts

    def predict_proba(self, texts, progress=None):  # noqa: ANN001
        if len(self.calls) == self.parts:
            raise KeyboardInterrupt
        return super().predict_proba(texts, progress)


def test_a_long_run_keeps_each_part_it_scored_when_stopped(workspace, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_TEXTS", 2)  # three distinct texts: parts of 2 and 1
    stopping = StoppingModel(parts=1)
    with open_store(workspace) as store, pytest.raises(KeyboardInterrupt):
        score_reviews(store, model=stopping)
    (first_part,) = stopping.calls
    texts = dict(zip([f"r{i}" for i in range(6)], ["很好", "太差", "很好", "good value", None, "太差"],
                     strict=True))
    with open_store(workspace, read_only=True) as store:
        kept = store.review_scores("fake-1")
    # the first part's two texts, for every review that has one of them
    assert len(first_part) == 2
    assert sorted(kept["review_id"]) == sorted(r for r, t in texts.items() if t in first_part)
    monkeypatch.setattr(service, "_SCORES", {})  # a new process
    model = CountingModel()
    with open_store(workspace) as store:
        result = score_reviews(store, model=model)
        (rest,) = model.calls  # only what the stopped run had not scored
        assert sorted(rest) == sorted({"很好", "太差", "good value"} - set(first_part))
        assert len(store.review_scores("fake-1")) == 5
    n_rest = sum(t in rest for t in texts.values())
    assert any(f"1 distinct texts embedded now, {5 - n_rest} of 5 reviews scored from stored "
               f"scores; {n_rest} review score(s) stored" in n for n in result.attrs["notes"])


def test_parts_are_saved_and_counted_once(workspace, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_TEXTS", 2)
    model = CountingModel()
    with open_store(workspace) as store:
        result = score_reviews(store, model=model)
        assert [len(c) for c in model.calls] == [2, 1] and len(store.review_scores("fake-1")) == 5
    assert any("3 distinct texts embedded now" in n and "5 review score(s) stored" in n
               for n in result.attrs["notes"])
