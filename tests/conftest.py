"""Shared test set-up: Docker availability, the sandbox image, the tiny local model, and benchmark scripts.

Tests marked `docker` need a running engine and the sandbox image. Locally they are skipped when the engine
is unreachable; under CI (CODEPREF_REQUIRE_DOCKER=1, set by .ci/run) a missing engine is an error instead,
so a broken CI machine can never pass by skipping.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from codepref.generate.tiny import VLLM_CPU_SPEC, TinyModelSpec, cached_tiny_model
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


def _tiny_model_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tiny models are built: pytest's cache directory (once per machine, keyed by the builder's spec)."""
    cache = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`: build per session
    return cache.mkdir("codepref-tiny-model") if cache is not None else tmp_path_factory.mktemp("tiny-model")


@pytest.fixture(scope="session")
def tiny_model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 model and locally trained tokenizer (`from_pretrained`-ready); treat it as read-only."""
    return cached_tiny_model(_tiny_model_root(request, tmp_path_factory), TinyModelSpec())


@pytest.fixture(scope="session")
def vllm_tiny_model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model at the smallest size vLLM's CPU kernels take (head size 32); treat it as read-only."""
    return cached_tiny_model(_tiny_model_root(request, tmp_path_factory), VLLM_CPU_SPEC)


@pytest.fixture(scope="session")
def tiny_judge_model(tiny_model_dir: Path):
    """The tiny model loaded once for the judges' tests (`codepref.model_judges.lm.JudgeModel`, CPU)."""
    from codepref.model_judges.lm import JudgeModel

    return JudgeModel(str(tiny_model_dir), device="cpu", batch_size=4)


@pytest.fixture(scope="session")
def benchmark_script():
    """Loads a script of benchmarks/ by file name (they are scripts, not a package) once per session."""
    loaded: dict[str, ModuleType] = {}
    scripts = Path(__file__).parents[1] / "benchmarks"
    if str(scripts) not in sys.path:  # as `python benchmarks/NAME.py` has it: a script imports its siblings
        sys.path.append(str(scripts))

    def load(name: str) -> ModuleType:
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, scripts / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses in it look their module up there
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
