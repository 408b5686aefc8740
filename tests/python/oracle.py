"""An independent, pure-Python reading of ``docs/contracts/gold.md``, computed from raw
source rows.

The gold-rule tests compare the warehouse built by ``medallion run`` with what this
module derives from the very rows the test wrote into the sources. It shares no code,
no SQL and no intermediate table with the models, so an agreement between the two is
evidence and a disagreement points at one rule. It uses plain dicts and ``Decimal``,
so money is exact to the cent and every rounding is stated.

Where ``gold.md`` leaves a choice open, the reading taken here is written beside the
code as ``Reading:``; the test report repeats them. The readings chosen are the most
literal ones, and the scenario of the tests is built so that most of them do not
matter (for example, no two top customers share a total).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any, Protocol

Row = dict[str, Any]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
UNKNOWN_KEY = -1

# Reading: gold.md says "valid emails only" without a grammar. A valid email here is
# one "@" with a non-empty local part and a dotted domain, no whitespace. The scenario
# only uses clearly valid addresses and the clearly invalid "not-an-email".
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# sources.md: the enum of transactions.status and the territories
STATUSES = ("Shipped", "Resolved", "Cancelled", "On Hold", "Disputed", "In Process")
TERRITORIES = ("NA", "EMEA", "APAC", "Japan")
# a transaction dated after this is a sentinel or a typo (dbt var max_valid_date)
MAX_VALID_DATE = dt.date(2099, 12, 31)


@dataclass(frozen=True)
class Thresholds:
    """The dbt vars of gold.md, with the contract's defaults."""

    restocking_fee_rate: Decimal = Decimal("0.10")
    large_order_threshold: Decimal = Decimal("5000")
    high_value_threshold: Decimal = Decimal("10000")
    medium_value_threshold: Decimal = Decimal("5000")
    deal_size_small_below: Decimal = Decimal("3000")
    deal_size_medium_below: Decimal = Decimal("7000")
    top_customers_limit: int = 10
    amount_tolerance: Decimal = Decimal("0.01")


class LandedFile(Protocol):
    """What the oracle needs of a landing file: where, when, and its rows (as text)."""

    path: str
    modified_at: dt.datetime
    rows: list[Row]


@dataclass(frozen=True)
class Sources:
    """Every raw row of one scenario: both databases' tables and the landing files."""

    archive: Mapping[str, Sequence[Row]]
    live: Mapping[str, Sequence[Row]]
    fiscal_calendar: Sequence[Row] = ()
    surveys: Sequence[LandedFile] = ()
    expenses: Sequence[LandedFile] = ()


# --- scalar helpers ---------------------------------------------------------------------


def round_half_away(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Round to ``places``, a half away from zero (gold.md's rounding for the fee).

    Rounded on the absolute value with ROUND_HALF_UP and the sign put back, so the rule
    reads the same for refunds (negative) as for sales; banker's rounding and binary
    floats are exactly what this must not do (0.005 -> 0.01, 0.035 -> 0.04).
    """
    magnitude = abs(value).quantize(places, rounding=ROUND_HALF_UP)
    return -magnitude if value < 0 else magnitude


def to_money(value: Any) -> Decimal | None:
    """A source money value (Decimal, int, text, float) as a Decimal, None for NULL.

    Floats go through their shortest text form, which is what the source typed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value).strip())


def cents(value: Decimal | None) -> Decimal | None:
    """A money result as gold.md stores it: decimal(18,2), half away from zero."""
    return None if value is None else round_half_away(value)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """A source datetime, or None when it is NULL, a zero date or unparseable.

    gold.md rule 1 ranks all three of those as the oldest possible version.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def recency(value: Any) -> tuple[bool, dt.datetime]:
    """A sort key for "latest updated_at wins": missing or zero dates sort oldest."""
    parsed = parse_timestamp(value)
    return (parsed is not None, parsed or dt.datetime.min)


def parse_date(value: Any) -> dt.date | None:
    """The calendar date of a source datetime or date text (timestamps are UTC)."""
    parsed = parse_timestamp(value)
    return None if parsed is None else parsed.date()


def standardise(value: Any, accepted: Sequence[str]) -> str | None:
    """A status or territory as staging writes it: its accepted spelling whatever the
    case and stray spaces; else as sent without the spaces; None when empty.

    Reading: "stray whitespace" is spaces (what SQL's trim removes on both warehouses).
    """
    if value is None:
        return None
    text = str(value).strip(" ")
    by_lower = {a.lower(): a for a in accepted}
    return by_lower.get(text.lower(), text or None)


def product_code_of(value: Any) -> str | None:
    """A product code as both staging models write it: trimmed, upper case (`' s11_1001'`
    is product `S11_1001`); None when empty."""
    if value is None:
        return None
    return str(value).strip(" ").upper() or None


def normalise_email(value: Any) -> str | None:
    """``lower(trim(email))`` when that is a valid address, else None (gold.md rule 3)."""
    if value is None:
        return None
    email = str(value).strip().lower()
    return email if EMAIL_PATTERN.match(email) else None


def parse_amount_text(value: Any) -> Decimal | None:
    """A landing-file number as a Decimal: ``1.234,50``, ``1,234.50`` and ``1234.5``.

    Reading: when both ``.`` and ``,`` occur, the right-most one is the decimal
    separator and the other groups thousands; a lone ``,`` followed by one or two
    digits is a decimal comma (``12,5``), any other lone ``,`` groups thousands.
    """
    if value is None:
        return None
    text = str(value).strip().replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if re.fullmatch(r"-?\d+,\d{1,2}", text):
            text = text.replace(",", ".")
        else:
            text = text.replace(",", "")
    return Decimal(text)


def parse_int(value: Any) -> int | None:
    """A landing-file integer (text), None when empty."""
    if value is None or not str(value).strip():
        return None
    return int(str(value).strip())


def mask_pii(value: str | None) -> str | None:
    """A personal value as the marts show it: the hex SHA-256 of its UTF-8 bytes.

    Computed here with ``hashlib``, never read from the warehouse: the marts must hold
    exactly this for the standardised value (README, *Personal data*).
    """
    return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


def full_name(first: Any, last: Any) -> str | None:
    """``first last`` with each part trimmed (gold.md rule 5: names trimmed)."""
    parts = [str(p).strip() for p in (first, last) if p is not None and str(p).strip()]
    return " ".join(parts) or None


def segment_for(total: Decimal, thresholds: Thresholds = Thresholds()) -> str:
    """``customer_segment`` of gold.md: High >= 10000, Medium >= 5000, else Low."""
    if total >= thresholds.high_value_threshold:
        return "High"
    if total >= thresholds.medium_value_threshold:
        return "Medium"
    return "Low"


def deal_size_for(amount: Decimal, thresholds: Thresholds = Thresholds()) -> str:
    """``deal_size`` by ``abs(amount)``: Small < 3000, Medium < 7000, else Large."""
    size = abs(amount)
    if size < thresholds.deal_size_small_below:
        return "Small"
    if size < thresholds.deal_size_medium_below:
        return "Medium"
    return "Large"


def restocking_fee_for(amount: Decimal, thresholds: Thresholds = Thresholds()) -> Decimal:
    """10% of a refund's absolute amount, to the cent half away from zero; 0 for sales."""
    if amount >= 0:
        return ZERO
    return round_half_away(thresholds.restocking_fee_rate * abs(amount))


def nps_for(scores: Iterable[int]) -> Decimal | None:
    """Percent promoters (9-10) minus percent detractors (0-6); None with no scores."""
    values = list(scores)
    if not values:
        return None
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return Decimal(100 * (promoters - detractors)) / Decimal(len(values))


def dense_rank(values: Sequence[Decimal]) -> list[int]:
    """Dense rank of each value, highest first (ties share a rank, no gaps)."""
    distinct = sorted(set(values), reverse=True)
    position = {value: rank for rank, value in enumerate(distinct, start=1)}
    return [position[v] for v in values]


def pick_latest(candidates: Sequence[Row], tie_breakers: Callable[[Row], tuple[Any, ...]]) -> Row:
    """The winning version: latest ``updated_at`` first, then the given tie-breakers."""
    return max(candidates, key=lambda row: (recency(row.get("updated_at")), *tie_breakers(row)))


def consolidate(
    archive_rows: Sequence[Row], live_rows: Sequence[Row], key: str
) -> dict[Hashable, Row]:
    """gold.md rule 1: one version per primary key across archive and live.

    The latest ``updated_at`` wins, a zero or missing one is the oldest, and on a tie
    the live row wins. Each kept row carries ``_source`` ("archive" or "live").
    """
    versions: dict[Hashable, list[Row]] = defaultdict(list)
    for source, rows in (("archive", archive_rows), ("live", live_rows)):
        for row in rows:
            versions[row[key]].append({**row, "_source": source})
    return {
        pk: pick_latest(candidates, lambda row: (row["_source"] == "live",))
        for pk, candidates in versions.items()
    }


def newest_file_rows(files: Sequence[LandedFile], key: str) -> list[Row]:
    """gold.md rule 4: one row per key across landing files; the newest file wins.

    Reading: "newest" is the latest modification time (the landing time), then the
    later path; within one file the later record wins. Each row carries ``_file``.
    """
    ordered = sorted(files, key=lambda f: (f.modified_at, f.path))
    kept: dict[Any, Row] = {}
    for landed in ordered:
        for row in landed.rows:
            kept[str(row[key]).strip()] = {**row, "_file": landed.path}
    return list(kept.values())


def _sorted(rows: Iterable[Row], *keys: str) -> list[Row]:
    """Rows sorted by the given columns, None first, so listings are stable."""
    return sorted(rows, key=lambda r: tuple((r[k] is not None, r[k]) for k in keys))


# --- the oracle -------------------------------------------------------------------------


@dataclass
class Oracle:
    """Every silver rule and gold table of gold.md, derived from one ``Sources``."""

    sources: Sources
    thresholds: Thresholds = field(default_factory=Thresholds)

    def _table(self, source: str, table: str) -> Sequence[Row]:
        tables = self.sources.archive if source == "archive" else self.sources.live
        return tables.get(table, ())

    # silver: customers ------------------------------------------------------------------

    @cached_property
    def customers(self) -> dict[int, Row]:
        """Consolidated customers (rule 1) by id, with standardised email and name."""
        rows = consolidate(
            self._table("archive", "customers"), self._table("live", "customers"), "customer_id"
        )
        return {
            int(pk): {
                **row,
                "email_normalised": normalise_email(row.get("email")),
                "full_name": full_name(row.get("first_name"), row.get("last_name")),
            }
            for pk, row in rows.items()
        }

    @cached_property
    def key_map(self) -> dict[int, int]:
        """Rule 3: every customer id -> its survivor (itself when not merged).

        Customers sharing a valid normalised email are one; the survivor is the most
        recently updated record, then the live one, then the lowest id. Null and
        invalid emails never merge.
        """
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in self.customers.values():
            if row["email_normalised"]:
                groups[row["email_normalised"]].append(row)
        mapping = {cid: cid for cid in self.customers}
        for members in groups.values():
            survivor = pick_latest(
                members, lambda row: (row["_source"] == "live", -int(row["customer_id"]))
            )
            for member in members:
                mapping[int(member["customer_id"])] = int(survivor["customer_id"])
        return mapping

    # silver: products -------------------------------------------------------------------

    @cached_property
    def products(self) -> dict[str, Row]:
        """Consolidated products (rule 1) by product_code."""
        return {
            product_code_of(pk): row
            for pk, row in consolidate(
                self._table("archive", "products"), self._table("live", "products"), "product_code"
            ).items()
        }

    # silver: transactions ---------------------------------------------------------------

    @cached_property
    def consolidated_transactions(self) -> dict[int, Row]:
        """Rule 1 on transactions: one version per transaction_id."""
        rows = consolidate(
            self._table("archive", "transactions"),
            self._table("live", "transactions"),
            "transaction_id",
        )
        return {int(pk): row for pk, row in rows.items()}

    @cached_property
    def deduplicated_transactions(self) -> dict[int, Row]:
        """Rule 2: one transaction per (order_number, order_line_number).

        Latest ``updated_at``, then live over archive, then the lowest transaction_id.
        Reading: deduplication comes before quarantine (the kept version is the truth,
        and a rejected latest version does not revive an older one); the scenario
        never makes this order matter.
        """
        lines: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
        for row in self.consolidated_transactions.values():
            lines[(row["order_number"], row["order_line_number"])].append(row)
        kept = [
            pick_latest(
                candidates,
                lambda row: (row["_source"] == "live", -int(row["transaction_id"])),
            )
            for candidates in lines.values()
        ]
        return {int(row["transaction_id"]): row for row in kept}

    def rejection_reason(self, row: Row) -> str | None:
        """The quarantine reason of a transaction, None when it is valid.

        Reading: one reason per row, checked in gold.md's order (zero quantity, null
        amount, amount mismatch), then issue 26's: a status that is empty or, once its
        case and spaces are set right, none of the enum; a transaction date that is
        null, a zero date, or after MAX_VALID_DATE. The scenarios give each rejected
        row one defect.
        """
        quantity = row.get("quantity")
        amount = to_money(row.get("amount"))
        price = to_money(row.get("unit_price"))
        status = standardise(row.get("status"), STATUSES)
        day = parse_date(row.get("transaction_date"))
        if quantity is not None and int(quantity) == 0:
            return "zero_quantity"
        if amount is None:
            return "null_amount"
        if (
            quantity is not None
            and price is not None
            and abs(amount - int(quantity) * price) > self.thresholds.amount_tolerance
        ):
            return "amount_mismatch"
        if status is None:
            return "empty_status"
        if status not in STATUSES:
            return "unknown_status"
        if day is None:
            return "no_transaction_date"
        if day > MAX_VALID_DATE:
            return "date_after_max_valid_date"
        return None

    @cached_property
    def rejected(self) -> dict[int, str]:
        """transaction_id -> reason, for the rows of ``quarantine.transactions_rejected``."""
        reasons = {
            tid: self.rejection_reason(row) for tid, row in self.deduplicated_transactions.items()
        }
        return {tid: reason for tid, reason in reasons.items() if reason}

    @cached_property
    def fct_transactions(self) -> list[Row]:
        """``fct_transactions`` without surrogate keys, plus unknown-member flags.

        ``customer_key``/``product_key`` are the dimensions' own surrogates, so the oracle
        only says whether each is the unknown member (-1): ``is_unknown_customer`` and
        ``is_unknown_product``.
        """
        facts = []
        for tid, row in self.deduplicated_transactions.items():
            if tid in self.rejected:
                continue
            amount = to_money(row["amount"])
            assert amount is not None
            source_customer = row.get("customer_id")
            known_customer = source_customer is not None and int(source_customer) in self.customers
            customer_id = (
                self.key_map[int(source_customer)]
                if known_customer
                else (None if source_customer is None else int(source_customer))
            )
            product_code = product_code_of(row.get("product_code"))
            status = standardise(row.get("status"), STATUSES)
            fee = restocking_fee_for(amount, self.thresholds)
            transaction_type = "Sale" if amount > 0 else ("Refund" if amount < 0 else None)
            facts.append(
                {
                    "transaction_id": tid,
                    "order_number": row["order_number"],
                    "order_line_number": int(row["order_line_number"]),
                    "customer_id": customer_id,
                    "is_unknown_customer": not known_customer,
                    "product_code": product_code,
                    "is_unknown_product": product_code is None
                    or str(product_code) not in self.products,
                    "order_date": parse_date(row["transaction_date"]),
                    "quantity": int(row["quantity"]),
                    "unit_price": cents(to_money(row["unit_price"])),
                    "total_amount": cents(amount),
                    "transaction_type": transaction_type,
                    "restocking_fee": fee,
                    "net_amount": cents(amount + fee if amount < 0 else amount),
                    "deal_size": deal_size_for(amount, self.thresholds),
                    "territory": standardise(row.get("territory"), TERRITORIES),
                    "status": status,
                    "is_cancelled": status == "Cancelled",
                    "source_system": row["_source"],
                }
            )
        # Reading: an order's size counts its sale lines that are not cancelled
        # ("cancelled ... excluded from every revenue figure"); every line of the order,
        # refunds and cancelled lines included, carries the order's flag.
        order_sales: dict[Any, Decimal] = defaultdict(lambda: ZERO)
        for fact in facts:
            if fact["transaction_type"] == "Sale" and not fact["is_cancelled"]:
                order_sales[fact["order_number"]] += fact["total_amount"]
        for fact in facts:
            fact["is_large_order"] = (
                order_sales[fact["order_number"]] >= self.thresholds.large_order_threshold
            )
        return _sorted(facts, "transaction_id")

    @cached_property
    def active_facts(self) -> list[Row]:
        """The lines every mart reads: not cancelled."""
        return [f for f in self.fct_transactions if not f["is_cancelled"]]

    # gold: marts ------------------------------------------------------------------------

    @cached_property
    def fct_refunds(self) -> list[Row]:
        """One row per refund line that is not cancelled, amounts positive.

        Reading: ``quantity_refunded`` is positive like ``refund_amount``, and
        ``refund_net = refund_amount - restocking_fee`` (what the customer gets back).
        """
        return [
            {
                "transaction_id": f["transaction_id"],
                "order_number": f["order_number"],
                "customer_id": f["customer_id"],
                "product_code": f["product_code"],
                "order_date": f["order_date"],
                "territory": f["territory"],
                "quantity_refunded": abs(f["quantity"]),
                "refund_amount": abs(f["total_amount"]),
                "restocking_fee": f["restocking_fee"],
                "refund_net": abs(f["total_amount"]) - f["restocking_fee"],
            }
            for f in self.active_facts
            if f["transaction_type"] == "Refund"
        ]

    @cached_property
    def customer_segments(self) -> list[Row]:
        """One row per (survivor) customer_id with a line that is not cancelled.

        Readings: the grain is every non-null customer_id of the facts, so an orphan id
        (no customer record) has a row with a null ``full_name``, while a null
        customer_id has none; ``full_name`` is masked (``mask_pii``);
        ``first_order_date``/``last_order_date`` span the sale lines (the scenario
        dates every refund within its customer's sale dates, so reading "any line"
        gives the same); ``avg_order_value`` is rounded to the cent.
        """
        by_customer: dict[int, list[Row]] = defaultdict(list)
        for fact in self.active_facts:
            if fact["customer_id"] is not None:
                by_customer[fact["customer_id"]].append(fact)
        rows = []
        for customer_id, facts in by_customer.items():
            sales = [f for f in facts if f["transaction_type"] == "Sale"]
            total = sum((f["net_amount"] for f in facts), ZERO)
            orders = {f["order_number"] for f in sales}
            record = self.customers.get(customer_id)
            rows.append(
                {
                    "customer_id": customer_id,
                    "full_name": mask_pii(record["full_name"]) if record else None,
                    "total_spent": total,
                    "order_count": len(orders),
                    "avg_order_value": cents(total / len(orders)) if orders else None,
                    "first_order_date": min((f["order_date"] for f in sales), default=None),
                    "last_order_date": max((f["order_date"] for f in sales), default=None),
                    "unique_products": len(
                        {f["product_code"] for f in sales if f["product_code"] is not None}
                    ),
                    "customer_segment": segment_for(total, self.thresholds),
                }
            )
        return _sorted(rows, "customer_id")

    @cached_property
    def top_customers(self) -> list[Row]:
        """The first ``top_customers_limit`` customers by total_spent.

        Reading: ``customer_rank`` is 1..N by total_spent descending, ties broken by the
        lower customer_id (the scenario has no ties near the cut); ``email`` is the
        survivor's standardised email (invalid -> null), masked like ``full_name``.
        """
        ranked = sorted(self.customer_segments, key=lambda r: (-r["total_spent"], r["customer_id"]))
        rows = []
        for rank, row in enumerate(ranked[: self.thresholds.top_customers_limit], start=1):
            record = self.customers.get(row["customer_id"])
            rows.append(
                {
                    "customer_rank": rank,
                    "customer_id": row["customer_id"],
                    "full_name": row["full_name"],
                    "email": mask_pii(record["email_normalised"]) if record else None,
                    "total_spent": row["total_spent"],
                    "order_count": row["order_count"],
                    "customer_segment": row["customer_segment"],
                }
            )
        return rows

    @staticmethod
    def _money_summary(facts: Sequence[Row]) -> dict[str, Decimal]:
        """Sales, refunds (positive), fees and net revenue of a set of lines."""
        sales = sum((f["total_amount"] for f in facts if f["transaction_type"] == "Sale"), ZERO)
        refunds = sum(
            (abs(f["total_amount"]) for f in facts if f["transaction_type"] == "Refund"), ZERO
        )
        fees = sum((f["restocking_fee"] for f in facts), ZERO)
        return {
            "total_sales": sales,
            "total_refunds": refunds,
            "total_restocking_fees": fees,
            "net_revenue": sales - refunds + fees,
        }

    @cached_property
    def monthly_summary(self) -> list[Row]:
        """One row per calendar month of ``order_date`` with a line that is not cancelled.

        Reading: ``unique_customers`` counts distinct non-null customer_ids (survivor
        ids; an orphan id counts, a null one does not), like SQL's ``count(distinct)``.
        """
        by_month: dict[tuple[int, int], list[Row]] = defaultdict(list)
        for fact in self.active_facts:
            by_month[(fact["order_date"].year, fact["order_date"].month)].append(fact)
        rows = []
        for (year, month), facts in by_month.items():
            money = self._money_summary(facts)
            rows.append(
                {
                    "year_number": year,
                    "month_number": month,
                    "total_sales": money["total_sales"],
                    "total_refunds": money["total_refunds"],
                    "net_revenue": money["net_revenue"],
                    "items_sold": sum(
                        abs(f["quantity"]) for f in facts if f["transaction_type"] == "Sale"
                    ),
                    "items_refunded": sum(
                        abs(f["quantity"]) for f in facts if f["transaction_type"] == "Refund"
                    ),
                    "total_restocking_fees": money["total_restocking_fees"],
                    "unique_customers": len(
                        {f["customer_id"] for f in facts if f["customer_id"] is not None}
                    ),
                    "order_count": len(
                        {f["order_number"] for f in facts if f["transaction_type"] == "Sale"}
                    ),
                }
            )
        return _sorted(rows, "year_number", "month_number")

    @cached_property
    def product_performance(self) -> list[Row]:
        """One row per territory x product_code among lines that are not cancelled.

        Readings: ``total_quantity`` is ``sum(quantity)``, refunds negative, to match
        ``total_revenue`` summing ``net_amount``; ``avg_price`` is the mean
        ``unit_price`` of the group's sale lines (what the product sold for), to the
        cent, None without a sale; ``product_line`` is the
        product's, None for a code with no product (the unknown member's label is not
        in the contract); ``order_count`` counts orders with a sale line in the group.
        """
        groups: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
        for fact in self.active_facts:
            groups[(fact["territory"], fact["product_code"])].append(fact)
        rows = []
        for (territory, product_code), facts in groups.items():
            product = self.products.get(str(product_code)) if product_code is not None else None
            prices = [f["unit_price"] for f in facts if f["transaction_type"] == "Sale"]
            rows.append(
                {
                    "territory": territory,
                    "product_code": product_code,
                    "product_line": product["product_line"] if product else None,
                    "total_revenue": sum((f["net_amount"] for f in facts), ZERO),
                    "total_quantity": sum(f["quantity"] for f in facts),
                    "order_count": len(
                        {f["order_number"] for f in facts if f["transaction_type"] == "Sale"}
                    ),
                    "avg_price": cents(sum(prices, ZERO) / len(prices)) if prices else None,
                }
            )
        by_territory: dict[Any, list[Row]] = defaultdict(list)
        for row in rows:
            by_territory[row["territory"]].append(row)
        for members in by_territory.values():
            ranks = dense_rank([m["total_revenue"] for m in members])
            best = max(m["total_revenue"] for m in members)
            for member, rank in zip(members, ranks, strict=True):
                member["revenue_rank"] = rank
                member["best_revenue"] = best
                member["revenue_diff_from_best"] = best - member["total_revenue"]
        return _sorted(rows, "territory", "product_code")

    @cached_property
    def fiscal_calendar(self) -> dict[dt.date, Row]:
        """The landed fiscal calendar by date (newest file wins is moot: one file)."""
        calendar = {}
        for row in self.sources.fiscal_calendar:
            day = dt.date.fromisoformat(str(row["date"]).strip())
            calendar[day] = {
                "fiscal_year": int(row["fiscal_year"]),
                "fiscal_quarter": int(row["fiscal_quarter"]),
                "fiscal_month": int(row["fiscal_month"]),
                "fiscal_week": int(row["fiscal_week"]),
            }
        return calendar

    @cached_property
    def regional_summary(self) -> list[Row]:
        """One row per territory x fiscal quarter (fiscal year and quarter of order_date).

        Readings: ``total_sales``, ``total_refunds`` and ``net_revenue`` as in
        monthly_summary; ``share_of_net_revenue`` is the territory's fraction (0..1,
        unrounded here) of the net revenue of all territories in the same fiscal quarter.
        """
        groups: dict[tuple[Any, int, int], list[Row]] = defaultdict(list)
        for fact in self.active_facts:
            fiscal = self.fiscal_calendar.get(fact["order_date"])
            if fiscal is None:
                raise KeyError(f"the scenario's fiscal calendar misses {fact['order_date']}")
            groups[(fact["territory"], fiscal["fiscal_year"], fiscal["fiscal_quarter"])].append(
                fact
            )
        rows = []
        for (territory, fiscal_year, fiscal_quarter), facts in groups.items():
            money = self._money_summary(facts)
            rows.append(
                {
                    "territory": territory,
                    "fiscal_year": fiscal_year,
                    "fiscal_quarter": fiscal_quarter,
                    "total_sales": money["total_sales"],
                    "total_refunds": money["total_refunds"],
                    "net_revenue": money["net_revenue"],
                }
            )
        quarter_totals: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
        for row in rows:
            quarter_totals[(row["fiscal_year"], row["fiscal_quarter"])] += row["net_revenue"]
        for row in rows:
            total = quarter_totals[(row["fiscal_year"], row["fiscal_quarter"])]
            row["share_of_net_revenue"] = row["net_revenue"] / total if total else None
        return _sorted(rows, "territory", "fiscal_year", "fiscal_quarter")

    @cached_property
    def surveys(self) -> list[Row]:
        """Survey responses, one per response_id, the newest file's version (rule 4)."""
        return newest_file_rows(self.sources.surveys, "response_id")

    @cached_property
    def survey_monthly(self) -> list[Row]:
        """One row per calendar month of ``submitted_at`` x channel.

        Readings: ``responses`` counts responses; ``avg_satisfaction`` is the mean of
        the non-null satisfaction scores and ``nps`` uses the non-null nps scores, both
        unrounded here (the tests compare them to 0.01).
        """
        groups: dict[tuple[int, int, Any], list[Row]] = defaultdict(list)
        for row in self.surveys:
            submitted = parse_timestamp(row["submitted_at"])
            assert submitted is not None, row
            groups[(submitted.year, submitted.month, row["channel"])].append(row)
        result = []
        for (year, month, channel), rows in groups.items():
            satisfaction = [
                s for s in (parse_int(r["satisfaction"]) for r in rows) if s is not None
            ]
            scores = [s for s in (parse_int(r["nps_score"]) for r in rows) if s is not None]
            result.append(
                {
                    "year_number": year,
                    "month_number": month,
                    "channel": channel,
                    "responses": len(rows),
                    "avg_satisfaction": (
                        Decimal(sum(satisfaction)) / len(satisfaction) if satisfaction else None
                    ),
                    "nps": nps_for(scores),
                }
            )
        return _sorted(result, "year_number", "month_number", "channel")

    @cached_property
    def expenses(self) -> list[Row]:
        """Expenses, one per expense_id, the newest file's version (rule 4)."""
        return newest_file_rows(self.sources.expenses, "expense_id")

    @cached_property
    def expense_monthly(self) -> list[Row]:
        """One row per calendar month of ``expense_date`` x department x category x currency."""
        groups: dict[tuple[int, int, Any, Any, Any], list[Row]] = defaultdict(list)
        for row in self.expenses:
            day = parse_date(row["expense_date"])
            assert day is not None, row
            key = (day.year, day.month, row["department"], row["category"], row["currency"])
            groups[key].append(row)
        result = []
        for (year, month, department, category, currency), rows in groups.items():
            amounts = [parse_amount_text(r["amount"]) for r in rows]
            result.append(
                {
                    "year_number": year,
                    "month_number": month,
                    "department": department,
                    "category": category,
                    "currency": currency,
                    "total_amount": cents(sum((a for a in amounts if a is not None), ZERO)),
                    "expense_count": len(rows),
                }
            )
        return _sorted(result, "year_number", "month_number", "department", "category", "currency")
