"""Cold start: forecasts for new products from their category's launch curve and price band.

A product is *cold* at a forecast origin when it has not been launched yet (a catalogue
product with no sale and fewer than ``min_age`` days of stored zero sales) or was launched
fewer than ``min_age`` days before the origin. The default, 7 days, is measured
(``benchmarks/coldstart.py`` on M5 CA_1): from one week of its own sales on, a new product's
own mean forecasts its next 28 days better than the launch curve updated with that week
(mean absolute error of the 28-day total 15.0 vs 18.0 units at 7 days, 12.2 vs 13.6 at 14),
and the models' fallbacks for short series (window average) take over from there. Its launch
(the *anchor*) is the catalogue's ``launch_date`` or, when earlier or missing, its first day
with a sale.

:class:`ColdStart` learns, from the products that launched inside the data (anchor at least
``margin_days`` after the data's first day, so a launch was observed):

- per category, the **launch curve**: mean units at each age (days since launch) over the
  first ``profile_days`` days, smoothed over a week and shown normalised (mean 1) with a
  level; ages past the curve keep its last fortnight's level;
- per category, **day-of-week factors** of those launch windows;
- per category and **price band** (terciles of the category's prices: low, mid, high), a
  level factor: the band's launched products sold that much more or less than the curve,
  shrunk towards 1 with ``shrink`` pseudo-products;
- per category, how much single products scatter around that (gamma dispersion ``phi`` of
  their units over the curve's expectation, after Poisson noise).

- per category, how much single days scatter around the curve (``day_phi``: the
  maximum-likelihood dispersion of a negative binomial of each launched product's daily units
  around its expectation; at least ``phi``) and around the product's own level
  (``within_phi``).

A cold product's expected units on a day (the point forecast, a mean: right for totals and
stock) are curve x band factor x weekday factor, times a gamma-Poisson posterior of its own
level: prior Gamma(1/phi, 1/phi) (mean 1), updated with the units it sold since launch against
what the curve expected, so a fast starter is scaled up after a few days and a slow one down.
Quantiles come from the launched products themselves, not from a negative binomial around
that mean: launches are a mixture (many never sell, some sell steadily) that one negative
binomial fitted to the mean puts too much or too little mass at 0 for, and the 0.5 quantile,
the forecast that minimises daily absolute error, turns on exactly that mass. Each launched
product's level (its units over the curve's expectation, ``levels_``) is one component of
an empirical prior, weighted by the Poisson likelihood of what the cold product sold so far
against the curve; a day's units are a negative binomial around level x curve x band x
weekday with the products' own day-to-day dispersion (``within_phi_``, maximum likelihood).
So the median is 0 while a launch is as likely to sell nothing as something, and follows the
product's own level once its first sales say which kind it is. A category with fewer than
``min_products`` launches uses the curve pooled over all categories; fewer launches than that
in the whole catalogue learn no curve (an error).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from trendcast.errors import ModelError, NotFittedError
from trendcast.schema import quantile_column

POOLED = "*"  # the key of the curve pooled over every category


def anchors(products: pd.DataFrame, first_sale: pd.Series) -> pd.Series:
    """Each product's launch: the earlier of its ``launch_date`` and its first sale (either
    may be missing; NaT when both are)."""
    ids = pd.Index(products["unique_id"].astype(str))
    launch = pd.to_datetime(products["launch_date"], errors="coerce") if "launch_date" in products \
        else pd.Series(pd.NaT, index=products.index)
    launch = pd.Series(launch.to_numpy(), index=ids)
    first = pd.to_datetime(first_sale.reindex(ids))
    return pd.concat([launch, first], axis=1).min(axis=1)


def first_sales(sales: pd.DataFrame) -> pd.Series:
    """First day with a positive sale per series (``unique_id`` index)."""
    sold = sales[sales["y"] > 0]
    return sold.groupby(sold["unique_id"].astype(str))["ds"].min()


def price_of(products: pd.DataFrame, sales: pd.DataFrame | None = None) -> pd.Series:
    """Each product's price: ``list_price``, else its mean stored sale price."""
    ids = products["unique_id"].astype(str)
    price = pd.Series(products["list_price"].to_numpy(dtype=float) if "list_price" in products
                      else np.nan, index=ids.to_numpy(), dtype=float)
    if sales is not None and "price" in sales.columns and price.isna().any():
        mean = sales.dropna(subset=["price"]).groupby(sales["unique_id"].astype(str))["price"].mean()
        price = price.fillna(mean.reindex(price.index))
    return price


class ColdStart:
    """Launch-curve forecasts for new products (module docstring).

    Args:
        profile_days: length of the launch curve (days since launch).
        min_age: a product launched this many days before the origin or more has enough
            history of its own and is not cold.
        margin_days: a launch counts as observed when it is at least this many days after
            the data's first day.
        bands: price bands per category (quantiles of its prices); 1 disables them.
        min_products: launches a category needs for a curve of its own.
        shrink: pseudo-products pulling a price band's factor towards 1.
        alias: the column name of the forecasts.
    """

    def __init__(self, *, profile_days: int = 91, min_age: int = 7, margin_days: int = 28,
                 bands: int = 3, min_products: int = 5, shrink: float = 1.0,
                 alias: str = "ColdStart") -> None:
        self.profile_days = profile_days
        self.min_age = min_age
        self.margin_days = margin_days
        self.bands = bands
        self.min_products = min_products
        self.shrink = shrink
        self.alias = alias

    # Fit ------------------------------------------------------------------------------

    def fit(self, sales: pd.DataFrame, products: pd.DataFrame, *,
            start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> Self:
        """Learn launch curves from ``sales`` (``unique_id, ds, y`` [, price]; days missing
        inside the observed range count as zero) of the catalogue ``products``
        (``unique_id, category`` [, ``list_price, launch_date``]). ``start``/``end``: the
        data's first and last day (default: those of ``sales``)."""
        if sales.empty:
            raise ModelError("cold start needs sales to learn launch curves from")
        sales = sales.assign(unique_id=sales["unique_id"].astype(str), ds=pd.to_datetime(sales["ds"]))
        start = pd.Timestamp(start if start is not None else sales["ds"].min())
        end = pd.Timestamp(end if end is not None else sales["ds"].max())
        cat = self._categories(products)
        price = price_of(products, sales)
        self.edges_ = self._band_edges(cat, price)
        anchor = anchors(products, first_sales(sales))
        launched = anchor[(anchor >= start + pd.Timedelta(days=self.margin_days)) & (anchor <= end)]
        if launched.empty:
            raise ModelError(f"cold start: no product launched inside the data ({start.date()} + "
                             f"{self.margin_days} days .. {end.date()}) to learn a launch curve from")
        if len(launched) < self.min_products:
            raise ModelError(f"cold start: {len(launched):,} product(s) launched inside the data "
                             f"({start.date()} + {self.margin_days} days .. {end.date()}); a launch "
                             f"curve needs at least {self.min_products}")
        length = self.profile_days
        ids = launched.index.to_numpy()
        pos = pd.Index(ids)
        rows = sales[sales["unique_id"].isin(set(ids))]
        age = (rows["ds"] - rows["unique_id"].map(launched)).dt.days.to_numpy()
        keep = (age >= 0) & (age < length)
        rows, age = rows[keep], age[keep]
        matrix = np.zeros((len(ids), length))
        np.add.at(matrix, (pos.get_indexer(rows["unique_id"]), age), rows["y"].to_numpy(dtype=float))
        observed = np.minimum(((end - launched).dt.days + 1).to_numpy(), length)
        ages = np.arange(length)
        matrix[ages[None, :] >= observed[:, None]] = np.nan
        weekday = ((launched.dt.dayofweek.to_numpy()[:, None] + ages[None, :]) % 7)
        cats = cat.reindex(ids).to_numpy()
        bands = self.band(cat.reindex(ids), price.reindex(ids)).to_numpy()
        self.n_launched_ = pd.Series(cats).value_counts().to_dict()
        groups = {POOLED: np.ones(len(ids), dtype=bool)}
        groups |= {c: cats == c for c, n in self.n_launched_.items() if n >= self.min_products}
        self.curve_: dict[str, np.ndarray] = {}
        self.dow_: dict[str, np.ndarray] = {}
        self.band_factor_: dict[str, dict[int, float]] = {}
        self.phi_: dict[str, float] = {}
        self.day_phi_: dict[str, float] = {}
        self.levels_: dict[str, np.ndarray] = {}
        self.within_phi_: dict[str, float] = {}
        for key, mask in groups.items():
            self._fit_group(key, matrix[mask], weekday[mask], bands[mask])
        self.launched_ = launched
        self.end_ = end
        return self

    def _categories(self, products: pd.DataFrame) -> pd.Series:
        cat = products["category"] if "category" in products else pd.Series(None, index=products.index)
        return pd.Series(cat.fillna("?").astype(str).to_numpy(),
                         index=products["unique_id"].astype(str).to_numpy())

    def _band_edges(self, cat: pd.Series, price: pd.Series) -> dict[str, np.ndarray]:
        if self.bands < 2:
            return {}
        qs = np.linspace(0, 1, self.bands + 1)[1:-1]
        frame = pd.DataFrame({"cat": cat, "price": price.reindex(cat.index)}).dropna()
        return {str(c): np.quantile(part["price"], qs) for c, part in frame.groupby("cat")
                if part["price"].nunique() >= self.bands}

    def band(self, cat: pd.Series, price: pd.Series) -> pd.Series:
        """Price band per product (0 = cheapest; -1 when unknown), from the fitted edges."""
        out = np.full(len(cat), -1)
        for i, (c, p) in enumerate(zip(cat.to_numpy(), price.to_numpy(dtype=float), strict=True)):
            edges = getattr(self, "edges_", {}).get(str(c))
            if edges is not None and np.isfinite(p):
                out[i] = int(np.searchsorted(edges, p, side="right"))
        return pd.Series(out, index=cat.index)

    def _fit_group(self, key: str, matrix: np.ndarray, weekday: np.ndarray, bands: np.ndarray) -> None:
        length = matrix.shape[1]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            # ages no launched product has reached yet are all NaN: filled below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(matrix, axis=0) if len(matrix) else np.zeros(length)
        mean = pd.Series(mean).ffill().fillna(0.0)
        smooth = mean.rolling(7, center=True, min_periods=1).mean().to_numpy()
        # ages past the observed ones keep the last fortnight's level
        self.curve_[key] = np.maximum(smooth, 0.0)
        expected = np.broadcast_to(self.curve_[key], matrix.shape)
        seen = np.isfinite(matrix)
        dow = np.ones(7)
        for w in range(7):
            at = seen & (weekday == w)
            num, den = matrix[at].sum(), expected[at].sum()
            dow[w] = num / den if den > 0 else 1.0
        dow = dow / dow.mean() if dow.mean() > 0 else np.ones(7)
        self.dow_[key] = dow
        mu = expected * dow[weekday]
        units = np.where(seen, matrix, 0.0).sum(axis=1)
        exposure = np.where(seen, mu, 0.0).sum(axis=1)
        factors = {}
        for b in np.unique(bands):
            if b < 0:
                continue
            at = bands == b
            s, e, n = units[at].sum(), exposure[at].sum(), at.sum()
            prior = self.shrink * e / max(n, 1)
            factors[int(b)] = float((s + prior) / (e + prior)) if e + prior > 0 else 1.0
        self.band_factor_[key] = factors
        scaled = exposure * np.array([factors.get(int(b), 1.0) for b in bands])
        ok = scaled > 0
        if ok.sum() >= 2:
            rho = units[ok] / scaled[ok]
            phi = float(np.var(rho) - np.mean(rho / scaled[ok]))
        else:
            phi = 1.0
        self.phi_[key] = float(np.clip(phi, 0.05, 10.0))
        band_mu = mu * np.array([factors.get(int(b), 1.0) for b in bands])[:, None]
        self.day_phi_[key] = max(self.phi_[key], _daily_dispersion(matrix, band_mu))
        # the launched products' own levels (units over the curve's expectation) and how their
        # single days scatter around them: the empirical prior of the quantiles
        self.levels_[key] = rho if ok.sum() >= 2 else np.ones(1)
        self.within_phi_[key] = (_daily_dispersion(matrix[ok], band_mu[ok] * rho[:, None])
                                 if ok.sum() >= 2 else self.day_phi_[key])

    # Predict --------------------------------------------------------------------------

    def _mixture_cdf(self, key: str, mu: np.ndarray, units: float, exposure: float) -> np.ndarray:
        """Daily CDF (days x units) of a product on the curve ``mu``: the launched products'
        levels as the prior, weighted by how well each explains the ``units`` it sold so far
        against the curve's ``exposure`` (Poisson likelihood)."""
        levels = self.levels_[key]
        if units > 0:
            with np.errstate(divide="ignore"):
                loglik = units * np.log(levels) - levels * exposure  # a level of 0 cannot sell
        else:
            loglik = -levels * exposure
        weights = np.exp(loglik - np.max(loglik))
        weights = weights / weights.sum()
        keep = weights > 1e-9
        levels, weights = levels[keep], weights[keep] / weights[keep].sum()
        order = np.argsort(levels)
        high = levels[order][np.searchsorted(np.cumsum(weights[order]), 0.999)
                             .clip(max=len(levels) - 1)]
        top = int(np.ceil(3 * high * float(np.max(mu, initial=0.0)) + 20))
        return _mixture_cdf_values(levels, weights, mu, self.within_phi_[key], top)

    def _check(self) -> None:
        if not hasattr(self, "curve_"):
            raise NotFittedError("ColdStart is not fitted; call fit(sales, products) first")

    def profile(self, category: str | None = None) -> pd.DataFrame:
        """The launch curve of ``category`` (pooled when it has too few launches):
        ``age, units, shape`` (shape: the curve over its mean)."""
        self._check()
        key = str(category) if str(category) in self.curve_ else POOLED
        curve = self.curve_[key]
        shape = curve / curve.mean() if curve.mean() > 0 else np.ones_like(curve)
        return pd.DataFrame({"age": np.arange(len(curve)), "units": curve, "shape": shape})

    def _mu(self, key: str, band: int, anchor: pd.Timestamp, dates: pd.DatetimeIndex) -> np.ndarray:
        curve = self.curve_[key]
        plateau = float(curve[-14:].mean())
        age = np.asarray((dates - anchor).days)
        base = np.where(age < 0, 0.0, curve[np.clip(age, 0, len(curve) - 1)])
        base = np.where(age >= len(curve), plateau, base)
        factor = self.band_factor_[key].get(int(band), 1.0)
        return base * factor * self.dow_[key][dates.dayofweek.to_numpy()]

    def predict(self, h: int, products: pd.DataFrame, history: pd.DataFrame | None = None, *,
                origin: pd.Timestamp, quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        """Forecast days ``origin + 1 .. origin + h`` for ``products`` (``unique_id,
        category`` [, ``list_price, launch_date``]) from their launch curves, each scaled by
        the units it sold since launch in ``history`` (``unique_id, ds, y``; up to
        ``origin``). A product not launched by ``origin`` starts at age 0 on its
        ``launch_date`` (zeros before it) or the day after ``origin``.

        Returns ``unique_id, ds, <alias>[, <alias>-q-<q>]``; ``attrs["age"]`` holds each
        product's age at the origin (days; 0 when not launched)."""
        self._check()
        origin = pd.Timestamp(origin)
        history = history if history is not None else pd.DataFrame(columns=["unique_id", "ds", "y"])
        history = history.assign(unique_id=history["unique_id"].astype(str),
                                 ds=pd.to_datetime(history["ds"]))
        history = history[history["ds"] <= origin]
        cat = self._categories(products)
        price = price_of(products, history)
        bands = self.band(cat, price)
        anchor = anchors(products, first_sales(history))
        dates = pd.date_range(origin + pd.Timedelta(days=1), periods=h, freq="D")
        qs = list(quantiles or [])
        frames, ages = [], {}
        for uid in cat.index:
            key = cat[uid] if cat[uid] in self.curve_ else POOLED
            start = anchor.get(uid)
            if start is None or pd.isna(start):
                start = dates[0]
            start = pd.Timestamp(start)
            past = history[(history["unique_id"] == uid) & (history["ds"] >= start)]
            seen_days = pd.date_range(start, origin, freq="D")
            units = float(past["y"].sum())
            exposure = float(self._mu(key, bands[uid], start, seen_days).sum()) if len(seen_days) else 0.0
            ages[uid] = len(seen_days)
            a0 = 1.0 / self.phi_[key]
            alpha, beta = a0 + max(units, 0.0), a0 + exposure
            mu = self._mu(key, bands[uid], start, dates)
            mean = mu * alpha / beta
            out = {"unique_id": uid, "ds": dates, self.alias: mean}
            if qs:
                cdf = self._mixture_cdf(key, mu, units, exposure)
                for q in qs:
                    out[quantile_column(self.alias, q)] = np.where(
                        mu > 0, (cdf < q - 1e-12).sum(axis=1).astype(float), 0.0)
            frames.append(pd.DataFrame(out))
        cols = ["unique_id", "ds", self.alias, *(quantile_column(self.alias, q) for q in qs)]
        wide = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
        wide.attrs["age"] = ages
        return wide[cols]


def _mixture_cdf_values(levels: np.ndarray, weights: np.ndarray, mu: np.ndarray,
                        within_phi: float, top: int) -> np.ndarray:
    """CDF at 0..top-1 units of each day: a mixture over ``levels`` (``weights``) of negative
    binomials with mean ``level * mu`` and dispersion ``within_phi``. Shape ``(days, top)``."""
    size = 1.0 / max(within_phi, 1e-3)
    mean = np.maximum(levels[:, None] * mu[None, :], 1e-12)  # (levels, days)
    log_p, log_q = np.log(size / (size + mean)), np.log(mean / (size + mean))
    k = np.arange(top - 1)
    # log pmf by the recursion pmf(k + 1) = pmf(k) (k + size) / (k + 1) q: no special functions
    steps = np.log((k + size) / (k + 1))[None, None, :] + log_q[:, :, None]
    log_pmf = np.concatenate([np.zeros(mean.shape + (1,)), np.cumsum(steps, axis=2)], axis=2)
    pmf = np.exp(log_pmf + size * log_p[:, :, None])  # (levels, days, top)
    return np.cumsum(np.tensordot(weights, pmf, axes=(0, 0)), axis=1)


def _daily_dispersion(units: np.ndarray, mean: np.ndarray) -> float:
    """Maximum-likelihood dispersion ``1 / size`` of a negative binomial of single days'
    ``units`` (NaN: not observed) around their expected ``mean``: what the launch curve leaves
    unexplained on a day, products' levels and daily noise together."""
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    ok = np.isfinite(units) & (mean > 0)
    y, m = units[ok], mean[ok]
    if len(y) < 10:
        return 1.0

    def loss(log_phi: float) -> float:
        size = np.exp(-log_phi)
        return -float(np.sum(gammaln(y + size) - gammaln(size) + size * np.log(size / (size + m))
                             + y * np.log(m / (size + m))))

    best = minimize_scalar(loss, bounds=(np.log(0.01), np.log(50.0)), method="bounded")
    return float(np.exp(best.x))


def cold_ids(products: pd.DataFrame, first_sale: pd.Series, first_row: pd.Series, *,
             origin: pd.Timestamp, min_age: int = 7, unsold_days: int = 28) -> list[str]:
    """Catalogue products that are cold at ``origin`` (module docstring): launched fewer than
    ``min_age`` days before it or launching later, or never sold with fewer than
    ``unsold_days`` days of stored zero sales (a product that sat unsold for longer is not
    new, it does not sell: the models' zero forecast stands) and with a category (ids that
    reached the catalogue from orders or reviews alone, with nothing known about them, are
    not forecast)."""
    origin = pd.Timestamp(origin)
    anchor = anchors(products, first_sale)
    rows_from = pd.to_datetime(first_row.reindex(anchor.index))
    age = (origin - anchor).dt.days + 1
    listed_for = (origin - rows_from).dt.days + 1
    category = (pd.Series(products["category"].to_numpy(), index=anchor.index) if "category" in products
                else pd.Series(None, index=anchor.index, dtype=object))
    new = anchor.notna() & (age < min_age)
    unlaunched = anchor.isna() & ~(listed_for >= unsold_days) & category.notna()
    return sorted(anchor.index[new | unlaunched].astype(str))
