"""ElasticStore: the `newswatch.Store` contract on Elasticsearch, written through a write alias.

Writes are bulk requests over `streaming_bulk` with `_id = article_id`, so a retry, redelivery
or replay rewrites the same document. Outcomes are sorted per document:

    indexed                             done
    429, 408, 5xx, connection, timeout  retried here with capped back-off (the helper also
                                        retries 429s inside a request); still failing after
                                        `max_attempts` -> SinkUnavailableError(retry_after)
    401/403, alias missing (404)        SinkUnavailableError at once: the cluster, not the
                                        document, is wrong; the message says what to fix
    any other 4xx (mapping errors)      a Rejection, which the sink dead-letters

A whole bulk request refused with 400/413 raises PoisonRecordError, so the runner splits the
batch and dead-letters only the record that causes it. The client's own retries cover a single
flaky request; a dead cluster is covered by the runner, which waits, seeks back and re-reads.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch.helpers import streaming_bulk

from newswatch import (
    ConfigError,
    ElasticSettings,
    EnrichedArticle,
    PoisonRecordError,
    Rejection,
    SearchHit,
    SearchQuery,
    SinkUnavailableError,
    metrics,
    utcnow,
)
from sinks import es_admin
from sinks.es_admin import RolloverResult
from sinks.es_query import hit_from_es, search_body
from sinks.es_template import alias_name, from_document, to_source

log = logging.getLogger("sinks.elastic")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
CLUSTER_STATUS = frozenset({401, 403, 404})
"""Per-document statuses that blame the cluster (auth, block, missing alias), not the doc."""


def make_client(
    url: str, settings: ElasticSettings, *, request_timeout: float = 30.0, max_retries: int = 2
) -> Elasticsearch:
    """An Elasticsearch client with timeouts, retry-on-timeout and auth/TLS from settings."""
    options: dict[str, Any] = {
        "request_timeout": request_timeout,
        "retry_on_timeout": True,
        "max_retries": max_retries,
    }
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        options["basic_auth"] = (settings.username, password)
    if url.startswith("https://"):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    return Elasticsearch(url, **options)


class ElasticStore:
    """Enriched articles in Elasticsearch behind `<prefix>-articles`; see the module docstring.

    `client` is a seam for fault-injection tests; normally it is built from `url` and `settings`.
    `max_attempts`, `backoff_s` and `max_backoff_s` bound the in-process retry of one batch.
    """

    def __init__(
        self,
        url: str,
        settings: ElasticSettings,
        *,
        client: Elasticsearch | None = None,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        request_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.where = redact_url(url)
        """`url` without any user:password, for messages and logs."""
        self.settings = settings
        self.alias = alias_name(settings.index_prefix)
        self.client = (
            client
            if client is not None
            else make_client(url, settings, request_timeout=request_timeout)
        )
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Check the cluster answers, then put the template and the bootstrap index + alias.

        The write index also gets `refresh_interval` from settings: the template only reaches
        indices created later, and a changed knob should apply from the next start."""
        self.health()
        with self._translated("set up the articles index"):
            es_admin.ensure_layout(self.client, self.settings)
            behind = es_admin.indices_behind(self.client, self.alias)
            for index in (name for name, is_write in behind.items() if is_write):
                self.client.indices.put_settings(
                    index=index, settings={"index": {"refresh_interval": self.settings.refresh_interval}}
                )

    def health(self) -> str:
        """Cluster status (green/yellow/red) from cluster health; the test node has no `GET /`."""
        with self._translated("check cluster health"):
            return str(self.client.cluster.health(timeout="10s")["status"])

    def close(self) -> None:
        self.client.close()

    # -- writes ----------------------------------------------------------------------------

    def write(self, articles: Sequence[EnrichedArticle]) -> list[Rejection]:
        """Bulk-index by article id; returns mapping rejections, raises SinkUnavailableError."""
        if not articles:
            return []
        started = time.monotonic()
        indexed_at = utcnow()
        pending = {
            a.article_id: {"_id": a.article_id, "_source": to_source(a, indexed_at)}
            for a in articles
        }
        total = len(pending)
        rejections: list[Rejection] = []
        attempt = 0
        last_error = ""
        while pending and attempt < self.max_attempts:
            attempt += 1
            if attempt > 1:
                metrics.STAGE_RETRIES.labels("sink", "bulk-retry").inc()
                time.sleep(min(self.backoff_s * 2 ** (attempt - 2), self.max_backoff_s))
            try:
                last_error = self._bulk_once(pending, rejections) or last_error
            except TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            except ApiError as exc:
                last_error = self._request_error(exc)
            if pending:
                log.warning(
                    "elastic bulk: %d documents not indexed (attempt %d/%d): %s",
                    len(pending),
                    attempt,
                    self.max_attempts,
                    last_error,
                )
        if pending:
            raise SinkUnavailableError(
                f"Elasticsearch at {self.where} did not index {len(pending)} documents after "
                f"{attempt} attempts ({last_error}); check `cluster health` and the node log",
                retry_after=self.max_backoff_s,
            )
        log.info(
            "elastic bulk: indexed=%d rejected=%d attempts=%d took_ms=%d",
            total - len(rejections),
            len(rejections),
            attempt,
            (time.monotonic() - started) * 1000,
        )
        return rejections

    def _bulk_once(self, pending: dict[str, dict[str, Any]], rejections: list[Rejection]) -> str:
        """Send pending documents once; confirmed ones leave `pending`. Returns a retry reason."""
        retry_reason = ""
        for ok, item in streaming_bulk(
            self.client,
            list(pending.values()),
            index=self.alias,
            require_alias=True,
            chunk_size=self.settings.bulk_docs,
            max_chunk_bytes=20 * 1024 * 1024,
            raise_on_error=False,
            max_retries=2,
            initial_backoff=self.backoff_s,
            max_backoff=self.max_backoff_s,
        ):
            result = item["index"]
            doc_id = str(result["_id"])
            status = int(result.get("status", 0))
            if ok:
                pending.pop(doc_id, None)
                continue
            reason = describe_error(result.get("error"))
            if status in CLUSTER_STATUS:
                raise SinkUnavailableError(
                    f"Elasticsearch refused writes to {self.alias} ({status} {reason}); "
                    "if the alias is missing run the store setup, "
                    "if the index is blocked check disk and credentials",
                    retry_after=self.max_backoff_s,
                )
            if status in RETRYABLE_STATUS:
                retry_reason = f"{status} {reason}"
                continue
            pending.pop(doc_id, None)
            rejections.append(Rejection(article_id=doc_id, reason=f"{status} {reason}"))
        return retry_reason

    def _request_error(self, exc: ApiError) -> str:
        """Sort a whole-request HTTP error: retryable -> its text; else raise the right error."""
        status = exc.status_code
        if status in RETRYABLE_STATUS:
            return f"{status} {exc}"
        if status in (401, 403):
            raise SinkUnavailableError(
                f"Elasticsearch at {self.where} refused the bulk request ({status}): check "
                "NEWSWATCH_ELASTIC__API_KEY or USERNAME/PASSWORD",
                retry_after=self.max_backoff_s,
            ) from exc
        raise PoisonRecordError(
            f"Elasticsearch refused the bulk request ({status}): {exc}"
        ) from exc

    # -- reads -----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> list[SearchHit]:
        body = search_body(query)
        source = body.pop("_source")
        with self._translated("search"):
            resp = self.client.search(index=self.alias, source=source, **body)
        return [hit_from_es(h) for h in resp["hits"]["hits"]]

    def get(self, article_id: str) -> EnrichedArticle | None:
        """Real-time get across every index behind the alias; the newest copy wins."""
        with self._translated("get an article"):
            indices = es_admin.indices_behind(self.client, self.alias)
            resp = self.client.mget(docs=[{"_index": i, "_id": article_id} for i in indices])
        found = [d["_source"] for d in resp["docs"] if d.get("found")]
        if not found:
            return None
        return from_document(max(found, key=lambda s: str(s.get("indexed_at", ""))))

    def count(self) -> int:
        with self._translated("count articles"):
            return int(self.client.count(index=self.alias)["count"])

    def topic_counts(self) -> dict[str, int]:
        aggs = {
            "topics": {
                "terms": {
                    "field": "topics.label",
                    "size": 10_000,
                    "order": [{"_count": "desc"}, {"_key": "asc"}],
                }
            }
        }
        with self._translated("count topics"):
            resp = self.client.search(index=self.alias, size=0, aggs=aggs)
        return {
            str(b["key"]): int(b["doc_count"]) for b in resp["aggregations"]["topics"]["buckets"]
        }

    def refresh(self) -> None:
        """Make every write so far visible to search and count (tests, `run --once`)."""
        with self._translated("refresh"):
            self.client.indices.refresh(index=self.alias)

    # -- index life cycle ------------------------------------------------------------------

    def rollover(
        self,
        *,
        max_age: str | None = None,
        max_docs: int | None = None,
        max_primary_shard_size: str | None = None,
    ) -> RolloverResult:
        """Start a new write index behind the alias if a condition holds (none given: always)."""
        with self._translated("roll over the write index"):
            return es_admin.rollover(
                self.client,
                self.settings,
                max_age=max_age,
                max_docs=max_docs,
                max_primary_shard_size=max_primary_shard_size,
            )

    def delete_expired(self) -> list[str]:
        """Apply `retention_days`: drop read-only indices whose newest document is older."""
        with self._translated("apply retention"):
            return es_admin.delete_expired(self.client, self.settings)

    def maintain(
        self, *, rollover_max_age: str = "7d", max_primary_shard_size: str = "25gb"
    ) -> list[str]:
        """Periodic upkeep without ILM: roll over when due, then delete expired indices."""
        self.rollover(max_age=rollover_max_age, max_primary_shard_size=max_primary_shard_size)
        return self.delete_expired()

    def drop(self) -> None:
        """Delete every index behind the alias and the template; for tests and resets."""
        with self._translated("drop the articles indices"):
            es_admin.drop_layout(self.client, self.settings)

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Translate client errors into newswatch errors that say what to do next."""
        try:
            yield
        except TransportError as exc:
            raise SinkUnavailableError(
                f"cannot {action}: Elasticsearch at {self.where} is unreachable "
                f"({type(exc).__name__}: "
                f"{exc}); start it (deploy/local/services.py up) or fix NEWSWATCH_STORE",
                retry_after=self.max_backoff_s,
            ) from exc
        except ApiError as exc:
            if exc.status_code == 404:
                raise ConfigError(
                    f"cannot {action}: {self.alias} does not exist on {self.where}; run the store "
                    "setup or check NEWSWATCH_ELASTIC__INDEX_PREFIX"
                ) from exc
            if exc.status_code in RETRYABLE_STATUS:
                raise SinkUnavailableError(
                    f"cannot {action}: Elasticsearch answered {exc}", retry_after=self.max_backoff_s
                ) from exc
            raise


def redact_url(url: str) -> str:
    """`url` with a password in its user-info replaced by asterisks (users paste such URLs)."""
    return _USERINFO.sub(r"\1\2:**********@", url)


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^:@/]*):[^@/]*@", re.IGNORECASE)


def describe_error(error: Any) -> str:
    """A one-line reason from a bulk item error: `type: reason (caused by: type: reason)`."""
    if not isinstance(error, dict):
        return str(error or "unknown error")
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, dict):
        text += f" (caused by {cause.get('type', '')}: {cause.get('reason', '')})"
    return text[:1000]
