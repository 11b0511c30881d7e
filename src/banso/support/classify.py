"""The inquiry-type classifier: trained on the workspace's own inquiries whose type an agent confirmed, it
suggests a type (with a probability) for each new inquiry; agents confirm or correct it, which feeds the
next training.

Text is the subject plus the customer's first message, normalised (NFKC, case, kana) and cut into words by
the knowledge base's MeCab analyser (search.analyse: content-word lemmas and their readings). Measured against
character 1–3-grams on the demo's phrasings, holding out one phrasing of every type (new wording for a known
reason, which is what a classifier meets): lemmas 0.51 accuracy / 0.44 macro-F1, character n-grams 0.40 /
0.31, both together 0.43 / 0.37. A logistic regression over the TF-IDF weights gives a probability per type.
Quality is measured on a 20 % hold-out (stratified) before the final fit on everything, and kept on the
ClassifierRun.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from banso.core.choices import AuditAction
from banso.core.models import RunStatus, User
from banso.core.services import record_change
from banso.core.text import normalise

from .models import AuthorKind, ClassifierRun, ClassifierTraining, Inquiry, InquiryType, Message

log = logging.getLogger(__name__)

# The minimum data rule: at least this many types, each with at least this many confirmed examples.
MIN_TYPES = 2
MIN_EXAMPLES = 5
HOLDOUT = 0.2
SEED = 20240401
# Nightly retraining from this time (Japan) on.
NIGHTLY_AT = dt.time(2, 0)
METHOD = "tfidf-mecab-lemmas+logreg"


class ClassifierError(Exception):
    """Not enough confirmed data (or another reason training cannot run); the message says what is missing."""


def model_dir() -> Path:
    return Path(settings.VAR_DIR) / "support" / "classifier"


def text_of(subject: str, body: str) -> str:
    return normalise(f"{subject}\n{body}")


def _first_customer_message() -> Subquery:
    first = Message.objects.filter(inquiry=OuterRef("pk"), author_kind=AuthorKind.CUSTOMER).order_by("created_at", "id")
    return Subquery(first.values("body")[:1])


def training_rows() -> list[tuple[str, int]]:
    """(text, type id) for every confirmed, unmerged inquiry whose type is still active."""
    rows = (
        Inquiry.objects.filter(inquiry_type__isnull=False, inquiry_type__active=True, merged_into__isnull=True)
        .annotate(first_body=_first_customer_message())
        .values_list("subject", "first_body", "inquiry_type_id")
    )
    return [(text_of(subject, body or ""), type_id) for subject, body, type_id in rows.iterator(chunk_size=5000)]


def check_minimum(counts: Counter[int]) -> None:
    usable = [t for t, n in counts.items() if n >= MIN_EXAMPLES]
    if len(usable) < MIN_TYPES:
        raise ClassifierError(
            _(
                "Not enough confirmed inquiries to train: at least %(types)d types need %(examples)d confirmed "
                "inquiries each (now %(usable)d types have enough)."
            )
            % {"types": MIN_TYPES, "examples": MIN_EXAMPLES, "usable": len(usable)}
        )


def words(text: str) -> list[str]:
    """The text's content-word lemmas (and readings), as the help-centre search sees them. Module level: the
    stored model refers to it by name."""
    from .search import analyse

    return list(analyse(text)[0])


def _pipeline() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer=words, sublinear_tf=True, min_df=1, max_features=300_000),
        LogisticRegression(C=10.0, max_iter=2000),
    )


def evaluate(texts: list[str], labels: list[int]) -> tuple[float, float]:
    """Accuracy and macro F1 on a 20 % hold-out, stratified when every type has two examples or more."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    n_test = max(1, round(len(labels) * HOLDOUT))
    stratify = labels if min(counts.values()) >= 2 and n_test >= len(counts) else None
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=HOLDOUT, random_state=SEED, stratify=stratify
    )
    model = _pipeline().fit(x_train, y_train)
    predicted = model.predict(x_test)
    return float(accuracy_score(y_test, predicted)), float(f1_score(y_test, predicted, average="macro"))


def train(progress: Callable[[int, str], None] | None = None) -> ClassifierRun:
    """Measure on a hold-out, fit on all confirmed inquiries, store the model and make it the active one."""

    def step(percent: int, text: str) -> None:
        if progress:
            progress(percent, text)

    step(5, _("Reading confirmed inquiries"))
    rows = training_rows()
    counts: Counter[int] = Counter(label for _text, label in rows)
    check_minimum(counts)
    # Types with too few examples cannot be learnt (nor split); they wait for more confirmations.
    keep = {t for t, n in counts.items() if n >= MIN_EXAMPLES}
    rows = [(text, label) for text, label in rows if label in keep]
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    step(30, _("Measuring on a held-out fifth"))
    accuracy, macro_f1 = evaluate(texts, labels)
    step(65, _("Fitting on all confirmed inquiries"))
    model = _pipeline().fit(texts, labels)
    step(90, _("Saving the model"))
    folder = model_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now()
    path = folder / f"classifier-{stamp:%Y%m%dT%H%M%S%f}.joblib"
    joblib.dump(model, path)
    with transaction.atomic():
        ClassifierRun.objects.filter(active=True).update(active=False)
        run = ClassifierRun.objects.create(
            trained_at=stamp,
            samples=len(labels),
            types=len(keep),
            accuracy=accuracy,
            macro_f1=macro_f1,
            path=str(path),
            active=True,
            metrics={"per_type": {str(t): counts[t] for t in sorted(keep)}, "method": METHOD},
        )
    return run


# Suggesting ---------------------------------------------------------------------------------------------

_loaded: dict[str, Any] = {"run": None, "model": None}
_lock = threading.Lock()


def _active_model() -> Any | None:
    """The active run's model, loaded once per process and reloaded when a newer run becomes active."""
    run_id = ClassifierRun.objects.filter(active=True).order_by("-trained_at", "-id").values_list("pk", "path").first()
    if run_id is None:
        return None
    pk, path = run_id
    with _lock:
        if _loaded["run"] != pk:
            _loaded["model"] = joblib.load(path)
            _loaded["run"] = pk
        return _loaded["model"]


def predict(subject: str, body: str) -> tuple[int, float] | None:
    model = _active_model()
    if model is None:
        return None
    probabilities = model.predict_proba([text_of(subject, body)])[0]
    best = int(probabilities.argmax())
    return int(model.classes_[best]), float(probabilities[best])


def suggest(inquiry: Inquiry) -> None:
    """Set inquiry.suggested_type / suggested_confidence from the active model (no model: leave empty). Never
    fails the inquiry: a missing or unreadable model file is logged and the inquiry goes on unclassified."""
    try:
        with transaction.atomic():
            first = (
                Message.objects.filter(inquiry=inquiry, author_kind=AuthorKind.CUSTOMER)
                .order_by("created_at", "id")
                .values_list("body", flat=True)
                .first()
            )
            result = predict(inquiry.subject, first or "")
            if result is None:
                return
            type_id, confidence = result
            if not InquiryType.objects.filter(pk=type_id, active=True).exists():
                return
            inquiry.suggested_type_id = type_id
            inquiry.suggested_confidence = round(confidence, 4)
            Inquiry.objects.filter(pk=inquiry.pk).update(suggested_type_id=type_id, suggested_confidence=confidence)
    except Exception:  # the inquiry must arrive whatever happens to the model
        log.exception("inquiry type suggestion failed for inquiry %s", inquiry.pk)


def confirm(inquiry: Inquiry, inquiry_type: InquiryType, actor: User | None, via: str = "ui") -> Inquiry:
    """An agent confirms (or corrects) the inquiry's type; the next training learns from it."""
    with transaction.atomic():
        before = {"inquiry_type": inquiry.inquiry_type_id}
        inquiry.inquiry_type = inquiry_type
        inquiry.type_confirmed_by = actor
        inquiry.save(update_fields=["inquiry_type", "type_confirmed_by"])
        record_change(
            actor=actor,
            obj=inquiry,
            action=AuditAction.UPDATE,
            before=before,
            after={"inquiry_type": inquiry_type.pk},
            account_id=inquiry.account_id,
            via=via,
        )
    return inquiry


# Reading: the classifier page ---------------------------------------------------------------------------


def acceptance() -> dict[str, Any]:
    """How often agents kept the suggested type vs corrected it (inquiries with both a suggestion and a
    confirmed type)."""
    judged = Inquiry.objects.filter(suggested_type__isnull=False, type_confirmed_by__isnull=False)
    numbers = judged.aggregate(
        total=Count("id"), accepted=Count("id", filter=Q(inquiry_type_id=F("suggested_type_id")))
    )
    total, accepted = numbers["total"] or 0, numbers["accepted"] or 0
    return {
        "total": total,
        "accepted": accepted,
        "corrected": total - accepted,
        "rate": (accepted / total) if total else None,
    }


def type_counts() -> list[dict[str, Any]]:
    """Confirmed inquiries per type (what the next training would learn from) and suggestions kept per type."""
    rows = (
        InquiryType.objects.annotate(
            confirmed=Count("inquiries", filter=Q(inquiries__merged_into__isnull=True)),
        )
        .order_by("-confirmed", "name")
        .values("pk", "name", "active", "confirmed")
    )
    return [dict(r, enough=r["confirmed"] >= MIN_EXAMPLES) for r in rows]


def active_run() -> ClassifierRun | None:
    return ClassifierRun.objects.filter(active=True).order_by("-trained_at", "-id").first()


def pending_training() -> ClassifierTraining | None:
    return ClassifierTraining.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


# Background training ------------------------------------------------------------------------------------


def start_training(
    actor: User | None = None, scheduled: bool = False, as_of: dt.date | None = None
) -> ClassifierTraining:
    run = ClassifierTraining.objects.create(
        as_of=as_of or timezone.localdate(), triggered_by=actor, scheduled=scheduled
    )
    transaction.on_commit(lambda: train_classifier.enqueue(run.pk))
    return run


def execute(run: ClassifierTraining) -> ClassifierTraining:
    """Carry out a training run here, recording progress and outcome on it."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        run.result = train(progress=run.progress)
        run.status = RunStatus.SUCCEEDED
        run.progress(100, _("Done"))
    except ClassifierError as error:
        run.status, run.error = RunStatus.FAILED, str(error)
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "result"])
    return run


@task()
def train_classifier(run_id: int) -> str:
    """The worker carries out one queued training."""
    run, claimed = ClassifierTraining.claim(run_id)
    if not claimed:
        return run.status
    return execute(run).status


def due(now: dt.datetime) -> str | None:
    """The scheduler's question: one nightly training (from 02:00 Japan time), however many schedulers ask."""
    local = timezone.localtime(now)
    if local.time() < NIGHTLY_AT:
        return None
    day = local.date()
    if ClassifierTraining.objects.filter(as_of=day, scheduled=True).exists():
        return None
    try:
        with transaction.atomic():
            start_training(scheduled=True, as_of=day)
    except IntegrityError:
        return None
    return _("Inquiry classifier: queued the nightly training for %(day)s") % {"day": day.isoformat()}


def register() -> None:
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("support-classifier", due))
