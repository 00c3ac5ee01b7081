"""Event ids for entries sent without one: the same again when the same request is resent.

The original SDKs (``tracehub-logger`` 1.2.0, the Java and C++ SDKs) send no ``event_id``.
An entry's id is part of the key that makes a redelivery store nothing new (see
:mod:`tracehub_server.storage.logs`), so a random id would store a retried batch twice. The
id given here is derived from what identifies the entry in its request::

    sha256(sha256("tracehub-event-id:" project_id ":" decompressed body) || index)[:32 hex]

A byte-identical resend of the body to the same project gets the same ids (gzip or not:
the hash is of the decompressed body); two requests that differ in any byte, or reach two
projects, get unrelated ids. The body is hashed once per request, and only when an entry
needs an id.
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
    """The :data:`EventIdSource` of one request: ids derived from project, body and index."""

    __slots__ = ("_body", "_project_id", "_seed")

    def __init__(self, project_id: int, body: bytes) -> None:
        self._project_id = project_id
        self._body = body
        self._seed: bytes | None = None

    def __call__(self, index: int) -> str:
        seed = self._seed
        if seed is None:
            digest = hashlib.sha256(_DOMAIN % self._project_id)
            digest.update(self._body)
            seed = self._seed = digest.digest()
        return hashlib.sha256(seed + b"%d" % index).hexdigest()[:32]
