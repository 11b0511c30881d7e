"""A contact answers the survey on a phone-sized screen: taps a score button, writes a comment, sends."""

import pytest

from banso.health import surveys
from banso.health.models import SurveyResponse

from ..accounts.factories import AccountFactory, ContactFactory
from ..health.survey_factories import SurveyFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser, live_server):
    """A phone-sized touch screen in the session's Chromium (conftest.py)."""
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, base_url=live_server.url, has_touch=True
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_contact_answers_on_a_phone_and_cannot_answer_twice(phone, tmp_path):
    account = AccountFactory()
    ContactFactory(account=account, is_primary=True)
    invitation = surveys.start_wave(SurveyFactory(), enqueue=False).invitations.get()
    path = f"/survey/{surveys.token_for(invitation)}/"

    phone.goto(path)
    buttons = phone.locator(".scores label")
    assert buttons.count() == 11
    # All eleven buttons fit the screen width, each large enough to tap.
    boxes = [buttons.nth(i).bounding_box() for i in range(11)]
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 375 and b["height"] >= 40 for b in boxes)
    phone.screenshot(path=str(tmp_path / "answer.png"), full_page=True)

    buttons.nth(9).tap()
    phone.fill("#comment", "いつも丁寧な対応ありがとうございます")
    phone.get_by_role("button", name="回答を送信").click()
    assert phone.get_by_role("heading", name="ご回答ありがとうございました。").is_visible()

    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.comment) == (9, "いつも丁寧な対応ありがとうございます")
    phone.goto(path)
    assert phone.get_by_role("heading", name="このアンケートは回答済みです。").is_visible()
