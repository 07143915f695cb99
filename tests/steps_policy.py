"""A policy for the step tests: a real `Generator` whose continuations of each prefix are fixed texts, so
values and trees can be computed by hand, and the toy problem they continue with its hidden tests.
Everything else the tests run (the sandbox above all) is real."""

from __future__ import annotations

from codepref.generate.base import Completion, GenerationRequest, Generator, GeneratorInfo
from codepref.tasks.problem import Problem

DOUBLE_PROMPT = "def double(x):\n"
DOUBLE_HIDDEN = Problem(
    task_id="toy/double",
    benchmark="synth-validation",
    prompt=DOUBLE_PROMPT,
    entry_point="double",
    canonical_solution="    return x * 2\n",
    test_list=("assert double(3) == 6", "assert double(0) == 0"),
)


class Killed(RuntimeError):
    """The policy's process "died": raised instead of sampling past `dies_after` rollouts."""


class ScriptedPolicy(Generator):
    """Continues a prefix with its texts in turn (cycling); `dies_after`: rollouts it samples before it
    raises `Killed`."""

    def __init__(self, texts: dict[str, list[str]], dies_after: int | None = None) -> None:
        self.info = GeneratorInfo(backend="scripted", model="scripted")
        self.texts, self.dies_after = texts, dies_after
        self.cursor = dict.fromkeys(texts, 0)
        self.sampled = 0

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        if self.dies_after is not None and self.sampled + request.n * len(request.prompts) > self.dies_after:
            raise Killed(f"killed after {self.sampled} rollouts")
        out = []
        for prompt in request.prompts:
            texts = self.texts[prompt]
            picked = [texts[(self.cursor[prompt] + i) % len(texts)] for i in range(request.n)]
            self.cursor[prompt] += request.n
            out.append([Completion(text, "stop", len(text.split())) for text in picked])
        self.sampled += request.n * len(request.prompts)
        return out
