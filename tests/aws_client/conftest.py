"""The fixtures of the AWS client tests: one server per test module."""

import pytest

from harness import ADMIN, Server


@pytest.fixture(scope="module")
def server():
    s = Server("--admin-token", ADMIN)
    yield s
    s.stop()
