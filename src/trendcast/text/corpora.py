"""Labelled review corpora for training and testing the sentiment head, split by product.

Reviews of one product share words (its name, its defects), so a random row split lets a
model memorise products and flatters it. Every row here carries a ``group`` (a product, a
product category or a whole source) and train and test never share a group. Identical texts
are kept once per language, so no text sits on both sides either.

Chinese (``zh_review_sentiment``): groups are the ``cat`` of online_shopping_10_cats, with its
酒店 category and ChnSentiCorp (both hotel reviews, largely the same texts) as one ``hotel``
group and waimai_10k as ``waimai``. English (``amazon_reviews_en``): ratings <= 2 are negative,
>= 4 positive, 3 dropped. Amazon 5-core lists the same review under every variant of a product
(another asin), so a group is a set of asins that share reviews (connected components), per
file; Alexa reviews are grouped by device (Dot, Plus, Show, Spot, Fire TV Stick, Echo for the
rest); the UCI sentences have no product ids and form one group, ``cells``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.errors import DataValidationError, InputFileError

# Held-out groups, fixed before any model was scored. zh: a phone, a food and a personal-care
# category of the shopping corpus plus the food-delivery source; en: the whole fashion file
# (a category never seen in training) and two Alexa devices.
ZH_TEST_GROUPS = ("shopping:手机", "shopping:水果", "shopping:洗发水", "waimai")
EN_TEST_PREFIXES = ("fashion:", "alexa:Show", "alexa:Spot")

COLUMNS = ["text", "label", "group", "source", "lang"]


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputFileError(f"{path} not found; point to the shared data folder "
                             "(zh_review_sentiment / amazon_reviews_en, see their PROVENANCE.md)")
    return path


def load_zh(folder: str | Path) -> pd.DataFrame:
    """Chinese reviews: ``text, label (1 pos / 0 neg), group, source, lang``."""
    folder = Path(folder)
    with zipfile.ZipFile(_need(folder / "online_shopping_10_cats.zip")) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        shop = pd.read_csv(io.BytesIO(zf.read(name)), encoding="utf-8")
    shop["group"] = np.where(shop["cat"] == "酒店", "hotel", "shopping:" + shop["cat"].astype(str))
    shop["source"] = "online_shopping_10_cats"
    hotel = pd.read_csv(_need(folder / "ChnSentiCorp_htl_all.csv")).assign(
        group="hotel", source="ChnSentiCorp_htl_all")
    waimai = pd.read_csv(_need(folder / "waimai_10k.csv")).assign(group="waimai", source="waimai_10k")
    frame = pd.concat([shop, hotel, waimai], ignore_index=True).rename(columns={"review": "text"})
    return _finish(frame, "zh")


def _alexa_device(variation: pd.Series) -> pd.Series:
    last = variation.str.split().str[-1]
    device = last.where(last.isin(["Dot", "Plus", "Show", "Spot"]), "Echo")
    return device.where(~variation.str.contains("Fire TV"), "FireTV")


def _asin_groups(df: pd.DataFrame) -> pd.Series:
    """Connected components of asins that list the same review (reviewer + text)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    asin = pd.factorize(df["asin"])[0]
    review = pd.factorize(df["reviewerID"].astype(str) + "|" + df["reviewText"].astype(str))[0]
    incidence = coo_matrix((np.ones(len(df)), (asin, review))).tocsr()
    _, component = connected_components(incidence @ incidence.T, directed=False)
    return pd.Series(component[asin], index=df.index)


def load_en(folder: str | Path) -> pd.DataFrame:
    """English reviews: ``text, label (1 pos / 0 neg), group, source, lang``."""
    folder = Path(folder)
    parts = []
    for file, tag in (("All_Beauty_5.json", "beauty"), ("AMAZON_FASHION_5.json", "fashion")):
        raw = pd.read_json(_need(folder / file), lines=True)
        raw = raw[raw["reviewText"].notna()].copy()
        raw["group"] = tag + ":" + _asin_groups(raw).astype(str)
        raw["label"] = _rating_label(raw["overall"])
        parts.append(raw.rename(columns={"reviewText": "text"}).assign(source=file))
    alexa = pd.read_csv(_need(folder / "amazon_alexa.tsv"), sep="\t", encoding="utf-8-sig")
    alexa = alexa.assign(group="alexa:" + _alexa_device(alexa["variation"].astype(str)),
                         label=_rating_label(alexa["rating"]), source="amazon_alexa.tsv")
    parts.append(alexa.rename(columns={"verified_reviews": "text"}))
    cells = pd.read_csv(_need(folder / "amazon_cells_labelled.txt"), sep="\t", header=None,
                        names=["text", "label"], quoting=3)
    parts.append(cells.assign(group="cells", source="amazon_cells_labelled.txt"))
    return _finish(pd.concat(parts, ignore_index=True), "en")


def _rating_label(rating: pd.Series) -> pd.Series:
    r = pd.to_numeric(rating, errors="coerce")
    return pd.Series(np.where(r <= 2, 0, np.where(r >= 4, 1, -1)), index=rating.index)


def _finish(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    frame = frame.assign(lang=lang)
    frame["text"] = frame["text"].astype("string").str.replace("\ufeff", "", regex=False).str.strip()
    frame = frame[frame["text"].notna() & (frame["text"].str.len() > 0) & frame["label"].isin([0, 1])]
    frame = frame.drop_duplicates("text", keep="first")
    out = frame[COLUMNS].reset_index(drop=True)
    out["text"] = out["text"].astype(str)
    out["label"] = out["label"].astype(int)
    return out


def is_test_group(groups: pd.Series, lang: str) -> pd.Series:
    """Whether each group is held out for testing (the fixed rule above)."""
    if lang == "zh":
        return groups.isin(ZH_TEST_GROUPS)
    if lang == "en":
        return groups.str.startswith(EN_TEST_PREFIXES)
    raise DataValidationError(f"lang must be 'zh' or 'en', got {lang!r}")


def split_by_group(frame: pd.DataFrame, test_groups: Collection[str] | pd.Series
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ``test_groups`` (names, or a boolean mask over rows) -> test, the rest -> train.

    Raises:
        DataValidationError: a side is empty, or a group or text ends up on both sides.
    """
    mask = (test_groups.to_numpy(dtype=bool) if isinstance(test_groups, pd.Series)
            else frame["group"].isin(list(test_groups)).to_numpy())
    train, test = frame[~mask], frame[mask]
    if train.empty or test.empty:
        raise DataValidationError(f"split by group left {len(train)} train and {len(test)} test rows; "
                                  "choose held-out groups that exist and leave some for training")
    check_disjoint(train, test)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def check_disjoint(train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Raise if a group or an identical text is on both sides of a split."""
    shared = set(train["group"]) & set(test["group"])
    if shared:
        raise DataValidationError(f"groups on both sides of the split: {sorted(shared)[:5]}")
    texts = set(train["text"]) & set(test["text"])
    if texts:
        raise DataValidationError(f"{len(texts)} identical text(s) on both sides of the split, "
                                  f"e.g. {next(iter(texts))!r}")


def sample(frame: pd.DataFrame, n: int, *, balance: bool, seed: int = 0) -> pd.DataFrame:
    """At most ``n`` rows. ``balance``: up to half from each class (the rest from the other);
    otherwise a random sample that keeps the class ratio."""
    if len(frame) <= n:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    if not balance:
        return frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))].reset_index(drop=True)
    neg, pos = frame[frame["label"] == 0], frame[frame["label"] == 1]
    n_neg = min(len(neg), max(n // 2, n - len(pos)))
    n_pos = min(len(pos), n - n_neg)
    picked = [part.iloc[rng.choice(len(part), k, replace=False)] for part, k in ((neg, n_neg), (pos, n_pos))]
    return pd.concat(picked).sample(frac=1.0, random_state=seed).reset_index(drop=True)
