#!/usr/bin/env python3
"""Rebuilds fr.txt, en.txt, common-passwords.txt and breached-passwords.txt
from the npm packages named in README.md (unpacked with `npm pack NAME &&
tar xzf NAME-*.tgz`).

Words are folded the way `words::fold` folds a password (lowercase, accents
stripped, `œ` -> `oe`) and kept only when they are then plain `a-z`; common
and breached passwords are lowercased and kept when printable ASCII without
spaces (breached ones also when at least 4 characters long: no policy
accepts shorter).
Output is sorted and deduplicated, one entry per line.

Usage: prepare.py FRENCH_INDEX_JSON ENGLISH_INDEX_JSON PASSWORDS_JSON BREACHED_TXT
"""
import json
import re
import sys
import unicodedata
from pathlib import Path

LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"}
PLAIN = re.compile(r"^[a-z]+$")
PRINTABLE = re.compile(r"^[!-~]+$")


def fold(word: str) -> str:
    word = "".join(LIGATURES.get(c, c) for c in word.lower())
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def write(name: str, entries: set[str]) -> None:
    Path(__file__).with_name(name).write_text("".join(f"{e}\n" for e in sorted(entries)))
    print(f"{name}: {len(entries)} entries")


def main() -> None:
    french, english, passwords = (json.loads(Path(p).read_text()) for p in sys.argv[1:4])
    breached = Path(sys.argv[4]).read_text(encoding="utf-8", errors="replace").splitlines()
    write("fr.txt", {w for w in map(fold, french) if PLAIN.match(w)})
    write("en.txt", {w for w in map(fold, english) if PLAIN.match(w)})
    write("common-passwords.txt", {p.lower() for p in passwords if PRINTABLE.match(p)})
    write(
        "breached-passwords.txt",
        {p.lower() for p in breached if PRINTABLE.match(p) and len(p) >= 4},
    )


if __name__ == "__main__":
    main()
