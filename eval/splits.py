"""The tuning / held-out split: a pure function of an item's id, so it never drifts.

`split_of(id)` hashes "<SALT>:<id>" with SHA-256 and puts the first 30% of the hash range in
"heldout", the rest in "tuning". Adding or removing other items never moves an item, and a
re-run of the preparation script gives byte-identical files. Tune on "tuning" only; report
"heldout" only. Changing SALT or HELDOUT_SHARE re-deals every item: do not, once figures are
published (bump the salt's version only with a note in the report).
"""

from __future__ import annotations

import hashlib

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
