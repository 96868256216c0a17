"""Google's TimesFM 2.5 (200M parameters, PyTorch; the ``timesfm`` 3.x package) behind the
Forecaster interface.

Weights load through ``timesfm.TimesFM_2p5_200M_torch.from_pretrained`` from a local folder
holding ``model.safetensors`` (``--model-path DIR``, Python ``TimesFM(model_path=DIR)``) or
a Hugging Face hub id (default ``google/timesfm-2.5-200m-pytorch``). Nothing is downloaded
when the hub id is not in the local cache and ``HF_HUB_OFFLINE=1`` is set (as on machines
without network): ``fit`` then raises one ModelError that says how to fetch the weights.

The model predicts the quantiles 0.1, 0.2, ..., 0.9 (its continuous quantile head, made
flip-invariant and free of crossings; non-negative histories give non-negative forecasts);
other levels are mapped by :mod:`trendcast.models.quantile_map`. It reads up to
``context_length`` points per series (default 1,024; the model takes up to 15,360) and
predicts in blocks of 128 steps, so horizons beyond 128 are decoded autoregressively; beyond
1,024 steps the continuous quantile head is off (the notes say so). Zero-shot only: TimesFM
cannot be fine-tuned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.chronos_models import hub_offline, load_error, weights_source
from trendcast.models.pretrained import PretrainedForecaster, Progress

WEIGHTS = "model.safetensors"


def _round_up(n: int, step: int) -> int:
    return -(-int(n) // step) * step


def load_timesfm(source: str, *, hub_id: str, name: str) -> Any:
    """A TimesFM 2.5 model from a folder holding ``model.safetensors`` or a hub id, or one
    ModelError saying how to get the weights."""
    target = weights_source(source, marker=WEIGHTS, what="TimesFM 2.5 weights", hub_id=hub_id, name=name)
    try:
        import timesfm
    except ImportError as exc:
        raise ModelError(f"{name} needs the timesfm package ({exc}); install it with "
                         "`pip install 'trendcast[foundation]'`") from exc
    try:
        # local_files_only: huggingface_hub reads HF_HUB_OFFLINE once, at import
        return timesfm.TimesFM_2p5_200M_torch.from_pretrained(target, torch_compile=False,
                                                              local_files_only=hub_offline())
    except (OSError, ValueError, RuntimeError) as exc:
        raise load_error(exc, source, what="a TimesFM 2.5 (200M) model", hub_id=hub_id, name=name) from exc


class TimesFM(PretrainedForecaster):
    """Google TimesFM 2.5, 200M, zero-shot (see the module docstring)."""

    hub_id: ClassVar[str] = "google/timesfm-2.5-200m-pytorch"

    def __init__(self, *, context_length: int | None = 1024, **kwargs: Any) -> None:
        if kwargs.get("fine_tune_steps"):
            raise ModelError(self._no_tuning())
        super().__init__(context_length=context_length, **kwargs)

    @classmethod
    def _no_tuning(cls) -> str:
        return (f"{cls.__name__} cannot be fine-tuned in trendcast (zero-shot only); fine-tune "
                "Fracast, ChronosBolt or Chronos2 instead")

    def _load(self) -> Any:
        return load_timesfm(self.params["model_path"] or self.hub_id, hub_id=self.hub_id,
                            name=type(self).__name__)

    @property
    def native_quantiles(self) -> list[float]:
        return [float(q) for q in self.model_.model.config.quantiles]

    @property
    def model_context_length(self) -> int:
        # the context limit less the longest horizon of the continuous quantile head
        net = self.model_.model
        return int(net.config.context_limit - net.os)

    def _forecast_chunk(self, contexts: list[np.ndarray], h: int, rows: np.ndarray,
                        X_df: pd.DataFrame | None, cut: int = 0) -> np.ndarray:
        import timesfm

        net = self.model_.model
        max_h = _round_up(h, net.o)
        room = net.config.context_limit - max_h
        if room < net.p:
            longest_h = (net.config.context_limit - net.p) // net.o * net.o
            raise ModelError(f"{self.alias}: horizon {h} is too long; TimesFM reads and predicts at most "
                             f"{net.config.context_limit} steps in all, so use h <= {longest_h}")
        continuous = max_h <= net.os
        if not continuous:
            note = (f"{self.alias}: horizons over {net.os} steps use the point head's quantiles "
                    "(the continuous quantile head stops there)")
            if note not in self.notes_:
                self.notes_.append(note)
        # one padded width for every chunk (from the fitted series, not this chunk), so a
        # series' forecast does not depend on batch_size
        longest = max(len(s) for s in self.series_)
        width = min(_round_up(min(self._context_length(), longest), net.p), room - room % net.p)
        config = timesfm.ForecastConfig(
            max_context=width, max_horizon=max_h, normalize_inputs=True, per_core_batch_size=len(contexts),
            use_continuous_quantile_head=continuous, force_flip_invariance=True, infer_is_positive=True,
            fix_quantile_crossing=True)
        if self.model_.forecast_config != config:  # compiling only builds the decode closure
            self.model_.compile(config)
        _, quantiles = self.model_.forecast(
            horizon=h, inputs=[np.asarray(c[-width:], dtype=np.float32) for c in contexts])
        return np.asarray(quantiles[..., 1:], dtype=np.float64)  # [..., 0] is the mean

    def fine_tune(self, df: pd.DataFrame | None = None, *, steps: int | None = None,
                  learning_rate: float | None = None, batch_size: int | None = None,
                  horizon: int | None = None) -> Self:
        raise ModelError(self._no_tuning())

    def _fine_tune(self, rows: Sequence[int], horizon: int, steps: int, lr: float,
                   batch_size: int, progress: Progress | None) -> dict[str, Any]:
        raise ModelError(self._no_tuning())


MODELS: dict[str, type[Forecaster]] = {"TimesFM": TimesFM}
