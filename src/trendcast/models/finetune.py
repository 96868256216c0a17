"""Fine-tuning helpers shared by the pretrained models: random training windows from a
catalogue of series, a short AdamW loop on a quantile loss, and the held-out weighted
quantile loss reported before and after training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from trendcast.models.pretrained import PretrainedForecaster, Progress


class WindowSampler:
    """Random (context, target) windows: a series uniformly at random, then a cutoff uniformly
    among those leaving ``min_past`` points before it and ``horizon`` after it. Contexts are
    the last ``context_length`` points before the cutoff, left-padded with NaN to the
    longest context of the batch. A constant context (a product not yet selling) is drawn
    again: the models scale targets by the context's spread, so its targets would be
    divided by ~1e-5 and swamp the loss."""

    def __init__(self, series: Sequence[np.ndarray], *, context_length: int, horizon: int,
                 min_past: int, seed: int = 0) -> None:
        self.series = [s for s in series if len(s) >= min_past + horizon]
        if not self.series:
            from trendcast.errors import DataValidationError

            raise DataValidationError(f"no series has the {min_past + horizon} points a training "
                                      f"window needs ({min_past} of context + {horizon} to predict)")
        self.context_length = context_length
        self.horizon = horizon
        self.min_past = min_past
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        picks = self.rng.integers(len(self.series), size=size)
        contexts, targets = [], []
        for i in picks:
            for _ in range(20):  # then accept whatever was drawn last
                s = self.series[i]
                end = int(self.rng.integers(self.min_past, len(s) - self.horizon + 1))
                context = s[max(0, end - self.context_length):end]
                if np.nanmax(context) > np.nanmin(context):
                    break
                i = int(self.rng.integers(len(self.series)))
            contexts.append(context)
            targets.append(s[end:end + self.horizon])
        return left_pad(contexts), np.stack(targets).astype(np.float32)


def left_pad(contexts: Sequence[np.ndarray]) -> np.ndarray:
    """Stack 1-d arrays of different lengths, aligned on their last point, NaN in front."""
    width = max(len(c) for c in contexts)
    out = np.full((len(contexts), width), np.nan, dtype=np.float32)
    for i, c in enumerate(contexts):
        out[i, width - len(c):] = c
    return out


def train_loop(loss_fn: Callable[[np.ndarray, np.ndarray], torch.Tensor],
               parameters: Sequence[torch.nn.Parameter], sampler: WindowSampler, *, steps: int,
               lr: float, batch_size: int, seed: int = 0, progress: Progress | None = None,
               label: str = "fine-tune") -> dict[str, Any]:
    """AdamW on ``loss_fn(context, target)`` over sampled windows, gradients clipped at 1."""
    import torch

    torch.manual_seed(seed)
    params = [p for p in parameters if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    losses = []
    for step in range(steps):
        context, target = sampler.batch(batch_size)
        loss = loss_fn(context, target)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if progress:
            progress(f"{label} step {step + 1}/{steps}", step + 1, steps)
    k = max(1, min(10, steps // 4))
    return {"train_loss_first": round(float(np.mean(losses[:k])), 5),
            "train_loss_last": round(float(np.mean(losses[-k:])), 5)}


def pinball(pred: torch.Tensor, target: torch.Tensor, levels: Sequence[float]) -> torch.Tensor:
    """Mean quantile loss of ``pred[..., q]`` against ``target[...]``, NaN targets ignored."""
    import torch

    q = torch.tensor(list(levels), dtype=pred.dtype)
    mask = torch.isfinite(target)
    y = torch.where(mask, target, torch.zeros_like(target)).unsqueeze(-1)
    err = y - pred
    loss = torch.maximum(q * err, (q - 1) * err) * mask.unsqueeze(-1)
    return 2 * loss.sum() / (mask.sum() * len(levels)).clamp(min=1)


def holdout_wql(model: PretrainedForecaster, rows: Sequence[int], horizon: int) -> float:
    """Weighted quantile loss of ``model`` on the last ``horizon`` points of the series at
    ``rows`` (forecast from the points before them), averaged over the native levels."""
    if not rows:
        return float("nan")
    ctx_len = model._context_length()
    grid = model.native_quantiles
    bs = model.params["batch_size"]
    total_loss, total_abs = 0.0, 0.0
    for k in range(0, len(rows), bs):
        part = np.asarray(rows[k:k + bs])
        contexts = [model.series_[i][:-horizon][-ctx_len:] for i in part]
        native = np.sort(model._forecast_chunk(contexts, horizon, part, None, cut=horizon), axis=-1)
        actual = np.stack([model.series_[i][-horizon:] for i in part]).astype(float)
        err = actual[..., None] - native
        q = np.asarray(grid)
        loss = np.maximum(q * err, (q - 1) * err)
        ok = np.isfinite(actual)
        total_loss += float(np.nansum(loss * ok[..., None]))
        total_abs += float(np.nansum(np.abs(actual)))
    return 2 * total_loss / (len(grid) * max(total_abs, 1e-9))
