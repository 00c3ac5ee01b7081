"""PII scrubbing at ingest: sensitive values become ``[Filtered]`` before anything is queued.

Applied in one place, :class:`ScrubbingQueue`, which wraps the app's queue: every ingest path
(native, OTLP, Sentry) hands its validated batch to that queue, so every path is scrubbed and
nothing unscrubbed is ever made durable. What is scrubbed (``docs/errors.md`` says the same):

* **Keys.** The value of every ``extra`` key, at any depth, and of every local variable of a
  structured exception's frames, whose name matches a sensitive term -- the defaults
  (:data:`DEFAULT_KEYS`) plus the project's own. A name matches when the term's words appear
  in it as consecutive words (``X-Api-Key``, ``db_password``, ``userPassword``) or it is the
  term with its separators dropped (``apikey``); ``author`` does not match ``auth``.
* **Text.** In ``message``, ``error_message``, ``stack_trace``, every string inside ``extra``,
  and a structured exception's messages, source lines and variables: Luhn-valid card numbers
  (13 to 19 digits, spaces or dashes allowed), ``Bearer`` tokens and PEM private keys.
* **Safe keys** of the project are never scrubbed, nor anything under them.
* With the defaults turned off, only the project's own keys are scrubbed (no default keys,
  no text patterns).

The project's rules are read through a TTL cache, so a change applies to data received at
most ``ttl`` seconds later; old data is not rewritten.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Any

import asyncpg
import orjson

from tracehub_server.queue.base import IngestQueue, QueueUnavailable
from tracehub_server.queue.messages import ENTRY_KEYS, IngestBatch
from tracehub_server.storage.scrubbing import DEFAULT_KEYS, ScrubSettings, get_scrub_settings

__all__ = ["DEFAULT_KEYS", "FILTERED", "ScrubRulesCache", "Scrubber", "ScrubbingQueue"]

#: What a scrubbed value becomes.
FILTERED = "[Filtered]"
#: Distinct key names remembered per scrubber; beyond it the memo starts over.
MAX_MEMO_KEYS = 10_000
#: Nesting walked inside ``extra``; deeper values are left as they are (the SDK caps at 16).
MAX_DEPTH = 32

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)",
    re.S,
)
_BEARER = re.compile(r"\b(Bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.I)
# A card number stands alone: not the digits inside a hex id or a longer word
# ("probe 93d10604686949238e79" keeps its Luhn-valid run), and not part of a longer number.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_MESSAGE, _ERROR_MESSAGE, _STACK, _EXTRA, _EXCEPTION = (
    ENTRY_KEYS.index(k) for k in ("message", "error_message", "stack_trace", "extra", "exception")
)


_TEXT_KEYS = ("message", "error_message", "stack_trace")
#: Getters of an entry's (texts, extra, exception), for value lists and for dicts.
_LIST_PARTS = (
    tuple(itemgetter(i) for i in (_MESSAGE, _ERROR_MESSAGE, _STACK)),
    itemgetter(_EXTRA),
    itemgetter(_EXCEPTION),
)
# Dicts through ``get``: a producer's entry may lack a key (it is then None, as validated).
_DICT_PARTS = (
    tuple(methodcaller("get", k) for k in _TEXT_KEYS),
    methodcaller("get", "extra"),
    methodcaller("get", "exception"),
)
#: Digits become "0", capitals small letters, spaces and dashes go: a card number, however
#: written, leaves a run of 13 zeros (so does any long number: a hint, not a verdict), and
#: "Bearer" and "PRIVATE KEY" read "bearer" and "privatekey" -- one pass, three searches.
_FOLD = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"abcdefghijklmnopqrstuvwxyz"
)
_CARD_HINT = b"0" * 13


def _text_hint(data: bytes) -> bool:
    """Whether ``data`` (UTF-8 or JSON) may hold a card number, a Bearer token or a PEM key."""
    folded = data.translate(_FOLD, b" -")
    return b"bearer" in folded or b"privatekey" in folded or _CARD_HINT in folded


def _stems(terms: _Terms) -> tuple[bytes, ...]:
    """Lower-case substrings every matching key name holds: each term's last word (a
    superset test: a hit in a value only costs a closer look)."""
    stems = {words[-1].encode() for words in terms.words}
    return tuple(sorted(s for s in stems if not any(o != s and o in s for o in stems)))


def _words(name: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORDS.findall(name))


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return FILTERED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def scrub_text(text: str) -> str:
    """``text`` with card numbers, Bearer tokens and PEM private keys replaced."""
    if "PRIVATE KEY" in text:
        text = _PEM.sub(FILTERED, text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(r"\1 " + FILTERED, text)
    return _CARD.sub(_card, text)


@dataclass(frozen=True, slots=True)
class _Terms:
    words: tuple[tuple[str, ...], ...]
    joined: frozenset[str]

    @classmethod
    def of(cls, names: Iterable[str]) -> _Terms:
        words = tuple(w for w in (_words(n) for n in names) if w)
        return cls(words=words, joined=frozenset("".join(w) for w in words))

    def match(self, name: str) -> bool:
        words = _words(name)
        if "".join(words) in self.joined:
            return True
        for term in self.words:
            size = len(term)
            if any(words[i : i + size] == term for i in range(len(words) - size + 1)):
                return True
        return False


class Scrubber:
    """The compiled rules of one project; :meth:`scrub` changes entries in place."""

    def __init__(self, settings: ScrubSettings) -> None:
        keys = [*(DEFAULT_KEYS if settings.defaults_enabled else ()), *settings.extra_keys]
        self._sensitive = _Terms.of(keys)
        self._stems = _stems(self._sensitive)
        self._safe = _Terms.of(settings.safe_keys)
        self._text = settings.defaults_enabled
        self._active = settings.defaults_enabled or bool(settings.extra_keys)
        self._memo: dict[str, int] = {}  # name -> 0 plain, 1 sensitive, 2 safe

    def _kind(self, name: str) -> int:
        kind = self._memo.get(name)
        if kind is None:
            kind = 2 if self._safe.match(name) else 1 if self._sensitive.match(name) else 0
            if len(self._memo) >= MAX_MEMO_KEYS:
                self._memo.clear()
            self._memo[name] = kind
        return kind

    def _value(self, value: Any, depth: int) -> Any:
        if type(value) is str:
            return scrub_text(value) if self._text else value
        if type(value) is dict:
            return self._mapping(value, depth)
        if type(value) is list and depth < MAX_DEPTH:
            return [self._value(item, depth + 1) for item in value]
        return value

    def _mapping(self, mapping: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth >= MAX_DEPTH:
            return mapping
        out = {}
        for key, value in mapping.items():
            kind = self._kind(key) if type(key) is str else 0
            out[key] = (
                FILTERED if kind == 1 else value if kind == 2 else self._value(value, depth + 1)
            )
        return out

    def _exception(self, exception: dict[str, Any]) -> dict[str, Any]:
        values = []
        text = scrub_text if self._text else str
        for value in exception.get("values", ()):
            value = {**value, "value": text(value.get("value") or "")}
            frames = []
            for frame in value.get("stacktrace", {}).get("frames", ()):
                if "vars" in frame or "context_line" in frame:
                    frame = dict(frame)
                    if "vars" in frame:
                        frame["vars"] = self._mapping(frame["vars"], 0)
                    if "context_line" in frame and self._text:
                        frame["context_line"] = scrub_text(frame["context_line"])
                        frame["pre_context"] = [scrub_text(t) for t in frame["pre_context"]]
                        frame["post_context"] = [scrub_text(t) for t in frame["post_context"]]
                frames.append(frame)
            value["stacktrace"] = {"frames": frames}
            values.append(value)
        return {"values": values}

    def scrub(self, entries: list[Any]) -> None:
        """Scrub validated entries (dicts, or value lists of all ENTRY_KEYS) in place.

        Most batches hold nothing to scrub, and walking every entry in Python would cost
        more than validating it: each part of the batch (its texts, its ``extra`` objects,
        its exceptions) is first searched at once, in C, for anything that could need
        scrubbing -- a run of 13+ digits, "bearer", "PRIVATE KEY", a key naming a sensitive
        term -- and only a part with a hint is walked entry by entry.
        """
        if not self._active or not entries:
            return
        texts, extra, exception = _LIST_PARTS if type(entries[0]) is list else _DICT_PARTS
        strings = list(filter(None, chain.from_iterable(map(get, entries) for get in texts)))
        extras = list(filter(None, map(extra, entries)))
        data = orjson.dumps([strings, extras], option=orjson.OPT_NON_STR_KEYS)
        if self._text and _text_hint(data):
            for entry in entries:
                self._texts(entry)
                self._extra(entry)
        elif extras and self._keys_hinted(data, extras):
            for entry in entries:
                self._extra(entry)
        structures = list(filter(None, map(exception, entries)))
        if structures and self._structures_hinted(structures):
            for entry in entries:
                self._structure(entry)

    def _keys_hinted(self, data: bytes, extras: list[dict[str, Any]]) -> bool:
        """Whether an ``extra`` object (``data`` holds their JSON) may name a sensitive key."""
        if data.count(b"{") == len(extras) and data.count(b"[") == 3:
            # Flat objects (the usual ``extra``): their distinct keys, looked up by name.
            names = set(chain.from_iterable(extras))
            return any(self._kind(name) == 1 for name in names if type(name) is str)
        lower = data.lower()
        return any(stem in lower for stem in self._stems)

    def _structures_hinted(self, structures: list[dict[str, Any]]) -> bool:
        """Whether exceptions may hold text to scrub, or frame variables with sensitive names
        (their source lines naming a "token" are no hint)."""
        data = orjson.dumps(structures, option=orjson.OPT_NON_STR_KEYS)
        if self._text and _text_hint(data):
            return True
        if b'"vars":' not in data:
            return False
        lower = data.lower()
        return any(stem in lower for stem in self._stems)

    def _texts(self, entry: Any) -> None:
        if type(entry) is list:
            for index in (_MESSAGE, _ERROR_MESSAGE, _STACK):
                if entry[index]:
                    entry[index] = scrub_text(entry[index])
            return
        for key in _TEXT_KEYS:
            if entry.get(key):
                entry[key] = scrub_text(entry[key])

    def _extra(self, entry: Any) -> None:
        key: Any = _EXTRA if type(entry) is list else "extra"
        value = entry[key] if type(entry) is list else entry.get(key)
        if type(value) is dict and value:
            entry[key] = self._mapping(value, 0)

    def _structure(self, entry: Any) -> None:
        key: Any = _EXCEPTION if type(entry) is list else "exception"
        value = entry[key] if type(entry) is list else entry.get(key)
        if type(value) is dict and value:
            entry[key] = self._exception(value)


class ScrubRulesCache:
    """Each project's :class:`Scrubber`, rebuilt from the database every ``ttl`` seconds."""

    def __init__(
        self, pool: asyncpg.Pool, *, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[int, tuple[float, Scrubber]] = {}

    async def scrubber(self, project_id: int) -> Scrubber:
        """The project's scrubber (defaults for a project that never changed its rules)."""
        now = self._clock()
        hit = self._entries.get(project_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._pool.acquire() as conn:
            scrubber = Scrubber(await get_scrub_settings(conn, project_id))
        if len(self._entries) >= MAX_MEMO_KEYS:
            self._entries.clear()
        self._entries[project_id] = (now + self._ttl, scrubber)
        return scrubber


class ScrubbingQueue(IngestQueue):
    """The app's queue, scrubbing each batch before it is made durable (see the module)."""

    def __init__(self, inner: IngestQueue, rules: ScrubRulesCache) -> None:
        self.inner = inner
        self._rules = rules

    async def publish(self, batch: IngestBatch) -> None:
        """Scrub ``batch`` in place, then publish it with the inner queue's guarantee."""
        try:
            scrubber = await self._rules.scrubber(batch.project_id)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise QueueUnavailable(f"scrubbing rules unavailable: {exc}") from None
        scrubber.scrub(batch.entries)
        await self.inner.publish(batch)

    async def depth(self) -> int | None:
        return await self.inner.depth()

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def close(self) -> None:
        await self.inner.close()
