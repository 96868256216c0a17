"""Deep global models from neuralforecast (NHITS, PatchTST), trained on CPU on all series.

The network is trained for a fixed ``horizon`` (default 28): ``predict(h)`` returns its first
``h`` steps and refuses ``h > horizon``. The loss is neuralforecast's ``MQLoss`` on the grid
``train_quantiles`` (default the nine M5 levels plus 0.1 and 0.9); other requested levels are
interpolated inside the grid and refused outside it unless ``tails="normal"`` (see
:mod:`trendcast.models.quantile_map`). The point forecast is the mean implied by the grid
(``point="mean"``, the default) or its median (``point="median"``). Early stopping watches the
multi-quantile loss on the last ``horizon`` points of every series (``val_check_steps``,
``early_stop_patience_steps``, at most ``max_steps``); when a series is too short to spare
them, training runs without a validation window and the notes say so. The trainer is CPU only
and quiet (no progress bar, logger or checkpoints); ``n_jobs`` sets torch's threads;
``random_seed`` makes runs repeatable. Importing neuralforecast takes ~15 s (it imports ray);
its Auto* models are not used.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster, check_horizon, check_quantiles
from trendcast.models.pretrained import check_frame, check_regular, torch_threads
from trendcast.models.quantile_map import check_point, check_tails, grid_mean, map_quantiles
from trendcast.models.statistical import infer_freq
from trendcast.schema import quantile_column

TRAIN_QUANTILES = (0.005, 0.025, 0.1, 0.165, 0.25, 0.5, 0.75, 0.835, 0.9, 0.975, 0.995)
_NF_ALIAS = "nf"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    names = ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            for module in ("pytorch_lightning", "lightning", "neuralforecast", "torch"):
                warnings.filterwarnings("ignore", module=module)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _NeuralForecastModel(Forecaster):
    """A neuralforecast model trained globally with a multi-quantile loss."""

    family: ClassVar[str] = "deep"
    supports_quantiles: ClassVar[bool] = True
    nf_name: ClassVar[str] = ""

    def __init__(self, *, horizon: int = 28, input_size: int | None = None, max_steps: int = 500,
                 val_check_steps: int = 50, early_stop_patience_steps: int = 3,
                 learning_rate: float = 1e-3, batch_size: int = 32, windows_batch_size: int = 256,
                 scaler_type: str = "standard", train_quantiles: Sequence[float] = TRAIN_QUANTILES,
                 point: str = "mean", tails: str = "error", random_seed: int = 0, n_jobs: int = 1,
                 alias: str | None = None, **model_kwargs: Any) -> None:
        check_horizon(horizon)
        check_tails(tails)
        check_point(point)
        grid = check_quantiles(train_quantiles)
        if 0.5 not in grid:
            raise ModelError(f"train_quantiles must include the median 0.5, got {list(train_quantiles)}")
        if int(max_steps) < 1:
            raise ModelError(f"max_steps must be >= 1, got {max_steps!r}")
        super().__init__(alias=alias, horizon=int(horizon), input_size=input_size,
                         max_steps=int(max_steps), val_check_steps=int(val_check_steps),
                         early_stop_patience_steps=int(early_stop_patience_steps),
                         learning_rate=float(learning_rate), batch_size=int(batch_size),
                         windows_batch_size=int(windows_batch_size), scaler_type=scaler_type,
                         train_quantiles=tuple(grid), point=point, tails=tails, random_seed=int(random_seed),
                         n_jobs=int(n_jobs), **model_kwargs)

    def _model_kwargs(self) -> dict[str, Any]:
        """Architecture arguments beyond the shared ones (subclasses add defaults)."""
        shared = {"horizon", "input_size", "max_steps", "val_check_steps", "early_stop_patience_steps",
                  "learning_rate", "batch_size", "windows_batch_size", "scaler_type",
                  "train_quantiles", "point", "tails", "random_seed", "n_jobs"}
        return {k: v for k, v in self.params.items() if k not in shared}

    def fit(self, df: pd.DataFrame) -> Self:
        import neuralforecast.models as nf_models
        from neuralforecast import NeuralForecast
        from neuralforecast.losses.pytorch import MQLoss

        p = self.params
        data = check_frame(df, self.alias)[["unique_id", "ds", "y"]]
        data["unique_id"] = data["unique_id"].astype(str)
        if data["y"].isna().any():
            raise ModelError(f"{self.alias}: y has {int(data['y'].isna().sum())} missing values; "
                             "fill them first (the forecast service fills gaps with zero sales)")
        self.freq_ = infer_freq(data)
        check_regular(data, self.freq_, self.alias)
        h = p["horizon"]
        input_size = int(p["input_size"] or 3 * h)
        shortest = int(data.groupby("unique_id").size().min())
        # a validation window of h points per series, when every series can spare it
        val_size = h if shortest >= input_size + 2 * h else 0
        self.notes_: list[str] = []
        if not val_size:
            self.notes_.append(f"{self.alias}: the shortest series ({shortest} points) cannot spare a "
                               f"{h}-step validation window after {input_size} input points; trained "
                               f"{p['max_steps']} steps without early stopping")
        grid = list(p["train_quantiles"])
        cls = getattr(nf_models, self.nf_name)
        with _quiet():  # the constructor seeds everything and logs that it did
            model = cls(h=h, input_size=input_size, loss=MQLoss(quantiles=grid), max_steps=p["max_steps"],
                        val_check_steps=min(p["val_check_steps"], p["max_steps"]),
                        early_stop_patience_steps=p["early_stop_patience_steps"] if val_size else -1,
                        learning_rate=p["learning_rate"], batch_size=p["batch_size"],
                        windows_batch_size=p["windows_batch_size"], scaler_type=p["scaler_type"],
                        random_seed=p["random_seed"], start_padding_enabled=True, alias=_NF_ALIAS,
                        accelerator="cpu", devices=1, enable_progress_bar=False, logger=False,
                        enable_checkpointing=False, enable_model_summary=False, **self._model_kwargs())
        self.nf_ = NeuralForecast(models=[model], freq=self.freq_)
        self.series_end_ = data.groupby("unique_id")["ds"].max()
        self.untrained_ = False
        try:
            with torch_threads(p["n_jobs"]), _quiet():
                self.nf_.fit(data, val_size=val_size)
        except Exception as exc:  # noqa: BLE001 - neuralforecast raises a bare Exception here
            if "No windows available" not in str(exc):
                raise
            # every series is too short for one training window: forecasts are missing, and
            # the run's fallback chain gives a window average, named in its notes
            self.notes_.append(f"{self.alias}: no series is long enough for one training window; "
                               "not trained")
            self.untrained_ = True
            self.grid_ = grid
            self.is_fitted_ = True
            return self
        self.columns_ = [_NF_ALIAS + name for name in model.loss.output_names]
        self.grid_ = grid
        trajectory = getattr(self.nf_.models[0], "train_trajectories", None) or [(-1, None)]
        steps = int(trajectory[-1][0]) + 1  # logged at the 0-based global step
        if val_size and steps < p["max_steps"]:
            self.notes_.append(f"{self.alias}: early stopping after {steps} of {p['max_steps']} steps")
        self.steps_ = steps
        self.is_fitted_ = True
        return self

    def forward(self, df: pd.DataFrame) -> Self:
        """The trained network applied to newer history (its windows end on ``df``'s last dates)."""
        import copy

        self._check_fitted()
        new = copy.copy(self)
        data = check_frame(df, self.alias)[["unique_id", "ds", "y"]]
        data["unique_id"] = data["unique_id"].astype(str)
        new.series_end_ = data.groupby("unique_id")["ds"].max()
        new.history_ = data
        return new

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        if h > self.params["horizon"]:
            raise ModelError(f"{self.alias} was trained for {self.params['horizon']} steps; asked for {h}. "
                             f"Refit with horizon={h}")
        map_quantiles(np.zeros((1, len(self.grid_))), self.grid_, [0.5, *qs], tails=self.params["tails"],
                      model=self.alias)  # refuse levels outside the grid before predicting
        if self.untrained_:
            frames = [pd.DataFrame({"unique_id": str(uid),
                                    "ds": pd.date_range(end, periods=h + 1, freq=self.freq_)[1:]})
                      for uid, end in self.series_end_.items()]
            out = pd.concat(frames, ignore_index=True)
            for col in [self.alias, *(quantile_column(self.alias, q) for q in qs)]:
                out[col] = np.nan
            return out
        with torch_threads(self.params["n_jobs"]), _quiet():
            fc = self.nf_.predict(df=getattr(self, "history_", None))
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        fc = fc.sort_values(["unique_id", "ds"], ignore_index=True)
        fc = fc[fc.groupby("unique_id").cumcount() < h].reset_index(drop=True)
        native = fc[self.columns_].to_numpy(dtype=float)
        values = map_quantiles(native, self.grid_, [0.5, *qs], tails=self.params["tails"], model=self.alias)
        if self.params["point"] == "mean":
            values[:, 0] = grid_mean(native, self.grid_)
        out = pd.DataFrame({"unique_id": fc["unique_id"].astype(str).to_numpy(), "ds": fc["ds"].to_numpy(),
                            self.alias: values[:, 0]})
        for j, q in enumerate(qs):
            out[quantile_column(self.alias, q)] = values[:, j + 1]
        return out


class NHITS(_NeuralForecastModel):
    """N-HiTS: stacks of MLPs on pooled inputs, interpolated back to the horizon (Challu et al.
    2023). Hidden layers of 256 units instead of neuralforecast's 512, to suit CPUs."""

    nf_name = "NHITS"

    def _model_kwargs(self) -> dict[str, Any]:
        return {"mlp_units": [[256, 256]] * 3, **super()._model_kwargs()}


class PatchTST(_NeuralForecastModel):
    """PatchTST: a transformer over patches of the input window, channel independent
    (Nie et al. 2023). Patches of 16 with stride 8 unless given."""

    nf_name = "PatchTST"


MODELS: dict[str, type[Forecaster]] = {"NHITS": NHITS, "PatchTST": PatchTST}
