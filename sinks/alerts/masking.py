"""Channel secrets: `${NAME}` lookups, and masking wherever a filled-in URL could be logged.

Channel URLs and headers hold `${NAME}` placeholders; `Secrets.expand` fills them at send time
from the environment or the rules' secrets file. Every value it hands out is registered with one
process-wide `SecretMask`, a logging filter installed on the loggers of the libraries that see
the filled-in URL (apprise logs it whole at debug level, urllib3 and httpx log request URLs), so
a secret never reaches a log line even with `--log-level debug`. Our own messages go through
`Secrets.mask` before they are logged or stored.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path

from newswatch import ConfigError

MASK = "**********"
MIN_SECRET_LEN = 4
"""Shorter values are not masked: replacing every "1" or "no" would garble logs and hide nothing."""
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SENDING_LOGGERS = (
    "apprise",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.proxy",
)
"""Loggers that see a channel's filled-in URL. A logger filter only sees its own records, so each
module logger is named, not its parent."""


class SecretMask(logging.Filter):
    """Replaces registered secret values in log records (message, arguments and traceback)."""

    def __init__(self) -> None:
        super().__init__()
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Mask `value` from now on (longest values first, so a secret inside another goes too)."""
        if len(value) < MIN_SECRET_LEN or value in self._values:
            return
        with self._lock:
            self._values = tuple(sorted({*self._values, value}, key=len, reverse=True))

    def mask(self, text: str) -> str:
        """`text` with every registered value replaced by asterisks."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place when it holds a secret; never drops it."""
        if not self._values:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is logging's problem, not ours
            return True
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[0] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            if self.mask(trace) != trace:  # formatters would print exc_info afresh: drop it
                record.exc_info, record.exc_text = None, self.mask(trace)
        return True


LOG_MASK = SecretMask()


def install_log_mask() -> None:
    """Attach LOG_MASK to the sending libraries' loggers (idempotent)."""
    for name in SENDING_LOGGERS:
        logger = logging.getLogger(name)
        if LOG_MASK not in logger.filters:
            logger.addFilter(LOG_MASK)


class Secrets:
    """`${NAME}` lookups: the environment wins over the secrets file (KEY=value lines)."""

    def __init__(self, env: Mapping[str, str], file: Path | None = None) -> None:
        self._values: dict[str, str] = {}
        if file is not None and file.exists():
            for line in file.read_text(encoding="utf-8").splitlines():
                name, sep, value = line.strip().partition("=")
                if sep and not name.startswith("#"):
                    self._values[name.strip()] = value.strip().strip("'\"")
        self._values.update(env)
        self._used: set[str] = set()
        install_log_mask()

    def expand(self, template: str, channel: str) -> str:
        """Fill placeholders; raises ConfigError naming the missing variable (never its value)."""

        def fill(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in self._values:
                raise ConfigError(
                    f"channel {channel!r} needs ${{{name}}}: set the environment variable or add it to the secrets file"
                )
            value = self._values[name]
            self._used.add(value)
            LOG_MASK.add(value)
            return value

        return _PLACEHOLDER.sub(fill, template)

    def mask(self, message: str) -> str:
        """`message` with every secret value that was ever expanded replaced by asterisks."""
        for value in sorted(self._used, key=len, reverse=True):
            if len(value) >= MIN_SECRET_LEN:
                message = message.replace(value, MASK)
        return message


_HOSTNAME = re.compile(
    r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost|\[[0-9A-Fa-f:.]+\])(?::\d+)?$"
)


def mask_url(url: str) -> str:
    """scheme://host/… with credentials, path and query hidden, for display.

    The host is shown only when it looks like a host name (dotted, localhost, [IPv6]): many
    apprise schemes keep a token where the host goes (slack://TokenA/…, tgram://bot-token/…).
    """
    found = re.match(r"^([a-z0-9+.-]+)://(?:[^@/]*@)?([^/?#]*)", url, re.IGNORECASE)
    if not found:
        return MASK
    host = found.group(2)
    if _HOSTNAME.match(host) is None:
        return f"{found.group(1)}://{MASK}"
    return f"{found.group(1)}://{host}/{MASK}"


__all__ = ["LOG_MASK", "MASK", "SecretMask", "Secrets", "install_log_mask", "mask_url"]
