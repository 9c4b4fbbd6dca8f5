"""Alert webhook: post each new critical anomaly once, as JSON, with retries.

::

    url = webhook_url_from_env()                 # RESEARCH_LAB_ALERT_WEBHOOK_URL, or None
    results = deliver_alerts(store, url, since=watermark, policy=DeliveryPolicy())

What is posted (one request per anomaly, ``Content-Type: application/json``)::

    {"event": "research_lab.anomaly", "symbol": "ACME", "session": "2024-03-05",
     "severity": "critical", "reasons": ["unit error: close 100.2x its reference close"],
     "rules": ["unit_error"], "scores": {"jump_z": ..., "if_score": ..., ...},
     "bars_version": "...", "link": "http://127.0.0.1:3000/assets/anomaly_scores?..."}

Delivery: ``timeout_s`` per attempt; a connection error, a timeout, HTTP 429 or 5xx is retried
``retries`` times with exponential backoff (``backoff_s`` x 2^attempt, capped); any other 4xx
is final at once (retrying will not fix a bad request). The outcome of every delivery goes to
the store's alert log (attempts counted across deliveries). A retryable failure is delivered
again by a later call (the sensor's next tick) once its wait has passed (``backoff_s`` x
2^attempts, at most ``max_wait_s``), until it is sent or has used ``expire_attempts`` attempts
(then its detail says ``expired``). A sent anomaly (symbol, session, bars_version) is never
posted again, even if the partition is rescored. Acknowledged anomalies are not posted. Only
``http`` and ``https`` URLs are accepted; without a URL nothing is sent. The URL's secret
(its path, query and credentials) never reaches the log or a stored detail: see :func:`mask`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

from research_lab.core.redact import redact

ENV_URL = "RESEARCH_LAB_ALERT_WEBHOOK_URL"
ENV_UI = "RESEARCH_LAB_UI_URL"


def mask(url: str) -> str:
    """The URL without credentials, path or query (webhook paths often hold a secret token)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/..."


def validate_webhook_url(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host; otherwise ``ValueError``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"alert webhook URL must start with http:// or https://, got scheme {parts.scheme!r}"
        )
    if not parts.hostname:
        raise ValueError("alert webhook URL has no host")
    return url.strip()


def webhook_url_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The validated webhook URL from ``RESEARCH_LAB_ALERT_WEBHOOK_URL`` (None when unset)."""
    env = os.environ if env is None else env
    raw = (env.get(ENV_URL) or "").strip()
    return validate_webhook_url(raw) if raw else None


def ui_base_url(env: Mapping[str, str] | None = None) -> str:
    """Where the Dagster UI is (for links): ``RESEARCH_LAB_UI_URL`` or the local default."""
    env = os.environ if env is None else env
    return (env.get(ENV_UI) or f"http://127.0.0.1:{env.get('RESEARCH_LAB_PORT', '3000')}").rstrip("/")


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout_s: float = 5.0  # per attempt
    retries: int = 3  # attempts after the first, within one delivery
    backoff_s: float = 1.0  # wait before the first retry; doubles each time
    max_backoff_s: float = 30.0
    max_wait_s: float = 3600.0  # longest wait before a failed alert is delivered again
    expire_attempts: int = 40  # attempts (over all deliveries) after which an alert expires

    def due(self, attempts: int, updated_at: datetime, now: datetime) -> bool:
        """Whether a failed alert with ``attempts`` so far, last tried at ``updated_at``, is to
        be delivered again at ``now``."""
        if attempts >= self.expire_attempts:
            return False
        wait = min(self.backoff_s * 2 ** max(attempts - 1, 0), self.max_wait_s)
        return (now - updated_at).total_seconds() >= wait


@dataclass(frozen=True)
class Delivery:
    """The outcome of posting one payload."""

    ok: bool
    attempts: int
    status: int | None  # last HTTP status (None: no response)
    detail: str  # last error, or "HTTP 200"


def post_json(
    url: str,
    payload: dict,
    policy: DeliveryPolicy = DeliveryPolicy(),
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST ``payload`` as JSON with the retry policy of the module docstring."""
    import requests

    url = validate_webhook_url(url)
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "research_lab-sentinel"}
    status, detail = None, ""
    for attempt in range(policy.retries + 1):
        if attempt:
            sleep(min(policy.backoff_s * 2 ** (attempt - 1), policy.max_backoff_s))
        try:
            response = requests.post(url, data=body, headers=headers, timeout=policy.timeout_s,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            text = str(exc).replace(url, mask(url))
            status, detail = None, f"{type(exc).__name__}: {redact(text)[:200]}"
            continue
        status, detail = response.status_code, f"HTTP {response.status_code}"
        if 200 <= status < 300:
            return Delivery(True, attempt + 1, status, detail)
        if status != 429 and status < 500:
            return Delivery(False, attempt + 1, status, detail + " (not retried)")
    if status is not None and status != 429 and status < 500:
        return Delivery(False, policy.retries + 1, status, detail)
    return Delivery(False, policy.retries + 1, status, detail)


def alert_payload(anomaly, link_base: str) -> dict:
    """The JSON body for one :class:`.gate.OpenAnomaly`."""
    body = {"event": "research_lab.anomaly", **anomaly.as_dict()}
    key = f"{anomaly.session.isoformat()}|{anomaly.symbol}"
    body["link"] = f"{link_base}/assets/anomaly_scores?view=partitions&partition={quote(key)}"
    return body


@dataclass(frozen=True)
class AlertOutcome:
    symbol: str
    session: str
    delivery: Delivery


def pending_alerts(store, *, since: datetime | None = None,
                   policy: DeliveryPolicy = DeliveryPolicy(), now: datetime | None = None
                   ) -> list[tuple[object, int]]:
    """``(anomaly, attempts so far)`` for the open critical anomalies to post now: new ones
    (scored after ``since``) the alert log does not hold, and failed ones whose retry is due
    (:meth:`DeliveryPolicy.due`) and not expired. Sent ones and final 4xx refusals never."""
    from research_lab.core.marketdata.store import read_alerts, read_scores

    from .gate import open_criticals

    found = open_criticals(store)
    if not found:
        return []
    log = read_alerts(store)
    now = now or datetime.now(timezone.utc)
    logged = {(r.symbol, r.session.date(), r.bars_version): r for r in log.itertuples()}
    retry = {}
    for key, r in logged.items():
        updated = r.updated_at.to_pydatetime() if hasattr(r.updated_at, "to_pydatetime") \
            else r.updated_at
        if updated.tzinfo is None:  # SQLite returns the stored UTC time without its zone
            updated = updated.replace(tzinfo=timezone.utc)
        final = r.status == "sent" or "(not retried)" in r.detail
        if not final and policy.due(int(r.attempts), updated, now):
            retry[key] = int(r.attempts)
    fresh = found
    if since is not None:
        scores = read_scores(store, sorted({a.symbol for a in found}), severities=["critical"])
        recent = scores[scores["scored_at"] > since]
        keys = set(zip(recent["symbol"], recent["session"].dt.date))
        fresh = [a for a in found if (a.symbol, a.session) in keys]
    out = []
    for a in found:
        key = (a.symbol, a.session, a.bars_version)
        if key in retry:
            out.append((a, retry[key]))
        elif key not in logged and a in fresh:
            out.append((a, 0))
    return out


def deliver_alerts(
    store,
    url: str,
    *,
    since: datetime | None = None,
    policy: DeliveryPolicy = DeliveryPolicy(),
    link_base: str | None = None,
    limit: int = 100,
    sleep: Callable[[float], None] = time.sleep,
) -> list[AlertOutcome]:
    """Post every pending alert (at most ``limit``) and record each outcome in the alert log."""
    from research_lab.core.marketdata.store import record_alert

    base = link_base or ui_base_url()
    outcomes = []
    for anomaly, before in pending_alerts(store, since=since, policy=policy)[:limit]:
        delivery = post_json(url, alert_payload(anomaly, base), policy, sleep=sleep)
        attempts = before + delivery.attempts
        detail = delivery.detail
        if not delivery.ok and attempts >= policy.expire_attempts:
            detail = f"expired after {attempts} attempts: {detail}"
        record_alert(store, anomaly.symbol, anomaly.session, anomaly.bars_version,
                     status="sent" if delivery.ok else "failed", attempts=attempts,
                     detail=redact(detail.replace(url, mask(url))))
        outcomes.append(AlertOutcome(anomaly.symbol, anomaly.session.isoformat(), delivery))
    return outcomes
