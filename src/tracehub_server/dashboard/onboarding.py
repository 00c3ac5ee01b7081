"""The first five minutes: what an empty project shows so its first event can be sent.

Every snippet has this server's address filled in (``public_url`` when set, else the
address the browser used) and, right after the user made one, the project's new API key.
Without a key in hand (keys are stored hashed) the snippets carry a placeholder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from tracehub_server.dashboard.views.settings import sdk_snippet

#: Stands in for the key when the page has none to show.
KEY_PLACEHOLDER = "<YOUR_API_KEY>"


@dataclass(frozen=True, slots=True)
class Snippet:
    """One way of sending events: a tab's id and label, what to do, and the text to copy."""

    id: str
    label: str
    intro: str
    code: str


def curl_snippet(*, endpoint: str, key: str, service: str) -> str:
    """A shell command that posts one entry through the ingest API."""
    body = json.dumps(
        [{"level": "INFO", "service": service, "message": "Hello from curl",
          "extra": {"user_id": "usr_42"}}]
    )  # fmt: skip
    return (
        f"curl -sS -X POST '{endpoint}/api/v1/ingest' \\\n"
        f"  -H 'X-API-Key: {key}' -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )


def sentry_dsn(*, endpoint: str, key: str, project_id: int) -> str:
    """The DSN a Sentry SDK is given: ``http://<key>@<host>/<project id>``."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{key}@{parts.netloc}{parts.path.rstrip('/')}/{project_id}"


def snippets(
    *, endpoint: str, key: str | None, project_id: int, project_name: str
) -> list[Snippet]:
    """Every way of sending the first event, in the order the page offers them."""
    key = key or KEY_PLACEHOLDER
    dsn = sentry_dsn(endpoint=endpoint, key=key, project_id=project_id)
    service = "".join(ch if ch.isalnum() else "-" for ch in project_name.lower()).strip("-")
    service = service or "my-service"
    return [
        Snippet(
            "python",
            "Python SDK",
            "pip install tracehub, then:",
            sdk_snippet(key=key, endpoint=endpoint, project_name=project_name),
        ),
        Snippet(
            "curl",
            "curl",
            "Post one entry from a shell:",
            curl_snippet(endpoint=endpoint, key=key, service=service),
        ),
        Snippet(
            "frameworks",
            "FastAPI · Flask · Django",
            "Add the integration: each request gets a trace id and crashes become issues.",
            "# FastAPI / Starlette\n"
            "from tracehub.integrations.fastapi import TraceHubMiddleware\n"
            "app.add_middleware(TraceHubMiddleware)\n\n"
            "# Flask\n"
            "from tracehub.integrations.flask import init_tracehub\n"
            "init_tracehub(app)\n\n"
            "# Django (settings.py)\n"
            'MIDDLEWARE = ["tracehub.integrations.django.TraceHubMiddleware", ...]\n',
        ),
        Snippet(
            "otel",
            "OpenTelemetry",
            "Any OpenTelemetry SDK or Collector exporting logs over OTLP/HTTP:",
            f"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT={endpoint}/v1/logs\n"
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/protobuf\n"
            f"OTEL_EXPORTER_OTLP_LOGS_HEADERS=x-api-key={key}\n",
        ),
        Snippet(
            "sentry",
            "Sentry SDK",
            "An application already using a Sentry SDK: point its DSN here.",
            f'sentry_sdk.init(dsn="{dsn}")\n',
        ),
    ]
