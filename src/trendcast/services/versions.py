"""Saved model versions: train once, forecast from the saved models as data arrives.

``train_version`` fits a configuration (the same models and options as a forecast) on the
workspace, scores it on the last ``horizon`` periods (a one-window backtest stored as a
backtest run: what monitoring and drift alerts later compare live errors with), and saves
the frozen fitted models with their metadata: models and settings, data window, the sales
fingerprint, package versions, validation scores. ``forecast_from_version`` forecasts the
latest data with a saved version without refitting (see :meth:`Forecaster.forward`) and
stores the run like any forecast. The first version trained is promoted; later ones are
promoted by ``promote_version`` (or by ``trendcast update`` when a refit is not worse).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from trendcast.data.store import Store
from trendcast.engine.base import Engine
from trendcast.engine.runner import Runner, RunOutput, Trained
from trendcast.errors import ModelError
from trendcast.models import persistence
from trendcast.models.base import check_horizon, check_quantiles
from trendcast.schema import quantile_column
from trendcast.services.forecast import (
    DEFAULT_MODELS,
    DEFAULT_QUANTILES,
    RunResult,
    _new_run_id,
    _run_row,
    _runner,
    build_models,
    long_chunks,
    resolve_horizon,
)
from trendcast.services.open_periods import week_label_of

Progress = Callable[[str, int, int], None]


@dataclass
class VersionInfo:
    """A saved version as ``train_version`` made it."""

    version_id: str
    models: list[str]
    horizon: int
    n_series: int
    data_end: pd.Timestamp
    scores: pd.DataFrame | None
    promoted: bool
    location: str
    seconds: float
    validation_run: str | None = None
    notes: list[str] = field(default_factory=list)


PROMOTED = "promoted"  # names the promoted version where a version id is asked for


def _new_version_id() -> str:
    return f"v-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def train_version(
    store: Store,
    *,
    horizon: int | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    n_jobs: int = 1,
    progress: Progress | None = None,
    model_params: Mapping[str, Any] | None = None,
    engine: Engine | str | None = None,
    partition_size: int | None = None,
    train_series: int | None = None,
    freq: str | None = None,
    ended: str = "skip",
    ended_after: int | None = None,
    clean: bool = False,
    validate: bool = True,
    promote: bool | None = None,
) -> VersionInfo:
    """Fit ``models`` on every stored series, score them on the last ``horizon`` periods
    (``validate``), and save them as a version; ``promote`` None promotes it when no version
    is promoted yet. ``horizon`` None: the default for the run's frequency (``freq``, else the
    workspace's; :func:`~trendcast.services.forecast.resolve_horizon`); the version keeps it."""
    from trendcast.evaluation.metrics import score

    start = time.perf_counter()
    horizon = resolve_horizon(store, horizon, freq)
    qs = check_quantiles(quantiles)
    built = build_models(models, model_params, horizon)
    spec = {"models": list(models), "model_params": dict(model_params or {}), "quantiles": qs,
            "freq": freq, "ended": ended, "ended_after": ended_after, "clean": clean,
            "train_series": train_series}
    runner = _runner(built, engine=engine, n_jobs=n_jobs, partition_size=partition_size,
                     train_series=train_series, progress=progress, freq=freq, ended=ended,
                     ended_after=ended_after, clean=clean, week_label=week_label_of(store))
    version_id = _new_version_id()
    board = None
    validation_run = None
    with tempfile.TemporaryDirectory(prefix="trendcast-train-") as tmp:
        snap = store.snapshot(tmp)
        trained: Trained = runner.train(snap, horizon)
        own = _own_validation(store, trained, horizon, qs) if validate and freq is None else None
        for model in trained.models.values():  # not part of the artefact
            if getattr(model, "validation_", None) is not None:
                model.validation_ = None
        if own is not None:
            cv = own
            trained.notes.append(f"validation: {own.aliases[0]}'s own last validation window "
                                 "(the choice is not repeated)")
        elif validate:
            try:
                cv = runner.cross_validation(snap, horizon, n_windows=1, quantiles=qs)
            except ModelError as exc:  # too short for one window: the version is still usable
                trained.notes.append(f"not validated: {exc}")
                cv = None
        else:
            cv = None
        if cv is not None:
            board = score(cv.forecasts, cv.aliases, train=None, season_length=cv.season_length,
                          quantiles=qs, scales=cv.scales)
            validation_run = _save_validation(store, cv, horizon, qs, version_id)
    spec["series"] = trained.series
    data, meta = persistence.dumps(trained.models)
    row = {
        "version_id": version_id, "created_at": pd.Timestamp.now(), "status": "trained",
        "promoted_at": None, "models": list(trained.models), "spec": spec, "horizon": horizon,
        "freq": trained.freq, "data_start": trained.span[0], "data_end": trained.span[1],
        "n_series": trained.n_series, "fingerprint": _fingerprint(store, trained.span[1]),
        "packages": meta["packages"], "requires": meta["requires"], "format": meta["format"],
        "scores": [] if board is None else _records(board), "validation_run": validation_run,
        "bytes": meta["bytes"], "sha256": meta["sha256"], "notes": trained.notes,
    }
    location = store.save_model_version(row, data)
    if promote is None:
        promote = not any(v["status"] == "promoted" for v in store.model_versions())
    if promote:
        store.promote_model_version(version_id)
    return VersionInfo(version_id, list(trained.models), horizon, trained.n_series, trained.span[1],
                       board, bool(promote), location, time.perf_counter() - start, validation_run,
                       trained.notes)


def _own_validation(store: Store, trained: Trained, horizon: int, qs: list[float]) -> RunOutput | None:
    """A model that chose itself on validation windows ending at the last training date
    (``Recommended``) already forecast the last ``horizon`` periods from their origin: its
    ``validation_`` frame is the version's one-window backtest, scored against the stored
    sales, so the version is not validated a second time (which would repeat the whole
    choice). None when the version is not a single such model or the window differs."""
    from trendcast.models.statistical import default_season_length
    from trendcast.models.validation import mase_scale, rmsse_scale

    if len(trained.models) != 1:
        return None
    alias, model = next(iter(trained.models.items()))
    frame = getattr(model, "validation_", None)
    if frame is None or not len(frame) or frame["ds"].nunique() != horizon:
        return None
    cutoff = pd.Timestamp(frame["cutoff"].max())
    sales = store.sales(columns=["unique_id", "ds", "y"])
    actual = sales[sales["ds"] > cutoff][["unique_id", "ds", "y"]].astype({"unique_id": str})
    out = frame.rename(columns={"y": "y_run"}).merge(actual, on=["unique_id", "ds"], how="left")
    out["y"] = out["y"].fillna(out["y_run"])  # a gap the run filled
    keep = ["unique_id", "ds", "cutoff", "y", alias, *[quantile_column(alias, q) for q in qs]]
    if any(c not in out.columns for c in keep):
        return None
    season = default_season_length(trained.freq)
    train = sales[sales["ds"] <= cutoff].astype({"unique_id": str})
    return RunOutput([alias], out[keep], [], trained.n_series, trained.freq,
                     {"validation": "the model's own last window"}, [cutoff], season,
                     (mase_scale(train, season), rmsse_scale(train)))


def _fingerprint(store: Store, end: pd.Timestamp) -> str:
    import hashlib
    import json

    facts = store.sales_fingerprint(end)
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return (f"{digest} ({facts['n_rows']:,} rows, {facts['n_series']:,} series, "
            f"{facts['first']}..{facts['last']})")


def _records(board: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in board.to_dict(orient="records")]


def _save_validation(store: Store, cv: Any, horizon: int, qs: list[float], version_id: str) -> str:
    """The validation window as a backtest run, with per-series MAE and MASE (what drift
    detection expects of each series)."""
    from trendcast.evaluation.metrics import score

    run_id = _new_run_id("backtest")
    board = score(cv.forecasts, cv.aliases, train=None, season_length=cv.season_length,
                  quantiles=qs, scales=cv.scales)
    overall = board.melt(id_vars="model", var_name="metric", value_name="value")
    overall.insert(0, "run_id", run_id)
    overall["unique_id"] = None
    per = per_series_errors(cv.forecasts, cv.aliases, cv.scales[0] if cv.scales else None)
    per.insert(0, "run_id", run_id)
    metrics = pd.concat([overall, per], ignore_index=True)
    params = {"n_windows": 1, "step": horizon, "version": version_id}
    store.save_run(_run_row(run_id, "backtest", cv, horizon, qs, params, cv.n_series),
                   long_chunks(cv.forecasts, run_id, cv.aliases, qs), metrics)
    return run_id


def per_series_errors(cv: pd.DataFrame, aliases: Sequence[str],
                      scale: pd.Series | None) -> pd.DataFrame:
    """Per model and series: MAE and MASE (mean absolute error over the series' scale)."""
    rows = []
    y = cv["y"].to_numpy(dtype=float)
    for alias in aliases:
        err = pd.Series(np.abs(y - cv[alias].to_numpy(dtype=float)), index=cv.index)
        mae = err.groupby(cv["unique_id"].astype(str)).mean()
        rows.append(pd.DataFrame({"model": alias, "metric": "MAE", "unique_id": mae.index,
                                  "value": mae.to_numpy()}))
        if scale is not None:
            mase = mae / scale.reindex(mae.index).replace(0, np.nan)
            rows.append(pd.DataFrame({"model": alias, "metric": "MASE", "unique_id": mase.index,
                                      "value": mase.to_numpy()}))
    return pd.concat(rows, ignore_index=True)[["model", "metric", "unique_id", "value"]]


def load_version(store: Store, version: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A version's row (the promoted one when ``version`` is None) and its fitted models;
    :class:`~trendcast.models.persistence.IncompatibleVersionError` when the installed
    packages cannot load it faithfully."""
    row = store.model_version(version)
    check_loadable(row)
    models = persistence.loads(store.model_artefact(row["version_id"]), row,
                               label=f"model version {row['version_id']}")
    return row, models


def check_loadable(row: Mapping[str, Any]) -> None:
    """IncompatibleVersionError when the installed packages cannot load the version ``row``
    describes faithfully (from its metadata, without reading the artefact)."""
    persistence.check_compatible(row.get("packages") or {}, list(row.get("requires") or []),
                                 artefact_format=int(row.get("format") or 0),
                                 label=f"model version {row['version_id']}")


def forecast_from_version(
    store: Store,
    version: str | None = None,
    *,
    horizon: int | None = None,
    quantiles: Sequence[float] | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    engine: Engine | str | None = None,
    partition_size: int | None = None,
    collect: bool = True,
    loaded: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> RunResult:
    """Forecast the latest stored data with a saved version (default: the promoted one),
    without refitting, and store the run (its params name the version). ``loaded``: that
    version's row and models, when the caller has just loaded them."""
    row, models = loaded if loaded is not None else load_version(store, version)
    spec = row.get("spec") or {}
    h = check_horizon(horizon or int(row["horizon"]))
    qs = check_quantiles(spec.get("quantiles", DEFAULT_QUANTILES) if quantiles is None else quantiles)
    runner = _runner(list(models.values()), engine=engine, n_jobs=n_jobs,
                     partition_size=partition_size, train_series=None, progress=progress,
                     freq=spec.get("freq"), ended=spec.get("ended", "skip"),
                     ended_after=spec.get("ended_after"), clean=bool(spec.get("clean")),
                     week_label=week_label_of(store))
    with tempfile.TemporaryDirectory(prefix="trendcast-run-") as tmp:
        snap = store.snapshot(tmp, since=_snapshot_since(store, row, runner, models, h))
        out = runner.forecast(snap, h, quantiles=qs, fitted=models)
    trained_end = pd.Timestamp(row["data_end"])
    known = set(_version_series(row))
    notes = [f"forecast from saved model version {row['version_id']} (trained on data to "
             f"{trained_end.date()}; models moved forward to the latest data, not refitted)"]
    new_ids = sorted(set(out.forecasts["unique_id"].astype(str)) - known) if known else []
    if new_ids:
        notes.append(f"{len(new_ids):,} series were not in the version ({', '.join(new_ids[:5])}"
                     f"{'...' if len(new_ids) > 5 else ''}): per-series models were fitted on them "
                     "now, global models applied to them")
    notes += [n for n in out.notes if n not in notes]
    out.notes = notes
    run_id = _new_run_id("forecast")
    params = {"n_jobs": n_jobs, "version": row["version_id"], **{k: v for k, v in spec.items()
                                                                 if k in ("freq", "ended", "clean")}}
    from trendcast.services.coldstart import apply_cold_start

    cold = apply_cold_start(store, out, h, qs)
    if cold:
        params["cold_start"] = cold
    store.save_run(_run_row(run_id, "forecast", out, h, qs, params, out.n_series),
                   long_chunks(out.forecasts, run_id, out.aliases, qs), cleaning=out.cleaning)
    wide = out.forecasts if collect else pd.DataFrame()
    return RunResult(run_id, "forecast", out.aliases, wide, notes=out.notes, n_series=out.n_series,
                     horizon=h)


def _snapshot_since(store: Store, row: Mapping[str, Any], runner: Runner,
                    models: Mapping[str, Any], h: int) -> pd.Timestamp | None:
    """The history a forecast from the version reads (:meth:`Runner.saved_since`), so only
    that is copied out of the workspace; None (all) when it aggregates to another frequency,
    where the run's last period is only known from the data."""
    span = store.sales_span()
    freq = str(row.get("freq") or "")
    if (row.get("spec") or {}).get("freq") or span is None or not freq:
        return None
    return runner.saved_since(models, pd.Timestamp(span[1]), freq, h)


def _version_series(row: Mapping[str, Any]) -> list[str]:
    return list((row.get("spec") or {}).get("series", []))


def list_versions(store: Store) -> pd.DataFrame:
    """One row per version, newest first: id, status, created, models, data end, series,
    validation WAPE of the first model, size."""
    rows = []
    for v in store.model_versions():
        scores = v.get("scores") or []
        rows.append({"version_id": v["version_id"], "status": v["status"], "created_at": v["created_at"],
                     "models": ", ".join(v.get("models") or []), "data_end": v["data_end"],
                     "n_series": v["n_series"], "WAPE": scores[0].get("WAPE") if scores else None,
                     "MB": round((v.get("bytes") or 0) / 1e6, 2)})
    return pd.DataFrame(rows, columns=["version_id", "status", "created_at", "models", "data_end",
                                       "n_series", "WAPE", "MB"])


def show_version(store: Store, version: str | None = None) -> dict[str, Any]:
    """A version's metadata (the promoted one when ``version`` is None), with whether the
    installed packages can load it."""
    return _with_loadable(store.model_version(version))


def _with_loadable(row: dict[str, Any]) -> dict[str, Any]:
    try:
        check_loadable(row)
        row["loadable"] = "yes"
    except persistence.IncompatibleVersionError as exc:
        row["loadable"] = f"no: {exc}"
    return row


def describe_version(store: Store, version: str | None = None) -> dict[str, Any]:
    """What `trendcast models show` prints: a version's metadata (the promoted one when
    ``version`` is None), its settings without the list of series (``series_known`` counts
    them), and whether the installed packages can load it."""
    return _described(show_version(store, version))


def describe_versions(store: Store) -> list[dict[str, Any]]:
    """:func:`describe_version` of every version, newest first."""
    return [_described(_with_loadable(row)) for row in store.model_versions()]


def _described(row: dict[str, Any]) -> dict[str, Any]:
    spec = dict(row.get("spec") or {})
    series = spec.pop("series", [])
    return {**{k: row.get(k) for k in ("version_id", "status", "created_at", "promoted_at", "models",
                                       "horizon", "freq", "data_start", "data_end", "n_series",
                                       "fingerprint", "location", "bytes", "sha256", "validation_run")},
            "settings": spec, "series_known": len(series), "packages": row.get("packages"),
            "requires": row.get("requires"), "scores": row.get("scores"), "loadable": row["loadable"],
            "notes": row.get("notes")}


def promote_version(store: Store, version: str) -> None:
    """Make ``version`` the one `forecast --from-model` and `update` use."""
    store.promote_model_version(version)


def delete_version(store: Store, version: str) -> None:
    """Remove a version and its artefact."""
    store.delete_model_version(version)
