"""The replay cache split by part (issue 6): language, entities and topics each keyed by what they depend on.

An analyst who changes the taxonomy (here: `lexicon.v4` instead of `lexicon.v5`)
backtests again: the classifier runs on every article, spaCy on none. A change to the entity
code re-runs the entities only. The equivalence test loads the real processors (spaCy).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import processors
from collectors import RawArchive, find_snapshots, import_snapshots
from newswatch import Article, Settings
from newswatch.cli import replay_pipeline as rp
from newswatch.cli.replay_cache import (
    PART_FILES,
    Fingerprints,
    ReplayCache,
    part_files,
    part_fingerprint,
    part_keys,
    processors_fingerprints,
    rebuild,
)
from newswatch.cli.replay_workers import InlineEnricher, ProcessorSpec, job_of
from processors import build_processor, enrich_batch

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "archive" / "wire"
MAY, JUNE = datetime(2020, 5, 1, tzinfo=UTC), datetime(2020, 5, 8, tzinfo=UTC)
PACKAGE = Path(processors.__file__).parent


def _article(
    title: str, summary: str, language: str = "", link: str = "https://a.example/1"
) -> Article:
    return Article.create(link=link, title=title, summary=summary, language=language,
                          published_at=MAY, fetched_at=MAY)  # fmt: skip


def test_each_part_key_reads_only_its_fields_and_its_fingerprint() -> None:
    prints = Fingerprints("lang", "ents", "tops")
    article = _article("Iran talks", "Sanctions eased")

    def keys(a: Article, p: Fingerprints = prints) -> tuple[bytes, bytes, bytes]:
        k = part_keys(p, a, a.full_text)
        return k.language, k.entities, k.topics

    renamed = article.model_copy(update={"article_id": "other", "url": "https://b.example/"})
    assert keys(renamed) == keys(article)  # the text, not the id
    declared = keys(article.model_copy(update={"language": "de"}))
    assert declared[0] != keys(article)[0] and declared[1:] == keys(article)[1:]
    assert all(
        a != b
        for a, b in zip(keys(article.model_copy(update={"title": "u"})), keys(article), strict=True)
    )
    new_topics = keys(article, dataclasses.replace(prints, topics="tops2"))
    assert new_topics[:2] == keys(article)[:2] and new_topics[2] != keys(article)[2]


def test_every_processors_file_is_in_a_fingerprint_and_shared_ones_in_all() -> None:
    names = {
        part: {p.relative_to(PACKAGE).as_posix() for p in part_files(part)} for part in PART_FILES
    }
    every = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*")
             if p.suffix in {".py", ".toml", ".json", ".txt"} and "__pycache__" not in p.parts}  # fmt: skip
    assert set().union(*names.values()) == every
    assert {"enrich.py", "__init__.py"} <= names["language"] & names["entities"] & names["topics"]
    assert "entities.py" in names["entities"] and "entities.py" not in names["topics"]
    assert (
        "models/entities-v1.json" in names["entities"] and "entity_scorer.py" not in names["topics"]
    )
    assert "classify.py" in names["topics"] and "classify.py" not in names["entities"]
    assert "taxonomy.toml" in names["topics"] and "language.py" not in names["topics"]
    assert (
        "models/topics-v5.json" in names["topics"]
        and "models/topics-v5.json" not in names["entities"]
    )


def test_a_classifier_change_moves_only_the_topics_fingerprint(tmp_path: Path) -> None:
    v5, v4 = processors_fingerprints("lexicon.v5", "m"), processors_fingerprints("lexicon.v4", "m")
    assert (v5.language, v5.entities) == (v4.language, v4.entities) and v5.topics != v4.topics
    copy = tmp_path / "processors"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {part: part_fingerprint(part, "x", copy) for part in PART_FILES}
    (copy / "names.py").write_text((copy / "names.py").read_text() + "\n# edited\n")
    after = {part: part_fingerprint(part, "x", copy) for part in PART_FILES}
    assert after["entities"] != before["entities"]
    assert (after["language"], after["topics"]) == (before["language"], before["topics"])
    (copy / "models" / "other-v1.json").write_text("{}")  # a file no part claims: in every part
    unclaimed = {part: part_fingerprint(part, "x", copy) for part in PART_FILES}
    assert all(unclaimed[part] != after[part] for part in PART_FILES)


def test_parts_put_together_give_exactly_what_enrich_batch_gives() -> None:
    processor = build_processor()
    articles = [
        _article("Iran and the United States resume nuclear talks in Vienna",
                 "Negotiators from Tehran and Washington met on Tuesday as sanctions bite."),
        _article("Bundesregierung beschließt neues Klimaschutzgesetz",
                 "Die Koalition in Berlin hat sich nach langen Verhandlungen geeinigt.", link="https://a.example/2"),
        _article("Short", "", language="fr", link="https://a.example/3"),
        _article("NATO ministers meet in Brussels over Ukraine aid", "Defence chiefs discussed air defence.",
                 language="en-GB", link="https://a.example/4"),
    ]  # fmt: skip
    expected = enrich_batch(articles, processor.classifier, processor.extractor, processor.detector)
    enricher = InlineEnricher(processor=processor)
    made = enricher.submit([job_of(a, a.full_text, None, True, True) for a in articles]).result()
    got = [rebuild(a, lang, ents, tops, processor.version, e.processed_at)
           for a, (lang, ents, tops), e in zip(articles, made, expected, strict=True)]  # fmt: skip
    assert got == expected
    assert (
        got[0].entities
        and any(g.topics for g in got)
        and got[1].language == "de"
        and not got[1].entities
    )
    assert made[1][1:] == (None, None)  # nothing computed for a German article


def _replay(
    settings: Settings, run: str, enricher: object, cache: ReplayCache | None
) -> tuple[rp.ReplaySink, list[dict[str, object]]]:
    target = rp.open_target(settings, run)
    sink = rp.ReplaySink(target, enricher, None, cache)  # type: ignore[arg-type]
    try:
        rp.replay_archive(settings, sink, run, MAY, JUNE)
    finally:
        sink.close()
        target.close()
    with sqlite3.connect(rp.replay_dir(settings, run) / "store.db") as conn:
        docs = [
            json.loads(d) for (d,) in conn.execute("SELECT doc FROM articles ORDER BY article_id")
        ]
    return sink, docs


class EntityCodeChanged(InlineEnricher):
    """The default processors, with an entities fingerprint as after an edit to the entity code."""

    @property
    def fingerprints(self) -> Fingerprints:  # type: ignore[override]
        prints = super().fingerprints
        return dataclasses.replace(prints, entities=prints.entities + "-edited")


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(data_dir=tmp_path_factory.mktemp("wire") / "data")
    archive = RawArchive.for_settings(settings)
    import_snapshots(archive, find_snapshots(FIXTURE)[0])
    archive.close()
    return settings


def test_a_taxonomy_change_reuses_cached_entities_and_reruns_topics(
    wire: Settings, tmp_path: Path
) -> None:
    cache = ReplayCache(tmp_path / "cache.db")
    first, _ = _replay(wire, "v5", InlineEnricher(), cache)
    articles = first.enriched_here
    assert articles == 7 and first.made["entities"] == first.made["topics"] > 0
    v4 = ProcessorSpec(classifier="lexicon.v4")
    changed, docs = _replay(wire, "v4", InlineEnricher(v4), cache)
    assert changed.made == {"topics": first.made["topics"]}  # no language, no spaCy
    assert changed.enriched_here == first.made["topics"]
    _, fresh_docs = _replay(wire, "v4-fresh", InlineEnricher(v4), None)
    strip = [{**d, "replay_run": ""} for d in docs]
    assert strip == [{**d, "replay_run": ""} for d in fresh_docs]
    assert all(str(d["classifier_version"]).startswith("lexicon.v4+") for d in docs)
    edited, edited_docs = _replay(wire, "edited", EntityCodeChanged(), cache)
    cache.close()
    assert edited.made == {"entities": first.made["entities"]}  # spaCy again, topics from the cache
    _, v5_docs = _replay(wire, "v5-fresh", InlineEnricher(), None)
    assert [{**d, "replay_run": ""} for d in edited_docs] == [
        {**d, "replay_run": ""} for d in v5_docs
    ]
