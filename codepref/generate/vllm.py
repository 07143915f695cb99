"""`VLLMGenerator`: sampling with vLLM's offline engine (`LLM.generate` with `SamplingParams(n=...)`).

vLLM is the optional `gpu` extra (`pip install 'codepref[gpu]'`, pinned in pyproject.toml); it is imported
only when a `VLLMGenerator` is built, so everything else runs without it.
"""

from __future__ import annotations

from typing import Any

from codepref.generate import Completion, GenerationRequest, Generator, GeneratorInfo


class VLLMGenerator(Generator):
    """One vLLM engine per generator; build it once and reuse it across requests (startup takes a while).

    `tensor_parallel_size` shards the model over that many GPUs; `gpu_memory_utilization` is the share of
    each GPU's memory vLLM may claim (weights + KV cache), so leave room when training shares the GPU.
    """

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.85,
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        enable_prefix_caching: bool = True,  # n samples of one prompt share its KV cache
        trust_remote_code: bool = False,
        **engine_args: Any,
    ) -> None:
        try:
            from vllm import LLM
        except ImportError as err:
            raise ImportError(
                "VLLMGenerator needs vLLM: pip install 'codepref[gpu]' (or use the 'hf' generator backend)"
            ) from err
        self.llm = LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            dtype=dtype,
            max_model_len=max_model_len,
            seed=seed,
            enable_prefix_caching=enable_prefix_caching,
            trust_remote_code=trust_remote_code,
            **engine_args,
        )
        self.info = GeneratorInfo(
            backend="vllm",
            model=model,
            device="cuda",
            extra={
                "tensor_parallel_size": tensor_parallel_size,
                "gpu_memory_utilization": gpu_memory_utilization,
            },
        )

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(
            n=request.n,
            temperature=request.temperature,
            top_p=request.top_p if request.temperature > 0 else 1.0,
            max_tokens=request.max_tokens,
            stop=list(request.stop) or None,
            seed=request.seed,
            logprobs=0 if request.logprobs else None,  # 0: only the sampled token's log-probability
        )
        outputs = self.llm.generate(list(request.prompts), params, use_tqdm=False)
        return [[_completion(sample, request.logprobs) for sample in out.outputs] for out in outputs]

    def close(self) -> None:
        import gc

        import torch

        # vLLM frees its workers and KV cache when the engine is garbage-collected.
        del self.llm
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _completion(sample: Any, want_logprobs: bool) -> Completion:
    """A vLLM `CompletionOutput` as a `Completion` (vLLM already cuts the text before the stop string)."""
    token_ids = list(sample.token_ids)
    logprobs = None
    if want_logprobs and sample.logprobs is not None:
        logprobs = [step[token].logprob for step, token in zip(sample.logprobs, token_ids, strict=False)]
    finish = "length" if sample.finish_reason == "length" else "stop"
    return Completion(
        text=sample.text, finish_reason=finish, num_tokens=len(token_ids), token_logprobs=logprobs
    )
