"""A shop's careless review exports (docs/ingest.md): ratings with a unit, repeated header
lines, unpaired quotes in review text, ids written as JSON floats, date hints that read the
time of day. Each test failed before its fix."""

from __future__ import annotations

import json
import shlex

import pytest

from trendcast.data.contract import _suggest_format
from trendcast.data.ingest import load_file, make_options
from trendcast.errors import DataValidationError, InputFileError
from trendcast.services.ingest import ingest_file

HEAD = "review_id,unique_id,ts,rating,text\n"
ROWS = ("r1,P001,2024-03-05 14:02:00,5,很好\n"
        "r2,P002,2024-03-06 09:00:00,1,质量太差\n"
        "r3,P001,2024-03-07 10:30:00,3,一般\n")


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(("written", "value"), [("5星", 5.0), ("4颗星", 4.0), ("5 stars", 5.0),
                                                ("4.5 Stars", 4.5), ("1 star", 1.0)])
def test_ratings_written_with_a_unit_are_read_and_noted(tmp_path, written, value):
    df = load_file(write(tmp_path / "r.csv", HEAD + f"r1,P001,2024-03-05 14:02:00,{written},ok\n"),
                   "reviews")
    assert df["rating"].tolist() == [value]
    assert any("written with a unit" in n for n in df.attrs["notes"])


def test_a_rating_with_a_unit_still_has_to_be_on_the_scale(tmp_path):
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'rating': got '6星'"):
        load_file(write(tmp_path / "r.csv", HEAD + "r1,P001,2024-03-05 14:02:00,6星,ok\n"), "reviews")


def test_fullwidth_digits_are_read_as_digits_and_not_said_to_be_thousands_separators(tmp_path):
    df = load_file(write(tmp_path / "r.csv", HEAD + "r1,P001,2024-03-05 14:02:00,５,ok\n"), "reviews")
    assert df["rating"].tolist() == [5.0]
    assert any("typed in full-width characters" in n for n in df.attrs["notes"])
    with pytest.raises(DataValidationError) as info:
        load_file(write(tmp_path / "r.csv", HEAD + "r1,P001,2024-03-05 14:02:00,５颗心,ok\n"), "reviews")
    assert "got '５颗心'" in str(info.value)
    assert "thousands separators" not in str(info.value)


def test_a_repeated_header_line_is_skipped_and_noted(store, tmp_path):
    rows = ROWS.splitlines(keepends=True)
    path = write(tmp_path / "r.csv", HEAD + rows[0] + rows[1] + HEAD + rows[2]
                 + "r4,P002,2024-03-08 10:30:00,9,bad\n")
    with pytest.raises(DataValidationError, match=r"row 5 \(line 6\), column 'rating': got '9'"):
        ingest_file(store, path, "reviews", add_products=True)
    assert store.count("reviews") == 0
    path = write(tmp_path / "r.csv", HEAD + rows[0] + rows[1] + HEAD + rows[2])
    report = ingest_file(store, path, "reviews", add_products=True)
    assert sorted(store.reviews()["review_id"]) == ["r1", "r2", "r3"]
    assert any("repeated header line(s) skipped (line 4)" in n for n in report.notes)


def test_a_repeated_header_in_an_excel_sheet_is_skipped(tmp_path):
    import pandas as pd

    frame = pd.DataFrame([["r1", "P001", "2024-03-05 14:02:00", "5", "ok"],
                          ["review_id", "unique_id", "ts", "rating", "text"],
                          ["r2", "P001", "2024-03-05 15:02:00", "4", "fine"]],
                         columns=["review_id", "unique_id", "ts", "rating", "text"])
    frame.to_excel(tmp_path / "r.xlsx", index=False)
    df = load_file(tmp_path / "r.xlsx", "reviews")
    assert df["review_id"].tolist() == ["r1", "r2"]


@pytest.mark.parametrize("sep", [",", "\t"])
def test_an_unpaired_quote_that_closes_rows_later_is_refused(store, tmp_path, sep):
    lines = [HEAD, "r1,P001,2024-03-05 14:02:00,5,ok\n",
             'r2,P001,2024-03-05 14:03:00,1,"差评 没有闭合\n',
             "r3,P002,2024-03-05 14:04:00,3,ok\n",
             'r4,P002,2024-03-05 14:05:00,3,"fine"\n',
             "r5,P002,2024-03-05 14:06:00,3,fine\n"]
    path = write(tmp_path / ("r.tsv" if sep == "\t" else "r.csv"),
                 "".join(line.replace(",", sep) for line in lines))
    with pytest.raises(DataValidationError) as info:
        ingest_file(store, path, "reviews", add_products=True)
    message = str(info.value)
    assert "row 2 (line 3), column 'text'" in message
    assert "on line 5" in message
    assert store.count("reviews") == 0


def test_an_unpaired_quote_to_the_end_of_the_file_names_row_and_column(tmp_path):
    path = write(tmp_path / "r.csv", HEAD + 'r0,P001,2024-03-05 14:02:00,5,"两行\n评论"\n'
                 'r1,P001,2024-03-05 14:02:00,5,"好的\nr2,P002,2024-03-05 14:04:00,3,ok\n')
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), column 'text': the value "
                                                  r"'\"好的' opens a quote"):
        load_file(path, "reviews")


def test_text_after_a_closing_quote_is_refused_not_dropped(tmp_path):
    path = write(tmp_path / "r.csv", HEAD + 'r1,P001,2024-03-05 14:02:00,5,"好"的东西\n')
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), column 'text'"):
        load_file(path, "reviews")


def test_well_quoted_text_with_line_breaks_quotes_and_emoji_is_kept(tmp_path):
    text = '第一行\r\n第二行, 带逗号 "引号" 😀'
    quoted = '"' + text.replace('"', '""') + '"'
    body = (HEAD + ROWS).replace("\n", "\r\n") + f"r0,P001,2024-03-05 14:02:00,5,{quoted}\r\n"
    df = load_file(write(tmp_path / "r.csv", "\ufeff" + body), "reviews")
    assert df["text"].tolist() == ["很好", "质量太差", "一般", text]


def test_ids_written_as_json_floats_are_whole_numbers(tmp_path):
    lines = [json.dumps({"review_id": float(i), "unique_id": 1.0, "ts": "2024-03-05 14:02:00",
                         "rating": 5, "text": "ok"}) for i in range(2)]
    lines.append(json.dumps({"review_id": 2.5, "unique_id": 1, "ts": "2024-03-05 14:02:00",
                             "rating": 5, "text": "ok"}))
    df = load_file(write(tmp_path / "r.jsonl", "\n".join(lines) + "\n"), "reviews")
    assert df["review_id"].tolist() == ["0", "1", "2.5"]
    assert df["unique_id"].tolist() == ["1", "1", "1"]


def test_ids_stay_text_as_written_in_csv(tmp_path):
    df = load_file(write(tmp_path / "r.csv", HEAD + "r1,001,2024-03-05 14:02:00,5,a\n"
                         "r2,1.0,2024-03-05 14:02:00,5,b\nr3, P001 ,2024-03-05 14:02:00,5,c\n"),
                   "reviews")
    assert df["unique_id"].tolist() == ["001", "1.0", "P001"]


def typed_hint(message: str) -> list[str]:
    """The --date-format value(s) a message suggests, as a shell passes them when the hint is
    pasted (a layout with spaces must be quoted to arrive whole)."""
    hint = message.split("e.g. --date-format ", 1)[1].split(")", 1)[0]
    return [word for word in shlex.split(hint) if word != "or"]


@pytest.mark.parametrize(("value", "fmt"), [
    ("2024年3月5日 14:02", "%Y年%m月%d日 %H:%M"),
    ("2024/3/5 14:02:33", "%Y/%m/%d %H:%M:%S"),
    ("05.03.2024 14:02", "%d.%m.%Y %H:%M"),
    ("3/5/2024 2:02 PM", "%d/%m/%Y %I:%M %p or %m/%d/%Y %I:%M %p"),
    ("2024/3/5", "%Y/%m/%d"),
])
def test_the_suggested_date_format_reads_the_time_of_day(tmp_path, value, fmt):
    assert _suggest_format(value) == fmt
    path = write(tmp_path / "r.csv", HEAD + f"r1,P001,{value},5,ok\n")
    with pytest.raises(DataValidationError) as info:
        load_file(path, "reviews")
    assert typed_hint(str(info.value)) == fmt.split(" or ")
    first = fmt.split(" or ")[-1]
    df = load_file(path, "reviews", options=make_options(date_format=first))
    assert df["ts"].iloc[0].day == 5 and df["ts"].iloc[0].month == 3


ZH = "商品编号,评价时间,评分,评价内容\nP001,2025/12/11 22:37,5,很好\nP002,2025/12/4 4:00,1,质量太差\n"
ZH_MAP = ["unique_id=商品编号", "rating=评分", "text=评价内容"]


def test_a_map_target_the_kind_does_not_have_is_refused_with_the_likely_one(tmp_path):
    """``--map ds=...`` on reviews (whose time is ``ts``) was dropped as an extra column and
    every review dated at the ingest time."""
    path = write(tmp_path / "r.csv", ZH, "gbk")
    opts = make_options(mapping=[*ZH_MAP, "ds=评价时间"])
    with pytest.raises(InputFileError, match=r"--map ds=评价时间: reviews files have no column "
                                             r"'ds' .*did you mean --map ts=评价时间\?"):
        load_file(path, "reviews", options=opts)
    with pytest.raises(InputFileError, match=r"--set y=1: orders files have no column 'y' .*"
                                             r"did you mean --set quantity=1\?"):
        load_file(path, "orders", options=make_options(mapping=["unique_id=商品编号"], constants=["y=1"]))


def test_reviews_without_ts_but_with_a_date_column_are_refused(store, tmp_path):
    path = write(tmp_path / "r.csv", ZH, "gbk")
    with pytest.raises(InputFileError, match=r"column '评价时间' holds dates .*--map ts=评价时间"):
        ingest_file(store, path, "reviews", add_products=True, options=make_options(mapping=ZH_MAP))
    assert store.count("reviews") == 0
    opts = make_options(mapping=[*ZH_MAP, "ts=评价时间"], date_format="%Y/%m/%d %H:%M")
    df = load_file(path, "reviews", options=opts)
    assert df["ts"].dt.strftime("%Y-%m-%d %H:%M").tolist() == ["2025-12-11 22:37", "2025-12-04 04:00"]
    # without a date column the ingest time is still the documented default
    plain = write(tmp_path / "p.csv", "unique_id,text\nP001,很好\n")
    assert load_file(plain, "reviews").attrs["ts_from_ingest"]


@pytest.mark.parametrize(("value", "fmt"), [
    ("Mar 5, 2024", "%b %d, %Y"), ("March 5, 2024", "%B %d, %Y"), ("05-Mar-2024", "%d-%b-%Y"),
    ("5 Mar 2024", "%d %b %Y"), ("5 March 2024", "%d %B %Y"),
    ("Mar 5, 2024 2:02 PM", "%b %d, %Y %I:%M %p"),
])
def test_dates_with_month_names_get_a_format_that_reads_them(tmp_path, value, fmt):
    """Before: every month-name date was told to use --date-format %m/%d/%Y."""
    path = write(tmp_path / "r.csv", HEAD + f'r1,P001,"{value}",5,ok\n')
    with pytest.raises(DataValidationError) as info:
        load_file(path, "reviews")
    assert typed_hint(str(info.value)) == [fmt]
    df = load_file(path, "reviews", options=make_options(date_format=fmt))
    assert df["ts"].iloc[0].day == 5 and df["ts"].iloc[0].month == 3


@pytest.mark.parametrize("written", ["31-Jul-18", "Nov 1, 2025", "2025年11月1日"])
def test_an_unmapped_date_column_in_other_layouts_is_named(tmp_path, written):
    """amazon_alexa.tsv (../shared/data) dates its reviews ``31-Jul-18`` in a ``date`` column."""
    path = write(tmp_path / "r.tsv", f"rating\tdate\tvariation\tverified_reviews\n5\t{written}\tA\tok\n")
    with pytest.raises(InputFileError, match=r"column 'date' holds dates .*--map ts=date"):
        load_file(path, "reviews", options=make_options(mapping=["unique_id=variation",
                                                                  "text=verified_reviews"]))


def test_taobao_review_results_and_points_are_read_as_ratings_on_the_scale(tmp_path):
    rows = ("r1,P001,2024-03-05 14:02:00,好评,ok\nr2,P001,2024-03-05 15:02:00,中评,meh\n"
            "r3,P001,2024-03-05 16:02:00,差评,bad\nr4,P001,2024-03-05 17:02:00,4.5分,fine\n")
    df = load_file(write(tmp_path / "r.csv", HEAD + rows), "reviews")
    assert df["rating"].tolist() == [5.0, 3.0, 1.0, 4.5]
    assert any("3 review result(s) read as ratings: 好评 as 5, 中评 as 3, 差评 as 1" in n
               for n in df.attrs["notes"])
    stars = load_file(write(tmp_path / "r.csv", HEAD + rows.replace("4.5分", "★★★★☆")), "reviews")
    assert stars["rating"].tolist() == [5.0, 3.0, 1.0, 4.0]
    assert any("1 rating(s) drawn as stars (e.g. '★★★★☆') read as the number of filled stars" in n
               for n in stars.attrs["notes"])
    ten = load_file(write(tmp_path / "r.csv", HEAD + rows.replace("4.5分", "9分")), "reviews",
                    options=make_options(rating_scale="0-10"))
    assert ten["rating"].tolist() == pytest.approx([5.0, 3.0, 1.0, 4.6])  # stored as stars: 9 of 10 is 4.6


def test_one_reviewers_identical_review_twice_is_one_review_without_a_reviewer_two(store, tmp_path):
    head = "unique_id,ts,rating,text,user_id\n"
    rows = ("P001,2024-03-05 14:02:00,5,好评,u1\nP001,2024-03-05 14:02:00,5,好评,u1\n"
            "P001,2024-03-05 14:02:00,5,好评,u2\nP001,2024-03-05 14:02:00,5,好评,\n"
            "P001,2024-03-05 14:02:00,5,好评,\n")
    report = ingest_file(store, write(tmp_path / "r.csv", head + rows), "reviews", add_products=True)
    assert store.count("reviews") == 4  # u1 once, u2, and the two without a reviewer
    assert any("1 exact duplicate row(s)" in n for n in report.notes)


def test_a_review_corpus_without_products_is_asked_only_for_what_ingest_cannot_make(tmp_path):
    """online_shopping_10_cats (cat,label,review) was told to map review_id and ts too, which
    ingest makes itself (a hash; the ingest time) once the products are mapped."""
    path = write(tmp_path / "c.csv", "cat,label,review\n书籍,1,很好\n平板,0,太慢\n")
    with pytest.raises(DataValidationError) as info:
        load_file(path, "reviews")
    assert "missing required column(s) 'unique_id', 'text' for reviews" in str(info.value)
    assert "review_id" not in str(info.value) and "'ts'" not in str(info.value)
    df = load_file(path, "reviews", options=make_options(mapping=["unique_id=cat", "text=review"]))
    assert df["review_id"].nunique() == 2 and df["ts"].notna().all()


def test_ratings_on_another_scale_are_stored_as_stars(tmp_path):
    """A 0/1 label (online_shopping_10_cats) or a 1-10 score was stored as given, and every
    reader assumed 1-5 stars: `sentiment --source rating` failed ("ratings must lie in 1..5"),
    every 0/1 review counted as low-rated (<= 2) for drift, a 4 of 10 read as a good review."""
    from trendcast.data.store import open_store
    from trendcast.services.sentiment import product_sentiment

    label = HEAD + "r1,P001,2024-03-05 14:02:00,0,差\nr2,P001,2024-03-06 09:00:00,1,好\n"
    with pytest.raises(DataValidationError, match="only 0 and 1: a 0/1 label reads with --rating-scale 0-1"):
        load_file(write(tmp_path / "l.csv", label), "reviews")
    df = load_file(write(tmp_path / "l.csv", label), "reviews", options=make_options(rating_scale="0-1"))
    assert df["rating"].tolist() == [1.0, 5.0]
    assert any("ratings on the 0-1 scale stored on the 1-5 scale of stars" in n for n in df.attrs["notes"])
    tens = HEAD + "r1,P001,2024-03-05 14:02:00,4,一般偏差\nr2,P001,2024-03-06 09:00:00,10,很好\n"
    path = write(tmp_path / "t.csv", tens)
    df = load_file(path, "reviews", options=make_options(rating_scale="1-10"))
    assert df["rating"].tolist() == pytest.approx([1 + 4 * 3 / 9, 5.0])
    with open_store(tmp_path / "ws.duckdb") as store:
        ingest_file(store, path, "reviews", add_products=True, options=make_options(rating_scale="1-10"))
        assert store.review_days()["low"].sum() == 0  # 2.33 stars: not a 1-2 star review
        table = product_sentiment(store, source="rating")
        assert table["neg_share"].iloc[0] == pytest.approx(0.5)  # the 4 of 10 is negative


def test_ratings_written_with_their_scale(tmp_path):
    """Amazon's "5.0 out of 5 stars", 4.5/5, 4分/5分: read as the number when out of the
    workspace's top; "8/10" on 1-5 stars is refused naming --rating-scale, and reads with it."""
    path = tmp_path / "r.csv"
    path.write_text("unique_id,ts,rating,text\nA,2025-01-01 10:00,5.0 out of 5 stars,ok\n"
                    "A,2025-01-02 10:00,4.5/5,ok\nA,2025-01-03 10:00,3 of 5,ok\nA,2025-01-04 10:00,4分/5分,ok\n",
                    encoding="utf-8")
    df = load_file(path, "reviews")
    assert df.sort_values("ts")["rating"].tolist() == [5.0, 4.5, 3.0, 4.0]
    assert any("4 rating(s) written with their scale (e.g. '5.0 out of 5 stars') read as the number" in n
               for n in df.attrs["notes"])
    ten = tmp_path / "r10.csv"
    ten.write_text("unique_id,ts,rating,text\nA,2025-01-01 10:00,8/10,ok\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"'8/10' is out of 10: pass --rating-scale 1-10 or 0-10"):
        load_file(ten, "reviews")
    assert load_file(ten, "reviews", options=make_options(rating_scale="0-10"))["rating"].tolist() == [4.2]
