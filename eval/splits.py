"""The tuning / held-out split: a pure function of an item's id, so it never drifts.

`split_of(id)` hashes "<SALT>:<id>" with SHA-256 and puts the first 30% of the hash range in
"heldout", the rest in "tuning". Adding or removing other items never moves an item, and a
re-run of the preparation script gives byte-identical files. Tune on "tuning" only; report
"heldout" only. Changing SALT or HELDOUT_SHARE re-deals every item: do not, once figures are
published (bump the salt's version only with a note in the report).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from itertools import combinations

SALT = "newswatch-eval-split-v1"
HELDOUT_SHARE = 0.30
SPLITS = ("tuning", "heldout")


def bucket(item_id: str) -> float:
    """A number in [0, 1) derived from the id alone."""
    digest = hashlib.sha256(f"{SALT}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(item_id: str) -> str:
    """"heldout" for ~30% of ids, "tuning" for the rest."""
    return "heldout" if bucket(item_id) < HELDOUT_SHARE else "tuning"


# --- Story groups for cross-validation inside the tuning split --------------------------------

_WORD = re.compile(r"[a-z0-9]+")
SHINGLE = 4
"""Word 4-grams: long enough that shared boilerplate ("said in a statement") rarely joins two stories."""
SAME_STORY_JACCARD = 0.3
SAME_STORY_CONTAINMENT = 0.6
MIN_CONTAINED = 8
MAX_SHINGLE_DF = 40
"""A shingle in more items than this is boilerplate (a wire's sign-off, a weekly table's header)
and proposes no pairs; a real pair shares rarer shingles too."""


def shingles(text: str, k: int = SHINGLE) -> frozenset[str]:
    """Word k-grams of a lower-cased text (the whole text when it has fewer than k words)."""
    words = _WORD.findall(text.lower())
    if len(words) < k:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i:i + k]) for i in range(len(words) - k + 1))


def story_groups(ids: Sequence[str], texts: Sequence[str]) -> list[str]:
    """For each item, the smallest id of its story: items joined (transitively) when their word
    4-gram sets overlap by Jaccard >= 0.3, or when >= 60% of the smaller set (of >= 8 shingles) is
    in the larger one (a wire's flash and its full story, a weekly table re-issued with new
    figures, the same feed item under two sections). Exact and deterministic (no hashing
    tricks): candidate pairs come from shared shingles that occur in at most 40 items."""
    sets = [shingles(t) for t in texts]
    postings: dict[str, list[int]] = {}
    for i, s in enumerate(sets):
        for sh in s:
            postings.setdefault(sh, []).append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for members in postings.values():
        if 1 < len(members) <= MAX_SHINGLE_DF:
            shared.update(combinations(members, 2))
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (i, j), n in sorted(shared.items()):
        small = min(len(sets[i]), len(sets[j]))
        if n / (len(sets[i]) + len(sets[j]) - n) >= SAME_STORY_JACCARD or (
            small >= MIN_CONTAINED and n / small >= SAME_STORY_CONTAINMENT
        ):
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    first: dict[int, str] = {}
    for i, item_id in enumerate(ids):
        r = root(i)
        first[r] = min(first.get(r, item_id), item_id)
    return [first[root(i)] for i in range(len(ids))]
