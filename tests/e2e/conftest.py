"""Fixtures of the browser tests: a real `rolefit serve` of the session champion and Debian's Chromium,
each made once per test module and stopped at its end."""

import pytest

from .helpers import chromium, rolefit_serve


@pytest.fixture(scope="module")
def site(champion, tmp_path_factory):
    with rolefit_serve(champion[1], tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance
