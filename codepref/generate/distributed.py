"""`RayGenerator`: data-parallel sampling over a Ray cluster, one generator engine per node (or per GPU).

    with make_generator("ray", model, engine="vllm", address="HEAD:6379", gpus_per_engine=1) as generator:
        per_prompt = generator.generate(request)

Each engine is an `HFGenerator` or `VLLMGenerator` inside a Ray actor pinned to its node; a request's
prompts are cut into one contiguous shard per engine, sampled at once, and put back in prompt order, so the
result is what one generator returns. A fixed seed is offset per shard, so shards do not repeat each
other's random streams and the same request on the same engines gives the same samples.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from codepref.generate.base import Completion, GenerationRequest, Generator, GeneratorInfo
from codepref.generate.engines import make_engine
from codepref.sandbox.ray_backend import connect, live_nodes, on_node


class EngineActor:
    """One generator engine on one node."""

    def __init__(self, engine: str, model: str, options: dict[str, Any]) -> None:
        self.generator = make_engine(engine, model, **options)

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        return self.generator.generate(request)

    def device(self) -> str:
        return self.generator.info.device


class RayGenerator(Generator):
    """`engines_per_node` engines on every live node with CPUs (with `gpus_per_engine` GPUs each, if set)."""

    def __init__(
        self,
        model: str,
        engine: str = "auto",
        address: str | None = None,
        engines_per_node: int = 1,
        gpus_per_engine: float = 0,
        **engine_options: Any,
    ) -> None:
        import ray

        self._ray = ray
        self._owns_connection = connect(address)
        actor_class = ray.remote(EngineActor)
        self.engines = [
            actor_class.options(
                num_cpus=1, num_gpus=gpus_per_engine, scheduling_strategy=on_node(node)
            ).remote(engine, model, engine_options)
            for node in live_nodes()
            for _ in range(engines_per_node)
        ]
        if not self.engines:
            raise RuntimeError("the Ray cluster has no live node with CPUs to run a generator on")
        devices = ray.get(
            [e.device.remote() for e in self.engines]
        )  # every engine built, or its error raised
        self.info = GeneratorInfo(
            backend="ray",
            model=model,
            device=",".join(sorted(set(devices))),
            extra={"engines": len(self.engines)},
        )

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        shards = _shards(len(request.prompts), len(self.engines))
        calls = [
            engine.generate.remote(
                replace(
                    request,
                    prompts=request.prompts[start:stop],
                    seed=None if request.seed is None else request.seed + index,
                )
            )
            for index, (engine, (start, stop)) in enumerate(zip(self.engines, shards, strict=False))
            if stop > start
        ]
        return [samples for shard in self._ray.get(calls) for samples in shard]

    def close(self) -> None:
        for engine in self.engines:
            self._ray.kill(engine)
        self.engines = []
        if self._owns_connection:
            self._ray.shutdown()


def _shards(count: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous (start, stop) ranges over `count` items, sizes differing by at most one."""
    size, extra = divmod(count, parts)
    bounds, start = [], 0
    for part in range(parts):
        stop = start + size + (part < extra)
        bounds.append((start, stop))
        start = stop
    return bounds
