"""An upload answered in the dashboard's language: `lang=zh` (query, form field or
Accept-Language) gives the refusal and the notes in Chinese, the English kept beside them;
without it the answer is unchanged."""

from __future__ import annotations

import re

import pytest
from apikit import auth, make_keys
from fastapi.testclient import TestClient

from trendcast.api.app import create_app

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def env(tmp_path):
    db = tmp_path / "ws.duckdb"
    keys = make_keys(db)
    with TestClient(create_app(db)) as client:
        yield client, keys["analyst"]


def post(client, key, content: str, name: str, *, query: str = "kind=sales", data=None, headers=None):
    return client.post(f"/api/uploads?{query}", files={"file": (name, content.encode(), "text/csv")},
                       data=data or {}, headers={**auth(key), **(headers or {})})


DAY_FIRST = "unique_id,ds,y\nA,2024-01-02,1\nA,13/01/2024,2\n"
DECIMAL_COMMA = 'unique_id,ds,y,price\nA,2024-01-02,1,"2,5"\n'
MISSING_COLUMN = "sku,ds,y\nA,2024-01-02,1\n"


@pytest.mark.parametrize(("content", "said", "options"), [
    (DAY_FIRST, ["销量数据中有 1 个问题，未保存任何数据：",
                 "- 列 'ds'：1 行：应为形如 2024-06-18 的日期（请用 --date-format %d/%m/%Y：该列日在前，"
                 "如 '13/01/2024' 所示）",
                 "  shop.csv：第 2 行数据（文件第 3 行），列 'ds'：值为 '13/01/2024'，应为形如 2024-06-18 的日期"],
     ["date_format"]),
    (DECIMAL_COMMA, ["  shop.csv：第 1 行数据（文件第 2 行），列 'price'：值为 '2,5'，应为不小于 0 的数字"
                     "（它带千位分隔符、小数逗号或货币符号：1,234.50 这种写法用 --decimal .，"
                     "1.234,50 这种写法用 --decimal ,）"], ["decimal"]),
    (MISSING_COLUMN, ["shop.csv：缺少销量必需的列 'unique_id'；文件中的列为 ['sku', 'ds', 'y']。"
                      "请重命名这些列，或用 --map unique_id=<你的列名> 指定"], ["map"]),
])
def test_a_chinese_upload_reads_the_refusal_in_chinese(env, content, said, options):
    client, key = env
    en = post(client, key, content, "shop.csv")
    zh = post(client, key, content, "shop.csv", query="kind=sales&lang=zh")
    assert en.status_code == zh.status_code == 422, zh.text
    en_error, zh_error = en.json()["error"], zh.json()["error"]
    # English unchanged: no Chinese, no second message
    assert not CJK.search(en_error["message"]) and "message_en" not in en_error
    assert zh_error["message_en"] == en_error["message"]
    lines = zh_error["message"].split("\n")
    for line in said:
        assert any(got.startswith(line) for got in lines), (line, lines)
    # the same fields to fix, read from the English
    assert zh_error["options"] == en_error["options"] == options
    assert zh_error.get("field") == en_error.get("field")
    assert zh_error.get("problems") == en_error.get("problems")


def test_every_line_of_a_refusal_with_several_problems_is_chinese(env):
    client, key = env
    content = 'unique_id,ds,y,price\nA,13/01/2024,1,"2,5"\nB,2024-01-02,x,3\n'
    error = post(client, key, content, "shop.csv", query="kind=sales&lang=zh").json()["error"]
    lines = error["message"].split("\n")
    assert len(lines) == len(error["message_en"].split("\n")) == 7
    assert all(CJK.search(line) for line in lines), lines
    assert "  shop.csv：第 2 行数据（文件第 3 行），列 'y'：值为 'x'，应为不小于 0 的数字" in lines


@pytest.mark.parametrize(("query", "data", "headers", "lang"), [
    ("kind=sales", {"lang": "zh"}, {}, "zh"),
    ("kind=sales", {}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "zh"),
    ("kind=sales", {}, {"Accept-Language": "fr-FR,en;q=0.8,zh;q=0.5"}, "en"),
    ("kind=sales&lang=en", {}, {"Accept-Language": "zh-CN"}, "en"),
    ("kind=sales", {}, {}, "en"),
])
def test_the_language_comes_from_lang_or_accept_language(env, query, data, headers, lang):
    client, key = env
    resp = post(client, key, MISSING_COLUMN, "shop.csv", query=query, data=data, headers=headers)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert bool(CJK.search(error["message"])) == (lang == "zh"), error
    assert ("message_en" in error) == (lang == "zh")


def test_a_language_trendcast_does_not_speak_is_refused(env):
    client, key = env
    resp = post(client, key, MISSING_COLUMN, "shop.csv", data={"lang": "fr"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "lang"
    assert post(client, key, MISSING_COLUMN, "shop.csv", query="kind=sales&lang=fr").status_code == 422


def test_a_stored_upload_reads_its_notes_in_chinese(env):
    client, key = env
    content = "销售报表\nunique_id,ds,y,备注\nA,2024-01-02,1,x\nA,2024-01-02,1,x\n"
    zh = post(client, key, content, "shop.csv", query="kind=sales&lang=zh")
    assert zh.status_code == 201, zh.text
    body = zh.json()
    assert "跳过了表头上方的 1 行标题（第 1 行）" in body["notes"]
    assert "多余的列未保存：备注（要使用其中一列，用 --map TARGET=COLUMN 指定）" in body["notes"]
    assert "1 行完全重复（每一列的值都相同），只保留一次" in body["notes"]
    assert all(CJK.search(n) for n in body["notes"]), body["notes"]
    assert len(body["notes_en"]) == len(body["notes"])
    assert "1 title line(s) above the header skipped (line 1)" in body["notes_en"]
    again = post(client, key, content, "shop.csv").json()  # English: as before
    assert again["notes_en"] is None and "1 title line(s) above the header skipped (line 1)" in again["notes"]


def test_an_option_typed_wrong_on_the_form_is_answered_in_chinese(env):
    client, key = env
    resp = post(client, key, DAY_FIRST, "shop.csv", query="kind=sales&lang=zh",
                data={"date_format": "dd/mm/yyyy"})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["message"] == ("--date-format 'dd/mm/yyyy'：应为 strftime 格式，例如 %m/%d/%y、%d-%b-%y 或 %Y-%m")
    assert error["message_en"].startswith("--date-format 'dd/mm/yyyy': expected a strftime format")
    assert error["field"] == "date_format" and error["options"] == ["date_format"]


@pytest.mark.parametrize(("query", "data", "name", "content", "status", "said"), [
    ("kind=sales&lang=zh", {"colour": "red"}, "shop.csv", MISSING_COLUMN, 422, "未知的表单字段 ['colour']；可用的选项为"),
    ("lang=zh", {"kind": "sale"}, "shop.csv", MISSING_COLUMN, 422, "kind 'sale'：请从以下选择：sales, products"),
    ("lang=zh", {"format": "shopify2"}, "shop.csv", MISSING_COLUMN, 422, "format 'shopify2'：已知的格式为"),
    ("kind=sales&lang=zh", {}, "shop.pdf", MISSING_COLUMN, 415, "文件 'shop.pdf'：trendcast 能读取 .csv.gz"),
    ("kind=sales&lang=zh", {}, "big.csv", "unique_id,ds,y\n" + "A,2024-01-02,1\n" * 20, 413,
     "上传的文件超过了 0.000190735 MB 的上限；请拆分文件，或用更大的 --max-upload-mb 启动服务器"),
    ("kind=sales&lang=zh", {}, "shop.jsonl", '{"unique_id": "A"}\n[1]\n', 422,
     "shop.jsonl：第 2 行数据：是 JSON 列表，应为每行一个 JSON 对象"),
    ("kind=calendar&lang=zh", {}, "cal.csv", "ds,name,end\n2024-01-05,sale,2024-01-01\n", 422,
     "cal.csv：活动第 1 行，列 'end'：2024-01-01 早于 ds 2024-01-05；end 不能早于 ds。"),
])
def test_the_uploads_own_checks_answer_in_chinese(env, query, data, name, content, status, said):
    client, key = env
    client.app.state.max_upload_bytes = 200
    zh = post(client, key, content, name, query=query, data=data)
    en = post(client, key, content, name, query=query.replace("lang=zh", "lang=en"), data=data)
    assert zh.status_code == en.status_code == status, zh.text
    zh_error, en_error = zh.json()["error"], en.json()["error"]
    assert zh_error["message"].startswith(said), zh_error
    assert zh_error["message_en"] == en_error["message"] and "message_en" not in en_error
    assert not CJK.search(en_error["message"])
    assert zh_error.get("field") == en_error.get("field")
