"""The newswatch exception tree; third-party errors are translated into these at the adapters.

    NewswatchError
    ├── ConfigError              bad settings, feeds file or rules file: fix the file or variable named
    ├── FeedError                one feed could not be fetched or parsed (per-feed status, never fatal)
    │   └── RetryLaterError      the server asked us to come back later (429/503, Retry-After)
    ├── PoisonRecordError        a record that can never be processed: dead-letter it, do not retry
    ├── BusUnavailableError      the bus (Kafka broker) cannot be reached
    └── SinkUnavailableError     the store (Elasticsearch) cannot take writes now: back off, retry
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base of every error newswatch raises on purpose."""


class ConfigError(NewswatchError):
    """Settings, feed list or rules are invalid; the message names the file/variable and the fix."""


class FeedError(NewswatchError):
    """A single feed failed; `kind` is a short machine-readable reason for status and metrics."""

    def __init__(self, message: str, *, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class RetryLaterError(FeedError):
    """The feed's server asked us to wait `after` seconds before the next request."""

    def __init__(self, message: str, *, after: float, kind: str = "rate-limited") -> None:
        super().__init__(message, kind=kind)
        self.after = after


class PoisonRecordError(NewswatchError):
    """This record can never succeed (undecodable, invalid, rejected by the mapping): dead-letter it."""


class BusUnavailableError(NewswatchError):
    """The message bus cannot be reached; the message says which address was tried and what to check."""


class SinkUnavailableError(NewswatchError):
    """The store cannot accept writes right now; the worker waits `retry_after` s and re-reads."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
