"""The project's documentation stands alone: the README and docs/ link only to files that
exist, the README stays one page, the contracts are in the repository, and no tracked
file refers to anything outside it. Fast: files and ``git grep`` only, no warehouse."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from medallion.bench import history_markdown

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# [text](target) and [text]: target, outside code spans and fenced blocks.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def _prose(text: str) -> str:
    """The page without fenced code blocks and inline code, where brackets are code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)}


def _links(page: Path) -> list[str]:
    prose = _prose(page.read_text())
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no file {resolved})")
        elif not resolved.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links:\n  " + "\n  ".join(broken)


def test_the_link_checker_sees_links() -> None:
    # Guards the regular expressions: the README links into docs/ and the index links
    # to every page, so a checker that found nothing would be broken, not the pages.
    assert any(t.startswith("docs/") for t in _links(ROOT / "README.md"))
    index = set(_links(ROOT / "docs" / "README.md"))
    missing = {
        str(page.relative_to(ROOT / "docs"))
        for page in PAGES[1:]
        if page.name != "README.md" or page.parent != ROOT / "docs"
    } - index
    assert not missing, f"docs/README.md does not list: {sorted(missing)}"


def test_the_readme_is_one_page_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    assert "make run" in text
    assert "make test" in text


def test_the_contracts_are_in_the_repository() -> None:
    for name in ("sources.md", "gold.md"):
        page = ROOT / "docs" / "contracts" / name
        assert page.is_file(), page
        assert page.read_text().strip()


def _git_grep(*args: str) -> list[str]:
    found = subprocess.run(
        ["git", "grep", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert found.returncode in (0, 1), found.stderr  # 1: nothing found
    return found.stdout.splitlines()


# Spelt in pieces so that this file does not match what it looks for.
OUTSIDE = ("../" + "shared", "shared" + "/spec")
OLD_CONTRACTS = ("spec" + "/gold.md", "spec" + "/sources.md")


def test_no_tracked_file_refers_outside_the_repository() -> None:
    # bench/results holds recorded runs as they were written (work folders included).
    patterns = [arg for text in OUTSIDE for arg in ("-e", text)]
    hits = _git_grep("-F", *patterns, "--", ".", ":!bench/results")
    assert not hits, "references outside the repository:\n" + "\n".join(hits)


def test_the_models_cite_the_contracts_in_the_repository() -> None:
    assert _git_grep("-l", "docs/contracts/gold.md", "--", "models", "macros", "tests")
    patterns = [arg for text in OLD_CONTRACTS for arg in ("-e", text)]
    stale = _git_grep("-F", *patterns, "--", ".")
    assert not stale, "old contract paths:\n" + "\n".join(stale)


def test_the_performance_page_shows_the_current_history_table() -> None:
    page = (ROOT / "docs" / "performance.md").read_text()
    assert history_markdown(ROOT / "bench" / "results") in page, (
        "docs/performance.md's table of recorded runs is out of date: paste the output of "
        "`medallion bench --history` into it"
    )
