"""An OpenAPI-driven fuzz run (schemathesis) against the whole API as an admin: whatever
the input, no answer is a server error, and every error is problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 10
"""Generated cases per operation."""
pytestmark = pytest.mark.filterwarnings(
    "ignore::hypothesis.errors.HypothesisDeprecationWarning"  # inside schemathesis
)


def problem_json(_ctx: Any, response: Any, _case: Any) -> bool | None:
    """Every 4xx/5xx answer is ``application/problem+json``."""
    if response.status_code >= 400:
        kind = response.headers.get("content-type", [""])
        kind = kind[0] if isinstance(kind, list) else kind
        assert kind.startswith("application/problem+json"), f"{response.status_code}: {kind}"
    return None


def test_no_generated_request_makes_a_server_error(api_schema: Any, tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['ada']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, problem_json])

        fuzz()
