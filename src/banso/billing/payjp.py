"""Reading PAY.JP data (API objects, dashboard CSV exports) and bank deposit CSVs into plain records.

PAY.JP's documented object shapes (https://pay.jp/docs/api/, the `charge` and `transfer` objects):

- a list response: `{"object": "list", "data": [...], "has_more": bool, "count": n}`;
- `charge`: `id` (`ch_…`), `amount`, `amount_refunded`, `refunded`, `captured`, `paid`, `created` (a UTC Unix
  timestamp), `currency` (`"jpy"` only), `fee_rate` (the processing fee rate as a decimal string, e.g.
  `"3.00"` per cent), `metadata`, and optionally `refunds` (a list with `amount`/`created`);
- `transfer` (入金): `id` (`tr_…`), `amount` (what is paid to the bank), `scheduled_date` (`"YYYY-MM-DD"`),
  `status`, `summary` {`charge_count`, `charge_fee`, `charge_gross`, `net`, `refund_amount`, `refund_count`,
  `dispute_amount`, `dispute_count`} (`dispute_*` since 2020-12-15, https://pay.jp/info/2020-12-10-141657),
  the charges' period `term_start`/`term_end` (or a `term` object with `start_at`/`end_at`), and `charges`
  (a list of the charges it pays out).

The dashboard's CSV downloads name their columns in Japanese or English depending on the account's language
and the export's age, so each field accepts a few names (see `CHARGE_COLUMNS`, `TRANSFER_COLUMNS`).
Uncaptured or unpaid charges (authorisations, failures) move no money and are skipped.

Every problem is reported as (row, column, reason): rows are file lines (the header is line 1) for CSV and
positions in `data` (from 1) for JSON. Nothing is returned unless every row is good.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.utils.translation import gettext as _

from banso.activity.importing import ImportRefused, decode_to_utf8, read_csv, row_error
from banso.core.money import InvalidYen, parse_yen

TOKYO = ZoneInfo("Asia/Tokyo")
API_BASE = "https://api.pay.jp/v1"
MAX_ERRORS = 200


@dataclass
class Txn:
    """One processor transaction as the importer writes it (see `models.ProcessorTransaction`)."""

    kind: str
    external_id: str
    amount: int
    occurred_at: dt.datetime
    charge_id: str = ""
    transfer_id: str = ""
    fee: int = 0
    scheduled_date: dt.date | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deposit:
    date: dt.date
    amount: int
    description: str
    reference: str


def fee_for(amount: int, rate: Decimal | None) -> int:
    """A processing fee in yen: amount × rate %, fractions of a yen dropped (1円未満切り捨て). The expected fee
    is computed with the same rounding so that equal rates always agree."""
    if rate is None:
        return 0
    return int((Decimal(amount) * rate / 100).quantize(Decimal(1), rounding=ROUND_DOWN))


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: int | None, column: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(row_error(row, column, reason))

    def raise_if_any(self, total_rows: int) -> None:
        if self.count:
            raise ImportRefused(self.items, total_rows=total_rows, error_count=self.count)


# --- values -------------------------------------------------------------------------------------------


def _yen(value: Any, errors: _Errors, row: int, column: str, *, required: bool = True) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(row, column, _("A value is required."))
        return None
    try:
        return parse_yen(value if isinstance(value, int) else str(value))
    except InvalidYen:
        errors.add(row, column, _("%(value)s is not a yen amount.") % {"value": value})
        return None


def _rate(value: Any, errors: _Errors, row: int, column: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        rate = Decimal(str(value).strip().removesuffix("%"))
    except InvalidOperation:
        rate = Decimal(-1)
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        errors.add(row, column, _("%(value)s is not a rate in per cent (0–100).") % {"value": value})
        return None
    return rate


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def _date(value: Any, errors: _Errors, row: int, column: str, *, required: bool = True) -> dt.date | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        if required:
            errors.add(row, column, _("A value is required."))
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    for fmt in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    errors.add(row, column, _("%(value)s is not a date (YYYY-MM-DD or YYYY/MM/DD).") % {"value": value})
    return None


def _moment(value: Any, errors: _Errors, row: int, column: str) -> dt.datetime | None:
    """A Unix timestamp (the API) or a date and time in Japan (the dashboard's CSV)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        errors.add(row, column, _("A value is required."))
        return None
    if text.isdigit() and len(text) >= 9:
        return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _DATETIME_FORMATS + _DATE_FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        errors.add(row, column, _("%(value)s is not a date and time.") % {"value": value})
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if not text:
        return None
    if text in {"true", "1", "yes", "はい", "済", "済み", "確定", "○"}:
        return True
    if text in {"false", "0", "no", "いいえ", "未", "未確定"}:
        return False
    return None


# --- API objects --------------------------------------------------------------------------------------


def objects_from_json(data: bytes | str | Mapping[str, Any] | Sequence[Any]) -> list[dict[str, Any]]:
    """The objects in a PAY.JP answer: a list object, one object, or a plain array of objects."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(decode_to_utf8(data) if isinstance(data, bytes) else data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportRefused(
                [row_error(None, "", _("The file is not JSON: %(problem)s") % {"problem": exc})]
            ) from None
    if isinstance(data, Mapping):
        if data.get("object") == "list":
            items = data.get("data")
            if not isinstance(items, list):
                raise ImportRefused([row_error(None, "data", _("A list object needs a data array."))])
            return [dict(item) if isinstance(item, Mapping) else {"_invalid": item} for item in items]
        return [dict(data)]
    if isinstance(data, list):
        return [dict(item) if isinstance(item, Mapping) else {"_invalid": item} for item in data]
    raise ImportRefused([row_error(None, "", _("Expected a PAY.JP object or list of objects."))])


def txns_from_objects(objects: Iterable[Mapping[str, Any]]) -> list[Txn]:
    """Charges and transfers (API shapes) → transactions; refused whole with per-object errors."""
    errors = _Errors()
    out: list[Txn] = []
    total = 0
    for row, obj in enumerate(objects, start=1):
        total = row
        kind = obj.get("object")
        if kind == "charge":
            out.extend(_charge(obj, row, errors, fee=None))
        elif kind == "transfer":
            txn = _transfer(obj, row, errors)
            if txn:
                out.append(txn)
        else:
            errors.add(row, "object", _("%(value)s is not a PAY.JP charge or transfer.") % {"value": kind})
    errors.raise_if_any(total)
    return out


def _charge(
    obj: Mapping[str, Any], row: int, errors: _Errors, *, fee: int | None, cols: Mapping[str, str] | None = None
) -> list[Txn]:
    col = cols or {}

    def name(key: str) -> str:
        return col.get(key, key)

    charge_id = str(obj.get("id") or "").strip()
    if not charge_id:
        errors.add(row, name("id"), _("A value is required."))
    elif not charge_id.startswith("ch_"):
        errors.add(row, name("id"), _("%(value)s is not a PAY.JP charge id (ch_…).") % {"value": charge_id})
    currency = str(obj.get("currency") or "jpy").strip().lower()
    if currency != "jpy":
        errors.add(row, name("currency"), _("Only yen (jpy) is supported, not %(value)s.") % {"value": currency})
    amount = _yen(obj.get("amount"), errors, row, name("amount"))
    refunded = _yen(obj.get("amount_refunded"), errors, row, name("amount_refunded"), required=False) or 0
    rate = _rate(obj.get("fee_rate"), errors, row, name("fee_rate"))
    created = _moment(obj.get("created"), errors, row, name("created"))
    if amount is not None and refunded > amount:
        errors.add(row, name("amount_refunded"), _("The refund exceeds the charge's amount."))
    if amount is None or created is None or not charge_id or errors.count:
        return []
    if _flag(obj.get("captured")) is False or _flag(obj.get("paid")) is False:
        return []
    raw = {k: v for k, v in obj.items() if k not in {"card", "_row"}}
    transfer_id = str(obj.get("transfer") or obj.get("transfer_id") or "")
    fee_amount = fee if fee is not None else fee_for(amount, rate)
    out = [
        Txn("charge", charge_id, amount, created, charge_id=charge_id, transfer_id=transfer_id, fee=fee_amount, raw=raw)
    ]
    if rate is not None or fee is not None:
        out.append(
            Txn(
                "fee",
                charge_id,
                fee_amount,
                created,
                charge_id=charge_id,
                transfer_id=transfer_id,
                raw={"fee_rate": str(rate) if rate is not None else None},
            )
        )
    if refunded:
        refunded_at = created
        refunds = obj.get("refunds")
        if isinstance(refunds, Mapping):
            refunds = refunds.get("data")
        if isinstance(refunds, list):
            moments = [r.get("created") for r in refunds if isinstance(r, Mapping) and r.get("created")]
            if moments:
                refunded_at = max(_moment(m, errors, row, name("refunds")) or created for m in moments)
        out.append(
            Txn(
                "refund",
                charge_id,
                refunded,
                refunded_at,
                charge_id=charge_id,
                transfer_id=transfer_id,
                raw={"refund_reason": obj.get("refund_reason")},
            )
        )
    return out


def _transfer(obj: Mapping[str, Any], row: int, errors: _Errors, cols: Mapping[str, str] | None = None) -> Txn | None:
    col = cols or {}

    def name(key: str) -> str:
        return col.get(key, key)

    transfer_id = str(obj.get("id") or "").strip()
    if not transfer_id:
        errors.add(row, name("id"), _("A value is required."))
    amount = _yen(obj.get("amount"), errors, row, name("amount"))
    scheduled = _date(obj.get("scheduled_date"), errors, row, name("scheduled_date"))
    created_value = obj.get("created")
    created = _moment(created_value, errors, row, name("created")) if created_value else None
    given_summary, given_term = obj.get("summary"), obj.get("term")
    summary: Mapping[str, Any] = given_summary if isinstance(given_summary, Mapping) else {}
    term: Mapping[str, Any] = given_term if isinstance(given_term, Mapping) else {}
    term_start = obj.get("term_start") or term.get("start_at")
    term_end = obj.get("term_end") or term.get("end_at")
    start = _moment(term_start, errors, row, name("term_start")) if term_start else None
    end = _moment(term_end, errors, row, name("term_end")) if term_end else None
    charges = obj.get("charges")
    if isinstance(charges, Mapping):
        charges = charges.get("data")
    charge_ids = [c.get("id") if isinstance(c, Mapping) else c for c in charges] if isinstance(charges, list) else []
    if amount is None or scheduled is None or not transfer_id:
        return None
    raw = {
        "status": obj.get("status"),
        "summary": dict(summary),
        "term_start": start.isoformat() if start else None,
        "term_end": end.isoformat() if end else None,
        "charges": [str(c) for c in charge_ids if c],
    }
    occurred = created or dt.datetime.combine(scheduled, dt.time(0), tzinfo=TOKYO)
    return Txn("transfer", transfer_id, amount, occurred, transfer_id=transfer_id, scheduled_date=scheduled, raw=raw)


# --- CSV exports --------------------------------------------------------------------------------------


def _key(header: str) -> str:
    return re.sub(r"[\s_()（）・/]", "", unicodedata.normalize("NFKC", header)).lower()


CHARGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "chargeid", "支払いid", "課金id", "決済id"),
    "amount": ("amount", "金額", "支払い金額", "支払金額", "決済金額", "売上金額"),
    "amount_refunded": ("amount_refunded", "amountrefunded", "返金額", "返金金額", "返金済み金額"),
    "fee": ("fee", "手数料", "決済手数料", "手数料額"),
    "fee_rate": ("fee_rate", "feerate", "手数料率", "決済手数料率"),
    "created": ("created", "createdat", "作成日時", "支払い日時", "決済日時", "日時", "作成日"),
    "captured": ("captured", "売上確定", "確定"),
    "paid": ("paid", "支払い済み", "認証済み"),
    "currency": ("currency", "通貨"),
    "transfer": ("transfer", "transferid", "入金id"),
}
TRANSFER_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "transferid", "入金id", "振込id"),
    "amount": ("amount", "入金額", "入金金額", "振込金額", "振込額"),
    "scheduled_date": ("scheduled_date", "scheduleddate", "入金予定日", "振込予定日", "入金日"),
    "status": ("status", "ステータス", "状態"),
    "charge_gross": ("charge_gross", "chargegross", "売上", "売上合計", "売上金額", "支払い総額"),
    "charge_fee": ("charge_fee", "chargefee", "決済手数料", "手数料", "手数料合計"),
    "refund_amount": ("refund_amount", "refundamount", "返金額", "返金合計"),
    "net": ("net", "差引額", "純額"),
    "term_start": ("term_start", "termstart", "集計開始日", "集計期間開始", "対象期間開始"),
    "term_end": ("term_end", "termend", "集計終了日", "集計期間終了", "対象期間終了"),
    "created": ("created", "作成日時"),
}
BANK_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("日付", "取引日", "年月日", "お取引日", "取扱日", "勘定日", "date"),
    "description": ("摘要", "内容", "取引内容", "お取引内容", "お取引内容摘要", "description"),
    "deposit": (
        "入金額",
        "お預り金額",
        "お預り金額円",
        "お預入金額",
        "預入金額",
        "入金",
        "お預り",
        "deposit",
        "credit",
    ),
    "withdrawal": ("出金額", "お引出金額", "お支払金額", "お引出し金額", "出金", "お引出", "withdrawal", "debit"),
    "balance": ("残高", "差引残高", "balance"),
    "reference": ("取引番号", "照会番号", "明細番号", "通番", "id", "reference"),
}


def _resolve(frame: pl.DataFrame, aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Our field name → the file's column, for the fields the file has."""
    by_key = {_key(c): c for c in frame.columns}
    found: dict[str, str] = {}
    for name, names in aliases.items():
        for alias in names:
            if _key(alias) in by_key:
                found[name] = by_key[_key(alias)]
                break
    return found


def _missing(found: Mapping[str, str], required: Iterable[str], aliases: Mapping[str, tuple[str, ...]]) -> None:
    absent = [name for name in required if name not in found]
    if absent:
        raise ImportRefused(
            [
                row_error(
                    1,
                    aliases[name][0],
                    _("Required column is missing (accepted names: %(names)s).") % {"names": ", ".join(aliases[name])},
                )
                for name in absent
            ]
        )


def csv_kind(data: bytes) -> str:
    """ "payjp_transfers" or "payjp_charges": a file with a scheduled date lists transfers."""
    frame = read_csv(data)
    return "payjp_transfers" if "scheduled_date" in _resolve(frame, TRANSFER_COLUMNS) else "payjp_charges"


def txns_from_csv(data: bytes) -> tuple[str, list[Txn]]:
    """A PAY.JP dashboard export (charges or transfers) → (kind of file, transactions)."""
    frame = read_csv(data)
    transfers = _resolve(frame, TRANSFER_COLUMNS)
    errors = _Errors()
    out: list[Txn] = []
    if "scheduled_date" in transfers:
        _missing(transfers, ("id", "amount", "scheduled_date"), TRANSFER_COLUMNS)
        for index, record in enumerate(frame.iter_rows(named=True)):
            row = index + 2
            values: dict[str, Any] = {name: record[col] for name, col in transfers.items()}
            summary = {k: values.pop(k) for k in ("charge_gross", "charge_fee", "refund_amount", "net") if k in values}
            obj = {
                **values,
                "summary": {k: _yen(v, errors, row, transfers[k], required=False) for k, v in summary.items()},
            }
            txn = _transfer(obj, row, errors, cols=transfers)
            if txn:
                out.append(txn)
        errors.raise_if_any(frame.height)
        return "payjp_transfers", out
    charges = _resolve(frame, CHARGE_COLUMNS)
    _missing(charges, ("id", "amount", "created"), CHARGE_COLUMNS)
    for index, record in enumerate(frame.iter_rows(named=True)):
        row = index + 2
        obj = {name: record[col] for name, col in charges.items()}
        fee = _yen(obj.pop("fee", None), errors, row, charges.get("fee", "fee"), required=False)
        out.extend(_charge(obj, row, errors, fee=fee, cols=charges))
    errors.raise_if_any(frame.height)
    return "payjp_charges", out


def read_payjp(data: bytes, filename: str = "") -> tuple[str, list[Txn]]:
    """A PAY.JP file of either format: JSON (API shapes) when it looks like JSON, else a CSV export."""
    head = decode_to_utf8(data[:4096] if len(data) > 4096 else data).lstrip()[:1] if data else b""
    if filename.lower().endswith(".json") or head in (b"{", b"["):
        return "payjp_api", txns_from_objects(objects_from_json(data))
    return txns_from_csv(data)


def _bank_preamble(text: bytes) -> int:
    """Lines before the header: many banks put the account's name, number and period above the table."""
    dates = {_key(a) for a in BANK_COLUMNS["date"]}
    deposits = {_key(a) for a in BANK_COLUMNS["deposit"]}
    for index, line in enumerate(text[:8192].decode("utf-8", errors="ignore").splitlines()[:20]):
        cells = {_key(cell.strip().strip('"')) for cell in line.split(",")}
        if cells & dates and cells & deposits:
            return index
    return 0


def deposits_from_csv(data: bytes) -> list[Deposit]:
    """A Japanese internet-banking statement (cp932 or UTF-8) → its deposits; withdrawals are skipped.

    The reference is the bank's own row id where the export has one, else a hash of the date, amount,
    description and the row's occurrence among identical rows: importing the same statement twice (or an
    overlapping one) finds the same references."""
    text = decode_to_utf8(data)
    skipped = _bank_preamble(text)
    frame = read_csv(b"\n".join(text.split(b"\n")[skipped:]) if skipped else text)
    cols = _resolve(frame, BANK_COLUMNS)
    _missing(cols, ("date", "deposit"), BANK_COLUMNS)
    errors = _Errors()
    out: list[Deposit] = []
    seen: Counter[tuple[str, int, str]] = Counter()
    for index, record in enumerate(frame.iter_rows(named=True)):
        row = index + 2 + skipped
        raw_amount = record[cols["deposit"]]
        if raw_amount is None or not str(raw_amount).strip():
            withdrawal = record[cols["withdrawal"]] if "withdrawal" in cols else None
            blank = withdrawal is None or not str(withdrawal).strip()
            if blank and any(v is not None and str(v).strip() for v in record.values()):
                errors.add(row, cols["deposit"], _("A row needs a deposit or a withdrawal amount."))
            continue
        day = _date(record[cols["date"]], errors, row, cols["date"])
        amount = _yen(unicodedata.normalize("NFKC", str(raw_amount)), errors, row, cols["deposit"])
        if amount == 0:
            continue
        description = (
            unicodedata.normalize("NFKC", str(record[cols["description"]] or "")).strip()
            if "description" in cols
            else ""
        )
        if day is None or amount is None:
            continue
        bank_ref = str(record[cols["reference"]] or "").strip() if "reference" in cols else ""
        if bank_ref:
            reference = f"bank:{bank_ref}"
        else:
            key = (day.isoformat(), amount, description)
            occurrence = seen[key]
            seen[key] += 1
            digest = hashlib.sha256(f"{key[0]}|{amount}|{description}|{occurrence}".encode()).hexdigest()[:40]
            reference = f"h:{digest}"
        out.append(Deposit(day, amount, description[:200], reference))
    errors.raise_if_any(frame.height)
    return out


# --- the REST API -------------------------------------------------------------------------------------


def fetch(secret_key: str, since: dt.datetime, *, client: Any = None, page: int = 100) -> list[dict[str, Any]]:
    """Every charge and transfer created since `since`, through PAY.JP's REST API (Basic auth with the secret
    key as the user name; list endpoints take `since` (Unix time), `limit` ≤ 100 and `offset`, and answer
    with `has_more`). `client` is an httpx.Client (tests pass one with a MockTransport)."""
    import httpx

    own = client is None
    http = client or httpx.Client(timeout=30)
    try:
        out: list[dict[str, Any]] = []
        for resource in ("charges", "transfers"):
            offset = 0
            while True:
                answer = http.get(
                    f"{API_BASE}/{resource}",
                    params={"since": int(since.timestamp()), "limit": page, "offset": offset},
                    auth=(secret_key, ""),
                )
                answer.raise_for_status()
                body = answer.json()
                items = body.get("data") or []
                out.extend(items)
                offset += len(items)
                if not body.get("has_more") or not items:
                    break
        return out
    finally:
        if own:
            http.close()
