"""Pretrained time-series foundation models: Fracast (offline default), Chronos-Bolt, Chronos-2.

**Fracast** (fracast 0.1.0, 85k parameters) ships its weights inside the wheel, so it works
with no network and no download. It reads up to 2,048 points per series (longer histories are
cut to their most recent 2,048; shorter ones are padded as unobserved by the model itself),
predicts 48 steps at once (longer horizons are recursive on its median) and the quantiles
0.1, 0.2, ..., 0.9. Series with fewer than 8 observations (fracast's own minimum) get the
naive forecast instead, and the notes say which. Inference runs in chunks of ``batch_size``
series (100 keeps memory near 1 GB; one batch of 1,000 needs ~7 GB) on ``n_jobs`` threads.

Fine-tuning: fracast's public API is inference only, but its ``core`` and ``head`` are plain
torch modules, so :meth:`Fracast.fine_tune` trains them with the pinball loss on the model's
own min-max normalised scale (the same normalisation as fracast's inference) over windows
sampled from the catalogue. :meth:`Fracast.save` writes an fp32 release folder (config.json,
model.safetensors) that ``Fracast(model_path=folder)`` and ``fracast.FracastModel`` load.

Chronos-Bolt and Chronos-2 live in :mod:`trendcast.models.chronos_models`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trendcast.errors import ModelError
from trendcast.models.base import Forecaster
from trendcast.models.chronos_models import Chronos2, ChronosBolt
from trendcast.models.finetune import WindowSampler, left_pad, pinball, train_loop
from trendcast.models.pretrained import PretrainedForecaster, Progress

if TYPE_CHECKING:
    import torch


class Fracast(PretrainedForecaster):
    """Fracast-0 zero-shot forecaster with bundled weights (see the module docstring)."""

    min_length = 8
    default_lr = 1e-4

    def __init__(self, *, weights: str = "w8", **kwargs: Any) -> None:
        if weights not in ("w8", "fp32"):
            raise ModelError(f"Fracast weights must be 'w8' (int8 release, fracast's default) or "
                             f"'fp32', got {weights!r}")
        super().__init__(weights=weights, **kwargs)

    def _load(self) -> Any:
        from fracast import FracastModel

        path = self.params["model_path"]
        weights = self.params["weights"]
        if path is None:
            from fracast.inference import _PACKAGE_WEIGHTS_DIR

            self.source_dir_ = Path(_PACKAGE_WEIGHTS_DIR)
            return FracastModel.from_pretrained(weights=weights)
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelError(f"Fracast: model_path {path!r} is not a folder with config.json (a fracast "
                             "release or a folder written by Fracast.save()); leave model_path unset "
                             "to use the weights bundled with fracast")
        if "model" not in json.loads((folder / "config.json").read_text(encoding="utf-8")):
            raise ModelError(f"Fracast: {folder}/config.json has no 'model' section, so it is not a "
                             "fracast release (a Chronos folder goes to ChronosBolt or Chronos2)")
        if weights == "w8" and not (folder / "model.int8.safetensors").is_file():
            weights = "fp32"
            self.notes_.append(f"{self.alias}: {folder} holds fp32 weights only (as Fracast.save() "
                               "writes them); loaded those")
        if weights == "fp32" and not (folder / "model.safetensors").is_file():
            raise ModelError(f"Fracast: {folder} has neither model.int8.safetensors nor model.safetensors")
        self.source_dir_ = folder
        try:
            return FracastModel.from_pretrained(folder, weights=weights)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise ModelError(f"Fracast: cannot load {folder}: {exc}") from exc

    @property
    def native_quantiles(self) -> list[float]:
        return list(self.model_.quantiles)

    @property
    def model_context_length(self) -> int:
        return int(self.model_.context_length)

    def _forecast_chunk(self, contexts: list[np.ndarray], h: int, rows: np.ndarray,
                        X_df: pd.DataFrame | None, cut: int = 0) -> np.ndarray:
        return self.model_.forecast_batch(left_pad(contexts), horizon=h)

    def _fine_tune(self, rows: Sequence[int], horizon: int, steps: int, lr: float, batch_size: int,
                   progress: Progress | None) -> dict[str, Any]:
        m = self.model_
        own = min(horizon, m.horizon)  # the head's block; longer horizons are recursive
        sampler = WindowSampler([self.series_[i][:-horizon] for i in rows],
                                context_length=self._context_length(), horizon=own,
                                min_past=self.min_length, seed=self.params["random_seed"])

        def loss_fn(context: np.ndarray, target: np.ndarray) -> torch.Tensor:
            import torch

            values, valid, loc, span = normalise(context, m.context_length)
            hidden = m.core(values, valid, valid.to(torch.float32))
            q = m.head.forward_horizon(hidden, last_obs=values[:, 0, -1:], ctx=values[:, 0],
                                       ctx_mask=valid[:, 0])
            scaled = (torch.from_numpy(target) - loc) / span
            return pinball(q[:, :own], scaled, m.quantiles)

        m.core.train()
        m.head.train()
        try:
            return train_loop(loss_fn, [*m.core.parameters(), *m.head.parameters()], sampler,
                              steps=steps, lr=lr, batch_size=batch_size, seed=self.params["random_seed"],
                              progress=progress, label=f"{self.alias} fine-tune")
        finally:
            m.core.eval()
            m.head.eval()

    def save(self, path: str | Path) -> Path:
        """Write config.json and fp32 model.safetensors; load with ``Fracast(model_path=path)``."""
        from safetensors.torch import save_file

        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state = {f"core.{k}": v.detach().contiguous() for k, v in self.model_.core.state_dict().items()}
        state.update({f"head.{k}": v.detach().contiguous() for k, v in self.model_.head.state_dict().items()})
        save_file(state, str(folder / "model.safetensors"))
        shutil.copyfile(self.source_dir_ / "config.json", folder / "config.json")
        if self.fine_tune_report_:
            (folder / "trendcast_fine_tune.json").write_text(json.dumps(self.fine_tune_report_, indent=2))
        return folder


def normalise(context: np.ndarray, width: int) -> tuple[Any, Any, Any, Any]:
    """Fracast's inference normalisation with gradients possible: the last ``width`` points,
    min-max scaled per row over the observed points, right-aligned in a ``width`` window."""
    import torch

    tail = np.asarray(context[:, -width:], dtype=np.float32)
    mask = np.isfinite(tail)
    finite = np.where(mask, tail, np.float32(np.nan))
    loc = np.nanmin(finite, axis=1, keepdims=True).astype(np.float64)
    span = np.maximum(np.nanmax(finite, axis=1, keepdims=True) - loc, 1e-5).astype(np.float64)
    scaled = np.where(mask, (tail - loc) / span, 0.0).astype(np.float32)
    values = np.zeros((len(tail), width), dtype=np.float32)
    observed = np.zeros((len(tail), width), dtype=bool)
    values[:, width - tail.shape[1]:] = scaled
    observed[:, width - tail.shape[1]:] = mask
    return (torch.from_numpy(values[:, None, :]), torch.from_numpy(observed[:, None, :]),
            torch.from_numpy(loc).to(torch.float32), torch.from_numpy(span).to(torch.float32))


MODELS: dict[str, type[Forecaster]] = {"Fracast": Fracast, "ChronosBolt": ChronosBolt, "Chronos2": Chronos2}
