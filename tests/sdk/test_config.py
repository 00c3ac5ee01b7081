"""The logger's options: defined once in tracehub.config, as groups and as flat keywords."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
from pathlib import Path

import pytest

from tracehub import DeadLetter, Delivery, Retry, TraceHubConfigError, TraceHubLogger
from tracehub.config import GROUPS

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {"api_key": "k", "service": "svc", "environment": "test"}
OPTIONS = [
    (keyword, item) for keyword, group in GROUPS.items() for item in dataclasses.fields(group)
]


def test_every_group_option_is_a_flat_keyword_with_the_same_default() -> None:
    """The constructor's flat keywords are exactly the groups' options, defaults taken from them."""
    params = inspect.signature(TraceHubLogger).parameters
    for _, item in OPTIONS:
        assert params[item.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[item.name].default == item.default, item.name
    flat = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert flat - {item.name for _, item in OPTIONS} == {*GROUPS, "transport", "errors"}


def test_every_option_has_a_check_and_a_doc() -> None:
    """Each option carries the check that validates it and the line the docs show."""
    for _, item in OPTIONS:
        assert callable(item.metadata["check"]), item.name
        assert item.metadata["doc"], item.name


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: Delivery(batch_size=0), "batch_size"),
        (lambda: Delivery(flush_interval=-1), "flush_interval"),
        (lambda: Retry(max_retries=-1), "max_retries"),
        (lambda: Retry(max_backoff=float("inf")), "max_backoff"),
        (lambda: DeadLetter(dlq_path=42), "dlq_path"),
        (lambda: DeadLetter(dlq_max_bytes=0), "dlq_max_bytes"),
    ],
)
def test_a_group_is_validated_when_built(build: object, name: str) -> None:
    """A bad value fails when the group object is built, naming the option."""
    assert callable(build)
    with pytest.raises(TraceHubConfigError, match=name):
        build()


def test_groups_are_keyword_only_and_frozen() -> None:
    """Groups take keywords only and cannot be changed after validation."""
    with pytest.raises(TypeError):
        Delivery(10)  # type: ignore[misc]
    delivery = Delivery(batch_size=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        delivery.batch_size = 0  # type: ignore[misc]


def test_group_objects_configure_the_logger() -> None:
    """delivery=, retry= and dead_letter= reach the logger's config as given."""
    with TraceHubLogger(
        **IDENTITY,
        delivery=Delivery(batch_size=7, compress=False),
        retry=Retry(max_retries=0),
        dead_letter=DeadLetter(dlq_path=None),
    ) as logger:
        assert logger.config.delivery == Delivery(batch_size=7, compress=False)
        assert logger.config.retry.max_retries == 0
        assert logger.config.dead_letter.dlq_path is None


def test_flat_keywords_fill_the_groups() -> None:
    """1.2.0's flat keywords still work and land in their group."""
    with TraceHubLogger(**IDENTITY, batch_size=9, max_retries=1, dlq_path=None) as logger:
        assert logger.config.delivery.batch_size == 9
        assert logger.config.retry.max_retries == 1
        assert logger.config.dead_letter == DeadLetter(dlq_path=None)


def test_an_option_given_both_ways_is_refused() -> None:
    """A flat keyword and the same option in its group object is ambiguous: an error."""
    with pytest.raises(TraceHubConfigError, match="batch_size given twice"):
        TraceHubLogger(**IDENTITY, dlq_path=None, batch_size=3, delivery=Delivery(batch_size=9))


def test_the_docs_table_lists_every_option() -> None:
    """docs/sdk/configuration.md renders the generated table: every option, its default."""
    path = ROOT / "docs" / "hooks" / "reference.py"
    spec = importlib.util.spec_from_file_location("docs_reference_sdk", path)
    assert spec is not None
    assert spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    page = (ROOT / "docs" / "sdk" / "configuration.md").read_text(encoding="utf-8")
    assert "<!-- reference: sdk-options -->" in page
    table = reference.render(page)
    for keyword, item in OPTIONS:
        assert f"| `{item.name}` | `{keyword}=" in table
