"""Deterministic demo data: two operational databases and a landing folder.

The project needs source data that looks like the company's real sources
(`docs/contracts/sources.md`) and that exercises every rule of `docs/contracts/gold.md`:
archive/live overlap, zero dates, re-entered transactions, one customer under several
ids, refunds, cancelled orders, orphan and null keys, rows for quarantine and messy
landing files. Everything here is generated from `random.Random` seeded from `seed`,
over fixed dates (2022-01-01..2024-12-31), so the same seed and scale give
byte-identical SQLite files and CSVs, and tests can assert exact behaviour.

Rows are produced as a stream and written in chunks so that `scale=1000`
(about 6M transaction lines) runs in bounded memory.

Edge cases that must exist at every scale are *forced*: the plan picks the ids
or order indices that carry them before the stream starts; the rest of the data
carries the same cases at random with small probabilities.
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from ingestion.schema_drift import CONTRACT_COLUMNS

__all__ = ["DemoSources", "generate_demo"]

ProgressFn = Callable[[str, int, int], None]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class DemoSources:
    """Where the generated sources live, in the form the ingestion config takes."""

    archive_url: str  # SQLAlchemy URL of the archive database
    live_url: str  # SQLAlchemy URL of the live database
    landing_dir: Path  # the landing folder


# --------------------------------------------------------------------------------------
# Time: integer seconds since _EPOCH, formatted through lookup tables because
# strftime on millions of rows is the slowest part of the generator.
# --------------------------------------------------------------------------------------

_EPOCH = datetime(2019, 1, 1)
_DAY = 86_400
ZERO_DATETIME = "0000-00-00 00:00:00"


def _ts(year: int, month: int, day: int) -> int:
    return int((datetime(year, month, day) - _EPOCH).total_seconds())


T_CUSTOMERS_FROM = _ts(2020, 1, 1)  # oldest customer
T_START = _ts(2022, 1, 1)  # first transaction
T_WINDOW = _ts(2023, 11, 1)  # live database starts here (overlap window)
T_CUTOVER = _ts(2024, 1, 1)  # archive ends here
T_RECENT = _ts(2024, 11, 1)  # open orders (In Process, On Hold) mostly from here
T_LAST_CUSTOMER = _ts(2024, 10, 31)
T_END = _ts(2025, 1, 1) - 1  # 2024-12-31 23:59:59

CUTOVER_DATE = date(2024, 1, 1)
WINDOW_START_DATE = date(2023, 11, 1)


@lru_cache(maxsize=1)
def _time_tables() -> tuple[list[str], list[str]]:
    days = [(_EPOCH + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(366 * 9)]
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(_DAY)]
    return days, times


def _fmt(ts: int) -> str:
    days, times = _time_tables()
    return days[ts // _DAY] + times[ts % _DAY]


def _dt(ts: int) -> datetime:
    return _EPOCH + timedelta(seconds=ts)


# --------------------------------------------------------------------------------------
# Schema. Column names and order follow docs/contracts/sources.md exactly.
# --------------------------------------------------------------------------------------

STATUSES = ("Shipped", "Resolved", "Cancelled", "On Hold", "Disputed", "In Process")

# the source contract's columns, and a table no model reads (it shows raw keeps it)
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    **CONTRACT_COLUMNS,
    "order_notes": ("note_id", "order_number", "note", "updated_at"),
}

_ENUM = "enum(" + ",".join(f"'{s}'" for s in STATUSES) + ")"

# (column, mysql type, sqlite type, nullable); the primary key is the first column.
_COLUMN_TYPES: dict[str, list[tuple[str, str, str, bool]]] = {
    "customers": [
        ("customer_id", "int", "INTEGER", False),
        ("first_name", "varchar(100)", "VARCHAR(100)", False),
        ("last_name", "varchar(100)", "VARCHAR(100)", False),
        ("email", "varchar(255)", "VARCHAR(255)", True),
        ("phone", "varchar(50)", "VARCHAR(50)", True),
        ("company_name", "varchar(255)", "VARCHAR(255)", True),
        ("address_line_1", "varchar(255)", "VARCHAR(255)", True),
        ("address_line_2", "varchar(255)", "VARCHAR(255)", True),
        ("city", "varchar(100)", "VARCHAR(100)", True),
        ("state", "varchar(100)", "VARCHAR(100)", True),
        ("postal_code", "varchar(20)", "VARCHAR(20)", True),
        ("country", "varchar(100)", "VARCHAR(100)", True),
        ("is_active", "tinyint(1)", "TINYINT(1)", False),
        ("created_at", "datetime", "DATETIME", False),
        ("updated_at", "datetime", "DATETIME", False),
    ],
    "products": [
        ("product_code", "varchar(20)", "VARCHAR(20)", False),
        ("product_name", "varchar(255)", "VARCHAR(255)", False),
        ("product_line", "varchar(100)", "VARCHAR(100)", False),
        ("product_family", "varchar(100)", "VARCHAR(100)", False),
        ("msrp", "decimal(10,2)", "DECIMAL(10,2)", False),
        ("updated_at", "datetime", "DATETIME", False),
    ],
    "transactions": [
        ("transaction_id", "bigint", "BIGINT", False),
        ("order_number", "varchar(20)", "VARCHAR(20)", False),
        ("order_line_number", "int", "INTEGER", False),
        ("customer_id", "int", "INTEGER", True),
        ("product_code", "varchar(20)", "VARCHAR(20)", True),
        ("quantity", "int", "INTEGER", False),
        ("unit_price", "decimal(10,2)", "DECIMAL(10,2)", False),
        # Nullable although the spec does not say so: a null amount is one of the
        # quarantine cases the models must handle.
        ("amount", "decimal(12,2)", "DECIMAL(12,2)", True),
        ("status", _ENUM, "VARCHAR(20)", False),
        ("territory", "varchar(20)", "VARCHAR(20)", True),
        ("transaction_date", "datetime", "DATETIME", False),
        ("updated_at", "datetime", "DATETIME", False),
    ],
    "order_notes": [
        ("note_id", "int", "INTEGER", False),
        ("order_number", "varchar(20)", "VARCHAR(20)", False),
        ("note", "text", "TEXT", True),
        ("updated_at", "datetime", "DATETIME", False),
    ],
}


def _ddl(table: str, dialect: str, charset: str = "utf8mb4") -> str:
    cols = []
    for name, mysql_type, sqlite_type, nullable in _COLUMN_TYPES[table]:
        col_type = mysql_type if dialect == "mysql" else sqlite_type
        cols.append(f"{name} {col_type} {'NULL' if nullable else 'NOT NULL'}")
    cols.append(f"PRIMARY KEY ({_COLUMN_TYPES[table][0][0]})")
    body = ",\n    ".join(cols)
    if dialect == "mysql":
        return f"CREATE TABLE `{table}` (\n    {body}\n) ENGINE=InnoDB DEFAULT CHARSET={charset}"
    return f"CREATE TABLE {table} (\n    {body}\n)"


# --------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------

# country code -> (spellings as they appear in the source, region, cities)
# cities: (city, state, postal_code)
COUNTRIES: dict[str, tuple[tuple[str, ...], str, tuple[tuple[str, str | None, str], ...]]] = {
    "US": (
        ("USA", "United States", "us", "US", "United States of America", "usa"),
        "NA",
        (
            ("New York", "NY", "10022"),
            ("San Francisco", "CA", "94107"),
            ("Boston", "MA", "02110"),
            ("Austin", "TX", "78701"),
            ("Seattle", "WA", "98101"),
        ),
    ),
    "CA": (
        ("Canada", "CA", "ca"),
        "NA",
        (
            ("Toronto", "ON", "M5V 2T6"),
            ("Montréal", "QC", "H2Y 1C6"),
            ("Vancouver", "BC", "V6B 1A1"),
        ),
    ),
    "FR": (
        ("France", "FR", "fr", "FRANCE"),
        "EMEA",
        (("Paris", None, "75008"), ("Lyon", None, "69002"), ("Nantes", None, "44000")),
    ),
    "DE": (
        ("Germany", "Deutschland", "DE", "de"),
        "EMEA",
        (("München", None, "80331"), ("Berlin", None, "10115"), ("Köln", None, "50667")),
    ),
    "GB": (
        ("UK", "United Kingdom", "GB", "gb", "Great Britain"),
        "EMEA",
        (("London", None, "EC1A 1BB"), ("Manchester", None, "M1 1AE")),
    ),
    "ES": (
        ("Spain", "España", "ES"),
        "EMEA",
        (("Madrid", None, "28001"), ("Barcelona", None, "08001")),
    ),
    "JP": (
        ("Japan", "JP", "jp"),
        "Japan",
        (("Tokyo", None, "100-0001"), ("Osaka", None, "530-0001")),
    ),
    "AU": (
        ("Australia", "AU", "au"),
        "APAC",
        (("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")),
    ),
    "SG": (("Singapore", "SG"), "APAC", (("Singapore", None, "018956"),)),
}
_COUNTRY_WEIGHTS = {
    "US": 34,
    "CA": 7,
    "FR": 12,
    "DE": 10,
    "GB": 10,
    "ES": 6,
    "JP": 10,
    "AU": 7,
    "SG": 4,
}
_COUNTRY_TABLE: tuple[str, ...] = tuple(c for c, w in _COUNTRY_WEIGHTS.items() for _ in range(w))
TERRITORIES = ("NA", "EMEA", "APAC", "Japan")

_STREETS = {
    "US": ("Main St", "Market St", "Broadway", "Elm Street", "5th Avenue"),
    "CA": ("Queen St W", "Rue Saint-Paul", "Granville St"),
    "FR": ("rue Royale", "boulevard Haussmann", "rue de la Paix"),
    "DE": ("Hauptstraße", "Lindenallee", "Königsweg"),
    "GB": ("High Street", "Baker Street", "Kingsway"),
    "ES": ("Calle Mayor", "Gran Vía", "Paseo de Gracia"),
    "JP": ("Chuo-dori", "Omotesando", "Meiji-dori"),
    "AU": ("George St", "Collins St", "Pitt St"),
    "SG": ("Orchard Rd", "Raffles Pl"),
}

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
    "David", "Elizabeth", "William", "Susan", "Richard", "Jessica", "Thomas", "Sarah",
    "Carlos", "María", "José", "Zoë", "François", "Chloé", "Renée", "Björn", "Søren",
    "Jürgen", "Åsa", "Noël", "Siobhán", "Inès", "Hélène", "Günter", "Ólafur", "Mónica",
    "João", "Frédéric", "Yuki", "Hiroshi", "Aiko", "Kenji", "Olivia", "Liam", "Emma",
    "Noah", "Amélie", "Matthäus",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Martínez", "Müller", "Schäfer", "Dubois", "Lefèvre", "Ångström", "Núñez", "O'Brien",
    "Fernández", "Rossi", "Bianchi", "Tanaka", "Suzuki", "Yamamoto", "Nguyen",
    "Kowalski", "Østergaard", "Brontë", "Gómez", "Le Clézio", "van der Berg",
    "MacDonald", "Dupont", "Schmidt", "Weiß",
)  # fmt: skip
# Not representable in latin1: only ever written to the live database.
FIRST_NAMES_UNICODE = ("Łukasz", "Анна", "Σοφία", "美咲", "Đorđe", "𝔘lrich", "Jo 😀", "Zoë 🚀")
LAST_NAMES_UNICODE = ("Dvořák", "Wałęsa", "Nguyễn", "山田", "Иванов", "𠮷田", "Smith 🎉")
FOUR_BYTE_NAMES = (("𝔘lrich", "𠮷田"), ("Jo 😀", "Nguyễn"), ("Zoë 🚀", "Wałęsa"))

COMPANIES = (
    "Atelier graphique", "Signal Gift Stores", "Australian Collectors, Co.",
    "La Rochelle Gifts", "Baane Mini Imports", "Mini Gifts Distributors Ltd.",
    "Havel & Zbyszek Co", "Blauer See Auto, Co.", "Mini Wheels Co.", "Land of Toys Inc.",
    "Euro+ Shopping Channel", "Volvo Model Replicas, Co", "Danish Wholesale Imports",
    "Saveley & Henriot, Co.", "Dragon Souveniers, Ltd.", "Muscle Machine Inc",
    "Diecast Classics Inc.", "Technics Stores Inc.", "Handji Gifts& Co", "Herkku Gifts",
    "Japan Collectables", "Tokyo Collectables, Ltd", "Corrida Auto Replicas, Ltd",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# Invalid on purpose (a valid email matches ^[^@\s]+@[^@\s]+\.[^@\s]+$).
INVALID_EMAILS = (
    "bob@",
    "no-at-sign",
    "@example.com",
    "carol@example",
    "dave@@example.com",
    "eve at example.com",
    "",
)

PRODUCT_LINES: dict[str, tuple[str, float, tuple[str, ...], tuple[int, int]]] = {
    # line: (family, share, models, year range)
    "Classic Cars": (
        "Automobiles",
        0.33,
        (
            "Ferrari 360 Spider",
            "Chevrolet Corvette",
            "Ford Mustang",
            "Porsche 356-A",
            "Alpine Renault 1300",
            "Citroën DS",
            "Mercedes-Benz 300 SL",
            "Jaguar E-Type",
            "Aston Martin DB5",
            "Shelby Cobra",
            "Lamborghini Diablo",
            "BMW Z4",
            "Dodge Charger",
            "Pontiac GTO",
            "Plymouth Barracuda",
        ),
        (1948, 2005),
    ),  # fmt: skip
    "Vintage Cars": (
        "Automobiles",
        0.22,
        (
            "Ford Model T",
            "Bugatti Type 35",
            "Duesenberg SJ",
            "Rolls-Royce Silver Ghost",
            "Packard Eight",
            "Cadillac V-16",
            "Chrysler Airflow",
            "Mercedes Simplex",
            "Hispano-Suiza H6",
            "Bentley Blower",
        ),
        (1903, 1940),
    ),  # fmt: skip
    "Motorcycles": (
        "Two-Wheelers",
        0.12,
        (
            "Harley-Davidson Eagle Drag Bike",
            "Ducati 900 Monster",
            "BMW R 1100 S",
            "Honda CB750",
            "Triumph Bonneville",
            "Vespa GS150",
            "Indian Chief",
            "Moto Guzzi V7",
        ),
        (1936, 2003),
    ),  # fmt: skip
    "Planes": (
        "Aircraft",
        0.11,
        (
            "Spitfire Mk IX",
            "P-51 Mustang",
            "Boeing 747",
            "Concorde",
            "Douglas DC-3",
            "Sopwith Camel",
            "Lockheed Constellation",
            "F4U Corsair",
        ),
        (1917, 1980),
    ),  # fmt: skip
    "Ships": (
        "Watercraft",
        0.08,
        (
            "HMS Bounty",
            "Titanic",
            "Queen Mary",
            "USS Constitution",
            "Mayflower",
            "Cutty Sark",
            "Pirate Galleon",
        ),
        (1620, 1936),
    ),
    "Trains": (
        "Railway",
        0.04,
        (
            "Flying Scotsman",
            "Orient Express Carriage",
            "Big Boy 4014",
            "Shinkansen 0 Series",
            "Collector Steam Locomotive",
        ),
        (1923, 1964),
    ),
    "Trucks and Buses": (
        "Commercial Vehicles",
        0.10,
        (
            "Ford F-150",
            "Volkswagen T1 Bus",
            "Peterbilt 379",
            "Routemaster Bus",
            "Mack Fire Engine",
            "Greyhound Scenicruiser",
            "Dodge Power Wagon",
        ),
        (1940, 2001),
    ),
}
_SCALE_PREFIXES = ("S10", "S12", "S18", "S24", "S32", "S50", "S72", "S700")
ORPHAN_PRODUCT_PREFIX = "S99_"  # never used by a real product
ORPHAN_CUSTOMER_ID_BASE = 9_000_000  # orphan customer ids are 9_000_001 and up

EMPLOYEES = (
    # name, department, currency (from the employee's office)
    ("Diane Murphy", "Finance", "USD"),
    ("Mary Patterson", "Sales", "USD"),
    ("Jeff Firrelli", "Operations", "USD"),
    ("William Patterson", "Sales", "USD"),
    ("Gerard Bondur", "Sales", "EUR"),
    ("Anthony Bow", "Sales", "USD"),
    ("Leslie Jennings", "Marketing", "USD"),
    ("Leslie Thompson", "Sales", "USD"),
    ("Julie Firrelli", "Marketing", "USD"),
    ("Steve Patterson", "IT", "USD"),
    ("Loui Bondur", "Sales", "EUR"),
    ("Gerard Hernandez", "Operations", "EUR"),
    ("Pamela Castillo", "HR", "EUR"),
    ("Larry Bott", "Sales", "GBP"),
    ("Barry Jones", "IT", "GBP"),
    ("Martin Gerard", "Finance", "EUR"),
    ("Hélène Lefèvre", "Marketing", "EUR"),
    ("Tom King", "HR", "GBP"),
)
EXPENSE_CATEGORIES = {
    # category: (min cents, max cents, descriptions)
    "Travel": (5_000, 250_000, ("Flight to trade fair", "Train, 2nd class", "Taxi from airport")),
    "Lodging": (
        8_000,
        180_000,
        ("Hotel, 2 nights", "Hotel near customer site", "Conference hotel"),
    ),
    "Meals": (800, 30_000, ("Lunch with customer", "Team dinner, 6 people", "Café")),
    "Software": (
        1_000,
        500_000,
        ("Annual licence renewal", "SaaS subscription", "Plug-in, one seat"),
    ),
    "Office Supplies": (500, 40_000, ("Printer toner", "Notebooks & pens", "Monitor stand")),
    "Training": (
        20_000,
        350_000,
        ("Course fee", "Certification exam", 'Workshop "Data for managers"'),
    ),
    "Client Entertainment": (
        4_000,
        150_000,
        ("Football tickets", "Dinner with distributor", "Gift basket"),
    ),
}

SURVEY_CHANNELS = ("email", "web", "phone", "in-store")
SURVEY_COMMENTS = (
    "",
    "Great service",
    "Fast delivery, well packed",
    'The "1957 Chevy" model was perfect',
    "Box arrived damaged.\nReplacement was quick.",
    "Très bien, merci !",
    "Would recommend 👍",
    "Delivery took 3 weeks; not happy",
    "N/A",
    'He said "call me back"\nand nobody did',
)

# --------------------------------------------------------------------------------------
# Plan: sizes and the forced edge cases
# --------------------------------------------------------------------------------------


def _interp(x: float, xs: Sequence[float], ys: Sequence[int]) -> int:
    for i in range(1, len(xs)):
        if x <= xs[i]:
            x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            return int(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return ys[-1]


# Customers are created in id order; the share of ids created before each knot:
# 35% before transactions start, 80% before the live window, 88% before cut-over.
_CUSTOMER_KNOTS_U = (0.0, 0.35, 0.80, 0.88, 1.0)
_CUSTOMER_KNOTS_T = (T_CUSTOMERS_FROM, T_START, T_WINDOW, T_CUTOVER, T_LAST_CUSTOMER)
_GOLDEN = 0.6180339887498949


@dataclass
class _Product:
    code: str
    name: str
    line: str
    family: str
    msrp_cents: int
    placement: str  # "A" archive only, "L" live only, "B" both
    mode: str = ""  # for "B": newer | older | tie
    archive_updated: int = 0
    live_updated: int = 0
    live_name: str = ""
    live_msrp_cents: int = 0


@dataclass
class _Plan:
    """Sizes and the pre-chosen carriers of every edge case."""

    seed: int
    scale: float
    n_customers: int
    n_orders: int
    n_surveys: int
    n_expenses: int
    products: list[_Product]
    customer_specs: dict[int, dict[str, Any]] = field(default_factory=dict)
    dup_groups: list[list[int]] = field(default_factory=list)
    order_events: dict[int, list[str]] = field(default_factory=dict)
    order_customer: dict[int, int] = field(default_factory=dict)

    # Customer ids in [1, a_end] were created before the live window, ids in
    # (a_end, w_end] inside it, the rest after cut-over.
    @property
    def a_end(self) -> int:
        return int(self.n_customers * _CUSTOMER_KNOTS_U[2])

    @property
    def w_end(self) -> int:
        return int(self.n_customers * _CUSTOMER_KNOTS_U[3])

    def customer_base(self, customer_id: int) -> int:
        """Lower bound of a customer's created_at; increasing in the id."""
        u = (customer_id - 1) / self.n_customers
        return _interp(u, _CUSTOMER_KNOTS_U, _CUSTOMER_KNOTS_T)

    def customer_created(self, customer_id: int) -> int:
        """created_at, strictly below customer_base(id + 1) so that the
        transaction stream can tell which ids exist at a time without state."""
        lo = self.customer_base(customer_id)
        hi = self.customer_base(customer_id + 1)
        frac = (customer_id * _GOLDEN) % 1.0
        return lo + int((hi - lo) * frac * 0.999)

    @property
    def order_step(self) -> float:
        return (T_END - 5 * _DAY - T_START) / self.n_orders

    def order_index_at(self, ts: int) -> int:
        """The first order index dated at or after `ts`."""
        return max(0, min(self.n_orders - 1, math.ceil((ts - T_START) / self.order_step)))

    def orders_before(self, ts: int) -> int:
        """How many orders are certainly dated before `ts`."""
        return max(0, min(self.n_orders, math.floor((ts - T_START) / self.order_step)))


def _build_plan(seed: int, scale: float) -> _Plan:
    rng = random.Random(f"{seed}:plan")
    n_customers = max(100, round(400 * scale))
    n_orders = max(100, round(2000 * scale))
    plan = _Plan(
        seed=seed,
        scale=scale,
        n_customers=n_customers,
        n_orders=n_orders,
        n_surveys=max(30, round(n_customers / 5)),
        n_expenses=max(60, round(300 * scale)),
        products=_plan_products(rng, scale),
    )
    _plan_customers(plan, rng)
    _plan_orders(plan, rng)
    return plan


def _plan_products(rng: random.Random, scale: float) -> list[_Product]:
    n = min(500, max(28, round(110 * scale)))
    counts = {line: max(3, round(share * n)) for line, (_, share, _, _) in PRODUCT_LINES.items()}
    codes: set[str] = set()
    names: set[str] = set()
    products: list[_Product] = []
    for line, (family, _, models, (y0, y1)) in PRODUCT_LINES.items():
        for _ in range(counts[line]):
            while True:
                code = f"{rng.choice(_SCALE_PREFIXES)}_{rng.randint(1000, 9999)}"
                if code not in codes:
                    codes.add(code)
                    break
            while True:
                name = f"{rng.randint(y0, y1)} {rng.choice(models)}"
                if name not in names:
                    names.add(name)
                    break
                if rng.random() < 0.2:  # small catalogues run out of year/model pairs
                    name = f"{name} Mk {rng.randint(2, 9)}"
                    if name not in names:
                        names.add(name)
                        break
            products.append(_Product(code, name, line, family, rng.randint(3000, 22000), "A"))
    rng.shuffle(products)
    # Placement: about 18% new in live only, 32% in both, the rest archive only.
    # The first few of each kind are forced so every scale has them.
    for i, product in enumerate(products):
        if i < 2:
            product.placement = "L"
        elif i < 5:
            product.placement, product.mode = "B", ("newer", "older", "tie")[i - 2]
        else:
            r = rng.random()
            product.placement = "L" if r < 0.18 else "B" if r < 0.50 else "A"
            if product.placement == "B":
                r = rng.random()
                product.mode = "newer" if r < 0.78 else "older" if r < 0.90 else "tie"
        window = T_CUTOVER - T_WINDOW
        if product.placement == "L":
            product.live_updated = T_WINDOW + rng.randrange(window)
            product.live_name, product.live_msrp_cents = product.name, product.msrp_cents
            continue
        product.archive_updated = _ts(2021, 1, 1) + rng.randrange(T_WINDOW - _ts(2021, 1, 1))
        if product.placement == "A":
            continue
        # Changed in live: a new msrp, sometimes a new name.
        product.live_msrp_cents = round(product.msrp_cents * rng.uniform(1.03, 1.15))
        product.live_name = product.name + (" (Limited Edition)" if rng.random() < 0.35 else "")
        if product.mode == "newer":
            product.live_updated = T_WINDOW + rng.randrange(T_END - T_WINDOW)
        elif product.mode == "older":
            product.archive_updated = T_WINDOW + 10 * _DAY + rng.randrange(40 * _DAY)
            product.live_updated = product.archive_updated - rng.randint(_DAY, 9 * _DAY)
        else:  # tie: same updated_at, different attributes; live wins
            product.archive_updated = T_WINDOW + rng.randrange(window)
            product.live_updated = product.archive_updated
    return products


def _plan_customers(plan: _Plan, rng: random.Random) -> None:
    """Choose the ids that carry the customer edge cases (see module docstring)."""
    n, a_end, w_end = plan.n_customers, plan.a_end, plan.w_end
    l_mid = max(w_end + 4, int(n * 0.94))  # live ids created early enough to buy
    taken: set[int] = set()

    def pick(lo: int, hi: int) -> int:
        for _ in range(1000):
            cid = rng.randint(lo, hi)
            if cid not in taken and cid % 10 != 0:  # key accounts keep their role
                taken.add(cid)
                return cid
        raise ValueError("scale too small for the demo's edge cases")

    specs = plan.customer_specs
    n_groups = max(4, round(n * 0.0125))
    for g in range(n_groups):
        kind = g % 4
        if kind == 0:  # archive id + newer live id: the live id survives
            ids = [pick(1, a_end), pick(w_end + 1, l_mid)]
            places = ["A", "L"]
        elif kind == 1:  # archive, both, live: the middle id (both) is newest
            ids = sorted([pick(1, a_end // 2), pick(a_end // 2 + 1, a_end), pick(w_end + 1, l_mid)])
            places = ["A", "B", "L"]
        elif kind == 2:  # archive + two live ids tied on updated_at: lowest live id
            ids = [pick(1, a_end), *sorted([pick(w_end + 1, l_mid), pick(w_end + 1, l_mid)])]
            places = ["A", "L", "L"]
        else:  # archive id and a higher live id tied on updated_at: live wins
            mid = a_end + max(2, (w_end - a_end) // 2)
            ids = sorted([pick(a_end + 1, mid), pick(a_end + 1, mid)])
            places = ["A", "L"]
        plan.dup_groups.append(ids)
        created = [plan.customer_created(cid) for cid in ids]
        upds: list[tuple[int | None, int | None]] = []  # (archive, live)
        if kind == 0:
            upds = [(created[0] + 30 * _DAY, None), (None, created[1] + 20 * _DAY)]
        elif kind == 1:
            upds = [
                (created[0] + 10 * _DAY, None),
                (created[1] + 5 * _DAY, T_END - 10 * _DAY),
                (None, created[2] + _DAY),
            ]
        elif kind == 2:
            tie = max(created[1], created[2]) + 7 * _DAY
            upds = [(created[0] + 3 * _DAY, None), (None, tie), (None, tie)]
        else:
            tie = max(created) + 3600
            upds = [(tie, None), (None, tie)]
        for member, (cid, place, upd) in enumerate(zip(ids, places, upds, strict=True)):
            specs[cid] = {"placement": place, "dup": (g, member), "upd": upd}

    for event, count, lo, hi in (
        ("zero_upd", 3, 1, a_end),
        ("both_newer", 2, 1, a_end),
        ("both_older", 2, 1, a_end),
        ("both_tie", 2, a_end + 1, w_end),
        ("both_zero", 1, 1, a_end),
        ("bob", 2, 1, n),
        ("no_at", 1, 1, n),
        ("four_byte_live", 3, w_end + 1, n),
    ):
        for _ in range(count):
            specs[pick(lo, hi)] = {"event": event}
    # One customer in both databases whose live name gains 4-byte characters.
    specs[pick(1, a_end)] = {"event": "both_newer", "four_byte": True}


def _plan_orders(plan: _Plan, rng: random.Random) -> None:
    """Pin the transaction edge cases to order indices, spread over the time line."""
    i_window = plan.order_index_at(T_WINDOW)
    i_cutover = plan.order_index_at(T_CUTOVER)
    # Ranges leave out the orders whose random time may fall on either side of a date.
    ranges = {
        "archive": (0, plan.orders_before(T_WINDOW)),
        "window": (i_window, plan.orders_before(T_CUTOVER)),
        "live": (i_cutover, plan.n_orders),
    }
    per_range: dict[str, list[str]] = {
        "archive": [
            "cust_orphan", "cust_null", "prod_orphan", "prod_null", "zero_qty",
            "null_amount", "amount_mismatch", "amount_cent_off", "refund", "refund",
            "refund_cancelled", "zero_upd", "zero_upd", "re_same_later", "re_same_earlier",
            "re_same_tie", *(f"status:{s}" for s in STATUSES),
        ],
        "window": [
            "both_newer", "both_older", "both_tie", "both_zero", "re_cross_later",
            "re_cross_earlier", "re_cross_tie", "re_both_later", "re_both_tie",
        ],
        "live": [
            "cust_orphan", "cust_null", "prod_orphan", "prod_null", "zero_qty",
            "null_amount", "amount_mismatch", "amount_cent_off", "refund", "refund",
            "refund_cancelled", "re_same_later", "re_same_earlier", "re_same_tie",
            *(f"status:{s}" for s in STATUSES),
        ],
    }  # fmt: skip
    for name, events in per_range.items():
        lo, hi = ranges[name]
        population = range(lo, max(hi, lo + 1))
        if len(population) >= len(events):
            indices = rng.sample(population, len(events))
        else:
            indices = [rng.choice(population) for _ in events]
        for index, event in zip(indices, events, strict=True):
            plan.order_events.setdefault(index, []).append(event)
    # Every id of a merged customer buys at least once, after it was created.
    for group in plan.dup_groups:
        for cid in group:
            lo = plan.order_index_at(plan.customer_base(cid + 1) + _DAY)
            for _ in range(2):
                for _attempt in range(100):  # two ids must not claim the same order
                    index = rng.randint(lo, plan.n_orders - 1)
                    if index not in plan.order_customer:
                        plan.order_customer[index] = cid
                        break


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


def _country_of(customer_id: int) -> str:
    """Deterministic in the id so that transactions know a customer's territory
    without keeping every customer in memory."""
    return _COUNTRY_TABLE[(customer_id * 2654435761 % 4294967296) % len(_COUNTRY_TABLE)]


def _phone(rng: random.Random, country: str) -> str | None:
    if rng.random() < 0.07:
        return None
    a, b, c = rng.randint(200, 989), rng.randint(100, 199), rng.randint(0, 9999)
    if country in ("US", "CA"):
        formats = (
            f"+1 (555) {b:03d}-{c:04d}",
            f"555.{b:03d}.{c:04d}",
            f"(555) {b:03d}-{c:04d}",
            f"555-{b:03d}-{c:04d}",
            f"+1555{b:03d}{c:04d}",
            f"1-555-{b:03d}-{c:04d}",
        )
    elif country == "GB":
        formats = (f"0044 20 7946 {c:04d}", f"+44 20 7946 {c:04d}", f"020 7946 {c:04d}")
    elif country == "FR":
        formats = (
            f"+33 1 {a % 90 + 10} {b % 90 + 10} {c % 90 + 10} {c % 89 + 10}",
            f"01.{a % 90 + 10}.{b % 90 + 10}.{c % 90 + 10}.{c % 89 + 10}",
        )
    elif country == "DE":
        formats = (f"+49 (0)30 {a}{c:04d}", f"030 {a}{c:04d}", f"0049 30 {a} {c:04d}")
    elif country == "JP":
        formats = (f"+81-3-{c:04d}-{a}{b % 10}", f"03-{c:04d}-{a}{b % 10}")
    elif country == "AU":
        formats = (f"+61 2 9{a} {c:04d}", f"(02) 9{a} {c:04d}")
    else:
        formats = (f"+65 6{a} {c:04d}", f"6{a}{c:04d}")
    return rng.choice(formats)


def _pad(rng: random.Random, text: str, p: float) -> str:
    """Stray whitespace as typed into an old form: spaces only, so trim() fixes it."""
    if rng.random() >= p:
        return text
    return rng.choice((" {}", "{} ", "  {}  ", "{}   ")).format(text)


def _case(rng: random.Random, email: str) -> str:
    r = rng.random()
    if r < 0.15:
        return email.title()
    if r < 0.22:
        return email.upper()
    return email


_ASCII_EXTRA = str.maketrans(
    {"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D"}
)


def _ascii(text: str) -> str:
    """The local part of a generated email: what a web form would have made of the name."""
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_EXTRA))
    folded = folded.encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "customer"


@dataclass
class _CustomerVersion:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    company_name: str | None
    address_line_1: str | None
    address_line_2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None
    is_active: int

    def row(self, customer_id: int, created: int, updated: str) -> Row:
        return (
            customer_id,
            self.first_name,
            self.last_name,
            self.email,
            self.phone,
            self.company_name,
            self.address_line_1,
            self.address_line_2,
            self.city,
            self.state,
            self.postal_code,
            self.country,
            self.is_active,
            _fmt(created),
            updated,
        )


def _new_customer(rng: random.Random, cid: int, latin1: bool) -> _CustomerVersion:
    if not latin1 and rng.random() < 0.08:
        first, last = rng.choice(FIRST_NAMES_UNICODE), rng.choice(LAST_NAMES_UNICODE)
    else:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    code = _country_of(cid)
    spellings, _, cities = COUNTRIES[code]
    city, state, postal = rng.choice(cities)
    r = rng.random()
    if r < 0.05:
        email = None
    elif r < 0.08:
        email = rng.choice(INVALID_EMAILS)
    else:
        base = f"{_ascii(first)}.{_ascii(last)}{cid}@{rng.choice(EMAIL_DOMAINS)}"
        email = _pad(rng, _case(rng, base), 0.08)
    return _CustomerVersion(
        first_name=_pad(rng, first, 0.08),
        last_name=_pad(rng, last, 0.06),
        email=email,
        phone=_phone(rng, code),
        company_name=rng.choice(COMPANIES) if rng.random() < 0.55 else None,
        address_line_1=f"{rng.randint(1, 250)} {rng.choice(_STREETS[code])}"
        if rng.random() < 0.95
        else None,
        address_line_2=rng.choice(("Suite 200", "Apt 4B", "2nd floor", "Bâtiment C"))
        if rng.random() < 0.2
        else None,
        city=city,
        state=state,
        postal_code=postal,
        country=None if rng.random() < 0.03 else rng.choice(spellings),
        is_active=0 if rng.random() < 0.1 else 1,
    )


def _changed(rng: random.Random, v: _CustomerVersion, cid: int, latin1: bool) -> _CustomerVersion:
    """The same customer after an edit in the live system."""
    new = _CustomerVersion(**vars(v))
    r = rng.random()
    if r < 0.3:
        new.phone = _phone(rng, _country_of(cid))
    elif r < 0.5:
        code = _country_of(cid)
        new.city, new.state, new.postal_code = rng.choice(COUNTRIES[code][2])
        new.address_line_1 = f"{rng.randint(1, 250)} {rng.choice(_STREETS[code])}"
    elif r < 0.65:
        new.last_name = rng.choice(LAST_NAMES if latin1 else LAST_NAMES + LAST_NAMES_UNICODE)
    elif r < 0.8:
        new.is_active = 1 - v.is_active
    else:
        new.first_name, new.last_name = v.first_name.strip(), v.last_name.strip()
        new.company_name = rng.choice(COMPANIES)
    if new == v:
        new.is_active = 1 - v.is_active
    return new


def _customer_chunks(
    plan: _Plan, sample: list[str], chunk: int
) -> Iterator[tuple[list[Row], list[Row], int]]:
    """Yield (archive rows, live rows, customers done); fills `sample` with a
    bounded sample of valid emails for the survey files."""
    rng = random.Random(f"{plan.seed}:customers")
    n, a_end, w_end = plan.n_customers, plan.a_end, plan.w_end
    sample_every = max(1, n // 20_000)
    dup_bases: dict[int, tuple[str, str, str]] = {}
    archive: list[Row] = []
    live: list[Row] = []
    for cid in range(1, n + 1):
        created = plan.customer_created(cid)
        spec = plan.customer_specs.get(cid, {})
        event = spec.get("event", "")
        if "placement" in spec:
            placement = spec["placement"]
        elif event.startswith("both_"):
            placement = "B"
        elif event == "zero_upd":
            placement = "A"
        elif event == "four_byte_live":
            placement = "L"
        elif cid <= a_end:
            placement = "B" if rng.random() < 0.2 else "A"
        elif cid <= w_end:
            r = rng.random()
            placement = "B" if r < 0.6 else "L" if r < 0.85 else "A"
        else:
            placement = "L"
        in_archive = placement in ("A", "B")
        v1 = _new_customer(rng, cid, latin1=in_archive)
        if event == "bob":
            v1.email = "bob@"
        elif event == "no_at":
            v1.email = "no-at-sign"
        elif event == "four_byte_live":
            v1.first_name, v1.last_name = FOUR_BYTE_NAMES[cid % len(FOUR_BYTE_NAMES)]
        if "dup" in spec:
            group, member = spec["dup"]
            if group not in dup_bases:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                dup_bases[group] = (
                    first,
                    last,
                    f"{_ascii(first)}.{_ascii(last)}.g{group}@example.com",
                )
            first, last, base = dup_bases[group]
            v1.first_name, v1.last_name = (
                (first, last) if member == 0 else (f" {first}", f"{last} ")
            )
            v1.email = (base, "  " + base.title() + " ", base.upper() + "  ")[member]
        if (
            v1.email
            and "@" in v1.email
            and v1.email.strip() not in INVALID_EMAILS
            and cid % sample_every == 0
        ):
            sample.append(v1.email.strip())

        upd_archive, upd_live = spec.get("upd", (None, None))
        if placement in ("A", "B") and upd_archive is None:
            span = max(1, min(700 * _DAY, T_CUTOVER - 1 - created))
            upd_archive = created + rng.randrange(span)
        if placement == "A":
            zero = event == "zero_upd" or ("dup" not in spec and rng.random() < 0.03)
            archive.append(v1.row(cid, created, ZERO_DATETIME if zero else _fmt(upd_archive)))
        elif placement == "L":
            if upd_live is None:
                upd_live = created + rng.randrange(max(1, min(300 * _DAY, T_END - created)))
            live.append(v1.row(cid, created, _fmt(upd_live)))
        else:
            assert upd_archive is not None
            mode = event[5:] if event.startswith("both_") else ""
            if not mode:
                r = rng.random()
                mode = "newer" if r < 0.8 else "older" if r < 0.9 else "tie" if r < 0.97 else "zero"
            v2 = _changed(rng, v1, cid, latin1=(mode == "older"))
            if spec.get("four_byte"):
                v2.first_name = FOUR_BYTE_NAMES[0][0]
            if upd_live is not None:  # a merged id: updated_at set by the plan
                archive.append(v1.row(cid, created, _fmt(upd_archive)))
                live.append(v2.row(cid, created, _fmt(upd_live)))
            elif mode in ("newer", "zero"):
                upd_live = max(upd_archive, T_WINDOW) + rng.randint(_DAY, 330 * _DAY)
                archive_upd = ZERO_DATETIME if mode == "zero" else _fmt(upd_archive)
                archive.append(v1.row(cid, created, archive_upd))
                live.append(v2.row(cid, created, _fmt(min(upd_live, T_END))))
            elif mode == "older":  # archive edited after live: archive wins
                upd_archive = max(created, T_WINDOW) + rng.randint(5 * _DAY, 55 * _DAY)
                upd_archive = min(upd_archive, T_CUTOVER - 1)
                upd_live = max(created, upd_archive - rng.randint(3600, 4 * _DAY))
                archive.append(v2.row(cid, created, _fmt(upd_archive)))
                live.append(v1.row(cid, created, _fmt(upd_live)))
            else:  # tie: live wins
                upd = upd_archive
                archive.append(v1.row(cid, created, _fmt(upd)))
                live.append(v2.row(cid, created, _fmt(upd)))
        if len(archive) + len(live) >= chunk:
            yield archive, live, cid
            archive, live = [], []
    yield archive, live, n


# --------------------------------------------------------------------------------------
# Transactions
# --------------------------------------------------------------------------------------

_STATUS_CUM_NORMAL = (
    (0.84, "Shipped"),
    (0.88, "Resolved"),
    (0.92, "Cancelled"),
    (0.95, "On Hold"),
    (0.98, "Disputed"),
    (1.0, "In Process"),
)
_STATUS_CUM_RECENT = (
    (0.55, "Shipped"),
    (0.58, "Resolved"),
    (0.62, "Cancelled"),
    (0.72, "On Hold"),
    (0.75, "Disputed"),
    (1.0, "In Process"),
)
# Status in the archive -> status after the live system updated the order.
_STATUS_PROGRESS = {
    "In Process": (("Shipped", 0.9), ("Cancelled", 1.0)),
    "On Hold": (("Shipped", 0.6), ("Cancelled", 0.8), ("Disputed", 1.0)),
    "Shipped": (("Resolved", 0.4), ("Disputed", 0.6), ("Shipped", 1.0)),
}


def _status(rng: random.Random, ts: int) -> str:
    r = rng.random()
    for threshold, status in _STATUS_CUM_RECENT if ts >= T_RECENT else _STATUS_CUM_NORMAL:
        if r < threshold:
            return status
    return "Shipped"


def _money(cents: int) -> float:
    """A float that is the nearest double to the exact cents: SQLite stores it as
    REAL and SQLAlchemy's DECIMAL(10,2) reads back the exact value; pymysql sends
    it as a literal that MySQL rounds to the same cents."""
    return cents / 100


class _TransactionStream:
    """Generates the order lines in time order and splits them over the two
    databases. Only the current chunk is held in memory."""

    P_ZERO_UPD = 0.01
    P_REENTRY = 0.012
    P_REFUND = 0.05

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.rng = random.Random(f"{plan.seed}:transactions")
        self.next_id = 1_000_000
        self.archive: list[Row] = []
        self.live: list[Row] = []
        pool_archive = [p for p in plan.products if p.placement in ("A", "B")]
        pool_all = pool_archive + [p for p in plan.products if p.placement == "L"]
        self.pool_archive = [(p.code, p.msrp_cents) for p in pool_archive]
        self.pool_all = [(p.code, p.msrp_cents) for p in pool_all]

    # ---- helpers -------------------------------------------------------------------

    def _pick_customer(self, k: int) -> tuple[int, str]:
        """Key accounts (id % 10 == 0) buy often and big, mid-size ids (1-3) less,
        the rest rarely and small: this gives every customer segment and deal size."""
        rng = self.rng
        r = rng.random()
        if k < 10:
            return 1 + int(rng.random() * k), "small"
        if r < 0.45:
            return 10 * (1 + int(rng.random() * (k // 10))), "key"
        if r < 0.75:
            cid = 10 * int(rng.random() * ((k - 1) // 10 + 1)) + 1 + int(rng.random() * 3)
            return (cid, "mid") if cid <= k else (1 + int(rng.random() * k), "mid")
        cid = 10 * int(rng.random() * ((k - 1) // 10 + 1)) + 4 + int(rng.random() * 6)
        return (cid, "small") if cid <= k else (1 + int(rng.random() * k), "small")

    def _emit(
        self,
        row: list[Any],
        placement: str,
        upd_a: int | str,
        upd_l: int,
        status_a: str,
        status_l: str,
    ) -> int:
        """Write one business line to the databases its placement names; returns its id."""
        tid = self.next_id
        self.next_id += 1
        row[0] = tid
        if placement in ("A", "B"):
            row[8] = status_a
            row[11] = upd_a if isinstance(upd_a, str) else _fmt(upd_a)
            self.archive.append(tuple(row))
        if placement in ("L", "B"):
            row[8] = status_l
            row[11] = _fmt(upd_l)
            self.live.append(tuple(row))
        return tid

    def _reentry(
        self,
        row: list[Any],
        placement: str,
        forced: str,
        d: int,
        upd_a: int | str,
        upd_l: int,
        status_a: str,
        status_l: str,
    ) -> None:
        """The same (order_number, order_line_number) entered again under a new id."""
        rng = self.rng
        if forced:
            kind, mode = forced.split("_")[1:]
        else:
            r = rng.random()
            mode = "later" if r < 0.6 else "earlier" if r < 0.85 else "tie"
            if placement == "A":
                kind = "cross" if d >= T_WINDOW and rng.random() < 0.3 else "same"
            else:
                kind = "both" if placement == "B" else "same"
        if kind == "same" and placement == "A":
            target, ref, status = "A", upd_a, status_a
        elif kind == "cross":
            target, ref, status = "L", upd_a, status_a
        else:
            target, ref, status = "L", upd_l, status_l
        assert isinstance(ref, int)
        if mode == "later":
            new = ref + 3600 + int(rng.random() * 20 * _DAY)
            # the archive ends at the cut-over: too late to be later there means a tie
            new = max(ref, min(new, T_CUTOVER - 1)) if target == "A" else min(new, T_END)
        elif mode == "earlier":
            new = d + int((ref - d) * rng.uniform(0.1, 0.9))
        else:
            new = ref
        copy = list(row)
        if rng.random() < 0.4 and copy[5] > 0 and copy[7] is not None:  # corrected quantity
            copy[5] += 1 + int(rng.random() * 3)
            copy[7] = _money(copy[5] * round(copy[6] * 100))
        self._emit(copy, target, new, new, status, status)

    # ---- the stream ----------------------------------------------------------------

    def chunks(self, chunk: int) -> Iterator[tuple[list[Row], list[Row], int]]:
        plan, rng = self.plan, self.rng
        step = plan.order_step
        k = 0  # customers 1..k exist at the current time
        n_customers = plan.n_customers
        no_events: list[str] = []  # a list: set order would vary between runs
        for i in range(plan.n_orders):
            d = T_START + int((i + rng.random()) * step)
            while k < n_customers and plan.customer_base(k + 2) <= d:
                k += 1
            events = plan.order_events.get(i, no_events)

            # customer and territory
            forced_customer = plan.order_customer.get(i)
            if forced_customer is not None:
                cid, tier = forced_customer, "mid"
            elif "cust_orphan" in events or rng.random() < 0.004:
                cid, tier = ORPHAN_CUSTOMER_ID_BASE + 1 + int(rng.random() * 50), "mid"
            elif "cust_null" in events or rng.random() < 0.004:
                cid, tier = None, "small"
            else:
                cid, tier = self._pick_customer(max(k, 1))
            if rng.random() < 0.03:
                territory = None
            elif cid is None or cid > n_customers:
                territory = TERRITORIES[int(rng.random() * 4)]
            else:
                territory = COUNTRIES[_country_of(cid)][1]

            # where the order lives
            placement, mode = "A", ""
            if d >= T_CUTOVER:
                placement = "L"
            elif d >= T_WINDOW:
                r = rng.random()
                placement = "A" if r < 0.15 else "L" if r < 0.3 else "B"
            both_event = next((e for e in events if e.startswith("both_")), "")
            reentry_event = next((e for e in events if e.startswith("re_")), "")
            if d >= T_CUTOVER or d < T_WINDOW:
                pass  # forced placements only ever apply inside the window
            elif both_event or reentry_event.startswith("re_both"):
                placement = "B"
            elif reentry_event.startswith("re_cross"):
                placement = "A"
            if placement == "B":
                mode = both_event[5:] if both_event else ""
                if not mode:
                    r = rng.random()
                    mode = (
                        "newer"
                        if r < 0.75
                        else "older"
                        if r < 0.87
                        else "tie"
                        if r < 0.95
                        else "zero"
                    )
                status_old = (
                    "In Process"
                    if rng.random() < 0.5
                    else "On Hold"
                    if rng.random() < 0.4
                    else "Shipped"
                )
                status_new = status_old
                r = rng.random()
                for status, threshold in _STATUS_PROGRESS[status_old]:
                    if r < threshold:
                        status_new = status
                        break
            else:
                status_old = status_new = _status(rng, d)
            forced_status = next((e[7:] for e in events if e.startswith("status:")), "")
            if forced_status:
                status_old = status_new = forced_status
            if "refund_cancelled" in events:
                status_old = status_new = "Cancelled"
            elif "refund" in events and status_new not in ("Shipped", "Resolved", "Disputed"):
                status_old = status_new = "Shipped"

            order_number = f"SO{100001 + i}"
            tdate = _fmt(d)
            pool = self.pool_all if d >= T_CUTOVER else self.pool_archive
            n_pool = len(pool)
            if tier == "key":
                n_lines, q_lo, q_span = 2 + int(rng.random() * 5), 15, 51
            elif tier == "mid":
                n_lines, q_lo, q_span = 1 + int(rng.random() * 4), 3, 13
            else:
                n_lines, q_lo, q_span = 1 + int(rng.random() * 2), 1, 8
            sale_lines: list[tuple[Any, int, int]] = []
            for line in range(1, n_lines + 1):
                r = rng.random()
                code, msrp = pool[int(n_pool * r * r)]
                price = int(msrp * (0.75 + 0.25 * rng.random()))
                qty = q_lo + int(rng.random() * q_span)
                amount: float | None = _money(qty * price)
                first = line == 1
                r = rng.random()
                if (first and "prod_orphan" in events) or r < 0.003:
                    code = f"{ORPHAN_PRODUCT_PREFIX}{1 + int(rng.random() * 40):04d}"
                elif (first and "prod_null" in events) or r < 0.006:
                    code = None
                r = rng.random()
                if (first and "zero_qty" in events) or r < 0.002:
                    qty, amount = 0, 0.0
                elif (first and "null_amount" in events) or r < 0.004:
                    amount = None
                elif (first and "amount_mismatch" in events) or r < 0.006:
                    amount = _money(qty * price + rng.choice((-1, 1)) * rng.randint(100, 5000))
                elif (first and "amount_cent_off" in events) or r < 0.007:
                    amount = _money(qty * price + rng.choice((-1, 1)))
                else:
                    sale_lines.append((code, qty, price))
                row = [
                    0,
                    order_number,
                    line,
                    cid,
                    code,
                    qty,
                    _money(price),
                    amount,
                    "",
                    territory,
                    tdate,
                    "",
                ]
                self._line(
                    row, placement, mode, d, status_old, status_new, events, first, reentry_event
                )

            # a refund: a new line of the same order, later, negative quantity
            wants_refund = (
                "refund" in events or "refund_cancelled" in events or rng.random() < self.P_REFUND
            )
            if (
                wants_refund
                and sale_lines
                and status_new in ("Shipped", "Resolved", "Disputed", "Cancelled")
            ):
                code, qty, price = sale_lines[int(rng.random() * len(sale_lines))]
                ref_qty = -(1 + int(rng.random() * qty))
                when = min(d + rng.randint(3 * _DAY, 40 * _DAY), T_END - _DAY)
                # booked after the cut-over: only the live system has it
                ref_placement = "L" if when >= T_CUTOVER else placement
                ref_status_old = "Resolved" if status_old == "Shipped" else status_old
                ref_status_new = "Resolved" if status_new == "Shipped" else status_new
                if ref_placement == "B":
                    ref_status_old = ref_status_new  # the refund was booked after the status change
                row = [
                    0,
                    order_number,
                    n_lines + 1,
                    cid,
                    code,
                    ref_qty,
                    _money(price),
                    _money(ref_qty * price),
                    "",
                    territory,
                    _fmt(when),
                    "",
                ]
                self._line(
                    row,
                    ref_placement,
                    mode,
                    when,
                    ref_status_old,
                    ref_status_new,
                    no_events,
                    False,
                    "",
                )

            if len(self.archive) + len(self.live) >= chunk:
                yield self.archive, self.live, i + 1
                self.archive, self.live = [], []
        yield self.archive, self.live, plan.n_orders

    def _line(
        self,
        row: list[Any],
        placement: str,
        mode: str,
        d: int,
        status_old: str,
        status_new: str,
        events: list[str],
        first: bool,
        reentry_event: str,
    ) -> None:
        rng = self.rng
        base = d + 3600 + int(rng.random() * 5 * _DAY)
        status_a, status_l = status_old, status_new
        upd_a: int | str
        if placement == "A":
            upd_a = upd_l = min(base, T_CUTOVER - 1)
        elif placement == "L":
            upd_a = upd_l = min(base, T_END)
        else:
            upd_a = min(base, T_CUTOVER - 1)
            if mode in ("newer", "zero"):
                upd_l = upd_a + rng.randint(_DAY, 45 * _DAY)
            elif mode == "older":  # archive edited after live: archive wins
                status_a, status_l = status_new, status_old
                upd_l = d + int((upd_a - d) * rng.uniform(0.2, 0.8))
            else:  # tie: live wins
                upd_l = upd_a
        forced_reentry = reentry_event if first else ""
        reentered = bool(forced_reentry) or rng.random() < self.P_REENTRY
        if placement in ("A", "B") and not reentered:
            zero = (placement == "A" and first and "zero_upd" in events) or mode == "zero"
            if zero or (placement == "A" and rng.random() < self.P_ZERO_UPD):
                self._emit(row, placement, ZERO_DATETIME, upd_l, status_a, status_l)
                return
        self._emit(row, placement, upd_a, upd_l, status_a, status_l)
        if reentered:
            self._reentry(row, placement, forced_reentry, d, upd_a, upd_l, status_a, status_l)


# --------------------------------------------------------------------------------------
# The extra table the models do not use
# --------------------------------------------------------------------------------------


def _order_notes(plan: _Plan) -> tuple[list[Row], list[Row]]:
    """A few dozen rows in each database; ids 25..36 are in both."""
    rng = random.Random(f"{plan.seed}:order_notes")
    texts_archive = (
        "Call before delivery",
        "Gift wrap",
        "Customer asked for invoice copy",
        "Leave at reception",
        "Café order, rush",
    )
    texts_live = (*texts_archive, "Delivery window 9–12h", "Customer prefers email 📧")
    i_window = plan.order_index_at(T_WINDOW)
    archive, live = [], []
    for note_id in range(1, 37):
        i = rng.randrange(max(1, i_window))
        upd = T_START + int(i * plan.order_step) + rng.randint(_DAY, 20 * _DAY)
        archive.append(
            (note_id, f"SO{100001 + i}", rng.choice(texts_archive), _fmt(min(upd, T_CUTOVER - 1)))
        )
    for note_id in range(25, 61):
        i = rng.randrange(max(1, i_window - 50), plan.n_orders)
        upd = max(T_WINDOW, T_START + int(i * plan.order_step)) + rng.randint(_DAY, 20 * _DAY)
        live.append((note_id, f"SO{100001 + i}", rng.choice(texts_live), _fmt(min(upd, T_END))))
    return archive, live


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------


class _Sink:
    """One database being written: create tables, bulk-insert chunks, index."""

    dialect = ""

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    def checkpoint(self) -> None:
        """Called after each chunk of transactions."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def create_tables(self, archive: bool) -> None:
        for table in TABLE_COLUMNS:
            charset = "latin1" if archive and table == "customers" else "utf8mb4"
            self.execute(_ddl(table, self.dialect, charset))

    def index_updated_at(self) -> None:
        for table in TABLE_COLUMNS:
            self.execute(f"CREATE INDEX ix_{table}_updated_at ON {table} (updated_at)")


class _SqliteSink(_Sink):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        # The file is rebuilt from scratch on failure, so durability buys nothing.
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("BEGIN")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            cols = TABLE_COLUMNS[table]
            marks = ",".join("?" * len(cols))
            self.conn.executemany(f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})", rows)

    def checkpoint(self) -> None:
        """Nothing: one transaction for the whole file is the fastest way to fill it."""

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


class _MysqlSink(_Sink):
    dialect = "mysql"

    def __init__(self, server_url: URL, database: str) -> None:
        self.engine = create_engine(server_url, poolclass=NullPool)
        self.conn = self.engine.raw_connection()
        cursor = self.conn.cursor()
        # '' lets zero dates in (the archive is an old server that has them).
        cursor.execute("SET SESSION sql_mode=''")
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{database}`")
        cursor.close()

    def execute(self, sql: str) -> None:
        cursor = self.conn.cursor()
        cursor.execute(sql)
        cursor.close()

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            cols = TABLE_COLUMNS[table]
            marks = ",".join(["%s"] * len(cols))
            cursor = self.conn.cursor()
            # pymysql rewrites this into multi-row INSERTs of up to ~1 MB each.
            cursor.executemany(f"INSERT INTO `{table}` ({','.join(cols)}) VALUES ({marks})", rows)
            cursor.close()

    def checkpoint(self) -> None:
        """Commit, so that InnoDB's undo log stays small at large scales."""
        self.conn.commit()

    def close(self) -> None:
        self.conn.commit()
        self.conn.close()
        self.engine.dispose()


def _write_databases(
    plan: _Plan, archive: _Sink, live: _Sink, progress: ProgressFn, email_sample: list[str]
) -> None:
    chunk = 50_000
    archive.create_tables(archive=True)
    live.create_tables(archive=False)

    products = plan.products
    archive_products = [
        (p.code, p.name, p.line, p.family, _money(p.msrp_cents), _fmt(p.archive_updated))
        for p in products
        if p.placement in ("A", "B")
    ]
    live_products = [
        (p.code, p.live_name, p.line, p.family, _money(p.live_msrp_cents), _fmt(p.live_updated))
        for p in products
        if p.placement in ("L", "B")
    ]
    archive.insert("products", archive_products)
    live.insert("products", live_products)
    progress("products", len(products), len(products))

    progress("customers", 0, plan.n_customers)
    for rows_a, rows_l, done in _customer_chunks(plan, email_sample, chunk):
        archive.insert("customers", rows_a)
        live.insert("customers", rows_l)
        progress("customers", done, plan.n_customers)

    progress("transactions", 0, plan.n_orders)
    for rows_a, rows_l, done in _TransactionStream(plan).chunks(chunk):
        archive.insert("transactions", rows_a)
        live.insert("transactions", rows_l)
        archive.checkpoint()
        live.checkpoint()
        progress("transactions", done, plan.n_orders)

    notes_a, notes_l = _order_notes(plan)
    archive.insert("order_notes", notes_a)
    live.insert("order_notes", notes_l)
    progress("order_notes", 1, 1)
    live.index_updated_at()
    progress("indexes", 1, 1)


# --------------------------------------------------------------------------------------
# Landing files
# --------------------------------------------------------------------------------------


def _set_mtime(path: Path, when: datetime) -> None:
    """Files 'land' at fixed times so 'newest file wins' is reproducible by mtime
    as well as by name."""
    ts = when.replace(tzinfo=UTC).timestamp()
    os.utime(path, (ts, ts))


def _csv_text(
    rows: Sequence[Sequence[Any]], delimiter: str = ",", lineterminator: str = "\n"
) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator)
    writer.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str, landed: datetime, bom: bool = False) -> None:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    _set_mtime(path, landed)


def _fiscal_calendar_text() -> str:
    """Fiscal year starts 1 February and is named after the calendar year it ends
    in (FY2024 = 2023-02-01..2024-01-31); weeks count from the year's first day."""
    rows: list[tuple[Any, ...]] = [
        ("date", "fiscal_year", "fiscal_quarter", "fiscal_month", "fiscal_week")
    ]
    day = date(2021, 12, 1)
    while day <= date(2025, 1, 31):
        start_year = day.year if day.month >= 2 else day.year - 1
        fiscal_month = (day.month - 2) % 12 + 1
        week = (day - date(start_year, 2, 1)).days // 7 + 1
        rows.append(
            (day.isoformat(), start_year + 1, (fiscal_month - 1) // 3 + 1, fiscal_month, week)
        )
        day += timedelta(days=1)
    return _csv_text(rows)


SURVEY_HEADER = (
    "response_id",
    "customer_email",
    "submitted_at",
    "nps_score",
    "satisfaction",
    "channel",
    "comment",
)
EXPENSE_HEADER = (
    "expense_id",
    "submitted_by",
    "department",
    "category",
    "amount",
    "currency",
    "expense_date",
    "description",
)


def _quarters() -> list[tuple[int, int]]:
    return [(y, q) for y in (2022, 2023, 2024) for q in (1, 2, 3, 4)]


def _write_surveys(folder: Path, plan: _Plan, emails: list[str]) -> int:
    rng = random.Random(f"{plan.seed}:surveys")
    folder.mkdir()
    per_file: dict[tuple[int, int], list[list[Any]]] = {q: [] for q in _quarters()}
    for _ in range(plan.n_surveys):
        ts = T_START + rng.randrange(T_END - T_START)
        day = _dt(ts)
        r = rng.random()
        if r < 0.7 and emails:
            email = _pad(rng, _case(rng, rng.choice(emails)), 0.15)
        elif r < 0.9:
            email = f"guest{rng.randint(1, 9999)}@example.net"
        else:
            email = ""
        nps = min(10, max(0, int(rng.gauss(7.5, 2.2))))
        satisfaction = min(5, max(1, round(nps / 2.2 + rng.uniform(-0.6, 0.6))))
        comment = rng.choice(SURVEY_COMMENTS)
        per_file[(day.year, (day.month - 1) // 3 + 1)].append(
            [ts, email, nps, satisfaction, rng.choice(SURVEY_CHANNELS), comment]
        )
    response_id = 1000
    files: dict[tuple[int, int], list[list[Any]]] = {}
    for quarter, rows in per_file.items():
        rows.sort(key=lambda row: row[0])
        out = []
        for ts, email, nps, satisfaction, channel, comment in rows:
            response_id += 1
            out.append([response_id, email, _fmt(ts), nps, satisfaction, channel, comment])
        files[quarter] = out

    def ensure(quarter: tuple[int, int], count: int) -> None:
        """Small scales still get enough rows in the files that carry a quirk."""
        nonlocal response_id
        y, q = quarter
        while len(files[quarter]) < count:
            response_id += 1
            ts = _ts(y, 3 * q - 2, 1) + rng.randrange(80 * _DAY)
            files[quarter].append(
                [
                    response_id,
                    rng.choice(emails) if emails else "",
                    _fmt(ts),
                    8,
                    4,
                    "web",
                    "Great service",
                ]
            )

    for quarter in ((2022, 4), (2023, 1), (2023, 2), (2023, 3)):
        ensure(quarter, 3)
    # 2022 Q4 carries a quoted newline and embedded quotes for sure.
    files[(2022, 4)][0][6] = 'Loved the "Ford Model T".\nWill order again, thanks!'
    # The same response_id re-exported with corrected values in a newer file.
    n_dup = max(1, len(files[(2023, 3)]) // 10)
    for row in files[(2023, 3)][:n_dup]:
        files[(2024, 1)].append(
            [
                row[0],
                row[1],
                row[2],
                max(0, row[3] - 3),
                max(1, row[4] - 1),
                row[5],
                "Corrected: " + (row[6] or "no comment"),
            ]
        )

    written = 0
    for (y, q), rows in files.items():
        name = f"surveys_{y}_q{q}.csv"
        delimiter = ";" if (y, q) == (2022, 2) else ","
        eol = "\r\n" if (y, q) == (2022, 3) else "\n"
        text = _csv_text([SURVEY_HEADER, *rows[:2]], delimiter=delimiter, lineterminator=eol)
        if (y, q) == (2023, 1):  # a comment with an unquoted comma: 8 fields
            rid, email, ts, nps, sat, channel, _ = rows[1]
            text += (
                f"{rid + 100_000},{email},{ts},{nps},{sat},{channel},Great service,will buy again\n"
            )
        if (y, q) == (2023, 2):  # a row cut short: 4 fields
            rid, email, ts, nps, *_ = rows[1]
            text += f"{rid + 100_000},{email},{ts},{nps}\n"
        text += _csv_text(rows[2:], delimiter=delimiter, lineterminator=eol)
        landed = datetime(y + (q == 4), 1 if q == 4 else 3 * q + 1, 3, 6, 0)
        _write(folder / name, text, landed, bom=(y, q) == (2022, 1))
        written += len(rows)
    _write(folder / "surveys_2024_q4_retry.csv", "", datetime(2025, 1, 3, 6, 0))
    _write(folder / "surveys_2025_q1.csv", _csv_text([SURVEY_HEADER]), datetime(2025, 1, 4, 6, 0))
    return written


def _european(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{frac:02d}"


def _write_expenses(folder: Path, plan: _Plan) -> int:
    rng = random.Random(f"{plan.seed}:expenses")
    folder.mkdir()
    halves = [(y, h) for y in (2022, 2023, 2024) for h in (1, 2)]
    per_file: dict[tuple[int, int], list[tuple[int, list[Any]]]] = {half: [] for half in halves}
    categories = list(EXPENSE_CATEGORIES)
    for _ in range(plan.n_expenses):
        day = date(2022, 1, 1) + timedelta(days=rng.randrange(1096))
        name, department, currency = rng.choice(EMPLOYEES)
        category = rng.choice(categories)
        lo, hi, descriptions = EXPENSE_CATEGORIES[category]
        cents = int(lo + (hi - lo) * rng.random() ** 2)
        row = [
            name,
            department,
            category,
            cents,
            currency,
            day.isoformat(),
            rng.choice(descriptions),
        ]
        per_file[(day.year, 1 if day.month <= 6 else 2)].append((day.toordinal(), row))
    expense_id = 0
    files: dict[tuple[int, int], list[list[Any]]] = {}
    for half in halves:
        rows = []
        for _, row in sorted(per_file[half], key=lambda item: item[0]):
            expense_id += 1
            rows.append([f"EXP-{expense_id:06d}", *row])
        files[half] = rows
    # Amounts of 1,000 or more so the thousands separator shows in European files.
    for half in ((2023, 1), (2023, 2)):
        for row in files[half][:3]:
            row[3], row[4], row[7] = (
                "Travel",
                100_000 + rng.randrange(150_000),
                "Flight to trade fair",
            )
    # A corrected expense re-sent in the next file under the same expense_id.
    for row in files[(2024, 1)][: max(1, len(files[(2024, 1)]) // 20)]:
        files[(2024, 2)].append([*row[:4], row[4] + 1_000, *row[5:7], row[7] + " (corrected)"])

    written = 0
    for (y, h), rows in files.items():
        delimiter = ";" if (y, h) == (2023, 1) else ","
        out: list[list[Any]] = [list(EXPENSE_HEADER)]
        for i, row in enumerate(rows):
            cents = row[4]
            if (y, h) == (2023, 1) or ((y, h) == (2023, 2) and i % 4 == 0):
                amount = _european(cents)  # quoted by the csv writer in a ',' file
            else:
                amount = f"{cents // 100}.{cents % 100:02d}"
            out.append([*row[:4], amount, *row[5:]])
        landed = datetime(y + (h == 2), 7 if h == 1 else 1, 5, 7, 30)
        _write(folder / f"expenses_{y}_h{h}.csv", _csv_text(out, delimiter=delimiter), landed)
        written += len(rows)
    return written


def _write_landing(landing: Path, plan: _Plan, emails: list[str], progress: ProgressFn) -> None:
    if landing.exists():
        shutil.rmtree(landing)
    landing.mkdir(parents=True)
    calendar = _fiscal_calendar_text()
    _write(landing / "fiscal_calendar.csv", calendar, datetime(2021, 11, 15, 9, 0))
    _write(landing / "fiscal_calendar_copy.csv", calendar, datetime(2022, 3, 1, 9, 0))
    progress("landing", 1, 3)
    _write_surveys(landing / "surveys", plan, emails)
    progress("landing", 2, 3)
    _write_expenses(landing / "expenses", plan)
    progress("landing", 3, 3)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _no_progress(step: str, done: int, total: int) -> None:
    """Default progress callback: generation is silent unless the CLI asks."""


def generate_demo(
    out_dir: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    mysql_url: str | None = None,
    database_prefix: str = "medallion_",
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoSources:
    """Generate the archive and live databases and the landing folder.

    Without `mysql_url` the databases are SQLite files in `out_dir`; with it they
    are `{database_prefix}archive` and `{database_prefix}live` on that server
    (dropped and re-created; any database in the URL's path is ignored). The
    landing folder is always `out_dir/landing`. `progress(step, done, total)` is
    called as each step advances: products, customers, transactions (in orders),
    order_notes, indexes, landing.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or _no_progress
    plan = _build_plan(seed, scale)
    emails: list[str] = []

    if mysql_url is None:
        paths = {name: out_dir / f"{name}.sqlite" for name in ("archive", "live")}
        tmp = {name: path.with_suffix(".sqlite.tmp") for name, path in paths.items()}
        for path in tmp.values():
            path.unlink(missing_ok=True)
        # Written next to the final files and moved in place only when complete.
        archive_sink, live_sink = _SqliteSink(tmp["archive"]), _SqliteSink(tmp["live"])
        try:
            _write_databases(plan, archive_sink, live_sink, report, emails)
        except BaseException:
            for sink in (archive_sink, live_sink):
                sink.conn.close()
            for path in tmp.values():
                path.unlink(missing_ok=True)
            raise
        archive_sink.close()
        live_sink.close()
        for name, path in paths.items():
            os.replace(tmp[name], path)
        archive_url, live_url = (f"sqlite:///{paths[name]}" for name in ("archive", "live"))
    else:
        url = make_url(mysql_url)
        # URL.set(database=None) keeps the database, so the server URL is rebuilt.
        server = URL.create(
            url.drivername,
            username=url.username,
            password=url.password,
            host=url.host,
            port=url.port,
            query={**url.query, "charset": "utf8mb4"},
        )
        names = {"archive": f"{database_prefix}archive", "live": f"{database_prefix}live"}
        archive_sink = _MysqlSink(server, names["archive"])
        live_sink = _MysqlSink(server, names["live"])
        try:
            _write_databases(plan, archive_sink, live_sink, report, emails)
        finally:
            archive_sink.close()
            live_sink.close()
        archive_url, live_url = (
            url.set(database=names[name])
            .update_query_dict({"charset": "utf8mb4"})
            .render_as_string(hide_password=False)
            for name in ("archive", "live")
        )

    landing = out_dir / "landing"
    _write_landing(landing, plan, emails, report)
    return DemoSources(archive_url=archive_url, live_url=live_url, landing_dir=landing)
