"""The plain select renders like Django's, escaped, with the chosen option selected."""

from banso.core.widgets import PlainSelect


def test_options_are_escaped_and_the_value_is_selected():
    widget = PlainSelect(choices=[("", "すべて"), (1, "<田中>"), (2, "佐藤 & 鈴木")])
    html = widget.render("owner", 2, attrs={"id": "id_owner"})
    assert html.startswith('<select id="id_owner" name="owner">')
    assert '<option value="1">&lt;田中&gt;</option>' in html
    assert '<option value="2" selected>佐藤 &amp; 鈴木</option>' in html
    assert '<option value="">すべて</option>' in html
