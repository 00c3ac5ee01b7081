"""Event ids for entries sent without one: the same again when the same request is resent.

The original SDKs (``tracehub-logger`` 1.2.0, the Java and C++ SDKs) send no ``event_id``,
nor do OTLP records or Sentry log items. An entry's id is part of the key that makes a
redelivery store nothing new (see :mod:`tracehub_server.storage.logs`), so a random id would
store a retried batch twice. The id given here is derived from what identifies the entry in
its request -- the one derivation of every ingest path::

    sha256("tracehub-event-id:" project_id ":" data)[:24 hex] + index as 8 hex digits

``data`` is the decompressed body (native, OTLP) or the item's payload (Sentry, whose
envelope header changes between sends). A byte-identical resend to the same project gets
the same ids; two requests that differ in any byte, or reach two projects, get unrelated
ones. The data is hashed once per request, and only when an entry needs an id; each id is
then the prefix and its index (96 bits tell requests apart, the index entries within one).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

__all__ = ["EventIdSource", "RequestEventIds", "random_event_id"]

#: Gives the id of the entry at an index of the request (32 lower-case hex digits).
EventIdSource = Callable[[int], str]

_DOMAIN = b"tracehub-event-id:%d:"


def random_event_id(_index: int) -> str:
    """A fresh random id: for entries that belong to no request (tests, tools)."""
    return os.urandom(16).hex()


class RequestEventIds:
    """The :data:`EventIdSource` of one request: ids derived from project, data and index."""

    __slots__ = ("_data", "_prefix", "_project_id")

    def __init__(self, project_id: int, data: bytes) -> None:
        self._project_id = project_id
        self._data = data
        self._prefix: str | None = None

    def __call__(self, index: int) -> str:
        prefix = self._prefix
        if prefix is None:
            digest = hashlib.sha256(_DOMAIN % self._project_id)
            digest.update(self._data)
            prefix = self._prefix = digest.hexdigest()[:24]
        return f"{prefix}{index:08x}"
