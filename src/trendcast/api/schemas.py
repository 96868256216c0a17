"""Request and response bodies of the REST API (separate from the store's tables)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from trendcast.services.forecast import DEFAULT_MODELS, DEFAULT_QUANTILES


def _aware(value: datetime) -> datetime:
    """The store keeps local wall-clock times; the API states their UTC offset (RFC 3339)."""
    return value if value.tzinfo else value.astimezone()


Instant = Annotated[datetime, AfterValidator(_aware)]
Role = Literal["viewer", "analyst", "admin"]
JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class UploadKind(StrEnum):
    sales = "sales"
    products = "products"
    orders = "orders"
    events = "events"
    reviews = "reviews"
    calendar = "calendar"
    macro = "macro"
    stock = "stock"


class UploadFormat(StrEnum):
    taobao = "taobao"
    amazon_reviews = "amazon-reviews"


class Problem(BaseModel):
    """One bad value found by the validator."""

    model_config = ConfigDict(extra="allow")
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | int | float | bool | None = None
    expected: str | None = None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_input.")
    message: str = Field(description="What is wrong and what to do about it.")
    field: str | None = Field(None, description="The parameter or column at fault, when known.")
    problems: list[Problem] | None = Field(None, description="Rows the validator rejected.")
    options: list[str] | None = Field(
        None, description="Uploads: the options (form fields) the message says to set, e.g. "
                          "allow_gaps for a missed export, date_format for day-first dates.")


class ErrorBody(BaseModel):
    """Every 4xx/5xx response has this body."""

    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    schema_version: int


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=300, description="An API key tc_<id>_<secret>.")


class PrincipalOut(BaseModel):
    key_id: str
    role: Role


class TableWrite(BaseModel):
    table: str
    inserted: int = Field(description="Rows new to the table.")
    updated: int = Field(description="Rows whose stored values changed.")
    unchanged: int = Field(description="Rows already stored with the same values.")


class UploadResult(BaseModel):
    file: str
    kind: UploadKind
    rows_read: int
    tables: list[TableWrite]
    notes: list[str] = Field(description="What was detected or changed, in the language asked "
                             "(lang=zh: Chinese).")
    seconds: float
    batch_id: str | None = Field(default=None, description="The batch this upload is; "
                                 "DELETE /api/batches/{batch_id} undoes it.")
    notes_en: list[str] | None = Field(default=None, description="The notes in English when "
                                       "`notes` are in another language (lang=zh).")


def _check_models(models: list[str]) -> list[str]:
    from trendcast.models.registry import MODELS

    known = {m.lower(): m for m in MODELS} | {"auto": "auto"}
    out = []
    for name in models:
        if name.lower() not in known:
            raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}, auto")
        out.append(known[name.lower()])
    if len(set(out)) != len(out):
        raise ValueError(f"models repeat a name: {models}")
    return out


def _check_quantiles(qs: list[float]) -> list[float]:
    bad = [q for q in qs if not 0.0 < q < 1.0]
    if bad:
        raise ValueError(f"quantiles must lie strictly between 0 and 1, got {bad}")
    return qs


class _ModelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    horizon: int | None = Field(None, ge=1, le=1000, description=(
        "Steps to forecast, in periods of the workspace's frequency; default 28 days, 13 weeks, "
        "18 months, 8 quarters or 6 years."))
    models: list[str] = Field(list(DEFAULT_MODELS), min_length=1, max_length=8,
                              description="Registry model names, or 'auto'.")
    quantiles: list[float] = Field(list(DEFAULT_QUANTILES), max_length=19,
                                   description="Quantile levels strictly between 0 and 1.")

    check_models = field_validator("models")(_check_models)
    check_quantiles = field_validator("quantiles")(_check_quantiles)


class _JobIn(_ModelsIn):
    ids: list[str] | None = Field(None, min_length=1, max_length=10_000,
                                  description="Only these series (default all).")


class PlanRowIn(BaseModel):
    """One row of a what-if plan: a product or a category, days, and what is planned."""

    model_config = ConfigDict(extra="forbid")
    unique_id: str | None = Field(None, max_length=200, description="A product (or give category).")
    category: str | None = Field(None, max_length=200, description="Every forecast product of it.")
    start: str = Field(max_length=40, description="First planned day, e.g. 2025-11-11.")
    end: str | None = Field(None, max_length=40, description="Last planned day (default start).")
    price: float | None = Field(None, description="Planned price.")
    discount: float | None = Field(None, description="Percent off the price the forecast assumes.")
    promo: bool | None = Field(None, description="Run a promotion (true) or none (false).")
    event: str | None = Field(None, max_length=200, description="A calendar event name, e.g. Double 11.")

    @model_validator(mode="before")
    @classmethod
    def _as_planners_write(cls, data: Any) -> Any:
        """A planner's names and values as a --scenario file reads them (商品, 开始, 折扣: 9折,
        促销: 是, ``product``, ``sku``)."""
        from trendcast.features.scenario import planner_row

        return planner_row(data) if isinstance(data, dict) else data


class ForecastJobIn(_JobIn):
    """A forecast job: fit each model on the stored sales and forecast ``horizon`` steps.

    With ``scenario`` (a what-if plan) the planned products are also forecast with the plan's
    prices, promotions and events; GET /api/runs/{run_id}/scenario compares the two."""

    scenario: list[PlanRowIn] | None = Field(None, min_length=1, max_length=10_000,
                                            description="A what-if plan (rows as in --scenario).")
    cost_share: float = Field(0.6, ge=0, lt=1, description=(
        "Unit cost / price for products without a catalogue unit_cost (scenario margins)."))
    scenario_response: Literal["elasticity", "model"] = Field("elasticity", description=(
        "How the plan's prices and promotions move the forecast: the baseline times each "
        "product's estimated price response (elasticity) or the model's own response (model)."))
    from_model: str | None = Field(None, min_length=1, max_length=64, description=(
        "Forecast from a saved model version without refitting: a version id from "
        "GET /api/models, or 'promoted'. Its models, and unless given its horizon and "
        "quantiles, are used; leave models, ids and scenario out."))

    @model_validator(mode="after")
    def _from_model_alone(self) -> ForecastJobIn:
        if self.from_model is not None:
            given = [f for f in ("models", "ids", "scenario") if f in self.model_fields_set]
            if given:
                raise ValueError(f"from_model forecasts with the version's own models on every "
                                 f"series it covers; leave out {', '.join(given)}")
        return self


class BacktestJobIn(_JobIn):
    """A rolling-origin backtest job: ``windows`` cutoffs ``step`` steps apart."""

    windows: int = Field(2, ge=1, le=20, description="Rolling-origin windows.")
    step: int | None = Field(None, ge=1, le=1000, description="Steps between cutoffs (default horizon).")


class TrainJobIn(_ModelsIn):
    """A train job: fit ``models`` on every stored series, score them on the last
    ``horizon`` steps and save them as a model version (what `trendcast train` does)."""

    clean: StrictBool = Field(False, description="Fit on cleaned inputs (stock-outs, outliers).")
    validation: StrictBool = Field(True, description=(
        "Score the version on the last horizon (its leaderboard and the baseline of monitoring)."))
    promote: StrictBool | None = Field(None, description=(
        "Promote the new version; default: only when no version is promoted yet."))


class UpdateJobIn(BaseModel):
    """The daily job on what is stored (upload the new files first): score past forecasts,
    refit when ``refit`` says so, forecast from the promoted version (`trendcast update`)."""

    model_config = ConfigDict(extra="forbid")
    refit: Literal["auto", "always", "never"] = Field("auto", description=(
        "auto: when drift alerts, the version's age or new products call for it; a refit is "
        "promoted only if it is not worse on the last horizon."))
    reselect: StrictBool = Field(False, description=(
        "A refit of a 'recommended' version chooses its member again."))
    horizon: int | None = Field(None, ge=1, le=1000, description=(
        "Steps of the version trained when the workspace has none yet; default 28 days, 13 "
        "weeks, 18 months, 8 quarters or 6 years (a promoted version keeps its own)."))


class ModelVersion(BaseModel):
    """A saved model version (what `trendcast models show` prints)."""

    version_id: str
    status: Literal["trained", "promoted", "superseded"] = Field(description=(
        "promoted: what forecasts from_model and the scheduled update use."))
    created_at: Instant
    promoted_at: Instant | None = None
    models: list[str]
    horizon: int | None = None
    freq: str | None = None
    data_start: datetime | None = Field(None, description="First period of the training data.")
    data_end: datetime | None = Field(None, description="Last period of the training data.")
    n_series: int | None = None
    fingerprint: str | None = Field(None, description="Of the training data, to tell it changed.")
    location: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    validation_run: str | None = Field(None, description="The backtest run of its validation "
                                       "(GET /api/runs/{run_id}/leaderboard).")
    settings: dict[str, Any] = Field(description="How it was trained (models' settings, quantiles, "
                                     "frequency, ended-series policy, cleaning).")
    series_known: int = Field(description="Series it was fitted on.")
    packages: dict[str, Any] | None = None
    requires: list[Any] | None = None
    scores: list[dict[str, Any]] | None = Field(None, description="Validation scores per model.")
    loadable: str = Field(description="'yes', or 'no: ...' when the installed packages cannot "
                          "load it faithfully.")
    notes: list[str] | None = None


class ModelVersionPage(BaseModel):
    total: int
    items: list[ModelVersion]


class Job(BaseModel):
    job_id: str
    kind: Literal["forecast", "backtest", "train", "update"]
    status: JobStatus
    params: dict[str, Any]
    progress: float = Field(ge=0.0, le=1.0)
    label: str | None = Field(None, description="What the job is doing, from the service's progress.")
    run_id: str | None = Field(None, description="The stored run, once done (a train job's "
                               "validation run).")
    version_id: str | None = Field(None, description=(
        "A train job's model version, or the version an update job forecast from, once done."))
    error: str | None = None
    key_id: str | None = Field(None, description=(
        "Who started it: an API key id, `cli:<OS user>` (an `update` from a command line or "
        "cron) or `schedule` (`trendcast serve --schedule`)."))
    stale: bool = Field(False, description=(
        "An update still marked running after the update lease expired: the process that ran "
        "it most likely stopped without recording its end."))
    created_at: Instant
    started_at: Instant | None = None
    finished_at: Instant | None = None


class ScenarioRow(BaseModel):
    """Baseline and scenario over the horizon for one model and product (or ``TOTAL``);
    ``_lo``/``_hi`` bound the interval, ``*_change`` is plan / base - 1."""

    model: str
    unique_id: str
    values: dict[str, float | None]


class Scenario(BaseModel):
    run_id: str
    source: str
    models: list[str] = Field(description="Models the plan changes (they take covariates).")
    unchanged: list[str] = Field(description="Models of the run that take no covariates: no scenario.")
    cost_share: float
    plan: list[dict[str, Any]]
    rows: list[ScenarioRow]
    notes: list[str]


class JobPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Job]


class SeriesItem(BaseModel):
    unique_id: str
    title: str | None = None
    category: str | None = None
    rows: int
    start: date
    end: date
    total_sales: float


class SeriesPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SeriesItem]


class Product(BaseModel):
    unique_id: str
    title: str | None = None
    category: str | None = None
    department: str | None = None
    brand: str | None = None
    store: str | None = None
    launch_date: date | None = None
    list_price: float | None = None
    unit_cost: float | None = None


class HistoryPoint(BaseModel):
    ds: date
    y: float
    price: float | None = None
    promo: float | None = None


class SeriesHistory(BaseModel):
    unique_id: str
    product: Product
    history: list[HistoryPoint]


class ChosenModel(BaseModel):
    model: str = Field(description="The model that represents the run in the report, dashboard and API.")
    rule: Literal["backtest", "default", "first"] = Field(
        description="backtest: lowest MASE of the run's models in the newest backtest that scored "
                    "them; default: none scored, the default model; first: the run's first model.")
    reason: str
    backtest_id: str | None = None


class Run(BaseModel):
    run_id: str
    kind: str
    created_at: Instant
    models: list[str]
    horizon: int | None = None
    freq: str | None = None
    quantiles: list[float]
    n_series: int | None = None
    notes: list[str]
    params: dict[str, Any]
    chosen: ChosenModel | None = Field(
        None, description="Forecast runs read one at a time: the model that represents the run.")


class RunPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Run]


class ForecastRow(BaseModel):
    unique_id: str
    ds: date
    cutoff: date | None = Field(None, description="Backtest window cutoff (backtests only).")
    values: dict[str, float | None] = Field(
        description="Column -> value: '<Model>' is the point forecast, '<Model>-q-<level>' a quantile.")


class RunForecasts(BaseModel):
    run: Run
    total_series: int
    limit: int
    offset: int
    items: list[ForecastRow]


class LeaderboardRow(BaseModel):
    model: str
    metrics: dict[str, float | None]


class Leaderboard(BaseModel):
    run: Run
    rows: list[LeaderboardRow] = Field(description="Models, best (lowest MASE) first.")


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str | None = Field(None, max_length=200)


class KeyInfo(BaseModel):
    key_id: str
    name: str | None = None
    role: Role
    created_at: Instant
    revoked_at: Instant | None = None
    active: bool


class KeyCreated(KeyInfo):
    key: str = Field(description="The key itself: shown only now, store it safely.")


class Batch(BaseModel):
    """One ingest or deletion, as `trendcast batches` lists it."""

    batch_id: str
    kind: str = Field(description="The ingest kind (sales, orders, m5, ...) or delete.")
    source: str | None = Field(description="The file, folder or rows it covers.")
    actor: str | None = Field(description="Who: cli:<user> or key:<key id>.")
    created_at: Instant
    tables: list[str]
    rows_added: int
    rows_replaced: int
    rows_deleted: int
    status: Literal["applied", "undone"]
    undone_at: Instant | None = None
    undone_by: str | None = None


class BatchPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Batch]


class UndoOut(BaseModel):
    """What undoing a batch did, per table."""

    batch: Batch
    removed: dict[str, int] = Field(description="Rows the batch had added, now removed.")
    restored: dict[str, int] = Field(description="Rows it had replaced or deleted, now back.")
