"""Shared test set-up: Docker availability and the sandbox image.

Tests marked `docker` need a running engine and the sandbox image. Locally they are skipped when the engine
is unreachable; under CI (CODEPREF_REQUIRE_DOCKER=1, set by .ci/run) a missing engine is an error instead,
so a broken CI machine can never pass by skipping.
"""

from __future__ import annotations

import os

import pytest

from codepref.sandbox.backends import BackendUnavailable, docker_client
from codepref.sandbox.image import build_image


@pytest.fixture(scope="session")
def docker_image() -> str:
    try:
        client = docker_client()
    except BackendUnavailable as exc:
        if os.environ.get("CODEPREF_REQUIRE_DOCKER") == "1":
            pytest.fail(f"Docker is required here: {exc}")
        pytest.skip(str(exc))
    return build_image(client)


@pytest.fixture(autouse=True)
def _docker_for_marked_tests(request) -> None:
    if request.node.get_closest_marker("docker"):
        request.getfixturevalue("docker_image")
