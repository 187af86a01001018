"""The documentation's links work: every relative link and ``#anchor`` in README.md and docs/*.md
resolves (anchors by GitHub's heading slugs), README's contents list is its headings, in order, and
every file in docs/ is reachable from the README.

The checker is tried on small documents first, so that a checker which finds nothing cannot pass
the real check by accident."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONTENTS_HEADING = "Contents"

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) or ![alt](target), with an optional "title"; the text may hold one level of brackets.
_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_TOC_ENTRY = re.compile(r"^(\s*)[-*]\s+\[(.+)\]\(#([^)]+)\)\s*$")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # as rendered: inline markup removed
    slug: str
    line: int


def plain_text(markdown: str) -> str:
    """A heading's or link's text as GitHub renders it: code spans, links and emphasis unwrapped."""
    text = _CODE_SPAN.sub(lambda match: match.group(2).strip(), markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|\*)(.+?)\1", r"\2", text).strip()


def slug_of(text: str) -> str:
    """GitHub's anchor for a heading (github-slugger): lower case, punctuation other than ``-`` and
    ``_`` dropped, each space a hyphen (so ``a -- b`` keeps its three hyphens)."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def prose_lines(markdown: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, where links and headings are real."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(markdown.splitlines(), start=1):
        opening = _FENCE.match(line)
        if opening:
            if fence is None:
                fence = opening.group(1)
                continue
            if opening.group(1) == fence:
                fence = None
                continue
        if fence is None:
            lines.append((number, line))
    return lines


def headings(markdown: str) -> list[Heading]:
    found: list[Heading] = []
    seen: dict[str, int] = {}
    for number, line in prose_lines(markdown):
        match = _HEADING.match(line)
        if not match:
            continue
        text = plain_text(match.group(2))
        base = slug_of(text)
        # GitHub numbers repeated headings: "x", "x-1", "x-2", ...
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.append(Heading(len(match.group(1)), text, base if count == 0 else f"{base}-{count}", number))
    return found


def anchors(markdown: str) -> set[str]:
    names = {heading.slug for heading in headings(markdown)}
    names.update(match.group(1) for _, line in prose_lines(markdown) for match in _HTML_ANCHOR.finditer(line))
    return names


def links(markdown: str) -> list[tuple[int, str]]:
    """(line number, target) of every link outside code (a code span may show ``[x](y)`` as text)."""
    return [
        (number, match.group(1))
        for number, line in prose_lines(markdown)
        for match in _LINK.finditer(_CODE_SPAN.sub("", line))
    ]


def broken_links(document: Path, root: Path) -> list[str]:
    """One line per link of ``document`` that does not resolve inside ``root``."""
    problems: list[str] = []
    where = document.relative_to(root)
    for number, target in links(document.read_text(encoding="utf-8")):
        if _SCHEME.match(target):
            continue  # http(s), mailto: not ours to check offline
        path_part, _, fragment = target.partition("#")
        destination = (document.parent / unquote(path_part)).resolve() if path_part else document
        if not destination.is_relative_to(root.resolve()):
            problems.append(f"{where}:{number}: {target}: outside the repository")
            continue
        if not destination.exists():
            problems.append(f"{where}:{number}: {target}: no such file")
            continue
        if fragment and destination.suffix == ".md":
            if unquote(fragment) not in anchors(destination.read_text(encoding="utf-8")):
                problems.append(f"{where}:{number}: {target}: no heading with that anchor")
    return problems


def contents_problems(markdown: str) -> list[str]:
    """Where the ``## Contents`` list differs from the level-2 and level-3 headings after it."""
    everything = headings(markdown)
    toc = [heading for heading in everything if heading.text == CONTENTS_HEADING and heading.level == 2]
    if not toc:
        return [f"no '## {CONTENTS_HEADING}' heading"]
    start = toc[0].line
    following = [heading for heading in everything if heading.line > start]
    end = following[0].line if following else None
    entries: list[tuple[int, str, str]] = []
    for number, line in prose_lines(markdown):
        if number <= start or (end is not None and number >= end):
            continue
        match = _TOC_ENTRY.match(line)
        if match:
            depth = len(match.group(1).expandtabs(4)) // 2
            entries.append((depth, plain_text(match.group(2)), match.group(3)))
        elif line.strip():
            return [f"line {number} of the contents is not a '- [heading](#anchor)' entry: {line.strip()!r}"]
    expected = [(heading.level - 2, heading.text, heading.slug) for heading in following if heading.level in (2, 3)]
    if entries == expected:
        return []
    missing = [entry for entry in expected if entry not in entries]
    extra = [entry for entry in entries if entry not in expected]
    return [f"contents differ from the headings: missing {missing}, not a heading {extra}, or out of order"]


def documents(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def reachable_from_readme(root: Path) -> set[Path]:
    """Every Markdown file a reader can reach from the README by following relative links."""
    seen: set[Path] = set()
    pending = [(root / "README.md").resolve()]
    while pending:
        document = pending.pop()
        if document in seen or not document.exists():
            continue
        seen.add(document)
        for _, target in links(document.read_text(encoding="utf-8")):
            path_part = target.partition("#")[0]
            if path_part and not _SCHEME.match(target) and path_part.endswith(".md"):
                pending.append((document.parent / unquote(path_part)).resolve())
    return seen


# -- the checker itself, on documents made for it ----------------------------------------------


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Payments: one normalized event and payment state", "payments-one-normalized-event-and-payment-state"),
        ("Fast code iterations: `chalice deploy --stage dev`", "fast-code-iterations-chalice-deploy---stage-dev"),
        ("The `PaymentEvent` (schema version 1)", "the-paymentevent-schema-version-1"),
        ("Adyen's dashboard", "adyens-dashboard"),
        ("Standard Webhooks (Svix and others)", "standard-webhooks-svix-and-others"),
        ("MAX_RECEIVES and **retries**", "max_receives-and-retries"),
    ],
)
def test_slugs_follow_github(heading: str, slug: str) -> None:
    assert slug_of(plain_text(heading)) == slug


def test_repeated_headings_are_numbered() -> None:
    slugs = [heading.slug for heading in headings("# A\n## Options\n## Options\n```\n## Options\n```\n## Options\n")]
    assert slugs == ["a", "options", "options-1", "options-2"]


def test_a_broken_file_link_and_a_broken_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "OTHER.md").write_text("# Other\n\n## The `thing`: detail\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(
        "# Title\n\n## Here\n\n"
        "[ok](docs/OTHER.md) [ok](docs/OTHER.md#the-thing-detail) [ok](#here) [ok](https://example.com/x#y)\n"
        "[gone](docs/MISSING.md)\n"
        "[bad anchor](docs/OTHER.md#the-thing)\n"
        "[bad local anchor](#nowhere)\n"
        "`[not a link](docs/MISSING.md)`\n"
        "```\n[in code](docs/MISSING.md)\n```\n"
        "[escapes](../outside.md)\n",
        encoding="utf-8",
    )
    problems = broken_links(tmp_path / "README.md", tmp_path)
    assert [problem.split(": ", 1)[0] for problem in problems] == [
        "README.md:6",
        "README.md:7",
        "README.md:8",
        "README.md:13",
    ]
    assert "no such file" in problems[0] and "no heading" in problems[1] and "outside" in problems[3]


def test_a_contents_list_that_drifts_from_the_headings_is_reported() -> None:
    good = "# T\n\n## Contents\n\n- [One](#one)\n  - [Sub `x`](#sub-x)\n- [Two](#two)\n\n## One\n### Sub `x`\n## Two\n"
    assert contents_problems(good) == []
    assert contents_problems(good.replace("- [Two](#two)\n", "")) != []  # a heading left out
    assert contents_problems(good.replace("## Two", "## Three")) != []  # a renamed heading
    assert contents_problems(good.replace("  - [Sub", "- [Sub")) != []  # wrong nesting
    assert contents_problems(good.replace("\n## Contents\n", "\n## Index\n")) != []


# -- the real documents ------------------------------------------------------------------------


@pytest.mark.parametrize("document", documents(ROOT), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document: Path) -> None:
    assert broken_links(document, ROOT) == []


def test_the_readme_contents_match_its_headings() -> None:
    assert contents_problems(README.read_text(encoding="utf-8")) == []


def test_every_doc_is_reachable_from_the_readme() -> None:
    unreachable = {path.resolve() for path in documents(ROOT)} - reachable_from_readme(ROOT)
    assert sorted(str(path.relative_to(ROOT)) for path in unreachable) == []


def test_the_readme_fits_in_one_read() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= 250, f"README.md has {lines} lines: move the reference part to docs/"
