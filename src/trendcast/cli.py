"""The `trendcast` command line: thin typer commands over the services, with rich progress."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from trendcast.errors import TrendcastError

app = typer.Typer(
    help="Forecast e-commerce sales and trends. Start with `trendcast demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)
out = Console(highlight=False)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="TRENDCAST_DB",
                 help="Workspace: a DuckDB file (default ./trendcast.duckdb) or ':memory:'."),
]


def _db(db: str | None) -> str:
    from trendcast.config import Settings

    return db or Settings().db


@contextlib.contextmanager
def _progress(enabled: bool = True) -> Iterator[callable]:  # type: ignore[valid-type]
    """A rich progress bar fed by the services' (label, done, total) callbacks."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  console=console, transient=False, disable=not enabled) as bar:
        task = bar.add_task("starting", total=None)

        def update(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        yield update


def _parse_quantiles(text: str) -> list[float]:
    try:
        return [float(q) for q in text.split(",") if q.strip()]
    except ValueError:
        raise typer.BadParameter(f"quantiles must be numbers like 0.1,0.5,0.9, got {text!r}") from None


@app.command()
def demo(
    db: DbOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path("trendcast_out"),
    products: Annotated[int, typer.Option(help="Products in the simulated shop.")] = 240,
    seed: Annotated[int, typer.Option(help="Random seed of the simulated shop.")] = 7,
    horizon: Annotated[int, typer.Option(help="Days to forecast.")] = 28,
    lang: Annotated[str, typer.Option(help="Report language: en or zh.")] = "en",
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
) -> None:
    """Simulate a shop, ingest it, forecast, backtest and write an HTML report."""
    from trendcast.data.store import open_store
    from trendcast.services.demo import run_demo

    start = time.perf_counter()
    location = _db(db)
    out_dir.mkdir(parents=True, exist_ok=True)
    if location != ":memory:":
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    with open_store(location) as store, _progress() as progress:
        result = run_demo(store, out_dir, n_products=products, seed=seed, horizon=horizon,
                          lang=lang, n_jobs=jobs, progress=progress)
    _print_board(result.leaderboard)
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    out.print(f"forecast run {result.forecast_run}; backtest run {result.backtest_run}")
    out.print(escape(f"report: {result.report}"))
    out.print(f"done in {time.perf_counter() - start:.1f}s ({steps})")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file, or an M5 folder with --format m5.")],
    kind: Annotated[str | None, typer.Option(
        help="sales (default), products, orders, events, reviews, calendar or macro; "
             "a --format preset implies its own.")] = None,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Known layout: m5 (folder), taobao, amazon-reviews.")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", help="Column mapping TARGET=SOURCE, e.g. --map y=units (repeatable).")] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone of Unix timestamps.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel sheet name.")] = None,
    add_products: Annotated[bool, typer.Option(
        "--add-products", help="Register unknown product ids of orders/reviews.")] = False,
    aggregate: Annotated[str | None, typer.Option(
        help="For orders: also build sales series, D (daily) or W (weekly).")] = None,
    db: DbOption = None,
) -> None:
    """Validate a file and store it; a file with any bad row stores nothing."""
    from trendcast.data.ingest import PRESETS, parse_mapping
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_file, ingest_m5

    with open_store(_db(db)) as store, _progress() as progress:
        progress(f"ingest {path.name}", 0, 1)
        if fmt == "m5":
            report = ingest_m5(store, path)
        else:
            preset = PRESETS.get(fmt or "")
            kind = kind or (preset.kind if preset else "sales")
            if aggregate not in (None, "D", "W"):
                raise typer.BadParameter("--aggregate takes D or W")
            report = ingest_file(store, path, kind, fmt=fmt, mapping=parse_mapping(mapping),
                                 tz=tz, sheet=sheet, add_products=add_products,
                                 aggregate=aggregate)  # type: ignore[arg-type]
        progress(f"ingest {path.name}", 1, 1)
    out.print(escape(report.summary() + f" in {report.seconds:.1f}s"))
    for note in report.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def festivals(
    start: Annotated[str | None, typer.Option(help="First day (default: first sales day).")] = None,
    end: Annotated[str | None, typer.Option(
        help="Last day (default: a year after the last sales day).")] = None,
    db: DbOption = None,
) -> None:
    """Store Chinese public holidays, the Spring Festival period and shopping festivals
    (618, Double 11, Double 12, Black Friday, ...) for a date range."""
    from trendcast.data.store import open_store
    from trendcast.services.ingest import ingest_festivals

    with open_store(_db(db)) as store:
        report = ingest_festivals(store, start=start, end=end)
    out.print(escape(report.summary()))


@app.command()
def forecast(
    horizon: Annotated[int, typer.Option(help="Steps (days) to forecast.")] = 28,
    model: Annotated[list[str] | None, typer.Option(
        help="Model name (repeatable), or auto; default SeasonalNaive and AutoETS.")] = None,
    quantiles: Annotated[str, typer.Option(help="Comma-separated quantile levels.")] = "0.1,0.5,0.9",
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these series.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Forecast every stored series and store the run."""
    from trendcast.data.store import open_store
    from trendcast.services.forecast import DEFAULT_MODELS, run_forecast

    with open_store(_db(db)) as store, _progress(not as_json) as progress:
        result = run_forecast(store, horizon=horizon, models=model or list(DEFAULT_MODELS),
                              quantiles=_parse_quantiles(quantiles), ids=ids, n_jobs=jobs,
                              progress=progress)
    if as_json:
        fc = result.forecasts.assign(ds=result.forecasts["ds"].dt.strftime("%Y-%m-%d"))
        print(json.dumps({"run_id": result.run_id, "notes": result.notes,
                          "forecasts": fc.to_dict(orient="records")}))
        return
    n = result.forecasts["unique_id"].nunique()
    out.print(f"run {result.run_id}: {n:,} series x {horizon} steps, models {', '.join(result.models)}")
    for note in result.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def backtest(
    horizon: Annotated[int, typer.Option(help="Steps (days) per window.")] = 28,
    windows: Annotated[int, typer.Option(help="Rolling-origin windows.")] = 2,
    step: Annotated[int | None, typer.Option(help="Steps between cutoffs (default horizon).")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Model name (repeatable).")] = None,
    quantiles: Annotated[str, typer.Option(help="Comma-separated quantile levels.")] = "0.1,0.5,0.9",
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these series.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leaderboard as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Rolling-origin backtest; prints and stores the leaderboard."""
    from trendcast.data.store import open_store
    from trendcast.services.forecast import DEFAULT_MODELS, run_backtest

    with open_store(_db(db)) as store, _progress(not as_json) as progress:
        result = run_backtest(store, horizon=horizon, n_windows=windows, step=step,
                              models=model or list(DEFAULT_MODELS),
                              quantiles=_parse_quantiles(quantiles), ids=ids, n_jobs=jobs,
                              progress=progress)
    if as_json:
        assert result.metrics is not None
        print(json.dumps({"run_id": result.run_id,
                          "leaderboard": result.metrics.to_dict(orient="records")}))
        return
    _print_board(result.metrics)
    out.print(f"run {result.run_id}")


@app.command()
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html.")] = Path("trendcast_out"),
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    run: Annotated[str | None, typer.Option(help="Forecast run id (default the latest).")] = None,
    db: DbOption = None,
) -> None:
    """Write the HTML report of a forecast run."""
    from trendcast.data.store import open_store
    from trendcast.services.report import build_report

    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang takes en or zh")
    with open_store(_db(db)) as store:
        path = build_report(store, out_dir, run_id=run, lang=lang)
    out.print(escape(f"report: {path}"))


@app.command()
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """What the workspace holds: rows, series and date ranges per table, and stored runs."""
    from trendcast.data.store import open_store
    from trendcast.services.info import workspace_info

    with open_store(_db(db)) as store:
        summary = workspace_info(store)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    table = Table(title=f"workspace {summary['location']} (schema v{summary['schema_version']})")
    for col in ("table", "rows", "from", "to", "detail"):
        table.add_column(col)
    for name, entry in summary["tables"].items():
        detail = ""
        if name == "sales" and entry.get("series"):
            d = entry["days_per_series"]
            detail = f"{entry['series']:,} series, {d['min']}-{d['max']} days each"
        table.add_row(name, f"{entry['rows']:,}", str(entry.get("start") or "")[:10],
                      str(entry.get("end") or "")[:10], detail)
    out.print(table)


def _print_board(board: object) -> None:
    import pandas as pd

    if not isinstance(board, pd.DataFrame) or board.empty:
        return
    table = Table(title="backtest leaderboard")
    for col in board.columns:
        table.add_column(str(col))
    for row in board.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    out.print(table)


def main() -> None:
    """Entry point: typed errors become one line on stderr and exit code 2."""
    try:
        app()
    except TrendcastError as exc:
        if os.environ.get("TRENDCAST_DEBUG"):
            raise
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except (OSError, ValueError) as exc:
        if os.environ.get("TRENDCAST_DEBUG"):
            raise
        console.print(f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}",
                      highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
