"""The alert webhook resource (key ``alert_webhook``).

The URL is read when a sensor tick starts, never at import: the ``url`` field when set (in the
launchpad, or bound to ``EnvVar("...")`` in code), else ``RESEARCH_LAB_ALERT_WEBHOOK_URL``; when
neither is set, nothing is sent. Only http(s) URLs are accepted.
"""

from __future__ import annotations

from typing import Optional

import dagster as dg
from pydantic import Field


class AlertWebhookResource(dg.ConfigurableResource):
    """Where critical anomalies are posted (JSON), and how hard to try."""

    url: Optional[str] = Field(
        default=None,
        description="Webhook URL (http/https). Unset: RESEARCH_LAB_ALERT_WEBHOOK_URL; unset "
        "there too: no alerts are sent.",
    )
    timeout_s: float = Field(default=5.0, description="Seconds to wait for each attempt.")
    retries: int = Field(default=3, description="Attempts after the first on errors, 429, 5xx.")
    backoff_s: float = Field(default=1.0, description="Wait before the first retry (doubles).")

    def resolved_url(self) -> str | None:
        """The URL to post to, or None; ``ValueError`` for a URL that is not http(s)."""
        from research_lab.core.quality.alerts import validate_webhook_url, webhook_url_from_env

        return validate_webhook_url(self.url) if self.url else webhook_url_from_env()

    def policy(self):
        from research_lab.core.quality.alerts import DeliveryPolicy

        return DeliveryPolicy(timeout_s=self.timeout_s, retries=self.retries, backoff_s=self.backoff_s)
