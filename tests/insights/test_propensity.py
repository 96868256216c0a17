"""Purchase propensity: features, time split, models, base rate, service and command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.insights.propensity import (
    KEY,
    PropensityModel,
    build_features,
    evaluate_propensity,
    make_dataset,
    precision_at_k,
    prepare_events,
    ranking_metrics,
    score_pairs,
    time_split,
)

TAOBAO = SHARED_DATA / "taobao_user_behavior_sample" / "UserBehavior_head.csv"


def behaviour_log(n_users: int = 200, n_items: int = 50, n_days: int = 14, seed: int = 0,
                  p_buy_cart: float = 0.6, p_buy_view: float = 0.01) -> pd.DataFrame:
    """Users view random items; a carted item is bought 1-60 hours later with ``p_buy_cart``,
    an item only viewed with ``p_buy_view``: carts truly predict buying."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-03-01")
    n_views = rng.poisson(3, (n_users, n_days))
    user = np.repeat(np.repeat(np.arange(n_users), n_days), n_views.ravel())
    day = np.repeat(np.tile(np.arange(n_days), n_users), n_views.ravel())
    item = rng.integers(0, n_items, len(user))
    ts = start + pd.to_timedelta(day * 86400 + rng.integers(0, 86400, len(user)), unit="s")
    cart = rng.random(len(user)) < 0.15
    buy = rng.random(len(user)) < np.where(cart, p_buy_cart, p_buy_view)
    frames = [pd.DataFrame({"u": user, "i": item, "t": "pv", "ts": ts})]
    frames.append(pd.DataFrame({"u": user[cart], "i": item[cart], "t": "cart",
                                "ts": ts[cart] + pd.Timedelta(minutes=5)}))
    later = pd.to_timedelta(rng.uniform(1, 60, int(buy.sum())), unit="h")
    frames.append(pd.DataFrame({"u": user[buy], "i": item[buy], "t": "buy", "ts": ts[buy] + later}))
    df = pd.concat(frames, ignore_index=True)
    df = df[df["ts"] < start + pd.Timedelta(days=n_days)]
    return pd.DataFrame({"user_id": "U" + df["u"].astype(str), "item_id": "I" + df["i"].astype(str),
                         "category_id": "C" + (df["i"] % 6).astype(str), "event_type": df["t"],
                         "ts": df["ts"]}).drop_duplicates(["user_id", "item_id", "event_type", "ts"])


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return prepare_events(behaviour_log())


def test_prepare_events_maps_aliases_and_rejects_unknown_types():
    ev = prepare_events(behaviour_log(n_users=5, n_days=3))
    assert set(ev["event_type"]) <= {"view", "cart", "fav", "buy"} and "view" in set(ev["event_type"])
    bad = behaviour_log(n_users=5, n_days=3)
    bad.loc[bad.index[0], "event_type"] = "wishlist"
    with pytest.raises(DataValidationError, match="unknown event_type.*'wishlist'"):
        prepare_events(bad)
    with pytest.raises(DataValidationError, match="lack column"):
        prepare_events(bad.drop(columns="ts"))


def test_features_count_windows_and_recency(events):
    cutoff = pd.Timestamp("2024-03-08")
    feats = build_features(events, cutoff).set_index(list(KEY["item"]))
    pair = feats.index[0]
    own = events[(events["user_id"] == pair[0]) & (events["item_id"] == pair[1])
                 & (events["ts"] <= cutoff)]
    for w in (1, 3, 7):
        in_w = own[own["ts"] > cutoff - pd.Timedelta(days=w)]
        assert feats.loc[pair, f"pair_view_{w}d"] == (in_w["event_type"] == "view").sum()
    last = own["ts"].max()
    assert feats.loc[pair, "pair_hrs_since_any"] == pytest.approx((cutoff - last) / pd.Timedelta(hours=1))


def test_carts_predict_buying_beyond_a_shuffled_control(events):
    result = evaluate_propensity(events, days=3, level="item")
    auc = result.metrics["lightgbm"]["auc"]
    # Shuffled-label control: same features and split, labels permuted before training.
    split = result.split
    train = make_dataset(events, split.train_cutoffs, 3)
    train["label"] = np.random.default_rng(1).permutation(train["label"].to_numpy())
    control = PropensityModel("lightgbm").fit(train, KEY["item"])
    y = result.test["label"].to_numpy()
    control_auc = ranking_metrics(y, control.predict_proba(result.test))["auc"]
    assert auc > 0.7
    assert auc > control_auc + 0.15
    # The recency-frequency baseline cannot tell a cart from a view: its top ranks are worse.
    assert result.metrics["lightgbm"]["ap"] > result.metrics["baseline"]["ap"] + 0.05
    assert result.counts["test_positive_rate"] == pytest.approx(y.mean())


def test_time_split_never_leaks(events):
    days = 3
    split = time_split(events, days)
    assert split.now == events["ts"].max().normalize() + pd.Timedelta(days=1)
    assert split.test_cutoff == split.now - pd.Timedelta(days=days)
    assert split.train_cutoffs and all(c + pd.Timedelta(days=days) <= split.test_cutoff
                                       for c in split.train_cutoffs)
    # Training labels and features are unchanged when nothing after the test cutoff exists.
    full = make_dataset(events, split.train_cutoffs, days)
    cut = make_dataset(events[events["ts"] <= split.test_cutoff], split.train_cutoffs, days)
    pd.testing.assert_frame_equal(full, cut)
    # Features at a cutoff read nothing after it.
    c = split.train_cutoffs[-1]
    pd.testing.assert_frame_equal(build_features(events, c),
                                  build_features(events[events["ts"] <= c], c))


def test_user_without_history_gets_the_base_rate(events):
    split = time_split(events, 3)
    train = make_dataset(events, split.train_cutoffs, 3)
    model = PropensityModel("lightgbm").fit(train, KEY["item"])
    assert model.base_rate_ == pytest.approx(train["label"].mean())
    feats = build_features(events, split.test_cutoff)
    known = feats[list(KEY["item"])].iloc[[0]]
    pairs = pd.concat([known, pd.DataFrame({"user_id": ["NEWCOMER"], "item_id": ["I1"]})])
    out = score_pairs(model, feats, pairs=pairs).set_index("user_id")
    assert out.loc["NEWCOMER", "probability"] == pytest.approx(model.base_rate_)
    assert out.loc["NEWCOMER", "basis"] == "base_rate"
    assert out.loc[known["user_id"].iloc[0], "basis"] == "model"


def test_too_little_data_is_a_clear_error():
    short = prepare_events(behaviour_log(n_users=20, n_days=5))
    with pytest.raises(DataValidationError, match="too little behaviour data.*--days"):
        time_split(short, 3)


def test_precision_at_k():
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.0])
    assert precision_at_k(y, s, 1) == 1.0
    assert precision_at_k(y, s, 2) == 0.5
    assert precision_at_k(y, s, 3) == pytest.approx(2 / 3)
    m = ranking_metrics(y, s)
    assert m["k_1pct"] == 1 and m["auc"] == pytest.approx(5 / 6)


def test_category_level(events):
    result = evaluate_propensity(events, days=3, level="category")
    assert {"user_id", "category_id"} <= set(result.test.columns)
    assert result.metrics["lightgbm"]["auc"] > 0.6


def _stored_log(n_users: int) -> pd.DataFrame:
    log = behaviour_log(n_users=n_users)
    log["event_type"] = log["event_type"].replace({"pv": "view"})
    return log


def test_service_scores_pairs_now(store):
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.propensity import run_propensity

    with pytest.raises(NotFoundError, match="no behaviour events"):
        run_propensity(store)
    ingest_frames(store, {"events": _stored_log(200)}, source="test")
    run = run_propensity(store, days=3, top=5)
    assert len(run.scores) == 5 and run.scores["probability"].is_monotonic_decreasing
    assert run.holdout["lightgbm"]["auc"] > 0.7
    assert pd.Timestamp(run.split["now"]) == pd.Timestamp("2024-03-15")
    assert any("base rate" in n for n in run.notes)


def test_propensity_command(db_path):
    from typer.testing import CliRunner

    from trendcast.cli import app
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_frames

    with open_store(db_path) as s:
        ingest_frames(s, {"events": _stored_log(80)}, source="test")
    res = CliRunner().invoke(app, ["propensity", "--db", str(db_path), "--top", "3", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert len(payload["scores"]) == 3 and set(payload["holdout"]) == {"lightgbm", "baseline"}
    res = CliRunner().invoke(app, ["propensity", "--db", str(db_path), "--days", "9"])
    assert res.exit_code != 0 and "too little behaviour data" in str(res.exception)


@pytest.mark.slow
def test_taobao_sample_lightgbm_beats_the_baseline():
    if not TAOBAO.exists():
        pytest.skip(f"Taobao sample not found at {TAOBAO} (../shared/data beside the repo)")
    from trendcast.data.ingest import load_file

    ev = prepare_events(load_file(TAOBAO, "events", fmt="taobao"))
    ev = ev[(ev["ts"] >= "2017-11-25") & (ev["ts"] < "2017-12-04")]
    result = evaluate_propensity(ev, days=3, level="item")
    assert result.metrics["lightgbm"]["auc"] > result.metrics["baseline"]["auc"]
