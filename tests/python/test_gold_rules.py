"""The gold contract (docs/contracts/gold.md), end to end, against an independent oracle.

One hand-made scenario holds every edge case of the contract in a few dozen rows. It
is written into two SQLite databases and a landing folder, ``medallion run`` builds the
warehouse from them once, and each test compares one rule's effect, or one whole mart,
with what ``oracle.py`` computes in plain Python from the same rows. No expected value
comes from the SQL under test.

Every row of the scenario is stated below, with the edge case it stands for. The
totals are chosen so that each rule, done wrong, changes a visible number: a cancelled
order would push customer 2 into High, a float restocking fee would give 0.03 instead
of 0.04, a calendar quarter would merge December with January's fiscal quarter, and so on.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fixtures import (
    EXPENSE_COLUMNS,
    FISCAL_CALENDAR_COLUMNS,
    SURVEY_COLUMNS,
    ZERO_DATE,
    LandingFile,
    fiscal_calendar_rows,
    write_landing,
    write_sqlite_source,
)
from oracle import CENT, UNKNOWN_KEY, Oracle, Row, Sources, mask_pii
from pipeline_helpers import MONEY_COLUMNS, PROJECT_DIR

pytestmark = pytest.mark.slow

D = Decimal
_UNSET: Any = object()


# --- scenario rows ----------------------------------------------------------------------


def customer(
    customer_id: int,
    first_name: str,
    last_name: str,
    email: str | None,
    updated_at: str,
    created_at: str = "2020-01-01 00:00:00",
) -> Row:
    """A customer row; the columns no rule reads get plain, valid values."""
    return {
        "customer_id": customer_id,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "phone": "+1 (555) 010-2000",
        "company_name": f"{last_name.strip()} Ltd",
        "address_line_1": "1 Main Street",
        "address_line_2": None,
        "city": "Springfield",
        "state": None,
        "postal_code": "12345",
        "country": "USA",
        "is_active": 1,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def product(code: str, name: str, line: str, updated_at: str) -> Row:
    """A product row."""
    return {
        "product_code": code,
        "product_name": name,
        "product_line": line,
        "product_family": "Vehicles",
        "msrp": D("100.00"),
        "updated_at": updated_at,
    }


def tx(
    transaction_id: int,
    order_number: str,
    line: int,
    customer_id: int | None,
    product_code: str | None,
    quantity: int,
    unit_price: str,
    date: str,
    territory: str,
    *,
    amount: Any = _UNSET,
    status: str = "Shipped",
    updated_at: str | None = None,
) -> Row:
    """A transaction line; ``amount`` is ``quantity * unit_price`` unless given (even None).

    Times are noon, far from any midnight, so no time-zone reading moves a date.
    """
    price = D(unit_price)
    return {
        "transaction_id": transaction_id,
        "order_number": order_number,
        "order_line_number": line,
        "customer_id": customer_id,
        "product_code": product_code,
        "quantity": quantity,
        "unit_price": price,
        "amount": quantity * price if amount is _UNSET else (None if amount is None else D(amount)),
        "status": status,
        "territory": territory,
        "transaction_date": f"{date} 12:00:00",
        "updated_at": updated_at or f"{date} 12:00:00",
    }


ARCHIVE_PRODUCTS = [
    # tie on updated_at with live: live's name and line win
    product("S10_1000", "Alpha Roadster (archive)", "Vintage Cars", "2023-06-01 12:00:00"),
    # zero updated_at: loses to live's (older-looking) 2020 version
    product("S10_2000", "Beta Bike (archive)", "Old Bikes", ZERO_DATE),
    product("S10_4000", "Delta Ship", "Ships", "2023-03-01 12:00:00"),
    # archive updated later than live: archive wins
    product("S10_5000", "Epsilon Train", "Trains", "2024-02-01 12:00:00"),
]
LIVE_PRODUCTS = [
    product("S10_1000", "Alpha Roadster", "Classic Cars", "2023-06-01 12:00:00"),
    product("S10_2000", "Beta Bike", "Motorcycles", "2020-01-01 00:00:00"),
    product("S10_3000", "Gamma Plane", "Planes", "2023-07-01 12:00:00"),
    product("S10_5000", "Epsilon Train (stale)", "Old Trains", "2023-06-01 12:00:00"),
]

ARCHIVE_CUSTOMERS = [
    customer(3, "  Carol ", "Shaw", "carol@example.com", "2023-04-01 12:00:00"),  # untrimmed
    # tie on updated_at with live: live's version wins
    customer(5, "Edsger", "Dijkstra (archive)", "edsger.old@example.com", "2023-06-01 12:00:00"),
    # zero updated_at: loses to live
    customer(6, "Frances", "Allen (archive)", "frances.old@example.com", ZERO_DATE),
    customer(9, "Ivan", "Sutherland", "not-an-email", "2023-05-01 12:00:00"),  # invalid email
    customer(10, "Jean", "Sammet", None, "2023-05-01 12:00:00"),  # null email
    customer(12, "Linus", "Torvalds", "linus@example.com", "2023-05-01 12:00:00"),
    # merge by email: 20 (archive, older) -> 21 (live, newer)
    customer(20, "Merle", "Person", "  Merge@Example.com ", "2023-05-01 12:00:00"),
    # merge on an updated_at tie: 31 (live) survives although 30 is the lower id
    customer(30, "Tia", "Archive", "tie@example.com", "2023-09-01 12:00:00"),
]
LIVE_CUSTOMERS = [
    customer(1, "Ada", "Lovelace", "ada@example.com", "2023-08-01 12:00:00"),
    customer(2, "Brian", "Kernighan", "  Brian.K@Example.COM ", "2023-08-01 12:00:00"),
    # created after all its lines (2024-02-10): a record migrated after its orders
    customer(
        4,
        "Dennis",
        "Ritchie",
        "dennis@example.com",
        "2024-08-01 12:00:00",
        created_at="2024-06-01 00:00:00",
    ),
    customer(5, "Edsger", "Dijkstra", "edsger@example.com", "2023-06-01 12:00:00"),
    customer(6, "Frances", "Allen", "frances@example.com", "2020-01-01 00:00:00"),
    # created the evening after its lines (2024-01-05 12:00)
    customer(
        7,
        "Grace",
        "Hopper",
        "grace@example.com",
        "2024-01-06 12:00:00",
        created_at="2024-01-05 18:00:00",
    ),
    customer(8, "Hedy", "Lamarr", "not-an-email", "2023-08-01 12:00:00"),  # not merged with 9
    customer(11, "Ken", "Thompson", None, "2023-08-01 12:00:00"),  # not merged with 10
    customer(13, "Margaret", "Hamilton", "margaret@example.com", "2023-08-01 12:00:00"),
    customer(21, "Merle", "Person-Smith", "merge@example.com", "2024-01-01 12:00:00"),
    customer(31, "Tia", "Live", "TIE@example.com", "2023-09-01 12:00:00"),
    # merge on a tie within live: the lowest id (40) survives
    customer(40, "Lowell", "Lowid", "low@example.com", "2023-10-01 12:00:00"),
    customer(41, "Lowell", "Lowid-Two", "low@example.com", "2023-10-01 12:00:00"),
]

# fmt: off
ARCHIVE_TRANSACTIONS = [
    # merged customer 20 -> 21: a 7000.00 line (deal_size Large boundary)
    tx(1101, "O-1020", 1, 20, "S10_5000", 7, "1000.00", "2023-12-10", "NA"),
    # merged customer 30 -> 31
    tx(1102, "O-1030", 1, 30, "S10_4000", 1, "800.00", "2023-12-12", "EMEA"),
    # customer 3: one order of exactly 5000.00 (is_large_order) and a 3000.00 line (Medium)
    tx(1103, "O-1003", 1, 3, "S10_4000", 1, "3000.00", "2024-01-15", "EMEA"),
    tx(1104, "O-1003", 2, 3, "S10_2000", 2, "1000.00", "2024-01-15", "EMEA"),
    # customer 10: an orphan product_code on the second line
    tx(1105, "O-1010", 1, 10, "S10_3000", 1, "1400.00", "2024-03-05", "NA"),
    tx(1106, "O-1010", 2, 10, "S99_9999", 1, "60.00", "2024-03-05", "NA"),
    tx(1107, "O-1009", 1, 9, "S10_2000", 1, "1300.00", "2024-02-16", "Japan"),
    # consolidation: 3001 ties with live (live wins), 3002 has a zero updated_at (live
    # wins), 3003 is newer than live's version (archive wins)
    tx(
        3001, "O-3001", 1, 12, "S10_1000", 1, "250.00", "2024-01-25", "EMEA",
        status="In Process", updated_at="2024-01-26 09:00:00",
    ),
    tx(3002, "O-3002", 1, 12, "S10_1000", 1, "300.00", "2024-01-26", "EMEA", updated_at=ZERO_DATE),
    tx(
        3003, "O-3003", 1, 12, "S10_1000", 1, "410.00", "2024-02-01", "EMEA",
        updated_at="2024-02-02 12:00:00",
    ),
    # re-entered lines: R-01 archive is newer than live's 4101 (archive wins); R-02 ties
    # with live's 4102 (live wins, although 4002 is the lower id)
    tx(
        4001, "R-01", 1, 13, "S10_3000", 1, "700.00", "2024-04-05", "APAC",
        updated_at="2024-04-10 12:00:00",
    ),
    tx(
        4002, "R-02", 1, 13, "S10_3000", 1, "720.00", "2024-04-06", "APAC",
        updated_at="2024-04-12 12:00:00",
    ),
    # quarantine: zero quantity
    tx(5001, "O-Q1", 1, 1, "S10_1000", 0, "10.00", "2024-01-10", "NA", amount="0.00"),
]

LIVE_TRANSACTIONS = [
    # customer 1: 10100.00 - 111.11 refund + 11.11 fee = exactly 10000.00 (High); the
    # refund line sits in a large order
    tx(1001, "O-1001", 1, 1, "S10_3000", 10, "1010.00", "2024-01-10", "NA"),
    tx(1002, "O-1001", 2, 1, "S10_3000", -1, "111.11", "2024-01-10", "NA"),
    # customer 2: 9999.99 (Medium); a cancelled order (sale and its refund) on top
    tx(1011, "O-1002", 1, 2, "S10_1000", 3, "3333.33", "2024-02-05", "EMEA"),
    tx(1012, "O-CXL", 1, 2, "S10_1000", 1, "500.00", "2024-02-05", "EMEA", status="Cancelled"),
    tx(1013, "O-CXL", 2, 2, "S10_1000", -1, "500.00", "2024-02-05", "EMEA", status="Cancelled"),
    # customer 4: 2999.99 (Small) + 2000.00 = an order of 4999.99 (not large, Low)
    tx(1021, "O-1004", 1, 4, "S10_4000", 1, "2999.99", "2024-02-10", "NA"),
    tx(1022, "O-1004", 2, 4, "S10_2000", 2, "1000.00", "2024-02-10", "NA"),
    # customer 5: 6999.99 (Medium deal)
    tx(1031, "O-1005", 1, 5, "S10_3000", 1, "6999.99", "2024-03-01", "APAC"),
    # customer 6: 9000.00 sale, a refund-only order of -3000.00 (deal Medium, fee 300.00)
    tx(1041, "O-1006", 1, 6, "S10_4000", 3, "3000.00", "2024-03-01", "APAC"),
    tx(1042, "O-1016", 1, 6, "S10_4000", -1, "3000.00", "2024-03-01", "APAC"),
    # customer 7: refunds whose fee is a half cent: 0.005, 0.025, 0.035
    tx(1051, "O-1007", 1, 7, "S10_1000", 5, "100.00", "2024-01-05", "EMEA"),
    tx(1052, "O-1017", 1, 7, "S10_1000", -1, "0.05", "2024-01-05", "EMEA"),
    tx(1053, "O-1017", 2, 7, "S10_1000", -1, "0.25", "2024-01-05", "EMEA"),
    tx(1054, "O-1017", 3, 7, "S10_1000", -1, "0.35", "2024-01-05", "EMEA"),
    # Japan: S10_2000 (1200 + 1300) ties with S10_3000 (2 x 1250), S10_4000 is next
    tx(1061, "O-1008", 1, 8, "S10_2000", 1, "1200.00", "2024-02-15", "Japan"),
    tx(1071, "O-1011", 1, 11, "S10_3000", 2, "1250.00", "2024-03-06", "Japan"),
    # amount off by exactly 0.01: within tolerance, kept
    tx(1072, "O-1012", 1, 12, "S10_1000", 2, "10.00", "2024-03-06", "NA", amount="20.01"),
    tx(1081, "O-1021", 1, 21, "S10_1000", 2, "1750.00", "2024-01-22", "NA"),
    tx(1091, "O-1031", 1, 31, "S10_4000", 1, "900.00", "2024-02-20", "Japan"),
    tx(1092, "O-1040", 1, 40, "S10_1000", 1, "600.00", "2024-03-10", "NA"),
    tx(1093, "O-1041", 1, 41, "S10_1000", 1, "650.00", "2024-03-10", "NA"),
    # unknown members: a null customer_id and an orphan customer_id
    tx(1094, "O-NULLC", 1, None, "S10_3000", 1, "75.00", "2024-03-15", "NA"),
    tx(1095, "O-ORPH", 1, 999, "S10_1000", 1, "50.00", "2024-03-16", "EMEA"),
    # consolidation counterparts of 3001-3003
    tx(
        3001, "O-3001", 1, 12, "S10_1000", 2, "250.00", "2024-01-25", "EMEA",
        updated_at="2024-01-26 09:00:00",
    ),
    tx(
        3002, "O-3002", 1, 12, "S10_1000", 1, "320.00", "2024-01-26", "EMEA",
        updated_at="2023-01-01 00:00:00",
    ),
    tx(
        3003, "O-3003", 1, 12, "S10_1000", 1, "400.00", "2024-02-01", "EMEA",
        updated_at="2024-02-01 12:00:00",
    ),
    # re-entered counterparts; R-03 is two live rows on an updated_at tie (lowest id wins)
    tx(
        4101, "R-01", 1, 13, "S10_3000", 1, "710.00", "2024-04-05", "APAC",
        updated_at="2024-04-08 12:00:00",
    ),
    tx(
        4102, "R-02", 1, 13, "S10_3000", 1, "730.00", "2024-04-06", "APAC",
        updated_at="2024-04-12 12:00:00",
    ),
    tx(
        4103, "R-03", 1, 13, "S10_3000", 1, "740.00", "2024-04-07", "APAC",
        updated_at="2024-04-14 12:00:00",
    ),
    tx(
        4104, "R-03", 1, 13, "S10_3000", 1, "750.00", "2024-04-07", "APAC",
        updated_at="2024-04-14 12:00:00",
    ),
    # quarantine: null amount, and an amount 0.02 away from quantity * unit_price
    tx(5002, "O-Q2", 1, 2, "S10_1000", 1, "10.00", "2024-02-05", "EMEA", amount=None),
    tx(5003, "O-Q3", 1, 4, "S10_1000", 2, "10.00", "2024-02-10", "NA", amount="20.02"),
]
# fmt: on


def survey(
    rid: str, submitted: str, nps: int, satisfaction: int, channel: str, comment: str
) -> Row:
    """A survey response as its CSV text."""
    return {
        "response_id": rid,
        "customer_email": f"{rid.lower()}@example.com",
        "submitted_at": submitted,
        "nps_score": str(nps),
        "satisfaction": str(satisfaction),
        "channel": channel,
        "comment": comment,
    }


def expense(
    eid: str, who: str, department: str, category: str, amount: str, currency: str, day: str
) -> Row:
    """An expense as its CSV text (the amount as written, e.g. ``1.234,50``)."""
    return {
        "expense_id": eid,
        "submitted_by": who,
        "department": department,
        "category": category,
        "amount": amount,
        "currency": currency,
        "expense_date": day,
        "description": f"{category} for {who}",
    }


FEBRUARY_EXPENSES = [
    expense("E-004", "dan", "Sales", "Meals", "45.10", "EUR", "2024-02-03"),
    expense("E-005", "erin", "IT", "Hardware", "1200.00", "USD", "2024-02-20"),
]

LANDING_FILES = [
    LandingFile(
        "fiscal_calendar.csv",
        FISCAL_CALENDAR_COLUMNS,
        fiscal_calendar_rows(dt.date(2023, 1, 1), dt.date(2024, 12, 31)),
        dt.datetime(2023, 1, 1, 8),
    ),
    LandingFile(
        "surveys/2024-01.csv",
        SURVEY_COLUMNS,
        [
            survey("R-001", "2024-01-05 10:00:00", 10, 5, "email", "Great"),
            survey("R-002", "2024-01-06 10:00:00", 9, 4, "email", "Good"),
            survey("R-003", "2024-01-07 10:00:00", 7, 4, "email", "Fine"),
            survey("R-004", "2024-01-08 10:00:00", 3, 2, "email", "Slow delivery, wrong colour"),
            survey("R-005", "2024-01-09 10:00:00", 6, 3, "web", "Meh"),
            survey("R-006", "2024-01-10 10:00:00", 10, 5, "web", "Superb"),
        ],
        dt.datetime(2024, 2, 1, 8),
    ),
    LandingFile(
        "surveys/2024-02.csv",
        SURVEY_COLUMNS,
        [
            # R-005 again, corrected: this newer file's version wins
            survey("R-005", "2024-01-09 10:00:00", 9, 5, "web", "Changed my mind"),
            survey("R-007", "2024-02-03 10:00:00", 0, 1, "email", "Broken"),
            survey("R-008", "2024-02-04 10:00:00", 8, 3, "email", "OK"),
            survey("R-009", "2024-02-05 10:00:00", 9, 4, "email", "Nice"),
            survey("R-010", "2024-02-06 10:00:00", 10, 5, "email", "Love it"),
            survey("R-011", "2024-02-07 10:00:00", 10, 5, "email", "Love it too"),
        ],
        dt.datetime(2024, 3, 1, 8),
    ),
    # 160 phone answers in March, 1 promoter and no detractor: nps is exactly 0.625 %,
    # half a hundredth, which a float division may round either way
    LandingFile(
        "surveys/2024-03.csv",
        SURVEY_COLUMNS,
        [
            survey(f"R-P{n:03d}", "2024-03-04 10:00:00", 10 if n == 0 else 8, 4, "phone", "")
            for n in range(160)
        ],
        dt.datetime(2024, 4, 1, 8),
    ),
    LandingFile(
        "expenses/2024-01.csv",
        EXPENSE_COLUMNS,
        [
            expense("E-001", "alice", "Sales", "Travel", "1.234,50", "EUR", "2024-01-10"),
            expense("E-002", "bob", "Sales", "Travel", "250.00", "EUR", "2024-01-20"),
            expense("E-003", "carol", "IT", "Software", "99.99", "USD", "2024-01-15"),
        ],
        dt.datetime(2024, 2, 1, 9),
        delimiter=";",
    ),
    # the same file landed twice under two names: each expense counts once
    LandingFile(
        "expenses/2024-02.csv", EXPENSE_COLUMNS, FEBRUARY_EXPENSES, dt.datetime(2024, 3, 1, 9)
    ),
    LandingFile(
        "expenses/2024-02_resent.csv",
        EXPENSE_COLUMNS,
        FEBRUARY_EXPENSES,
        dt.datetime(2024, 3, 2, 9),
    ),
]

ARCHIVE = {
    "customers": ARCHIVE_CUSTOMERS,
    "products": ARCHIVE_PRODUCTS,
    "transactions": ARCHIVE_TRANSACTIONS,
}
LIVE = {"customers": LIVE_CUSTOMERS, "products": LIVE_PRODUCTS, "transactions": LIVE_TRANSACTIONS}

SOURCES = Sources(
    archive=ARCHIVE,
    live=LIVE,
    fiscal_calendar=LANDING_FILES[0].rows,
    surveys=[f for f in LANDING_FILES if f.path.startswith("surveys/")],
    expenses=[f for f in LANDING_FILES if f.path.startswith("expenses/")],
)


# --- the build --------------------------------------------------------------------------


@dataclass
class Build:
    """The warehouse built from the scenario, and the oracle of the same rows."""

    warehouse: Path
    oracle: Oracle


def _medallion() -> str:
    """The CLI of the venv running the tests (the project's own install)."""
    candidate = Path(sys.executable).parent / "medallion"
    return str(candidate if candidate.exists() else PROJECT_DIR / ".venv" / "bin" / "medallion")


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Write the scenario, run ``medallion run`` on it once, hand the warehouse over."""
    oracle = Oracle(SOURCES)
    _check_scenario_is_unambiguous(oracle)
    root = tmp_path_factory.mktemp("gold_rules")
    warehouse = root / "warehouse.duckdb"
    env = {
        **os.environ,
        "SOURCES__ARCHIVE__CREDENTIALS": write_sqlite_source(root / "archive.sqlite", ARCHIVE),
        "SOURCES__LIVE__CREDENTIALS": write_sqlite_source(root / "live.sqlite", LIVE),
        "SOURCES__FILES__BUCKET_URL": str(write_landing(root / "landing", LANDING_FILES)),
        "MEDALLION_DUCKDB_PATH": str(warehouse),
        # dbt's working files in the tmp dir too: other runs share the project folder
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
        "COLUMNS": "160",
    }
    result = subprocess.run(
        [_medallion(), "run"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, (
        f"medallion run exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return Build(warehouse=warehouse, oracle=oracle)


def _check_scenario_is_unambiguous(oracle: Oracle) -> None:
    """Guard the scenario's own promises, so an edit to it cannot silently weaken a test.

    No two customers share a total near the top-customers cut (rank order is then the
    contract's alone), and the edge-case totals are what the comments above say.
    """
    totals = sorted((r["total_spent"] for r in oracle.customer_segments), reverse=True)
    limit = oracle.thresholds.top_customers_limit
    assert len(set(totals[: limit + 1])) == limit + 1, totals
    by_id = {r["customer_id"]: r for r in oracle.customer_segments}
    # No average lands on a half cent, where half-up, half-even and a double's rounding
    # would disagree for reasons the contract does not settle.
    averages = [r["total_spent"] / r["order_count"] for r in by_id.values() if r["order_count"]]
    groups: dict[tuple, list[Decimal]] = {}
    for f in oracle.active_facts:
        groups.setdefault((f["territory"], f["product_code"]), []).append(f["unit_price"])
    averages += [sum(prices) / len(prices) for prices in groups.values()]
    assert not [a for a in averages if (a * 100) % 1 == D("0.5")], averages
    assert by_id[1]["total_spent"] == D("10000.00")
    assert by_id[2]["total_spent"] == D("9999.99")
    assert by_id[3]["total_spent"] == D("5000.00")
    assert by_id[4]["total_spent"] == D("4999.99")


@pytest.fixture(scope="module")
def con(build: Build) -> Iterator[duckdb.DuckDBPyConnection]:
    """One read-only connection for the module: the tests only ever read."""
    connection = duckdb.connect(str(build.warehouse), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def oracle(build: Build) -> Oracle:
    """The oracle of the scenario the warehouse was built from."""
    return build.oracle


# --- reading and comparing --------------------------------------------------------------


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[Row]:
    """The result of a query as dicts."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def table(con: duckdb.DuckDBPyConnection, name: str) -> list[Row]:
    """Every row of a warehouse table."""
    return rows(con, f"select * from {name}")  # noqa: S608


def norm(column: str, value: Any) -> Any:
    """A warehouse value in the oracle's terms: money as Decimal cents, dates as dates."""
    if value is None:
        return None
    if column in MONEY_COLUMNS:
        return D(str(value)).quantize(CENT)
    if column.endswith("_date") and isinstance(value, dt.datetime):
        return value.date()
    if column == "source_system":
        return str(value).lower()
    return value


def assert_same_rows(
    name: str,
    actual: Sequence[Row],
    expected: Sequence[Row],
    key: Sequence[str],
    columns: Sequence[str],
) -> None:
    """Row sets equal on ``columns``; the message lists each differing row by ``key``."""
    missing_columns = [c for c in (*key, *columns) if actual and c not in actual[0]]
    assert not missing_columns, f"{name} lacks the contract columns {missing_columns}"

    def index(source: Sequence[Row], label: str) -> dict[tuple, dict[str, Any]]:
        indexed: dict[tuple, dict[str, Any]] = {}
        for row in source:
            k = tuple(norm(c, row[c]) for c in key)
            duplicate = dict(zip(key, k, strict=True))
            assert k not in indexed, f"{name}: {label} has two rows for {duplicate}"
            indexed[k] = {c: norm(c, row[c]) for c in columns}
        return indexed

    got, want = index(actual, "the warehouse"), index(expected, "the oracle")
    problems = []
    for k in sorted(set(got) | set(want), key=repr):
        label = dict(zip(key, k, strict=True))
        if k not in got:
            problems.append(f"missing row {label}: expected {want[k]}")
        elif k not in want:
            problems.append(f"unexpected row {label}: {got[k]}")
        elif got[k] != want[k]:
            diff = {c: (want[k][c], got[k][c]) for c in columns if got[k][c] != want[k][c]}
            problems.append(f"row {label}: (expected, actual) {diff}")
    assert not problems, f"{name} differs from the oracle:\n  " + "\n  ".join(problems)


def fact(con: duckdb.DuckDBPyConnection, transaction_id: int) -> Row | None:
    """The fact row of one transaction, None when it is not a fact (at most one)."""
    found = rows(
        con, "select * from marts.fct_transactions where transaction_id = ?", transaction_id
    )
    assert len(found) <= 1, found
    return found[0] if found else None


def oracle_fact(oracle: Oracle, transaction_id: int) -> Row | None:
    """The oracle's fact row of one transaction, None when it is in no fact."""
    return next((f for f in oracle.fct_transactions if f["transaction_id"] == transaction_id), None)


def segment_row(con: duckdb.DuckDBPyConnection, customer_id: int) -> Row:
    """The one customer_segments row of a customer (a second row is a grain bug)."""
    (found,) = rows(con, "select * from marts.customer_segments where customer_id = ?", customer_id)
    return found


def oracle_segment(oracle: Oracle, customer_id: int) -> Row:
    """The oracle's customer_segments row of a customer."""
    return next(r for r in oracle.customer_segments if r["customer_id"] == customer_id)


def close(a: Any, b: Any, tolerance: str = "0.01") -> bool:
    """Non-money ratios (nps, averages, shares) agree within ``tolerance``."""
    if a is None or b is None:
        return a is None and b is None
    return abs(D(str(a)) - D(str(b))) <= D(tolerance)


# --- the contract's shape ---------------------------------------------------------------

CONTRACT_COLUMNS = {
    "marts.dim_customer": (
        "customer_key customer_id first_name last_name full_name email phone company_name "
        "address_line_1 address_line_2 city state postal_code country is_active "
        "data_quality_score valid_from valid_to is_current"
    ),
    "marts.dim_product": (
        "product_key product_code product_name product_line product_family msrp valid_from "
        "valid_to is_current"
    ),
    "marts.dim_date": (
        "date_key date day_of_week day_of_year week_of_year month_number quarter_number "
        "year_number fiscal_year fiscal_quarter fiscal_month fiscal_week is_weekend"
    ),
    "marts.fct_transactions": (
        "transaction_key transaction_id order_number order_line_number customer_id "
        "customer_key product_code product_key order_date quantity unit_price total_amount "
        "transaction_type restocking_fee net_amount deal_size is_large_order territory "
        "status is_cancelled source_system"
    ),
    "marts.fct_refunds": (
        "transaction_id order_number customer_id product_code order_date territory "
        "quantity_refunded refund_amount restocking_fee refund_net"
    ),
    "marts.customer_segments": (
        "customer_id full_name total_spent order_count avg_order_value first_order_date "
        "last_order_date unique_products customer_segment"
    ),
    "marts.product_performance": (
        "territory product_code product_line total_revenue total_quantity order_count "
        "avg_price revenue_rank best_revenue revenue_diff_from_best"
    ),
    "marts.monthly_summary": (
        "year_number month_number total_sales total_refunds net_revenue items_sold "
        "items_refunded total_restocking_fees unique_customers order_count"
    ),
    "marts.top_customers": (
        "customer_rank customer_id full_name email total_spent order_count customer_segment"
    ),
    "marts.regional_summary": (
        "territory fiscal_year fiscal_quarter total_sales total_refunds net_revenue "
        "share_of_net_revenue"
    ),
    "marts.survey_monthly": "year_number month_number channel responses avg_satisfaction nps",
    "marts.expense_monthly": (
        "year_number month_number department category currency total_amount expense_count"
    ),
    "restricted.customer_pii": (
        "customer_key customer_id first_name last_name full_name email phone "
        "address_line_1 address_line_2 city postal_code is_current valid_from valid_to"
    ),
    "quarantine.transactions_rejected": "reason transaction_id order_number amount",
    "intermediate.int_customer_id_map": "customer_id survivor_customer_id",
}


def columns_of(con: duckdb.DuckDBPyConnection, qualified: str) -> dict[str, str]:
    """Column name -> DuckDB type of ``schema.table``, empty when it does not exist."""
    schema, name = qualified.split(".")
    found = rows(
        con,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        schema,
        name,
    )
    return {r["column_name"]: r["data_type"] for r in found}


@pytest.mark.parametrize("qualified", sorted(CONTRACT_COLUMNS))
def test_gold_table_has_the_contract_columns(
    con: duckdb.DuckDBPyConnection, qualified: str
) -> None:
    present = columns_of(con, qualified)
    assert present, f"{qualified} does not exist"
    missing = [c for c in CONTRACT_COLUMNS[qualified].split() if c not in present]
    assert not missing, f"{qualified} lacks {missing}"


@pytest.mark.parametrize(
    "qualified",
    [q for q in sorted(CONTRACT_COLUMNS) if q.startswith("marts.")],
)
def test_money_columns_are_decimal_18_2(con: duckdb.DuckDBPyConnection, qualified: str) -> None:
    present = columns_of(con, qualified)
    wrong = {
        c: t for c, t in present.items() if c in MONEY_COLUMNS and t.upper() != "DECIMAL(18,2)"
    }
    assert not wrong, f"{qualified}: money columns not decimal(18,2): {wrong}"


# --- rule 1: archive and live overlap -----------------------------------------------------


def test_updated_at_tie_between_archive_and_live_keeps_the_live_transaction(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    row = fact(con, 3001)
    assert row is not None
    assert (
        norm("total_amount", row["total_amount"])
        == D("500.00")
        == oracle_fact(oracle, 3001)["total_amount"]
    )
    assert (row["quantity"], row["status"], str(row["source_system"]).lower()) == (
        2,
        "Shipped",
        "live",
    )


def test_updated_at_tie_between_archive_and_live_keeps_the_live_customer_and_product(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (edsger,) = rows(
        con, "select * from restricted.customer_pii where customer_id = 5 and is_current"
    )
    assert (edsger["email"], edsger["last_name"]) == ("edsger@example.com", "Dijkstra")
    (masked,) = rows(con, "select * from marts.dim_customer where customer_id = 5 and is_current")
    assert (masked["email"], masked["last_name"]) == (
        mask_pii("edsger@example.com"),
        mask_pii("Dijkstra"),
    )
    (alpha,) = rows(
        con, "select * from marts.dim_product where product_code = 'S10_1000' and is_current"
    )
    assert (alpha["product_name"], alpha["product_line"]) == ("Alpha Roadster", "Classic Cars")


def test_zero_updated_at_in_archive_loses_to_live(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    row = fact(con, 3002)
    assert row is not None
    assert (
        norm("total_amount", row["total_amount"])
        == D("320.00")
        == oracle_fact(oracle, 3002)["total_amount"]
    )
    (frances,) = rows(
        con, "select * from restricted.customer_pii where customer_id = 6 and is_current"
    )
    assert (frances["email"], frances["last_name"]) == ("frances@example.com", "Allen")
    (beta,) = rows(
        con, "select * from marts.dim_product where product_code = 'S10_2000' and is_current"
    )
    assert (beta["product_name"], beta["product_line"]) == ("Beta Bike", "Motorcycles")


def test_later_archive_version_beats_an_older_live_version(
    con: duckdb.DuckDBPyConnection,
) -> None:
    row = fact(con, 3003)
    assert row is not None
    assert norm("total_amount", row["total_amount"]) == D("410.00")
    assert str(row["source_system"]).lower() == "archive"
    (train,) = rows(
        con, "select * from marts.dim_product where product_code = 'S10_5000' and is_current"
    )
    assert (train["product_name"], train["product_line"]) == ("Epsilon Train", "Trains")


# --- rule 2: re-entered transactions ------------------------------------------------------


@pytest.mark.parametrize(
    ("order_number", "kept", "dropped", "rule"),
    [
        ("R-01", 4001, [4101], "latest updated_at wins, even from the archive"),
        ("R-02", 4102, [4002], "updated_at tie: live wins over a lower archive id"),
        ("R-03", 4103, [4104], "updated_at tie in one source: lowest transaction_id"),
    ],
    ids=["latest_updated_at", "tie_live_wins", "tie_lowest_id"],
)
def test_reentered_transaction_is_one_line(
    con: duckdb.DuckDBPyConnection,
    oracle: Oracle,
    order_number: str,
    kept: int,
    dropped: list[int],
    rule: str,
) -> None:
    found = rows(
        con,
        "select transaction_id, total_amount from marts.fct_transactions where order_number = ?",
        order_number,
    )
    expected = [f for f in oracle.fct_transactions if f["order_number"] == order_number]
    assert [f["transaction_id"] for f in expected] == [kept], "oracle disagrees with the rule"
    assert [r["transaction_id"] for r in found] == [kept], rule
    assert norm("total_amount", found[0]["total_amount"]) == expected[0]["total_amount"]


# --- rule 3: one customer under several ids -----------------------------------------------


@pytest.mark.parametrize(
    ("ids", "survivor", "rule"),
    [
        ((20, 21), 21, "the most recently updated record survives"),
        ((30, 31), 31, "updated_at tie: the live record survives over a lower archive id"),
        ((40, 41), 40, "updated_at tie in one source: the lowest id survives"),
    ],
    ids=["most_recent", "tie_live_wins", "tie_lowest_id"],
)
def test_customer_key_map_points_merged_ids_at_the_survivor(
    con: duckdb.DuckDBPyConnection,
    oracle: Oracle,
    ids: tuple[int, ...],
    survivor: int,
    rule: str,
) -> None:
    assert {oracle.key_map[i] for i in ids} == {survivor}, "oracle disagrees with the rule"
    found = rows(
        con,
        "select customer_id, survivor_customer_id from intermediate.int_customer_id_map "
        f"where customer_id in ({', '.join(str(i) for i in ids)})",  # noqa: S608
    )
    assert {r["customer_id"]: r["survivor_customer_id"] for r in found} == dict.fromkeys(
        ids, survivor
    ), rule


def test_customer_key_map_agrees_with_the_oracle_everywhere(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Merged ids exactly as the oracle; any identity rows the model keeps are right too."""
    found = table(con, "intermediate.int_customer_id_map")
    model = {r["customer_id"]: r["survivor_customer_id"] for r in found}
    merged = {k: v for k, v in model.items() if k != v}
    assert merged == {k: v for k, v in oracle.key_map.items() if k != v}
    wrong = {k: v for k, v in model.items() if oracle.key_map.get(k, k) != v}
    assert not wrong


def test_invalid_or_null_emails_do_not_merge_customers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    found = rows(
        con,
        "select customer_id from marts.customer_segments where customer_id in (8, 9, 10, 11)",
    )
    assert sorted(r["customer_id"] for r in found) == [8, 9, 10, 11]


def test_merged_customer_transactions_carry_the_survivor_id(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    found = rows(
        con,
        "select transaction_id, customer_id from marts.fct_transactions "
        "where transaction_id in (1101, 1081, 1102, 1091, 1092, 1093) order by 1",
    )
    expected = {1081: 21, 1091: 31, 1092: 40, 1093: 40, 1101: 21, 1102: 31}
    assert {t: oracle_fact(oracle, t)["customer_id"] for t in expected} == expected
    assert {r["transaction_id"]: r["customer_id"] for r in found} == expected
    merged_ids = [k for k, v in oracle.key_map.items() if k != v]
    for mart in ("fct_transactions", "fct_refunds", "customer_segments", "top_customers"):
        stray = rows(
            con,
            f"select customer_id from marts.{mart} "  # noqa: S608
            f"where customer_id in ({', '.join(map(str, merged_ids))})",
        )
        assert not stray, f"marts.{mart} still shows merged ids {stray}"


def test_merged_customer_both_ids_count_for_the_survivor_segment(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """20 bought 7000.00 and 21 bought 3500.00: only together are they High."""
    row = segment_row(con, 21)
    expected = oracle_segment(oracle, 21)
    assert expected["total_spent"] == D("10500.00") and expected["customer_segment"] == "High"
    assert norm("total_spent", row["total_spent"]) == expected["total_spent"]
    assert row["order_count"] == expected["order_count"] == 2
    assert row["customer_segment"] == "High"
    assert row["full_name"] == mask_pii("Merle Person-Smith")


def test_fact_keys_point_at_the_dimension_row_of_the_same_id(
    con: duckdb.DuckDBPyConnection,
) -> None:
    bad_customers = rows(
        con,
        "select f.transaction_id, f.customer_id, d.customer_id as dim_customer_id "
        "from marts.fct_transactions as f "
        "left join marts.dim_customer as d on f.customer_key = d.customer_key "
        "where f.customer_key <> -1 and d.customer_id is distinct from f.customer_id",
    )
    assert not bad_customers
    bad_products = rows(
        con,
        "select f.transaction_id, f.product_code, d.product_code as dim_product_code "
        "from marts.fct_transactions as f "
        "left join marts.dim_product as d on f.product_key = d.product_key "
        "where f.product_key <> -1 and d.product_code is distinct from f.product_code",
    )
    assert not bad_products


def test_lines_before_their_customers_created_at_find_its_first_version(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Customer 4 was created (2024-06-01) after all its lines, customer 7 the evening
    after its lines: each line points at the customer's own version (not the unknown
    member), and an as-of join on the dimension's validity finds that same version."""
    created = {int(c["customer_id"]): c["created_at"] for c in LIVE_CUSTOMERS}
    lines = rows(
        con,
        "select f.transaction_id, f.customer_id, f.customer_key, f.transaction_at,"
        " d.valid_from, d.valid_to from marts.fct_transactions as f"
        " inner join marts.dim_customer as d on f.customer_key = d.customer_key"
        " where f.customer_id in (4, 7) order by f.transaction_id",
    )
    assert {line["transaction_id"] for line in lines} == {1021, 1022, 1051, 1052, 1053, 1054}
    for line in lines:
        assert str(line["transaction_at"]) < created[line["customer_id"]]  # the anomaly
        assert line["customer_key"] != UNKNOWN_KEY
        assert line["valid_from"] <= line["transaction_at"] < line["valid_to"], line
    as_of = rows(
        con,
        "select f.transaction_id, count(d.customer_key) as versions"
        " from marts.fct_transactions as f left join marts.dim_customer as d"
        " on d.customer_id = f.customer_id and d.valid_from <= f.transaction_at"
        " and f.transaction_at < d.valid_to"
        " where f.customer_id in (4, 7) group by f.transaction_id",
    )
    assert all(row["versions"] == 1 for row in as_of), as_of


# --- unknown members -----------------------------------------------------------------------


def _month_row(con: duckdb.DuckDBPyConnection, year: int, month: int) -> Row:
    """The one monthly_summary row of a month."""
    (found,) = rows(
        con,
        "select * from marts.monthly_summary where year_number = ? and month_number = ?",
        year,
        month,
    )
    return found


def _oracle_month(oracle: Oracle, year: int, month: int) -> Row:
    """The oracle's monthly_summary row of a month."""
    return next(
        r for r in oracle.monthly_summary if (r["year_number"], r["month_number"]) == (year, month)
    )


def test_null_customer_id_gets_the_unknown_key_and_still_counts(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    row = fact(con, 1094)
    assert row is not None
    assert (row["customer_key"], row["customer_id"]) == (UNKNOWN_KEY, None)
    assert row["product_key"] != UNKNOWN_KEY
    assert oracle_fact(oracle, 1094) in oracle.active_facts  # the oracle counts it ...
    march = _oracle_month(oracle, 2024, 3)
    assert norm("total_sales", _month_row(con, 2024, 3)["total_sales"]) == march["total_sales"]


def test_orphan_customer_id_gets_the_unknown_key_and_keeps_its_id(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    row = fact(con, 1095)
    assert row is not None
    assert (row["customer_key"], row["customer_id"]) == (UNKNOWN_KEY, 999)
    march = _oracle_month(oracle, 2024, 3)
    assert _month_row(con, 2024, 3)["unique_customers"] == march["unique_customers"]


def test_orphan_product_code_gets_the_unknown_key_and_still_counts(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    row = fact(con, 1106)
    assert row is not None
    assert (row["product_key"], row["product_code"]) == (UNKNOWN_KEY, "S99_9999")
    assert row["customer_key"] != UNKNOWN_KEY
    march = _oracle_month(oracle, 2024, 3)
    got = _month_row(con, 2024, 3)
    assert (norm("total_sales", got["total_sales"]), got["items_sold"]) == (
        march["total_sales"],
        march["items_sold"],
    )
    (perf,) = rows(
        con,
        "select * from marts.product_performance where territory = 'NA' "
        "and product_code = 'S99_9999'",
    )
    assert norm("total_revenue", perf["total_revenue"]) == D("60.00")


def test_customer_segments_has_a_row_for_an_orphan_customer_id(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Reading: an orphan id still counts "in every total", so it has a segment row."""
    expected = oracle_segment(oracle, 999)
    found = rows(con, "select * from marts.customer_segments where customer_id = 999")
    assert len(found) == 1, "no customer_segments row for the orphan customer_id 999"
    assert norm("total_spent", found[0]["total_spent"]) == expected["total_spent"]


# --- quarantine ---------------------------------------------------------------------------


# The reasons the quarantine writes, as the documentation of `rejection_reason` names
# them (models/docs.md), for the oracle's codes.
REASON_TEXT = {
    "zero_quantity": "zero quantity",
    "null_amount": "null amount",
    "amount_mismatch": "amount differs from quantity * unit_price",
    "empty_status": "empty status",
    "unknown_status": "unknown status",
    "no_transaction_date": "null or zero transaction date",
    "date_after_max_valid_date": "transaction date after max_valid_date",
}


@pytest.mark.parametrize(
    ("transaction_id", "reason"),
    [(5001, "zero_quantity"), (5002, "null_amount"), (5003, "amount_mismatch")],
)
def test_invalid_transaction_is_quarantined_with_a_reason_and_in_no_fact(
    con: duckdb.DuckDBPyConnection,
    oracle: Oracle,
    transaction_id: int,
    reason: str,
) -> None:
    assert oracle.rejected.get(transaction_id) == reason
    found = rows(
        con,
        "select * from quarantine.transactions_rejected where transaction_id = ?",
        transaction_id,
    )
    assert len(found) == 1, found
    assert found[0]["reason"] == REASON_TEXT[reason], f"reason for {reason}"
    assert fact(con, transaction_id) is None
    refunds = rows(con, "select * from marts.fct_refunds where transaction_id = ?", transaction_id)
    assert not refunds


def test_quarantine_holds_exactly_the_invalid_transactions(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    found = table(con, "quarantine.transactions_rejected")
    assert sorted(r["transaction_id"] for r in found) == sorted(oracle.rejected)
    assert {r["transaction_id"]: r["reason"] for r in found} == {
        transaction_id: REASON_TEXT[reason] for transaction_id, reason in oracle.rejected.items()
    }


def test_amount_off_by_exactly_one_cent_is_not_quarantined(
    con: duckdb.DuckDBPyConnection,
) -> None:
    row = fact(con, 1072)
    assert row is not None, "1072 (2 x 10.00 = 20.01, off by exactly 0.01) was dropped"
    assert norm("total_amount", row["total_amount"]) == D("20.01")


# --- cancelled ----------------------------------------------------------------------------


def test_cancelled_lines_stay_in_fct_transactions_flagged(
    con: duckdb.DuckDBPyConnection,
) -> None:
    found = rows(
        con,
        "select transaction_id, is_cancelled, status from marts.fct_transactions "
        "where order_number = 'O-CXL' order by transaction_id",
    )
    assert [(r["transaction_id"], r["is_cancelled"]) for r in found] == [
        (1012, True),
        (1013, True),
    ]
    assert not rows(
        con, "select 1 from marts.fct_transactions where is_cancelled and status <> 'Cancelled'"
    )


def test_refund_of_a_cancelled_order_is_not_in_fct_refunds(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert not rows(con, "select * from marts.fct_refunds where order_number = 'O-CXL'")


def test_cancelled_order_counts_in_no_customer_total(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Customer 2 is at 9999.99; the cancelled 500.00 sale would make them High."""
    row = segment_row(con, 2)
    expected = oracle_segment(oracle, 2)
    assert (norm("total_spent", row["total_spent"]), row["order_count"]) == (
        expected["total_spent"],
        expected["order_count"],
    )
    assert row["customer_segment"] == expected["customer_segment"] == "Medium"


# --- business rules on the fact ----------------------------------------------------------


def test_transaction_type_follows_the_sign_of_amount(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    found = {
        r["transaction_id"]: r["transaction_type"] for r in table(con, "marts.fct_transactions")
    }
    assert found == {f["transaction_id"]: f["transaction_type"] for f in oracle.fct_transactions}


@pytest.mark.parametrize(
    ("transaction_id", "amount", "fee"),
    [
        (1052, "-0.05", "0.01"),  # 0.005: banker's rounding gives 0.00
        (1053, "-0.25", "0.03"),  # 0.025: banker's rounding gives 0.02
        (1054, "-0.35", "0.04"),  # 0.035: a binary float gives 0.03
        (1002, "-111.11", "11.11"),
        (1042, "-3000.00", "300.00"),
    ],
)
def test_restocking_fee_is_ten_percent_rounded_half_away_from_zero(
    con: duckdb.DuckDBPyConnection, oracle: Oracle, transaction_id: int, amount: str, fee: str
) -> None:
    expected = oracle_fact(oracle, transaction_id)
    assert expected is not None
    assert (expected["total_amount"], expected["restocking_fee"]) == (D(amount), D(fee))
    row = fact(con, transaction_id)
    assert row is not None
    assert norm("restocking_fee", row["restocking_fee"]) == D(fee)
    assert norm("net_amount", row["net_amount"]) == D(amount) + D(fee)


def test_sales_have_no_fee_and_net_amount_equal_to_amount(
    con: duckdb.DuckDBPyConnection,
) -> None:
    bad = rows(
        con,
        "select transaction_id, total_amount, restocking_fee, net_amount "
        "from marts.fct_transactions where transaction_type = 'Sale' "
        "and (restocking_fee <> 0 or net_amount <> total_amount)",
    )
    assert not bad


@pytest.mark.parametrize(
    ("transaction_id", "amount", "size"),
    [
        (1021, "2999.99", "Small"),
        (1103, "3000.00", "Medium"),
        (1031, "6999.99", "Medium"),
        (1101, "7000.00", "Large"),
        (1042, "-3000.00", "Medium"),
    ],
)
def test_deal_size_boundaries(
    con: duckdb.DuckDBPyConnection, oracle: Oracle, transaction_id: int, amount: str, size: str
) -> None:
    expected = oracle_fact(oracle, transaction_id)
    assert expected is not None and expected["total_amount"] == D(amount)
    assert expected["deal_size"] == size
    row = fact(con, transaction_id)
    assert row is not None
    assert row["deal_size"] == size


@pytest.mark.parametrize(
    ("order_number", "sales_sum", "large"),
    [
        ("O-1003", "5000.00", True),
        ("O-1004", "4999.99", False),
        ("O-1001", "10100.00", True),  # its refund line carries the order's flag too
    ],
)
def test_is_large_order_at_the_threshold(
    con: duckdb.DuckDBPyConnection, oracle: Oracle, order_number: str, sales_sum: str, large: bool
) -> None:
    lines = [f for f in oracle.fct_transactions if f["order_number"] == order_number]
    assert sum(f["total_amount"] for f in lines if f["transaction_type"] == "Sale") == D(sales_sum)
    assert {f["is_large_order"] for f in lines} == {large}
    found = rows(
        con,
        "select transaction_id, is_large_order from marts.fct_transactions where order_number = ?",
        order_number,
    )
    assert {r["transaction_id"]: r["is_large_order"] for r in found} == {
        f["transaction_id"]: large for f in lines
    }


def test_fct_transactions_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    assert_same_rows(
        "marts.fct_transactions",
        table(con, "marts.fct_transactions"),
        oracle.fct_transactions,
        ["transaction_id"],
        [
            "order_number",
            "order_line_number",
            "customer_id",
            "product_code",
            "order_date",
            "quantity",
            "unit_price",
            "total_amount",
            "transaction_type",
            "restocking_fee",
            "net_amount",
            "deal_size",
            "is_large_order",
            "territory",
            "status",
            "is_cancelled",
            "source_system",
        ],
    )
    unknown = {
        r["transaction_id"]: (r["customer_key"] == UNKNOWN_KEY, r["product_key"] == UNKNOWN_KEY)
        for r in table(con, "marts.fct_transactions")
    }
    assert unknown == {
        f["transaction_id"]: (f["is_unknown_customer"], f["is_unknown_product"])
        for f in oracle.fct_transactions
    }


# --- customer_segments and top_customers ---------------------------------------------------


@pytest.mark.parametrize(
    ("customer_id", "total", "segment"),
    [
        (1, "10000.00", "High"),
        (2, "9999.99", "Medium"),
        (3, "5000.00", "Medium"),
        (4, "4999.99", "Low"),
    ],
)
def test_customer_segment_boundaries(
    con: duckdb.DuckDBPyConnection, oracle: Oracle, customer_id: int, total: str, segment: str
) -> None:
    expected = oracle_segment(oracle, customer_id)
    assert (expected["total_spent"], expected["customer_segment"]) == (D(total), segment)
    row = segment_row(con, customer_id)
    assert (norm("total_spent", row["total_spent"]), row["customer_segment"]) == (
        D(total),
        segment,
    )


def test_order_count_counts_only_orders_with_a_sale_line(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Customer 6 has a sale order and a refund-only order: one order, 6300.00 each."""
    row = segment_row(con, 6)
    expected = oracle_segment(oracle, 6)
    assert (expected["order_count"], expected["avg_order_value"]) == (1, D("6300.00"))
    assert (row["order_count"], norm("avg_order_value", row["avg_order_value"])) == (
        1,
        D("6300.00"),
    )


SEGMENT_COLUMNS = [
    "full_name",
    "total_spent",
    "order_count",
    "avg_order_value",
    "first_order_date",
    "last_order_date",
    "unique_products",
    "customer_segment",
]


def test_customer_segments_equals_the_oracle(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Every customer that exists; the orphan id's row is its own test (a reading)."""
    orphans = {r["customer_id"] for r in oracle.customer_segments} - set(oracle.customers)
    actual = [
        r
        for r in table(con, "marts.customer_segments")
        if r["customer_id"] is not None and r["customer_id"] not in orphans
    ]
    expected = [r for r in oracle.customer_segments if r["customer_id"] not in orphans]
    assert_same_rows("marts.customer_segments", actual, expected, ["customer_id"], SEGMENT_COLUMNS)


def test_top_customers_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    assert_same_rows(
        "marts.top_customers",
        table(con, "marts.top_customers"),
        oracle.top_customers,
        ["customer_rank"],
        ["customer_id", "full_name", "email", "total_spent", "order_count", "customer_segment"],
    )


# --- monthly_summary, fct_refunds --------------------------------------------------------


def test_monthly_summary_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    assert_same_rows(
        "marts.monthly_summary",
        table(con, "marts.monthly_summary"),
        oracle.monthly_summary,
        ["year_number", "month_number"],
        [
            "total_sales",
            "total_refunds",
            "net_revenue",
            "items_sold",
            "items_refunded",
            "total_restocking_fees",
            "unique_customers",
            "order_count",
        ],
    )


def test_merged_ids_buying_in_one_month_are_one_unique_customer(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """40 and 41 (one customer) both bought in March 2024."""
    expected = _oracle_month(oracle, 2024, 3)["unique_customers"]
    assert _month_row(con, 2024, 3)["unique_customers"] == expected


def test_fct_refunds_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    assert_same_rows(
        "marts.fct_refunds",
        table(con, "marts.fct_refunds"),
        oracle.fct_refunds,
        ["transaction_id"],
        [
            "order_number",
            "customer_id",
            "product_code",
            "order_date",
            "territory",
            "quantity_refunded",
            "refund_amount",
            "restocking_fee",
            "refund_net",
        ],
    )


# --- product_performance -----------------------------------------------------------------


def test_product_performance_dense_ranks_a_revenue_tie(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Japan: S10_2000 and S10_3000 both earn 2500.00 (rank 1), S10_4000 is rank 2."""
    expected = {
        r["product_code"]: (r["revenue_rank"], r["total_revenue"], r["revenue_diff_from_best"])
        for r in oracle.product_performance
        if r["territory"] == "Japan"
    }
    assert expected == {
        "S10_2000": (1, D("2500.00"), D("0.00")),
        "S10_3000": (1, D("2500.00"), D("0.00")),
        "S10_4000": (2, D("900.00"), D("1600.00")),
    }
    found = rows(con, "select * from marts.product_performance where territory = 'Japan'")
    assert {
        r["product_code"]: (
            r["revenue_rank"],
            norm("total_revenue", r["total_revenue"]),
            norm("revenue_diff_from_best", r["revenue_diff_from_best"]),
        )
        for r in found
    } == expected


def test_product_performance_equals_the_oracle(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Every contract column but the two readings (total_quantity, avg_price) below.

    The unknown member's product_line is not in the contract, so it is not compared
    for a product_code without a product.
    """
    known = set(oracle.products)

    def comparable(source: Sequence[Row]) -> list[Row]:
        return [
            {**r, "product_line": r["product_line"] if r["product_code"] in known else "?"}
            for r in source
        ]

    assert_same_rows(
        "marts.product_performance",
        comparable(table(con, "marts.product_performance")),
        comparable(oracle.product_performance),
        ["territory", "product_code"],
        [
            "product_line",
            "total_revenue",
            "order_count",
            "revenue_rank",
            "best_revenue",
            "revenue_diff_from_best",
        ],
    )


def test_product_performance_total_quantity_is_net_of_refunds(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Reading: sum(quantity), refunds negative, as total_revenue sums net_amount."""
    assert_same_rows(
        "marts.product_performance",
        table(con, "marts.product_performance"),
        oracle.product_performance,
        ["territory", "product_code"],
        ["total_quantity"],
    )


def test_product_performance_avg_price_is_the_mean_unit_price(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Reading: avg(unit_price) over the group's lines, to the cent."""
    assert_same_rows(
        "marts.product_performance",
        table(con, "marts.product_performance"),
        oracle.product_performance,
        ["territory", "product_code"],
        ["avg_price"],
    )


# --- regional_summary ---------------------------------------------------------------------


def test_regional_summary_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    """Every column but share_of_net_revenue, whose denominator is a reading (below)."""
    assert_same_rows(
        "marts.regional_summary",
        table(con, "marts.regional_summary"),
        oracle.regional_summary,
        ["territory", "fiscal_year", "fiscal_quarter"],
        ["total_sales", "total_refunds", "net_revenue"],
    )


def test_regional_summary_groups_by_fiscal_not_calendar_quarter(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """The fiscal year starts in February: December 2023 and January 2024 are FY2024 Q4."""
    expected = next(
        r
        for r in oracle.regional_summary
        if (r["territory"], r["fiscal_year"], r["fiscal_quarter"]) == ("NA", 2024, 4)
    )
    # 20's 7000.00 (December) with 1's and 21's January lines
    assert expected["total_sales"] == D("7000.00") + D("10100.00") + D("3500.00")
    found = rows(
        con,
        "select * from marts.regional_summary where territory = 'NA' "
        "and fiscal_year = 2024 and fiscal_quarter = 4",
    )
    assert len(found) == 1, found
    assert norm("total_sales", found[0]["total_sales"]) == expected["total_sales"]


def test_regional_summary_share_is_of_the_fiscal_quarter(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """Reading: share_of_net_revenue = net_revenue / the quarter's total, as 0..1."""
    found = {
        (r["territory"], r["fiscal_year"], r["fiscal_quarter"]): r["share_of_net_revenue"]
        for r in table(con, "marts.regional_summary")
    }
    expected = {
        (r["territory"], r["fiscal_year"], r["fiscal_quarter"]): r["share_of_net_revenue"]
        for r in oracle.regional_summary
    }
    assert set(found) == set(expected)
    wrong = {
        k: (expected[k], found[k]) for k in expected if not close(found[k], expected[k], "0.0001")
    }
    assert not wrong, f"(expected, actual): {wrong}"


# --- landing files ------------------------------------------------------------------------


def _survey_rows(con: duckdb.DuckDBPyConnection) -> dict[tuple, Row]:
    """survey_monthly by (year, month, channel)."""
    return {
        (r["year_number"], r["month_number"], r["channel"]): r
        for r in table(con, "marts.survey_monthly")
    }


def test_survey_response_in_two_files_counts_once_newest_file_wins(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """R-005 said 6 in January's file and 9 in February's: web in January is 2 x promoters."""
    expected = next(r for r in oracle.survey_monthly if r["channel"] == "web")
    assert (expected["responses"], expected["nps"]) == (2, D(100))
    got = _survey_rows(con)[(2024, 1, "web")]
    assert got["responses"] == 2
    assert close(got["nps"], D(100)) and close(got["avg_satisfaction"], D(5))


def test_nps_at_half_a_hundredth_rounds_away_from_zero(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """1 promoter in 160 answers: 0.625 % exactly, stored to the hundredth as 0.63."""
    expected = next(r for r in oracle.survey_monthly if r["channel"] == "phone")
    assert (expected["responses"], expected["nps"]) == (160, D("0.625"))
    got = _survey_rows(con)[(2024, 3, "phone")]
    assert (got["responses"], got["nps"]) == (160, D("0.63"))


def test_survey_monthly_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    got = _survey_rows(con)
    want = {(r["year_number"], r["month_number"], r["channel"]): r for r in oracle.survey_monthly}
    assert set(got) == set(want)
    problems = {
        k: {c: (want[k][c], got[k][c]) for c in ("responses", "avg_satisfaction", "nps")}
        for k in want
        if got[k]["responses"] != want[k]["responses"]
        or not close(got[k]["avg_satisfaction"], want[k]["avg_satisfaction"])
        or not close(got[k]["nps"], want[k]["nps"])
    }
    assert not problems, f"(expected, actual): {problems}"


def test_expense_in_european_number_format_is_parsed(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """1.234,50 + 250.00 = 1484.50 for Sales/Travel/EUR in January 2024."""
    expected = next(r for r in oracle.expense_monthly if r["category"] == "Travel")
    assert expected["total_amount"] == D("1484.50")
    (found,) = rows(
        con,
        "select * from marts.expense_monthly where year_number = 2024 and month_number = 1 "
        "and department = 'Sales' and category = 'Travel' and currency = 'EUR'",
    )
    assert norm("total_amount", found["total_amount"]) == D("1484.50")
    assert found["expense_count"] == 2


def test_expense_file_landed_twice_counts_once(con: duckdb.DuckDBPyConnection) -> None:
    found = rows(
        con,
        "select category, expense_count, total_amount from marts.expense_monthly "
        "where year_number = 2024 and month_number = 2 order by category",
    )
    assert [
        (r["category"], r["expense_count"], norm("total_amount", r["total_amount"])) for r in found
    ] == [
        ("Hardware", 1, D("1200.00")),
        ("Meals", 1, D("45.10")),
    ]


def test_expense_monthly_equals_the_oracle(con: duckdb.DuckDBPyConnection, oracle: Oracle) -> None:
    assert_same_rows(
        "marts.expense_monthly",
        table(con, "marts.expense_monthly"),
        oracle.expense_monthly,
        ["year_number", "month_number", "department", "category", "currency"],
        ["total_amount", "expense_count"],
    )


# --- personal data --------------------------------------------------------------------------

PERSONAL_COLUMNS = [
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "address_line_1",
    "address_line_2",
    "city",
    "postal_code",
]


def test_restricted_customer_pii_holds_each_survivor_unmasked(
    con: duckdb.DuckDBPyConnection, oracle: Oracle
) -> None:
    """The current unmasked values of every customer that survives the merge: name and
    email as the oracle standardises them, the phone reduced to its digits (a leading
    `+` kept), address lines, city and postal code trimmed (empty: null). With
    `test_marts_show_every_personal_value_as_its_sha256`, every masked column of the
    marts is checked against hashlib's hash of a value computed here."""
    columns = ["full_name", "email", "phone", "address_line_1", "address_line_2", "city"]
    columns.append("postal_code")
    found = {
        r["customer_id"]: tuple(r[c] for c in columns)
        for r in rows(con, "select * from restricted.customer_pii where is_current")
    }

    def trimmed(value: Any) -> str | None:
        return str(value).strip() or None if value is not None else None

    def phone(value: Any) -> str | None:
        digits = "".join(c for c in str(value or "") if c.isdigit())
        return ("+" if str(value or "").strip().startswith("+") else "") + digits or None

    expected = {}
    for cid in set(oracle.key_map.values()):
        customer = oracle.customers[cid]
        expected[cid] = (
            customer["full_name"],
            customer["email_normalised"],
            phone(customer["phone"]),
            *(trimmed(customer[c]) for c in columns[3:]),
        )
    assert found == expected
    assert {values[2] for values in expected.values()} == {"+15550102000"}


def test_marts_show_every_personal_value_as_its_sha256(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Each personal column of dim_customer is hashlib's SHA-256 of the unmasked value of
    the same version; no unmasked value appears in any personal column of the marts."""
    personal = {r["customer_key"]: r for r in table(con, "restricted.customer_pii")}
    dimension = [r for r in table(con, "marts.dim_customer") if r["customer_key"] != UNKNOWN_KEY]
    assert len(dimension) == len(personal) > 0
    wrong = [
        (row["customer_key"], column)
        for row in dimension
        for column in PERSONAL_COLUMNS
        if row[column] != mask_pii(personal[row["customer_key"]][column])
    ]
    assert not wrong, wrong
    cleartext = {r[c] for r in personal.values() for c in PERSONAL_COLUMNS} - {None}
    for mart, columns in (
        ("dim_customer", PERSONAL_COLUMNS),
        ("customer_segments", ["full_name"]),
        ("top_customers", ["full_name", "email"]),
    ):
        shown = {r[c] for r in table(con, f"marts.{mart}") for c in columns}
        assert not shown & cleartext, f"marts.{mart} shows {shown & cleartext}"
