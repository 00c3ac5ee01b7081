"""Stack-trace parsing: Python, Java, JavaScript/Node and Go traces to ``Frame`` lists.

Every parser returns frames nearest-to-the-raise-site first (Python prints them last, the
others first), without line numbers, each marked in-app or not, with recursion collapsed,
plus the exception types of the chain (causes) where the trace shows them. Paths are cut to
what survives a redeploy: the last two path components, or the package path inside
site-packages / node_modules.

:mod:`.structure` reads the same lines for display with these helpers (how a line is
recognised as a frame, and what a frame's module, function and ``in_app`` are); how a
trace is split into exceptions stays apart, as its answers here are hashed into stored
fingerprints (see :mod:`.structure`). Every parser builds its frames with :func:`frame_of`,
which the issue page calls too to mark the frames a fingerprint hashed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: Characters of a stack trace parsed (the end is kept by the SDK: it holds the raise site).
MAX_TRACE_CHARS = 65_536
#: Lines longer than this are skipped when parsing.
MAX_LINE_CHARS = 2_000
#: Frames kept per trace after parsing; deeper frames never reach the fingerprint anyway.
MAX_FRAMES = 200


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame: where (module or file) and which function; no line number."""

    module: str
    function: str
    in_app: bool

    @property
    def key(self) -> str:
        """``module:function``, the frame as a fingerprint hashes it and the issue page names it."""
        return f"{self.module}:{self.function}"


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One exception of a Python exception group: its type and frames (raise site first)."""

    type: str
    frames: tuple[Frame, ...]


@dataclass(frozen=True, slots=True)
class ParsedTrace:
    """Frames (raise site first), the language recognised, and the chain's exception types;
    for a Python exception group, the group's own frames and its members."""

    language: str
    frames: tuple[Frame, ...]
    chain: tuple[str, ...] = ()
    members: tuple[GroupMember, ...] = ()


# --- Python -----------------------------------------------------------------------------
_PY_FRAME = re.compile(
    r'^\s*File "(?P<path>[^"\n]{1,1000})", line \d+(?:, in (?P<func>[^\n]{1,300}))?'
)
_PY_CHAIN = re.compile(
    r"^(?:During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:)\s*$",
    re.M,
)
_PY_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]{0,200})(?::|$)", re.M)
#: What every printed exception group holds: found by a substring search, which is much
#: cheaper than the pattern's scan of every line of every trace.
_GROUP_HEADER = "+ Exception Group Traceback"
_PY_GROUP = re.compile(
    r"^(?P<indent> *)\+ Exception Group Traceback \(most recent call last\):", re.M
)
_PY_STDLIB = re.compile(r"/lib/python\d(?:\.\d+)?/|\\lib\\|^<frozen |^<")
_PY_THIRD_PARTY = re.compile(r"[/\\](?:site|dist)-packages[/\\]")

# --- Java -------------------------------------------------------------------------------
JAVA_FRAME = re.compile(
    r"^\s*at (?:[\w.\-]{1,100}/)?(?P<cls>[\w$.<>]{1,500})\.(?P<func>[\w$<>]{1,300})"
    r"\((?P<src>[^)\n]{0,300})\)"
)
_JAVA_CAUSE = re.compile(r"^\s*Caused by: (?P<type>[\w$.]{1,300})", re.M)
_JAVA_NON_APP = (
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "org.springframework.",
    "org.apache.",
    "io.netty.",
    "org.hibernate.",
    "com.fasterxml.",
    "reactor.",
    "io.undertow.",
    "org.eclipse.jetty.",
    "org.junit.",
    "net.bytebuddy.",
)
_JAVA_GENERATED = re.compile(
    r"\$\$[A-Za-z]+\$\$[0-9a-f]+|\$\$Lambda(?:\$\d+)?(?:/0x[0-9a-f]+)?|\$\d+"
)

# --- JavaScript / Node --------------------------------------------------------------------
_JS_FRAME = re.compile(
    r"^\s*at (?:(?:async|new) )?(?:(?P<func>[^\n(]{1,300}?) \((?P<loc1>[^\n]{1,1000})\)"
    r"|(?P<loc2>[^\s(][^\n]{0,1000}))\s*$"
)
_JS_GECKO = re.compile(r"^(?P<func>[^@\s]{0,300})@(?P<loc>[^\n]{1,1000}:\d+:\d+)\s*$")
_JS_LINE_COL = re.compile(r":\d+(?::\d+)?$")
_JS_NON_APP = re.compile(r"node_modules[/\\]|^node:|^internal[/\\]|^native$|<anonymous>|^\[native")

# --- Go -----------------------------------------------------------------------------------
_GO_FILE = re.compile(r"^\t(?P<path>[^\n]{1,1000}?\.go|\?\?\?):\d+(?: \+0x[0-9a-f]+)?$")
_GO_GOROUTINE = re.compile(r"^goroutine \d+ \[")

_HEX_RUN = re.compile(r"[.\-_][0-9a-f]{6,}(?=\.)|\?.*$")


def clip_trace(trace: str) -> str:
    """The part of a trace that is parsed: its last :data:`MAX_TRACE_CHARS`, short lines only.

    Lines over :data:`MAX_LINE_CHARS` are never frames; dropping them bounds every pattern's
    work per line.
    """
    return "\n".join(
        line for line in trace[-MAX_TRACE_CHARS:].splitlines() if len(line) <= MAX_LINE_CHARS
    )


def _tail_path(path: str, parts: int = 2) -> str:
    path = path.replace("\\", "/")
    return "/".join(path.rstrip("/").split("/")[-parts:])


def collapse_recursion(frames: list[Frame]) -> list[Frame]:
    """Fold directly repeated frames and repeated short cycles (A B A B ...) into one copy."""
    out: list[Frame] = []
    for frame in frames:
        out.append(frame)
        for width in (1, 2, 3):
            if len(out) >= 2 * width and out[-width:] == out[-2 * width : -width]:
                del out[-width:]
                break
    return out


def python_frame(path: str, func: str) -> Frame:
    """A ``File "path", line N, in func`` frame: its module and whether it is the app's."""
    path = path.replace("\\", "/")
    third_party = _PY_THIRD_PARTY.search(path)
    if third_party:
        module = path[third_party.end() :]
        in_app = False
    else:
        module = _tail_path(path)
        in_app = not _PY_STDLIB.search(path)
    if module.endswith(".py"):
        module = module[:-3]
    return Frame(module=module, function=func.strip(), in_app=in_app)


def parse_python(trace: str, *, groups: bool = True) -> ParsedTrace | None:
    """The raised exception's frames; earlier chained tracebacks contribute only their types.

    When the raised exception is an exception group (``groups``; grouping ``th1`` read none,
    its lines being ``|``-prefixed), its own frames are the frames, and each of its direct
    members is read as a traceback of its own (a nested group: its own frames only).
    """
    blocks = _PY_CHAIN.split(trace)
    chain = []
    for block in blocks[:-1]:
        types = [m.group("type") for m in _PY_EXC_LINE.finditer(block)]
        types = [t for t in types if t not in ("Traceback", "File")]
        if types:
            chain.append(types[-1])
    raised: str = blocks[-1]
    members: tuple[GroupMember, ...] = ()
    if groups and (group := _exception_group(raised)) is not None:
        raised, members = group
    frames = _python_frames(raised)
    if not frames:
        return None
    return ParsedTrace("python", frames, tuple(chain), members)


def _python_frames(block: str) -> tuple[Frame, ...]:
    frames = []
    for line in block.splitlines():
        match = _PY_FRAME.match(line)
        if match:
            frames.append(frame_of("python", match.group("path"), match.group("func") or "?"))
    frames.reverse()
    return tuple(collapse_recursion(frames))


def _exception_group(block: str) -> tuple[str, tuple[GroupMember, ...]] | None:
    """The group's own traceback (its ``|`` prefix removed) and its direct members, as
    :func:`traceback.format_exception` prints a group: own lines ``  | ``, each member
    opened by ``  +-+---- 1 ----`` or ``    +---- 2 ----`` and printed ``    | ``."""
    header = _PY_GROUP.search(block) if _GROUP_HEADER in block else None
    if header is None:
        return None
    indent = header.group("indent")
    own_prefix, member_prefix = indent + "| ", indent + "  | "
    opening, separator = indent + "+-+-", indent + "  +-"
    own: list[str] = []
    members: list[list[str]] = []
    for line in block[header.end() :].splitlines():
        if line.startswith(opening) or (
            members and line.startswith(separator) and not line.startswith(separator + "+")
        ):
            members.append([])
        elif members:
            if line.startswith(member_prefix):
                members[-1].append(line[len(member_prefix) :])
        elif line.startswith(own_prefix):
            own.append(line[len(own_prefix) :])
    read = (_group_member("\n".join(lines)) for lines in members)
    distinct = {member for member in read if member is not None}
    ordered = sorted(distinct, key=lambda m: (m.type, [frame.key for frame in m.frames]))
    return "\n".join(own), tuple(ordered)


def _group_member(text: str) -> GroupMember | None:
    """A member's type (the first exception line after its last frame) and frames."""
    raised = _PY_CHAIN.split(text)[-1]
    frames = _python_frames(raised)
    tail = raised[raised.rfind('File "') :] if frames else raised
    found = next((m.group("type") for m in _PY_EXC_LINE.finditer(tail)), None)
    if found is None or found in ("Traceback", "File"):
        return None
    return GroupMember(found, frames)


def java_frame(match: re.Match[str]) -> Frame:
    """An ``at`` line matched by :data:`JAVA_FRAME` as a frame of the grouping."""
    return frame_of("java", match.group("src"), match.group("func"), match.group("cls"))


def _java_class_frame(cls: str, func: str, src: str) -> Frame:
    """Generated class names cut; the runtime's, frameworks' and native frames not in-app."""
    cls = _JAVA_GENERATED.sub("", cls)
    in_app = not cls.startswith(_JAVA_NON_APP) and src != "Native Method"
    return Frame(module=cls, function=func, in_app=in_app)


def parse_java(trace: str) -> ParsedTrace | None:
    """The thrown exception's frames (before the first "Caused by:"); causes give types."""
    head, _, _ = trace.partition("Caused by:")
    frames = [java_frame(m) for line in head.splitlines() if (m := JAVA_FRAME.match(line))]
    if not frames:
        return None
    chain = tuple(m.group("type") for m in _JAVA_CAUSE.finditer(trace))
    return ParsedTrace("java", tuple(collapse_recursion(frames)), chain)


def js_frame(func: str, location: str) -> Frame:
    """A frame's function and ``file:line:col`` location as a frame of the grouping."""
    location = _JS_LINE_COL.sub("", location.strip())
    location = re.sub(r"^(?:file|webpack|webpack-internal)://+", "", location)
    location = re.sub(r"^https?://[^/]+", "", location)
    in_app = not _JS_NON_APP.search(location)
    cut = location.rfind("node_modules/")
    module = location[cut + len("node_modules/") :] if cut >= 0 else _tail_path(location)
    module = _HEX_RUN.sub("", module)
    return Frame(module=module, function=func.strip() or "<anonymous>", in_app=in_app)


def js_frame_at(line: str) -> tuple[str, str] | None:
    """``(function, location)`` when ``line`` is a V8 or a Firefox/Safari frame."""
    match = _JS_FRAME.match(line)
    if match and (match.group("loc1") or _JS_LINE_COL.search(match.group("loc2") or "")):
        return match.group("func") or "", match.group("loc1") or match.group("loc2")
    gecko = _JS_GECKO.match(line.strip())
    return (gecko.group("func"), gecko.group("loc")) if gecko else None


def parse_javascript(trace: str) -> ParsedTrace | None:
    """V8 ("at f (file:1:2)") and Firefox/Safari ("f@file:1:2") frames, innermost first."""
    hits = [hit for line in trace.splitlines() if (hit := js_frame_at(line))]
    frames = [frame_of("javascript", location, func) for func, location in hits]
    if not frames:
        return None
    return ParsedTrace("javascript", tuple(collapse_recursion(frames)), ())


def _go_function(line: str) -> str | None:
    """Cut the final argument list: `pkg.(*T).Method(0xc0, {0x1})` -> `pkg.(*T).Method`."""
    if not line.endswith(")") or line.startswith(("\t", " ")):
        return None
    depth = 0
    for index in range(len(line) - 1, -1, -1):
        char = line[index]
        if char == ")":
            depth += 1
        elif char == "(":
            depth -= 1
            if depth == 0:
                name = line[:index]
                return name if name and " " not in name else None
    return None


def go_frame(func: str, path: str) -> Frame:
    """A ``pkg.Func`` and its file as a frame of the grouping (stdlib and modules not in-app)."""
    func = re.sub(r"\.func\d+(?:\.\d+)*$", ".func", func)
    slash = func.rfind("/")
    dot = func.find(".", slash + 1)
    package, name = (func[:dot], func[dot + 1 :]) if dot > 0 else (func, "?")
    first = package.split("/", 1)[0]
    stdlib = package != "main" and "." not in first
    in_app = not stdlib and "/go/src/" not in path and "/pkg/mod/" not in path
    return Frame(module=package, function=name, in_app=in_app)


def go_frame_lines(lines: list[str]) -> Iterator[tuple[str, str, str]]:
    """``(function, path, file line)`` of the first goroutine's frames, innermost first.

    A frame is a ``pkg.Func(args)`` line followed by a tab and ``file.go:N``; a
    ``created by`` line names the goroutine's creator, not a call in progress.
    """
    seen_goroutine = False
    for current, following in itertools.pairwise(lines):
        if _GO_GOROUTINE.match(current):
            if seen_goroutine:
                return
            seen_goroutine = True
            continue
        if current.startswith("created by "):
            continue
        func = _go_function(current)
        file = _GO_FILE.match(following)
        if func and file:
            yield func, file.group("path"), following


def parse_go(trace: str) -> ParsedTrace | None:
    """The panicking goroutine's frames ("pkg.Func(args)" then a tab and "file.go:N")."""
    frames = [frame_of("go", path, func) for func, path, _ in go_frame_lines(trace.splitlines())]
    if not frames:
        return None
    return ParsedTrace("go", tuple(collapse_recursion(frames)), ())


def _go_qualified_frame(file: str, function: str, module: str) -> Frame:
    return go_frame(f"{module}.{function}" if module else function, file)


_FRAME_READERS: dict[str, Callable[[str, str, str], Frame]] = {
    "python": lambda file, function, _module: python_frame(file, function),
    "java": lambda file, function, module: _java_class_frame(module, function, file),
    "javascript": lambda file, function, _module: js_frame(function, file),
    "go": _go_qualified_frame,
}
#: The languages :func:`parse_stack` reads (a :class:`ParsedTrace`'s ``language``).
LANGUAGES = tuple(_FRAME_READERS)
#: Languages whose parser reads every printed exception's frames (the causes' follow the
#: raised exception's); the others read the raised exception's frames only.
READS_CAUSE_FRAMES = frozenset({"javascript", "go"})


def frame_of(language: str, file: str, function: str, module: str = "") -> Frame:
    """The grouping's frame for one frame of a ``language`` trace, given by its fields.

    The fields are those a structured frame has (Sentry's and TraceHub's ``filename``,
    ``function``, ``module``), as the trace prints them: Python ``File "file", line N, in
    function``; JavaScript ``at function (file:N:M)`` (``function`` empty when anonymous);
    Java ``at module.function(file:N)`` (``file`` is ``Native Method`` for a native frame);
    Go ``module.function(...)`` then ``file:N`` (or ``function`` already qualified). Every
    parser here builds its frames through this function, so a caller holding the fields
    (the issue page marking the frames a fingerprint hashed) reads a frame exactly as the
    grouping does. ValueError for a language not in :data:`LANGUAGES`.
    """
    read = _FRAME_READERS.get(language)
    if read is None:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return read(file, function, module)


_PARSERS = (parse_python, parse_java, parse_go, parse_javascript)


def parse_stack(trace: str | None, *, groups: bool = True) -> ParsedTrace | None:
    """Parse a trace in any supported language; None if no frame is recognised.

    ``groups=False`` reads a Python exception group as grouping ``th1`` did: not at all.
    """
    if not trace:
        return None
    text = clip_trace(trace)
    for parser in _PARSERS:
        parsed = parse_python(text, groups=groups) if parser is parse_python else parser(text)
        if parsed is not None:
            return ParsedTrace(
                parsed.language, parsed.frames[:MAX_FRAMES], parsed.chain, parsed.members
            )
    return None


def python_head(stack_trace: str | None) -> str | None:
    """The trace up to its last ``File "`` line, when what follows cannot affect parsing.

    The Python parser builds frames only from ``File "..."`` lines and splits chained
    tracebacks only at the chain sentences, so a tail holding neither changes nothing --
    provided the trace is short enough to be parsed whole (the parser keeps the end).
    """
    if not stack_trace or len(stack_trace) > MAX_TRACE_CHARS or _GROUP_HEADER in stack_trace:
        return None  # a group's members' types follow its last frame line
    start = stack_trace.rfind('File "')
    if start < 0:
        return None
    end = stack_trace.find("\n", start)
    if end < 0:
        return stack_trace
    if _PY_CHAIN.search(stack_trace, end):
        return None
    return stack_trace[:end]
