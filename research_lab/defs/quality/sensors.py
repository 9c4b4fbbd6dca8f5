"""``anomaly_alert_sensor``: posts each new critical anomaly to the alert webhook.

Each tick reads the open critical anomalies scored since the cursor (with a 10-minute overlap,
so that a slow transaction committed after a tick is not missed) and posts those the store's
alert log does not hold yet; every outcome goes to that log, so nothing is posted twice, even
after a rescore. A delivery that fails after its retries is logged as an error naming the
anomaly, the attempts and the last error, and is not retried by later ticks.

At most ``PER_TICK`` alerts go out per tick (the cursor then stays put so the next tick goes on).
Without a webhook URL the tick sends nothing and moves the cursor on (criticals scored while no
URL was set are in the anomaly report, not posted later).
"""

from datetime import datetime, timedelta, timezone

import dagster as dg

from research_lab.defs.quality.resources import AlertWebhookResource
from research_lab.defs.resources import StoreResource

OVERLAP = timedelta(minutes=10)
PER_TICK = 100  # alerts posted per tick at most; the rest go out on the next ticks


def _now() -> datetime:
    """The evaluation instant (a function so that tests can set the clock)."""
    return datetime.now(timezone.utc)


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts each new critical, unacknowledged anomaly to the alert webhook "
    "(RESEARCH_LAB_ALERT_WEBHOOK_URL) as JSON, once.",
)
def anomaly_alert_sensor(
    context: dg.SensorEvaluationContext, store: StoreResource, alert_webhook: AlertWebhookResource
):
    from research_lab.core.quality.alerts import deliver_alerts, mask

    tick = _now()
    since = datetime.fromisoformat(context.cursor) if context.cursor else None
    next_cursor = (tick - OVERLAP).isoformat()
    try:
        url = alert_webhook.resolved_url()
    except ValueError as exc:
        context.log.error(f"alert webhook not usable, no alerts sent: {exc}")
        return dg.SkipReason(f"alert webhook not usable: {exc}")
    if url is None:
        context.update_cursor(next_cursor)
        return dg.SkipReason(
            "no alert webhook URL set (RESEARCH_LAB_ALERT_WEBHOOK_URL): nothing sent"
        )
    outcomes = deliver_alerts(store.open(), url, since=since, policy=alert_webhook.policy(),
                              limit=PER_TICK)
    more = len(outcomes) == PER_TICK  # more may be pending: the next tick starts from here again
    failed = [o for o in outcomes if not o.delivery.ok]
    for o in failed:
        context.log.error(
            f"alert delivery failed for {o.symbol} {o.session} after {o.delivery.attempts} "
            f"attempt(s) to {mask(url)}: {o.delivery.detail}"
        )
    if not more:
        context.update_cursor(next_cursor)
    if not outcomes:
        return dg.SkipReason("no new critical anomaly")
    summary = f"posted {len(outcomes) - len(failed)} alert(s), {len(failed)} failed"
    context.log.info(f"{summary} (webhook {mask(url)})")
    return dg.SkipReason(summary)
