"""Inventory policy from quantile forecasts: how much to hold and order, and how risky the
current stock is.

Demand over the protection interval (lead time L + review period R) per product, two ways:

- ``method="nbinom"`` (default). Sales are counts, so each day is a negative binomial with the
  point forecast as its mean and one size k per product, the k whose quantiles best match the
  forecast's over the interval (ties, common for slow movers with few distinct quantile values,
  are broken by the mid-CDF fit). Days are summed **assuming independence**: mean and variance
  add, and the sum is the negative binomial with those two moments.
- ``method="sample"``. Monte-Carlo: each day's quantiles are interpolated linearly (the first
  segment extended down to zero, an exponential tail above the top quantile, sized so the day's
  mean equals the point forecast) and independent draws are summed. Model-agnostic, but for
  slow movers whose quantiles are 0s and 1s the interpolation smears mass and the tail
  overstates the spread (14-day 95% quantile 11 units where the true negative binomial gives 8
  for mean 0.3/day, k=2), hence not the default.

Independence understates the spread of the sum when forecast errors persist over days (a
level that is wrong all week); docs/benchmarks.md measures what that costs on M5, and
``inventory_calibration`` corrects the review-period distribution on backtest windows.

From that distribution: the order-up-to level S is its quantile at the service level, the
reorder point its lead-time analogue, safety stock S minus the mean demand, the order quantity
S minus the inventory position (on hand + on order), and the stock-out risk the probability
that lead-time demand exceeds the position. The service level is the newsvendor critical
fractile cu / (cu + co), cu the margin lost per unit short (price - cost), co the cost of
holding one unit for one review period, unless a service level is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.schema import quantile_column

PRODUCT_INPUTS = ("lead_time_days", "review_days", "unit_cost", "price", "holding_cost_rate",
                  "on_hand", "on_order")
METHODS = ("nbinom", "sample")
SIZE_GRID = np.geomspace(0.05, 1000.0, 41)  # negative binomial sizes k tried; var = mu + mu^2/k


@dataclass(frozen=True)
class InventoryDefaults:
    """Values used for a product when its own is missing (each use is listed in ``notes``)."""

    lead_time_days: int = 7
    review_days: int = 7
    holding_cost_rate: float = 0.25  # per year, as a share of unit cost
    cost_share: float = 0.6  # unit cost = this share of the price when the cost is unknown
    on_order: float = 0.0
    service_level: float = 0.95  # when no price is known, so no critical fractile
    max_service_level: float = 0.995  # fractiles above this rest only on tail extrapolation


def quantile_levels(forecasts: pd.DataFrame, model: str) -> list[float]:
    """The quantile levels stored for ``model`` (columns ``<model>-q-<level>``), sorted."""
    prefix = f"{model}-q-"
    return sorted(float(c[len(prefix):]) for c in forecasts.columns if c.startswith(prefix))


def critical_fractile(price: np.ndarray, unit_cost: np.ndarray, holding_cost_rate: np.ndarray,
                      review_days: np.ndarray) -> np.ndarray:
    """Newsvendor fractile cu / (cu + co): cu = price - cost (margin lost per unit short), co =
    cost x yearly holding rate x R / 365 (holding a leftover unit until the next review).
    Zero when the price does not exceed the cost."""
    cu = np.asarray(price, dtype=float) - np.asarray(unit_cost, dtype=float)
    co = (np.asarray(unit_cost, dtype=float) * np.asarray(holding_cost_rate, dtype=float)
          * np.asarray(review_days, dtype=float) / 365.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cu > 0, cu / (cu + co), 0.0)


# Negative binomial ------------------------------------------------------------------------

def _nb_cdf3(n: np.ndarray, size: float, prob: np.ndarray) -> tuple[np.ndarray, ...]:
    """P(Y <= n - 1), P(Y <= n), P(Y <= n + 1) for whole n >= 0 (any size > 0): one betainc
    (only where n > 0; most quantiles of slow movers are 0) and the pmf recurrence."""
    from scipy.special import betainc, gammaln

    n, prob = np.broadcast_arrays(n, prob)
    before = np.zeros(n.shape)
    pos = n > 0
    before[pos] = betainc(size, n[pos], prob[pos])  # P(Y <= n - 1)
    pmf = np.exp(gammaln(n + size) - gammaln(size) - gammaln(n + 1) + size * np.log(prob)
                 + n * np.log1p(-prob))
    at = before + pmf
    return before, at, at + pmf * (n + size) / (n + 1) * (1 - prob)


def fit_nbinom_size(levels: np.ndarray, values: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Size k per product whose daily negative binomials (mean = point forecast) best match the
    forecast quantiles.

    A quantile x at level t is consistent with a count distribution F when
    F(ceil(x) - 1) < t <= F(floor(x)). The k with the least total inconsistency (in
    probability) over days and levels wins. Ties are broken by the squared gap between each
    level and the mid-CDF at its quantile, over quantiles above zero; products with no such
    quantile (slow movers whose quantiles are all 0) take the tied k closest to the median k of
    the others (or to 1000, nearly Poisson, if there are none).

    Args:
        levels: quantile levels (q,).
        values: quantile values (n, days, q).
        mean: point forecasts (n, days).
    """
    mu = np.maximum(mean, 1e-9)[:, :, None]
    x = np.clip(values, 0, None)
    floor = np.floor(x)
    whole = x == floor
    up = x - floor >= 0.5  # the jittered count's cell is floor + 1
    positive = x > 0
    bad, gap = [], []
    for k in SIZE_GRID:
        p = k / (k + mu)
        f_before, f_at, f_after = _nb_cdf3(floor, k, p)
        f_below = np.where(whole, f_before, f_at)  # F(ceil(x) - 1)
        bad.append((np.clip(levels - f_at, 0, None) + np.clip(f_below - levels, 0, None)).sum(axis=(1, 2)))
        lo, hi = np.where(up, f_at, f_before), np.where(up, f_after, f_at)
        mid = lo + (x - floor + np.where(up, -0.5, 0.5)) * (hi - lo)  # CDF of the count + U(-0.5, 0.5)
        gap.append((np.where(positive, mid - levels, 0.0) ** 2).sum(axis=(1, 2)))
    bads, gaps = np.array(bad).T, np.array(gap).T  # (n, grid)
    tied = bads <= bads.min(axis=1, keepdims=True) + 1e-9
    tied_gaps = np.where(tied, gaps, np.inf)
    size = SIZE_GRID[np.argmin(tied_gaps, axis=1)]
    spread = np.where(tied, gaps, -np.inf).max(axis=1) - tied_gaps.min(axis=1)
    informative = positive.any(axis=(1, 2)) & (spread > 1e-12)
    pooled = float(np.exp(np.median(np.log(size[informative])))) if informative.any() else SIZE_GRID[-1]
    nearest = np.argmin(np.where(tied, np.abs(np.log(SIZE_GRID) - np.log(pooled)), np.inf), axis=1)
    return np.where(informative, size, SIZE_GRID[nearest])


@dataclass(frozen=True)
class _NBSum:
    """Sum of independent daily negative binomials, as the NB with the same two moments."""

    mean: np.ndarray
    var: np.ndarray

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.var)

    def _params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        over = self.var > self.mean * (1 + 1e-9)  # else Poisson
        size = np.where(over, self.mean**2 / np.where(over, self.var - self.mean, 1.0), 1.0)
        prob = np.where(over, size / (size + np.maximum(self.mean, 1e-12)), 1.0)
        return over, size, prob

    def quantile(self, level: np.ndarray) -> np.ndarray:
        from scipy.stats import nbinom, poisson

        over, size, prob = self._params()
        q = np.where(over, nbinom.ppf(level, size, prob), poisson.ppf(level, self.mean))
        return np.where(self.mean > 0, np.clip(q, 0, None), 0.0)

    def exceeds(self, stock: np.ndarray) -> np.ndarray:
        from scipy.stats import nbinom, poisson

        over, size, prob = self._params()
        s = np.floor(stock)
        sf = np.where(over, nbinom.sf(s, size, prob), poisson.sf(s, self.mean))
        return np.where(self.mean > 0, sf, 0.0)


def _nb_demand(mean: np.ndarray, size: np.ndarray, share: np.ndarray) -> _NBSum:
    """Demand over the interval that covers ``share`` (n, days; 0..1) of each period.

    A period's negative binomial is a Poisson count at a gamma rate; the part of it that falls
    in a share w of the period is Poisson at w times that rate, a negative binomial with the
    same size and mean w * m, variance w * m + (w * m)**2 / k (the binomial thinning of the
    period's count). Whole periods (w = 1) add as before."""
    m = share * mean
    return _NBSum(m.sum(axis=1), (m + m**2 / size[:, None]).sum(axis=1))


def _shares(periods: np.ndarray, days: int) -> np.ndarray:
    """Share of each forecast period (n, days) inside an interval of ``periods`` (n,) periods
    from the first: 1 for whole periods, the fraction for the last, partly covered one."""
    return np.clip(periods[:, None] - np.arange(days)[None, :], 0.0, 1.0)


# Monte-Carlo on interpolated quantiles ---------------------------------------------------

def sample_daily(levels: np.ndarray, values: np.ndarray, mean: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draws from each row's distribution given by its quantiles, by inverse CDF.

    Args:
        levels: quantile levels, shape (q,), increasing, at least two.
        values: quantile values, shape (n, q) (made non-decreasing here).
        mean: the point forecast per row (n,), used to size the upper tail.
        u: uniforms, shape (n, s).
    """
    x = np.maximum.accumulate(np.clip(values, 0, None), axis=1)
    b = _tail_scale(levels, x, mean)
    idx = np.searchsorted(levels, u, side="right")
    nq = len(levels)
    inner = np.clip(idx, 1, nq - 1)
    lo_lv, hi_lv = levels[inner - 1], levels[inner]
    lo_x = np.take_along_axis(x, inner - 1, axis=1)
    hi_x = np.take_along_axis(x, inner, axis=1)
    out = np.maximum(lo_x + (u - lo_lv) / (hi_lv - lo_lv) * (hi_x - lo_x), 0.0)
    top = idx >= nq
    tail = x[:, -1:] + b[:, None] * np.log((1 - levels[-1]) / np.maximum(1 - u, 1e-12))
    return np.where(top, tail, out)


def _tail_scale(levels: np.ndarray, x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Scale b of the upper tail Q(u) = x_top + b ln((1 - q_top) / (1 - u)): the larger of the
    one the top two quantiles imply and the one that makes the mean equal the point forecast."""
    q_top, q_prev = levels[-1], levels[-2]
    b_slope = (x[:, -1] - x[:, -2]) / np.log((1 - q_prev) / (1 - q_top))
    body = (np.diff(levels) * (x[:, 1:] + x[:, :-1]) / 2).sum(axis=1)
    slope0 = (x[:, 1] - x[:, 0]) / (levels[1] - levels[0])
    x0, q0 = x[:, 0], levels[0]
    reaches_zero = slope0 * q0 > x0
    lower = np.where(reaches_zero, x0**2 / (2 * np.where(slope0 > 0, slope0, 1.0)),
                     q0 * (x0 - slope0 * q0 / 2))
    b_mean = (np.asarray(mean, dtype=float) - body - lower) / (1 - q_top) - x[:, -1]
    return np.maximum(np.maximum(b_slope, b_mean), 0.0)


@dataclass(frozen=True)
class _Samples:
    draws: np.ndarray  # (n, s)

    @property
    def std(self) -> np.ndarray:
        return self.draws.std(axis=1)

    def quantile(self, level: np.ndarray) -> np.ndarray:
        s = self.draws.shape[1]
        k = np.clip(np.ceil(level * s).astype(int) - 1, 0, s - 1)
        q = np.take_along_axis(np.sort(self.draws, axis=1), k[:, None], axis=1)[:, 0]
        return np.where(level <= 0, 0.0, np.ceil(q - 1e-9))  # whole units

    def exceeds(self, stock: np.ndarray) -> np.ndarray:
        return (self.draws > stock[:, None]).mean(axis=1)


def _sampled_demand(levels: np.ndarray, values: np.ndarray, mean: np.ndarray, lead: np.ndarray,
                    protect: np.ndarray, n_samples: int, seed: int) -> tuple[_Samples, _Samples]:
    """Draws of lead-time and protection-interval demand; ``lead`` and ``protect`` are the
    periods' shares (:func:`_shares`). A partly covered period contributes the binomial
    thinning of its draw (rounded to units), the lead time's part a thinning of that part."""
    rng = np.random.default_rng(seed)
    n = len(mean)
    lead_sum, prot_sum = np.zeros((n, n_samples)), np.zeros((n, n_samples))
    for d in range(mean.shape[1]):
        active = protect[:, d] > 0
        draw = sample_daily(levels, values[active, d], mean[active, d],
                            rng.random((int(active.sum()), n_samples)))
        w_prot, w_lead = protect[active, d][:, None], lead[active, d][:, None]
        part = _thin(rng, draw, w_prot)
        prot_sum[active] += part
        lead_sum[active] += _thin(rng, part, np.divide(w_lead, w_prot))
    return _Samples(lead_sum), _Samples(prot_sum)


def _thin(rng: np.random.Generator, draw: np.ndarray, share: np.ndarray) -> np.ndarray:
    """``draw`` where ``share`` is 1, none where 0, else the binomial thinning of its units."""
    partial = (share > 0) & (share < 1)
    if not partial.any():
        return np.where(share >= 1, draw, 0.0)
    thinned = rng.binomial(np.round(np.clip(draw, 0, None)).astype(np.int64),
                           np.broadcast_to(np.clip(share, 0, 1), draw.shape))
    return np.where(share >= 1, draw, np.where(partial, thinned, 0.0))


# Periods the interval covers --------------------------------------------------------------

@dataclass(frozen=True)
class PeriodCalendar:
    """How a run of months, quarters (or weeks of daily sales) splits its periods into days.

    ``freq`` dates the forecast periods (:func:`trendcast.insights.periods.period_bounds`); the
    lead time and review cover the periods' own calendar days (a 28-day February, a 92-day
    quarter). ``day_weights`` (a value per day, e.g. the shop's sales on the same date a year
    before) give a partly covered period's share: the weight of its covered days over the
    weight of all its days, so the first 14 days of a November holding Double 11 count for
    what they held a year before. Periods whose days lack a weight are split evenly. ``start``
    (the day after the latest sales) starts the interval inside the first period when part of
    it has been sold already (a monthly run whose month is under way)."""

    freq: str
    day_weights: pd.Series | None = None
    start: pd.Timestamp | None = None  # the interval's first day, when after the first period's first

    def shares(self, labels: np.ndarray, lead_days: np.ndarray, review_days: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shares (n, h) of the periods dated ``labels`` (n, h; NaT after a series' last)
        inside the lead time and the protection interval from each row's first period, and
        the periods each interval needs (n,)."""
        from trendcast.insights.periods import period_bounds

        flat = pd.DatetimeIndex(labels.ravel())
        ok = ~flat.isna()
        start, end = (np.full(len(flat), np.datetime64("NaT"), dtype="datetime64[ns]") for _ in range(2))
        a, b = period_bounds(flat[ok], self.freq)
        start[ok], end[ok] = a.to_numpy(), b.to_numpy()
        start, end = start.reshape(labels.shape), end.reshape(labels.shape)
        first = start[:, 0]
        if self.start is not None:
            first = np.maximum(first, pd.Timestamp(self.start).normalize().to_datetime64())
        day = np.timedelta64(1, "D")
        lead_last = first + (lead_days.astype("int64") - 1) * day
        prot_last = first + (lead_days + review_days).astype("int64") * day - day
        grid = pd.date_range(np.nanmin(start[:, 0]), max(np.nanmax(end), prot_last.max()), freq="D")
        weights = (pd.Series(np.nan, index=grid) if self.day_weights is None
                   else self.day_weights.reindex(grid).astype(float))
        w = weights.to_numpy()
        cum_w = np.concatenate([[0.0], np.cumsum(np.nan_to_num(w))])
        cum_nan = np.concatenate([[0], np.cumsum(np.isnan(w))])

        def pos(days: np.ndarray) -> np.ndarray:
            return ((days - grid[0].to_datetime64()) // day).astype("int64")

        valid = ~np.isnat(start)
        pa = np.where(valid, pos(np.where(valid, start, grid[0].to_datetime64())), 0)
        pb = np.where(valid, pos(np.where(valid, end, grid[0].to_datetime64())), -1)
        total_w = cum_w[pb + 1] - cum_w[pa]
        weighted = valid & (cum_nan[pb + 1] - cum_nan[pa] == 0) & (total_w > 0)
        lo = np.maximum(pa, pos(first)[:, None])  # days of a period before the interval: out

        def share(last: np.ndarray) -> np.ndarray:
            hi = np.minimum(pb, pos(last)[:, None])
            n_days = np.clip(hi - lo + 1, 0, None)
            upto = cum_w[np.clip(hi, lo - 1, None) + 1]
            inside_w = np.where(n_days > 0, upto - cum_w[np.minimum(lo, pb + 1)], 0.0)
            even = n_days / np.maximum(pb - pa + 1, 1)
            out = np.where(weighted, inside_w / np.where(weighted, total_w, 1.0), even)
            return np.where(valid, np.clip(out, 0.0, 1.0), 0.0)

        last_end = np.nanmax(np.where(valid, end, np.datetime64("NaT")), axis=1)
        covered = valid & (start <= prot_last[:, None])
        need = covered.sum(axis=1)
        for i in np.flatnonzero(last_end < prot_last):  # the run stops before the interval ends
            more = pd.date_range(labels[i, 0], periods=labels.shape[1] + int(
                (prot_last[i] - last_end[i]) / day) + 2, freq=self.freq)
            a_more, _ = period_bounds(more, self.freq)
            need[i] = int((a_more <= prot_last[i]).sum())
        return share(lead_last), share(prot_last), need


# Inputs and the policy -------------------------------------------------------------------

def _product_inputs(ids: pd.Index, products: pd.DataFrame | None, defaults: InventoryDefaults
                    ) -> tuple[pd.DataFrame, list[list[str]]]:
    """One row per id with every input filled, and per-row notes naming the defaults used."""
    frame = pd.DataFrame(index=ids)
    if products is not None and not products.empty:
        if "unique_id" not in products.columns:
            raise DataValidationError("product inputs need a 'unique_id' column; got "
                                      f"{list(products.columns)}")
        dup = products["unique_id"][products["unique_id"].duplicated()]
        if not dup.empty:
            raise DataValidationError(f"product inputs list {dup.iloc[0]!r} more than once; "
                                      "give one row per product")
        cols = [c for c in PRODUCT_INPUTS if c in products.columns]
        frame = frame.join(products.set_index("unique_id")[cols])
    for col in PRODUCT_INPUTS:
        if col not in frame.columns:
            frame[col] = np.nan
        frame[col] = pd.to_numeric(frame[col], errors="raise").astype(float)
        bad = frame.index[frame[col] < 0]
        if len(bad):
            raise DataValidationError(f"{col} must be >= 0; {bad[0]!r} has {frame.loc[bad[0], col]}")
    for col, low in (("lead_time_days", 0), ("review_days", 1)):
        given = frame[col].dropna()
        odd = given[(given != np.round(given)) | (given < low)]
        if not odd.empty:
            raise DataValidationError(f"{col} must be a whole number of days >= {low}; "
                                      f"{odd.index[0]!r} has {odd.iloc[0]}")
    notes: list[list[str]] = [[] for _ in range(len(frame))]

    def fill(col: str, value: pd.Series | float, text: str) -> None:
        series = value if isinstance(value, pd.Series) else pd.Series(value, index=frame.index)
        missing = frame[col].isna() & series.notna()
        for i in np.flatnonzero(missing.to_numpy()):
            notes[i].append(text)
        frame.loc[missing, col] = series[missing]

    fill("lead_time_days", float(defaults.lead_time_days), f"lead time {defaults.lead_time_days} d")
    fill("review_days", float(defaults.review_days), f"review {defaults.review_days} d")
    fill("holding_cost_rate", defaults.holding_cost_rate,
         f"holding {defaults.holding_cost_rate:.0%}/year of cost")
    fill("unit_cost", frame["price"] * defaults.cost_share, f"cost {defaults.cost_share:.0%} of price")
    fill("on_order", defaults.on_order, f"on order {defaults.on_order:g}")
    return frame, notes


def _service_levels(inputs: pd.DataFrame, service_level: float | None, defaults: InventoryDefaults,
                    notes: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    n = len(inputs)
    if service_level is not None:
        return np.full(n, float(service_level)), np.full(n, "given", dtype=object)
    price = inputs["price"].to_numpy()
    frac = critical_fractile(price, inputs["unit_cost"].to_numpy(),
                             inputs["holding_cost_rate"].to_numpy(), inputs["review_days"].to_numpy())
    no_price = np.isnan(price) | np.isnan(inputs["unit_cost"].to_numpy())
    for i in np.flatnonzero(no_price):
        notes[i].append(f"no price: service level {defaults.service_level:.0%}")
    for i in np.flatnonzero(~no_price & (frac <= 0)):
        notes[i].append("price does not exceed unit cost: nothing worth stocking")
    for i in np.flatnonzero(~no_price & (frac > defaults.max_service_level)):
        notes[i].append(f"fractile {frac[i]:.4f} capped at {defaults.max_service_level}")
    sl = np.minimum(np.where(no_price, defaults.service_level, frac), defaults.max_service_level)
    return sl, np.where(no_price, "default", "fractile").astype(object)


def inventory_policy(
    forecasts: pd.DataFrame,
    *,
    model: str,
    products: pd.DataFrame | None = None,
    service_level: float | None = None,
    defaults: InventoryDefaults = InventoryDefaults(),  # noqa: B008 (frozen, safe to share)
    method: str = "nbinom",
    n_samples: int = 2000,
    seed: int = 0,
    period_days: float = 1.0,
    calendar: PeriodCalendar | None = None,
) -> pd.DataFrame:
    """Safety stock, reorder point, order-up-to level, order quantity and stock-out risk.

    Args:
        forecasts: ``unique_id, ds, <model>, <model>-q-<level>...`` starting the day after the
            last observed day (the first forecast day is the first day of the lead time).
        model: the model whose columns to use.
        products: optional per-product inputs, ``unique_id`` and any of lead_time_days,
            review_days, unit_cost, price, holding_cost_rate, on_hand, on_order.
        service_level: probability of no stock-out per review cycle, for every product; None
            uses each product's critical fractile (from its price and cost).
        defaults: values for missing inputs.
        method: "nbinom" or "sample" (see the module docstring).
        n_samples: Monte-Carlo draws per product (method "sample").
        seed: random seed of the draws (method "sample").
        period_days: days one forecast row covers (7 for a weekly run). Lead time and review
            stay in days and cover their share of the periods: a 10-day lead time is one week
            and 3/7 of the next of a weekly forecast (never ten weeks), 14 days are 14/91 of a
            quarter. The part of a partly covered period is the thinning of its count
            (:func:`_nb_demand`).
        calendar: the periods' own days and the demand's split over them
            (:class:`PeriodCalendar`), in place of ``period_days`` of even days.

    Returns:
        One row per product, most urgent first (highest stock-out risk, then fewest days of
        cover). ``notes`` names the defaults used per row; ``attrs['assumptions']`` holds the
        defaults and the method.
    """
    if method not in METHODS:
        raise ModelError(f"method must be one of {METHODS}, got {method!r}")
    if model not in forecasts.columns:
        raise ModelError(f"no column {model!r} in the forecasts; they have "
                         f"{[c for c in forecasts.columns if '-q-' not in c]}")
    levels = quantile_levels(forecasts, model)
    if len(levels) < 2:
        raise ModelError(f"{model} has {len(levels)} quantile column(s); inventory needs at least "
                         "two, better 0.05..0.95: rerun `trendcast forecast --quantiles "
                         "0.05,0.1,0.25,0.5,0.75,0.9,0.95`")
    if service_level is not None and not 0 < service_level < 1:
        raise ModelError(f"service level must lie strictly between 0 and 1, got {service_level}")
    fc = forecasts.sort_values(["unique_id", "ds"])
    ids = pd.Index(fc["unique_id"].unique(), name="unique_id")
    inputs, notes = _product_inputs(ids, products, defaults)
    lead_days = inputs["lead_time_days"].to_numpy(dtype=int)
    review_days = inputs["review_days"].to_numpy(dtype=int)
    # forecast periods the lead time and the protection interval cover (fractions of the last)
    horizon = fc.groupby("unique_id", sort=False).size().reindex(ids).to_numpy()
    if calendar is None:
        lead_p = lead_days / period_days
        prot_p = lead_p + review_days / period_days
        protect = np.ceil(prot_p - 1e-9).astype(int)  # forecast rows needed
    else:
        step_no = fc.groupby("unique_id", sort=False).cumcount().to_numpy()
        labels = np.full((len(ids), int(horizon.max())), np.datetime64("NaT"), dtype="datetime64[ns]")
        labels[ids.get_indexer(fc["unique_id"]), step_no] = pd.to_datetime(fc["ds"]).to_numpy()
        cal_lead, cal_prot, protect = calendar.shares(labels, lead_days, review_days)
    unit = "days" if period_days == 1 and calendar is None else "periods"
    short = protect > horizon
    if short.any():
        bad = int(np.flatnonzero(short)[0])
        raise ModelError(f"{ids[bad]!r} needs {protect[bad]} forecast {unit} (lead time + review) but "
                         f"the run has {horizon[bad]}; rerun `trendcast forecast --horizon "
                         f"{protect.max()}`")
    days = int(protect.max())
    fc = fc[fc.groupby("unique_id", sort=False).cumcount() < days]
    if (horizon < days).any():  # pad shorter series (their own window fits) to one shape
        full = pd.MultiIndex.from_product([ids, range(days)], names=["unique_id", "step"])
        fc = fc.assign(step=fc.groupby("unique_id", sort=False).cumcount())
        fc = fc.set_index(["unique_id", "step"]).reindex(full).fillna(0.0).reset_index()
    qcols = [quantile_column(model, q) for q in levels]
    values = fc[qcols].to_numpy(dtype=float).reshape(len(ids), days, len(levels))
    mean = fc[model].to_numpy(dtype=float).reshape(len(ids), days)
    if np.isnan(values).any() or np.isnan(mean).any():
        raise ModelError(f"{model}'s forecasts have missing values; rerun the forecast")
    lv = np.asarray(levels)

    size = np.full(len(ids), np.nan)
    lead_d: _NBSum | _Samples
    prot_d: _NBSum | _Samples
    if calendar is None:
        w_lead, w_prot = _shares(lead_p, days), _shares(prot_p, days)
    else:
        w_lead, w_prot = cal_lead[:, :days], cal_prot[:, :days]
    if method == "nbinom":
        inside = w_prot > 0
        size = fit_nbinom_size(lv, np.where(inside[:, :, None], values, 0.0), np.where(inside, mean, 0.0))
        lead_d, prot_d = _nb_demand(mean, size, w_lead), _nb_demand(mean, size, w_prot)
    else:
        lead_d, prot_d = _sampled_demand(lv, values, mean, w_lead, w_prot, n_samples, seed)
    lead_mean = (w_lead * mean).sum(axis=1)
    prot_mean = (w_prot * mean).sum(axis=1)

    sl, source = _service_levels(inputs, service_level, defaults, notes)
    for i in np.flatnonzero(sl > levels[-1]):
        notes[i].append(f"service level above the top forecast quantile {levels[-1]:g}: tail extrapolated")
    order_up_to = prot_d.quantile(sl)
    reorder_point = lead_d.quantile(sl)
    on_hand = inputs["on_hand"].to_numpy()
    position = on_hand + inputs["on_order"].to_numpy()
    known = ~np.isnan(position)
    for i in np.flatnonzero(~known):
        notes[i].append("on hand unknown: no order quantity or risk")
    daily = prot_mean / (lead_days + review_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(known, np.where(daily > 0, position / daily, np.inf), np.nan)
    out = pd.DataFrame({
        "unique_id": ids.to_numpy(),
        "lead_time_days": lead_days, "review_days": review_days,
        "price": inputs["price"].to_numpy(), "unit_cost": inputs["unit_cost"].to_numpy(),
        "on_hand": on_hand, "on_order": inputs["on_order"].to_numpy(),
        "service_level": sl, "service_level_source": source,
        "demand_lead_mean": lead_mean, "demand_mean": prot_mean, "demand_std": prot_d.std,
        "nb_size": size,
        "safety_stock": order_up_to - prot_mean,
        "reorder_point": reorder_point, "order_up_to": order_up_to,
        "inventory_position": position,
        "order_qty": np.where(known, np.maximum(order_up_to - position, 0.0), np.nan),
        "reorder_now": pd.array(np.where(known, position <= reorder_point, False), dtype="boolean"),
        "stockout_risk": np.where(known, lead_d.exceeds(np.nan_to_num(position)), np.nan),
        "days_of_cover": cover,
        "notes": ["; ".join(n) for n in notes],
    })
    out.loc[~known, "reorder_now"] = pd.NA
    out = out.sort_values(["stockout_risk", "days_of_cover"], ascending=[False, True],
                          na_position="last", ignore_index=True)
    out.attrs["assumptions"] = {
        **asdict(defaults), "model": model, "quantiles": levels, "method": method,
        "daily_dependence": "independent days (spread of the sum understated if errors persist)",
        "on_order": "arrives within the lead time",
        **({"period_days": period_days, "within_period": "lead time and review take their share "
            "of a forecast period (its demand spread evenly over its days)"}
           if period_days != 1 and calendar is None else {}),
        **({"within_period": "lead time and review take the share of each forecast period's demand "
            "that its covered days held a year before (evenly where there is no such history)"
            if calendar.day_weights is not None else "lead time and review take their share of "
            "each forecast period's own days"} if calendar is not None else {}),
        **({"n_samples": n_samples, "seed": seed} if method == "sample" else {}),
    }
    return out
