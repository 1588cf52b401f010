"""Offline classification of JSONL files (`newswatch classify`), for evaluation sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from newswatch.schema import Article

_BATCH = 64


def _article(line_no: int, row: dict[str, object]) -> Article:
    now = datetime.now(UTC)
    return Article.create(
        link=str(row.get("url") or ""), guid=str(row.get("id") or f"line-{line_no}"), feed_url="jsonl",
        title=str(row.get("title") or ""), summary=str(row.get("summary") or ""), text=str(row.get("text") or ""),
        published_at=now, published_source="inferred", fetched_at=now, language=str(row.get("language") or ""),
    )


def classify_jsonl(input_path: Path, output_path: Path, console: Console | None = None) -> int:
    """Read rows with `title`/`text`, write them back with `topics` and `entities`; returns the count."""
    from processors import build_processor, enrich_batch

    processor = build_processor()
    rows = [json.loads(line) for line in input_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with output_path.open("w", encoding="utf-8") as out, Progress(console=console, transient=True) as progress:
        task = progress.add_task("classifying", total=len(rows))
        for start in range(0, len(rows), _BATCH):
            chunk = rows[start : start + _BATCH]
            articles = [_article(start + i, r) for i, r in enumerate(chunk)]
            with_text = [a for a in articles if a.full_text.strip()]
            enriched = {a.article_id: a for a in enrich_batch(with_text, processor.classifier, processor.extractor)}
            for row, art in zip(chunk, articles, strict=True):
                done = enriched.get(art.article_id)
                row["topics"] = [t.model_dump(mode="json") for t in done.topics] if done else []
                row["entities"] = [e.model_dump(mode="json") for e in done.entities] if done else []
                row["language"] = done.language if done else art.language
                row["classifier_version"] = processor.version
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            progress.advance(task, len(chunk))
    return len(rows)
