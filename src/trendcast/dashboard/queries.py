"""What the pages show, read from the workspace: totals, movers, one product, reviews, runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from trendcast.data.store import Store
from trendcast.errors import NotFoundError
from trendcast.features.frequency import is_coarser
from trendcast.insights.periods import RecentWindow, period_totals, recent_window, window_totals
from trendcast.services import browse, run_choice
from trendcast.services.browse import RunInfo
from trendcast.services.run_choice import RunChoice


@dataclass
class Overview:
    """Headline figures of the workspace."""

    totals: pd.DataFrame  # ds, y: units per period over all products
    units_recent: float  # NaN when the history is shorter than the window
    units_before: float
    n_products: int
    start: pd.Timestamp
    end: pd.Timestamp
    movers: pd.DataFrame  # unique_id, title, category, recent, before, change
    # what the movers' "before" is: the same window a year earlier ("year") when the history
    # reaches back that far, else the window just before ("previous")
    movers_basis: str = "previous"
    window: RecentWindow = field(default_factory=lambda: recent_window("D"))


def has_sales(store: Store) -> bool:
    return store.has_sales()


def workspace_freq(store: Store) -> str:
    """The frequency of the workspace's sales (stored at the first ingest; daily before that)."""
    return str(store.meta("freq") or "D")


def overview(store: Store, *, n_movers: int = 8) -> Overview:
    """Totals per period, the recent window against the one before, and the biggest movers.

    The window is the report's (:func:`trendcast.insights.periods.recent_window`): the last 28
    days of a daily workspace, 4 weeks of a weekly one, the last month or quarter of a monthly
    or quarterly one. Movers compare like with like: the recent window against the same window
    a year earlier (same weekdays, same season: December is not compared with a November sales
    peak) when the history reaches back that far; otherwise against the window before, and
    ``movers_basis`` says which."""
    totals = store.sales_totals()
    if totals.empty:
        raise NotFoundError("the workspace has no sales; upload a sales file first")
    totals["ds"] = pd.to_datetime(totals["ds"])
    freq = workspace_freq(store)
    kpis = window_totals(totals.set_index("ds")["y"], freq)
    bounds = kpis.window.bounds(kpis.end)
    recent_from, before_from = bounds["recent"][0], bounds["before"][0]
    if "year" in bounds and totals["ds"].min() <= bounds["year"][0]:
        year_from, year_last = bounds["year"]
        movers = store.window_sales(recent_from, year_from, year_last + pd.Timedelta(days=1))
        basis = "year"
    else:
        movers, basis = store.window_sales(recent_from, before_from), "previous"
    movers["change"] = movers["recent"] - movers["before"]
    n_products = store.distinct_count("sales", "unique_id")
    return Overview(totals=totals, units_recent=kpis.recent, units_before=kpis.before,
                    n_products=n_products, start=totals["ds"].min(), end=kpis.end,
                    movers=top_movers(movers, n_movers), movers_basis=basis, window=kpis.window)


def top_movers(per: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` largest rises then the ``n`` largest falls in units (ties broken by id)."""
    ordered = per.sort_values(["change", "unique_id"], ascending=[False, True])
    up = ordered[ordered["change"] > 0].head(n).assign(direction="up")
    down = ordered[ordered["change"] < 0].iloc[::-1].head(n).assign(direction="down")
    return pd.concat([up, down], ignore_index=True)


@dataclass
class ProductView:
    """One product: catalogue row, history, and the forecast of a stored run if it covers it."""

    uid: str
    info: dict[str, object]
    history: pd.DataFrame  # ds, y
    run: RunInfo | None = None
    forecast: pd.DataFrame | None = None  # the run's rows for this product
    reviews: pd.DataFrame | None = None
    choice: RunChoice | None = None  # the model that represents the run (run_choice's rule)
    runs: list[RunInfo] = field(default_factory=list)  # every run covering it, newest first
    why_run: str = ""  # why this run is shown (the default) or "as asked"


def product(store: Store, uid: str, *, run_id: str | None = None, n_reviews: int = 10) -> ProductView:
    """Everything the product page needs; ``run_id`` None means the run
    :func:`trendcast.services.run_choice.product_run` picks (the newest covering run with the
    best backtested model, not simply the newest job)."""
    info = store.products([uid])
    history = store.sales([uid], columns=["ds", "y"])
    if info.empty and history.empty:
        raise NotFoundError(f"no product {uid!r} in this workspace; the overview lists products")
    row = info.iloc[0].to_dict() if not info.empty else {"unique_id": uid}
    view = ProductView(uid=uid, info=row, history=history)
    picked = run_choice.product_run(store, uid)
    view.runs = picked.runs
    if run_id is None:
        run_id, view.why_run = picked.run_id, picked.reason
    else:
        view.why_run = "as asked"
    if run_id is not None:
        view.run = browse.get_run(store, run_id)  # NotFoundError for an unknown id
        view.choice = run_choice.representative_model(store, run_id)
        if store.run_covers(run_id, uid):
            view.forecast = browse.run_forecasts(store, run_id, ids=[uid])[2]
            view.history = in_run_periods(view.history, view.run.freq, workspace_freq(store))
    view.reviews = store.latest_reviews(uid, n_reviews)
    return view


def in_run_periods(history: pd.DataFrame, run_freq: str | None, stored_freq: str) -> pd.DataFrame:
    """``history`` (``ds, y`` of the stored periods) summed into the periods of a run at a
    coarser ``run_freq`` (a ``--freq M`` run of daily sales: whole months), so a chart sets
    like against like; as it is otherwise."""
    if not run_freq or history.empty or run_freq == stored_freq or not is_coarser(run_freq, stored_freq):
        return history
    frame = history.assign(unique_id="_")
    frame.attrs["freq"] = stored_freq
    totals = period_totals(frame, run_freq)
    return pd.DataFrame({"ds": totals.index, "y": totals.to_numpy()})


def latest_run_id(store: Store, kind: str = "forecast") -> str | None:
    try:
        return browse.latest_run(store, kind).run_id
    except NotFoundError:
        return None


def forecast_totals(store: Store, run_id: str) -> tuple[str, pd.DataFrame]:
    """Point forecasts of a run's representative model (run_choice's rule) summed over
    products: (model, frame ds, y)."""
    model = run_choice.representative_model(store, run_id).model
    totals = store.forecast_totals(run_id, model)
    return model, totals


def leaderboard(store: Store) -> tuple[RunInfo, pd.DataFrame] | None:
    """The latest backtest and its metrics per model (best MASE first); None when there is none."""
    if latest_run_id(store, "backtest") is None:
        return None
    return browse.leaderboard(store)
