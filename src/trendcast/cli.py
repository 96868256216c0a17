"""The `trendcast` command line: thin typer commands over the services, with rich progress."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from trendcast.errors import TrendcastError

if TYPE_CHECKING:
    import pandas as pd

    from trendcast.config import Settings
    from trendcast.data.store import Store
    from trendcast.services.jobfile import FileJob

app = typer.Typer(
    help="Forecast e-commerce sales and trends. Start with `trendcast demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Written to a file or a pipe (a cron log), a line of text stays one line, whole for grep;
# in a terminal it wraps between words. Tables fit the width either way (_print_table).
console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
out = Console(highlight=False, soft_wrap=not sys.stdout.isatty())

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="TRENDCAST_DB",
                 help="Workspace: a DuckDB file (default ./trendcast.duckdb), ':memory:', or a "
                      "postgresql://user:pass@host:port/db[?schema=NAME] URL."),
]


# Reading options shared by `ingest` and `update` (the daily job reads the shop's own exports).
MapOption = Annotated[list[str] | None, typer.Option(
    "--map", help="Column mapping TARGET=SOURCE, e.g. --map y=units (repeatable); "
                  "SOURCE A+B joins columns into one key: --map unique_id=Store+Dept.")]
SetOption = Annotated[list[str] | None, typer.Option(
    "--set", help="A column with one value for every row, COLUMN=VALUE, e.g. --set "
                  "kind=holiday or --set unique_id=waimai (repeatable).")]
DropOption = Annotated[list[str] | None, typer.Option(
    "--drop", help="Leave out a column of the file (repeatable), e.g. a flag column of a "
                   "wide macro table.")]
TzOption = Annotated[str | None, typer.Option(
    help="Zone of naive date-times in the file (default: the workspace's zone, which the "
         "first ingest sets from this or TRENDCAST_TZ, default Asia/Shanghai). Times with "
         "an offset and Unix times are converted to the workspace's zone.")]
DateFormatOption = Annotated[str | None, typer.Option(
    "--date-format", help="strftime format of the dates, e.g. %m/%d/%y, %d.%m.%Y or "
                          "%Y年%m月%d日; also lets partial dates through (%Y-%m). A column that "
                          "mixes layouts: join them with |, '%Y/%m/%d|%Y-%m-%d'.")]
NegativesOption = Annotated[str, typer.Option(
    help="Negative quantities (returns): reject (default), keep, clip or zero (clip and "
         "zero both set them to 0); the count and examples are printed.")]
DecimalOption = Annotated[str | None, typer.Option(
    "--decimal", help="Numbers written for people: '.' reads 1,234.50 and $12.50; ',' reads "
                      "1.234,50, 12,5 and 12,50 € (default: plain numbers only).")]
EncodingOption = Annotated[str | None, typer.Option(
    help="Text encoding (default: detected: UTF-8 with or without BOM, UTF-16, GB18030/GBK, "
         "...).")]
SheetOption = Annotated[str | None, typer.Option(help="Excel sheet name.")]
ColumnsOption = Annotated[str | None, typer.Option(
    help="A file without a header line: its columns in order, comma-separated, e.g. text,rating "
         "(then --map and --set as usual).")]
FormatOption = Annotated[str | None, typer.Option(
    "--format", help="Known layout: m5 (folder; `ingest` only), taobao, amazon-reviews.")]
RatingScaleOption = Annotated[str | None, typer.Option(
    "--rating-scale", help="Lowest-highest rating of reviews, default 1-5.")]
AddProductsOption = Annotated[bool, typer.Option(
    "--add-products", help="Register unknown product ids of orders/reviews.")]
AggregateOption = Annotated[str | None, typer.Option(
    help="For orders: also build sales series, D (daily) or W (weekly).")]
KeepUserIdsOption = Annotated[bool, typer.Option(
    "--keep-user-ids", help="Store user ids of orders/events as given, not as workspace "
                            "pseudonyms.")]
ScrubOption = Annotated[bool, typer.Option(
    "--scrub", help="For reviews: replace phone numbers and e-mail addresses in the text by "
                    "\\[phone] and \\[email] (the count is printed).")]
AllowGapsOption = Annotated[bool, typer.Option(
    "--allow-gaps", help="Store new sales that leave periods without a row for any product "
                         "after the stored ones (the shop was closed); without it they are "
                         "refused as a missed export, unless they are calendar events or the "
                         "shop has had such periods before.")]
WeekLabelOption = Annotated[str | None, typer.Option(
    "--week-label", help="Weekly sales: dated by the week's first day (start) or last day (end, "
                         "as Walmart's Fridays); the workspace keeps it. Default: the kept one, "
                         "else start for weeks dated on Mondays and end for other weekdays. A "
                         "week dated by its start is stored once it has ended.")]


_SETTINGS: Settings | None = None


def _settings() -> Settings:
    """The one Settings of this process (environment and defaults), built on first use."""
    global _SETTINGS
    if _SETTINGS is None:
        from trendcast.config import Settings

        _SETTINGS = Settings()
    return _SETTINGS


def _db(db: str | None) -> str:
    return db or _settings().db


def _open(db: str | None, *, read_only: bool = False) -> Store:
    """The workspace of --db / TRENDCAST_DB; read-only commands open it read-only, so they run
    while another process computes a forecast."""
    from trendcast.data.store import open_store

    return open_store(_db(db), read_only=read_only, settings=_settings())


def _note_line(note: str, lang: str) -> str:
    """A service's note as the CLI prints it, in ``lang`` (the report's patterns)."""
    if lang != "zh":
        return f"note: {note}"
    from trendcast.insights.report_notes import localize_note

    return f"说明：{localize_note(note, lang)}"


def _print_table(table: Table) -> None:
    """Print ``table`` so that it fits the terminal (80 columns too) without cutting a word:
    the first column (names: models, products) keeps its longest entry whole, the others fold
    long words onto a second line instead of ending them in "…". A table with more columns
    than the width holds is printed in blocks of columns, each led by the first column, so no
    column is cropped or left out."""
    from rich.measure import Measurement

    widths = []
    for i, column in enumerate(table.columns):
        column.overflow = "fold"  # a header or a long text folds, never ends in "…"
        sizes = [Measurement.get(out, out.options, c) for c in column.cells]
        longest = max((m.maximum for m in sizes), default=0)
        if i == 0 or longest <= 24:  # names, numbers, dates, labels stay whole
            column.no_wrap = True
            column.min_width = min(max(longest, len(str(column.header))), 32)
        else:  # a text wraps between words; a long id folds
            word = max((m.minimum for m in sizes), default=0)
            column.min_width = min(max(word, len(str(column.header)), 8), 32)
        widths.append(column.min_width)
    if sum(widths) + 3 * len(widths) + 1 <= out.width:
        out.print(table)
        return
    blocks = _column_blocks(widths, out.width)
    if len(blocks) == 1:
        out.print(_plain(table))
        return
    if table.title:  # over the whole width, not folded into the first block's
        out.print(table.title)
    for block in blocks:
        out.print(_columns_of(table, block))


def _column_blocks(widths: list[int], width: int) -> list[list[int]]:
    """Column indices per block of a plain table ``width`` wide (two spaces between columns,
    one after the last), each block led by column 0; one block when they all fit."""
    blocks, current, used = [], [0], widths[0] + 1
    for i in range(1, len(widths)):
        if len(current) > 1 and used + 2 + widths[i] > width:
            blocks.append(current)
            current, used = [0], widths[0] + 1
        current.append(i)
        used += 2 + widths[i]
    return [*blocks, current]


def _plain(table: Table) -> Table:
    """``table`` without its frame: one space between columns."""
    from rich import box

    table.box, table.padding = box.SIMPLE_HEAD, (0, 1, 0, 0)
    table.pad_edge = table.show_edge = False
    return table


def _columns_of(table: Table, block: list[int]) -> Table:
    """A plain table, without a title, of ``table``'s columns ``block`` (their cells and
    rows)."""
    from dataclasses import replace

    part = Table()
    part.columns = [replace(table.columns[i], _cells=list(table.columns[i]._cells), _index=n)
                    for n, i in enumerate(block)]
    part.rows = list(table.rows)
    return _plain(part)


PLAIN_EVERY = 5.0  # seconds between two plain progress lines of the same step


class _PlainProgress:
    """Progress as plain lines on stderr, for output that is not a terminal (a log file, a
    pipe, `make demo > log`): a line when the step changes, else at most every few seconds."""

    def __init__(self, every: float = PLAIN_EVERY) -> None:
        self.every = every
        self.start = self.last = time.monotonic()
        self.label: str | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if label == self.label and now - self.last < self.every and not (total and done >= total):
            return
        self.label, self.last = label, now
        count = f"[{done}/{total}] " if total else ""
        print(f"{count}{label} ... ({now - self.start:.0f}s)", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _progress(enabled: bool = True) -> Iterator[callable]:  # type: ignore[valid-type]
    """A rich progress bar fed by the services' (label, done, total) callbacks; plain lines
    when stderr is not a terminal (a bar there shows nothing until the very end)."""
    if enabled and not console.is_terminal:
        yield _PlainProgress()
        return
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
    from trendcast.services.demo import run_demo

    start = time.perf_counter()
    location = _db(db)
    out_dir.mkdir(parents=True, exist_ok=True)
    if location != ":memory:":
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    with _open(location) as store, _progress() as progress:
        result = run_demo(store, out_dir, n_products=products, seed=seed, horizon=horizon,
                          lang=lang, n_jobs=jobs, progress=progress, browser=_settings().chromium)
    _print_board(result.leaderboard)
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    out.print(f"forecast run {result.forecast_run}; backtest run {result.backtest_run}")
    out.print(escape(f"report: {result.report}"))
    pdf = result.report.with_suffix(".pdf")
    out.print(escape(f"pdf: {pdf}") if pdf.exists() else
              "pdf: not written (no Chromium found; install chromium for report.pdf)")
    out.print(f"done in {time.perf_counter() - start:.1f}s ({steps})")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file, or an M5 folder with --format m5.")],
    kind: Annotated[str | None, typer.Option(
        help="sales (default), products, orders, events, reviews, calendar or macro; "
             "a --format preset implies its own.")] = None,
    fmt: FormatOption = None,
    mapping: MapOption = None,
    constants: SetOption = None,
    drop: DropOption = None,
    tz: TzOption = None,
    date_format: DateFormatOption = None,
    negatives: NegativesOption = "reject",
    decimal: DecimalOption = None,
    rating_scale: RatingScaleOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    columns: ColumnsOption = None,
    add_products: AddProductsOption = False,
    aggregate: AggregateOption = None,
    keep_user_ids: KeepUserIdsOption = False,
    scrub: ScrubOption = False,
    week_label: WeekLabelOption = None,
    allow_gaps: AllowGapsOption = False,
    db: DbOption = None,
) -> None:
    """Validate a file and store it as one batch (`trendcast undo BATCH` reverts it); a file
    with any bad row stores nothing."""
    from trendcast.services.ingest import ingest_file, ingest_m5

    with _open(db) as store, _progress() as progress:
        progress(f"ingest {path.name}", 0, 1)
        if fmt == "m5":
            report = ingest_m5(store, path, actor=_actor())
        else:
            [job] = _file_jobs([path], kind=kind, fmt=fmt, mapping=mapping, constants=constants,
                               drop=drop, tz=tz, date_format=date_format, negatives=negatives,
                               decimal=decimal, rating_scale=rating_scale, encoding=encoding,
                               sheet=sheet, columns=columns, add_products=add_products, aggregate=aggregate,
                               keep_user_ids=keep_user_ids, scrub=scrub, week_label=week_label)
            report = ingest_file(store, job.path, job.kind, actor=_actor(), allow_gaps=allow_gaps,
                                 **job.ingest_kwargs())
        progress(f"ingest {path.name}", 1, 1)
    out.print(escape(report.summary() + f" in {report.seconds:.1f}s"))
    for note in report.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def festivals(
    start: Annotated[str | None, typer.Option(help="First day (default: first sales day).")] = None,
    end: Annotated[str | None, typer.Option(
        help="Last day (default: a year after the last sales day).")] = None,
    country: Annotated[str, typer.Option(
        help="ISO country code of the public holidays (CN, US, EC, DE, ...); CN also adds the "
             "Spring Festival period and the shopping festivals.")] = "CN",
    subdiv: Annotated[str | None, typer.Option(
        help="Subdivision for regional holidays, e.g. CA (California) with --country US.")] = None,
    db: DbOption = None,
) -> None:
    """Store public holidays and shopping festivals for a date range: for China (the default)
    its holidays, the Spring Festival period, 618, Double 11, Double 12; for any country its
    holidays from the `holidays` package; Black Friday and Cyber Monday for all."""
    from trendcast.services.ingest import ingest_festivals

    with _open(db) as store:
        report = ingest_festivals(store, start=start, end=end, country=country, subdiv=subdiv)
    out.print(escape(report.summary()))


def _actor() -> str:
    from trendcast.services.batches import cli_actor

    return cli_actor()


@app.command()
def batches(
    status: Annotated[str | None, typer.Option(help="Only applied or undone batches.")] = None,
    limit: Annotated[int, typer.Option(help="Batches to show, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Every ingest and deletion, newest first: id, kind, file, rows added / replaced /
    deleted, when, who, and whether it was undone."""
    from trendcast.services.batches import list_batches

    if limit < 1:
        raise typer.BadParameter("--limit takes a number >= 1")
    with _open(db, read_only=True) as store:
        total, rows = list_batches(store, limit=limit, status=status)
    if as_json:
        print(json.dumps({"total": total, "batches": rows}, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"batches ({total:,}; newest first)")
    table.add_column("batch", no_wrap=True)
    for col in ("kind", "file", "added", "replaced", "deleted", "when", "who", "status"):
        table.add_column(col, overflow="fold")
    for b in rows:
        state = (b["status"] if b["status"] == "applied"
                 else f"undone {b['undone_at']} by {b['undone_by'] or '-'}")
        table.add_row(b["batch_id"], escape(b["kind"]), escape(b["source"] or ""), f"{b['rows_added']:,}",
                      f"{b['rows_replaced']:,}", f"{b['rows_deleted']:,}", b["created_at"] or "",
                      escape(b["actor"] or ""), escape(state))
    _print_table(table)


@app.command()
def undo(
    batch_id: Annotated[str, typer.Argument(help="A batch id from `trendcast batches`.")],
    db: DbOption = None,
) -> None:
    """Undo a batch: remove the rows it added and restore the rows it replaced or deleted.
    Refused while a later batch changed the same rows (undo that one first)."""
    from trendcast.services.batches import undo_batch

    with _open(db) as store:
        result = undo_batch(store, batch_id, actor=_actor())
    out.print(escape(result.summary()))


@app.command()
def delete(
    ids: Annotated[list[str] | None, typer.Option(
        "--id", help="Product id (item id for events, name for calendar and macro); repeatable.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First date, YYYY-MM-DD (inclusive).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last date, YYYY-MM-DD (inclusive).")] = None,
    kind: Annotated[str, typer.Option(
        help="sales (default), products, orders, events, reviews, calendar, macro or stock.")] = "sales",
    db: DbOption = None,
) -> None:
    """Delete rows by id and date range; recorded as a batch, so `trendcast undo` restores them."""
    from trendcast.services.batches import delete_rows

    with _open(db) as store:
        result = delete_rows(store, kind, ids=ids, start=start, end=end, actor=_actor())
    out.print(escape(result.summary()))


CleanOption = Annotated[bool, typer.Option(
    "--clean", help="Fit the models on cleaned inputs: stock-out days as missing demand, outliers "
                    "replaced (stored sales unchanged; `trendcast clean` previews the changes).")]
FreqOption = Annotated[str | None, typer.Option(
    "--freq", help="Forecast at a coarser frequency than the stored sales: W, M, Q or Y "
                   "(sales summed, prices averaged, calendar flags per period).")]


@app.command()
def forecast(
    horizon: Annotated[int | None, typer.Option(
        help="Steps to forecast, in periods of the workspace's frequency (days for daily sales, "
             "weeks for weekly, ...) or of --freq; default 28 days, 13 weeks, 18 months, 8 "
             "quarters or 6 years (--from-model: the version's own).")] = None,
    model: Annotated[list[str] | None, typer.Option(
        help="Model name (repeatable), or auto; default SeasonalNaive and AutoETS.")] = None,
    quantiles: Annotated[str, typer.Option(help="Comma-separated quantile levels.")] = "0.1,0.5,0.9",
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these series.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    model_path: Annotated[str | None, typer.Option(
        "--model-path", help="Weights folder or hub id for Fracast, ChronosBolt, Chronos2, TimesFM.")] = None,
    engine: Annotated[str | None, typer.Option(
        "--engine", envvar="TRENDCAST_ENGINE", help="Run on: local (this process) or ray.")] = None,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", envvar="TRENDCAST_RAY_ADDRESS",
        help="Ray cluster to join (host:port); unset starts a local Ray.")] = None,
    freq: FreqOption = None,
    ended: Annotated[str, typer.Option(
        help="Series with no sales for the last --ended-after periods: skip (listed in the notes), "
             "zero (forecast zeros) or forecast (from their own last date).")] = "skip",
    ended_after: Annotated[int | None, typer.Option(
        help="Periods without sales that end a series (default: the horizon).")] = None,
    clean: CleanOption = False,
    cold_start: Annotated[bool, typer.Option(
        "--cold-start/--no-cold-start",
        help="Forecast new products (not launched yet, or launched under 7 days ago) from their "
             "category's launch curve and price band (listed in the notes).")] = True,
    from_model: Annotated[str | None, typer.Option(
        "--from-model", help="Forecast from a saved model version without refitting "
                             "(`trendcast train`); alone: the promoted version.")] = None,
    scenario: Annotated[Path | None, typer.Option(
        "--scenario", help="A what-if plan (CSV: unique_id or category, start, end, price or "
                           "discount %, promo, event): baseline and scenario side by side; "
                           "default model LightGBM.")] = None,
    cost_share: Annotated[float, typer.Option(
        help="With --scenario: unit cost as a share of price for products without unit_cost.")] = 0.6,
    scenario_response: Annotated[str, typer.Option(
        "--scenario-response",
        help="With --scenario: how planned prices and promotions move the forecast: elasticity "
             "(the baseline times the change each product's estimated price elasticity and the "
             "shop's promotion effect give) or model (the model's own response).")] = "elasticity",
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Forecast every stored series and store the run."""
    from trendcast.services.forecast import DEFAULT_MODELS, SCENARIO_MODELS, run_forecast
    from trendcast.services.versions import forecast_from_version

    with _open(db) as store, _progress(not as_json) as progress, \
            _engine(engine, ray_address, jobs) as runner:
        if from_model is not None:
            if scenario is not None:
                raise typer.BadParameter("--scenario refits the models: drop --from-model")
            if model or model_path or freq or clean or ids:
                raise typer.BadParameter("--from-model forecasts with the version's own models and "
                                         "settings: drop --model, --model-path, --freq, --clean, --id")
            result = forecast_from_version(
                store, None if from_model == PROMOTED else from_model, horizon=horizon,
                quantiles=_parse_quantiles(quantiles), n_jobs=jobs, progress=progress,
                engine=runner, partition_size=_settings().partition_size, collect=as_json)
        else:
            defaults = SCENARIO_MODELS if scenario is not None else DEFAULT_MODELS
            result = run_forecast(store, horizon=horizon, models=model or list(defaults),
                                  quantiles=_parse_quantiles(quantiles), ids=ids, n_jobs=jobs,
                                  progress=progress,
                                  model_params={"model_path": model_path} if model_path else None,
                                  engine=runner, collect=as_json,
                                  partition_size=_settings().partition_size, freq=freq,
                                  ended=ended, ended_after=ended_after, clean=clean,
                                  cold_start=cold_start, scenario=scenario, cost_share=cost_share,
                                  scenario_response=scenario_response)
    if as_json:
        fc = result.forecasts.assign(ds=result.forecasts["ds"].dt.strftime("%Y-%m-%d"))
        doc = {"run_id": result.run_id, "notes": result.notes, "forecasts": fc.to_dict(orient="records")}
        if result.scenario is not None:
            doc["scenario"] = json.loads(result.scenario.to_json(orient="records"))
        print(json.dumps(doc))
        return
    n = result.n_series or 0
    out.print(f"run {result.run_id}: {n:,} series x {result.horizon} steps, "
              f"models {', '.join(result.models)}")
    if result.scenario is not None:
        _print_scenario(result.scenario)
    for note in result.notes:
        out.print(escape(f"note: {note}"))


def _print_scenario(table: pd.DataFrame) -> None:
    """Baseline and scenario side by side, one table per model (interval in brackets)."""
    import pandas as pd

    def cell(r: Any, col: str) -> str:
        v = r[col]
        if pd.isna(v):
            return "-"
        lo, hi = r.get(f"{col}_lo"), r.get(f"{col}_hi")
        band = f" [{lo:,.0f}-{hi:,.0f}]" if lo is not None and hi is not None and pd.notna(lo) else ""
        return f"{v:,.1f}{band}"

    for model, rows in table.groupby("model", sort=False):
        t = Table(title=f"scenario vs baseline, {model} (horizon totals, interval in brackets)")
        for head in ("product", "units base", "units plan", "revenue base", "revenue plan",
                     "margin base", "margin plan", "units", "margin"):
            t.add_column(head, justify="left" if head == "product" else "right")
        for r in rows.to_dict(orient="records"):
            t.add_row(escape(str(r["unique_id"])), cell(r, "base_units"), cell(r, "plan_units"),
                      cell(r, "base_revenue"), cell(r, "plan_revenue"), cell(r, "base_margin"),
                      cell(r, "plan_margin"), _signed(r["units_change"]), _signed(r["margin_change"]))
        out.print(t)


def _signed(v: float) -> str:
    return "-" if v is None or v != v else f"{v:+.1%}"


@app.command()
def backtest(
    horizon: Annotated[int | None, typer.Option(
        help="Steps per window, in periods of the workspace's frequency or of --freq; default "
             "28 days, 13 weeks, 18 months, 8 quarters or 6 years.")] = None,
    windows: Annotated[int, typer.Option(help="Rolling-origin windows.")] = 2,
    step: Annotated[int | None, typer.Option(help="Steps between cutoffs (default horizon).")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Model name (repeatable).")] = None,
    quantiles: Annotated[str, typer.Option(help="Comma-separated quantile levels.")] = "0.1,0.5,0.9",
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these series.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    engine: Annotated[str | None, typer.Option(
        "--engine", envvar="TRENDCAST_ENGINE", help="Run on: local (this process) or ray.")] = None,
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", envvar="TRENDCAST_RAY_ADDRESS",
        help="Ray cluster to join (host:port); unset starts a local Ray.")] = None,
    freq: FreqOption = None,
    clean: CleanOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leaderboard as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Rolling-origin backtest; prints and stores the leaderboard."""
    from trendcast.services.forecast import DEFAULT_MODELS, run_backtest

    with _open(db) as store, _progress(not as_json) as progress, \
            _engine(engine, ray_address, jobs) as runner:
        result = run_backtest(store, horizon=horizon, n_windows=windows, step=step,
                              models=model or list(DEFAULT_MODELS),
                              quantiles=_parse_quantiles(quantiles), ids=ids, n_jobs=jobs,
                              progress=progress, engine=runner,
                              partition_size=_settings().partition_size, freq=freq, clean=clean)
    if as_json:
        assert result.metrics is not None
        print(json.dumps({"run_id": result.run_id,
                          "leaderboard": result.metrics.to_dict(orient="records"),
                          "notes": list(result.notes)}))
        return
    _print_board(result.metrics)
    out.print(f"run {result.run_id}")
    for note in result.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def clean(
    run: Annotated[str | None, typer.Option(
        help="Show what a `forecast --clean` run changed (default: preview the workspace).")] = None,
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these series.")] = None,
    top: Annotated[int, typer.Option(help="Changes to print (all with --json).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Stock-out days (from the stock history, or inferred from zero runs in fast movers) and
    outliers that `forecast --clean` replaces in the models' inputs; the stored sales are never
    changed."""
    from trendcast.services.cleaning import preview_cleaning, run_cleaning

    with _open(db, read_only=True) as store:
        changes = run_cleaning(store, run) if run else preview_cleaning(store, ids)
    if as_json:
        print(changes.assign(ds=changes["ds"].astype(str)).to_json(orient="records"))
        return
    counts = changes["reason"].value_counts() if len(changes) else {}
    what = "changed in run " + run if run else "would change"
    out.print(f"cleaning {what}: " + (", ".join(f"{n:,} {r} day(s)" for r, n in counts.items())
                                       or "nothing") + f" on {changes['unique_id'].nunique():,} series")
    table = Table()
    for col in ("product", "date", "sales", "cleaned", "reason"):
        table.add_column(col)
    for r in changes.head(top).itertuples():
        table.add_row(escape(str(r.unique_id)), str(r.ds)[:10], f"{r.before:g}", f"{r.after:.1f}", r.reason)
    _print_table(table)


@app.command()
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html and report.pdf.")] = Path(
        "trendcast_out"),
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    run: Annotated[str | None, typer.Option(help="Forecast run id (default the latest).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf",
                                      help="Also print report.pdf (needs Chromium).")] = True,
    explain: Annotated[int, typer.Option(help="Explain the forecasts of this many best sellers.")] = 3,
    alerts: Annotated[str, typer.Option(
        help="Sentiment alerts from: auto (stars if 80% of reviews have them, else text), model "
             "(review text), rating, off.")] = "auto",
    db: DbOption = None,
) -> None:
    """Write the trend report of a forecast run: HTML (charts embedded, opens offline) and PDF."""
    from trendcast.services.report import build_report

    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang takes en or zh")
    if alerts not in ("auto", "model", "rating", "off"):
        raise typer.BadParameter("--alerts takes auto, model, rating or off")
    with _open(db, read_only=True) as store, _progress() as progress:
        path = build_report(store, out_dir, run_id=run, lang=lang, pdf=pdf, explain=explain,
                            browser=_settings().chromium,
                            alerts_source=alerts, progress=progress)
    out.print(escape(f"report: {path}"))
    if pdf:
        out.print(escape(f"pdf: {path.with_suffix('.pdf')}"))


@app.command()
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """What the workspace holds: rows, series and date ranges per table, and stored runs."""
    from trendcast.features.frequency import describe
    from trendcast.services.info import workspace_info

    with _open(db, read_only=True) as store:
        summary = workspace_info(store)
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    freq = f", {describe(summary['freq'])} sales" if summary.get("freq") else ""
    if summary.get("week_label") and str(summary.get("freq") or "").startswith("W"):
        freq += f" dated by the week's {'first' if summary['week_label'] == 'start' else 'last'} day"
    table = Table(title=f"workspace {summary['location']} (schema v{summary['schema_version']}{freq})")
    for col in ("table", "rows", "from", "to", "detail"):
        table.add_column(col)
    for name, entry in summary["tables"].items():
        detail = ""
        if name == "sales" and entry.get("series"):
            d, unit = entry["periods_per_series"], entry.get("period", "day")
            detail = f"{entry['series']:,} series, {d['min']}-{d['max']} {unit}s each"
        table.add_row(name, f"{entry['rows']:,}", str(entry.get("start") or "")[:10],
                      str(entry.get("end") or "")[:10], detail)
    _print_table(table)


@app.command()
def propensity(
    days: Annotated[int, typer.Option(help="Predict purchases in the next this-many days.")] = 3,
    level: Annotated[str, typer.Option(help="item (user x item) or category (user x category).")] = "item",
    top: Annotated[int, typer.Option(help="Pairs to print.")] = 20,
    k: Annotated[int, typer.Option(
        "--k", help="Length of the contact list: precision@k chooses the model.")] = 100,
    pairs: Annotated[Path | None, typer.Option(
        help="CSV of pairs to score (user_id and item_id or category_id); default: active pairs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Who is likely to buy what: purchase propensity from views, carts, favourites and buys,
    from LightGBM, a recency-frequency baseline or their rank blend: a challenger ships only
    when it beats the baseline on a validation cutoff (AP and precision@k) beyond the
    bootstrap noise; calibrated probabilities."""
    import pandas as pd

    from trendcast.services.propensity import run_propensity

    if level not in ("item", "category"):
        raise typer.BadParameter("--level takes item or category")
    if k < 1:
        raise typer.BadParameter("--k takes a number >= 1")
    key = "item_id" if level == "item" else "category_id"
    wanted = None
    if pairs is not None:
        try:
            wanted = pd.read_csv(pairs, dtype=str)
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"--pairs {pairs}: cannot read it as CSV ({exc})") from None
        missing = [c for c in ("user_id", key) if c not in wanted.columns]
        if missing:
            raise typer.BadParameter(f"--pairs {pairs}: missing column(s) {missing}; "
                                     f"got {list(wanted.columns)}")
    with _open(db, read_only=True) as store:
        result = run_propensity(store, days=days, level=level, top=top, k=k,  # type: ignore[arg-type]
                                pairs=wanted)
    if as_json:
        print(json.dumps(result.as_dict(), default=str, ensure_ascii=False))
        return
    table = Table(title=f"purchase propensity, next {days} days ({level} level, model {result.model})")
    for col in ("user_id", key, "probability", "basis", "cold"):
        table.add_column(col)
    for row in result.scores.itertuples(index=False):
        table.add_row(str(row.user_id), str(getattr(row, key)), f"{row.probability:.4f}", str(row.basis),
                      "yes" if row.cold else "")
    _print_table(table)
    for name, m in result.holdout.items():
        out.print(f"holdout {name}: AP {m['ap']:.3f}, precision@{k} {m[f'p@{k}']:.2f}, AUC {m['auc']:.3f}")
    cal = result.calibration["shipped"]
    out.print(f"holdout calibration: mean predicted {cal['mean_predicted']:.4f}, observed "
              f"{cal['observed_rate']:.4f}, Brier {cal['brier']:.5f}")
    for row in result.segments.itertuples(index=False):
        out.print(f"cold pairs, users with {row.segment}: P(buy) {row.rate:.6f}")
    for note in result.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def explain(
    product: Annotated[str, typer.Option("--id", help="Product (series) id to explain.")],
    model: Annotated[str, typer.Option(help="Model to fit and explain.")] = "LightGBM",
    days: Annotated[int, typer.Option(
        help="Periods to forecast: days of daily sales, weeks of weekly sales, ...")] = 7,
    lang: Annotated[str, typer.Option(help="en or zh.")] = "en",
    by: Annotated[str | None, typer.Option(
        help="day (each forecast period) or week (7-day blocks; weekly and coarser sales: "
             "each period) (default: day up to 14 periods, else week).")] = None,
    top: Annotated[int, typer.Option(help="Drivers per period in the sentences.")] = 4,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker threads.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Why the forecast of one product is what it is: top drivers per day or week, in words."""
    from trendcast.services.explain import explain_forecast

    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang takes en or zh")
    by = by or ("day" if days <= 14 else "week")
    if by not in ("day", "week"):
        raise typer.BadParameter("--by takes day or week")
    with _open(db, read_only=True) as store:
        result = explain_forecast(store, product, model=model, days=days, n_jobs=jobs)
    if as_json:
        print(json.dumps(result.as_dict(lang, by=by, top=top), default=str, ensure_ascii=False))
        return
    for line in result.sentences(lang, by=by, top=top):
        out.print(escape(line))
    periods = result.periods(by)
    wide = periods.pivot_table(index=["period", "forecast"], columns="driver", values="effect")
    short = {"recent_sales": "recent", "product_group": "group", "promotion": "promo",
             "other_covariates": "other cov", "external": "macro"}
    table = Table(title=f"{result.model} drivers of {product} ({result.method}), effect in %")
    for col in ("period", "units", *wide.columns):
        table.add_column(short.get(str(col), str(col)))
    for (period, total), row in wide.iterrows():
        table.add_row(f"{period:%m-%d}", f"{total:.1f}", *[f"{v:+.0%}" for v in row])
    _print_table(table)
    for note in result.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    max_upload_mb: Annotated[int, typer.Option(help="Largest upload accepted, in MB.")] = 50,
    workers: Annotated[int, typer.Option(help="Threads running forecast/backtest jobs.")] = 2,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    schedule: Annotated[str | None, typer.Option(
        help="Also run `trendcast update --refit auto` (score, refit when due, forecast; with "
             "the files of --job-file, else none) on this cron schedule, e.g. '0 6 * * *' "
             "(APScheduler).")] = None,
    keep_days: Annotated[int | None, typer.Option(
        help="With --schedule: after each update, `trendcast prune --keep-days` this.")] = None,
    job_file: Annotated[Path | None, typer.Option(
        "--job-file", help="With --schedule: each update ingests the files this job file names "
                           "(as `update --job-file`), read again at every run.")] = None,
) -> None:
    """Serve the REST API (/api, docs at /docs) and the dashboard (/) with uvicorn."""
    import uvicorn

    from trendcast.api.app import create_app

    if keep_days is not None and not schedule:
        raise typer.BadParameter("--keep-days prunes after each scheduled update: give --schedule too")
    if job_file is not None:
        if not schedule:
            raise typer.BadParameter("--job-file names the files of each scheduled update: give "
                                     "--schedule too")
        from trendcast.services.jobfile import load_job

        # a mistake in the job file shows now, not at the first scheduled run
        load_job(job_file, workspace_tz=_settings().tz, need_files=False)
    location = _db(db)
    application = create_app(location, max_upload_mb=max_upload_mb, workers=workers,
                             settings=_settings())
    # Job threads compute while request threads wait for the GIL: hand it over every 1 ms
    # (default 5 ms), which keeps read latency low while forecasts run.
    sys.setswitchinterval(0.001)
    console.print(escape(f"serving workspace {location} at http://{host}:{port}/ "
                         f"(API docs at http://{host}:{port}/docs); Ctrl+C stops"), highlight=False)
    scheduler = _schedule_updates(location, schedule, keep_days, job_file) if schedule else None
    try:
        uvicorn.run(application, host=host, port=port, log_level=log_level)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


def _schedule_updates(location: str, cron: str, keep_days: int | None = None,
                      job_file: Path | None = None) -> object:
    """A background APScheduler running the update job on ``cron`` (one at a time), with the
    files of ``job_file`` (when given), then a prune keeping ``keep_days`` (when given)."""
    try:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger
    except ImportError:
        raise typer.BadParameter("--schedule needs APScheduler: pip install 'trendcast[schedule]'") from None
    zone = _workspace_zone(location)
    try:  # the shop's clock, not the server's: '0 6 * * *' is 06:00 where the shop is
        trigger = CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as exc:
        raise typer.BadParameter(f"--schedule {cron!r}: {exc}; e.g. '0 6 * * *'") from None

    scheduler = BackgroundScheduler(timezone=zone)
    scheduler.add_job(_scheduled_update, trigger, args=(location, keep_days, job_file), id="update",
                      max_instances=1, coalesce=True)
    scheduler.start()
    files = f" --job-file {job_file}" if job_file is not None else ""
    console.print(escape(f"scheduled `update --refit auto{files}` at {cron!r} in {zone} (the "
                         "workspace's time zone)"), highlight=False, soft_wrap=True)
    return scheduler


def _workspace_zone(location: str) -> str:
    """The workspace's time zone (set by its first ingest), else the configured default."""
    from trendcast.data.store import open_store

    with contextlib.suppress(TrendcastError), open_store(location, read_only=True,
                                                            settings=_settings()) as store:
        zone = store.meta("tz")
        if zone:
            return str(zone)
    return _settings().tz


def _scheduled_update(location: str, keep_days: int | None, job_file: Path | None = None) -> None:
    """One scheduled run: `update --refit auto` with the files ``job_file`` names (none
    without it), then a prune keeping ``keep_days`` (when given); a failure is printed, and
    the next run is tried as planned."""
    from trendcast.data.store import open_store
    from trendcast.services.jobfile import load_job
    from trendcast.services.retention import prune as prune_workspace
    from trendcast.services.update import run_update
    from trendcast.services.update_log import SCHEDULE, recorded_update

    def run(store: Any) -> Any:
        # the job file is read inside the record: a file missing at 06:00 is a failed update
        files = load_job(job_file, workspace_tz=_settings().tz) if job_file is not None else []
        return run_update(store, files, refit="auto", n_jobs=_settings().n_jobs,
                          partition_size=_settings().partition_size, actor=SCHEDULE)

    params = {"refit": "auto", **({"job_file": str(job_file)} if job_file is not None else {})}
    try:
        with open_store(location, settings=_settings()) as store:
            result = recorded_update(store, SCHEDULE, lambda: run(store), params=params)
            pruned = prune_workspace(store, keep_days=keep_days) if keep_days is not None else None
        console.print(escape(result.summary()), highlight=False, soft_wrap=True)
        for note in result.notes:
            console.print(escape(f"note: {note}"), highlight=False, soft_wrap=True)
        if pruned is not None:
            console.print(escape(pruned.summary()), highlight=False, soft_wrap=True)
    except TrendcastError as exc:
        console.print(escape(f"scheduled update failed: {exc}"), highlight=False, soft_wrap=True)


PROMOTED = "promoted"  # `--from-model` given without a version (services.versions.PROMOTED)


@app.command()
def train(
    horizon: Annotated[int | None, typer.Option(
        help="Steps the version forecasts (and is validated on), in periods of the workspace's "
             "frequency or of --freq; default 28 days, 13 weeks, 18 months, 8 quarters or 6 "
             "years.")] = None,
    model: Annotated[list[str] | None, typer.Option(
        help="Model name (repeatable), auto or recommended; default SeasonalNaive and AutoETS.")] = None,
    quantiles: Annotated[str, typer.Option(help="Comma-separated quantile levels.")] = "0.1,0.5,0.9",
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    model_path: Annotated[str | None, typer.Option(
        "--model-path", help="Weights folder or hub id for Fracast, ChronosBolt, Chronos2, TimesFM.")] = None,
    freq: FreqOption = None,
    ended: Annotated[str, typer.Option(help="As for `forecast`: skip, zero or forecast.")] = "skip",
    ended_after: Annotated[int | None, typer.Option(help="As for `forecast`.")] = None,
    clean: CleanOption = False,
    validate: Annotated[bool, typer.Option(
        help="Score the configuration on the last --horizon periods (stored as a backtest run; "
             "monitoring and drift alerts compare live errors with it).")] = True,
    promote: Annotated[bool | None, typer.Option(
        "--promote/--no-promote", help="Promote the new version (default: only if none is).")] = None,
    db: DbOption = None,
) -> None:
    """Fit a configuration on every stored series and save it as a model version."""
    from trendcast.services.forecast import DEFAULT_MODELS
    from trendcast.services.versions import train_version

    with _open(db) as store, _progress() as progress:
        info = train_version(store, horizon=horizon, models=model or list(DEFAULT_MODELS),
                             quantiles=_parse_quantiles(quantiles), n_jobs=jobs, progress=progress,
                             model_params={"model_path": model_path} if model_path else None,
                             partition_size=_settings().partition_size, freq=freq, ended=ended,
                             ended_after=ended_after, clean=clean, validate=validate, promote=promote)
    _print_board(info.scores)
    state = "promoted" if info.promoted else "not promoted (`trendcast models promote` it)"
    out.print(escape(f"version {info.version_id}: {', '.join(info.models)} on {info.n_series:,} series "
                     f"to {info.data_end.date()}, {state}, saved at {info.location} in "
                     f"{info.seconds:.1f}s"))
    for note in info.notes:
        out.print(escape(f"note: {note}"))


models_app = typer.Typer(help="Saved model versions: list, show, promote, delete.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Every saved version, newest first (the promoted one is what `update` uses)."""
    from trendcast.services.versions import list_versions

    with _open(db, read_only=True) as store:
        table_df = list_versions(store)
    if as_json:
        print(table_df.to_json(orient="records", date_format="iso"))
        return
    table = Table(title="model versions")
    for col in table_df.columns:
        table.add_column(col)
    shown = table_df.assign(created_at=_day_or_time(table_df["created_at"], minutes=True),
                            data_end=_day_or_time(table_df["data_end"]))
    for row in shown.itertuples(index=False):
        table.add_row(*[escape("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v))
                        for v in row])
    _print_table(table)


def _day_or_time(values: pd.Series, *, minutes: bool = False) -> pd.Series:
    """Dates as a person reads them: the day, with the time to the minute when ``minutes`` or
    when one of them is not at midnight; blank where there is none."""
    import pandas as pd

    when = pd.to_datetime(values)
    timed = minutes or bool((when.dropna() != when.dropna().dt.normalize()).any())
    layout = "%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"
    return when.dt.strftime(layout).fillna("")


@models_app.command("show")
def models_show(
    version: Annotated[str | None, typer.Argument(help="Version id (default: the promoted one).")] = None,
    db: DbOption = None,
) -> None:
    """A version's metadata: models, settings, data window, fingerprint, packages, scores."""
    from trendcast.services.versions import describe_version

    with _open(db, read_only=True) as store:
        show = describe_version(store, version)
    print(json.dumps(show, indent=2, default=str, ensure_ascii=False))


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument(help="Version id.")], db: DbOption = None) -> None:
    """Make VERSION the one `forecast --from-model` and `update` use."""
    from trendcast.services.versions import promote_version

    with _open(db) as store:
        promote_version(store, version)
    out.print(escape(f"promoted {version}"))


@models_app.command("delete")
def models_delete(version: Annotated[str, typer.Argument(help="Version id.")], db: DbOption = None) -> None:
    """Delete a version and its artefact."""
    from trendcast.services.versions import delete_version

    with _open(db) as store:
        delete_version(store, version)
    out.print(escape(f"deleted {version}"))


@app.command()
def update(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="New files (any format `ingest` reads, with the same reading options).")] = None,
    job: Annotated[Path | None, typer.Option(
        "--job-file", help="A TOML job file naming the day's files, each with its own kind and "
                      "reading options (docs/ingest.md, \"The daily job's files\"); instead of "
                      "FILES and their options.")] = None,
    refit: Annotated[str, typer.Option(
        help="auto (when the version is old, drifted or the catalogue grew), always or never.")] = "auto",
    kind: Annotated[str | None, typer.Option(
        help="Kind of the files (as for `ingest`; default sales, or the --format preset's).")] = None,
    reselect: Annotated[bool, typer.Option(
        help="A refit of a `recommended` version chooses its member again (slow: backtests every "
             "candidate); by default it keeps the version's choice.")] = False,
    allow_gaps: AllowGapsOption = False,
    fmt: FormatOption = None,
    mapping: MapOption = None,
    constants: SetOption = None,
    drop: DropOption = None,
    tz: TzOption = None,
    date_format: DateFormatOption = None,
    negatives: NegativesOption = "reject",
    decimal: DecimalOption = None,
    rating_scale: RatingScaleOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    columns: ColumnsOption = None,
    add_products: AddProductsOption = False,
    aggregate: AggregateOption = None,
    keep_user_ids: KeepUserIdsOption = False,
    scrub: ScrubOption = False,
    week_label: WeekLabelOption = None,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes.")] = 2,
    db: DbOption = None,
) -> None:
    """The daily job: ingest FILES (all or nothing), score past forecasts, refit the promoted
    version when the policy says so (promoted only if not worse on the latest window), and
    forecast from the promoted version. For cron: `trendcast update /data/today/*.csv`; the
    files are read with the options `ingest` takes (--map, --negatives, --date-format, ...);
    files of several kinds, each read its own way: `trendcast update --job-file daily.toml`."""
    from trendcast.services.update import run_update
    from trendcast.services.update_log import recorded_update

    actor = _actor()

    def run(store: Any, progress: Any) -> Any:
        # the files are found inside the record: a job file whose export is missing at 06:00
        # (or a mistake in the command cron runs) is a failed update like a bad row
        files = _update_files(paths or [], job, kind=kind, fmt=fmt, mapping=mapping,
                              constants=constants, drop=drop, tz=tz, date_format=date_format,
                              negatives=negatives, decimal=decimal, rating_scale=rating_scale,
                              encoding=encoding, sheet=sheet, columns=columns, add_products=add_products,
                              aggregate=aggregate, keep_user_ids=keep_user_ids, scrub=scrub,
                              week_label=week_label)
        return run_update(store, files, refit=refit, n_jobs=jobs, reselect=reselect,
                          progress=progress, partition_size=_settings().partition_size,
                          actor=actor, allow_gaps=allow_gaps)

    params = {"refit": refit, "reselect": reselect, "files": [str(p) for p in paths or []],
              **({"job_file": str(job)} if job is not None else {})}
    with _open(db) as store, _progress() as progress:
        # recorded in `jobs` (GET /api/jobs, the dashboard), a failure too
        result = recorded_update(store, actor, lambda: run(store, progress), params=params)
    out.print(escape(result.summary()), soft_wrap=True)
    for note in result.notes:
        out.print(escape(f"note: {note}"))


def _update_files(paths: list[Path], job: Path | None, *, kind: str | None, fmt: str | None,
                  aggregate: str | None, add_products: bool, keep_user_ids: bool, scrub: bool,
                  week_label: str | None, **reading: Any) -> list[FileJob]:
    """The files `update` ingests: FILES read with the command's options, or a job file's."""
    from trendcast.data.readers import Limits
    from trendcast.services.jobfile import load_job

    if job is not None:
        given = [f"--{k.replace('_', '-')}" for k, v in reading.items() if v not in (None, [], "reject")]
        given += [flag for flag, v in (("--format", fmt), ("--aggregate", aggregate),
                                       ("--add-products", add_products),
                                       ("--keep-user-ids", keep_user_ids), ("--scrub", scrub),
                                       ("--week-label", week_label),
                                       ("--kind", kind)) if v]
        if paths or given:
            raise typer.BadParameter("--job-file names the files and how each is read: give no FILES "
                                     f"or reading options with it (got {[str(p) for p in paths] + given})")
        return load_job(job, workspace_tz=_settings().tz, limits=Limits.from_settings(_settings()))
    return _file_jobs(paths, kind=kind, fmt=fmt, aggregate=aggregate, add_products=add_products,
                      keep_user_ids=keep_user_ids, scrub=scrub, week_label=week_label, **reading)


def _file_jobs(paths: list[Path], *, kind: str | None, fmt: str | None, aggregate: str | None,
               add_products: bool, keep_user_ids: bool, scrub: bool, week_label: str | None,
               **reading: Any) -> list[FileJob]:
    """FILES read with the command's options (`ingest`, `update`): the kind, else the
    --format preset's, else sales."""
    from trendcast.data.ingest import PRESETS, make_options
    from trendcast.data.readers import Limits
    from trendcast.services.jobfile import FileJob

    if aggregate not in (None, "D", "W"):
        raise typer.BadParameter("--aggregate takes D or W")
    if week_label not in (None, "start", "end"):
        raise typer.BadParameter("--week-label takes start or end")
    preset = PRESETS.get(fmt or "")
    options = make_options(fmt=fmt, workspace_tz=_settings().tz,
                           limits=Limits.from_settings(_settings()), **reading)
    return [FileJob(p, kind or (preset.kind if preset else "sales"), options,
                    add_products=add_products,
                    aggregate=aggregate,  # type: ignore[arg-type]
                    pseudonymise=not keep_user_ids, scrub=scrub,
                    week_label=week_label) for p in paths]  # type: ignore[arg-type]


@app.command()
def prune(
    keep_days: Annotated[int, typer.Option(
        help="Keep runs (and model versions) created in these days.")] = 90,
    keep_versions: Annotated[int, typer.Option(
        help="Always keep this many newest model versions (and the promoted one).")] = 5,
    scores_days: Annotated[int, typer.Option(
        help="Keep the accuracy scores of the forecast days in the last this many days of "
             "sales (0: keep all).")] = 400,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False,
    db: DbOption = None,
) -> None:
    """Delete old forecast and backtest runs (with their forecasts), old accuracy scores and
    old model versions, so a workspace that forecasts every day stays small. Never the newest
    run of each kind, a kept version's validation run, a run still awaiting actuals, or the
    promoted version."""
    from trendcast.services.retention import prune as prune_workspace

    with _open(db) as store:
        result = prune_workspace(store, keep_days=keep_days, keep_versions=keep_versions,
                                 scores_days=scores_days or None, dry_run=dry_run)
    out.print(escape(result.summary()))


@app.command()
def monitor(
    level: Annotated[str, typer.Option(
        help="Pool errors per run, step, product, category, week, category-week, period or "
             "category-period (period: the workspace's own, a month of a monthly shop).")] = "run",
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts", help="Also list drift alerts.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Accuracy of stored forecasts as their actuals arrive, against the backtest's
    expectation; drift alerts per product (a 7-day likelihood-ratio test adding sales errors and
    complaints: 1-2 star reviews) and category (a CUSUM on sales errors)."""
    from trendcast.services.monitor import accuracy, drift_alerts, drift_line, waiting_note

    with _open(db) as store:
        board = accuracy(store, level=level, model=model)
        found = drift_alerts(store, model=model, score=False) if alerts else None
        waiting = store.waiting_scores()
        said = waiting_note(store, waiting)
    note = f"note: {said}" if said else None
    if as_json:
        payload = {"accuracy": json.loads(board.to_json(orient="records", date_format="iso")),
                   "waiting": waiting}
        if found is not None:
            payload["alerts"] = json.loads(found.to_json(orient="records", date_format="iso"))
        print(json.dumps(payload))
        return
    if board.empty:
        out.print("no forecast has actuals yet: forecast, then ingest (or `update`) the days it covers")
        if note:
            out.print(escape(note))
        return
    table = Table(title=f"accuracy per {level} (expected: the latest backtest)")
    for col in board.columns:
        table.add_column(col)
    for row in board.itertuples(index=False):
        table.add_row(*[escape("" if v is None else f"{v:.3f}" if isinstance(v, float)
                               else f"{v:%Y-%m-%d}" if hasattr(v, "strftime") else str(v)) for v in row])
    _print_table(table)
    if note:
        out.print(escape(note))
    if found is not None and len(found):
        for a in found.head(20).itertuples(index=False):
            out.print(escape(drift_line(a._asdict())))
    elif found is not None:
        out.print("no drift alerts")


keys_app = typer.Typer(help="Create, list and revoke API keys (roles: viewer < analyst < admin).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="viewer (read), analyst (upload, jobs) or admin (keys).")],
    name: Annotated[str | None, typer.Option(help="A label, e.g. who uses the key.")] = None,
    db: DbOption = None,
) -> None:
    """Create a key and print it once to stdout (only its hash is stored)."""
    from trendcast.services.keys import create_key

    with _open(db) as store:
        key = create_key(store, role, name)
    print(key)
    console.print(f"created {role} key {key.split('_')[1]}; keep it now, it cannot be shown again",
                  highlight=False)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """List keys: id, name, role, created, revoked (never the secret)."""
    from trendcast.services.keys import list_keys

    with _open(db, read_only=True) as store:
        keys = list_keys(store)
    if as_json:
        print(json.dumps(keys, indent=2))
        return
    table = Table(title="API keys")
    for col in ("key id", "name", "role", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(k["key_id"], escape(k["name"] or ""), k["role"], k["created_at"] or "",
                      k["revoked_at"] or "")
    _print_table(table)


@keys_app.command("rotate-pseudonym")
def keys_rotate_pseudonym(
    yes: Annotated[bool, typer.Option("--yes", help="Do it (without: only say what happens).")] = False,
    db: DbOption = None,
) -> None:
    """New key for user-id pseudonyms: stored pseudonyms are re-keyed (they keep joining each
    other, and the old key no longer links them to raw ids) but no longer match pseudonyms of
    the same users ingested afterwards, since raw ids are not kept."""
    from trendcast.services.privacy import rotate_pseudonym_key

    if not yes:
        out.print("this gives the workspace a new pseudonym key and re-keys every stored pseudonym; "
                  "users ingested afterwards get pseudonyms that do not match their earlier ones. "
                  "Run again with --yes to do it.")
        return
    with _open(db) as store:
        info = rotate_pseudonym_key(store)
    out.print(escape(f"new pseudonym key in {info['key_from']}; {info['rekeyed']:,} stored "
                     "pseudonym(s) re-keyed"))


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (the part after tc_).")],
    db: DbOption = None,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from trendcast.services.keys import revoke_key

    with _open(db) as store:
        info = revoke_key(store, key_id)
    out.print(f"revoked key {info['key_id']} ({info['role']}) at {info['revoked_at']}")


@app.command()
def trends(
    level: Annotated[str, typer.Option(help="product, brand or category.")] = "product",
    as_json: Annotated[bool, typer.Option("--json", help="Print the calls as a JSON list.")] = False,
    top: Annotated[int | None, typer.Option(help="Only the top N calls of each class.")] = None,
    lang: Annotated[str, typer.Option(help="Language of the reasons: en or zh.")] = "en",
    run: Annotated[str | None, typer.Option(help="Forecast run id (default the latest, if any).")] = None,
    db: DbOption = None,
) -> None:
    """Which products (brands, categories) are rising, declining, emerging, heading into a
    seasonal peak or steady, with a confidence and a reason for each."""
    from trendcast.insights.trends import CLASSES
    from trendcast.services.trends import calls_records, trend_calls

    if level not in ("product", "brand", "category"):
        raise typer.BadParameter("--level takes product, brand or category")
    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang takes en or zh")
    if top is not None and top < 1:
        raise typer.BadParameter("--top takes a number >= 1")
    with _open(db, read_only=True) as store:
        calls = trend_calls(store, level=level, run_id=run, lang=lang)  # type: ignore[arg-type]
    if as_json:
        print(json.dumps(calls_records(calls, top=top), ensure_ascii=False))
        return
    from trendcast.insights.report_text import trend_label

    key = "unique_id" if level == "product" else level
    shown = calls if top is None else calls[calls["rank"] <= top]
    for cls in CLASSES:
        part = shown[shown["trend"] == cls]
        if part.empty:
            continue
        n_all = int((calls["trend"] == cls).sum())
        if lang == "zh":
            noun = {"product": "个商品", "brand": "个品牌", "category": "个品类"}[level]
            title = f"{trend_label(cls, lang)}（{n_all} {noun}）"
        else:
            noun = {"product": "products", "brand": "brands", "category": "categories"}[level]
            title = f"{cls} ({n_all} {noun})"
        table = Table(title=title, title_justify="left")
        heads = (("排名", {"product": "商品", "brand": "品牌", "category": "品类"}[level], "置信度", "原因")
                 if lang == "zh" else ("rank", key, "confidence", "reason"))
        for col in heads:
            table.add_column(col, overflow="fold")
        for row in part.itertuples(index=False):
            table.add_row(str(row.rank), escape(str(getattr(row, key))), f"{row.confidence:.2f}",
                          escape(str(row.reason)))
        _print_table(table)
    for note in calls.attrs.get("notes", []):
        out.print(escape(_note_line(note, lang)))


@app.command()
def inventory(
    lead_time: Annotated[int, typer.Option(
        help="Days from order to delivery (if the stock file has none).")] = 7,
    review: Annotated[int, typer.Option(help="Days between orders (if the stock file has none).")] = 7,
    stock: Annotated[Path | None, typer.Option(
        help="CSV or Excel unique_id,on_hand[,on_order,lead_time_days,review_days,unit_cost]; an "
             "export's own names (SKU, 库存, 在途, ...) are read and noted.")] = None,
    service_level: Annotated[float | None, typer.Option(
        help="Chance of no stock-out per cycle, e.g. 0.95 (default: from price and cost).")] = None,
    holding_cost: Annotated[float, typer.Option(
        help="Yearly holding cost as a share of unit cost.")] = 0.25,
    cost_share: Annotated[float, typer.Option(help="Unit cost as a share of price when unknown.")] = 0.6,
    run: Annotated[str | None, typer.Option(help="Forecast run id (default the latest).")] = None,
    model: Annotated[str | None, typer.Option(
        help="Model of the run (default the run's representative model when it has quantiles, "
             "else the first with quantiles).")] = None,
    top: Annotated[int, typer.Option(help="Products to show, most urgent first.")] = 20,
    calibrate: Annotated[bool | None, typer.Option(
        "--calibrate/--no-calibrate",
        help="Order-up-to levels calibrated on the stored backtests of the model (default: when "
             "one fits; --calibrate makes a missing one an error).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """What to order now: order-up-to level, reorder point, order quantity and stock-out risk
    per product, from the quantile forecasts of the latest run (levels calibrated on the
    model's backtests when there is one: `trendcast backtest --windows 3 --horizon 28`)."""
    from trendcast.services.inventory import inventory_actions

    if top < 1:
        raise typer.BadParameter("--top takes a number >= 1")
    with _open(db, read_only=True) as store:
        result = inventory_actions(store, run_id=run, model=model, lead_time=lead_time, review=review,
                                   service_level=service_level, holding_cost_rate=holding_cost,
                                   cost_share=cost_share, stock=stock, calibrate=calibrate)
    if as_json:
        print(json.dumps(result.as_dict(top), ensure_ascii=False))
        return
    t = result.table.head(top)
    table = Table(title=f"inventory from run {result.run_id} ({result.model}), most urgent first")
    for col in ("product", "on hand", "stock-out risk", "reorder point", "order up to", "order",
                "demand L+R", "service level", "notes"):
        table.add_column(col, overflow="fold")

    def num(v: object, fmt: str = "{:,.0f}") -> str:
        return "-" if v is None or v != v else fmt.format(v)

    # notes every shown product shares are printed once, below the table
    mixed = t["policy"].nunique() > 1
    split = [[n for n in str(text).split("; ") if n]
             + (["uncalibrated level"] if mixed and p == "nbinom" else [])
             for text, p in zip(t["notes"], t["policy"], strict=True)]
    common = [n for n in split[0] if all(n in s for s in split)] if split else []
    for r, own in zip(t.itertuples(index=False), split, strict=True):
        table.add_row(escape(str(r.unique_id)), num(r.on_hand), num(r.stockout_risk, "{:.0%}"),
                      num(r.reorder_point), num(r.order_up_to), num(r.order_qty),
                      f"{r.demand_mean:,.1f} ± {r.demand_std:,.1f}", f"{r.service_level:.1%}",
                      escape("; ".join(n for n in own if n not in common)))
    _print_table(table)
    if common:
        out.print(escape(f"note: for every product shown: {'; '.join(common)}"))
    for note in result.notes:
        out.print(escape(f"note: {note}"))


def _parse_bounds(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"--bounds takes two factors like 0.8,1.2, got {text!r}") from None
    return lo, hi


@app.command()
def pricing(
    ids: Annotated[list[str] | None, typer.Option("--id", help="Only these products (repeatable).")] = None,
    change: Annotated[float | None, typer.Option(
        help="What-if relative price change, e.g. -0.1 for 10% off.")] = None,
    bounds: Annotated[str, typer.Option(
        help="Lowest,highest suggested price as factors of the current price.")] = "0.8,1.2",
    objective: Annotated[str, typer.Option(
        help="What the suggested price maximises: margin, revenue or units.")] = "margin",
    cost_share: Annotated[float, typer.Option(
        help="Unit cost as a share of the current price, for products without a catalogue "
             "unit_cost.")] = 0.6,
    min_margin: Annotated[float | None, typer.Option(
        help="Lowest (price - cost) / price a suggested price may have, e.g. 0.2.")] = None,
    horizon: Annotated[int, typer.Option(
        help="Days a new price holds: a cut may not sell more than the stock on hand in them.")] = 28,
    top: Annotated[int, typer.Option(
        help="Products to show: suggested changes first, largest gain first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Price elasticity per product (own, shrunk toward its group, or pooled; 95% interval),
    demand, revenue and margin now, after a what-if change, and at the price that maximises the
    objective within the bounds, minimum margin and stock; change or keep, and why."""
    from trendcast.services.pricing import price_report

    if top < 1:
        raise typer.BadParameter("--top takes a number >= 1")
    if objective not in ("margin", "revenue", "units", "profit"):
        raise typer.BadParameter("--objective takes margin, revenue or units")
    with _open(db, read_only=True) as store:
        result = price_report(store, ids=ids, change=change, bounds=_parse_bounds(bounds),
                              objective=objective, cost_share=cost_share, min_margin=min_margin,
                              horizon_days=horizon)
    if as_json:
        print(json.dumps(result.as_dict(top), ensure_ascii=False))
        return
    t = result.table.head(top)
    objective = str(result.assumptions["objective"])
    table = Table(title=f"price elasticity and suggested price (max {objective}, bounds {bounds})")
    cols = ["product", "price", "cost", "units/day", "elasticity (95% CI)", "estimate (own weight)"]
    cols += [f"{change:+.0%}: units, margin"] if change is not None else []
    cols += ["decision", "price to set", "units, revenue, margin /day", "reason"]
    for col in cols:
        table.add_column(col, overflow="fold")

    def num(v: object, fmt: str = "{:,.2f}") -> str:
        return "-" if v is None or v != v else fmt.format(v)

    for r in t.itertuples(index=False):
        row = [escape(str(r.unique_id)), num(r.price), num(r.unit_cost), num(r.base_demand),
               f"{num(r.elasticity)} ({num(r.ci_low)}, {num(r.ci_high)})",
               f"{r.estimate} ({num(r.weight_own)})"]
        if change is not None:
            row.append(f"{num(r.change_demand)}, {num(r.change_margin)}")
        row += [str(r.decision), num(r.suggested_price),
                f"{num(r.suggested_demand)}, {num(r.suggested_revenue)}, {num(r.suggested_margin)}",
                escape(str(r.reason))]
        table.add_row(*row)
    _print_table(table)
    for note in result.notes:
        out.print(escape(f"note: {note}"))


@app.command()
def alerts(
    lang: Annotated[str, typer.Option(help="Language of the reasons: en or zh.")] = "en",
    source: Annotated[str, typer.Option(
        help="Sentiment from star ratings where 80% of reviews have them, else the text (auto), "
             "from the review text (model) or from star ratings (rating).")] = "auto",
    since: Annotated[str | None, typer.Option(help="Only alerts active on or after this date.")] = None,
    threads: Annotated[int, typer.Option(help="Encoder threads.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Negative-sentiment alerts: products whose share of negative reviews jumped, with the
    keywords of the complaints."""
    from trendcast.services.sentiment import alert_reason, sentiment_alerts

    if lang not in ("en", "zh"):
        raise typer.BadParameter("--lang takes en or zh")
    if source not in ("auto", "model", "rating"):
        raise typer.BadParameter("--source takes auto, model or rating")
    # the text model stores its scores for the next run (a short write at the end; the file is
    # not held while the reviews are embedded); stars need no write
    with _open(db, read_only=source == "rating") as store, \
            _progress(not as_json and source != "rating") as progress:
        result = sentiment_alerts(store, source=source, since=since, n_threads=threads,  # type: ignore[arg-type]
                                  progress=progress)
    if as_json:
        print(json.dumps(result.as_dict(lang), default=str, ensure_ascii=False))
        return
    recent = int(result.assumptions.get("recent", 7))
    zh = lang == "zh"
    table = Table(title="负面评价预警" if zh else "negative-sentiment alerts")
    heads = ("商品", "起", "止", "负面", "原因") if zh else ("product", "from", "to", "negative", "reason")
    for col in heads:
        table.add_column(col, overflow="fold")
    for a in result.alerts.to_dict(orient="records"):
        table.add_row(escape(str(a["unique_id"])), f"{a['start']:%Y-%m-%d}", f"{a['end']:%Y-%m-%d}",
                      f"{a['k_recent']}/{a['n_recent']}", escape(alert_reason(a, lang, recent=recent)))
    _print_table(table)
    for note in result.notes:
        out.print(escape(_note_line(note, lang)))


@app.command()
def sentiment(
    product: Annotated[str | None, typer.Option("--id", help="One product (default all).")] = None,
    source: Annotated[str, typer.Option(
        help="Sentiment from the review text (model) or from star ratings (rating).")] = "model",
    top: Annotated[int, typer.Option(help="Products to show, most negative first.")] = 20,
    threads: Annotated[int, typer.Option(help="Encoder threads.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Review sentiment per product: volume, mean sentiment, share negative (all time and last
    28 days) and the keywords of the negative reviews."""
    from trendcast.services.sentiment import product_sentiment

    if source not in ("model", "rating"):
        raise typer.BadParameter("--source takes model or rating")
    if top < 1:
        raise typer.BadParameter("--top takes a number >= 1")
    with _open(db, read_only=source == "rating") as store, \
            _progress(not as_json and source == "model") as progress:
        table_df = product_sentiment(store, unique_id=product, source=source,  # type: ignore[arg-type]
                                     n_threads=threads, progress=progress)
    if as_json:
        frame = table_df.assign(last_review=table_df["last_review"].dt.strftime("%Y-%m-%d"))
        records = json.loads(frame.to_json(orient="records", force_ascii=False))
        print(json.dumps({"products": records, "notes": table_df.attrs.get("notes", [])},
                         ensure_ascii=False))
        return
    table = Table(title="review sentiment" + (
        f" of {product}" if product else ", most negative reviews in the last 28 days first"))
    for col in ("product", "reviews", "sentiment", "negative", "negative 28d", "keywords"):
        table.add_column(col, overflow="fold")
    for r in table_df.head(top).itertuples(index=False):
        share28 = "" if r.neg_share_28d != r.neg_share_28d else f"{r.neg_share_28d:.0%} of {r.reviews_28d}"
        table.add_row(escape(str(r.unique_id)), f"{r.reviews:,}", f"{r.sentiment:.2f}", f"{r.neg_share:.0%}",
                      share28, escape(", ".join(r.keywords)))
    _print_table(table)
    for note in table_df.attrs.get("notes", []):
        out.print(escape(f"note: {note}"))


@contextlib.contextmanager
def _engine(name: str | None, ray_address: str | None, jobs: int) -> Iterator[object]:
    """The engine of --engine / --ray-address (default: settings), released afterwards."""
    from trendcast.engine import make_engine

    settings = _settings()
    engine = make_engine(name or settings.engine, ray_address=ray_address or settings.ray_address,
                         n_jobs=jobs)
    try:
        yield engine
    finally:
        engine.close()


def _print_board(board: object) -> None:
    import pandas as pd

    if not isinstance(board, pd.DataFrame) or board.empty:
        return
    table = Table(title="backtest leaderboard")
    legend = []
    for col in map(str, board.columns):
        if col.startswith("coverage_"):  # short enough for 80 columns, explained below
            level = col.removeprefix("coverage_")
            legend.append(f"cov{level}: share of actual values inside the {level}% interval")
            col = f"cov{level}"
        table.add_column(col)
    for row in board.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    _print_table(table)
    for line in legend:
        out.print(line)


def _optional_from_model(argv: list[str]) -> list[str]:
    """``--from-model`` with no version after it (end of line or another option) means the
    promoted version: typer has no options with an optional value."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--from-model" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            args.insert(i + 1, PROMOTED)
            break
    return args


def _one_line_summaries(*groups: typer.Typer) -> None:
    """The command list of ``--help`` shows each command's first docstring paragraph wrapped
    to the terminal, not broken again where the docstring's source lines end."""
    import inspect

    for group in groups:
        for info in group.registered_commands:
            text = info.help or (info.callback.__doc__ if info.callback else None)
            if info.short_help is None and text:
                info.short_help = " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


_one_line_summaries(app, models_app, keys_app)


def main() -> None:
    """Entry point: typed errors become one line on stderr and exit code 2."""
    try:
        app(args=_optional_from_model(sys.argv[1:]))
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
