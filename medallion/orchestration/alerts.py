"""The failure alert: a Slack-compatible message to a webhook when a run's step fails.

The URL is ``MEDALLION_ALERT_WEBHOOK_URL``, else ``[alerts] webhook_url`` in
``.dlt/secrets.toml`` (a webhook URL is a secret); with neither, nothing is sent. The
message holds the run id, the failed step and the one-line reason, with every password
hidden (``settings.redact`` and the warehouse password itself). A webhook that cannot be
reached is logged, never raised: the alert must not hide the failure it reports.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from dagster import HookContext, failure_hook

from ..settings import redact


def webhook_url() -> str:
    url = os.environ.get("MEDALLION_ALERT_WEBHOOK_URL", "").strip()
    if url:
        return url
    import dlt

    return str(dlt.secrets.get("alerts.webhook_url") or "").strip()


def one_line(error: BaseException | None) -> str:
    """The first line of an error's message, without a password, at most 300 characters."""
    if error is None:
        return "unknown (no exception was recorded)"
    text = redact(str(error))
    for name in ("MEDALLION_MYSQL_PASSWORD",):
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else type(error).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def alert_payload(run_id: str, step: str, error: BaseException | None) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: ``text`` (what any client shows) and the same in
    blocks."""
    reason = one_line(error)
    text = f"medallion run failed: run {run_id}, step {step}: {reason}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*medallion run failed*"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Run*\n{run_id}"},
                    {"type": "mrkdwn", "text": f"*Failed step*\n{step}"},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Reason*\n{reason}"}},
        ],
    }


def post(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST the JSON; returns the HTTP status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


@failure_hook(name="alert_on_failure")
def alert_on_failure(context: HookContext) -> None:
    url = webhook_url()
    if not url:
        return
    payload = alert_payload(context.run_id, context.step_key, context.op_exception)
    try:
        post(url, payload)
    except Exception as exc:
        context.log.warning(f"The failure alert could not be sent: {one_line(exc)}")
