"""Price elasticity per product from its own price changes, pooled across a department or
category (the estimator behind :mod:`trendcast.insights.pricing`, here so that models can use
it as a feature; see that module's docstring for the model, the controls and the pooling)."""

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
    controls: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Elasticity per product with a 95% interval.

    Args:
        sales: long daily sales ``unique_id, ds, y, price`` (and ``promo`` if known); rows
            without a price are ignored.
        events: calendar rows ``ds, name[, kind]`` (the store's calendar_events).
        products: ``unique_id`` plus the ``groups`` columns used for pooling.
        groups: pooling levels, narrowest first.
        options: fit and pooling settings.
        controls: ready-made daily control flags ``ds, <flag>...`` used instead of ``events``
            (a model's training frame has its calendar flags already).

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
    if controls is None:
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


# As a model feature and a what-if response ------------------------------------------------

ELASTICITY_RANGE = (-6.0, 1.0)  # estimates outside are clipped (a handful of noisy products)
CONTROL_PREFIXES = ("ev_", "fest_", "event_soon")  # calendar flags of a model frame: controls
PROMO_RANGE = (-1.0, 1.5)  # a pooled promotion effect outside (log scale) is clipped


@dataclass(frozen=True)
class PriceResponse:
    """What prices and promotions do to demand, estimated on training rows: each product's
    elasticity (constant-elasticity demand, ``demand ~ price ** elasticity``) and one
    shop-wide promotion effect beyond the price cut (log scale), both from the same Poisson
    fits of :func:`elasticities`."""

    elasticity: pd.Series  # per unique_id, clipped to ELASTICITY_RANGE (pooled where none)
    pooled: float  # for products without an estimate
    promo: float | None  # log change of demand on a promotion day; None: not estimable
    source: pd.Series  # per unique_id: own / shrunk / pooled
    n_products: int = 0  # products the estimate saw

    def of(self, ids: Sequence[str] | pd.Series) -> np.ndarray:
        """The elasticity of each id (the pooled value for ids not estimated)."""
        return pd.Series(ids).map(self.elasticity).astype(float).fillna(self.pooled).to_numpy()

    def log_change(self, ids: Sequence[str] | pd.Series, price_ratio: np.ndarray,
                   promo_change: np.ndarray) -> np.ndarray:
        """``elasticity x log(price_ratio) + promo x promo_change`` per row: the log change of
        demand when the price is ``price_ratio`` times the assumed one and the promotion flag
        changes by ``promo_change`` (a ratio that is unknown or not positive counts as 1)."""
        out = price_effect(self.of(ids), price_ratio)
        change = np.nan_to_num(np.asarray(promo_change, dtype=float))
        if self.promo is not None:
            out = out + self.promo * change
        return out


def price_response(
    df: pd.DataFrame,
    *,
    groups: Sequence[str] = ("department", "category"),
    controls: Sequence[str] = (),
    options: ElasticityOptions = ElasticityOptions(),  # noqa: B008 (frozen, safe to share)
) -> PriceResponse | None:
    """Each product's elasticity estimated on ``df`` (a model's training frame: daily
    ``unique_id, ds, y, price``, ``promo`` and the ``groups`` columns when present), shrunk
    toward its group as in :func:`elasticities`, the pooled value for products without an
    estimate (the random-effects mean of the products with enough price changes of their own),
    and the shop-wide promotion effect of the same fits.

    Args:
        df: the training rows; only these are used (no look-ahead in a backtest).
        groups: pooling levels, narrowest first.
        controls: columns of ``df`` that are daily flags shared by every product (calendar
            events), used as controls of the fit.
        options: fit and pooling settings.

    Returns:
        The response, or None when no product has enough price changes to estimate anything.
    """
    if "price" not in df.columns or not df["price"].notna().any():
        return None
    df = df.copy(deep=False)
    df.attrs = {}  # a model frame carries its calendar in attrs; pandas compares attrs on concat
    cols = [c for c in ("unique_id", "ds", "y", "price", "promo") if c in df.columns]
    flags = [c for c in controls if c in df.columns]
    ctrl = None
    if flags:
        ctrl = df[["ds", *flags]].drop_duplicates("ds").sort_values("ds").astype({c: float for c in flags})
        ctrl = ctrl.loc[:, ["ds", *[c for c in flags if ctrl[c].std() > 0]]]
    levels = [g for g in groups if g in df.columns]
    products = df[["unique_id", *levels]].drop_duplicates("unique_id") if levels else None
    table = elasticities(df[cols], products=products, groups=levels, options=options,
                         controls=ctrl)
    own = table[(table["n_changes"] >= options.min_changes) & table["elasticity_item"].notna()
                & (table["se_item"] > 0)]
    if own.empty:
        return None
    pooled = random_effects(own["elasticity_item"].to_numpy(), own["se_item"].to_numpy())[0]
    pooled = float(np.clip(pooled, *ELASTICITY_RANGE))
    t = table.set_index("unique_id")
    est = t["elasticity"].astype(float)
    source = t["estimate"].where(est.notna(), "pooled").replace("none", "pooled")
    promo = table.attrs.get("promo_effect")
    promo = None if promo is None or not np.isfinite(promo) else float(np.clip(promo, *PROMO_RANGE))
    return PriceResponse(est.fillna(pooled).clip(*ELASTICITY_RANGE), pooled, promo, source,
                         int(len(table)))


def product_elasticities(
    df: pd.DataFrame,
    *,
    groups: Sequence[str] = ("department", "category"),
    controls: Sequence[str] = (),
    options: ElasticityOptions = ElasticityOptions(),  # noqa: B008 (frozen, safe to share)
) -> tuple[pd.Series, float] | None:
    """``(elasticity per unique_id, pooled value)`` of :func:`price_response` (the model
    feature of LightGBM's ``price_elasticity``), or None when nothing can be estimated."""
    response = price_response(df, groups=groups, controls=controls, options=options)
    return None if response is None else (response.elasticity, response.pooled)


def price_effect(elasticity: pd.Series | np.ndarray, price_rel: pd.Series | np.ndarray) -> np.ndarray:
    """``elasticity x log(price_rel)``: the log change of demand a constant-elasticity curve
    gives at ``price_rel`` times the reference price; 0 where the relative price is unknown or
    not positive."""
    e = np.asarray(elasticity, dtype=float)
    rel = np.asarray(price_rel, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = e * np.log(rel)
    return np.where(np.isfinite(out), out, 0.0)
