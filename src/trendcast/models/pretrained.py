"""Shared machinery of pretrained (foundation) forecasters: history handling, batched
inference in chunks, thread control, short series, quantile mapping, fine-tuning hooks.

Subclasses load a model (``_load``) and forecast a chunk of contexts on the model's native
quantile grid (``_forecast_chunk``); this base turns that into trendcast's output frame.
Nothing is learned in ``fit`` unless fine-tuning is asked for: zero-shot models only keep
the history and load the weights (so missing weights fail at ``fit``, not at ``predict``).

The point forecast is, by default (``point="mean"``), the mean implied by the native quantile
grid (:func:`trendcast.models.quantile_map.grid_mean`), not the median: sums of item forecasts
(category and store totals, stock) need means, and the median of an intermittent series is
often zero. ``point="median"`` gives the model's median instead.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, ModelError
from trendcast.models.base import Forecaster, check_horizon, check_quantiles
from trendcast.models.quantile_map import check_point, check_tails, grid_mean, map_quantiles
from trendcast.models.statistical import infer_freq
from trendcast.schema import quantile_column

Progress = Callable[[str, int, int], None]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` intra-op threads, restoring the previous setting afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class PretrainedForecaster(Forecaster):
    """A pretrained model behind the Forecaster interface (see the module docstring)."""

    family: ClassVar[str] = "foundation"
    supports_quantiles: ClassVar[bool] = True
    min_length: ClassVar[int] = 1  # fewer finite observations -> naive fallback
    default_lr: ClassVar[float] = 1e-5

    def __init__(self, *, model_path: str | Path | None = None, context_length: int | None = None,
                 batch_size: int = 100, n_jobs: int = 1, point: str = "mean", tails: str = "error",
                 fine_tune_steps: int = 0, fine_tune_lr: float | None = None,
                 fine_tune_batch_size: int = 16, fine_tune_horizon: int | None = None,
                 random_seed: int = 0, progress: Progress | None = None,
                 alias: str | None = None, **params: Any) -> None:
        check_tails(tails)
        check_point(point)
        if int(batch_size) < 1:
            raise ModelError(f"batch_size must be >= 1, got {batch_size!r}")
        if int(fine_tune_steps) < 0:
            raise ModelError(f"fine_tune_steps must be >= 0, got {fine_tune_steps!r}")
        if context_length is not None and int(context_length) < 1:
            raise ModelError(f"context_length must be >= 1, got {context_length!r}")
        super().__init__(alias=alias, model_path=None if model_path is None else str(model_path),
                         context_length=context_length, batch_size=int(batch_size),
                         n_jobs=int(n_jobs), point=point, tails=tails, fine_tune_steps=int(fine_tune_steps),
                         fine_tune_lr=fine_tune_lr, fine_tune_batch_size=int(fine_tune_batch_size),
                         fine_tune_horizon=fine_tune_horizon, random_seed=int(random_seed),
                         progress=progress, **params)

    # -- what subclasses provide -------------------------------------------------------------
    def _load(self) -> Any:
        """Load the model from ``params['model_path']`` (or the default)."""
        raise NotImplementedError

    @property
    def native_quantiles(self) -> list[float]:
        """The quantile levels the loaded model predicts."""
        raise NotImplementedError

    @property
    def model_context_length(self) -> int:
        """Longest context the loaded model reads."""
        raise NotImplementedError

    def _forecast_chunk(self, contexts: list[np.ndarray], h: int, rows: np.ndarray,
                        X_df: pd.DataFrame | None, cut: int = 0) -> np.ndarray:
        """Native quantiles ``(len(contexts), h, len(native_quantiles))`` for one chunk.

        ``rows`` are the chunk's series positions in ``ids_``; ``cut > 0`` means the contexts
        end ``cut`` points before the end of the history (held-out windows)."""
        raise NotImplementedError

    def _fine_tune(self, rows: Sequence[int], horizon: int, steps: int, lr: float,
                   batch_size: int, progress: Progress | None) -> dict[str, Any]:
        """Train on windows of ``series_[i][:-horizon]`` for ``i`` in ``rows``."""
        raise ModelError(f"{type(self).__name__} cannot be fine-tuned")

    def save(self, path: str | Path) -> Path:
        """Write the (fine-tuned) model to a folder that ``model_path`` can load."""
        raise NotImplementedError

    # -- fit ---------------------------------------------------------------------------------
    def forward(self, df: pd.DataFrame) -> Self:
        """The loaded (and fine-tuned) model reading ``df`` as its context: nothing is trained."""
        import copy

        self._check_fitted()
        new = copy.copy(self)
        new._read(df)
        return new

    def _read(self, df: pd.DataFrame) -> pd.DataFrame:
        """Keep ``df``'s series as the contexts to forecast from."""
        data = check_frame(df, self.alias)
        self.freq_ = infer_freq(data)
        check_regular(data, self.freq_, self.alias)
        groups = data.groupby("unique_id", sort=True)
        self.ids_ = np.array([str(k) for k in groups.groups], dtype=object)
        self.last_ds_ = groups["ds"].max().to_numpy()
        y = data["y"].to_numpy(dtype=np.float32)
        bounds = np.concatenate([[0], np.cumsum(groups.size().to_numpy())])
        self.series_ = [y[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
        self.bounds_ = bounds
        self._fit_extra(data)
        finite = np.array([int(np.isfinite(s).sum()) for s in self.series_])
        self.short_ = finite < self.min_length
        return data

    def fit(self, df: pd.DataFrame) -> Self:
        self._read(df)
        self.notes_: list[str] = []
        self.model_ = self._load()
        self.fine_tune_report_: dict[str, Any] | None = None
        if self.params["fine_tune_steps"]:
            self.fine_tune(steps=self.params["fine_tune_steps"])
        if self.short_.any():
            short_ids = list(self.ids_[self.short_])
            self.notes_.append(
                f"{self.alias}: {len(short_ids)} series have fewer than {self.min_length} observations; "
                f"they get the naive forecast (last value) instead ({', '.join(short_ids[:5])}"
                f"{'...' if len(short_ids) > 5 else ''})")
        self.is_fitted_ = True
        return self

    def _fit_extra(self, data: pd.DataFrame) -> None:
        """Hook for subclasses that keep more than the target (covariates)."""

    # -- fine-tuning -------------------------------------------------------------------------
    def fine_tune(self, df: pd.DataFrame | None = None, *, steps: int | None = None,
                  learning_rate: float | None = None, batch_size: int | None = None,
                  horizon: int | None = None) -> Self:
        """Fine-tune the loaded model on windows of the fitted history (or of ``df``, which
        then becomes the history). The last ``horizon`` points of each series are held out:
        training windows end before them, and ``fine_tune_report_`` gives the weighted
        quantile loss (WQL) on them before and after training."""
        from trendcast.models.finetune import holdout_wql

        if df is not None:
            saved = self.params["fine_tune_steps"]
            self.params["fine_tune_steps"] = 0
            try:
                self.fit(df)
            finally:
                self.params["fine_tune_steps"] = saved
        if not hasattr(self, "model_"):
            raise ModelError(f"{self.alias}: call fit(df) or pass df before fine_tune")
        p = self.params
        steps = int(steps if steps is not None else p["fine_tune_steps"] or 100)
        lr = float(learning_rate or p["fine_tune_lr"] or self.default_lr)
        bs = int(batch_size or p["fine_tune_batch_size"])
        h = int(horizon or p["fine_tune_horizon"] or self._default_tune_horizon())
        rows = [i for i, s in enumerate(self.series_)
                if not self.short_[i] and np.isfinite(s[:-h]).sum() >= self.min_length + 1]
        if not rows:
            raise DataValidationError(
                f"{self.alias}: no series has more than {h + self.min_length} points, too short to "
                f"fine-tune with a {h}-step horizon; pass a smaller fine_tune_horizon")
        rng = np.random.default_rng(p["random_seed"])
        check = sorted(rng.choice(rows, size=min(len(rows), 200), replace=False).tolist())
        with torch_threads(p["n_jobs"]):
            before = holdout_wql(self, check, h)
            report = self._fine_tune(rows, h, steps, lr, bs, p["progress"])
            after = holdout_wql(self, check, h)
        self.fine_tune_report_ = {"steps": steps, "learning_rate": lr, "batch_size": bs,
                                  "horizon": h, "holdout_series": len(check),
                                  "holdout_wql_before": round(before, 5),
                                  "holdout_wql_after": round(after, 5), **report}
        self.notes_ = [n for n in getattr(self, "notes_", []) if "fine-tuned" not in n]
        self.notes_.append(
            f"{self.alias}: fine-tuned {steps} steps (lr {lr:g}, batch {bs}, horizon {h}); "
            f"held-out WQL {before:.4f} -> {after:.4f} on the last {h} points of {len(check)} series")
        return self

    def _default_tune_horizon(self) -> int:
        return 28

    # -- predict -----------------------------------------------------------------------------
    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        h = check_horizon(h)
        qs = check_quantiles(quantiles)
        grid = self.native_quantiles
        wanted = [0.5, *qs]
        # refuse levels outside the grid before any inference runs
        map_quantiles(np.zeros((1, len(grid))), grid, wanted, tails=self.params["tails"], model=self.alias)
        rows = np.flatnonzero(~self.short_)
        out = np.empty((len(rows), h, len(wanted)))
        bs = self.params["batch_size"]
        n_chunks = -(-len(rows) // bs)
        progress = self.params["progress"]
        ctx_len = self._context_length()
        with torch_threads(self.params["n_jobs"]), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*prediction length.*")
            for k in range(n_chunks):
                part = rows[k * bs:(k + 1) * bs]
                contexts = [self.series_[i][-ctx_len:] for i in part]
                native = self._forecast_chunk(contexts, h, part, X_df)
                block = map_quantiles(native, grid, wanted, tails=self.params["tails"], model=self.alias)
                if self.params["point"] == "mean":
                    block[..., 0] = grid_mean(native, grid)
                out[k * bs:k * bs + len(part)] = block
                if progress:
                    progress(f"{self.alias} chunk {k + 1}/{n_chunks}", k + 1, n_chunks)
        frame = self._frame(rows, h, out, qs)
        if self.short_.any():
            frame = pd.concat([frame, self._naive(h, qs)], ignore_index=True)
        return frame.sort_values(["unique_id", "ds"], ignore_index=True)

    def _context_length(self) -> int:
        wanted = self.params["context_length"]
        native = self.model_context_length
        return min(int(wanted), native) if wanted else native

    def _future_dates(self, rows: np.ndarray, h: int) -> np.ndarray:
        step = pd.tseries.frequencies.to_offset(self.freq_)
        return np.concatenate([pd.date_range(pd.Timestamp(d) + step, periods=h, freq=self.freq_).to_numpy()
                               for d in self.last_ds_[rows]]) if len(rows) else np.array([], "datetime64[ns]")

    def _frame(self, rows: np.ndarray, h: int, values: np.ndarray, qs: list[float]) -> pd.DataFrame:
        frame = pd.DataFrame({"unique_id": np.repeat(self.ids_[rows], h).astype(str),
                              "ds": self._future_dates(rows, h),
                              self.alias: values[..., 0].reshape(-1)})
        for j, q in enumerate(qs):
            frame[quantile_column(self.alias, q)] = values[..., j + 1].reshape(-1)
        return frame

    def _naive(self, h: int, qs: list[float]) -> pd.DataFrame:
        """Short series: trendcast's Naive (last value, residual intervals); a series with a
        single observation repeats it at every quantile."""
        from trendcast.models.baseline import Naive

        rows = np.flatnonzero(self.short_)
        last = np.array([s[np.isfinite(s)][-1] if np.isfinite(s).any() else 0.0
                         for s in (self.series_[i] for i in rows)])
        flat = self._frame(rows, h, np.repeat(last[:, None, None], h, axis=1).repeat(len(qs) + 1, axis=2), qs)
        two = [i for i in rows if np.isfinite(self.series_[i]).sum() >= 2]
        if not two:
            return flat
        parts = []
        for i in two:
            ds = pd.date_range(end=self.last_ds_[i], periods=len(self.series_[i]), freq=self.freq_)
            parts.append(pd.DataFrame({"unique_id": self.ids_[i], "ds": ds, "y": self.series_[i]}))
        hist = pd.concat(parts, ignore_index=True).dropna(subset=["y"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = Naive(alias=self.alias).fit(hist).predict(h, quantiles=qs or None)
        fc["unique_id"] = fc["unique_id"].astype(str)
        flat = flat[~flat["unique_id"].isin(fc["unique_id"])]
        return pd.concat([flat, fc[flat.columns]], ignore_index=True)


def check_frame(df: pd.DataFrame, alias: str) -> pd.DataFrame:
    """A sorted copy of a long frame with unique_id, ds and numeric y, no duplicate keys."""
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise DataValidationError(f"{alias}: the training frame lacks column(s) {missing}; it needs "
                                  f"unique_id, ds, y (it has {list(df.columns)})")
    if df.empty:
        raise DataValidationError(f"{alias}: the training frame is empty")
    if not pd.api.types.is_numeric_dtype(df["y"]):
        raise DataValidationError(f"{alias}: column 'y' must be numeric, got {df['y'].dtype}")
    data = df.sort_values(["unique_id", "ds"], ignore_index=True)
    dupes = data.duplicated(["unique_id", "ds"])
    if dupes.any():
        row = data[dupes].iloc[0]
        raise DataValidationError(f"{alias}: {int(dupes.sum())} duplicate (unique_id, ds) rows, e.g. "
                                  f"{row['unique_id']!r} at {row['ds']}; aggregate them first")
    return data


def check_regular(data: pd.DataFrame, freq: str, alias: str) -> None:
    """Pretrained models read positions, not dates: every series must step by ``freq``."""
    first = data.groupby("unique_id", sort=True)["ds"].min()
    last = data.groupby("unique_id", sort=True)["ds"].max()
    size = data.groupby("unique_id", sort=True).size()
    if freq == "D" or freq.startswith("W"):
        step = pd.Timedelta(days=7 if freq.startswith("W") else 1)
        expected = (last - first) // step + 1
    else:
        expected = pd.Series([len(pd.date_range(a, b, freq=freq)) for a, b in zip(first, last, strict=True)],
                             index=size.index)
    bad = size.index[size.to_numpy() != expected.to_numpy()]
    if len(bad):
        raise DataValidationError(
            f"{alias}: {len(bad)} series have missing dates at frequency {freq!r} (e.g. {bad[0]!r}); "
            "fill the gaps first (trendcast's forecast service fills them with zero sales)")
