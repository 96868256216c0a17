"""External drivers on the simulated shop: does the consumer-confidence index help?

    python benchmarks/drivers.py --json drivers.json                 # seed 7, every model
    python benchmarks/drivers.py --seeds 7 11 --models LightGBM LightGBMDirect

The shop's demand is multiplied by ``exp(0.02 * (confidence - 100))``, a monthly index (a
mean-reverting walk, steps of sd 1.5). Each model runs through the one run path
(``Runner.cross_validation``: 3 windows of 28 days ending on the shop's last day) three ways:

- **without**: the index is not offered (the workspace has no macro table);
- **lagged**: the index is offered as stored (monthly, each month published when it is over),
  so it enters lagged 28 days: every value a window uses was out at its cutoff;
- **given**: the index for the forecast months is supplied (as a scenario would): the
  simulator's own continuation of the index, i.e. a perfect forecast of it (an upper bound).

For a plain model (``LightGBM``) the ``*Drivers`` variant is the one offered the index;
``recommended`` is offered the index and chooses on its validation windows. WAPE pooled over
the 3 windows (sum |error| / sum actuals). ``perfect_correction``: the model without the index,
each forecast multiplied by the index's true effect on its day over its level in the 28 days
before the cutoff (the most that knowing the index exactly could add through that factor).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
H, WINDOWS = 28, 3
MODELS = ("LightGBM", "LightGBMDirect", "recommended")


def _wape(cv: pd.DataFrame, alias: str) -> float:
    return float((cv["y"] - cv[alias]).abs().sum() / cv["y"].abs().sum())


def _cv(name: str, source: object, n_jobs: int) -> tuple[float, list[str], pd.DataFrame]:
    from trendcast.engine.runner import Runner
    from trendcast.models.registry import make_model

    model = make_model(name, horizon=H) if name == "recommended" else make_model(name)
    out = Runner([model], n_jobs=n_jobs).cross_validation(source, H, n_windows=WINDOWS)
    notes = [n for n in out.notes if "chose" in n or "driver" in n]
    cv = out.forecasts.rename(columns={model.alias: "fc"})
    return _wape(cv, "fc"), notes, cv


def _perfect_correction(cv: pd.DataFrame, index: pd.DataFrame) -> float:
    """WAPE of the model without the index once each forecast is multiplied by the index's
    true effect on its day relative to the 28 days before its cutoff (what the lags saw):
    how much knowing the index exactly could gain at most through this factor."""
    daily = index.set_index("ds")["value"].resample("D").ffill()
    daily = daily.reindex(pd.date_range(daily.index[0], cv["ds"].max(), freq="D")).ffill()
    before = {c: daily[c - pd.Timedelta(days=27):c].mean() for c in cv["cutoff"].unique()}
    ref = cv["cutoff"].map(before).to_numpy(dtype=float)
    fc = cv["fc"] * np.exp(0.02 * (daily.reindex(cv["ds"]).to_numpy() - ref))
    return _wape(cv.assign(fc=fc), "fc")


def shop(seed: int, models: tuple[str, ...], n_jobs: int,
         ways: tuple[str, ...] = ("lagged", "given")) -> dict:
    from trendcast.data.simulate import simulate_shop
    from trendcast.engine.runner import FrameSource

    data = simulate_shop(seed=seed)
    index = data.macro[data.macro["name"] == "consumer_confidence"]
    # the same seed simulated 3 months longer: the index's own continuation (its stream is
    # independent of the catalogue size, checked below)
    longer = simulate_shop(seed=seed, end="2026-03-31", n_products=2).macro
    longer = longer[longer["name"] == "consumer_confidence"]
    same = longer.set_index("ds")["value"].reindex(index["ds"]).to_numpy()
    if not np.allclose(same, index["value"].to_numpy()):
        raise RuntimeError("the longer simulation's index differs from the shop's")
    effect = 0.02 * (index["value"] - 100)
    sources = {"without": FrameSource(data.sales, data.products, data.calendar),
               "lagged": FrameSource(data.sales, data.products, data.calendar, macro=index),
               "given": FrameSource(data.sales, data.products, data.calendar, macro=longer)}
    rows = []
    for name in models:
        offered = name if name == "recommended" else name + "Drivers"
        row: dict = {"model": name, "offered": offered}
        row["without"], _, plain = _cv(name, sources["without"], n_jobs)
        row["perfect_correction"] = _perfect_correction(plain, longer)
        for how in ways:
            row[how], row[f"notes_{how}"], _ = _cv(offered, sources[how], n_jobs)
            row[f"change_{how}"] = row[how] / row["without"] - 1
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    return {"seed": seed, "series": len(data.products), "h": H, "windows": WINDOWS,
            "index_effect_sd": float(effect.std()),
            "index_month_change_sd": float(effect.diff().std()), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[7])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--ways", nargs="+", choices=["lagged", "given"], default=["lagged", "given"])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = {"load_before": os.getloadavg()[0],
               "shop": [shop(s, tuple(args.models), args.jobs, tuple(args.ways)) for s in args.seeds],
               "load_after": os.getloadavg()[0]}
    text = json.dumps(results, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
