"""Global gradient boosting (LightGBM through mlforecast) with covariates and quantiles.

One model is trained across all series: lags and rolling means of the target, date parts,
dynamic covariates (price, promotion, festival and event flags: any extra numeric column of
the training frame whose future values come in ``X_df``) and static hierarchy columns as
categorical features. Forecasts are recursive (mlforecast feeds predictions back for lags
shorter than the horizon).

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

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.models.base import Forecaster, check_horizon, check_quantiles, interval_column
from trendcast.schema import quantile_column

DEFAULT_ROLLING: dict[int, tuple[int, ...]] = {7: (7, 28), 28: (7, 28, 84)}
PRICE_FEATURES = ("price_rel", "price_chg")


class LightGBMGlobal(Forecaster):
    """LightGBM trained on all series at once (tweedie objective by default)."""

    family: ClassVar[str] = "boosting"
    supports_exog: ClassVar[bool] = True
    supports_quantiles: ClassVar[bool] = True

    def __init__(
        self,
        *,
        lags: Sequence[int] = (7, 14, 21, 28),
        rolling: dict[int, Sequence[int]] | None = None,
        date_features: Sequence[str] = ("dayofweek", "month", "day"),
        static_features: Sequence[str] = ("category", "department"),
        objective: str = "tweedie",
        tweedie_variance_power: float = 1.1,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        n_estimators: int = 400,
        min_child_samples: int = 100,
        history_days: int | None = 730,
        dispersion_days: int = 112,
        quantile_method: str = "negbin",
        conformal_windows: int = 3,
        conformal_h: int = 28,
        seed: int = 0,
        n_jobs: int = 1,
        alias: str | None = None,
    ) -> None:
        super().__init__(
            alias=alias, lags=tuple(lags), rolling=rolling, date_features=tuple(date_features),
            static_features=tuple(static_features), objective=objective,
            tweedie_variance_power=tweedie_variance_power, learning_rate=learning_rate,
            num_leaves=num_leaves, n_estimators=n_estimators,
            min_child_samples=min_child_samples, history_days=history_days,
            dispersion_days=dispersion_days, quantile_method=quantile_method,
            conformal_windows=conformal_windows, conformal_h=conformal_h, seed=seed, n_jobs=n_jobs,
        )
        if quantile_method not in ("negbin", "conformal"):
            raise ModelError(f"quantile_method must be 'negbin' or 'conformal', got {quantile_method!r}")

    @property
    def alias(self) -> str:
        return self._alias or "LightGBM"

    # Feature preparation --------------------------------------------------------------

    def _with_price_features(self, df: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
        """Price relative to the series' mean training price, and its change over 7 days."""
        if "price" not in df.columns:
            return df
        df = df.sort_values(["unique_id", "ds"]).copy()
        if history is None:
            df["price"] = df.groupby("unique_id")["price"].ffill()
            df["price"] = df.groupby("unique_id")["price"].bfill()
            self.mean_price_ = df.groupby("unique_id")["price"].mean()
            base = df
        else:
            last = history.groupby("unique_id")["price"].last()
            df["price"] = df["price"].fillna(df["unique_id"].map(last))
            tail = history[history["ds"] > history["ds"].max() - pd.Timedelta(days=7)]
            base = pd.concat([tail[["unique_id", "ds", "price"]], df], ignore_index=True)
            base = base.sort_values(["unique_id", "ds"])
        df["price_rel"] = df["price"] / df["unique_id"].map(self.mean_price_)
        prev = base.groupby("unique_id")["price"].shift(7)
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

    def _make_mlf(self) -> Any:
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean

        p = self.params
        rolling = p["rolling"] if p["rolling"] is not None else DEFAULT_ROLLING
        lag_transforms = {lag: [RollingMean(window_size=w, min_samples=1) for w in ws]
                          for lag, ws in rolling.items()}
        model = lgb.LGBMRegressor(
            objective=p["objective"], tweedie_variance_power=p["tweedie_variance_power"],
            learning_rate=p["learning_rate"], num_leaves=p["num_leaves"],
            n_estimators=p["n_estimators"], min_child_samples=p["min_child_samples"],
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=p["seed"],
            n_jobs=max(1, p["n_jobs"]), verbose=-1, deterministic=True, force_row_wise=True,
        )
        return MLForecast(models={self.alias: model}, freq=self.freq_, lags=list(p["lags"]),
                          lag_transforms=lag_transforms, date_features=list(p["date_features"]),
                          num_threads=max(1, p["n_jobs"]))

    # Interface --------------------------------------------------------------------------

    def fit(self, df: pd.DataFrame) -> Self:
        from trendcast.models.statistical import infer_freq

        if "y" not in df.columns:
            raise DataValidationError("training frame needs a 'y' column")
        self.freq_ = infer_freq(df)
        p = self.params
        static = [c for c in p["static_features"] if c in df.columns]
        reserved = {"unique_id", "ds", "y", *static}
        # a column with no values at all (M5 has no promotions) carries no information
        dynamic = [c for c in df.columns if c not in reserved
                   and pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()]
        data = self._with_price_features(df.reset_index(drop=True), None)
        if "price" in dynamic:
            dynamic += list(PRICE_FEATURES)
        self.static_ = static
        self.dynamic_ = dynamic
        self.categories_ = {c: pd.Index(sorted(data[c].dropna().astype(str).unique())) for c in static}
        for c in static:
            data[c] = self.categories_[c].get_indexer(data[c].astype(str))
        for c in dynamic:
            data[c] = data[c].astype(float).fillna(0.0)
        self.history_ = data[["unique_id", "ds", "y"] + (["price"] if "price" in data else [])]
        train = data
        if p["history_days"]:
            start = data["ds"].max() - pd.Timedelta(days=int(p["history_days"]))
            train = train[train["ds"] > start]
        # Rows before a product's first sale teach the model nothing about demand.
        first_sale = data[data["y"] > 0].groupby("unique_id")["ds"].min()
        started = train["ds"] >= train["unique_id"].map(first_sale).fillna(train["ds"].max())
        keep_ids = set(train["unique_id"])
        train = train[started | ~train["unique_id"].isin(first_sale.index)]
        cols = ["unique_id", "ds", "y", *static, *dynamic]
        self.mlf_ = self._make_mlf()
        intervals = None
        if p["quantile_method"] == "conformal":
            from mlforecast.utils import PredictionIntervals

            intervals = PredictionIntervals(n_windows=p["conformal_windows"], h=p["conformal_h"],
                                            method="conformal_distribution")
        self.mlf_.fit(train[cols], static_features=static, fitted=True,
                      prediction_intervals=intervals)
        self.dispersion_ = self._dispersion(self.mlf_.forecast_fitted_values())
        self.ids_ = sorted(keep_ids)
        self.is_fitted_ = True
        return self

    def _dispersion(self, fitted: pd.DataFrame) -> pd.Series:
        """Negative-binomial size k per series from in-sample errors: var = mu + mu^2 / k."""
        days = self.params["dispersion_days"]
        recent = fitted[fitted["ds"] > fitted["ds"].max() - pd.Timedelta(days=days)]
        mu = recent[self.alias].clip(lower=1e-6)
        excess = (recent["y"] - mu) ** 2 - mu
        g = pd.DataFrame({"unique_id": recent["unique_id"], "mu2": mu**2, "excess": excess})
        agg = g.groupby("unique_id")[["mu2", "excess"]].sum()
        pooled = max(agg["excess"].sum(), 1e-9) / max(agg["mu2"].sum(), 1e-9)
        # Shrink each series' overdispersion 1/k toward the pooled value (weight by evidence).
        weight = agg["mu2"] / (agg["mu2"] + agg["mu2"].median() + 1e-9)
        inv_k = (weight * (agg["excess"].clip(lower=0) / agg["mu2"].clip(lower=1e-9))
                 + (1 - weight) * pooled).clip(lower=1e-3, upper=50)
        return 1.0 / inv_k

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        future = self._future(h, X_df)
        conformal = bool(qs) and self.params["quantile_method"] == "conformal"
        if conformal and h > self.params["conformal_h"]:
            raise ModelError(f"conformal intervals were calibrated for {self.params['conformal_h']} "
                             f"steps; asked for {h}. Refit with conformal_h={h}")
        levels = sorted({round(abs(1 - 2 * q) * 100, 6) for q in qs if abs(q - 0.5) > 1e-9})
        levels = [int(lv) if float(lv).is_integer() else lv for lv in levels]
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
            k = out["unique_id"].map(self.dispersion_).fillna(self.dispersion_.median()).to_numpy()
            mu_safe = np.maximum(mu, 1e-9)
            prob = k / (k + mu_safe)
            for q in qs:
                val = nbinom.ppf(q, k, prob)
                out[quantile_column(self.alias, q)] = np.where(mu > 1e-9, val, 0.0).astype(float)
        return out.sort_values(["unique_id", "ds"], ignore_index=True)

    def _future(self, h: int, X_df: pd.DataFrame | None) -> pd.DataFrame | None:
        dynamic = [c for c in self.dynamic_ if c not in PRICE_FEATURES]
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
        last = self.history_.groupby("unique_id")["ds"].max()
        step = pd.tseries.frequencies.to_offset(self.freq_)
        want = pd.DataFrame({
            "unique_id": np.repeat(last.index.to_numpy(), h),
            "ds": np.concatenate([pd.date_range(d + step, periods=h, freq=self.freq_).to_numpy()
                                  for d in last.to_numpy()]),
        })
        fut = want.merge(X_df[["unique_id", "ds", *dynamic]], on=["unique_id", "ds"], how="left")
        # a missing future price is filled with the last known one; anything else must be given
        required = [c for c in dynamic if c != "price"]
        gaps = fut[required].isna().any(axis=1)
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

    def __init__(self, *, lags: Sequence[int] = (28, 35, 42, 49),
                 rolling: dict[int, Sequence[int]] | None = None, alias: str | None = None,
                 **params: Any) -> None:
        super().__init__(lags=lags, rolling=rolling or {28: (7, 28, 84)}, alias=alias, **params)

    @property
    def alias(self) -> str:
        return self._alias or "LightGBMDirect"

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        if h > min(self.params["lags"]):
            raise ModelError(f"{self.alias} forecasts at most {min(self.params['lags'])} steps "
                             f"without feeding predictions back; asked for {h}. Use LightGBM "
                             "for longer horizons")
        return super().predict(h, X_df=X_df, quantiles=quantiles)


MODELS: dict[str, type[Forecaster]] = {"LightGBM": LightGBMGlobal, "LightGBMDirect": LightGBMDirect}
