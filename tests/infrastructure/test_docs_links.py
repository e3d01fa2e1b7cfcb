"""Every relative link of the README and docs/ resolves: the file exists, and an anchor
is a heading of that file under GitHub's slug rules.

Links to other sites (http, https, mailto) and links inside code are not checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

pytestmark = pytest.mark.infrastructure

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+).+?\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
HEADING_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def documents() -> list[Path]:
    pages = [ROOT / name for name in ("README.md", "CHANGELOG.md", "CONTRIBUTING.md",
                                      "SECURITY.md")]  # fmt: skip
    pages += [ROOT / "infra" / "README.md"]
    pages += [ROOT / "local" / "sandbox" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [page for page in pages if page.is_file()]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: links reduced to their text, lowercase,
    punctuation other than hyphens and underscores removed, each space a hyphen."""
    text = HEADING_LINK.sub(r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; a repeated one gets -1, -2... as GitHub numbers them."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(page.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link outside code."""
    found = []
    for number, line in prose_lines(page.read_text()):
        prose = CODE_SPAN.sub("", line)
        targets = [m.group(1) for m in INLINE_LINK.finditer(prose)]
        reference = REFERENCE_LINK.match(prose)
        if reference:
            targets.append(reference.group(1))
        found += [(number, target) for target in targets]
    return found


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def broken(page: Path, target: str) -> str | None:
    """Why a link does not resolve, or None when it does (or is not ours to check)."""
    if not target or SCHEME.match(target):
        return None if target else "empty link"
    path, _, anchor = target.partition("#")
    resolved = (page.parent / unquote(path)).resolve() if path else page
    if not resolved.exists():
        return f"no such file {shown(resolved)}"
    if resolved.is_dir():
        resolved = resolved / "README.md"
        if anchor and not resolved.is_file():
            return f"{path} has no README.md for the anchor #{anchor}"
    if not anchor or resolved.suffix != ".md":
        return None
    if unquote(anchor) not in anchors(resolved):
        return f"no heading #{anchor} in {shown(resolved)}"
    return None


def test_slugs_follow_githubs_rules() -> None:
    assert slug("Designated customers: Oracle's cap on who sees data") == (
        "designated-customers-oracles-cap-on-who-sees-data"
    )
    assert slug("What `make dev` runs") == "what-make-dev-runs"
    assert slug("Trying [your IdP](x.md) with make_dev") == "trying-your-idp-with-make_dev"
    assert slug("Security: what the cache holds") == "security-what-the-cache-holds"


def test_repeated_headings_are_numbered(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Notes\n\n## Notes\n\n```\n# not a heading\n```\n\n### Notes\n")
    assert anchors(page) == {"notes", "notes-1", "notes-2"}


def test_every_relative_link_and_anchor_resolves() -> None:
    failures = [
        f"{page.relative_to(ROOT)}:{number}: ({target}) {why}"
        for page in documents()
        for number, target in links(page)
        if (why := broken(page, target))
    ]
    assert not failures, "broken links:\n" + "\n".join(failures)
