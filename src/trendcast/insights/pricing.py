"""Price elasticity per product from its own price changes, pooled across a department or
category, and what a price change would do.

Model: a Poisson GLM with log link, ``log E[y] = a + e log(price) + controls``, so ``e`` is the
elasticity of a constant-elasticity demand curve. Daily sales are small counts with many zeros:
Poisson keeps the zeros and is consistent for the mean even when counts are overdispersed
(standard errors are the robust, sandwich ones), whereas OLS on log(y + 1) pulls the
coefficient toward zero when counts are low (on the simulated shop, where the truth is
known, it is biased by about +0.4; see docs/benchmarks.md). Controls: day of week, yearly
Fourier terms (once there is a year of history), a piecewise-linear trend (a knot every
``knot_days``), a flag per calendar event *name* (festivals of one kind move demand very
differently: the shop's Double 11 quadruples it, the Spring Festival halves it) plus "an event
within three days", and the promotion flag where present.

Promotions: a product's price falls exactly when its promotion runs, so its own data barely
separate the price effect from the promotion's extra lift. The lift is therefore estimated per
product, pooled into one shop-wide value (random-effects mean) and held fixed as an offset in
a second pass. Without this the simulated shop's errors double.

Pooling: each group (department, else category) with ``min_group`` products of their own
estimate gets a random-effects (DerSimonian-Laird) mean and between-product variance tau^2.
Every estimate is shrunk toward its group mean with weight tau^2 / (tau^2 + se^2) on its own
(empirical Bayes; ``weight_own`` in the output). Where the estimate comes from is the
``estimate`` column: ``own`` (weight_own >= 0.9), ``shrunk`` (in between) or ``pooled``
(weight_own < 0.1, fewer than ``min_changes`` price changes, or no estimate of its own). A
group whose products look alike (tau^2 = 0) gives every member weight 0: they all get the
group mean, and are ``pooled``. With no estimate of their own products get the group mean
with the spread of a new product (sqrt(tau^2 + se_mean^2)). Products with neither get NaN and
a note, never an invented number.

Suggested prices (:func:`price_decisions`) maximise revenue, margin or units on the
constant-elasticity curve within the bounds, a minimum margin and the stock on hand; a
change is suggested only for an ``own`` or ``shrunk`` estimate whose 95% interval lies below
zero, else the row says ``keep`` and why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError
from trendcast.features.calendar import event_features

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ElasticityOptions:
    """Settings of the per-product fit and the pooling."""

    min_changes: int = 4  # price changes a product needs for its own estimate
    change_tol: float = 0.005  # |change of log price| that counts as a change
    knot_days: int = 180  # trend knots
    min_days: int = 56  # days of history (with a price) needed to fit at all
    min_group: int = 3  # per-product estimates a group needs to pool
    method: str = "poisson"  # or "ols_log1p" (for comparison)
    pool_promo: bool = True  # one shop-wide promotion uplift (see the module docstring)
    shrink: bool = True  # shrink every estimate toward its group by its precision
    own_weight: float = 0.9  # weight_own at or above which an estimate is the product's "own"
    pooled_weight: float = 0.1  # below which it is "pooled" (the group's, not the product's)


def event_controls(dates: pd.DatetimeIndex | pd.Series, events: pd.DataFrame | None) -> pd.DataFrame:
    """``ds, event_soon, ev_<name>...``: one flag per event *name* (see the module docstring)."""
    if events is None or events.empty:
        return event_features(dates, pd.DataFrame(columns=["ds", "kind"]))[["ds", "event_soon"]]
    if "name" not in events.columns:  # only kinds known: flags per kind
        return event_features(dates, events).drop(columns="event_any")
    by_name = events.assign(kind=events["name"].fillna(events.get("kind", "custom")))
    feats = event_features(dates, by_name)
    return feats.drop(columns="event_any")


def count_changes(price: pd.Series, tol: float = 0.005) -> int:
    """Days whose log price differs from the previous priced day by more than ``tol``."""
    lp = np.log(price.dropna().to_numpy(dtype=float))
    return int((np.abs(np.diff(lp)) > tol).sum()) if len(lp) > 1 else 0


def _design(item: pd.DataFrame, controls: pd.DataFrame, knot_days: int) -> tuple[np.ndarray, list[str]]:
    """The regressors of one product (its rows sorted by ds, with price > 0) and their names;
    columns constant over the product's days are left out."""
    ds = pd.DatetimeIndex(item["ds"])
    cols: dict[str, np.ndarray] = {"const": np.ones(len(ds)),
                                   "log_price": np.log(item["price"].to_numpy(dtype=float))}
    if "promo" in item.columns and item["promo"].notna().any():
        cols["promo"] = item["promo"].fillna(0.0).to_numpy(dtype=float)
    dow = ds.dayofweek.to_numpy()
    for d in range(1, 7):
        cols[f"dow{d}"] = (dow == d).astype(float)
    t = (ds - ds[0]).days.to_numpy(dtype=float)
    cols["trend"] = t / 365.25
    for knot in np.arange(knot_days, t[-1] - knot_days / 2, knot_days):
        cols[f"trend_{int(knot)}"] = np.clip(t - knot, 0, None) / 365.25
    if t[-1] >= 365:
        angle = 2 * np.pi * ds.dayofyear.to_numpy() / 365.25
        for k in (1, 2):
            cols[f"sin{k}"], cols[f"cos{k}"] = np.sin(k * angle), np.cos(k * angle)
    names = list(cols)
    X = np.column_stack(list(cols.values()))
    ctrl = controls.set_index("ds")
    pos = ctrl.index.get_indexer(ds)
    C = np.where(pos[:, None] >= 0, ctrl.to_numpy(dtype=float)[np.maximum(pos, 0)], 0.0)
    X = np.hstack([X, C])
    names += list(ctrl.columns)
    keep = (X.std(axis=0) > 0)
    keep[0] = True
    return X[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def _independent(X: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Columns not in the span of the columns before them (QR of the scaled matrix)."""
    scale = np.linalg.norm(X, axis=0)
    r = np.abs(np.diag(np.linalg.qr(X / np.where(scale > 0, scale, 1.0), mode="r")))
    return r > tol * max(r.max(), 1e-300)


def poisson_irls(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None, *,
                 max_iter: int = 50, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray] | None:
    """Poisson GLM (log link) by iteratively reweighted least squares: coefficients and their
    robust (sandwich, HC0) covariance, or None when it does not converge. A ridge of 1e-8 x the
    mean diagonal keeps the solve defined when a flag's days are all zero."""
    off = np.zeros(len(y)) if offset is None else offset
    mu = np.maximum(y, 0.1 * max(y.mean(), 1e-3)) + 0.1
    eta = np.log(mu)
    dev_old = np.inf
    for _ in range(max_iter):
        z = eta - off + (y - mu) / mu
        A = X.T @ (X * mu[:, None])
        A[np.diag_indices_from(A)] += 1e-8 * np.mean(np.diag(A))
        try:
            beta = np.linalg.solve(A, X.T @ (mu * z))
        except np.linalg.LinAlgError:
            return None
        eta = np.clip(X @ beta + off, -30, 30)
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = 2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            break
        dev_old = dev
    else:
        return None
    try:
        bread = np.linalg.inv(X.T @ (X * mu[:, None]))
    except np.linalg.LinAlgError:
        return None
    meat = X.T @ (X * ((y - mu) ** 2)[:, None])
    return beta, bread @ meat @ bread


def fit_item(item: pd.DataFrame, controls: pd.DataFrame, *, knot_days: int = 180,
             method: str = "poisson", promo_effect: float | None = None) -> dict[str, float]:
    """Elasticity of one product with its standard error (``e``, ``se``), and the promotion
    coefficient (``promo``, ``promo_se``) when it was estimated; NaNs when the fit is
    impossible. ``promo_effect`` fixes the promotion uplift (log scale) instead of fitting it."""
    nan = {"e": np.nan, "se": np.nan, "promo": np.nan, "promo_se": np.nan}
    X, names = _design(item, controls, knot_days)
    if "log_price" not in names:
        return nan
    y = item["y"].to_numpy(dtype=float)
    offset = None
    if promo_effect is not None and "promo" in names:
        offset = promo_effect * X[:, names.index("promo")]
    # a flag on a day or two without any sale has no finite coefficient: drop those
    on = X > 0
    sparse = np.array([n.startswith("ev_") for n in names]) & (
        (on.sum(axis=0) < 2) | ((y[:, None] * on).sum(axis=0) == 0))
    drop = sparse | (np.array(names) == "promo") if offset is not None else sparse
    X = X[:, ~drop]
    names = [n for n, d in zip(names, drop, strict=True) if not d]
    keep = _independent(X)  # e.g. two events always on the same days
    X, names = X[:, keep], [n for n, k in zip(names, keep, strict=True) if k]
    if method == "poisson":
        fit = poisson_irls(y, X, offset)
        if fit is None:
            return nan
        beta, cov = fit
    elif method == "ols_log1p":
        Xa = X
        target = np.log1p(y) - (0.0 if offset is None else offset)
        beta, *_ = np.linalg.lstsq(Xa, target, rcond=None)
        bread = np.linalg.pinv(Xa.T @ Xa)
        resid = target - Xa @ beta
        cov = bread @ (Xa.T @ (Xa * (resid**2)[:, None])) @ bread
    else:
        raise DataValidationError(f"method must be 'poisson' or 'ols_log1p', got {method!r}")
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    i = names.index("log_price")
    out = {"e": float(beta[i]), "se": float(se[i]), "promo": np.nan, "promo_se": np.nan}
    if "promo" in names:
        j = names.index("promo")
        out["promo"], out["promo_se"] = float(beta[j]), float(se[j])
    if not (np.isfinite(out["e"]) and out["se"] > 0):
        return nan
    return out


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def random_effects(est: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """DerSimonian-Laird random-effects mean, its standard error and the between-product
    variance tau^2 of estimates ``est`` with standard errors ``se``."""
    w = 1 / se**2
    mean_fe = np.sum(w * est) / np.sum(w)
    q = np.sum(w * (est - mean_fe) ** 2)
    k = len(est)
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c) if c > 0 else 0.0
    w_re = 1 / (se**2 + tau2)
    mean = float(np.sum(w_re * est) / np.sum(w_re))
    return mean, float(np.sqrt(1 / np.sum(w_re))), float(tau2)


def elasticities(
    sales: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    groups: Sequence[str] = ("department", "category"),
    options: ElasticityOptions = ElasticityOptions(),  # noqa: B008 (frozen, safe to share)
) -> pd.DataFrame:
    """Elasticity per product with a 95% interval.

    Args:
        sales: long daily sales ``unique_id, ds, y, price`` (and ``promo`` if known); rows
            without a price are ignored.
        events: calendar rows ``ds, name[, kind]`` (the store's calendar_events).
        products: ``unique_id`` plus the ``groups`` columns used for pooling.
        groups: pooling levels, narrowest first.
        options: fit and pooling settings.

    Returns:
        ``unique_id, elasticity, se, ci_low, ci_high, estimate (own / shrunk / pooled / none),
        weight_own, pooled_from, n_days, n_changes, price_min, price_max, elasticity_item,
        se_item, note``; ``attrs['promo_effect']`` is the shared promotion lift (log scale, None
        without promotions).
    """
    missing = [c for c in ("unique_id", "ds", "y", "price") if c not in sales.columns]
    if missing:
        raise DataValidationError(f"sales need columns {missing} for price elasticities; "
                                  "ingest prices with the sales (a 'price' column)")
    data = sales[sales["price"].notna() & (sales["price"] > 0)].sort_values(["unique_id", "ds"])
    all_ids = pd.Index(sales["unique_id"].unique())
    # the history of a product starts at its first sale (earlier rows are pre-launch)
    first = data[data["y"] > 0].groupby("unique_id")["ds"].min()
    data = data[data["ds"] >= data["unique_id"].map(first)]
    controls = event_controls(pd.date_range(sales["ds"].min(), sales["ds"].max()), events)
    items = [(uid, item, count_changes(item["price"], options.change_tol))
             for uid, item in data.groupby("unique_id", sort=False)]
    fittable = [(uid, item) for uid, item, n in items if len(item) >= options.min_days and n > 0]

    def fit_all(promo_effect: float | None) -> dict[str, dict[str, float]]:
        return {uid: fit_item(item, controls, knot_days=options.knot_days, method=options.method,
                              promo_effect=promo_effect) for uid, item in fittable}

    with _one_blas_thread():  # small matrices: threads only add overhead on a busy machine
        fits = fit_all(None)
        promo_effect = None
        if options.pool_promo:
            got = pd.DataFrame.from_dict(fits, orient="index", columns=["e", "se", "promo", "promo_se"])
            got = got.dropna(subset=["promo", "promo_se"])
            got = got[got["promo_se"] > 0]
            if len(got) >= options.min_group:
                promo_effect = random_effects(got["promo"].to_numpy(), got["promo_se"].to_numpy())[0]
                fits = fit_all(promo_effect)
    rows = []
    for uid, item, n_changes in items:
        fit = fits.get(uid, {"e": np.nan, "se": np.nan})
        rows.append({"unique_id": uid, "n_days": len(item), "n_changes": n_changes,
                     "price_min": float(item["price"].min()), "price_max": float(item["price"].max()),
                     "elasticity_item": fit["e"], "se_item": fit["se"]})
    out = pd.DataFrame(rows, columns=["unique_id", "n_days", "n_changes", "price_min", "price_max",
                                      "elasticity_item", "se_item"])
    out = pd.DataFrame({"unique_id": all_ids}).merge(out, on="unique_id", how="left")
    out["n_days"] = out["n_days"].fillna(0).astype(int)
    out["n_changes"] = out["n_changes"].fillna(0).astype(int)
    out = _pool(out, products, groups, options)
    out.attrs["promo_effect"] = promo_effect
    return out


def _group_stats(out: pd.DataFrame, info: pd.DataFrame | None, levels: Sequence[str], own: pd.Series,
                 min_group: int) -> dict[str, pd.DataFrame]:
    """Per pooling level: random-effects mean, its se and tau^2 of each group's own estimates."""
    stats = {}
    for level in levels:
        assert info is not None
        group = out["unique_id"].map(info[level])
        rows = {}
        for name, members in out[own].groupby(group[own]):
            if len(members) >= min_group:
                rows[name] = (*random_effects(members["elasticity_item"].to_numpy(),
                                              members["se_item"].to_numpy()), len(members))
        stats[level] = pd.DataFrame.from_dict(rows, orient="index",
                                              columns=["mean", "se_mean", "tau2", "n"])
    return stats


def _pool(out: pd.DataFrame, products: pd.DataFrame | None, groups: Sequence[str],
          options: ElasticityOptions) -> pd.DataFrame:
    info = products.set_index("unique_id") if products is not None and not products.empty else None
    levels = [g for g in groups if info is not None and g in info.columns]
    own = (out["n_changes"] >= options.min_changes) & out["elasticity_item"].notna()
    stats = _group_stats(out, info, levels, own, options.min_group)
    result = [_combine(row, stats, info, levels, options) for row in out.itertuples(index=False)]
    combined = pd.DataFrame(result, columns=["elasticity", "se", "weight_own", "estimate",
                                             "pooled_from", "note"], index=out.index)
    out = pd.concat([out, combined], axis=1)
    out["ci_low"] = out["elasticity"] - Z95 * out["se"]
    out["ci_high"] = out["elasticity"] + Z95 * out["se"]
    cols = ["unique_id", "elasticity", "se", "ci_low", "ci_high", "estimate", "weight_own",
            "pooled_from", "n_days", "n_changes", "price_min", "price_max", "elasticity_item",
            "se_item", "note"]
    return out[cols]


def _source(w: float, enough: bool, options: ElasticityOptions) -> str:
    """own / shrunk / pooled from the weight of the product's own estimate."""
    if not enough or w < options.pooled_weight:
        return "pooled"
    return "own" if w >= options.own_weight else "shrunk"


def _combine(row: object, stats: dict[str, pd.DataFrame], info: pd.DataFrame | None,
             levels: Sequence[str], options: ElasticityOptions) -> tuple:
    """(elasticity, se, weight of the product's own estimate, estimate, pooled_from, note)."""
    e_i, se_i = float(row.elasticity_item), float(row.se_item)  # type: ignore[attr-defined]
    n_changes, n_days = int(row.n_changes), int(row.n_days)  # type: ignore[attr-defined]
    has_own = np.isfinite(e_i)
    enough = has_own and n_changes >= options.min_changes
    few = f"{n_changes} price change(s) < {options.min_changes}"
    for level in levels:
        assert info is not None
        name = info[level].get(row.unique_id)  # type: ignore[attr-defined]
        if name is None or pd.isna(name) or name not in stats[level].index:
            continue
        mean, se_mean, tau2, n = stats[level].loc[name]
        source = f"{level}={name} ({int(n)} products)"
        if has_own and (options.shrink or enough):
            w = tau2 / (tau2 + se_i**2) if options.shrink else 1.0
            se = np.sqrt(w * se_i**2 + ((1 - w) * se_mean) ** 2)
            label = _source(w, enough, options)
            note = few if not enough else (
                "group products look alike (between-product variance 0): the group mean"
                if w == 0 else "")
            return (w * e_i + (1 - w) * mean, se, w, label, source if w < 1 else None, note)
        # no usable estimate of its own: a new draw from the group
        return (mean, np.sqrt(tau2 + se_mean**2), 0.0, "pooled", source,
                "no price variation" if n_changes == 0 else few)
    if enough:
        return e_i, se_i, 1.0, "own", None, "no group to shrink toward"
    reason = "no price variation" if n_changes == 0 else few
    if n_days < options.min_days:
        reason = f"{n_days} priced days since first sale < {options.min_days}"
    return (np.nan, np.nan, np.nan, "none", None,
            reason + ("; no group with enough estimates to pool" if levels else "; no groups to pool"))


# What a price change does -----------------------------------------------------------------

def what_if(elasticity: np.ndarray | float, base_demand: np.ndarray | float, price: np.ndarray | float,
            new_price: np.ndarray | float, unit_cost: np.ndarray | float | None = None
            ) -> pd.DataFrame:
    """Demand, revenue (and profit, given a unit cost) at ``price`` and ``new_price`` on the
    constant-elasticity curve ``demand = base_demand x (new_price / price) ** elasticity``."""
    e, base, p0, p1 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in
                       (elasticity, base_demand, price, new_price))
    if (p0 <= 0).any() or (p1 <= 0).any():
        raise DataValidationError("prices must be > 0 for a what-if")
    demand = base * (p1 / p0) ** e
    out = pd.DataFrame({"price": p0, "new_price": p1, "demand": base, "new_demand": demand,
                        "revenue": base * p0, "new_revenue": demand * p1})
    out["demand_change"] = out["new_demand"] / out["demand"] - 1
    out["revenue_change"] = out["new_revenue"] / out["revenue"] - 1
    if unit_cost is not None:
        c = np.asarray(unit_cost, dtype=float)
        out["profit"] = base * (p0 - c)
        out["new_profit"] = demand * (p1 - c)
    return out


def check_bounds(bounds: tuple[float, float]) -> tuple[float, float]:
    """Price bounds as factors of the current price: 0 < lower <= 1 <= upper."""
    lo, hi = bounds
    if not 0 < lo <= 1 <= hi:
        raise DataValidationError(f"bounds must satisfy 0 < lower <= 1 <= upper, got {tuple(bounds)}")
    return lo, hi


OBJECTIVES = ("revenue", "margin", "units")


def current_prices(sales: pd.DataFrame, base_days: int = 28) -> tuple[pd.Series, pd.Series]:
    """Each product's current regular price (its last price on a day without a promotion,
    else its last price) and its mean daily units over its last ``base_days`` days at that
    kind of price (days without a promotion when there are any), both indexed by unique_id."""
    priced = sales.dropna(subset=["price"]).sort_values("ds")
    no_promo = pd.Series(False, index=sales.index)
    promo = sales["promo"].fillna(0) > 0 if "promo" in sales.columns else no_promo
    regular = priced[~promo.loc[priced.index]].groupby("unique_id")["price"].last()
    price = regular.combine_first(priced.groupby("unique_id")["price"].last())
    last = sales.groupby("unique_id")["ds"].transform("max")
    recent = sales[sales["ds"] > last - pd.Timedelta(days=base_days)]
    base = recent[~promo.loc[recent.index]].groupby("unique_id")["y"].mean()
    base = base.combine_first(recent.groupby("unique_id")["y"].mean())
    return price, base


def check_objective(objective: str) -> str:
    """``objective`` if known (``profit`` is read as ``margin``), else a DataValidationError."""
    objective = "margin" if objective == "profit" else objective
    if objective not in OBJECTIVES:
        raise DataValidationError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    return objective


def optimal_price(elasticity: np.ndarray, unit_cost: np.ndarray, low: np.ndarray, high: np.ndarray,
                  objective: str = "margin") -> np.ndarray:
    """The price in [low, high] that maximises the objective on ``demand ~ price ** e``.

    Revenue ~ p^(1+e) rises with p when -1 < e < 0 and falls when e < -1: the upper or the
    lower end. Margin (p - c) p^e peaks at c e / (1 + e) when e < -1 (clipped to the range)
    and rises with p otherwise. Units fall with p: the lower end. NaN for e >= 0 or unknown
    e, and where low > high (no feasible price)."""
    objective = check_objective(objective)
    e, c, lo, hi = (np.asarray(v, dtype=float) for v in (elasticity, unit_cost, low, high))
    if objective == "units":
        best = lo.copy()
    elif objective == "revenue":
        best = np.where(e < -1, lo, np.where(e > -1, hi, np.clip(np.sqrt(lo * hi), lo, hi)))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(e < -1, c * e / (1 + e), np.inf)
        best = np.clip(peak, lo, hi)
    return np.where(np.isfinite(e) & (e < 0) & (lo <= hi), best, np.nan)


def objective_value(objective: str, demand: np.ndarray, price: np.ndarray, unit_cost: np.ndarray
                    ) -> np.ndarray:
    """Revenue, margin or units per day of ``demand`` units at ``price``."""
    objective = check_objective(objective)
    if objective == "units":
        return np.asarray(demand, dtype=float)
    if objective == "revenue":
        return np.asarray(demand * price, dtype=float)
    return np.asarray(demand * (price - unit_cost), dtype=float)


@dataclass(frozen=True)
class PriceRules:
    """What a suggested price maximises and the constraints it must meet.

    Attributes:
        objective: revenue, margin (price - unit cost, times units) or units.
        bounds: lowest and highest price as factors of the current price.
        min_margin: (price - cost) / price must be at least this (None: no floor).
        horizon_days: days the new price would hold; with stock on hand, a cut may not sell
            more than that stock over these days.
        min_move: relative moves smaller than this are "keep" (not worth a change).
    """

    objective: str = "margin"
    bounds: tuple[float, float] = (0.8, 1.2)
    min_margin: float | None = None
    horizon_days: int = 28
    min_move: float = 0.005

    def __post_init__(self) -> None:
        object.__setattr__(self, "objective", check_objective(self.objective))
        check_bounds(self.bounds)
        if self.min_margin is not None and not 0 <= self.min_margin < 1:
            raise DataValidationError(f"min margin must be in [0, 1), got {self.min_margin}")
        if self.horizon_days < 1:
            raise DataValidationError(f"horizon must be >= 1 day, got {self.horizon_days}")


def price_decisions(table: pd.DataFrame, rules: PriceRules = PriceRules()  # noqa: B008 (frozen)
                    ) -> pd.DataFrame:
    """Suggested price, decision (change / keep) and reason per product.

    Args:
        table: ``elasticity, ci_low, ci_high, estimate, price, base_demand, unit_cost`` per
            product, optionally ``pooled_from`` and ``on_hand`` (stock; NaN where unknown).
        rules: objective and constraints.

    Returns:
        ``floor, ceiling, optimal_price, suggested_price, decision, reason`` and the expected
        ``demand, revenue, margin`` per day at the current and the suggested price
        (``*_now`` / ``*_new``), indexed like ``table``. ``optimal_price`` is the model's best
        price within the constraints; ``suggested_price`` is that price when the decision is
        ``change`` and the current price when it is ``keep``.
    """
    t = table
    e = t["elasticity"].to_numpy(dtype=float)
    p0 = t["price"].to_numpy(dtype=float)
    q0 = t["base_demand"].to_numpy(dtype=float)
    c = t["unit_cost"].to_numpy(dtype=float)
    lo_f, hi_f = rules.bounds
    floor, ceiling = p0 * lo_f, p0 * hi_f
    margin_floor = (c / (1 - rules.min_margin) if rules.min_margin is not None
                    else np.full(len(t), -np.inf))
    floor = np.maximum(floor, margin_floor)
    stock = t["on_hand"].to_numpy(dtype=float) if "on_hand" in t.columns else np.full(len(t), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the price at which demand over the horizon equals the stock: no cut below it
        stock_price = p0 * (stock / (q0 * rules.horizon_days)) ** (1 / e)
    stock_floor = np.where(np.isfinite(stock_price) & (e < 0) & (q0 > 0), np.minimum(stock_price, p0),
                           -np.inf)
    binding_stock = stock_floor > floor
    floor = np.maximum(floor, stock_floor)
    best = optimal_price(e, c, floor, ceiling, rules.objective)
    demand_new = q0 * (np.where(np.isfinite(best), best, p0) / p0) ** np.where(np.isfinite(e), e, 0)
    value_now = objective_value(rules.objective, q0, p0, c)
    value_new = objective_value(rules.objective, demand_new, np.where(np.isfinite(best), best, p0), c)
    reasons, decisions = [], []
    pooled_from = t["pooled_from"] if "pooled_from" in t.columns else pd.Series(None, index=t.index)
    for k, (src, lo95, hi95, frm) in enumerate(zip(t["estimate"], t["ci_low"], t["ci_high"],
                                                   pooled_from, strict=True)):
        why = _keep_reason(k, str(src), lo95, hi95, frm, e, best, floor, ceiling, p0, c,
                           value_now, value_new, rules, margin_floor)
        if why is None:
            decisions.append("change")
            move = best[k] / p0[k] - 1
            why = f"{move:+.1%} to maximise {rules.objective}"
            if binding_stock[k] and np.isclose(best[k], floor[k]):
                why += f" (stock on hand {stock[k]:,.0f} limits the cut over {rules.horizon_days} days)"
            elif rules.min_margin is not None and np.isclose(best[k], margin_floor[k]):
                why += f" (held at the {rules.min_margin:.0%} minimum margin)"
        else:
            decisions.append("keep")
        reasons.append(why)
    change = np.array(decisions) == "change"
    suggested = np.where(change, best, p0)
    demand_s = np.where(change, demand_new, q0)
    return pd.DataFrame({
        "floor": floor, "ceiling": ceiling, "optimal_price": best, "suggested_price": suggested,
        "decision": decisions, "reason": reasons,
        "demand_now": q0, "revenue_now": q0 * p0, "margin_now": q0 * (p0 - c),
        "demand_new": demand_s, "revenue_new": demand_s * suggested,
        "margin_new": demand_s * (suggested - c),
    }, index=t.index)


def _keep_reason(k: int, src: str, lo95: float, hi95: float, frm: object, e: np.ndarray,
                 best: np.ndarray, floor: np.ndarray, ceiling: np.ndarray, p0: np.ndarray,
                 c: np.ndarray, value_now: np.ndarray, value_new: np.ndarray, rules: PriceRules,
                 margin_floor: np.ndarray) -> str | None:
    """Why product ``k`` keeps its price, or None when a change is suggested."""
    if not np.isfinite(e[k]):
        return "keep: no elasticity estimate"
    if src == "pooled":
        where = f" from {frm}" if isinstance(frm, str) and frm else ""
        return (f"keep: elasticity only pooled{where}, not measured on this product's own "
                "price changes")
    if not hi95 < 0:
        return (f"keep: the 95% interval of the elasticity ({lo95:.2f}, {hi95:.2f}) includes 0: "
                "that demand falls with price is not established")
    if floor[k] > ceiling[k]:
        if rules.min_margin is not None and margin_floor[k] > ceiling[k]:
            return (f"keep: a {rules.min_margin:.0%} margin needs a price >= {margin_floor[k]:.2f} "
                    f"(unit cost {c[k]:.2f}), above the upper bound {ceiling[k]:.2f}")
        return f"keep: no price satisfies the constraints ({floor[k]:.2f} > {ceiling[k]:.2f})"
    if not np.isfinite(best[k]) or abs(best[k] / p0[k] - 1) < rules.min_move:
        return f"keep: the current price is already the best for {rules.objective} within the constraints"
    if not value_new[k] > value_now[k] and floor[k] <= p0[k]:
        return f"keep: no price within the constraints raises {rules.objective}"
    return None
