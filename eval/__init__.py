"""Quality evaluation for the processors: gold sets, data preparation and harnesses.

Not part of the installed distribution (the wheel holds newswatch, collectors, processors and
sinks only): run it from a source checkout, as `python -m eval.topics --gold FILE.jsonl` or
`newswatch eval topics --gold FILE.jsonl`.

* `eval.metrics`  - pure precision/recall/F1 over multi-label gold with "judged" labels
* `eval.gold`     - reading and validating gold JSONL files
* `eval.splits`   - the deterministic tuning / held-out split (hash of the item id)
* `eval.prepare`  - builds the topic dev sets from ../shared/corpora (third-party, not committed)
* `eval.topics`   - topic harness: per-label P/R/F1, macro-F1, confusion, worst misses + evidence
* `eval.entities` - entity harness: P/R/F1 by type on (canonical name, label)
"""
