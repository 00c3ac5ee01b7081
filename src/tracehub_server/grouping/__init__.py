"""Issue grouping: which error events are the same bug (normalise, parse frames, hash)."""

from tracehub_server.grouping.fingerprint import fingerprint, title
from tracehub_server.grouping.frames import Frame, ParsedTrace, parse_stack
from tracehub_server.grouping.normalise import normalise

__all__ = ["Frame", "ParsedTrace", "fingerprint", "normalise", "parse_stack", "title"]
