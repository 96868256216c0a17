"""A seeded, realistic simulated online shop: trendcast's built-in demo data.

Demand is built on a products x days grid (all numpy, no per-row loops) as a product of
factors: base level x trend (by class: rising, declining, seasonal, steady, intermittent,
emerging) x weekly x yearly x festivals (618, Double 11 and their pre-sales, Double 12,
Black Friday; a dip over the Spring Festival period) x price effect
``(price / list_price) ** elasticity`` x promo uplift x quality-incident dip x a mild macro
effect. Units are negative-binomial draws (Poisson with gamma noise); stock-out runs force
zeros. For the last ``behaviour_days`` the units are split into timestamped orders, and
views/carts/favourites are generated mostly before each purchase, plus browsing that does not
convert. Reviews follow sales; ratings and template texts (Chinese and English) depend on
product quality and drop during incidents. Each product has a unit cost (40-75% of its list
price) in the catalogue. ``ShopData.truth`` keeps the generator's
parameters so models can be checked against what is really in the data.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from trendcast.data.calendar import festival_calendar
from trendcast.errors import DataValidationError
from trendcast.schema import EVENT_TYPES

TREND_CLASSES = ("rising", "declining", "seasonal", "steady", "intermittent", "emerging")
# Cycled then shuffled, so every class appears once n_products >= 6 (shares 3:3:3:3:2:2).
_CLASS_PATTERN = TREND_CLASSES + ("rising", "declining", "seasonal", "steady") * 2 + (
    "intermittent", "emerging")
_WEEK_SHAPE = np.array([-0.35, -0.4, -0.3, -0.15, 0.1, 1.0, 0.8])  # Mon..Sun, weekend high
_HOUR_WEIGHTS = np.array([2, 1, .5, .3, .3, .5, 1, 2, 3, 4, 5, 5, 5, 4, 4, 4, 4, 4, 5, 6, 8, 9,
                          7, 4], dtype=float)
_HOUR_WEIGHTS /= _HOUR_WEIGHTS.sum()
# Festival multipliers on expected demand (before each product's sensitivity).
_FESTIVAL_LIFT = {"Double 11": 4.0, "618": 3.0, "Double 12": 1.6, "Black Friday": 1.3,
                  "Cyber Monday": 1.2, "Double 11 presale": 1.35, "618 presale": 1.25,
                  "Spring Festival period": 0.45}
# Share of products running a promotion on that day.
_FESTIVAL_PROMO = {"Double 11": 0.8, "618": 0.8, "Double 12": 0.5, "Black Friday": 0.5,
                   "Cyber Monday": 0.5, "Double 11 presale": 0.3, "618 presale": 0.3}
_NS_PER_S = 1_000_000_000
_DAY_NS = 86_400 * _NS_PER_S


class _Category(NamedTuple):
    name: str
    peak_day: int  # day of year the yearly cycle peaks
    price: tuple[float, float]
    departments: dict[str, tuple[tuple[str, str], ...]]  # department -> (zh, en) items
    brands: tuple[str, ...]
    variants: tuple[str, ...]
    aspects: tuple[tuple[str, str], ...]  # (zh, en) words reviews talk about
    defects: tuple[tuple[str, str], ...]  # (zh, en) complaints during quality incidents


_CATEGORIES = (
    _Category("Electronics", 340, (39, 1299), {
        "Audio": (("蓝牙耳机", "Wireless Earbuds"), ("智能音箱", "Smart Speaker")),
        "Accessories": (("充电宝", "Power Bank"), ("数据线", "USB-C Cable"),
                        ("手机壳", "Phone Case")),
        "Smart Home": (("智能灯泡", "Smart Bulb"), ("摄像头", "Home Camera"))},
        ("Aurora", "Voltix", "Nimbus", "Kestrel"), ("Pro", "Lite", "Max", "2024 Edition"),
        (("音质", "sound"), ("电池", "battery"), ("做工", "build quality"), ("连接", "connection")),
        (("充不进电", "it stopped charging"), ("有杂音", "there is a crackling noise"),
         ("老是断连", "it keeps disconnecting"))),
    _Category("Apparel", 355, (49, 899), {
        "Outerwear": (("羽绒服", "Down Jacket"), ("风衣", "Trench Coat")),
        "Tops": (("卫衣", "Hoodie"), ("T恤", "T-Shirt"), ("衬衫", "Shirt")),
        "Bottoms": (("牛仔裤", "Jeans"), ("运动裤", "Joggers"))},
        ("Linea", "Maple&Co", "Urbano", "Yunshang"), ("M", "L", "XL", "Oversize"),
        (("面料", "fabric"), ("尺码", "sizing"), ("版型", "fit"), ("颜色", "colour")),
        (("洗一次就掉色", "the colour bleeds"), ("开线了", "the seams came apart"),
         ("起球严重", "it pills after one wash"))),
    _Category("Beauty", 140, (29, 599), {
        "Skincare": (("面霜", "Face Cream"), ("精华液", "Serum"), ("面膜", "Sheet Mask")),
        "Makeup": (("口红", "Lipstick"), ("粉底液", "Foundation")),
        "Fragrance": (("香水", "Perfume"),)},
        ("Lumi", "Florae", "Seren", "Jadeleaf"),
        ("Classic", "Travel Size", "Limited Edition", "Gift Set"),
        (("质地", "texture"), ("味道", "scent"), ("保湿", "hydration"), ("包装", "packaging")),
        (("用了过敏", "it gave me a rash"), ("瓶子漏液", "the bottle leaked"),
         ("疑似假货", "it looks fake"))),
    _Category("Home", 274, (19, 699), {
        "Kitchen": (("保温杯", "Thermos Cup"), ("不粘锅", "Non-stick Pan"),
                    ("电饭煲", "Rice Cooker")),
        "Bedding": (("四件套", "Bedding Set"), ("记忆枕", "Memory Pillow")),
        "Storage": (("收纳盒", "Storage Box"),)},
        ("Aurora", "Hearthly", "Mujin", "Casa Verde"), ("Classic", "Large", "Twin Pack", "Grey"),
        (("材质", "material"), ("容量", "capacity"), ("做工", "finish"), ("清洗", "cleaning")),
        (("漏水", "it leaks"), ("涂层脱落", "the coating peeled off"),
         ("有刺鼻异味", "it has a strong chemical smell"))),
    _Category("Food", 255, (9, 199), {
        "Snacks": (("坚果礼盒", "Nut Gift Box"), ("牛肉干", "Beef Jerky"), ("饼干", "Biscuits")),
        "Drinks": (("绿茶", "Green Tea"), ("咖啡豆", "Coffee Beans")),
        "Pantry": (("橄榄油", "Olive Oil"), ("挂面", "Noodles"))},
        ("Golden Field", "Shanlin", "Harvest Moon", "Xiaoman"), ("250g", "500g", "1kg", "6 x 200g"),
        (("口感", "taste"), ("新鲜度", "freshness"), ("分量", "portion size"),
         ("包装", "packaging")),
        (("临近过期", "it was past its date"), ("受潮了", "it arrived damp"),
         ("味道不对", "it tasted off"))),
    _Category("Toys", 152, (19, 499), {
        "Building": (("积木", "Building Blocks"), ("拼图", "Jigsaw Puzzle")),
        "Plush": (("毛绒玩具", "Plush Toy"),),
        "Educational": (("编程机器人", "Coding Robot"), ("绘画板", "Drawing Tablet"))},
        ("Bricko", "Pandai", "Wonderkit", "Tinytown"), ("Mini", "Deluxe", "Classic", "Gift Box"),
        (("做工", "build quality"), ("趣味性", "fun factor"), ("安全性", "safety"),
         ("说明书", "manual")),
        (("零件缺失", "pieces were missing"), ("边缘有毛刺", "it has sharp edges"),
         ("一碰就坏", "it broke immediately"))),
    _Category("Sports", 191, (19, 899), {
        "Fitness": (("瑜伽垫", "Yoga Mat"), ("哑铃", "Dumbbell Set"), ("跳绳", "Jump Rope")),
        "Outdoor": (("帐篷", "Camping Tent"), ("登山包", "Hiking Backpack")),
        "Cycling": (("骑行头盔", "Cycling Helmet"),)},
        ("Kestrel", "Summit", "Velo", "Tianxing"), ("Pro", "Lite", "Classic", "Plus"),
        (("材质", "material"), ("防滑", "grip"), ("重量", "weight"), ("耐用性", "durability")),
        (("用了几次就开裂", "it cracked after a few uses"), ("橡胶味很重", "it smells of rubber"),
         ("拉链坏了", "the zip broke"))),
    _Category("Books", 244, (9, 129), {
        "Fiction": (("小说", "Novel"), ("科幻小说", "Sci-Fi Novel")),
        "Children": (("绘本", "Picture Book"),),
        "Education": (("英语词汇书", "Vocabulary Book"), ("编程入门", "Programming Primer"))},
        ("Inkwell", "Qingshu", "Pageturner", "Beacon Press"),
        ("Paperback", "Hardcover", "Vol. 1", "2nd Ed."),
        (("印刷", "print quality"), ("内容", "content"), ("纸张", "paper"),
         ("翻译", "translation")),
        (("缺页", "pages were missing"), ("是盗版", "it is a pirated copy"),
         ("印刷模糊", "the print is blurry"))),
)

_WORDS = {  # adjectives by language
    ("zh", "good"): ("很棒", "非常好", "不错", "很满意", "超赞"),
    ("zh", "bad"): ("很差", "太差了", "让人失望", "不行", "一般般"),
    ("en", "good"): ("excellent", "great", "really good", "amazing", "solid"),
    ("en", "bad"): ("poor", "awful", "disappointing", "bad", "mediocre"),
}
_TEMPLATES = {
    ("zh", "positive"): ("{item}很好用，{aspect}{good}，会回购！",
                         "第二次买了，{aspect}一如既往地{good}。",
                         "物流很快，{item}的{aspect}{good}，推荐。",
                         "性价比很高，{aspect}超出预期。",
                         "{brand}家的{item}一直{good}，{aspect}没得说。"),
    ("zh", "negative"): ("{item}质量太差，{defect}，已退货。",
                         "{aspect}{bad}，而且{defect}，差评。",
                         "用了两天就{defect}，客服也不回复。",
                         "非常失望，{brand}的{item}{defect}。",
                         "和描述不符，{aspect}{bad}。"),
    ("zh", "neutral"): ("{item}收到了，还没怎么用。", "{aspect}一般，中规中矩吧。",
                        "包装完好，{item}和图片一样。", "还行吧，{aspect}没什么特别的。"),
    ("zh", "mixed"): ("{aspect}{good}，但是{defect}。", "价格便宜，可惜{aspect}{bad}。",
                      "{item}外观好看，{aspect}有点{bad}，看后续吧。",
                      "说不上好也说不上坏，{aspect}还可以。"),
    ("en", "positive"): ("Love this {item}! The {aspect} is {good}.",
                         "Second time buying, the {aspect} is {good} as always.",
                         "Fast delivery and the {aspect} is {good}. Recommended.",
                         "Great value for money, the {aspect} exceeded my expectations.",
                         "{brand} never disappoints, this {item} is {good}."),
    ("en", "negative"): ("Terrible {item}: {defect}. Returned it.",
                         "The {aspect} is {bad} and {defect}. Avoid.",
                         "After two days {defect}, and support never replied.",
                         "Very disappointed with this {brand} {item}, {defect}.",
                         "Not as described, the {aspect} is {bad}."),
    ("en", "neutral"): ("Received the {item}, haven't used it much yet.",
                        "The {aspect} is okay, nothing special.",
                        "Arrived on time, looks like the pictures.",
                        "It's fine I guess. The {aspect} is average."),
    ("en", "mixed"): ("The {aspect} is {good}, but {defect}.", "Cheap, but the {aspect} is {bad}.",
                      "Nice looking {item}, though the {aspect} is a bit {bad}. We'll see.",
                      "Not great, not terrible. The {aspect} is okay I suppose."),
}
_SENTIMENTS = ("positive", "neutral", "mixed", "negative")
# P(sentiment | rating 1..5): mostly consistent, with some ambiguous texts on purpose.
_SENTIMENT_BY_RATING = np.array([[0, 0, .05, .95], [0, .05, .2, .75], [.05, .45, .4, .1],
                                 [.8, .1, .1, 0], [.93, .05, .02, 0]])


@dataclass(frozen=True, eq=False)
class ShopTruth:
    """Parameters the generator used: products, quality incidents and stock-out days (with
    the units each hid, ``demand``, and their expected value, ``expected``)."""

    products: pd.DataFrame
    incidents: pd.DataFrame
    stockouts: pd.DataFrame
    # expected demand of the `plan` cells (unique_id, ds, price, promo, expected); empty without one
    planned: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)  # eq=False: comparing DataFrames with == is ambiguous
class ShopData:
    """Every table of a simulated shop (see the module docstring for how it is made)."""

    products: pd.DataFrame
    sales: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    reviews: pd.DataFrame
    calendar: pd.DataFrame
    macro: pd.DataFrame
    truth: ShopTruth


def simulate_shop(
    *,
    n_products: int = 240,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    n_users: int = 2000,
    behaviour_days: int = 90,
    seed: int = 7,
    plan: pd.DataFrame | None = None,
) -> ShopData:
    """Simulate a shop's catalogue, daily sales, orders, events, reviews and context.

    Args:
        n_products: Number of products (ids "P0001", ...).
        start: First day of sales.
        end: Last day of sales (inclusive).
        n_users: Number of users placing orders and browsing.
        behaviour_days: Orders and events cover the last this-many days.
        seed: Seed; the same seed gives identical frames.
        plan: ``unique_id, ds, price, promo`` cells whose price and promotion replace the
            generated ones before demand is computed (a what-if: every other factor of demand
            is unchanged; unit draws may differ); their expected demand is kept in
            ``truth.planned``.

    Returns:
        A frozen ``ShopData``.
    """
    if n_products < 1 or n_users < 1 or behaviour_days < 1:
        raise ValueError("n_products, n_users and behaviour_days must all be >= 1; "
                         f"got {n_products}, {n_users}, {behaviour_days}.")
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if first > last:
        raise DataValidationError(f"simulate_shop: start {first.date()} is after end "
                                  f"{last.date()}; pass start <= end.")
    dates = pd.date_range(first, last, freq="D")
    # One independent stream per component, so changing one part leaves the others' draws alone.
    # (spawning more streams leaves the first ones' draws unchanged)
    rng = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(10)]
    # the shop's calendar runs a year past its sales, so forecasts know the festivals ahead
    calendar = festival_calendar(first, last + pd.DateOffset(years=1))
    cat = _catalogue(rng[0], n_products, dates)
    # unit cost: 40-75% of the list price, so the margin-maximising price differs by product
    cat.frame["unit_cost"] = np.round(cat.list_price * rng[9].uniform(0.4, 0.75, n_products), 2)
    par = _parameters(rng[1], cat)
    macro, confidence = _macro(rng[2], dates)
    fest_log, fest_promo = _festival_effects(calendar, dates)
    price, promo = _prices(rng[3], cat, fest_promo)
    cells = None
    if plan is not None:
        cells = _plan_cells(plan, cat, dates)
        price[cells] = plan["price"].to_numpy(dtype=float)
        promo = promo.astype(float)
        promo[cells] = plan["promo"].to_numpy(dtype=float)
    incidents, incident = _incidents(rng[4], cat, par, dates)
    lam = _expected_demand(cat, par, dates, fest_log, price, promo, incident, confidence)
    y, stockouts = _sample_units(rng[5], lam, cat, par, dates)
    active = np.arange(len(dates))[None, :] >= cat.first[:, None]
    p_idx, t_idx = np.nonzero(active)
    sales = pd.DataFrame({"unique_id": cat.ids[p_idx], "ds": dates.values[t_idx],
                          "y": y[p_idx, t_idx].astype(float), "price": price[p_idx, t_idx],
                          "promo": promo[p_idx, t_idx].astype(float)})
    w0 = max(len(dates) - behaviour_days, 0)
    orders, order_cells = _orders(rng[6], y, price, cat, dates, w0, n_users)
    events = _events(rng[7], order_cells, y, active, cat, dates, w0, n_users)
    reviews = _reviews(rng[8], y, incident, cat, par, dates)
    planned = pd.DataFrame({"unique_id": pd.Series(dtype=object), "ds": pd.Series(dtype="datetime64[ns]"),
                            "price": pd.Series(dtype=float), "promo": pd.Series(dtype=float),
                            "expected": pd.Series(dtype=float)})
    if plan is not None and cells is not None:
        planned = plan[["unique_id", "ds", "price", "promo"]].reset_index(drop=True).assign(
            expected=lam[cells])
    truth = ShopTruth(par.frame, incidents, stockouts, planned)
    return ShopData(cat.frame, sales, orders, events, reviews, calendar, macro, truth)


def _plan_cells(plan: pd.DataFrame, cat: _Catalogue, dates: pd.DatetimeIndex
                ) -> tuple[np.ndarray, np.ndarray]:
    rows = pd.Index(cat.ids).get_indexer(plan["unique_id"].astype(str))
    cols = dates.get_indexer(pd.to_datetime(plan["ds"]))
    if (rows < 0).any() or (cols < 0).any():
        raise DataValidationError("simulate_shop: plan names products or days outside the shop "
                                  f"({int((rows < 0).sum())} unknown products, {int((cols < 0).sum())} days)")
    return rows, cols


class _Catalogue(NamedTuple):
    frame: pd.DataFrame
    ids: np.ndarray  # object array of product ids
    classes: np.ndarray
    cat_idx: np.ndarray
    items: np.ndarray  # (n, 2) zh/en item nouns
    brands: np.ndarray
    first: np.ndarray  # index of the first day with sales rows
    new_launch: np.ndarray  # launched inside the period: ramps up (emerging: growth does it)
    list_price: np.ndarray


class _Params(NamedTuple):
    frame: pd.DataFrame
    base: np.ndarray
    growth: np.ndarray
    elasticity: np.ndarray
    weekly: np.ndarray
    yearly: np.ndarray
    peak: np.ndarray
    sensitivity: np.ndarray
    dispersion: np.ndarray
    quality: np.ndarray


def _catalogue(rng: np.random.Generator, n: int, dates: pd.DatetimeIndex) -> _Catalogue:
    n_days = len(dates)
    classes = rng.permutation(np.resize(np.array(_CLASS_PATTERN, dtype=object), n))
    cat_idx = rng.permutation(np.resize(np.arange(len(_CATEGORIES)), n))
    # Launch offsets in days from the first date: most products already exist, some launch in
    # the first part of the period, declining ones are old, emerging ones are recent.
    old = -rng.integers(30, 1000, n)
    recent = (rng.uniform(0, 0.6, n) * n_days).astype(int)
    offset = np.where(rng.random(n) < 0.75, old, recent)
    offset = np.where((classes == "rising") & (offset > 0), recent * 2 // 3, offset)
    offset = np.where(classes == "declining", old, offset)
    emerging = np.clip(n_days - 1 - rng.integers(150, 271, n), 0, n_days - 1)
    offset = np.where(classes == "emerging", emerging, offset)
    rows, items, brands = [], [], []
    for i in range(n):  # one pass over products (not rows) to draw readable names
        c = _CATEGORIES[cat_idx[i]]
        dept = list(c.departments)[rng.integers(len(c.departments))]
        zh, en = c.departments[dept][rng.integers(len(c.departments[dept]))]
        brand = c.brands[rng.integers(len(c.brands))]
        variant = c.variants[rng.integers(len(c.variants))]
        rows.append((f"{brand} {zh} {en} {variant}", c.name, dept, brand))
        items.append((zh, en))
        brands.append(brand)
    lo, hi = (np.array([_CATEGORIES[k].price[j] for k in cat_idx]) for j in (0, 1))
    list_price = np.ceil(np.exp(rng.uniform(np.log(lo), np.log(hi)))) - 0.1
    ids = np.array([f"P{i + 1:0{max(4, len(str(n)))}d}" for i in range(n)], dtype=object)
    frame = pd.DataFrame(rows, columns=["title", "category", "department", "brand"])
    frame.insert(0, "unique_id", ids)
    frame["store"] = "online"
    frame["launch_date"] = (dates[0] + pd.to_timedelta(offset, unit="D")).astype("datetime64[ns]")
    frame["list_price"] = list_price
    return _Catalogue(frame, ids, classes, cat_idx, np.array(items, dtype=object),
                      np.array(brands, dtype=object), np.maximum(offset, 0),
                      (offset > 0) & (classes != "emerging"),
                      list_price)


def _parameters(rng: np.random.Generator, cat: _Catalogue) -> _Params:
    n, cls = len(cat.ids), cat.classes
    u = rng.random(n)
    growth = np.select(
        [cls == "rising", cls == "declining", cls == "emerging", cls == "seasonal"],
        [0.3 + 0.5 * u, -0.3 - 0.25 * u, 8.0 + 12.0 * u, -0.05 + 0.15 * u], -0.04 + 0.08 * u)
    median = np.select([cls == "rising", cls == "declining", cls == "emerging",
                        cls == "seasonal"], [2.0, 5.0, 0.6, 2.5], 3.0)
    base = np.where(cls == "intermittent", rng.uniform(0.05, 0.35, n),
                    median * rng.lognormal(0.0, 0.6, n))
    yearly = np.where(cls == "seasonal", rng.uniform(0.7, 1.1, n), rng.uniform(0.0, 0.15, n))
    elasticity = rng.uniform(-2.5, -0.5, n)
    weekly = rng.uniform(0.1, 0.35, n)
    frame = pd.DataFrame({"unique_id": cat.ids, "trend_class": cls.astype(object),
                          "elasticity": elasticity, "base_demand": base,
                          "weekly_amplitude": weekly, "yearly_amplitude": yearly,
                          "growth_rate": growth})
    return _Params(
        frame, base, growth, elasticity, weekly, yearly,
        peak=np.array([_CATEGORIES[k].peak_day for k in cat.cat_idx]) + rng.normal(0, 12, n),
        sensitivity=rng.uniform(0.6, 1.3, n),
        dispersion=np.where(cls == "intermittent", rng.uniform(0.8, 2, n), rng.uniform(4, 15, n)),
        quality=rng.normal(0, 1, n))


def _macro(rng: np.random.Generator, dates: pd.DatetimeIndex) -> tuple[pd.DataFrame, np.ndarray]:
    months = pd.date_range(dates[0].to_period("M").to_timestamp(), dates[-1], freq="MS")
    m = len(months)
    shocks = rng.normal(0, [[1.5], [0.2]], (2, m))
    level = np.zeros((2, m))
    for k in range(1, m):  # mean-reverting random walks; months, not rows
        level[:, k] = np.array([0.9, 0.85]) * level[:, k - 1] + shocks[:, k]
    confidence, cpi = np.round(100 + level[0], 2), np.round(1.5 + level[1], 2)
    macro = pd.DataFrame({"name": np.repeat(["consumer_confidence", "cpi_yoy"], m),
                          "ds": np.tile(months.values, 2), "value": np.r_[confidence, cpi]})
    month_of_day = (dates.year - months[0].year) * 12 + dates.month - months[0].month
    return macro, confidence[month_of_day]


def _festival_effects(calendar: pd.DataFrame, dates: pd.DatetimeIndex
                      ) -> tuple[np.ndarray, np.ndarray]:
    rows = calendar[(calendar["source"] == "trendcast") & calendar["ds"].isin(dates)]
    day = dates.get_indexer(rows["ds"])
    lift = np.zeros(len(dates))
    np.add.at(lift, day, np.log(rows["name"].map(_FESTIVAL_LIFT).fillna(1.0).to_numpy()))
    promo = np.zeros(len(dates))
    np.maximum.at(promo, day, rows["name"].map(_FESTIVAL_PROMO).fillna(0.0).to_numpy())
    return lift, promo


def _prices(rng: np.random.Generator, cat: _Catalogue, fest_promo: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    n, n_days, k = len(cat.ids), len(fest_promo), 4
    days = np.arange(n_days)
    # A few permanent price changes per product, so elasticity is identifiable off-promo too.
    span = n_days - cat.first
    at = cat.first[:, None] + (rng.uniform(0.05, 0.95, (n, k)) * span[:, None]).astype(int)
    # About one change a year (at least one once a product has sold for a year), at most k.
    n_changes = np.clip(rng.poisson(1.2 * span / 365), (span >= 365).astype(int), k)
    log_step = np.log(rng.uniform(0.85, 1.15, (n, k))) * (np.arange(k) < n_changes[:, None])
    log_level = ((days[None, None, :] >= at[:, :, None]) * log_step[:, :, None]).sum(axis=1)
    regular = np.round(cat.list_price[:, None] * np.exp(log_level), 1)
    # Promotions: most products on the big festival days, plus short random runs.
    starts = rng.random((n, n_days)) < rng.uniform(0.01, 0.03, n)[:, None]
    length = rng.integers(1, 5, n)[:, None]
    promo = starts.copy()
    for lag in range(1, 4):
        promo[:, lag:] |= starts[:, :-lag] & (length > lag)
    promo |= rng.random((n, n_days)) < fest_promo[None, :]
    discount = rng.uniform(0.1, 0.3, (n, n_days))
    return np.round(regular * (1 - discount * promo), 2), promo


def _incidents(rng: np.random.Generator, cat: _Catalogue, par: _Params, dates: pd.DatetimeIndex
               ) -> tuple[pd.DataFrame, np.ndarray]:
    n, n_days = len(cat.ids), len(dates)
    shape = np.zeros((n, n_days))
    candidates = np.flatnonzero((cat.classes != "intermittent") & (n_days - cat.first >= 60))
    count = min(len(candidates), max(3, round(0.05 * n)))
    if count == 0:
        return pd.DataFrame({"unique_id": pd.Series(dtype=object),
                             "start": pd.Series(dtype="datetime64[ns]"),
                             "end": pd.Series(dtype="datetime64[ns]"),
                             "severity": pd.Series(dtype=float)}), shape
    # Busier products get incidents more often (and they are the ones people review).
    weight = par.base[candidates] / par.base[candidates].sum()
    chosen = np.sort(rng.choice(candidates, count, replace=False, p=weight))
    span = n_days - cat.first[chosen]
    begin = cat.first[chosen] + 10 + (rng.random(count) * (span - 40)).astype(int)
    finish = np.minimum(begin + rng.integers(7, 31, count) - 1, n_days - 1)
    severity = rng.uniform(0.35, 0.8, count)
    recovery = rng.uniform(10, 30, count)[:, None]  # days; demand and ratings recover over weeks
    d = np.arange(n_days)[None, :]
    during = (d >= begin[:, None]) & (d <= finish[:, None])
    after = np.exp(-np.clip(d - finish[:, None], 0, None) / recovery) * (d > finish[:, None])
    shape[chosen] = severity[:, None] * (during + after)
    frame = pd.DataFrame({"unique_id": cat.ids[chosen], "start": dates.values[begin],
                          "end": dates.values[finish], "severity": severity})
    return frame, shape


def _expected_demand(cat: _Catalogue, par: _Params, dates: pd.DatetimeIndex, fest_log: np.ndarray,
                     price: np.ndarray, promo: np.ndarray, incident: np.ndarray,
                     confidence: np.ndarray) -> np.ndarray:
    age = np.arange(len(dates))[None, :] - cat.first[:, None]
    trend = (1 + par.growth[:, None]) ** (np.clip(age, 0, None) / 365.25)
    ramp = np.where(cat.new_launch[:, None], 1 - 0.7 * np.exp(-np.clip(age, 0, None) / 14), 1.0)
    weekly = 1 + par.weekly[:, None] * _WEEK_SHAPE[dates.dayofweek.to_numpy()][None, :]
    phase = 2 * np.pi * (dates.dayofyear.to_numpy()[None, :] - par.peak[:, None]) / 365.25
    yearly = np.exp(par.yearly[:, None] * np.cos(phase))
    festival = np.exp(par.sensitivity[:, None] * fest_log[None, :])
    price_effect = (price / cat.list_price[:, None]) ** par.elasticity[:, None]
    promo_uplift = np.exp(0.1 * promo)  # beyond the price cut: banners, attention
    macro = np.exp(0.02 * (confidence - 100))[None, :]
    lam = (par.base[:, None] * trend * ramp * weekly * yearly * festival * price_effect
           * promo_uplift * (1 - incident) * macro)
    return np.where(age >= 0, lam, 0.0)


def _sample_units(rng: np.random.Generator, lam: np.ndarray, cat: _Catalogue, par: _Params,
                  dates: pd.DatetimeIndex) -> tuple[np.ndarray, pd.DataFrame]:
    k = par.dispersion[:, None]
    y = rng.poisson(lam * rng.gamma(k, 1 / k, lam.shape))  # negative binomial
    n, n_days = lam.shape
    out = np.zeros_like(y, dtype=bool)
    candidates = np.flatnonzero((cat.classes != "intermittent") & (n_days - cat.first >= 30))
    count = min(len(candidates), max(1, round(0.05 * n)))
    for p in rng.choice(candidates, count, replace=False) if count else []:
        for _ in range(rng.integers(1, 4)):  # a few runs per chosen product
            length = int(rng.integers(3, 15))
            begin = int(rng.integers(cat.first[p], n_days - length))
            out[p, begin:begin + length] = True
    p_idx, t_idx = np.nonzero(out)
    # what the stock-out hid: the units that would have sold, and their expected value
    stockouts = pd.DataFrame({"unique_id": cat.ids[p_idx], "ds": dates.values[t_idx],
                              "demand": y[p_idx, t_idx].astype(float),
                              "expected": np.round(lam[p_idx, t_idx], 4)})
    y[out] = 0
    return y, stockouts


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = rng.choice(24, n, p=_HOUR_WEIGHTS)
    return (hour * 3600 + rng.integers(0, 3600, n)) * _NS_PER_S


def _user_ids(n_users: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([f"U{i:0{max(5, len(str(n_users)))}d}" for i in range(1, n_users + 1)],
                   dtype=object)
    weight = 1 / (np.arange(n_users) + 5.0) ** 0.9  # a few heavy buyers, a long tail
    return ids, weight / weight.sum()


def _orders(rng: np.random.Generator, y: np.ndarray, price: np.ndarray, cat: _Catalogue,
            dates: pd.DatetimeIndex, w0: int, n_users: int) -> tuple[pd.DataFrame, np.ndarray]:
    window = y[:, w0:]
    p_idx, t_rel = np.nonzero(window)
    units = window[p_idx, t_rel]
    cell_of_unit = np.repeat(np.arange(len(units)), units)
    # Each unit starts a new order with p=0.75, and the first unit of a product-day always does:
    # order sizes are geometric and sum exactly to the day's units.
    new = rng.random(len(cell_of_unit)) < 0.75
    new[np.cumsum(units) - units] = True
    quantity = np.bincount(np.cumsum(new) - 1).astype(float)
    cell = cell_of_unit[new]
    prod, day = p_idx[cell], w0 + t_rel[cell]
    ts = dates.values[day].astype("int64") + _time_of_day(rng, len(cell))
    users, weight = _user_ids(n_users)
    user = rng.choice(n_users, len(cell), p=weight)
    # Events are keyed by (user, item, type, ts): move the rare same-second repeat order of a
    # user and item by a second or two, towards midday so it stays on its day.
    repeat = pd.DataFrame({"u": user, "p": prod, "t": ts}).groupby(
        ["u", "p", "t"], sort=False).cumcount().to_numpy()
    morning = ts - dates.values[day].astype("int64") < 12 * 3600 * _NS_PER_S
    ts = ts + np.where(morning, repeat, -repeat) * _NS_PER_S
    order = np.lexsort((prod, ts))
    prod, day, ts, user, quantity = prod[order], day[order], ts[order], user[order], quantity[order]
    frame = pd.DataFrame({
        "order_id": "O" + pd.Series(np.arange(1, len(ts) + 1)).astype(str).str.zfill(8),
        "unique_id": cat.ids[prod], "user_id": users[user], "ts": ts.astype("datetime64[ns]"),
        "quantity": quantity, "unit_price": price[prod, day]})
    return frame, np.column_stack([prod, user, ts])


def _events(rng: np.random.Generator, cells: np.ndarray, y: np.ndarray, active: np.ndarray,
            cat: _Catalogue, dates: pd.DatetimeIndex, w0: int, n_users: int) -> pd.DataFrame:
    prod, user, ts = cells[:, 0], cells[:, 1], cells[:, 2]  # one row per order
    n = len(ts)
    parts = [(prod, user, ts, 3)]  # event code 3 = buy, one per order
    # Views lead purchases: half in the same session (minutes), half days before.
    views = np.repeat(np.arange(n), 1 + rng.poisson(0.8, n))
    lag = np.where(rng.random(len(views)) < 0.45, rng.exponential(900, len(views)),
                   rng.exponential(2 * 86400, len(views))) + 30
    parts.append((prod[views], user[views], ts[views] - (lag * _NS_PER_S).astype(np.int64), 0))
    cart = np.flatnonzero(rng.random(n) < 0.4)
    lag = rng.exponential(1200, len(cart)) + 10
    parts.append((prod[cart], user[cart], ts[cart] - (lag * _NS_PER_S).astype(np.int64), 1))
    fav = np.flatnonzero(rng.random(n) < 0.12)
    lag = rng.exponential(1.5 * 86400, len(fav)) + 60
    parts.append((prod[fav], user[fav], ts[fav] - (lag * _NS_PER_S).astype(np.int64), 2))
    # Browsing that does not convert, drawn around (mostly before) busy product-days so
    # aggregate views lead aggregate sales.
    weight = (y[:, w0:] + 0.3 * active[:, w0:]).ravel().astype(float)
    n_browse = int(0.8 * n) + 1
    pick = rng.choice(weight.size, n_browse, p=weight / weight.sum())
    b_prod, b_day = np.divmod(pick, y.shape[1] - w0)
    b_day = w0 + b_day - (rng.geometric(0.4, n_browse) - 1)
    b_ts = dates.values[np.clip(b_day, 0, None)].astype("int64") + _time_of_day(rng, n_browse)
    lo = dates.values[w0].astype("int64")
    b_ts = np.where(b_day < 0, lo - 10 * _DAY_NS, b_ts)  # fell before day 0: dropped below
    _, weight_u = _user_ids(n_users)
    b_user = rng.choice(n_users, n_browse, p=weight_u)
    parts.append((b_prod, b_user, b_ts, 0))
    for code, share in ((1, 0.08), (2, 0.04)):  # abandoned carts, favourites never bought
        sub = np.flatnonzero(rng.random(n_browse) < share)
        later = (rng.exponential(300, len(sub)) + 5) * _NS_PER_S
        parts.append((b_prod[sub], b_user[sub], b_ts[sub] + later.astype(np.int64), code))
    e_prod = np.concatenate([p[0] for p in parts])
    e_user = np.concatenate([p[1] for p in parts])
    e_ts = np.concatenate([p[2] for p in parts])
    e_code = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    hi = dates.values[-1].astype("int64") + _DAY_NS
    keep = (e_ts >= lo) & (e_ts < hi)  # the log only covers the behaviour window
    # A browse event repeating another one to the second is one logged event.
    same = pd.DataFrame({"u": e_user, "p": e_prod, "c": e_code, "t": e_ts}).duplicated()
    keep &= ~same.to_numpy()
    order = np.lexsort((e_code[keep], e_ts[keep]))
    e_prod, e_user, e_ts, e_code = (a[keep][order] for a in (e_prod, e_user, e_ts, e_code))
    users, _ = _user_ids(n_users)
    categories = cat.frame["category"].to_numpy(dtype=object)
    return pd.DataFrame({"user_id": users[e_user], "item_id": cat.ids[e_prod],
                         "category_id": categories[e_prod],
                         "event_type": np.array(EVENT_TYPES, dtype=object)[e_code],
                         "ts": e_ts.astype("datetime64[ns]")})


def _reviews(rng: np.random.Generator, y: np.ndarray, incident: np.ndarray, cat: _Catalogue,
             par: _Params, dates: pd.DatetimeIndex) -> pd.DataFrame:
    n_days = len(dates)
    # ~3% of units get a review; unhappy buyers during an incident review far more often.
    counts = rng.binomial(y, np.clip(0.03 * (1 + 10 * incident), 0, 1))
    p_idx, t_idx = np.nonzero(counts)
    rep = counts[p_idx, t_idx]
    prod, day = np.repeat(p_idx, rep), np.repeat(t_idx, rep) + rng.geometric(0.35, rep.sum()) - 1
    keep = day < n_days
    prod, day = prod[keep], day[keep]
    m = len(prod)
    hit = incident[prod, day]
    score = 4.2 + 0.45 * par.quality[prod] + rng.normal(0, 0.9, m) - 4.0 * hit
    rating = np.clip(np.rint(score), 1, 5).astype(int)
    cum = np.cumsum(_SENTIMENT_BY_RATING[rating - 1], axis=1)
    sentiment = (rng.random(m)[:, None] > cum).sum(axis=1).clip(0, 3)
    lang = np.where(rng.random(m) < 0.6, 0, 1)  # 0 = zh, 1 = en
    c = cat.cat_idx[prod]
    aspects = np.array([[a[j] for a in k.aspects] for j in (0, 1) for k in _CATEGORIES],
                       dtype=object).reshape(2, len(_CATEGORIES), -1)
    defects = np.array([[a[j] for a in k.defects] for j in (0, 1) for k in _CATEGORIES],
                       dtype=object).reshape(2, len(_CATEGORIES), -1)
    # During an incident complaints name the product's one real defect; otherwise any defect.
    own_defect = (np.arange(len(cat.ids)) * 7 + 3) % defects.shape[2]
    defect = np.where(hit > 0.05, own_defect[prod], rng.integers(0, defects.shape[2], m))
    words = {
        "item": cat.items[prod, lang], "brand": cat.brands[prod],
        "aspect": aspects[lang, c, rng.integers(0, aspects.shape[2], m)],
        "defect": defects[lang, c, defect],
        "good": _pick(rng, lang, "good"), "bad": _pick(rng, lang, "bad"),
    }
    keys = [(la, s) for la in ("zh", "en") for s in _SENTIMENTS]
    sizes = np.array([len(_TEMPLATES[k]) for k in keys])
    group = lang * len(_SENTIMENTS) + sentiment
    template = (np.cumsum(sizes) - sizes)[group] + (rng.random(m) * sizes[group]).astype(int)
    text = _render([t for k in keys for t in _TEMPLATES[k]], template, words)
    ts = dates.values[day].astype("int64") + _time_of_day(rng, m)
    order = np.lexsort((prod, ts))
    return pd.DataFrame({
        "review_id": "R" + pd.Series(np.arange(1, m + 1)).astype(str).str.zfill(7),
        "unique_id": cat.ids[prod[order]], "ts": ts[order].astype("datetime64[ns]"),
        "rating": rating[order].astype(float), "text": text[order],
        "language": np.array(["zh", "en"], dtype=object)[lang[order]]})


def _pick(rng: np.random.Generator, lang: np.ndarray, kind: str) -> np.ndarray:
    zh, en = (np.array(_WORDS[(la, kind)], dtype=object) for la in ("zh", "en"))
    k = rng.integers(0, min(len(zh), len(en)), len(lang))
    return np.where(lang == 0, zh[k], en[k])


def _render(templates: list[str], choice: np.ndarray, words: dict[str, np.ndarray]) -> np.ndarray:
    """Fill ``templates[choice[i]]`` with ``words[field][i]`` for every row, vectorised.

    Each template is split once into literal pieces and field slots; rows are then built by
    concatenating object arrays column by column instead of formatting row by row.
    """
    fields = list(words)
    parsed = [list(string.Formatter().parse(t)) for t in templates]
    width = max(len(p) for p in parsed)
    literal = np.full((len(templates), width), "", dtype=object)
    slot = np.full((len(templates), width), len(fields))  # last column = empty string
    for i, pieces in enumerate(parsed):
        for j, (text, field, _, _) in enumerate(pieces):
            literal[i, j] = text
            if field is not None:
                slot[i, j] = fields.index(field)
    m = len(choice)
    values = np.column_stack([words[f] for f in fields] + [np.full(m, "", dtype=object)])
    rows, out = np.arange(m), np.full(m, "", dtype=object)
    for j in range(width):
        out = out + literal[choice, j] + values[rows, slot[choice, j]]
    return out
