"""Hashes of the source article's eight-word runs, so tests can check that no run of
eight words of the article is copied into the project without the article being in it.

    python scripts/article_hashes.py [ARTICLE] [--out tests/data/article_8word_hashes.txt]
    make article-hashes ARTICLE=path/to/article.txt

Each run of eight consecutive words is normalised (lowercase, apostrophes dropped, other
punctuation turned into spaces, whitespace collapsed) and hashed with SHA-256; the file
keeps the first 16 hex digits of each hash (64 bits: a chance collision among a few
thousand runs is about one in 10^12), sorted and without repeats. The article itself
stays outside the project (by default ../shared/seeds/, beside the clone).
"""

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import Iterable, List, Set, Text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ARTICLE = PROJECT_ROOT.parent / "shared" / "seeds" / "000_e63d249fb5bd91eb.txt"
HASH_FILE = PROJECT_ROOT / "tests" / "data" / "article_8word_hashes.txt"
RUN_WORDS = 8
HEX_DIGITS = 16
HEADER = (
    "# SHA-256 (first 16 hex digits) of every normalised eight-word run of the source article\n"
    "# (Rothbaum, KevinMD, June 8, 2025), sorted. The article is not in the project: regenerate\n"
    "# this file from it with `make article-hashes` (scripts/article_hashes.py).\n"
)
APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
NOT_A_WORD = re.compile(r"[\W_]+")


def normalised_words(text: Text) -> List[Text]:
    """Lowercase words: apostrophes dropped ("don't" is "dont"), other punctuation a space."""
    return NOT_A_WORD.sub(" ", APOSTROPHES.sub("", text.lower())).split()


def runs(text: Text, length: int = RUN_WORDS) -> List[Text]:
    """Every run of `length` consecutive normalised words, joined by single spaces."""
    tokens = normalised_words(text)
    return [" ".join(tokens[i : i + length]) for i in range(len(tokens) - length + 1)]


def run_hash(run: Text) -> Text:
    return hashlib.sha256(run.encode("utf-8")).hexdigest()[:HEX_DIGITS]


def hash_set(text: Text) -> Set[Text]:
    """The hashes of every eight-word run of `text`."""
    return {run_hash(run) for run in runs(text)}


def copied_runs(hashes: Set[Text], texts: Iterable[Text]) -> List[Text]:
    """The normalised eight-word runs of `texts` whose hash is in `hashes`."""
    return [run for text in texts for run in runs(text) if run_hash(run) in hashes]


def hash_file_text(article: Text) -> Text:
    return HEADER + "".join(f"{value}\n" for value in sorted(hash_set(article)))


def read_hash_file(path: Path = HASH_FILE) -> Set[Text]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("article", nargs="?", type=Path, default=DEFAULT_ARTICLE)
    parser.add_argument("--out", type=Path, default=HASH_FILE)
    options = parser.parse_args(argv)
    if not options.article.is_file():
        print(
            f"The article is not at {options.article}: give its path (make article-hashes ARTICLE=...)",
            file=sys.stderr,
        )
        return 1
    text = hash_file_text(options.article.read_text(encoding="utf-8"))
    options.out.write_text(text, encoding="utf-8")
    print(f"{options.out}: {text.count(chr(10)) - HEADER.count(chr(10))} hashes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
