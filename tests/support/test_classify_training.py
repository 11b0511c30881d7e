"""The inquiry-type classifier: trained on confirmed inquiries, it suggests a type for new ones; agents confirm
or correct it on the conversation page."""

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.support import classify, desk
from banso.support.models import ClassifierRun, ClassifierTraining, Inquiry

from .factories import AgentFactory, InquiryFactory, InquiryTypeFactory

TEXTS = {
    "予約の変更": [
        ("予約日時の変更", "来週の予約を別の日に変更したいです。"),
        ("日程変更のお願い", "予約の日程を変更できますか。"),
        ("時間変更", "予約の時間を午後に変更してください。"),
        ("予約変更", "作業日を変更したいのですが可能でしょうか。"),
        ("日付の変更", "予約した日付を一週間後に変更希望です。"),
        ("予約の日時変更について", "都合が悪くなったので予約日を変更したい。"),
        ("変更希望", "訪問日時の変更をお願いします。"),
    ],
    "返金": [
        ("返金について", "キャンセルした分の返金はいつになりますか。"),
        ("返金のお願い", "二重に決済されたので返金してください。"),
        ("返金状況", "返金手続きの状況を教えてください。"),
        ("お金が戻らない", "返金がまだ口座に入っていません。"),
        ("返金申請", "サービスに不満があり返金を希望します。"),
        ("返金時期", "クレジットカードへの返金時期はいつですか。"),
        ("返金額", "返金額が少ないように思います。"),
    ],
    "ログインできない": [
        ("ログインできません", "パスワードを入力してもログインできません。"),
        ("パスワード忘れ", "パスワードを忘れてログインできない。"),
        ("ログインエラー", "ログインしようとするとエラーになります。"),
        ("アカウントに入れない", "アカウントにログインできなくなりました。"),
        ("認証コードが届かない", "ログイン時の認証コードが届きません。"),
        ("ログイン不可", "スマホアプリからログインできない状態です。"),
        ("再設定", "パスワード再設定メールが来ずログインできません。"),
    ],
}


@pytest.fixture
def confirmed(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    agent = AgentFactory()
    types = {}
    for name, rows in TEXTS.items():
        types[name] = InquiryTypeFactory(name=name)
        for subject, body in rows:
            InquiryFactory(subject=subject, first_message=body, inquiry_type=types[name], type_confirmed_by=agent)
    return types


def test_training_records_holdout_quality_and_per_type_counts(confirmed):
    run = classify.train()
    assert run.active and run.samples == 21 and run.types == 3
    assert 0 <= run.accuracy <= 1 and 0 <= run.macro_f1 <= 1
    assert sorted(run.metrics["per_type"].values()) == [7, 7, 7]
    assert ClassifierRun.objects.filter(active=True).count() == 1


def test_new_inquiry_gets_a_suggested_type_with_confidence(confirmed):
    classify.train()
    inquiry = desk.open_inquiry(channel="email", subject="返金の件", body="キャンセルしたので返金をお願いします")
    inquiry.refresh_from_db()
    assert inquiry.suggested_type == confirmed["返金"]
    assert 0 < inquiry.suggested_confidence <= 1


def test_a_newer_training_replaces_the_model_in_use(confirmed):
    first = classify.train()
    second = classify.train()
    assert not ClassifierRun.objects.get(pk=first.pk).active
    classify.predict("ログインできない", "パスワード")
    assert classify._loaded["run"] == second.pk


def test_no_model_leaves_the_inquiry_unclassified(db):
    inquiry = desk.open_inquiry(channel="chat", subject="質問", body="質問があります")
    inquiry.refresh_from_db()
    assert inquiry.suggested_type is None and inquiry.suggested_confidence is None


def test_a_missing_model_file_never_fails_the_inquiry(confirmed):
    run = classify.train()
    ClassifierRun.objects.filter(pk=run.pk).update(path="/nonexistent/model.joblib")
    classify._loaded["run"] = None
    inquiry = desk.open_inquiry(channel="chat", subject="返金", body="返金してください")
    assert Inquiry.objects.get(pk=inquiry.pk).suggested_type is None


def test_too_little_confirmed_data_is_refused_with_a_reason(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    t = InquiryTypeFactory()
    for _ in range(6):
        InquiryFactory(inquiry_type=t)
    with pytest.raises(classify.ClassifierError):
        classify.train()
    run = classify.execute(ClassifierTraining.objects.create(as_of="2026-01-05"))
    assert run.status == "failed" and "5" in run.error


def test_background_training_records_progress_and_result(confirmed):
    run = classify.execute(ClassifierTraining.objects.create(as_of="2026-01-05"))
    assert run.status == "succeeded" and run.percent == 100 and run.result is not None


def test_nightly_job_queues_one_training_per_day(confirmed, django_capture_on_commit_callbacks):
    import datetime as dt
    from zoneinfo import ZoneInfo

    night = dt.datetime(2026, 3, 2, 2, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert classify.due(night.replace(hour=1)) is None
    with django_capture_on_commit_callbacks():
        assert classify.due(night) is not None
    assert classify.due(night) is None
    assert ClassifierTraining.objects.filter(scheduled=True).count() == 1


def test_agent_confirms_or_corrects_the_type_on_the_panel(confirmed, client_as):
    classify.train()
    inquiry = desk.open_inquiry(channel="email", subject="ログイン", body="ログインできません")
    inquiry.refresh_from_db()
    client = client_as(Role.SUPPORT_AGENT)
    url = reverse("support:classify_confirm", args=[inquiry.pk])
    panel = client.get(url)
    assert panel.status_code == 200 and "返金" in panel.content.decode()
    response = client.post(url, {"inquiry_type": confirmed["返金"].pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    inquiry.refresh_from_db()
    assert inquiry.inquiry_type == confirmed["返金"] and inquiry.type_confirmed_by is not None
    stats = classify.acceptance()
    assert stats == {"total": 1, "accepted": 0, "corrected": 1, "rate": 0.0}


def test_viewer_cannot_confirm_a_type(confirmed, client_as):
    inquiry = InquiryFactory()
    response = client_as(Role.VIEWER).post(
        reverse("support:classify_confirm", args=[inquiry.pk]), {"inquiry_type": confirmed["返金"].pk}
    )
    assert response.status_code == 403


def test_classifier_page_shows_runs_and_train_now_queues(confirmed, client_as, django_capture_on_commit_callbacks):
    classify.train()
    client = client_as(Role.OPS_MANAGER)
    page = client.get(reverse("support:classifier"))
    assert page.status_code == 200 and "ログインできない" in page.content.decode()
    response = client.post(reverse("support:classifier_train"))
    assert response.status_code == 302
    run = ClassifierTraining.objects.get()
    assert client.get(reverse("support:classifier_training_progress", args=[run.pk])).status_code == 200


def test_panels_included_with_only_the_inquiry_load_themselves(db):
    from django.template.loader import render_to_string

    inquiry = InquiryFactory()
    panel = render_to_string("support/_classify_panel.html", {"inquiry": inquiry})
    assert f'hx-get="{reverse("support:classify_confirm", args=[inquiry.pk])}"' in panel
    link = render_to_string("support/_improvement_link.html", {"inquiry": inquiry})
    assert f'hx-get="{reverse("support:improvement_link", args=[inquiry.pk])}"' in link
