"""Options and fixtures of the API fuzzer.

The suite runs a bounded, derandomized fuzz: about 300 requests per backend, the same ones on every run (as far as
the service answers the same), so CI is reproducible. ``--fuzz-examples N`` runs about N requests per backend
from a random seed, which is printed: ``--fuzz-examples N --fuzz-seed S`` replays that run. These options exist
when tests/fuzz (or a file in it) is named on the command line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from tests.conftest import Service, ServiceFactory
from tests.fuzz.machine import SERVICE_TOKEN, TRUSTED_PROXIES

# Requests per backend in the suite: enough for every operation to get several shares and for the stateful walk
# to create, use, rotate and revoke keys; small enough to stay well under a minute for both backends.
BOUNDED_REQUESTS = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fuzz", "API fuzzing (tests/fuzz)")
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="requests per backend, random seed (default: a bounded, fixed run)",
    )
    group.addoption(
        "--fuzz-seed", type=int, default=None, help="replay a run: the seed a previous --fuzz-examples run printed"
    )


@dataclass(frozen=True)
class FuzzBudget:
    requests: int
    derandomize: bool
    seed: int | None


@pytest.fixture
def fuzz_budget(request: pytest.FixtureRequest) -> FuzzBudget:
    examples = request.config.getoption("fuzz_examples", default=None)
    seed = request.config.getoption("fuzz_seed", default=None)
    if examples is None and seed is None:
        return FuzzBudget(BOUNDED_REQUESTS, derandomize=True, seed=None)
    return FuzzBudget(
        examples or BOUNDED_REQUESTS, derandomize=False, seed=seed if seed is not None else random.randrange(2**32)
    )


@pytest.fixture
async def fuzz_service(make_service: ServiceFactory, database_url: str) -> Service:
    """The app on the parametrized backend, with the conftest's peer address as a trusted proxy (so generated
    X-Forwarded-For hops are believed and reach the audit log), a service token, and a quick usage flush (so
    writes of buffered usage happen, and can fail, during the run). The allowance for refused credentials is
    raised: a fifth of the generated requests carry a wrong token, and with the default allowance the fuzzer's
    own addresses would be throttled within seconds, leaving every later request a 429 that tests nothing."""
    return await make_service(
        database_url,
        trusted_proxies=TRUSTED_PROXIES,
        service_tokens=SERVICE_TOKEN,
        usage_flush_interval=0.2,
        auth_failure_burst=10_000,
        auth_failure_per_hour=1_000_000,
    )
