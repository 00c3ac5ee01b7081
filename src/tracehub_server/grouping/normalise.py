"""Message normalisation: the variable parts of an error message become placeholders.

Without this, one message template ("Timeout after 667ms talking to 10.0.0.7") splits into
thousands of issues, one per id, address, number or duration. Every pattern here is linear
(no nested quantifiers), and input is capped, so a hostile message costs bounded time.
"""

from __future__ import annotations

import re

#: Characters of a message considered for grouping; the rest rarely tells bugs apart.
MAX_NORMALISED_INPUT = 2_000

# Order matters: a URL may contain an IP, a number, a UUID; a timestamp contains numbers;
# each placeholder is free of digits so later patterns leave it alone.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), placeholder)
    for pattern, placeholder in (
        (r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s'\"<>()\[\]{}]+", "<url>"),
        (r"\b[\w.+\-]{1,64}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63})+\b", "<email>"),
        (r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", "<uuid>"),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
            r"(?:z|[+\-]\d{2}:?\d{2})?)?\b",
            "<timestamp>",
        ),
        (r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?\b", "<time>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b", "<ip>"),
        (r"\b0x[0-9a-f]+\b", "<hex>"),
        # Bare hex ids (hashes, object ids, trace ids): long, and containing a digit.
        (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", "<hex>"),
        (r"'[^'\n]{0,200}'", "<str>"),
        (r"\"[^\"\n]{0,200}\"", "<str>"),
        (
            r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds?|min|mins|minutes?"
            r"|h|hrs?|hours?)\b",
            "<duration>",
        ),
        (r"(?<![\w.])[\-+]?\d+(?:\.\d+)?(?:e[\-+]?\d+)?", "<num>"),
        (r"\d+", "<num>"),
    )
)
#: IPv6 is matched (with a check) right after IPv4, before hex and numbers.
_IPV6_AFTER = 6
_SPACES = re.compile(r"\s+")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.I)


def _ipv6(match: re.Match[str]) -> str:
    # "::" or five colons, and a digit: "fe80::1" is an address, "std::vector" is not.
    text = match.group(0)
    looks_like = ("::" in text or text.count(":") >= 5) and any(c.isdigit() for c in text)
    return "<ip>" if looks_like else text


def normalise(message: str | None) -> str:
    """Replace ids, times, addresses, numbers and quoted values with placeholders.

    >>> normalise("User 42 not found (id=5f0c4b1e-8a7d-4c1e-9b2a-1c2d3e4f5a6b) after 667ms")
    'User <num> not found (id=<uuid>) after <duration>'
    """
    if not message:
        return ""
    text = message[:MAX_NORMALISED_INPUT]
    for index, (pattern, placeholder) in enumerate(_RULES):
        if index == _IPV6_AFTER:
            text = _IPV6_CANDIDATE.sub(_ipv6, text)
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text).strip()
