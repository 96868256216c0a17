"""Purchase propensity: features, time split, models, base rate, service and command."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA
from trendcast.errors import DataValidationError, NotFoundError
from trendcast.insights.propensity import (
    KEY,
    PlattCalibrator,
    PropensityModel,
    add_labels,
    build_features,
    choose_model,
    evaluate_propensity,
    fit_models,
    make_dataset,
    precision_at_k,
    prepare_events,
    purchase_band,
    ranking_metrics,
    reliability,
    score_pairs,
    segment_rates,
    select_model,
    time_split,
    user_bands,
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
    bad.loc[bad.index[0], "event_type"] = "begin_checkout"
    with pytest.raises(DataValidationError, match="unknown event_type.*'begin_checkout'"):
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


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
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


def test_cold_pairs_get_their_segment_rate_flagged(events):
    split = time_split(events, 3)
    train = make_dataset(events, split.train_cutoffs, 3)
    model = PropensityModel("lightgbm").fit(train, KEY["item"])
    segments = segment_rates(events, split.train_cutoffs, 3)
    assert list(segments["segment"]) == ["0 purchases", "1 purchase", "2-4 purchases", "5+ purchases"]
    # a cold pair's rate is tiny next to the active pairs' rate (the old base rate)
    assert (segments["rate"] < model.base_rate_ / 2).all() and (segments["rate"] > 0).all()
    bands = user_bands(events, split.test_cutoff)
    feats = build_features(events, split.test_cutoff)
    known = feats[list(KEY["item"])].iloc[[0]]
    veteran = bands.index[bands.to_numpy() == "5+ purchases"][0]
    active_items = set(feats.loc[feats["user_id"] == veteran, "item_id"])
    idle_item = next(f"I{i}" for i in range(50) if f"I{i}" not in active_items)
    pairs = pd.concat([known, pd.DataFrame({"user_id": ["NEWCOMER", veteran],
                                            "item_id": ["I1", idle_item]})])
    out = score_pairs(model, feats, pairs=pairs, segments=segments, bands=bands).set_index("user_id")
    rate = segments.set_index("segment")["rate"]
    assert out.loc["NEWCOMER", "probability"] == pytest.approx(rate["0 purchases"])
    assert out.loc["NEWCOMER", "basis"] == "segment: 0 purchases" and out.loc["NEWCOMER", "cold"]
    assert out.loc[veteran, "probability"] == pytest.approx(rate["5+ purchases"])
    assert bool(out.loc[veteran, "cold"])
    first = known["user_id"].iloc[0]
    assert out.loc[first, "basis"] == "model" and not out.loc[first, "cold"]
    # without segments: the old base rate, still flagged
    plain = score_pairs(model, feats, pairs=pairs).set_index("user_id")
    assert plain.loc["NEWCOMER", "probability"] == pytest.approx(model.base_rate_)
    assert plain.loc["NEWCOMER", "basis"] == "base_rate" and plain.loc["NEWCOMER", "cold"]


def test_segment_rate_by_hand():
    t0 = pd.Timestamp("2024-01-01")
    rows = [("A", "I1", "view", t0 + pd.Timedelta(hours=1)),   # A active on I1
            ("A", "I2", "buy", t0 + pd.Timedelta(hours=2)),    # A: 1 purchase before the cutoff
            ("B", "I1", "view", t0 + pd.Timedelta(hours=3)),
            ("A", "I3", "buy", t0 + pd.Timedelta(days=1, hours=5)),  # cold pair bought after
            ("B", "I1", "buy", t0 + pd.Timedelta(days=1, hours=6))]  # active pair: not counted
    ev = prepare_events(pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "ts"]))
    seg = segment_rates(ev, [t0 + pd.Timedelta(days=1)], 2).set_index("segment")
    # targets: I1, I2 (events in the lookback); A has 2 active pairs, B 1
    assert seg.loc["1 purchase", "users"] == 1 and seg.loc["1 purchase", "pairs"] == 0
    assert seg.loc["0 purchases", "users"] == 1 and seg.loc["0 purchases", "pairs"] == 1
    assert seg.loc["1 purchase", "bought"] == 1  # A's I3, cold
    assert seg.loc["0 purchases", "bought"] == 0
    assert list(purchase_band([0, 1, 3, 9])) == ["0 purchases", "1 purchase", "2-4 purchases",
                                                 "5+ purchases"]


@pytest.mark.slow  # ~5-10 s: in CI's slow run, keeping the default suite under its budget
def test_selection_reads_nothing_after_the_validation_cutoff(events):
    split = time_split(events, 3)
    sel = select_model(events, split, k=20)
    val = split.test_cutoff - pd.Timedelta(days=3)
    assert sel.validation_cutoff == val and sel.chosen in ("lightgbm", "baseline")
    # the same choice and figures when the events after the validation window are gone
    cut = select_model(events[events["ts"] <= split.test_cutoff], split, k=20)
    assert cut.chosen == sel.chosen and cut.validation == sel.validation
    # labels of the selection's training cutoffs stop at the validation cutoff
    c = split.train_cutoffs[-1]
    pairs = build_features(events, c)
    capped = add_labels(pairs, events, c, 3, until=val)
    assert capped["label"].sum() <= add_labels(pairs, events, c, 3)["label"].sum()
    assert "precision@20" in sel.reason and "validation cutoff" in sel.reason


@pytest.mark.slow  # ~10 s: in CI's slow run, keeping the default suite under its budget
def test_lightgbm_ships_when_carts_matter_and_baseline_when_it_cannot_win(events):
    strong = evaluate_propensity(events, days=3, level="item", k=50)
    assert strong.shipped == "lightgbm" and "LightGBM ships" in strong.notes[0]
    assert strong.metrics["shipped"]["ap"] == pytest.approx(strong.metrics["lightgbm"]["ap"])
    # carts say nothing: LightGBM has no edge to show and the baseline ships
    flat = prepare_events(behaviour_log(p_buy_cart=0.03, p_buy_view=0.03, seed=4))
    weak = evaluate_propensity(flat, days=3, level="item", k=50)
    assert weak.shipped == "baseline" and "baseline ships" in weak.notes[0]
    assert weak.metrics["shipped"]["ap"] == pytest.approx(weak.metrics["baseline"]["ap"])
    assert "p@50" in weak.metrics["baseline"]


def _ranked(y: np.ndarray, top: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Scores that put the pairs ``top`` first (in order), then ``rest``, then the others."""
    score = np.zeros(len(y))
    order = np.concatenate([top, rest])
    score[order] = np.linspace(1.0, 0.5, len(order))
    return score


def test_rule_ships_the_baseline_when_the_top_of_list_lead_is_noise():
    # 80 buyers among 20,000 pairs; the challenger has 6 of them in its top 100, the baseline
    # 5, and the challenger ranks the other buyers far better (a clear AP lead)
    rng = np.random.default_rng(0)
    y = np.zeros(20000, dtype=int)
    buyers = rng.choice(20000, 80, replace=False)
    y[buyers] = 1
    others = np.setdiff1d(np.arange(20000), buyers)
    fill = rng.permutation(others)
    challenger = _ranked(y, np.concatenate([buyers[:6], fill[:94]]),
                         np.concatenate([buyers[6:], fill[94:300]]))
    baseline = _ranked(y, np.concatenate([buyers[:5], fill[300:395]]), rng.permutation(others)[:2000])
    chosen, reason, m = choose_model(y, {"lightgbm": challenger, "baseline": baseline}, 100)
    # the AP lead is clear and LightGBM is ahead on both: the old rule would have shipped it
    assert m["lightgbm"]["ap"] > m["baseline"]["ap"] and m["lightgbm"]["ap_lead_low90"] > 0
    assert m["lightgbm"]["p@100"] == 0.06 and m["baseline"]["p@100"] == 0.05
    # one buyer more in the top 100 is within the noise: the baseline ships
    assert m["lightgbm"]["pk_lead_low90"] <= 0
    assert chosen == "baseline" and "no clear lead" in reason and "80 buyers" in reason
    # the same lead with ten times the buyers at the top clears the noise
    strong = _ranked(y, np.concatenate([buyers[:60], fill[:40]]), buyers[60:])
    chosen, reason, m = choose_model(y, {"lightgbm": strong, "baseline": baseline}, 100)
    assert chosen == "lightgbm" and m["lightgbm"]["pk_lead_low90"] > 0 and "LightGBM ships" in reason


def test_rule_ships_the_blend_when_it_wins_validation():
    rng = np.random.default_rng(1)
    y = (rng.random(5000) < 0.05).astype(int)
    noise = rng.normal(size=(3, 5000))
    scores = {"baseline": y * 0.5 + noise[0], "lightgbm": y * 1.0 + noise[1],
              "blend": y * 2.0 + noise[2]}
    chosen, reason, m = choose_model(y, scores, 50)
    assert chosen == "blend" and reason.startswith("the rank blend of LightGBM and the baseline ships")
    assert m["lightgbm"]["pk_lead_low90"] > 0  # LightGBM also qualifies; the blend leads it
    assert m["blend"]["ap"] > m["lightgbm"]["ap"]
    # LightGBM beats the blend: LightGBM ships
    chosen, _, _ = choose_model(y, {**scores, "blend": y * 0.6 + noise[2]}, 50)
    assert chosen == "lightgbm"
    with pytest.raises(Exception, match="baseline"):
        choose_model(y, {"lightgbm": scores["lightgbm"]}, 50)


def test_blend_scores_a_pair_alike_alone_or_in_a_list(events):
    split = time_split(events, 3)
    train = make_dataset(events, split.train_cutoffs, 3)
    test = make_dataset(events, [split.test_cutoff], 3)
    models = fit_models(train, KEY["item"])
    blend = models["blend"]
    p = blend.predict_proba(test)
    assert ((p > 0) & (p < 1)).all()
    assert blend.predict_proba(test.iloc[[7]])[0] == pytest.approx(p[7])
    # a pair both models put above another is above it in the blend
    a, b = models["lightgbm"].predict_proba(test), models["baseline"].predict_proba(test)
    i, j = np.argmax(a + b), np.argmin(a + b)
    assert a[i] > a[j] and b[i] > b[j] and p[i] > p[j]
    # fitted on its own it is the same model
    again = PropensityModel("blend").fit(train, KEY["item"]).predict_proba(test)
    assert np.allclose(again, p)
    # calibrated, it gives probabilities near the observed rate
    y = test["label"].to_numpy(dtype=int)
    cal = PlattCalibrator().fit(p, y, blend.base_rate_)
    assert abs(cal.transform(p, blend.base_rate_).mean() - y.mean()) < 0.01


def test_calibration_and_reliability():
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.0, 0.2, 20000)
    y = (rng.random(20000) < truth).astype(int)
    over = np.clip(truth * 2.5, 0, 0.99)  # a model three times too sure of buyers
    cal = PlattCalibrator().fit(over, y, train_rate=0.1)
    fixed = cal.transform(over, 0.1)
    assert abs(fixed.mean() - y.mean()) < 0.01 < abs(over.mean() - y.mean())
    curve = reliability(y, fixed)
    assert sum(r["pairs"] for r in curve) == 20000
    for r in curve:
        if r["pairs"] > 1000:
            assert abs(r["predicted"] - r["observed"]) < 0.03
    # order is kept: the ranking metrics of a calibrated model are its raw ones
    assert ranking_metrics(y, fixed)["ap"] == pytest.approx(ranking_metrics(y, over)["ap"])
    assert not PlattCalibrator().fit(over, np.zeros(20000, dtype=int), 0.1).fitted_


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


@pytest.mark.slow  # ~10 s: in CI's slow run, keeping the default suite under its budget
def test_service_scores_pairs_now(store):
    from trendcast.services.ingest import ingest_frames
    from trendcast.services.propensity import run_propensity

    with pytest.raises(NotFoundError, match="no behaviour events"):
        run_propensity(store)
    ingest_frames(store, {"events": _stored_log(200)}, source="test")
    run = run_propensity(store, days=3, top=5, k=50)
    assert len(run.scores) == 5 and run.scores["probability"].is_monotonic_decreasing
    assert run.holdout["lightgbm"]["auc"] > 0.7 and "p@50" in run.holdout["shipped"]
    assert run.model in ("lightgbm", "baseline", "blend") and run.selection["chosen"] == run.model
    assert pd.Timestamp(run.split["now"]) == pd.Timestamp("2024-03-15")
    assert any("segment rate" in n for n in run.notes)
    assert not run.scores["cold"].any()
    asked = pd.DataFrame({"user_id": ["U1", "NOBODY"], "item_id": ["I1", "I2"]})
    some = run_propensity(store, days=3, k=50, pairs=asked)
    cold = some.scores.set_index("user_id")
    assert bool(cold.loc["NOBODY", "cold"]) and cold.loc["NOBODY", "basis"] == "segment: 0 purchases"
    assert cold.loc["NOBODY", "probability"] < 0.05


@pytest.mark.slow  # ~10 s: in CI's slow run, keeping the default suite under its budget
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
    assert len(payload["scores"]) == 3 and set(payload["holdout"]) == {"lightgbm", "baseline", "blend", "shipped"}
    assert payload["model"] == payload["selection"]["chosen"]
    assert payload["calibration"]["shipped"]["curve"] and payload["segments"]
    res = CliRunner().invoke(app, ["propensity", "--db", str(db_path), "--top", "3", "--k", "20"])
    assert res.exit_code == 0 and "precision@20" in res.output
    asked = db_path.parent / "pairs.csv"
    asked.write_text("user_id,item_id\nSTRANGER,I3\n")
    res = CliRunner().invoke(app, ["propensity", "--db", str(db_path), "--pairs", str(asked), "--json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["scores"][0]
    assert row["user_id"] == "STRANGER" and row["cold"] and row["basis"] == "segment: 0 purchases"
    asked.write_text("user,item\nX,Y\n")
    res = CliRunner().invoke(app, ["propensity", "--db", str(db_path), "--pairs", str(asked)])
    text = re.sub(r"[│╭╮╰╯─\s]+", " ", res.output)
    assert res.exit_code == 2 and "missing column(s) ['user_id', 'item_id']" in text
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
    assert result.selection.validation_cutoff == pd.Timestamp("2017-11-28")
