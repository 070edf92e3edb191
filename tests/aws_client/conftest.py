"""The fixtures of the AWS client tests: one server per test module."""

import pytest

from harness import Server


@pytest.fixture(scope="module")
def server():
    s = Server("--admin-token", "aws-client-admin")
    yield s
    s.stop()
