"""Both sandbox backends as one pytest parameter, for the test files that check a behaviour on each.

No skip: a machine without Docker or bubblewrap fails these tests (CI installs both)."""

from __future__ import annotations

import pytest

from codepref.sandbox import Job, Limits, Sandbox, Verdict

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), "process"]


def open_sandbox(request: pytest.FixtureRequest, limits: Limits) -> Sandbox:
    """A one-worker sandbox on the backend `request.param` names (Docker's image built first)."""
    if request.param == "docker":
        request.getfixturevalue("docker_image")
    return Sandbox(backend=request.param, workers=1, limits=limits)


def run(sandbox: Sandbox, program: str, tests=(), **options) -> Verdict:
    return sandbox.run(Job(program, tuple(tests), **options))
