"""Chronos-Bolt and Chronos-2 (chronos-forecasting 2.x) behind the Forecaster interface.

Weights load through ``chronos.BaseChronosPipeline.from_pretrained(model_path, device_map="cpu")``
from a local folder or a Hugging Face hub id (default ``amazon/chronos-bolt-small`` and
``amazon/chronos-2``). Without the weights on disk and without network, ``fit`` raises one
ModelError that says how to fetch them. Both predict the quantile grid of their head (0.1..0.9
for the official Bolt models, 0.01..0.99 for Chronos-2); other levels are mapped by
:mod:`trendcast.models.quantile_map`. Contexts longer than the model's context are cut to
their most recent part; horizons longer than the model's own are unrolled by the pipeline.

Chronos-2 takes covariates: every numeric column of the training frame besides ``y`` is a
covariate; those also present in ``X_df`` at predict time are known-future covariates, the
others past-only (the notes say which).

Fine-tuning: Chronos-Bolt by a short AdamW loop on its own quantile loss over windows sampled
from the catalogue (:mod:`trendcast.models.finetune`); Chronos-2 by its pipeline's ``fit``
(full fine-tuning with the HF Trainer). ``save(path)`` writes a folder ``model_path`` loads.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.finetune import WindowSampler, left_pad, train_loop
from trendcast.models.pretrained import PretrainedForecaster, Progress

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def how_to_get(hub_id: str, name: str) -> str:
    return (f"Download the weights once where there is network: `hf download {hub_id} --local-dir DIR` "
            f"(older huggingface_hub: `huggingface-cli download {hub_id} --local-dir DIR`), copy DIR here, "
            f"then pass `--model-path DIR` (Python: {name}(model_path=DIR)). Fracast needs no "
            f"download: its weights ship inside the fracast package")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids downloads."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def weights_source(source: str, *, marker: str, what: str, hub_id: str, name: str) -> str:
    """``source`` as a folder holding ``marker`` or as a hub id, or one ModelError saying how to
    get the weights."""
    folder = Path(source).expanduser()
    if folder.exists():
        if not (folder / marker).is_file():
            raise ModelError(f"{name}: {folder} has no {marker}, so it holds no {what}. "
                             + how_to_get(hub_id, name))
        return str(folder)
    if HUB_ID.fullmatch(source) and not source.startswith((".", "~")):
        return source
    raise ModelError(f"{name}: model_path {source!r} is not an existing folder nor a hub id like "
                     f"{hub_id!r}. " + how_to_get(hub_id, name))


def load_error(exc: Exception, source: str, *, what: str, hub_id: str, name: str) -> ModelError:
    """The one ModelError for weights that failed to load, with how to get them."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if Path(source).expanduser().exists():
        where = f"could not be read as {what}"
    else:
        where = "is not in the local Hugging Face cache" + (
            " and HF_HUB_OFFLINE=1 forbids downloading" if hub_offline() else " and could not be downloaded")
    return ModelError(f"{name}: weights {source!r} {where} ({first}). " + how_to_get(hub_id, name))


def load_chronos(source: str, *, expected: str, hub_id: str, name: str) -> Any:
    """A Chronos pipeline of class ``expected`` from a folder or hub id, or one ModelError."""
    target = weights_source(source, marker="config.json", what="saved Chronos model", hub_id=hub_id,
                            name=name)
    from chronos import BaseChronosPipeline

    try:
        with _quiet_transformers():
            pipe = BaseChronosPipeline.from_pretrained(target, device_map="cpu")
    except (OSError, ValueError) as exc:
        raise load_error(exc, source, what="a Chronos model", hub_id=hub_id, name=name) from exc
    if type(pipe).__name__ != expected:
        raise ModelError(f"{name}: {source!r} holds a {type(pipe).__name__}, not a {expected}; "
                         "use the matching trendcast model (ChronosBolt or Chronos2)")
    return pipe


class _Chronos(PretrainedForecaster):
    """What Chronos-Bolt and Chronos-2 share: loading, grid, context, saving."""

    hub_id: ClassVar[str] = ""
    pipeline_class: ClassVar[str] = ""
    default_lr = 1e-5

    def _load(self) -> Any:
        source = self.params["model_path"] or self.hub_id
        return load_chronos(source, expected=self.pipeline_class, hub_id=self.hub_id,
                            name=type(self).__name__)

    @property
    def native_quantiles(self) -> list[float]:
        return [float(q) for q in self.model_.quantiles]

    @property
    def model_context_length(self) -> int:
        return int(self.model_.model_context_length)

    def _note_unrolled(self, h: int) -> None:
        own = int(self.model_.model_prediction_length)
        if h > own:
            note = (f"{self.alias}: the model predicts {own} steps at once; the {h}-step horizon is "
                    "unrolled by feeding its own quantiles back (less accurate further out)")
            if note not in self.notes_:
                self.notes_.append(note)

    def save(self, path: str | Path) -> Path:
        """Write the model (e.g. after fine-tuning) to ``path``; load it with model_path=path."""
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            self.model_.model.save_pretrained(folder)
        return folder


class ChronosBolt(_Chronos):
    """Amazon Chronos-Bolt (zero-shot, quantile head; default ``amazon/chronos-bolt-small``)."""

    hub_id = "amazon/chronos-bolt-small"
    pipeline_class = "ChronosBoltPipeline"

    def _forecast_chunk(self, contexts: list[np.ndarray], h: int, rows: np.ndarray,
                        X_df: pd.DataFrame | None, cut: int = 0) -> np.ndarray:
        import torch

        self._note_unrolled(h)
        pred = self.model_.predict(torch.from_numpy(left_pad(contexts)), prediction_length=h)
        return pred.numpy().transpose(0, 2, 1)

    def _fine_tune(self, rows: Sequence[int], horizon: int, steps: int, lr: float, batch_size: int,
                   progress: Progress | None) -> dict[str, Any]:
        import torch

        model = self.model_.model
        own = int(model.chronos_config.prediction_length)
        sampler = WindowSampler([self.series_[i][:-horizon] for i in rows],
                                context_length=self._context_length(), horizon=min(horizon, own),
                                min_past=self.min_length, seed=self.params["random_seed"])

        def loss_fn(context: np.ndarray, target: np.ndarray) -> torch.Tensor:
            return model(context=torch.from_numpy(context), target=torch.from_numpy(target)).loss

        model.train()
        try:
            return train_loop(loss_fn, list(model.parameters()), sampler, steps=steps, lr=lr,
                              batch_size=batch_size, seed=self.params["random_seed"],
                              progress=progress, label=f"{self.alias} fine-tune")
        finally:
            model.eval()


class Chronos2(_Chronos):
    """Amazon Chronos-2 with past and known-future covariates (default ``amazon/chronos-2``)."""

    hub_id = "amazon/chronos-2"
    pipeline_class = "Chronos2Pipeline"
    supports_exog = True
    default_lr = 1e-6  # the pipeline's own default for full fine-tuning

    def __init__(self, *, drivers: bool = False, **params: Any) -> None:
        """``drivers``: also take the external series (``macro_*`` columns, lagged so they
        are known at forecast time) as covariates; other parameters as for every pretrained
        model."""
        super().__init__(drivers=bool(drivers), **params)

    def _fit_extra(self, data: pd.DataFrame) -> None:
        from trendcast.features.exog import driver_columns

        skip = {"unique_id", "ds", "y"}
        if not self.params.get("drivers", False):
            skip |= set(driver_columns(list(data.columns)))
        self.covariates_ = [c for c in data.columns if c not in skip
                            and pd.api.types.is_numeric_dtype(data[c]) and data[c].notna().any()]
        self.cov_ = data[self.covariates_].to_numpy(dtype=np.float32) if self.covariates_ else None
        self.known_: list[str] = []
        self.future_: np.ndarray | None = None

    def predict(self, h: int, *, X_df: pd.DataFrame | None = None,
                quantiles: Sequence[float] | None = None) -> pd.DataFrame:
        self._check_fitted()
        self.known_ = [c for c in self.covariates_ if X_df is not None and c in X_df.columns]
        past_only = [c for c in self.covariates_ if c not in self.known_]
        self.notes_ = [n for n in self.notes_ if "covariates" not in n]
        if self.covariates_:
            self.notes_.append(f"{self.alias} covariates: known future {self.known_ or 'none'}, "
                               f"past only {past_only or 'none'}")
        self.future_ = self._future(h, X_df) if self.known_ else None
        return super().predict(h, X_df=X_df, quantiles=quantiles)

    def _future(self, h: int, X_df: pd.DataFrame) -> np.ndarray:
        """Known-future covariates as ``(n_series, h, n_known)``, in ``ids_`` order."""
        rows = np.arange(len(self.ids_))
        want = pd.DataFrame({"unique_id": np.repeat(self.ids_, h).astype(str),
                             "ds": self._future_dates(rows, h)})
        given = X_df[["unique_id", "ds", *self.known_]].copy()
        given["unique_id"] = given["unique_id"].astype(str)
        if given.duplicated(["unique_id", "ds"]).any():
            raise ModelError(f"{self.alias}: X_df has duplicate (unique_id, ds) rows")
        fut = want.merge(given, on=["unique_id", "ds"], how="left", indicator=True)
        absent = fut["_merge"] == "left_only"
        if absent.any():
            row = fut[absent].iloc[0]
            raise ModelError(f"{self.alias}: X_df has no row for {int(absent.sum())} forecast date(s), e.g. "
                             f"unique_id={row['unique_id']!r} ds={pd.Timestamp(row['ds']).date()}; give "
                             f"every series every date of the horizon, or drop columns {self.known_} "
                             "from X_df to use them as past-only covariates")
        return fut[self.known_].to_numpy(dtype=np.float32).reshape(len(self.ids_), h, len(self.known_))

    def _inputs(self, contexts: list[np.ndarray], rows: np.ndarray, h: int, cut: int) -> list[Any]:
        if not self.covariates_:
            return list(contexts)
        assert self.cov_ is not None
        known = self.covariates_ if cut else self.known_
        inputs = []
        for ctx, i in zip(contexts, rows, strict=True):
            end = self.bounds_[i + 1] - cut
            past = self.cov_[end - len(ctx):end]
            item: dict[str, Any] = {
                "target": ctx, "past_covariates": {c: past[:, j] for j, c in enumerate(self.covariates_)}}
            if known:
                if cut:
                    fut = self.cov_[end:end + h]
                    item["future_covariates"] = {c: fut[:, self.covariates_.index(c)] for c in known}
                else:
                    assert self.future_ is not None
                    item["future_covariates"] = {c: self.future_[i, :, j] for j, c in enumerate(known)}
            inputs.append(item)
        return inputs

    def _forecast_chunk(self, contexts: list[np.ndarray], h: int, rows: np.ndarray,
                        X_df: pd.DataFrame | None, cut: int = 0) -> np.ndarray:
        self._note_unrolled(h)
        preds = self.model_.predict(self._inputs(contexts, rows, h, cut), prediction_length=h,
                                    batch_size=max(len(contexts), 1) * (1 + len(self.covariates_)),
                                    context_length=self._context_length())
        return np.stack([p[0].numpy() for p in preds]).transpose(0, 2, 1)

    def _fine_tune(self, rows: Sequence[int], horizon: int, steps: int, lr: float, batch_size: int,
                   progress: Progress | None) -> dict[str, Any]:
        inputs = []
        for i in rows:
            end = self.bounds_[i + 1] - horizon
            item: dict[str, Any] = {"target": self.series_[i][:-horizon]}
            if self.covariates_:
                assert self.cov_ is not None
                past = self.cov_[self.bounds_[i]:end]
                item["past_covariates"] = {c: past[:, j] for j, c in enumerate(self.covariates_)}
                # trendcast's covariates (price, promo, calendar) are known ahead: train them so
                item["future_covariates"] = {c: None for c in self.covariates_}
            inputs.append(item)
        with tempfile.TemporaryDirectory(prefix="trendcast-chronos2-") as tmp, _quiet_transformers():
            self.model_ = self.model_.fit(
                inputs, prediction_length=horizon, num_steps=steps, learning_rate=lr,
                batch_size=batch_size, context_length=self._context_length(), output_dir=tmp,
                min_past=self.min_length, remove_printer_callback=True, disable_tqdm=True,
                seed=self.params["random_seed"], logging_strategy="no", optim="adamw_torch")
        self.model_.model.eval()  # the Trainer leaves it in training mode (dropout on)
        return {}

    def save(self, path: str | Path) -> Path:
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        with _quiet_transformers():
            self.model_.save_pretrained(folder)
        return folder
