"""The `Bus` contract on Kafka (kafka-python): the production backend for scaled-out workers.

Delivery policy, set explicitly rather than left to client defaults:

- Producer: `acks="all"`, idempotence on (a retried batch is never written twice), unlimited
  retries bounded by `delivery_timeout_ms` (2 min: a broker restart is ridden out, a dead
  cluster is reported), gzip compression (the only codec kafka-python has without extra native
  packages; lz4/zstd would need `lz4`/`zstandard`), `linger_ms=5` to fill batches.
- Consumer: group membership (N workers share partitions), auto-commit off; `commit` is
  synchronous and called by the runner only after the batch's output is durable (at-least-once).

kafka-python errors are translated into `BusUnavailableError` here and nowhere else.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

with warnings.catch_warnings():
    # kafka-python 3.0.x loads its protocol schemas with importlib.resources.read_text/open_text,
    # deprecated since Python 3.11; harmless, and it must not break runs with warnings as errors.
    warnings.filterwarnings(
        "ignore", r".* is deprecated\. Use files\(\) instead", DeprecationWarning
    )
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # type: ignore[import-untyped]
    from kafka.consumer.subscription_state import ConsumerRebalanceListener  # type: ignore[import-untyped]
    from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError  # type: ignore[import-untyped]
    from kafka.net.compat import KafkaNetClient  # type: ignore[import-untyped]
    from kafka.structs import OffsetAndMetadata, TopicPartition  # type: ignore[import-untyped]

from newswatch.bus import Record, StartAt, TopicSpec
from newswatch.errors import BusUnavailableError
from newswatch.settings import KafkaSettings
from newswatch.topics import ALERTS, DLQ, ENRICHED, RAW

__all__ = ["KafkaBus", "KafkaConsumerAdapter", "default_topic_specs"]

log = logging.getLogger("newswatch.kafka_bus")
T = TypeVar("T")
_HOUR_MS = 3600 * 1000


def default_topic_specs(kafka: KafkaSettings) -> list[TopicSpec]:
    """The pipeline's topics.

    raw and enriched carry the volume and are where workers scale out, so they get
    `kafka.partitions` (6 by default: splits evenly over 1, 2, 3 or 6 workers) and keep
    `kafka.retention_hours` (a week by default, the window for replaying after a rule change).
    alerts is low-volume and read by one notifier that keeps throttle state: 1 partition.
    The dead-letter topic is small and read by people: 1 partition, kept 30 days to inspect and replay.
    """
    week = kafka.retention_hours * _HOUR_MS
    return [
        TopicSpec(RAW, partitions=kafka.partitions, retention_ms=week),
        TopicSpec(ENRICHED, partitions=kafka.partitions, retention_ms=week),
        TopicSpec(ALERTS, partitions=1, retention_ms=week),
        TopicSpec(DLQ, partitions=1, retention_ms=30 * 24 * _HOUR_MS),
    ]


def _client_config(
    bootstrap: list[str], kafka: KafkaSettings, client_id: str, timeout_ms: int
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "security_protocol": kafka.security_protocol,
        "bootstrap_timeout_ms": timeout_ms,
        # Reconnect within ~2 s of a broker coming back (the default backs off up to 30 s).
        "reconnect_backoff_max_ms": 2000,
    }
    if kafka.sasl_mechanism:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        config["sasl_plain_password"] = (
            kafka.sasl_password.get_secret_value() if kafka.sasl_password else None
        )
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):  # TLS files, mutual TLS included
        if getattr(kafka, name):
            config[name] = getattr(kafka, name)
    if kafka.ssl_password is not None:
        config["ssl_password"] = kafka.ssl_password.get_secret_value()
    return config


class _Translator:
    """Turns kafka-python errors into BusUnavailableError naming the address and what to check."""

    def __init__(self, bootstrap: list[str], kafka: KafkaSettings) -> None:
        self.where = ",".join(bootstrap)
        self.protocol = kafka.security_protocol

    def error(self, action: str, exc: BaseException) -> BusUnavailableError:
        return BusUnavailableError(
            f"Kafka at {self.where}: {action} failed ({type(exc).__name__}: {exc}). Check that the "
            f"broker is running and reachable from here (`deploy/local/services.py status` for the "
            f"local one), that the address matches its advertised listener, and that "
            f"security_protocol={self.protocol} and the SASL/SSL settings match the cluster."
        )

    def call(self, action: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except KafkaError as exc:
            raise self.error(action, exc) from exc

    def connect(self, action: str, client_class: Callable[..., T], **config: Any) -> T:
        """Construct a kafka-python client, closing its network client if construction fails.

        kafka-python 3.0 starts the client's IO thread before bootstrapping, and a constructor
        that raises (broker unreachable) never stops it: the thread would keep reconnecting for
        the life of the process. Recording the network client lets us close it here.
        """
        made: list[Any] = []

        def recording_client(**kwargs: Any) -> Any:
            client = KafkaNetClient(**kwargs)
            made.append(client)
            return client

        try:
            return self.call(action, lambda: client_class(**config, kafka_client=recording_client))
        except BaseException:
            for client in made:
                try:
                    client.close()
                except Exception:  # closing a half-built client must not hide the real error
                    log.debug("closing a half-built Kafka client failed", exc_info=True)
            raise


class KafkaBus:
    """Produce keyed records to Kafka and open group consumers; see the module docstring for policy.

    Clients are made on first use, so a consume-only worker never opens a producer.
    `connect_timeout_s` bounds how long an unreachable bootstrap address is tried before
    `BusUnavailableError`.
    """

    def __init__(
        self,
        bootstrap: list[str],
        kafka: KafkaSettings,
        client_id: str = "newswatch",
        *,
        connect_timeout_s: float = 10.0,
        delivery_timeout_s: float = 120.0,
    ) -> None:
        if not bootstrap:
            raise BusUnavailableError(
                "no Kafka bootstrap address: set NEWSWATCH_BUS=kafka://host:port"
            )
        self.bootstrap = list(bootstrap)
        self.kafka = kafka
        self.client_id = client_id
        self._timeout_ms = int(connect_timeout_s * 1000)
        self._delivery_ms = int(delivery_timeout_s * 1000)
        self._errors = _Translator(self.bootstrap, kafka)
        self._producer: KafkaProducer | None = None
        self._failures: list[BaseException] = []

    def _config(self, suffix: str) -> dict[str, Any]:
        return _client_config(
            self.bootstrap, self.kafka, f"{self.client_id}-{suffix}", self._timeout_ms
        )

    def open_client(self, client_class: Callable[..., T], purpose: str) -> T:
        """A plain kafka-python client (admin, group-less consumer) for one-off CLI queries.

        The caller closes it; if it cannot connect, the error names the address and what to check.
        """
        return self._errors.connect(
            f"connecting for {purpose}", client_class, **self._config(purpose)
        )

    def wait_for_group(self, group: str, members: int, timeout_s: float) -> bool:
        """Wait until consumer `group` is Stable with exactly `members` members; False on timeout.

        For benchmarks and tests that must not start the clock (or assert) mid-rebalance.
        """
        admin = self.open_client(KafkaAdminClient, "group-wait")
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                info = admin.describe_groups([group]).get(group, {})
                if info.get("group_state") == "Stable" and len(info.get("members", [])) == members:
                    return True
                time.sleep(0.5)
        finally:
            admin.close()
        return False

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._errors.connect(
                "connecting the producer",
                KafkaProducer,
                **self._config("producer"),
                acks="all",
                enable_idempotence=True,
                retries=2**31 - 1,
                delivery_timeout_ms=self._delivery_ms,
                request_timeout_ms=min(30_000, self._delivery_ms),
                max_block_ms=30_000,
                compression_type="gzip",
                linger_ms=5,
                batch_size=64 * 1024,
                allow_auto_create_topics=False,
            )
        return self._producer

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create missing topics with their partitions and `retention.ms`; existing ones are kept as they are."""
        wanted = {
            spec.name: {
                "num_partitions": spec.partitions,
                "replication_factor": -1,  # the cluster's default.replication.factor
                "configs": {}
                if spec.retention_ms is None
                else {"retention.ms": str(spec.retention_ms)},
            }
            for spec in specs
        }
        if not wanted:
            return
        admin = self._errors.connect(
            "connecting the admin client", KafkaAdminClient, **self._config("admin")
        )
        try:
            result = self._errors.call(
                "creating topics", lambda: admin.create_topics(wanted, raise_errors=False)
            )
            created = []
            for topic in result.get("topics", []):
                code = topic.get("error_code", 0)
                if code == 0:
                    created.append(topic["name"])
                elif code != TopicAlreadyExistsError.errno:
                    raise BusUnavailableError(
                        f"Kafka at {self._errors.where}: cannot create topic {topic['name']!r}: "
                        f"{topic.get('error_message') or code} (check partitions, retention and ACLs)"
                    )
            if created:
                self._errors.call("waiting for new topics", lambda: admin.wait_for_topics(created))
                log.info("created topics", extra={"topics": created})
        finally:
            admin.close()

    def delete_topics(self, names: Iterable[str]) -> None:
        """Delete topics (tests and resets); missing ones are ignored."""
        admin = self._errors.connect(
            "connecting the admin client", KafkaAdminClient, **self._config("admin")
        )
        try:
            self._errors.call(
                "deleting topics", lambda: admin.delete_topics(list(names), raise_errors=False)
            )
        finally:
            admin.close()

    def produce(
        self, topic: str, key: str | None, value: bytes, timestamp_ms: int | None = None
    ) -> None:
        producer = self._get_producer()
        try:
            future = producer.send(
                topic,
                value=value,
                key=None if key is None else key.encode(),
                timestamp_ms=timestamp_ms,
            )
        except KafkaError as exc:
            raise self._errors.error(
                f"producing to {topic!r} (does the topic exist?)", exc
            ) from exc
        future.add_errback(self._failures.append)

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until every queued record is acknowledged by all in-sync replicas."""
        if self._producer is None:
            return
        producer = self._producer
        self._errors.call("flushing", lambda: producer.flush(timeout=timeout_s))
        if self._failures:
            failures, self._failures = self._failures, []
            raise self._errors.error(f"delivering {len(failures)} record(s)", failures[0])

    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        start: StartAt = "committed",
        from_timestamp_ms: int | None = None,
    ) -> KafkaConsumerAdapter:
        return KafkaConsumerAdapter(
            self, group, list(topics), start=start, from_timestamp_ms=from_timestamp_ms
        )

    def close(self) -> None:
        if self._producer is not None:
            try:
                self.flush()
            finally:
                self._producer.close()
                self._producer = None


class _InitialPosition(ConsumerRebalanceListener):  # type: ignore[misc]
    """On a partition's first assignment to this member, apply `start` / `from_timestamp_ms`."""

    def __init__(self, adapter: KafkaConsumerAdapter) -> None:
        self.adapter = adapter
        self.seen: set[TopicPartition] = set()

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Nothing to do: the runner commits after output, so revoked work is simply re-delivered."""

    def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            if tp not in self.seen:
                self.seen.add(tp)
                self.adapter._apply_initial(tp)


class KafkaConsumerAdapter:
    """A member of a Kafka consumer group, implementing `newswatch.bus.Consumer`."""

    def __init__(
        self,
        bus: KafkaBus,
        group: str,
        topics: list[str],
        *,
        start: StartAt,
        from_timestamp_ms: int | None,
    ) -> None:
        self.group = group
        self.topics = topics
        self._start = start
        self._errors = bus._errors
        self._consumer: KafkaConsumer = self._errors.connect(
            "connecting the consumer",
            KafkaConsumer,
            **bus._config(f"consumer-{group}"),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="latest" if start == "latest" else "earliest",
            allow_auto_create_topics=False,
            max_poll_records=500,
        )
        self._timestamp_offsets: dict[TopicPartition, int] = {}
        if from_timestamp_ms is not None:
            self._timestamp_offsets = self._errors.call(
                "looking up offsets by time", lambda: self._offsets_at(from_timestamp_ms)
            )
        self._consumer.subscribe(topics, listener=_InitialPosition(self))

    def _partitions(self) -> list[TopicPartition]:
        parts: list[TopicPartition] = []
        for topic in self.topics:
            ids = self._consumer.partitions_for_topic(topic)
            if not ids:
                raise BusUnavailableError(
                    f"Kafka at {self._errors.where}: topic {topic!r} does not exist (create it with ensure_topics)"
                )
            parts.extend(TopicPartition(topic, p) for p in sorted(ids))
        return parts

    def _offsets_at(self, timestamp_ms: int) -> dict[TopicPartition, int]:
        """First offset at or after the time per partition; the end offset now when there is none."""
        parts = self._partitions()
        found = self._consumer.offsets_for_times(dict.fromkeys(parts, timestamp_ms))
        ends = self._consumer.end_offsets(parts)
        return {tp: found[tp].offset if found.get(tp) is not None else ends[tp] for tp in parts}

    def _apply_initial(self, tp: TopicPartition) -> None:
        if tp in self._timestamp_offsets:
            self._consumer.seek(tp, self._timestamp_offsets[tp])
        elif self._start == "earliest":
            self._consumer.seek_to_beginning(tp)
        elif self._start == "latest":
            self._consumer.seek_to_end(tp)

    def assigned(self) -> set[tuple[str, int]]:
        """(topic, partition) pairs this member owns right now (changes on rebalance)."""
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        batches = self._errors.call(
            "polling",
            lambda: self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records),
        )
        records: list[Record] = []
        for msgs in batches.values():
            records.extend(
                Record(
                    m.topic,
                    m.partition,
                    m.offset,
                    None if m.key is None else m.key.decode(),
                    m.value,
                    m.timestamp,
                )
                for m in msgs
            )
        return records

    def commit(self, records: Sequence[Record]) -> None:
        """Commit offset+1 of the last record per partition, synchronously.

        Partitions this member no longer owns are skipped: after a rebalance their records are
        re-delivered to the new owner, which the at-least-once contract allows.
        """
        latest: dict[TopicPartition, int] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            latest[tp] = max(latest.get(tp, -1), rec.offset + 1)
        owned = self._consumer.assignment()
        offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in latest.items() if tp in owned}
        if not offsets:
            return
        try:
            self._errors.call("committing offsets", lambda: self._consumer.commit(offsets))
        except BusUnavailableError as exc:
            if isinstance(exc.__cause__, CommitFailedError):
                log.warning(
                    "commit lost to a rebalance; records will be re-delivered",
                    extra={"group": self.group, "error": str(exc.__cause__)},
                )
                return
            raise

    def seek_to_committed(self) -> None:
        def rewind() -> None:
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp)
                if committed is not None:
                    self._consumer.seek(tp, committed)
                elif tp in self._timestamp_offsets:
                    self._consumer.seek(tp, self._timestamp_offsets[tp])
                else:
                    self._consumer.seek_to_beginning(tp)

        self._errors.call("reading committed offsets", rewind)

    def lag(self) -> int:
        """Records on the topics not yet committed by the group (all partitions, not only ours)."""
        return sum(self.partition_lags().values())

    def partition_lags(self) -> dict[tuple[str, int], int]:
        """Uncommitted records per (topic, partition), for every partition of the topics."""

        def compute() -> dict[tuple[str, int], int]:
            parts = self._partitions()
            ends = self._consumer.end_offsets(parts)
            starts = self._consumer.beginning_offsets(parts)
            lags = {}
            for tp in parts:
                committed = self._consumer.committed(tp)
                lags[(tp.topic, tp.partition)] = max(
                    0, ends[tp] - (starts[tp] if committed is None else committed)
                )
            return lags

        return self._errors.call("computing lag", compute)

    def close(self) -> None:
        self._consumer.close(autocommit=False)
