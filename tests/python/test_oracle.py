"""Unit tests of the oracle itself, so the gold-rule tests rest on a checked reading.

Each test feeds ``oracle.py`` a handful of rows and states the answer gold.md gives by
hand. They run in milliseconds and need no warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fixtures import fiscal_calendar_rows
from oracle import (
    Oracle,
    Sources,
    deal_size_for,
    dense_rank,
    mask_pii,
    newest_file_rows,
    normalise_email,
    nps_for,
    parse_amount_text,
    parse_timestamp,
    recency,
    restocking_fee_for,
    round_half_away,
    segment_for,
)

D = Decimal


def tx(tid: int, order: str, line: int = 1, **values: Any) -> dict[str, Any]:
    """A valid sale line of 1 x 100.00 unless ``values`` say otherwise."""
    row = {
        "transaction_id": tid,
        "order_number": order,
        "order_line_number": line,
        "customer_id": 1,
        "product_code": "P1",
        "quantity": 1,
        "unit_price": D("100.00"),
        "amount": D("100.00"),
        "status": "Shipped",
        "territory": "NA",
        "transaction_date": "2024-01-10 12:00:00",
        "updated_at": "2024-01-10 12:00:00",
    }
    row.update(values)
    return row


def customer(cid: int, email: str | None, updated_at: str) -> dict[str, Any]:
    """A customer with only the columns the merge rule reads."""
    return {
        "customer_id": cid,
        "first_name": f"First{cid}",
        "last_name": f"Last{cid}",
        "email": email,
        "updated_at": updated_at,
    }


PRODUCT = {"product_code": "P1", "product_line": "Planes", "updated_at": "2023-01-01 00:00:00"}


def oracle_of(archive: dict[str, list], live: dict[str, list]) -> Oracle:
    return Oracle(Sources(archive=archive, live=live))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.025", "0.03"),
        ("0.035", "0.04"),
        ("-0.005", "-0.01"),
        ("0.0049", "0.00"),
        ("11.111", "11.11"),
        ("300.000", "300.00"),
    ],
)
def test_round_half_away_from_zero(value: str, expected: str) -> None:
    assert round_half_away(D(value)) == D(expected)


@pytest.mark.parametrize(
    ("amount", "fee"),
    [("-0.05", "0.01"), ("-0.25", "0.03"), ("-0.35", "0.04"), ("-111.11", "11.11"), ("50", "0")],
)
def test_restocking_fee_is_ten_percent_of_refunds_only(amount: str, fee: str) -> None:
    assert restocking_fee_for(D(amount)) == D(fee)


@pytest.mark.parametrize(
    ("total", "segment"),
    [("10000.00", "High"), ("9999.99", "Medium"), ("5000.00", "Medium"), ("4999.99", "Low")],
)
def test_segment_boundaries(total: str, segment: str) -> None:
    assert segment_for(D(total)) == segment


@pytest.mark.parametrize(
    ("amount", "size"),
    [
        ("2999.99", "Small"),
        ("3000.00", "Medium"),
        ("6999.99", "Medium"),
        ("7000.00", "Large"),
        ("-3000.00", "Medium"),
    ],
)
def test_deal_size_boundaries(amount: str, size: str) -> None:
    assert deal_size_for(D(amount)) == size


def test_zero_and_missing_dates_rank_oldest() -> None:
    assert parse_timestamp("0000-00-00 00:00:00") is None
    assert parse_timestamp("garbage") is None
    assert recency("0000-00-00 00:00:00") < recency("1970-01-01 00:00:00")
    assert recency(None) == recency("0000-00-00 00:00:00")


def test_email_normalisation_and_validity() -> None:
    assert normalise_email("  Merge@Example.COM ") == "merge@example.com"
    assert normalise_email("not-an-email") is None
    assert normalise_email(None) is None


def test_personal_values_mask_as_the_sha256_of_their_utf8_bytes() -> None:
    # the published SHA-256 test vector of "abc" (FIPS 180-2, appendix B.1)
    assert mask_pii("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert mask_pii(None) is None
    # UTF-8, not Latin-1: an accented name hashes its two-byte characters
    assert mask_pii("Zoë") != mask_pii("Zoe")
    assert mask_pii("Zoë") == mask_pii("Zo\u00eb") and len(mask_pii("Zoë")) == 64


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234,50", "1234.50"),
        ("1,234.50", "1234.50"),
        ("250.00", "250.00"),
        ("12,5", "12.5"),
        ("1,234", "1234"),
        (" 99.99 ", "99.99"),
    ],
)
def test_landing_number_formats(text: str, value: str) -> None:
    assert parse_amount_text(text) == D(value)


def test_nps_is_promoters_minus_detractors_percent() -> None:
    assert nps_for([10, 9, 7, 3]) == D(25)
    assert nps_for([0, 8, 9, 10, 10]) == D(40)
    assert nps_for([]) is None


def test_dense_rank_shares_rank_on_ties_without_gaps() -> None:
    assert dense_rank([D(5), D(5), D(3), D(1)]) == [1, 1, 2, 3]


def test_consolidation_latest_then_live() -> None:
    archive = {
        "transactions": [
            tx(1, "A", amount=D("100.00"), updated_at="2024-01-01 00:00:00"),
            tx(2, "B", updated_at="0000-00-00 00:00:00"),
            tx(3, "C", updated_at="2024-02-02 00:00:00"),
        ],
        "products": [PRODUCT],
    }
    live = {
        "transactions": [
            tx(1, "A", quantity=2, amount=D("200.00"), updated_at="2024-01-01 00:00:00"),
            tx(2, "B", updated_at="2001-01-01 00:00:00"),
            tx(3, "C", updated_at="2024-02-01 00:00:00"),
        ]
    }
    kept = oracle_of(archive, live).consolidated_transactions
    assert kept[1]["_source"] == "live"  # tie: live wins
    assert kept[2]["_source"] == "live"  # zero date is the oldest
    assert kept[3]["_source"] == "archive"  # a later archive row beats an older live one


def test_reentered_transactions_three_levels() -> None:
    archive = {
        "transactions": [
            tx(10, "R1", updated_at="2024-01-10 00:00:00"),
            tx(20, "R2", updated_at="2024-01-10 00:00:00"),
        ]
    }
    live = {
        "transactions": [
            tx(11, "R1", updated_at="2024-01-09 00:00:00"),
            tx(21, "R2", updated_at="2024-01-10 00:00:00"),
            tx(31, "R3", updated_at="2024-01-10 00:00:00"),
            tx(30, "R3", updated_at="2024-01-10 00:00:00"),
        ]
    }
    kept = set(oracle_of(archive, live).deduplicated_transactions)
    assert kept == {10, 21, 30}


def test_survivor_most_recent_then_live_then_lowest_id() -> None:
    archive = {
        "customers": [
            customer(1, "a@x.io", "2023-01-01 00:00:00"),
            customer(3, "b@x.io", "2023-05-05 00:00:00"),
            customer(7, "not-an-email", "2023-01-01 00:00:00"),
        ]
    }
    live = {
        "customers": [
            customer(2, " A@X.IO ", "2023-06-01 00:00:00"),
            customer(4, "b@x.io", "2023-05-05 00:00:00"),
            customer(5, "c@x.io", "2023-07-07 00:00:00"),
            customer(6, "C@x.io", "2023-07-07 00:00:00"),
            customer(8, "not-an-email", "2023-01-01 00:00:00"),
            customer(9, None, "2023-01-01 00:00:00"),
            customer(10, None, "2023-01-01 00:00:00"),
        ]
    }
    mapping = oracle_of(archive, live).key_map
    assert mapping[1] == mapping[2] == 2  # most recently updated
    assert mapping[3] == mapping[4] == 4  # tie: live, although archive's id is lower
    assert mapping[5] == mapping[6] == 5  # tie in one source: lowest id
    assert (mapping[7], mapping[8], mapping[9], mapping[10]) == (7, 8, 9, 10)  # no merge


def test_quarantine_reasons_and_the_one_cent_tolerance() -> None:
    live = {
        "transactions": [
            tx(1, "Q1", quantity=0, amount=D("0.00")),
            tx(2, "Q2", amount=None),
            tx(3, "Q3", quantity=2, unit_price=D("10.00"), amount=D("20.02")),
            tx(4, "OK", quantity=2, unit_price=D("10.00"), amount=D("20.01")),
        ],
        "products": [PRODUCT],
        "customers": [customer(1, "a@x.io", "2023-01-01 00:00:00")],
    }
    oracle = oracle_of({}, live)
    assert oracle.rejected == {1: "zero_quantity", 2: "null_amount", 3: "amount_mismatch"}
    assert [f["transaction_id"] for f in oracle.fct_transactions] == [4]


def test_unknown_members_keep_source_ids() -> None:
    live = {
        "transactions": [
            tx(1, "N", customer_id=None),
            tx(2, "O", customer_id=999, product_code="NOPE"),
        ],
        "products": [PRODUCT],
        "customers": [customer(1, "a@x.io", "2023-01-01 00:00:00")],
    }
    facts = {f["transaction_id"]: f for f in oracle_of({}, live).fct_transactions}
    assert facts[1]["customer_id"] is None and facts[1]["is_unknown_customer"]
    assert facts[2]["customer_id"] == 999 and facts[2]["is_unknown_customer"]
    assert facts[2]["product_code"] == "NOPE" and facts[2]["is_unknown_product"]
    assert not facts[1]["is_unknown_product"]


def test_large_order_counts_sale_lines_not_refunds_or_cancelled() -> None:
    live = {
        "transactions": [
            tx(1, "L", 1, quantity=1, unit_price=D("3000.00"), amount=D("3000.00")),
            tx(2, "L", 2, quantity=2, unit_price=D("1000.00"), amount=D("2000.00")),
            tx(3, "L", 3, quantity=-1, unit_price=D("100.00"), amount=D("-100.00")),
            tx(4, "S", 1, quantity=1, unit_price=D("4999.99"), amount=D("4999.99")),
            tx(5, "S", 2, amount=D("100.00"), status="Cancelled"),
        ],
        "products": [PRODUCT],
    }
    facts = {f["transaction_id"]: f for f in oracle_of({}, live).fct_transactions}
    assert [facts[i]["is_large_order"] for i in (1, 2, 3, 4, 5)] == [True] * 3 + [False] * 2
    assert facts[3]["net_amount"] == D("-90.00")


def test_customer_segments_count_merged_ids_for_the_survivor() -> None:
    live = {
        "customers": [
            customer(1, "m@x.io", "2023-01-01 00:00:00"),
            customer(2, "m@x.io", "2023-02-01 00:00:00"),
        ],
        "products": [PRODUCT],
        "transactions": [
            tx(1, "A", customer_id=1, quantity=60, amount=D("6000.00")),
            tx(2, "B", customer_id=2, quantity=45, amount=D("4500.00")),
            tx(3, "B", 2, customer_id=2, quantity=-1, amount=D("-100.00")),
        ],
    }
    (row,) = oracle_of({}, live).customer_segments
    assert row["customer_id"] == 2
    assert row["total_spent"] == D("10410.00")
    assert row["order_count"] == 2
    assert row["avg_order_value"] == D("5205.00")
    assert row["customer_segment"] == "High"
    assert row["full_name"] == mask_pii("First2 Last2")  # the survivor's name, masked


@dataclass
class _File:
    path: str
    modified_at: dt.datetime
    rows: list[dict[str, Any]]


def test_newest_landing_file_wins() -> None:
    old = _File("surveys/a.csv", dt.datetime(2024, 1, 1), [{"response_id": "R1", "nps": "6"}])
    new = _File("surveys/b.csv", dt.datetime(2024, 2, 1), [{"response_id": "R1", "nps": "9"}])
    assert newest_file_rows([new, old], "response_id") == [
        {"response_id": "R1", "nps": "9", "_file": "surveys/b.csv"}
    ]


def test_fiscal_calendar_helper_starts_the_year_in_february() -> None:
    rows = {r["date"]: r for r in fiscal_calendar_rows(dt.date(2024, 1, 31), dt.date(2024, 2, 8))}
    assert rows["2024-01-31"] == {
        "date": "2024-01-31",
        "fiscal_year": "2024",
        "fiscal_quarter": "4",
        "fiscal_month": "12",
        "fiscal_week": "53",
    }
    assert rows["2024-02-01"]["fiscal_year"] == "2025"
    assert rows["2024-02-01"]["fiscal_quarter"] == "1"
    assert rows["2024-02-08"]["fiscal_week"] == "2"
