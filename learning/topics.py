"""Topic keys: one normal form so "Working at Heights" finds "heights, working at"."""
from __future__ import annotations

import re

# Words that carry no topic meaning; dropping them makes word order and phrasing matter less.
_STOP_WORDS = frozenset({"a", "an", "and", "at", "for", "in", "of", "on", "the", "to", "with", "&"})
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _singular(word: str) -> str:
    """Return a crude singular form: enough to match "Forklifts" with "Forklift"."""
    if len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def topic_key(topic: str) -> str:
    """Return the case-, plural- and word-order-tolerant key of a topic ("" for none)."""
    words = [_singular(w) for w in _WORD.findall((topic or "").casefold()) if w not in _STOP_WORDS]
    return " ".join(sorted(words))[:200]


def topic_normal(topic: str) -> str:
    """Return a topic in words order as written, case, spacing, punctuation and simple plurals ironed out."""
    return " ".join(_singular(w) for w in _WORD.findall((topic or "").casefold()))[:200]


def topic_label(topic: str) -> str:
    """Return a topic with its whitespace collapsed, as people wrote it."""
    return " ".join((topic or "").split())[:200]
