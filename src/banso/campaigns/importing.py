"""Offers arrive like other records too: through activity's import engine (CSV in cp932 or UTF-8 with BOM, XLSX,
JSON API batches), idempotent by (source, external_id), all or nothing. Each row goes through
`offers.save_offer`, so an import refuses exactly what the form and the API refuse, with the row named; the ASP
is given by its code (a8, valuecommerce …). Registered from campaigns.registry."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.activity.importing import Column, EntitySpec, ImportRefused, ImportResult, Progress, register_spec, row_error
from banso.activity.importing.checking import Checked
from banso.activity.importing.specs import ROW
from banso.core.services import snapshot

from . import offers
from .models import Asp, Offer, OfferCategory, RewardType

ENTITY = "offers"
FIELDS = (
    "advertiser",
    "asp",
    "asp_offer_id",
    "name",
    "category",
    "landing_url",
    "conditions",
    "base_reward_type",
    "base_rate",
    "base_amount",
    "cashback_share",
)


def _write(checked: Checked, actor: Any, progress: Progress | None) -> ImportResult:
    """Each row created or updated through the offers service (audited); the engine's transaction undoes the
    whole batch when any row is refused."""
    present = set(checked.present)
    rows = list(checked.frame.iter_rows(named=True))
    existing = {
        o.external_id: o
        for o in Offer.objects.filter(source=checked.source, external_id__in=[r["external_id"] for r in rows])
    }
    asps = {a.code: a for a in Asp.objects.all()}
    result = ImportResult()
    errors: list[dict[str, Any]] = []
    for done, row in enumerate(rows, start=1):
        offer = existing.get(row["external_id"])
        data = {f: row[f] for f in FIELDS if f in present}
        if "asp" in data:
            asp = asps.get(str(data["asp"] or "").strip())
            if asp is None:
                errors.append(row_error(row[ROW], "asp", _("No ASP with the code %(code)s.") % {"code": data["asp"]}))
                continue
            data["asp"] = asp
        for name in ("cashback_share", "category"):  # empty: the default for a new offer, else unchanged
            if name in data and data[name] is None:
                del data[name]
        for name in ("base_rate", "base_amount"):
            if name in data and data[name] is None:
                data[name] = ""
        before = snapshot(offer, offers.AUDITED) if offer else None
        try:
            saved = offers.save_offer(
                offer,
                data,
                actor=actor,
                via="import",
                source=checked.source,
                external_id=row["external_id"],
            )
        except offers.OfferError as error:
            errors.append(row_error(row[ROW], error.field, error.message))
            continue
        if offer is None:
            result.created += 1
            existing[saved.external_id] = saved
        elif snapshot(saved, offers.AUDITED) != before:
            result.updated += 1
        else:
            result.unchanged += 1
        if progress and done % 200 == 0:
            progress(done, len(rows))
    if errors:
        raise ImportRefused(errors, total_rows=len(rows))
    return result


OFFER_SPEC = EntitySpec(
    ENTITY,
    Offer,
    (
        Column("external_id", "str", required=True, max_length=100),
        Column("advertiser", "ref", required=True, ref="account"),
        Column("asp", "str", required=True, max_length=30),
        Column("asp_offer_id", "str", required=True, max_length=100),
        Column("name", "str", required=True, max_length=200),
        Column("category", "choice", choices=OfferCategory),
        Column("landing_url", "str", max_length=1000),
        Column("conditions", "str"),
        Column("base_reward_type", "choice", required=True, choices=RewardType),
        Column("base_rate", "str", max_length=10),
        Column("base_amount", "str", max_length=20),
        Column("cashback_share", "str", max_length=10),
    ),
    account_attr="advertiser_id",
    write=_write,
)


def register() -> None:
    register_spec(OFFER_SPEC, gettext_lazy("Offers"))
