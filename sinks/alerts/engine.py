"""The alert engine: rules, their matcher and the state behind them; `process` is the stage's step.

Per batch, in one state transaction: match every article against the rules (prefilter, then
candidate trees), claim (rule, article) so it never fires twice, feed aggregate rules, run the
flatline check at stream time, queue notifications. After the commit, due notifications are
sent. With `live=False` (backtest/replay) or on records carrying `replay_run`, nothing is sent.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import TypeAdapter

from newswatch import EnrichedArticle, utcnow
from sinks.alerts.aggregate import Aggregator, event_time, group_keys
from sinks.alerts.delivery import DeliveryReport, Notifier
from sinks.alerts.document import ArticleView
from sinks.alerts.highlight import highlights
from sinks.alerts.masking import Secrets
from sinks.alerts.matcher import Matcher
from sinks.alerts.query import EntityResolver
from sinks.alerts.record import AlertRecord, alert_id, article_fields
from sinks.alerts.rules import LoadedRule, RuleBook, load_rules
from sinks.alerts.state import AlertState

log = logging.getLogger("newswatch.alerts")
EMITTED_KEEP_S = 7 * 86400.0
"""How long what an input record produced is remembered: far longer than any uncommitted batch."""
_ALERT_LIST = TypeAdapter(list[AlertRecord])


def match_alert(loaded: LoadedRule, article: EnrichedArticle, view: ArticleView) -> AlertRecord:
    """The per-article alert for a rule that matched, with its highlighted terms."""
    found = tuple(highlights(loaded.compiled.query.root, view))
    terms = tuple(dict.fromkeys(h.term for h in found))
    rule = loaded.rule
    key = ", ".join(group_keys(rule.group_by, article)) if rule.group_by != "none" else ""
    return AlertRecord(
        alert_id=alert_id(rule.name, article.article_id),
        rule=rule.name,
        rule_type=rule.type,
        message=f"{rule.name}: {article.title}",
        event_time=event_time(article),
        matched_terms=terms,
        highlights=found,
        key=key,
        live=not article.replay_run,
        **article_fields(article),  # type: ignore[arg-type]
    )


class AlertEngine:
    """Rules, their matcher and the state behind them; `process` is the stage's one step."""

    def __init__(
        self,
        book: RuleBook,
        state: AlertState,
        notifier: Notifier,
        *,
        rules_path: Path | None = None,
        resolve: EntityResolver | None = None,
    ) -> None:
        self.state = state
        self.resolve = resolve  # kept for reloads: entity names resolved as at the first load
        self.notifier = notifier
        self.aggregator = Aggregator(state)
        self.rules_path = rules_path
        self._mtime = _mtime(rules_path)
        self._lock = threading.Lock()
        self._pruned_at = 0.0
        self.use(book)

    def use(self, book: RuleBook) -> None:
        """Switch to a new set of rules (problems are logged; good rules always load)."""
        for problem in book.problems:
            log.error(
                "alert rule skipped: %s: %s",
                problem.name,
                problem.message.splitlines()[0],
                extra={"rule": problem.name},
            )
        self.book = book
        self.loaded = [r for r in book.rules if r.rule.enabled]
        self._by_name = {r.rule.name: r.rule for r in self.loaded}
        self.matcher = Matcher([r.compiled for r in self.loaded])
        self.notifier.channels = dict(book.channels)

    def reload_if_changed(self) -> bool:
        """Re-read the rules file when it changed on disk; keeps the old rules if it is unusable."""
        mtime = _mtime(self.rules_path)
        if self.rules_path is None or mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            self.use(load_rules(self.rules_path, resolve=self.resolve))
        except Exception as exc:  # noqa: BLE001 - a broken edit must not stop alerting
            log.error("alert rules not reloaded, keeping the previous ones: %s", exc)
            return False
        log.info("alert rules reloaded: %d active", len(self.loaded))
        return True

    def evaluate(self, article: EnrichedArticle) -> list[AlertRecord]:
        """Which rules match this article, with highlights; no state, no notifications (for `test`)."""
        view = ArticleView.of(article)
        return [match_alert(self.loaded[i], article, view) for i in self.matcher.match(view)]

    def process(
        self,
        articles: Sequence[EnrichedArticle],
        *,
        live: bool = True,
        sources: Sequence[str] | None = None,
    ) -> list[AlertRecord]:
        """Match, claim, aggregate, check flatlines and queue notifications; then send what is due.

        `sources` names each article's input record ("topic:partition:offset"). A record handled
        before gives back the alerts it gave then, without matching or notifying again: the
        runner re-reads a batch whose output never reached the bus (an outage between this
        step's commit and its produce), and those alerts must still be published.
        """
        if not articles:
            return []
        srcs = list(sources) if sources is not None else [None] * len(articles)
        with self._lock:
            out: list[AlertRecord] = []
            with self.state.transaction():
                start = min(event_time(a) for a in articles)
                for loaded in self.loaded:
                    if loaded.rule.type in {"spike", "new_term"}:
                        self.aggregator.watch(loaded.rule, start)
                last: tuple[str, EnrichedArticle, list[AlertRecord]] | None = None
                for article, src in zip(articles, srcs, strict=True):
                    before = self.state.emitted(src, article.article_id) if src else None
                    if before is not None:
                        out.extend(_ALERT_LIST.validate_json(before))
                        continue
                    fired = self._article(article, live)
                    out.extend(fired)
                    if src:
                        last = (src, article, fired)
                        self._remember(src, article, fired)
                ticked = self._submit_all(
                    self.aggregator.tick([r.rule for r in self.loaded], self._watermark(articles)),
                    live,
                )
                out.extend(ticked)
                if ticked and last is not None:  # flatlines belong to the batch's last new record
                    self._remember(last[0], last[1], last[2] + ticked)
            if live:
                self.flush()
            return out

    def _remember(self, src: str, article: EnrichedArticle, alerts: list[AlertRecord]) -> None:
        now = utcnow().timestamp()
        self.state.remember(src, article.article_id, now, _ALERT_LIST.dump_json(alerts).decode())
        if now - self._pruned_at > 3600:
            self._pruned_at = now
            self.state.forget_emitted(now - EMITTED_KEEP_S)

    def _article(self, article: EnrichedArticle, live: bool) -> list[AlertRecord]:
        view = ArticleView.of(article)
        out: list[AlertRecord] = []
        for index in self.matcher.match(view):
            loaded = self.loaded[index]
            try:
                out.extend(self._fire(loaded, article, view, live))
            except sqlite3.Error:
                raise
            except Exception:
                log.exception(
                    "alert rule failed on an article",
                    extra={"rule": loaded.rule.name, "article_id": article.article_id},
                )
        return out

    def _fire(
        self, loaded: LoadedRule, article: EnrichedArticle, view: ArticleView, live: bool
    ) -> list[AlertRecord]:
        rule = loaded.rule
        if rule.type == "match":
            if not self.state.claim(rule.name, article.article_id, utcnow().timestamp()):
                return []
            return self._submit_all([match_alert(loaded, article, view)], live)
        terms = tuple(dict.fromkeys(h.term for h in highlights(loaded.compiled.query.root, view)))
        alerts = self.aggregator.on_match(rule, article, terms)
        if rule.type == "new_term":
            alerts = [
                a
                for a in alerts
                if self.state.claim(rule.name, article.article_id, utcnow().timestamp())
            ]
        return self._submit_all(
            [a.model_copy(update={"live": not article.replay_run}) for a in alerts], live
        )

    def _submit_all(self, alerts: list[AlertRecord], live: bool) -> list[AlertRecord]:
        return [self.notifier.submit(self._by_name[a.rule], a, live=live) for a in alerts]

    def _watermark(self, articles: Sequence[EnrichedArticle]) -> datetime:
        latest = max(event_time(a) for a in articles)
        mark = self.state.mark("", "watermark")
        if mark is None or latest.timestamp() > mark[0]:
            self.state.set_mark("", "watermark", "", latest.timestamp())
            return latest
        return datetime.fromtimestamp(mark[0], latest.tzinfo)

    def tick(self, now: datetime | None = None, *, live: bool = True) -> list[AlertRecord]:
        """Timer entry point: flatline checks at wall time `now`, then send due digests.

        The caller publishes the returned records on `news.alerts` (the batch path does this itself).
        """
        with self._lock:
            with self.state.transaction():
                out = self._submit_all(
                    self.aggregator.tick(
                        [r.rule for r in self.loaded], now or self.notifier.clock()
                    ),
                    live,
                )
            if live:
                self.flush(now)
            return out

    def flush(self, now: datetime | None = None) -> DeliveryReport:
        """Send due notifications (immediate ones and digests whose period ended)."""
        report = self.notifier.flush(now)
        if report.sent or report.retried or report.dead:
            log.info(
                "alert notifications: %d sent, %d to retry, %d given up",
                report.sent,
                report.retried,
                report.dead,
            )
        return report

    def close(self) -> None:
        """Release the state file and the HTTP client."""
        self.notifier.http.close()
        self.state.close()


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except FileNotFoundError:
        return None


def build_engine(
    rules_path: Path,
    state_path: Path | str,
    *,
    env: Mapping[str, str],
    clock: Callable[[], datetime] = utcnow,
    http: httpx.Client | None = None,
    resolve: EntityResolver | None = None,
) -> AlertEngine:
    """An engine over a rules file and a state file (":memory:" for a backtest that keeps nothing).

    `resolve` widens the rules' `entity:` terms to canonical names (`rules.load_rules`)."""
    book = load_rules(rules_path, resolve=resolve)
    state = AlertState(state_path)
    notifier = Notifier(
        state, book.channels, Secrets(env, book.secrets_file), clock=clock, http=http
    )
    return AlertEngine(book, state, notifier, rules_path=rules_path, resolve=resolve)
