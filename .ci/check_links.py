#!/usr/bin/env python3
"""Checks every link between the project's Markdown pages.

For README.md, SECURITY.md, BENCHMARKS.md and every page under docs/ (and
the other Markdown files of the repository but vendored and generated
ones): each relative link `[text](path#anchor)` or image must name a file
or folder that exists, and an anchor a heading of the page it names (as a
code host makes anchors: lower case, punctuation dropped, spaces as
hyphens). Every page under docs/ must be listed in docs/README.md, the
index the documentation's examples run in. Links to other sites are not
followed (CI has no network).

Usage: .ci/check_links.py   (exit status 1 on any broken link)
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = ("target", "node_modules", "vendor", "third_party", ".git", ".ci/.tools", "fuzz/target")
LINK = re.compile(r"!?\[(?:[^\]]|\][^(])*\]\(([^)\s]+)\)")


def pages():
    for path in sorted(ROOT.rglob("*.md")):
        relative = path.relative_to(ROOT).as_posix()
        if not any(relative == s or relative.startswith(s + "/") for s in SKIP):
            yield path


def slug(title):
    title = re.sub(r"`", "", title).strip().lower()
    title = re.sub(r"[^\w\- ]", "", title)
    return title.replace(" ", "-")


def outside_code(text):
    """The page's lines outside fenced code, with inline code blanked."""
    fenced = False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield re.sub(r"`[^`]*`", "``", line)


def anchors(path):
    seen, found = {}, set()
    fenced = False
    for line in path.read_text().split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else re.match(r"#{1,6} (.+)$", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path):
    for line in outside_code(path.read_text()):
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            if not destination.exists():
                yield f"{target}: no such file"
            elif anchor and destination.is_file() and destination.suffix == ".md" \
                    and anchor not in anchors(destination):
                yield f"{target}: no heading #{anchor} in {destination.relative_to(ROOT)}"


def unlisted_pages():
    index = (ROOT / "docs" / "README.md").read_text()
    listed = {
        (ROOT / "docs" / target.partition("#")[0]).resolve()
        for target in LINK.findall(index)
    }
    for path in sorted((ROOT / "docs").rglob("*.md")):
        if path.name != "README.md" or path.parent != ROOT / "docs":
            if path.resolve() not in listed:
                yield path.relative_to(ROOT).as_posix()


def main():
    failures = []
    checked = 0
    for path in pages():
        checked += 1
        for problem in broken_links(path):
            failures.append(f"{path.relative_to(ROOT)}: {problem}")
    for page in unlisted_pages():
        failures.append(f"{page}: not listed in docs/README.md")
    for failure in failures:
        print(f"BROKEN {failure}")
    print(f"{checked} Markdown pages checked, {len(failures)} broken links")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
