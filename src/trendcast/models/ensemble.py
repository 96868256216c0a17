"""Combinations of registered models: median, backtest-weighted average, per-series selection.

Members are registry names, built with ``make_model(name, n_jobs=n_jobs)`` and fitted on the
same frame. ``WeightedEnsemble`` and ``AutoSelect`` learn from rolling-origin backtests that run
*inside* the training frame (the last window ends on the last training date), so nothing after
the training end is used. The registry imports this module, so it is imported lazily here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.features.exog import driver_columns
from trendcast.models.base import Forecaster, Strategy, check_horizon, check_quantiles
from trendcast.models.calibration import QuantileCalibration, calibration_factors, choose_calibration
from trendcast.schema import quantile_column

__all__ = ["MODELS", "AutoSelect", "MedianEnsemble", "Recommended", "WeightedEnsemble",
           "calibration_factors"]  # calibration_factors re-exported for callers of this module

KEY = ["unique_id", "ds"]


def _registry() -> Any:
    from trendcast.models import registry  # lazy: the registry imports this module

    return registry


class _Ensemble(Forecaster):
    """Shared member handling: build, fit, predict and align member forecasts."""

    family: ClassVar[str] = "ensemble"
    supports_quantiles: ClassVar[bool] = True
    _too_short: ClassVar[str] = ""
    _skips_unfit: ClassVar[bool] = False  # a member that cannot run here is left out (noted)

    def __init__(self, *, members: Sequence[str] = ("SeasonalNaive", "AutoETS"),
                 alias: str | None = None, n_jobs: int = 1, **params: Any) -> None:
        if isinstance(members, str):
            members = (members,)
        members = tuple(members)
        if not members:
            raise ModelError(f"{type(self).__name__} needs at least one member model")
        lowered = [m.lower() for m in members]
        dupes = sorted({m for m in members if lowered.count(m.lower()) > 1})
        if dupes:
            raise ModelError(f"ensemble members must be distinct, got duplicates {dupes}")
        unknown = []
        for m in members:
            try:
                _registry().model_class(m)
            except ModelError:
                unknown.append(m)
        if unknown:
            raise ModelError(
                f"unknown ensemble member(s) {unknown}; available: "
                f"{', '.join(sorted(_registry().MODELS))}"
            )
        super().__init__(alias=alias, members=members, n_jobs=n_jobs, **params)

    @property
    def supports_exog(self) -> bool:  # type: ignore[override]
        """True when any member uses covariates (it then gets them; the others ignore them)."""
        return any(self._build(m).supports_exog for m in self.params["members"])

    @property
    def supports_negative(self) -> bool:  # type: ignore[override]
        """False when some member needs sales >= 0 (the whole ensemble then gets clipped sales)."""
        return all(self._build(m).supports_negative for m in self.params["members"])

    # -- saved versions: what was learned (weights, choices) stays, members move forward ----
    def freeze(self) -> Self:
        self._check_fitted()
        self.models_ = {alias: model.freeze() for alias, model in self.models_.items()}
        return self

    def forward(self, df: pd.DataFrame) -> Self:
        import copy

        self._check_fitted()
        new = copy.copy(self)
        new.models_ = {alias: model.forward(df) for alias, model in self.models_.items()}
        return new

    def forward_history(self) -> int | None:
        """The longest span any member reads (None when one reads all of it)."""
        spans = [model.forward_history() for model in self.models_.values()]
        return None if not spans or None in spans else max(s for s in spans if s is not None)

    def merge(self, others: Sequence[Self]) -> Self:
        import copy

        if not others:
            return self
        new = copy.copy(self)
        new.models_ = {alias: model.merge([o.models_[alias] for o in others])
                       for alias, model in self.models_.items()}
        return new

    # -- members ---------------------------------------------------------------------------
    def _build(self, name: str) -> Forecaster:
        return _registry().make_model(name, n_jobs=self.params["n_jobs"])

    def _fit_members(self, df: pd.DataFrame, names: Sequence[str]) -> dict[str, Forecaster]:
        """Fit the named members on ``df``; keyed by member alias (the forecast column)."""
        fitted = {}
        for name in names:
            model = self._build(name).fit(df)
            fitted[model.alias] = model
        return fitted

    def _member_forecasts(self, h: int, X_df: pd.DataFrame | None,
                          qs: list[float]) -> pd.DataFrame:
        """One frame: ``unique_id, ds`` and each member's point and quantile columns."""
        merged: pd.DataFrame | None = None
        for alias, model in self.models_.items():
            kwargs: dict[str, Any] = {"quantiles": qs or None}
            if model.supports_exog and X_df is not None:
                kwargs["X_df"] = X_df
            fc = model.predict(h, **kwargs)
            fc["unique_id"] = fc["unique_id"].astype(str)
            keep = KEY + [alias] + [quantile_column(alias, q) for q in qs
                                    if quantile_column(alias, q) in fc.columns]
            fc = fc[keep]
            if merged is None:
                merged = fc
                continue
            n = len(merged)
            merged = merged.merge(fc, on=KEY, how="inner")
            if len(merged) != n or len(fc) != n:
                raise ModelError(
                    f"ensemble member {alias} forecast different series or dates than the "
                    f"other members ({len(fc)} rows vs {n}); members must cover the same rows"
                )
        assert merged is not None
        return merged.sort_values(KEY, ignore_index=True)

    def _quantile_sources(self, fc: pd.DataFrame, q: float, aliases: Sequence[str]) -> list[str]:
        have = [a for a in aliases if quantile_column(a, q) in fc.columns]
        if not have:
            raise ModelError(
                f"{self.alias}: quantiles requested but no member produces them "
                f"(members: {', '.join(aliases)})"
            )
        return have

    def _output(self, fc: pd.DataFrame, point: np.ndarray,
                quants: dict[float, np.ndarray]) -> pd.DataFrame:
        out = pd.DataFrame({"unique_id": fc["unique_id"].to_numpy(), "ds": fc["ds"].to_numpy(),
                            self.alias: point})
        for q, values in quants.items():
            out[quantile_column(self.alias, q)] = values
        return out

    def _start_predict(self, h: int, quantiles: Sequence[float] | None) -> tuple[int, list[float]]:
        self._check_fitted()
        return check_horizon(h), check_quantiles(quantiles)

    # -- internal validation -----------------------------------------------------------------
    def _validation_h(self, df: pd.DataFrame) -> int:
        """``validation_h`` shrunk so the held-out windows take at most half the history."""
        n_periods = df["ds"].nunique()
        n_windows = self.params["n_windows"]
        cap = n_periods // (2 * n_windows)
        return max(1, min(int(self.params["validation_h"]), cap))

    def _validate(self, df: pd.DataFrame,
                  quantiles: Sequence[float] | None = None) -> pd.DataFrame | None:
        """Backtest every member on windows ending at the last training date.

        Returns ``unique_id, ds, cutoff, y`` plus one column per member alias (and its
        ``quantiles`` columns, when asked for and the member makes them), or None (with a
        warning) when the history is too short for even one window.
        """
        from trendcast.models.validation import backtest

        n_windows = int(self.params["n_windows"])
        if n_windows < 1:
            raise ModelError(f"n_windows must be >= 1, got {n_windows}")
        h_val = self._validation_h(df)
        self.validation_h_ = h_val
        self.skipped_: dict[str, str] = {}
        merged: pd.DataFrame | None = None
        for name in self.params["members"]:
            alias = self._build(name).alias
            try:
                cv = backtest(lambda name=name: self._build(name), df, h=h_val,
                              n_windows=n_windows, step=h_val, quantiles=quantiles)
            except ModelError as exc:
                if self._skips_unfit and "not enough history" not in str(exc):
                    self.skipped_[name] = str(exc)  # e.g. a direct model's horizon is too short
                    continue
                if "not enough history" not in str(exc):
                    raise
                warnings.warn(f"{self.alias}: {exc}; {self._too_short}", stacklevel=3)
                return None
            qcols = [c for c in (quantile_column(alias, q) for q in quantiles or ()) if c in cv.columns]
            cv = cv[KEY + ["cutoff", "y", alias, *qcols]]
            cv = cv.assign(unique_id=cv["unique_id"].astype(str))
            merged = cv if merged is None else merged.merge(
                cv, on=KEY + ["cutoff", "y"], how="inner")
        assert merged is not None
        self.validation_cutoffs_ = sorted(pd.to_datetime(merged["cutoff"].unique()))
        return merged.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)


class MedianEnsemble(_Ensemble):
    """Point and each quantile = the median over members (robust to one bad member)."""

    def __init__(self, *, members: Sequence[str] = ("SeasonalNaive", "AutoETS"),
                 alias: str | None = None, n_jobs: int = 1) -> None:
        super().__init__(members=members, alias=alias, n_jobs=n_jobs)

    @property
    def strategy(self) -> Strategy:
        """Per series when every member is; whole when some member must see every series;
        else global (fitted once, applied to each partition with :meth:`for_series`)."""
        kinds = {self._build(m).strategy for m in self.params["members"]}
        if kinds == {"per_series"}:
            return "per_series"
        return "whole" if "whole" in kinds else "global"

    def fit(self, df: pd.DataFrame) -> Self:
        self.models_ = self._fit_members(df, self.params["members"])
        self.is_fitted_ = True
        return self

    def for_series(self, df: pd.DataFrame) -> Self:
        """A copy that forecasts the series of ``df``: members with ``for_series`` (global
        models) keep what they learned and are applied to them, the others are refitted on
        them (a per-series model forecasts a series the same whatever else is in the frame).
        Lets ``trendcast.engine`` fit the ensemble once and forecast partition by partition."""
        import copy

        self._check_fitted()
        new = copy.copy(self)
        new.models_ = {}
        for name, (alias, model) in zip(self.params["members"], self.models_.items(), strict=True):
            new.models_[alias] = (model.for_series(df) if model.strategy == "global"
                                  else self._build(name).fit(df))
        return new

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        h, qs = self._start_predict(h, quantiles)
        fc = self._member_forecasts(h, X_df, qs)
        aliases = list(self.models_)
        point = np.median(fc[aliases].to_numpy(dtype=float), axis=1)
        quants = {}
        for q in qs:
            cols = [quantile_column(a, q) for a in self._quantile_sources(fc, q, aliases)]
            quants[q] = np.median(fc[cols].to_numpy(dtype=float), axis=1)
        return self._output(fc, point, quants)


class WeightedEnsemble(_Ensemble):
    """Weighted average of members, weights proportional to 1 / MAE^2 on internal backtests.

    The backtest runs on the training frame only: ``n_windows`` windows of ``validation_h``
    steps whose last window ends on the last training date (``validation_h`` shrinks so the
    windows take at most half the history). Weights are global, or per series with
    ``per_series=True`` (series the backtest could not score get the global weights).
    ``weights_`` holds ``model, mae, weight`` (plus ``unique_id`` per series).

    Quantiles are the same weighted average of the members' quantiles. This is a heuristic
    (quantile averaging keeps the quantiles ordered but is not calibrated for the combination);
    check coverage in a backtest before relying on the intervals.
    """

    _too_short = "members are weighted equally"

    def __init__(self, *, members: Sequence[str] = ("SeasonalNaive", "AutoETS"),
                 validation_h: int = 28, n_windows: int = 1, per_series: bool = False,
                 alias: str | None = None, n_jobs: int = 1) -> None:
        check_horizon(validation_h)
        super().__init__(members=members, alias=alias, n_jobs=n_jobs,
                         validation_h=validation_h, n_windows=n_windows,
                         per_series=per_series)

    def fit(self, df: pd.DataFrame) -> Self:
        cv = self._validate(df)
        self.models_ = self._fit_members(df, self.params["members"])
        aliases = list(self.models_)
        if cv is None:
            glob = pd.DataFrame({"model": aliases, "mae": np.nan,
                                 "weight": 1.0 / len(aliases)})
        else:
            glob = _inverse_mse_weights(cv, aliases)
        self.global_weights_ = glob
        if self.params["per_series"]:
            ids = sorted(df["unique_id"].astype(str).unique())
            parts = [] if cv is None else [
                _inverse_mse_weights(g, aliases).assign(unique_id=uid)
                for uid, g in cv.groupby("unique_id", sort=True)]
            seen = {p["unique_id"].iloc[0] for p in parts}
            parts += [glob.assign(unique_id=u) for u in ids if u not in seen]  # global weights
            per = pd.concat(parts, ignore_index=True)
            self.weights_ = (per[["unique_id", "model", "mae", "weight"]]
                             .sort_values(["unique_id"], kind="stable", ignore_index=True))
        else:
            self.weights_ = glob
        self.is_fitted_ = True
        return self

    def _weight_matrix(self, fc: pd.DataFrame, aliases: list[str]) -> np.ndarray:
        """Rows of ``fc`` x members."""
        if not self.params["per_series"]:
            w = self.weights_.set_index("model")["weight"].reindex(aliases).to_numpy(dtype=float)
            return np.tile(w, (len(fc), 1))
        wide = self.weights_.pivot(index="unique_id", columns="model", values="weight")
        glob = self.global_weights_.set_index("model")["weight"].reindex(aliases)
        wide = wide.reindex(columns=aliases)
        rows = wide.reindex(fc["unique_id"].to_numpy())
        rows = rows.fillna(glob)  # series unseen at fit: global weights
        return rows.to_numpy(dtype=float)

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        h, qs = self._start_predict(h, quantiles)
        fc = self._member_forecasts(h, X_df, qs)
        aliases = list(self.models_)
        w = self._weight_matrix(fc, aliases)
        point = (fc[aliases].to_numpy(dtype=float) * w).sum(axis=1)
        quants = {}
        for q in qs:
            have = self._quantile_sources(fc, q, aliases)
            idx = [aliases.index(a) for a in have]
            wq = w[:, idx]
            wq = wq / wq.sum(axis=1, keepdims=True)
            vals = fc[[quantile_column(a, q) for a in have]].to_numpy(dtype=float)
            quants[q] = (vals * wq).sum(axis=1)
        return self._output(fc, point, quants)


def _inverse_mse_weights(cv: pd.DataFrame, aliases: list[str]) -> pd.DataFrame:
    """Weights proportional to 1/MAE^2, normalised; a perfect member takes all the weight."""
    y = cv["y"].to_numpy(dtype=float)
    mae = np.array([np.mean(np.abs(y - cv[a].to_numpy(dtype=float))) for a in aliases])
    finite = np.isfinite(mae)
    if not finite.any():
        w = np.full(len(aliases), 1.0 / len(aliases))
    else:
        eps = 1e-12 * (1.0 + float(np.nanmean(np.abs(y))))
        inv = np.where(finite, 1.0 / np.maximum(np.where(finite, mae, 1.0), eps) ** 2, 0.0)
        w = inv / inv.sum()
    return pd.DataFrame({"model": aliases, "mae": mae, "weight": w})


class AutoSelect(_Ensemble):
    """Per series, the member with the lowest MASE on internal backtest windows.

    Windows are as in ``WeightedEnsemble``. MASE scales each series by its in-sample
    seasonal-naive error before the first window (season from the data's frequency unless
    ``season_length`` is given); per series this ranks members exactly as MAE does, so series
    whose scale is zero (constant history) are still ranked, with ``score`` NaN. Ties go to the
    earlier member. Series the backtest could not score get the member with the lowest mean
    score. ``choice_`` holds ``unique_id, model, score``.
    """

    _too_short = "every series gets the first member"

    def __init__(self, *, members: Sequence[str] = ("SeasonalNaive", "AutoETS"),
                 validation_h: int = 28, n_windows: int = 1, season_length: int | None = None,
                 alias: str | None = None, n_jobs: int = 1) -> None:
        check_horizon(validation_h)
        super().__init__(members=members, alias=alias, n_jobs=n_jobs,
                         validation_h=validation_h, n_windows=n_windows,
                         season_length=season_length)

    def fit(self, df: pd.DataFrame) -> Self:
        from trendcast.models.statistical import default_season_length, infer_freq
        from trendcast.models.validation import mase_scale

        data = df.assign(unique_id=df["unique_id"].astype(str))
        season = self.params["season_length"] or default_season_length(infer_freq(data))
        self.season_length_ = season
        aliases = [self._build(n).alias for n in self.params["members"]]
        ids = sorted(data["unique_id"].unique())
        cv = self._validate(data)
        rows = []
        if cv is not None:
            first = min(self.validation_cutoffs_)
            scale = mase_scale(data[data["ds"] <= first], season)
            y = cv["y"].to_numpy(dtype=float)
            err = pd.DataFrame({a: np.abs(y - cv[a].to_numpy(dtype=float)) for a in aliases})
            mae = err.groupby(cv["unique_id"].to_numpy()).mean()  # series x members
            for uid, row in mae.iterrows():
                best = aliases[int(np.argmin(row.to_numpy()))]  # first minimum: earlier member
                rows.append({"unique_id": uid, "model": best,
                             "score": float(row[best] / scale.get(uid, np.nan))})
            mase = mae.div(scale.reindex(mae.index), axis=0)
            fallback = aliases[int(np.argmin(mase.mean().fillna(np.inf).to_numpy()))]
        else:
            fallback = aliases[0]
        done = {r["unique_id"] for r in rows}
        rows += [{"unique_id": u, "model": fallback, "score": np.nan} for u in ids if u not in done]
        self.choice_ = pd.DataFrame(rows, columns=["unique_id", "model", "score"]).sort_values(
            "unique_id", ignore_index=True)
        chosen = [n for n, a in zip(self.params["members"], aliases, strict=True)
                  if a in set(self.choice_["model"])]
        self.models_ = self._fit_members(data, chosen)
        self.is_fitted_ = True
        return self

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        h, qs = self._start_predict(h, quantiles)
        fc = self._member_forecasts(h, X_df, qs)
        choice = self.choice_.set_index("unique_id")["model"]
        pick = fc["unique_id"].map(choice).fillna(next(iter(self.models_))).to_numpy()
        point = np.full(len(fc), np.nan)
        quants = {q: np.full(len(fc), np.nan) for q in qs}
        for alias in self.models_:
            rows = pick == alias
            point[rows] = fc.loc[rows, alias].to_numpy(dtype=float)
            for q in qs:
                col = quantile_column(alias, q)
                if rows.any() and col not in fc.columns:
                    raise ModelError(f"{self.alias}: member {alias} does not produce quantiles")
                if rows.any():
                    quants[q][rows] = fc.loc[rows, col].to_numpy(dtype=float)
        return self._output(fc, point, quants)


class Recommended(AutoSelect):
    """One configuration for the whole catalogue: the member with the lowest pooled WAPE
    (sum of absolute errors over sum of actuals, so best sellers count as they do in units
    and revenue) on ``n_windows`` internal backtest windows of ``validation_h`` steps that end
    on the last training date; then only that member is fitted on all the data.

    Members within ``tolerance`` (relative, default 1%) of the best score count as tied and
    the earlier member wins: the default list puts combinations first, since a combination
    that validates as well as a single model is the safer bet out of sample. Statistical
    models that fit a long season state by state (AutoETS, AutoARIMA, AutoTheta) are left out
    when the season is longer than ``max_slow_season`` periods (weekly data: 52), where they
    take minutes per window and rarely win; the notes say so.

    Its quantiles are calibrated on the same validation windows (``calibrate``, default on),
    by the method of :mod:`trendcast.models.calibration` with the lowest cross-fitted
    validation pinball loss (WQL): the member's own quantiles, one scale factor per level,
    factors per horizon group x volume band, conformal residual quantiles per horizon group x
    volume band, relative residuals, or a blend with SeasonalWindowAverage's quantiles (when
    it is a member). So the point forecast is chosen by WAPE and its quantiles by WQL, and an
    80% band covers about 80% on the catalogue's own data, whatever the member assumes.

    ``--model recommended`` (members ``RECOMMENDED_MEMBERS`` in the registry): so a weekly
    catalogue where seasonal naive wins gets seasonal naive, and M5 gets the LightGBM
    ensemble. ``scores_`` holds each member's validation WAPE, ``calibration_`` the fitted
    :class:`~trendcast.models.calibration.QuantileCalibration` (its ``scores`` every method's
    loss); ``notes_`` says what won.
    """

    calibration_grid: ClassVar[tuple[float, ...]] = (0.005, 0.025, 0.05, 0.1, 0.165, 0.25, 0.4,
                                                     0.6, 0.75, 0.835, 0.9, 0.95, 0.975, 0.995)
    calibration_reference: ClassVar[str] = "SeasonalWindowAverage"

    _too_short = "the first member is used"
    _skips_unfit = True
    slow_for_long_seasons: ClassVar[frozenset[str]] = frozenset({"autoets", "autoarima", "autotheta"})

    def __init__(self, *, members: Sequence[str] = ("SeasonalNaive", "AutoETS"),
                 validation_h: int = 28, n_windows: int = 2, season_length: int | None = None,
                 alias: str | None = None, n_jobs: int = 1, horizon: int | None = None,
                 tolerance: float = 0.01, max_slow_season: int = 24, calibrate: bool = True) -> None:
        super().__init__(members=members, validation_h=horizon or validation_h, n_windows=n_windows,
                         season_length=season_length, alias=alias, n_jobs=n_jobs)
        self.params.update(horizon=horizon, tolerance=tolerance, max_slow_season=max_slow_season,
                           calibrate=calibrate)

    @property
    def alias(self) -> str:
        return self._alias or "Recommended"

    @property
    def strategy(self) -> Strategy:
        return "whole"  # one choice from every series' errors

    def fit(self, df: pd.DataFrame) -> Self:
        from trendcast.models.statistical import default_season_length, infer_freq

        data = df.assign(unique_id=df["unique_id"].astype(str))
        freq = df.attrs.get("freq") or infer_freq(data)
        season = self.params["season_length"] or default_season_length(freq)
        members = list(self.params["members"])
        self.drivers_held_: tuple[str, str] | None = None
        # members that learn from external series are compared only when the frame has some
        has_drivers = bool(driver_columns(list(data.columns)))
        self.params["members"] = tuple(m for m in members if has_drivers or not self._uses_drivers(m))
        slow = [m for m in self.params["members"] if m.lower() in self.slow_for_long_seasons]
        if season > self.params["max_slow_season"] and slow and len(slow) < len(self.params["members"]):
            self.params["members"] = tuple(m for m in self.params["members"] if m not in slow)
        offered = self.params["members"]
        try:
            cv = self._validate(data, (*self.calibration_grid, 0.5) if self.params["calibrate"] else None)
        finally:
            self.params["members"] = tuple(members)
        if season > self.params["max_slow_season"]:
            self.skipped_.update({m: f"a season of {season} periods makes it slow; run it with "
                                     f"--model {m} to compare" for m in slow if len(slow) < len(members)})
        names = [n for n in offered if n not in getattr(self, "skipped_", {})]
        aliases = [self._build(n).alias for n in names]
        if cv is None:
            best = names[0]
            self.scores_ = pd.Series(np.nan, index=aliases)
            self.notes_ = [f"{self.alias}: too little history to compare members; used {aliases[0]}"]
        else:
            y = cv["y"].to_numpy(dtype=float)
            total = float(np.abs(y).sum()) or 1.0
            self.scores_ = pd.Series({a: float(np.abs(y - cv[a].to_numpy(dtype=float)).sum()) / total
                                      for a in aliases})
            scores = self.scores_.fillna(np.inf).to_numpy()
            tied = np.flatnonzero(scores <= scores.min() * (1 + self.params["tolerance"]))
            best = names[int(tied[0])]  # the earliest member among the tied
            if has_drivers and self._uses_drivers(best):
                best = self._drivers_hold(cv, names, aliases, best, scores)
            ranking = ", ".join(f"{a} {s:.3f}" for a, s in self.scores_.sort_values().items())
            self.notes_ = [f"{self.alias}: chose {self._build(best).alias} by validation WAPE over "
                           f"{len(self.validation_cutoffs_)} window(s) of {self.validation_h_} steps "
                           f"({ranking})"]
        self.notes_ += [f"{self.alias}: left out {name} ({why})" for name, why in self.skipped_.items()]
        if cv is not None and has_drivers:
            self.notes_.append(self._drivers_note(names, aliases, best, list(data.columns)))
        self.chosen_ = self._build(best).alias
        self.calibration_ = None if cv is None else self._calibrate(cv, names)
        if self.calibration_ is not None:
            self.notes_.append(f"{self.alias}: quantiles of {self.chosen_} calibrated on the "
                               f"validation windows by {self.calibration_.describe()}")
        self.chosen_name_ = best
        self.validation_ = None if cv is None else self._chosen_validation(cv)
        fit_names = [best]
        if self.calibration_ is not None and self.calibration_.method == "blend":
            fit_names.append(self.calibration_reference)  # its quantiles are blended in
        self.models_ = self._fit_members(data, fit_names)
        self.is_fitted_ = True
        return self

    def _calibrate(self, cv: pd.DataFrame, names: Sequence[str]) -> QuantileCalibration | None:
        """The calibration method with the lowest cross-fitted validation WQL (None when the
        chosen member made no quantiles, or the windows are too few to cross-fit)."""
        if not self.params["calibrate"]:
            return None
        grid = (*self.calibration_grid, 0.5)
        if not all(quantile_column(self.chosen_, q) in cv.columns for q in grid):
            return None
        ref = next((self._build(n).alias for n in names if n == self.calibration_reference), None)
        if ref == self.chosen_:
            ref = None
        try:
            return choose_calibration(cv, self.chosen_, grid, reference=ref)
        except ModelError as exc:
            self.notes_.append(f"{self.alias}: quantiles not calibrated ({exc})")
            return None

    def _drivers_hold(self, cv: pd.DataFrame, names: list[str], aliases: list[str], best: str,
                      scores: np.ndarray) -> str:
        """``best`` (a member with external drivers) if it beats the best member without them in
        every validation window, not only pooled; else the choice among members without
        drivers. External series add variance a pooled edge on a few windows can hide."""
        plain = [i for i, n in enumerate(names) if not self._uses_drivers(n)]
        if not plain:
            return best
        rest = scores[plain]
        tied = [plain[j] for j in np.flatnonzero(rest <= rest.min() * (1 + self.params["tolerance"]))]
        other = names[tied[0]]
        a_best, a_other = aliases[names.index(best)], aliases[names.index(other)]
        for _, window in cv.groupby("cutoff"):
            err = {a: float(np.abs(window["y"] - window[a]).sum()) for a in (a_best, a_other)}
            if not err[a_best] < err[a_other]:
                self.drivers_held_ = (a_best, a_other)
                return other
        return best

    def _drivers_note(self, names: list[str], aliases: list[str], best: str,
                      columns: list[str]) -> str:
        """Whether the external series were kept, with the validation scores that decided."""
        uses = {a: self._uses_drivers(n) for n, a in zip(names, aliases, strict=True)}
        with_d = self.scores_[[a for a in aliases if uses[a]]].dropna()
        without = self.scores_[[a for a in aliases if not uses[a]]].dropna()
        series = ", ".join(c.removeprefix("macro_") for c in driver_columns(columns))
        if with_d.empty or without.empty:
            why = [f"{n}: {r}" for n, r in getattr(self, "skipped_", {}).items() if self._uses_drivers(n)]
            return (f"{self.alias}: external drivers ({series}) could not be compared on validation"
                    + (f" and were not used ({'; '.join(why)})" if why else ""))
        verdict = "kept" if self._uses_drivers(best) else "not kept"
        held = self.drivers_held_
        if held is not None:
            verdict += (f" ({held[0]} was best pooled but not better than {held[1]} in every "
                        "validation window)")
        return (f"{self.alias}: external drivers ({series}) {verdict}: best validation WAPE with them "
                f"{with_d.min():.3f} ({with_d.idxmin()}), without {without.min():.3f} "
                f"({without.idxmin()})")

    @property
    def uses_drivers(self) -> bool:
        """Whether the member chosen by the last fit learns from external series."""
        return bool(getattr(self, "chosen_name_", None)) and self._uses_drivers(self.chosen_name_)

    def _uses_drivers(self, name: str) -> bool:
        """Whether the member ``name`` (or one of its own members) learns from external series."""
        model = self._build(name)
        inner = model.params.get("members")
        if inner:
            return any(self._uses_drivers(m) for m in inner)
        return bool(model.params.get("drivers", False))

    def _chosen_validation(self, cv: pd.DataFrame) -> pd.DataFrame:
        """The chosen member's forecasts on the last validation window, under this model's
        alias and with its calibrated quantiles: ``unique_id, ds, cutoff, y, <alias>,
        <alias>-q-<q>``. A version's validation score reuses it instead of validating again."""
        last = cv[cv["cutoff"] == cv["cutoff"].max()].reset_index(drop=True)
        out = last[["unique_id", "ds", "cutoff", "y"]].copy()
        out[self.alias] = last[self.chosen_].to_numpy(dtype=float)
        grid = [q for q in (*self.calibration_grid, 0.5)
                if quantile_column(self.chosen_, q) in last.columns]
        if self.calibration_ is not None:
            ref = self.calibration_.reference
            values = self.calibration_.apply(last, self.chosen_, grid, reference=ref)
        else:
            values = {q: last[quantile_column(self.chosen_, q)].to_numpy(dtype=float) for q in grid}
        for q in sorted(values):
            out[quantile_column(self.alias, q)] = values[q]
        return out

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        h, qs = self._start_predict(h, quantiles)
        cal = getattr(self, "calibration_", None)
        calibrated = bool(qs) and isinstance(cal, QuantileCalibration)
        # as validated: the member's median (and its quantiles) are what the method adjusts
        fc = self._member_forecasts(h, X_df, sorted({*qs, 0.5}) if calibrated else qs)
        point = fc[self.chosen_].to_numpy(dtype=float)
        if calibrated:
            quants = cal.apply(fc, self.chosen_, qs, reference=cal.reference)
            return self._output(fc, point, {q: quants[q] for q in qs})
        quants = {q: fc[quantile_column(self.chosen_, q)].to_numpy(dtype=float) for q in qs
                  if quantile_column(self.chosen_, q) in fc.columns}
        if len(quants) < len(qs):
            raise ModelError(f"{self.alias}: the chosen {self.chosen_} does not produce quantiles")
        return self._output(fc, point, quants)


MODELS: dict[str, type[Forecaster]] = {
    "MedianEnsemble": MedianEnsemble,
    "WeightedEnsemble": WeightedEnsemble,
    "AutoSelect": AutoSelect,
    "Recommended": Recommended,
}
