"""Global gradient boosting (LightGBM through mlforecast) with covariates and quantiles.

One model is trained across all series: lags and rolling means of the target, date parts,
dynamic covariates (price, promotion, festival and event flags: any extra numeric column of
the training frame whose future values come in ``X_df``) and static hierarchy columns as
categorical features. Forecasts are recursive (mlforecast feeds predictions back for lags
shorter than the horizon).

Per-product price response (``price_elasticity=True``, daily data with prices): each product's
elasticity is estimated on the training rows only (Poisson fit on its own price changes with
calendar and promotion controls, shrunk toward its department / category;
:func:`trendcast.features.elasticity.product_elasticities`; products without enough price
changes get the pooled value) and enters as ``price_elasticity`` and ``price_effect`` =
elasticity x log(price / mean training price), computed alike for training rows and future
(including scenario-planned) prices. Without it one tree ensemble learns a single shop-wide
price response. No product with enough price changes: neither feature is added. It is off
by default (plain forecasts keep M5's measured speed and accuracy, docs/benchmarks.md); what-if
runs turn it on only with ``forecast --scenario --scenario-response model``: by default a plan's
prices and promotions scale the baseline by the same estimates instead
(:mod:`trendcast.features.scenario`), which follows each product's response more closely.

Quantiles, two methods (``quantile_method``):
- ``"negbin"`` (default): sales are counts, so each forecast is treated as the mean of a
  negative binomial whose dispersion is estimated per series from the model's in-sample
  errors over the last ``dispersion_days`` (shrunk toward the pooled value so sparse series
  stay sane). No refit is needed.
- ``"conformal"``: mlforecast's conformal prediction intervals from ``conformal_windows``
  backtest windows of ``conformal_h`` steps (one extra fit per window); distribution-free,
  but each step's interval rests on only ``conformal_windows`` errors per series.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.features.elasticity import CONTROL_PREFIXES, price_effect, product_elasticities
from trendcast.features.exog import driver_columns
from trendcast.features.series import recent_rows
from trendcast.models.base import Forecaster, Strategy, check_horizon, check_quantiles, interval_column
from trendcast.schema import quantile_column

DEFAULT_ROLLING: dict[int, tuple[int, ...]] = {7: (7, 28), 28: (7, 28, 84)}
# Features by frequency (the first letter of the alias) when the caller gives none: lags of
# one season and of the recent periods, rolling means over a season and a quarter of it.
PROFILES: dict[str, dict[str, Any]] = {
    "D": {"lags": (7, 14, 21, 28), "rolling": DEFAULT_ROLLING,
          "date_features": ("dayofweek", "month", "day")},
    "W": {"lags": (1, 2, 3, 4, 52), "rolling": {1: (4, 13)}, "date_features": ("month",)},
    "M": {"lags": (1, 2, 3, 12), "rolling": {1: (3, 12)}, "date_features": ("month",)},
    "Q": {"lags": (1, 2, 4), "rolling": {1: (4,)}, "date_features": ("quarter",)},
    "Y": {"lags": (1, 2), "rolling": {1: (3,)}, "date_features": ()},
}
# LightGBMDirect: every lag at least the longest horizon it forecasts.
DIRECT_PROFILES: dict[str, dict[str, Any]] = {
    "D": {"lags": (28, 35, 42, 49), "rolling": {28: (7, 28, 84)}},
    "W": {"lags": (13, 14, 15, 26, 52), "rolling": {13: (4, 13)}},
    "M": {"lags": (12, 13, 14, 24), "rolling": {12: (3, 12)}},
    "Q": {"lags": (4, 5, 8), "rolling": {4: (4,)}},
    "Y": {"lags": (2, 3), "rolling": {2: (2,)}},
}
MIN_TRAIN_ROWS = 50  # fewer complete feature rows: train on rows with missing lags too
PRICE_FEATURES = ("price_rel", "price_chg")
# each product's elasticity estimated on the training rows, and elasticity x log(price_rel)
ELASTICITY_FEATURES = ("price_elasticity", "price_effect")
DERIVED_FEATURES = PRICE_FEATURES + ELASTICITY_FEATURES


class LightGBMGlobal(Forecaster):
    """LightGBM trained on all series at once (tweedie objective by default)."""

    family: ClassVar[str] = "boosting"
    supports_exog: ClassVar[bool] = True
    supports_quantiles: ClassVar[bool] = True
    transferable: ClassVar[bool] = True

    def __init__(
        self,
        *,
        lags: Sequence[int] | None = None,
        rolling: dict[int, Sequence[int]] | None = None,
        date_features: Sequence[str] | None = None,
        static_features: Sequence[str] = ("category", "department"),
        objective: str = "tweedie",
        tweedie_variance_power: float = 1.1,
        learning_rate: float = 0.1,
        num_leaves: int = 63,
        n_estimators: int = 200,
        min_child_samples: int = 100,
        history_days: int | None = 730,
        dispersion_days: int = 112,
        quantile_method: str = "negbin",
        conformal_windows: int = 3,
        conformal_h: int = 28,
        seed: int = 0,
        n_jobs: int = 1,
        drivers: bool = False,
        price_elasticity: bool = False,
        alias: str | None = None,
    ) -> None:
        super().__init__(
            alias=alias, lags=tuple(lags) if lags is not None else None, rolling=rolling,
            date_features=tuple(date_features) if date_features is not None else None,
            static_features=tuple(static_features), objective=objective,
            tweedie_variance_power=tweedie_variance_power, learning_rate=learning_rate,
            num_leaves=num_leaves, n_estimators=n_estimators,
            min_child_samples=min_child_samples, history_days=history_days,
            dispersion_days=dispersion_days, quantile_method=quantile_method,
            conformal_windows=conformal_windows, conformal_h=conformal_h, seed=seed, n_jobs=n_jobs,
            drivers=bool(drivers), price_elasticity=bool(price_elasticity),
        )
        if quantile_method not in ("negbin", "conformal"):
            raise ModelError(f"quantile_method must be 'negbin' or 'conformal', got {quantile_method!r}")

    @property
    def alias(self) -> str:
        return self._alias or "LightGBM"

    @property
    def supports_negative(self) -> bool:  # type: ignore[override]
        """Tweedie, Poisson and gamma losses need sales >= 0."""
        return self.params["objective"] not in ("tweedie", "poisson", "gamma")

    @property
    def strategy(self) -> Strategy:
        # conformal quantiles are calibrated on the training series only
        return "whole" if self.params["quantile_method"] == "conformal" else "global"

    # Feature preparation --------------------------------------------------------------

    def _with_price_features(self, df: pd.DataFrame, history: pd.DataFrame | None,
                             means: pd.Series | None = None) -> pd.DataFrame:
        """Price relative to the series' mean training price (``means`` when given, for the
        series it holds), and its change over 7 days."""
        if "price" not in df.columns:
            return df
        df = df.sort_values(["unique_id", "ds"]).copy()
        if history is None:
            df["price"] = df.groupby("unique_id")["price"].ffill()
            df["price"] = df.groupby("unique_id")["price"].bfill()
            mean = df.groupby("unique_id")["price"].mean()
            if means is not None:
                mean = means.reindex(mean.index).fillna(mean)
            self.mean_price_ = mean
            base = df
        else:
            last = history.groupby("unique_id")["price"].last()
            df["price"] = df["price"].fillna(df["unique_id"].map(last))
            tail = history[history["ds"] > history["ds"].max() - self._span(7)]
            base = pd.concat([tail[["unique_id", "ds", "price"]], df], ignore_index=True)
            base = base.sort_values(["unique_id", "ds"])
        df["price_rel"] = df["price"] / df["unique_id"].map(self.mean_price_)
        df = self._with_elasticity(df)
        prev = base.groupby("unique_id")["price"].shift(self._price_step())
        chg = (base["price"] / prev - 1).fillna(0.0)
        chg.index = base.index
        if history is None:
            df["price_chg"] = chg.loc[df.index]
        else:
            keyed = base.assign(price_chg=chg)[["unique_id", "ds", "price_chg"]]
            df = df.merge(keyed.drop_duplicates(["unique_id", "ds"], keep="last"),
                          on=["unique_id", "ds"], how="left")
            df["price_chg"] = df["price_chg"].fillna(0.0)
        return df

    def _fit_elasticity(self, df: pd.DataFrame) -> list[str]:
        """Estimate each product's price elasticity on the training rows (daily data with
        prices; the last ``history_days``), set ``elasticity_`` and return the features it adds
        (none when disabled, not daily, or no product has enough price changes)."""
        self.elasticity_: tuple[pd.Series, float] | None = None
        if not self.params.get("price_elasticity", False) or self.freq_ != "D" or "price" not in df:
            return []
        if self.params["history_days"]:
            df = df[df["ds"] > self.end_ - pd.Timedelta(days=int(self.params["history_days"]))]
        controls = [c for c in df.columns if c.startswith(CONTROL_PREFIXES)]
        self.elasticity_ = product_elasticities(df, groups=tuple(reversed(self.static_)),
                                                controls=controls)
        return list(ELASTICITY_FEATURES) if self.elasticity_ is not None else []

    def _with_elasticity(self, df: pd.DataFrame) -> pd.DataFrame:
        """``price_elasticity`` (the product's estimate, else the pooled one) and
        ``price_effect`` = elasticity x log(price_rel), when elasticities were estimated."""
        est = getattr(self, "elasticity_", None)
        if est is None:
            return df
        e = df["unique_id"].map(est[0]).astype(float).fillna(est[1])
        df["price_elasticity"] = e
        df["price_effect"] = price_effect(e.to_numpy(), df["price_rel"].to_numpy())
        return df

    def _monotone_price_effect(self, features: list[str]) -> None:
        """Demand may only rise with ``price_effect`` (elasticity x log relative price): the
        trees then keep each product's direction of response instead of a noisy shop-wide one."""
        if "price_effect" in features:
            self.mlf_.models[self.alias].set_params(
                monotone_constraints=[int(c == "price_effect") for c in features])

    def _make_mlf(self) -> Any:
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean

        p, f = self.params, self._features()
        lag_transforms = {lag: [RollingMean(window_size=w, min_samples=1) for w in ws]
                          for lag, ws in f["rolling"].items()}
        model = lgb.LGBMRegressor(
            objective=p["objective"], tweedie_variance_power=p["tweedie_variance_power"],
            learning_rate=p["learning_rate"], num_leaves=p["num_leaves"],
            n_estimators=p["n_estimators"], min_child_samples=p["min_child_samples"],
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=p["seed"],
            n_jobs=max(1, p["n_jobs"]), verbose=-1, deterministic=True, force_row_wise=True,
        )
        return MLForecast(models={self.alias: model}, freq=self.freq_, lags=list(f["lags"]),
                          lag_transforms=lag_transforms, date_features=list(f["date_features"]),
                          num_threads=max(1, p["n_jobs"]))

    # Interface --------------------------------------------------------------------------

    def fit(self, df: pd.DataFrame) -> Self:
        from trendcast.models.statistical import infer_freq

        if "y" not in df.columns:
            raise DataValidationError("training frame needs a 'y' column")
        self.freq_ = df.attrs.get("freq") or infer_freq(df)
        p = self.params
        static = [c for c in p["static_features"] if c in df.columns]
        reserved = {"unique_id", "ds", "y", *static}
        # a column with no values at all (M5 has no promotions) carries no information
        dynamic = [c for c in df.columns if c not in reserved
                   and pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()]
        if not p.get("drivers", False):  # external series only in the variants that ask for them
            dynamic = [c for c in dynamic if c not in driver_columns(dynamic)]
        self.static_ = static
        self.end_ = df["ds"].max()
        if "price" in dynamic:
            dynamic += list(PRICE_FEATURES) + self._fit_elasticity(df)
        self.dynamic_ = dynamic
        self.series_end_ = df.groupby("unique_id")["ds"].max()
        self.untrained_ = False
        train = self._training_frame(df, learn=True)
        if not self._learnable(train):
            return self._untrained()
        self.mlf_ = self._make_mlf()
        if p["quantile_method"] == "conformal":
            from mlforecast.utils import PredictionIntervals

            intervals = PredictionIntervals(n_windows=p["conformal_windows"], h=p["conformal_h"],
                                            method="conformal_distribution")
            self.mlf_.fit(train, static_features=static, prediction_intervals=intervals)
            self.dispersion_ = pd.Series(dtype=float)
        else:
            # mlforecast's documented manual path: build the features once, train on them,
            # and predict in-sample only the recent rows the dispersion needs.
            with _late_starts():
                prep = self.mlf_.preprocess(train, static_features=static)
            # short histories (a few months or quarters) leave no row with every lag: train on
            # the rows with missing lags too (LightGBM splits on missing values)
            self.dropna_ = len(prep) >= MIN_TRAIN_ROWS
            if not self.dropna_:
                prep = self.mlf_.preprocess(train, static_features=static, dropna=False)
            del train
            if not self._learnable(prep):
                return self._untrained()
            # One float32 copy of the features, and the float64 frame dropped before training:
            # the catalogue's feature matrix is never held twice.
            X = _feature_matrix(prep)
            prep = prep[["unique_id", "ds", "y"]]
            self._monotone_price_effect(list(X.columns))
            self.mlf_.fit_models(X, prep["y"].to_numpy())
            self.dispersion_end_ = prep["ds"].max()
            recent = self._recent(prep)
            fitted = prep.loc[recent].reset_index(drop=True)
            fitted[self.alias] = self.mlf_.models_[self.alias].predict(X[recent])
            del prep, X
            mu2, excess = _dispersion_terms(fitted, self.alias)
            # pooled terms kept so `for_series` shrinks any subset of series exactly as here
            self.dispersion_pool_ = (max(excess.sum(), 1e-9) / max(mu2.sum(), 1e-9), mu2.median())
            self.dispersion_ = self._dispersion(mu2, excess)
        self.is_fitted_ = True
        return self

    def for_series(self, df: pd.DataFrame) -> Self:
        """A copy of this fitted model that forecasts the series of ``df`` (same columns as
        the training frame), which need not have been in training: the trained booster and
        the pooled dispersion are shared; each series' recent history comes from ``df``, its
        mean price and dispersion from training (from ``df`` for series new to it). For series
        that were in training, ``for_series(part)`` forecasts exactly what the model itself
        forecasts for them, so a catalogue can be predicted partition by partition (see
        ``trendcast.engine``). Only the rows after ``_history_cut`` are read."""
        import copy

        self._check_fitted()
        if self.untrained_:
            new = copy.copy(self)
            new.series_end_ = df.groupby("unique_id")["ds"].max()
            return new
        if self.params["quantile_method"] == "conformal":
            raise ModelError(f"{self.alias}: conformal quantiles are calibrated on the training "
                             "series only; use quantile_method='negbin' to forecast other series")
        needed = [c for c in [*self.static_, *self.dynamic_] if c not in DERIVED_FEATURES]
        if "price" in self.dynamic_ and "price" not in df.columns:
            df = df.assign(price=np.nan)  # a partition whose products have no price at all
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise ModelError(f"{self.alias} was trained with {missing}; the frame has {list(df.columns)}")
        new = copy.copy(self)
        new.series_end_ = df.groupby("unique_id")["ds"].max()
        # The dispersion window moves with the data (the training's when ``df`` is the
        # training data), and only the rows it and the lags before it reach are prepared.
        new.dispersion_end_ = max(self.dispersion_end_, df["ds"].max())
        if "price" in df.columns:  # carry prices across the cut as the whole history would
            df = df.assign(price=df.groupby("unique_id")["price"].ffill())
        df = recent_rows(df, new._history_cut())
        frame = new._training_frame(df, learn=False, means=getattr(self, "mean_price_", None))
        new.mlf_ = new._make_mlf()
        with _late_starts():
            prep = new.mlf_.preprocess(frame, static_features=self.static_,
                                       dropna=getattr(self, "dropna_", True))
        del frame
        new.mlf_.models_ = self.mlf_.models_
        # a series the model was fitted on keeps its fitted dispersion (learned state, as
        # a refit-free forward should); only the others get theirs from their recent rows
        own = self.dispersion_
        known = own[own.index.isin(new.series_end_.index.astype(str))]
        recent = new._recent(prep) & ~prep["unique_id"].astype(str).isin(own.index).to_numpy()
        fitted = prep.loc[recent, ["unique_id", "ds", "y"]].reset_index(drop=True)
        if fitted.empty:  # nothing new, or every new series too short for a row with its lags
            new.dispersion_ = known
            return new
        fitted[self.alias] = self.mlf_.models_[self.alias].predict(_feature_matrix(prep, recent))
        new.dispersion_ = pd.concat([known, new._dispersion(*_dispersion_terms(fitted, self.alias))])
        return new

    def _training_frame(self, df: pd.DataFrame, *, learn: bool,
                        means: pd.Series | None = None) -> pd.DataFrame:
        """``df`` cut to the training window with price features, encoded static and float
        dynamic columns, each product from its first sale; sets ``history_``, ``ids_``,
        ``mean_price_`` (the training's ``means`` for the series they hold) and, when
        ``learn``, ``categories_``."""
        p = self.params
        # Rows before a product's first sale teach the model nothing about demand.
        first_sale = df.loc[df["y"] > 0].groupby("unique_id")["ds"].min()
        self.ids_ = sorted(df["unique_id"].unique())
        data = df
        if p["history_days"]:
            # the training window plus enough earlier days for the longest lag feature
            step = pd.tseries.frequencies.to_offset(self.freq_)
            start = self.end_ - self._span(int(p["history_days"]), periods=3 * self._season())
            data = df[df["ds"] > start - self._lookback() * step]
        data = self._with_price_features(data.reset_index(drop=True), None, means)
        static, dynamic = self.static_, self.dynamic_
        if learn:
            self.categories_ = {c: pd.Index(sorted(data[c].dropna().astype(str).unique()))
                                for c in static}
        for c in static:
            data[c] = self.categories_[c].get_indexer(data[c].astype(str))
        for c in dynamic:
            data[c] = data[c].astype(np.float32).fillna(0.0)
        keep = ["unique_id", "ds", "y"] + (["price"] if "price" in data else [])
        # the recent rows of each series, up to its own last date (a series may end early)
        ends = data["unique_id"].map(data.groupby("unique_id")["ds"].max())
        self.history_ = data.loc[data["ds"] > ends - self._span(28), keep]
        started = data["ds"] >= data["unique_id"].map(first_sale).fillna(self.end_)
        return data.loc[started | ~data["unique_id"].isin(first_sale.index),
                        ["unique_id", "ds", "y", *static, *dynamic]]

    def _recent(self, prep: pd.DataFrame) -> np.ndarray:
        """Rows of the preprocessed frame inside the dispersion window."""
        start = self.dispersion_end_ - self._span(self.params["dispersion_days"], periods=8)
        return (prep["ds"] > start).to_numpy()

    def _forward_periods(self) -> int:
        """Periods a forecast moved forward reads: the dispersion window (``_recent``), the
        lags and rolling means its rows read, and the price change's step before them."""
        from trendcast.features.frequency import period_days

        window = self._span(self.params["dispersion_days"], periods=8)
        dispersion = int(np.ceil(window / pd.Timedelta(days=period_days(self.freq_))))
        return dispersion + self._lookback() + self._price_step() + 2

    def _history_cut(self) -> pd.Timestamp:
        """Rows on or before this date cannot change a forecast moved forward to data ending
        at ``dispersion_end_``."""
        return self.dispersion_end_ - self._forward_periods() * pd.tseries.frequencies.to_offset(self.freq_)

    def _price_step(self) -> int:
        return 7 if self.freq_ == "D" else 1

    def forward_history(self) -> int | None:
        """:meth:`_forward_periods`; None for conformal quantiles (``for_series`` refuses
        them anyway) and untrained models."""
        self._check_fitted()
        if self.params["quantile_method"] == "conformal" or getattr(self, "untrained_", False):
            return None
        return self._forward_periods()

    def _lookback(self) -> int:
        """Steps of history the longest lag or rolling feature reaches back."""
        p = self._features()
        reach = [lag + max(ws) for lag, ws in p["rolling"].items()] + list(p["lags"])
        return int(max(reach))

    _profiles: ClassVar[dict[str, dict[str, Any]]] = PROFILES

    def _features(self) -> dict[str, Any]:
        """Lags, rolling windows and date features: the given ones, else the frequency's."""
        profile = _profile(self._profiles, self.freq_)
        p = self.params
        return {"lags": p["lags"] if p["lags"] is not None else profile["lags"],
                "rolling": p["rolling"] if p["rolling"] is not None else profile["rolling"],
                "date_features": (p["date_features"] if p["date_features"] is not None
                                  else _profile(PROFILES, self.freq_)["date_features"])}

    def _learnable(self, frame: pd.DataFrame) -> bool:
        """Rows to learn from: at least two, and a sale for the count losses (tweedie, ...)."""
        counts = self.params["objective"] in ("tweedie", "poisson", "gamma")
        return len(frame) >= 2 and not (counts and not (frame["y"] > 0).any())

    def _untrained(self) -> Self:
        """Nothing to learn from: forecasts are missing, and the run's fallback chain
        (:mod:`trendcast.models.fallback`) gives the series a window average or zeros, named
        in its notes."""
        self.untrained_ = True
        self.is_fitted_ = True
        return self

    def _missing(self, h: int, qs: Sequence[float]) -> pd.DataFrame:
        """Missing forecasts (NaN) for every series: what an untrained model can say."""
        ends = self.series_end_
        frames = [pd.DataFrame({"unique_id": str(uid),
                                "ds": pd.date_range(end, periods=h + 1, freq=self.freq_)[1:]})
                  for uid, end in ends.items()]
        out = pd.concat(frames, ignore_index=True)
        for col in [self.alias, *(quantile_column(self.alias, q) for q in qs)]:
            out[col] = np.nan
        return out

    def _season(self) -> int:
        from trendcast.features.frequency import default_season_length

        return default_season_length(self.freq_)

    def _span(self, days: int, *, periods: int = 0) -> pd.Timedelta:
        """A window given in days, at least ``periods`` periods long at a coarser frequency."""
        if self.freq_ == "D":
            return pd.Timedelta(days=days)
        from trendcast.features.frequency import period_days

        return pd.Timedelta(days=max(days, periods * period_days(self.freq_) + 1))

    def _dispersion(self, mu2: pd.Series, excess: pd.Series) -> pd.Series:
        """Negative-binomial size k per series from recent in-sample errors: var = mu + mu^2 / k."""
        pooled, median = self.dispersion_pool_
        # Shrink each series' overdispersion 1/k toward the pooled value (weight by evidence).
        weight = mu2 / (mu2 + median + 1e-9)
        inv_k = (weight * (excess.clip(lower=0) / mu2.clip(lower=1e-9))
                 + (1 - weight) * pooled).clip(lower=1e-3, upper=50)
        return 1.0 / inv_k

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        if self.untrained_:
            return self._missing(h, qs)
        future = self._future(h, X_df)
        conformal = bool(qs) and self.params["quantile_method"] == "conformal"
        if conformal and h > self.params["conformal_h"]:
            raise ModelError(f"conformal intervals were calibrated for {self.params['conformal_h']} "
                             f"steps; asked for {h}. Refit with conformal_h={h}")
        levels = sorted({round(abs(1 - 2 * q) * 100, 6) for q in qs if abs(q - 0.5) > 1e-9})
        levels = [int(lv) if float(lv).is_integer() else lv for lv in levels]
        with _late_starts():
            fc = self.mlf_.predict(h, X_df=future, level=levels if conformal and levels else None)
        fc[self.alias] = fc[self.alias].clip(lower=0.0)
        fc["unique_id"] = fc["unique_id"].astype(str)
        out = fc[["unique_id", "ds", self.alias]].copy()
        if conformal:
            for q in qs:
                col = fc[interval_column(self.alias, q)]
                out[quantile_column(self.alias, q)] = col.clip(lower=0.0).to_numpy()
            # per-step conformal bands can cross when errors are few: sort to keep order
            qcols = [quantile_column(self.alias, q) for q in qs]
            out[qcols] = np.sort(out[qcols].to_numpy(), axis=1)
        elif qs:
            from scipy.stats import nbinom

            mu = out[self.alias].to_numpy(dtype=float)
            # a series without in-sample rows of its own gets the typical (else the pooled) size
            typical = (self.dispersion_.median() if len(self.dispersion_)
                       else 1.0 / float(np.clip(self.dispersion_pool_[0], 1e-3, 50)))
            k = out["unique_id"].map(self.dispersion_).fillna(typical).to_numpy()
            mu_safe = np.maximum(mu, 1e-9)
            prob = k / (k + mu_safe)
            for q in qs:
                val = nbinom.ppf(q, k, prob)
                out[quantile_column(self.alias, q)] = np.where(mu > 1e-9, val, 0.0).astype(float)
        return out.sort_values(["unique_id", "ds"], ignore_index=True)

    def predict_features(self, h: int, *, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """The exact rows the booster scores at each forecast step (recursive lags hold earlier
        predictions): ``unique_id, ds``, the features in training order, and the unclipped
        point forecast ``<alias>``. For explanations (SHAP); ``predict`` is unchanged."""
        self._check_fitted()
        h = check_horizon(h)
        steps: list[pd.DataFrame] = []

        def capture(x: pd.DataFrame) -> pd.DataFrame:
            steps.append(x.copy())
            return x

        with _late_starts():
            fc = self.mlf_.predict(h, X_df=self._future(h, X_df), before_predict_callback=capture)
        n = len(steps[0])
        # predictions are series-major (each series' h steps in a row); step k's rows are in
        # series order, so row i of step k is prediction i * h + k
        pos = np.arange(n)[None, :] * h + np.arange(h)[:, None]
        rows = pd.concat(steps, ignore_index=True)
        picked = fc.iloc[pos.ravel()].reset_index(drop=True)
        rows.insert(0, "ds", picked["ds"].to_numpy())
        rows.insert(0, "unique_id", picked["unique_id"].astype(str).to_numpy())
        rows[self.alias] = picked[self.alias].to_numpy()
        return rows.sort_values(["unique_id", "ds"], ignore_index=True)

    def features_in_sample(self, df: pd.DataFrame, *, last: int = 28) -> pd.DataFrame:
        """Feature rows of each series' last ``last`` rows of ``df`` (the training frame, or
        some of its series), built as ``fit`` builds them; the fitted model is not changed."""
        self._check_fitted()
        mean_price = getattr(self, "mean_price_", None)
        try:
            data = self._with_price_features(df.reset_index(drop=True), None)
        finally:  # the helper re-learns mean prices from `df`; keep the fitted ones
            if mean_price is not None:
                self.mean_price_ = mean_price
        if "price" in data.columns and mean_price is not None:
            data["price_rel"] = data["price"] / data["unique_id"].map(mean_price)
            data = self._with_elasticity(data)
        for c in self.static_:
            data[c] = self.categories_[c].get_indexer(data[c].astype(str))
        for c in self.dynamic_:
            data[c] = data[c].astype(float).fillna(0.0)
        cols = ["unique_id", "ds", "y", *self.static_, *self.dynamic_]
        with _late_starts():
            feats = self._make_mlf().preprocess(data[cols], static_features=self.static_, dropna=False)
        feats = feats.groupby("unique_id", sort=False).tail(last)
        order = list(self.mlf_.ts.features_order_)
        out = feats[["unique_id", "ds", *order]].copy()
        out["unique_id"] = out["unique_id"].astype(str)
        out[self.alias] = self.mlf_.models_[self.alias].predict(out[order])
        return out.sort_values(["unique_id", "ds"], ignore_index=True)

    def _future(self, h: int, X_df: pd.DataFrame | None) -> pd.DataFrame | None:
        dynamic = [c for c in self.dynamic_ if c not in DERIVED_FEATURES]
        if not dynamic:
            return None
        if X_df is None:
            raise ModelError(
                f"{self.alias} was trained with covariates {dynamic}; pass their future values "
                "in X_df (unique_id, ds and those columns for every forecast date)"
            )
        missing = [c for c in dynamic if c not in X_df.columns]
        if missing:
            raise ModelError(f"X_df lacks covariate column(s) {missing} that {self.alias} was "
                             f"trained with; it has {list(X_df.columns)}")
        last = self.series_end_
        step = pd.tseries.frequencies.to_offset(self.freq_)
        want = pd.DataFrame({
            "unique_id": np.repeat(last.index.to_numpy(), h),
            "ds": np.concatenate([pd.date_range(d + step, periods=h, freq=self.freq_).to_numpy()
                                  for d in last.to_numpy()]),
        })
        fut = want.merge(X_df[["unique_id", "ds", *dynamic]], on=["unique_id", "ds"], how="left")
        # a missing future price is filled with the last known one; anything else must be given,
        # except an external series on a date inside the training span (a series that ended
        # early): nothing of it was published yet there, and training saw 0 there too
        required = [c for c in dynamic if c != "price"]
        drivers = driver_columns(required)
        gaps = fut[[c for c in required if c not in drivers]].isna().any(axis=1)
        if drivers:
            past = (fut["ds"] <= last.max()).to_numpy()
            gaps |= fut[drivers].isna().any(axis=1) & ~past
        if gaps.any():
            row = fut[gaps].iloc[0]
            raise ModelError(
                f"X_df has no covariates for {int(gaps.sum())} forecast row(s), e.g. "
                f"unique_id={row['unique_id']!r} ds={row['ds'].date()}; give every series every "
                f"date of the horizon"
            )
        fut = self._with_price_features(fut, self.history_) if "price" in dynamic else fut
        for c in self.dynamic_:
            fut[c] = fut[c].astype(float).fillna(0.0)
        return fut[["unique_id", "ds", *self.dynamic_]]


class LightGBMDirect(LightGBMGlobal):
    """LightGBM whose lags all reach past a 28-day horizon (28, 35, 42, 49 and rolling means
    at lag 28), so no forecast is fed back: errors do not compound, but the most recent
    four weeks are seen only through the calendar and covariates. Averaging it with the
    recursive model reduces the variance of either (see docs/benchmarks.md)."""

    _profiles = DIRECT_PROFILES

    def __init__(self, *, lags: Sequence[int] | None = None,
                 rolling: dict[int, Sequence[int]] | None = None, alias: str | None = None,
                 **params: Any) -> None:
        super().__init__(lags=lags, rolling=rolling, alias=alias, **params)

    @property
    def alias(self) -> str:
        return self._alias or "LightGBMDirect"

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        lags = self._features()["lags"]
        if h > min(lags):
            raise ModelError(f"{self.alias} forecasts at most {min(lags)} steps "
                             f"without feeding predictions back; asked for {h}. Use LightGBM "
                             "for longer horizons")
        return super().predict(h, X_df=X_df, quantiles=quantiles)


class LightGBMDrivers(LightGBMGlobal):
    """:class:`LightGBMGlobal` that also learns from the workspace's external series (macro
    indicators, oil or fuel prices, ...: the ``macro_*`` covariates, lagged so they are known
    at forecast time, see :func:`trendcast.features.exog.driver_features`)."""

    def __init__(self, *, alias: str | None = None, **params: Any) -> None:
        params.setdefault("drivers", True)
        super().__init__(alias=alias, **params)

    @property
    def alias(self) -> str:
        return self._alias or "LightGBMDrivers"


class LightGBMDirectDrivers(LightGBMDirect):
    """:class:`LightGBMDirect` that also learns from the external series (``macro_*``)."""

    def __init__(self, *, alias: str | None = None, **params: Any) -> None:
        params.setdefault("drivers", True)
        super().__init__(alias=alias, **params)

    @property
    def alias(self) -> str:
        return self._alias or "LightGBMDirectDrivers"


@contextmanager
def _late_starts() -> Iterator[None]:
    """Silence mlforecast's warnings about series shorter than the longest lag (no training
    row of their own; forecast from the lags they have, LightGBM splitting on missing
    values): expected for products that started late, not a fault to print on stderr."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The following series were dropped completely",
                                category=UserWarning)
        warnings.filterwarnings("ignore", message="Found null values in", category=UserWarning)
        yield


def _profile(profiles: dict[str, dict[str, Any]], freq: str) -> dict[str, Any]:
    return profiles.get(freq[:1], profiles["D"])


def _feature_matrix(prep: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The feature columns of a preprocessed frame (optionally some rows) as one float32 block,
    filled column by column, so no float64 or per-dtype copy of the whole matrix is made and
    LightGBM reads it without copying again."""
    features = [c for c in prep.columns if c not in ("unique_id", "ds", "y")]
    n = len(prep) if rows is None else int(rows.sum())
    values = np.empty((len(features), n), dtype=np.float32)
    for j, c in enumerate(features):
        col = prep[c].to_numpy()
        values[j] = col if rows is None else col[rows]
    return pd.DataFrame(values.T, columns=features, copy=False)


def _dispersion_terms(fitted: pd.DataFrame, alias: str) -> tuple[pd.Series, pd.Series]:
    """Per series: sum of mu^2 and of the excess variance (y - mu)^2 - mu over in-sample rows."""
    mu = fitted[alias].clip(lower=1e-6)
    excess = (fitted["y"] - mu) ** 2 - mu
    g = pd.DataFrame({"unique_id": fitted["unique_id"], "mu2": mu**2, "excess": excess})
    agg = g.groupby("unique_id")[["mu2", "excess"]].sum()
    return agg["mu2"], agg["excess"]


MODELS: dict[str, type[Forecaster]] = {"LightGBM": LightGBMGlobal, "LightGBMDirect": LightGBMDirect,
                                       "LightGBMDrivers": LightGBMDrivers,
                                       "LightGBMDirectDrivers": LightGBMDirectDrivers}
