"""Every relative link in the README, CONTRIBUTING.md and the pages under docs/ leads somewhere: the file or
folder exists, and an ``#anchor`` into a Markdown file names one of its headings (GitHub's slugs)."""

import re
from pathlib import Path

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without fenced code blocks (whose lines may start with ``#``)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, ``_`` and ``-`` stay),
    each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts by its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor in a Markdown file; a repeated heading gets ``-1``, ``-2``… as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(prose(page.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(page: Path) -> list[str]:
    """The targets of a page's links and images, outside code."""
    return LINK.findall(CODE.sub("", prose(page.read_text())))


def broken_links(page: Path) -> list[str]:
    """Each relative link of ``page`` whose file is missing, or whose ``#anchor`` no heading of it matches."""
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto: …: not checked here
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            broken.append(f"{target}: no such file")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target}: no heading {where.name}#{anchor}")
    return broken


def test_the_pages_are_there():
    assert all(page.is_file() for page in PAGES[:2]), "README.md and CONTRIBUTING.md"
    assert len(PAGES) > 5, [p.name for p in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(page):
    found = links(page)
    broken = broken_links(page)
    print(f"{page.relative_to(ROOT)}: {len(found)} links, {len(broken)} broken")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_slugs_follow_github():
    assert slug("7.2a Terms chosen and learned (S14, S18; `buyers.conduct = \"learning\"`)") == \
        "72a-terms-chosen-and-learned-s14-s18-buyersconduct--learning"
    assert slug("Does partnership pay? (`trustsim structures`)") == "does-partnership-pay-trustsim-structures"
    assert slug("Set up") == "set-up"


@pytest.mark.parametrize("link, why", [
    ("[gone](missing.md)", "no such file"),
    ("[gone](sub/missing.png)", "no such file"),
    ("[no heading](other.md#nowhere)", "no heading other.md#nowhere"),
    ("[no heading here](#nowhere)", "no heading page.md#nowhere"),
    ("![a figure](images/none.png)", "no such file"),
])
def test_a_broken_link_is_found(tmp_path, link, why):
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n")
    page = tmp_path / "page.md"
    good = "[ok](other.md) [ok](other.md#a-section) [ok](#title) [web](https://example.org/x#y)"
    page.write_text(f"# Title\n\n{good}\n\n```sh\n# a comment, not a heading\n[code](nowhere.md)\n```\n")
    assert broken_links(page) == []
    page.write_text(page.read_text() + f"\n{link}\n")
    assert [b.split(": ", 1)[1] for b in broken_links(page)] == [why]
