"""Purchase propensity on the Taobao UserBehavior sample: LightGBM, a recency-frequency
baseline, their rank blend and the model trendcast ships (chosen on a validation cutoff,
calibrated), at item (user x item) and category (user x category) level.

    python benchmarks/propensity.py --data ../shared/data/taobao_user_behavior_sample --json out.json

Protocol: events are read with trendcast's taobao preset (Unix seconds -> China time); events
outside the documented window 2017-11-25 .. 2017-12-03 are dropped and counted. Cutoffs are
midnights; the label is "bought in (cutoff, cutoff + days]". The test cutoff is the last one
whose label window the data covers; models train on earlier cutoffs whose label windows end by
then (never random rows). Metrics on the test cutoff's candidate pairs: ROC AUC, average
precision, precision@10/@100/@1%. A paired bootstrap over test pairs gives a 95% interval
for the LightGBM - baseline difference; LightGBM is also refit with five seeds.

Shipped model: chosen on the validation cutoff (test cutoff - days; its training cutoffs'
label windows cut there) by AP and precision@100: LightGBM or the blend ships only when it is
at least as good as the baseline on both and the 90% paired-bootstrap lower bounds of both
leads are above 0 (the higher AP of those that qualify); otherwise the baseline ships. The
shipped model is Platt-calibrated on that cutoff.
Its reliability curve (predicted against observed purchase rate per bin) is measured on the
test cutoff, with the chosen model's raw scores for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trendcast.data.ingest import load_file  # noqa: E402
from trendcast.insights.propensity import evaluate_propensity, prepare_events  # noqa: E402

WINDOW = ("2017-11-25", "2017-12-03")  # documented range, China time, inclusive days
SEEDS = (0, 1, 2, 3, 4)


def load(folder: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    files = sorted(folder.glob("UserBehavior*.csv"))
    if not files:
        raise SystemExit(f"{folder}: no UserBehavior*.csv (see its PROVENANCE.md)")
    events = prepare_events(load_file(files[0], "events", fmt="taobao"))
    lo, hi = pd.Timestamp(WINDOW[0]), pd.Timestamp(WINDOW[1]) + pd.Timedelta(days=1)
    inside = (events["ts"] >= lo) & (events["ts"] < hi)
    info = {"rows_read": int(len(events)), "rows_outside_window_dropped": int((~inside).sum()),
            "rows_used": int(inside.sum()), "users": int(events.loc[inside, "user_id"].nunique())}
    return events[inside].reset_index(drop=True), info


def paired_bootstrap(test: pd.DataFrame, n: int = 500, seed: int = 0) -> dict[str, list[float]]:
    """95% intervals of AUC and AP differences (LightGBM - baseline), resampling test pairs."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(seed)
    y = test["label"].to_numpy(dtype=int)
    a, b = test["p_lightgbm"].to_numpy(), test["p_baseline"].to_numpy()
    d_auc, d_ap = [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if y[i].sum() == 0:
            continue
        d_auc.append(roc_auc_score(y[i], a[i]) - roc_auc_score(y[i], b[i]))
        d_ap.append(average_precision_score(y[i], a[i]) - average_precision_score(y[i], b[i]))
    q = [2.5, 97.5]
    return {"auc_diff_95": np.percentile(d_auc, q).round(4).tolist(),
            "ap_diff_95": np.percentile(d_ap, q).round(4).tolist()}


def run(folder: Path, days: int) -> dict:
    t0 = time.perf_counter()
    events, info = load(folder)
    out: dict = {"data": info, "days": days, "levels": {}}
    for level in ("item", "category"):
        start = time.perf_counter()
        ev = evaluate_propensity(events, days=days, level=level, k=100)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        seeds = [evaluate_propensity(events, days=days, level=level, seed=s).metrics["lightgbm"]
                 for s in SEEDS[1:]]
        seeds.insert(0, ev.metrics["lightgbm"])
        entry = ev.as_dict()
        entry["seconds"] = round(seconds, 1)
        entry["bootstrap"] = paired_bootstrap(ev.test)
        entry["lightgbm_seeds"] = {m: [round(s[m], 4) for s in seeds] for m in ("auc", "ap", "p@100")}
        out["levels"][level] = entry
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def markdown(res: dict) -> str:
    names = {"lightgbm": "LightGBM", "baseline": "recency-frequency LR",
             "blend": "rank blend (LightGBM, LR)"}
    lines = ["| level | model | ROC AUC | AP | P@10 | P@100 | P@1% (k) | test pairs | positive rate |",
             "|---|---|---|---|---|---|---|---|---|"]
    for level, e in res["levels"].items():
        c = e["counts"]
        chosen = e["selection"]["chosen"]
        for name in ("lightgbm", "baseline", "blend", "shipped"):
            if name not in e["metrics"]:
                continue
            m = e["metrics"][name]
            label = names.get(name, f"shipped: {names[chosen]}, calibrated")
            lines.append(f"| {level} | {label} | "
                         f"{m['auc']:.3f} | {m['ap']:.3f} | {m['p@10']:.2f} | {m['p@100']:.2f} | "
                         f"{m['p@1%']:.3f} ({int(m['k_1pct'])}) | {int(c['test_pairs']):,} | "
                         f"{c['test_positive_rate']:.2%} |")
    lines += ["", "| level | validation cutoff | model | AP | P@100 | AP lead over the baseline, "
              "90% bootstrap lower bound | P@100 lead, 90% lower bound | shipped |",
              "|---|---|---|---|---|---|---|---|"]
    for level, e in res["levels"].items():
        s = e["selection"]
        for name, m in s["validation"].items():
            low_ap, low_pk = m.get("ap_lead_low90"), m.get("pk_lead_low90")
            lines.append(f"| {level} | {str(s['validation_cutoff'])[:10]} | {names[name]} | {m['ap']:.3f} | "
                         f"{m['p@100']:.2f} | {'' if low_ap is None else f'{low_ap:+.3f}'} | "
                         f"{'' if low_pk is None else f'{low_pk:+.3f}'} | "
                         f"{'yes' if name == s['chosen'] else ''} |")
    lines += ["", "| level | scores | predicted bin | pairs | mean predicted | observed rate |",
              "|---|---|---|---|---|---|"]
    for level, e in res["levels"].items():
        for which in ("raw", "shipped"):
            cal = e["calibration"][which]
            for r in cal["curve"]:
                lines.append(f"| {level} | {which} | {r['low']:g} - {r['high']:g} | {int(r['pairs']):,} | "
                             f"{r['predicted']:.4f} | {r['observed']:.4f} |")
            lines.append(f"| {level} | {which} | all | {int(e['counts']['test_pairs']):,} | "
                         f"{cal['mean_predicted']:.4f} | {cal['observed_rate']:.4f} (Brier "
                         f"{cal['brier']:.5f}, log loss {cal['log_loss']:.4f}) |")
    lines += ["", "| level | segment (purchases before the cutoff) | users x cutoffs | pairs | bought | "
              "P(buy) of a cold pair |", "|---|---|---|---|---|---|"]
    for level, e in res["levels"].items():
        for r in e["segments"]:
            lines.append(f"| {level} | {r['segment']} | {int(r['users']):,} | {int(r['pairs']):,} | "
                         f"{int(r['bought']):,} | {r['rate']:.6f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="taobao_user_behavior_sample folder")
    parser.add_argument("--days", type=int, default=3, help="label window in days")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--render", type=Path, help="print the tables of a JSON this script wrote, and exit")
    args = parser.parse_args()
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return
    if args.data is None:
        parser.error("--data is required (unless --render)")
    res = run(args.data, args.days)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))
    print(markdown(res))
    print(json.dumps({k: res[k] for k in ("data", "seconds")}))
    for level, e in res["levels"].items():
        print(level, json.dumps({"split": e["split"], "counts": e["counts"], "bootstrap": e["bootstrap"],
                                 "lightgbm_seeds": e["lightgbm_seeds"], "selection": e["selection"]},
                                default=str))


if __name__ == "__main__":
    main()
