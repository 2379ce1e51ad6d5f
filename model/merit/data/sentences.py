"""The corpus sentences (sentences.txt) and their fixed split into train / dev / test.

The split goes by a hash of the sentence text (70 / 15 / 15 %), so it never depends on the seed, and adding a sentence
does not move any other sentence to another split.
"""
from __future__ import annotations

import functools
import hashlib
import os

SENTENCES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentences.txt")


@functools.lru_cache(maxsize=None)
def all_sentences() -> tuple[str, ...]:
    with open(SENTENCES_FILE, encoding="utf-8") as f:
        return tuple(line.strip() for line in f if line.strip() and not line.lstrip().startswith("#"))


def text_split(text: str) -> str:
    bucket = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 20
    return "train" if bucket < 14 else ("dev" if bucket < 17 else "test")


@functools.lru_cache(maxsize=None)
def texts(split: str) -> tuple[str, ...]:
    if split not in ("train", "dev", "test"):
        raise ValueError(f"unknown split {split!r}")
    return tuple(s for s in all_sentences() if text_split(s) == split)
