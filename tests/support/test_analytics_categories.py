"""The service-category tree: imported from CSV/XLSX all or nothing, paths kept right on rename and move,
categories in use retired instead of deleted."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import Workbook

from banso.core.choices import Role
from banso.support import categories
from banso.support.desk import DeskError
from banso.support.models import Category

from .factories import InquiryFactory


def _csv(rows, encoding="utf-8-sig"):
    return ("code,name,parent_code\n" + "\n".join(",".join(r) for r in rows) + "\n").encode(encoding)


def test_import_of_400_rows_in_cp932_with_parents_after_children(db):
    rows = []
    for i in range(20):
        for j in range(20):
            rows.append((f"c{i}-{j}", f"子カテゴリ{i}-{j}", f"p{i}"))
    rows += [(f"p{i}", f"親カテゴリ{i}", "") for i in range(20)]
    result = categories.import_categories(_csv(rows, "cp932"), "tree.csv")
    assert result.created == 420 and Category.objects.count() == 420
    assert Category.objects.get(code="c3-4").path == "親カテゴリ3 > 子カテゴリ3-4"


def test_reimporting_the_same_file_changes_nothing(db):
    data = _csv([("a", "ハウスクリーニング", ""), ("b", "エアコンクリーニング", "a")])
    categories.import_categories(data)
    again = categories.import_categories(data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_bad_row_refuses_the_whole_file_naming_the_row(db):
    data = _csv([("a", "親", ""), ("b", "", "a"), ("c", "孫", "zzz")])
    with pytest.raises(categories.CategoryImportError) as error:
        categories.import_categories(data)
    rows = [row for row, _message in error.value.errors]
    assert rows == [3, 4]
    assert Category.objects.count() == 0


def test_a_cycle_is_refused(db):
    data = _csv([("a", "A", "c"), ("b", "B", "a"), ("c", "C", "b")])
    with pytest.raises(categories.CategoryImportError) as error:
        categories.import_categories(data)
    assert "a" in str(error.value) and Category.objects.count() == 0


def test_xlsx_import(db):
    book = Workbook()
    sheet = book.active
    sheet.append(["コード", "名称", "親コード"])
    sheet.append(["x1", "引越し", None])
    sheet.append(["x2", "単身引越し", "x1"])
    buffer = io.BytesIO()
    book.save(buffer)
    categories.import_categories(buffer.getvalue(), "tree.xlsx")
    assert Category.objects.get(code="x2").path == "引越し > 単身引越し"


def test_rename_and_move_update_paths_of_the_subtree(db):
    categories.import_categories(_csv([("a", "掃除", ""), ("b", "水回り", "a"), ("c", "浴室", "b"), ("d", "修理", "")]))
    a, b, d = (Category.objects.get(code=c) for c in "abd")
    categories.save_category(a, code="a", name="ハウスクリーニング", parent=None)
    assert Category.objects.get(code="c").path == "ハウスクリーニング > 水回り > 浴室"
    categories.save_category(b, code="b", name="水回り", parent=d)
    assert Category.objects.get(code="c").path == "修理 > 水回り > 浴室"
    with pytest.raises(DeskError) as error:
        categories.save_category(d, code="d", name="修理", parent=Category.objects.get(code="c"))
    assert error.value.field == "parent"


def test_a_category_in_use_is_deactivated_not_deleted(db):
    categories.import_categories(_csv([("a", "掃除", ""), ("b", "未使用", "")]))
    used = Category.objects.get(code="a")
    InquiryFactory(category=used)
    assert categories.remove_category(used) is False
    assert Category.objects.get(code="a").active is False
    assert categories.remove_category(Category.objects.get(code="b")) is True
    assert not Category.objects.filter(code="b").exists()


def test_cli_import(db, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_bytes(_csv([("a", "家事代行", "")], "cp932"))
    call_command("support", "categories-import", str(path))
    assert Category.objects.get(code="a").name == "家事代行"


def test_upload_on_the_page_shows_row_errors(client_as):
    client = client_as(Role.OPS_MANAGER)
    bad = io.BytesIO(_csv([("a", "", "")]))
    bad.name = "bad.csv"
    response = client.post(reverse("support:categories"), {"file": bad})
    assert response.status_code == 200 and 'id="import-errors"' in response.content.decode()
    good = io.BytesIO(_csv([("a", "家事代行", "")]))
    good.name = "good.csv"
    assert client.post(reverse("support:categories"), {"file": good}).status_code == 302
    assert "家事代行" in client.get(reverse("support:categories")).content.decode()


def test_agents_see_but_cannot_edit_categories(client_as):
    client = client_as(Role.SUPPORT_AGENT)
    assert client.get(reverse("support:categories")).status_code == 200
    assert client.get(reverse("support:category_new")).status_code == 403
    assert client.get(reverse("support:inquiry_types")).status_code == 200
    assert client.get(reverse("support:inquiry_type_new")).status_code == 403


def test_manager_edits_an_inquiry_type(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(reverse("support:inquiry_type_new"), {"name": "返金", "group": "お金", "active": "on"})
    assert response.status_code == 302
    assert "返金" in client.get(reverse("support:inquiry_types")).content.decode()
