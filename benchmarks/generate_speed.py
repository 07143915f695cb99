"""Generated tokens per second: vLLM (PyPI's CPU build, or CUDA) vs transformers' `generate`, same run.

Both sample `n` completions of the same solution prompts (HumanEval's, or `--benchmark`'s as the loop sends
them) from the same model with the same settings; the rate counts the tokens each kept (after
end-of-sequence), over the wall time of the `generate` calls only (engine start is printed apart: vLLM's is
much longer). Without --model it builds the small random Qwen2 the tests use (2 layers, hidden 64, head
size 32, the smallest vLLM's CPU kernels take), so the figure is the engines' own overhead rather than
model arithmetic; pass a real model directory for real figures.

    python benchmarks/generate_speed.py [--model DIR] [--benchmark humaneval] [--prompts 16] [-n 4]
        [--max-tokens 64] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from codepref.data import load_problems
from codepref.generate import GenerationRequest, Generator
from codepref.generate.sampling import problem_prompt


def timed(build, request: GenerationRequest, rounds: int) -> dict[str, Any]:
    started = time.perf_counter()
    generator: Generator = build()
    ready = time.perf_counter()
    with generator:
        generator.generate(GenerationRequest(prompts=request.prompts[:1], n=1, max_tokens=4))  # warm-up
        best = None
        for _ in range(rounds):
            begin = time.perf_counter()
            result = generator.generate(request)
            elapsed = time.perf_counter() - begin
            tokens = sum(c.num_tokens for samples in result for c in samples)
            if best is None or tokens / elapsed > best["tokens_per_s"]:
                best = {"tokens": tokens, "seconds": elapsed, "tokens_per_s": tokens / elapsed}
    return {"start_s": round(ready - started, 1), **best}


def measure(
    model: str | None,
    benchmark: str,
    prompts: int,
    n: int,
    max_tokens: int,
    rounds: int,
    hf_batch_size: int | None = None,
) -> dict[str, Any]:
    from codepref.generate.hf import HFGenerator
    from codepref.generate.vllm import VLLMGenerator

    if model is None:
        from codepref.generate.tiny import VLLM_CPU_SPEC, cached_tiny_model

        model = str(cached_tiny_model(Path(tempfile.gettempdir()) / "codepref-bench-models", VLLM_CPU_SPEC))
    texts = tuple(problem_prompt(problem).text for problem in load_problems(benchmark)[:prompts])
    request = GenerationRequest(prompts=texts, n=n, max_tokens=max_tokens, temperature=0.8, seed=0)
    vllm = timed(lambda: VLLMGenerator(model, dtype="float32", max_model_len=2048), request, rounds)
    batch = hf_batch_size or prompts * n
    hf = timed(lambda: HFGenerator(model, dtype="float32", batch_size=batch), request, rounds)
    return {
        "model": model,
        "benchmark": benchmark,
        "prompts": prompts,
        "n": n,
        "max_tokens": max_tokens,
        "vllm_tokens_per_s": round(vllm["tokens_per_s"], 1),
        "hf_tokens_per_s": round(hf["tokens_per_s"], 1),
        "vllm_over_hf": round(vllm["tokens_per_s"] / hf["tokens_per_s"], 2),
        "vllm_start_s": vllm["start_s"],
        "hf_start_s": hf["start_s"],
        "vllm_tokens": vllm["tokens"],
        "hf_tokens": hf["tokens"],
        "hf_batch_size": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model directory (default: the small random Qwen2 built here)")
    parser.add_argument("--benchmark", default="humaneval", help="whose solution prompts (codepref.data)")
    parser.add_argument("--prompts", type=int, default=16, help="how many of them, from the first")
    parser.add_argument("-n", type=int, default=4, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--rounds", type=int, default=2, help="timed generate calls per engine; the best counts"
    )
    parser.add_argument(
        "--hf-batch-size",
        type=int,
        default=None,
        help="sequences per HF generate batch (default: every prompt's n samples in one batch); "
        "benchmarks/expert_iteration.py samples its pools in batches of 160",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    report = measure(
        args.model, args.benchmark, args.prompts, args.n, args.max_tokens, args.rounds, args.hf_batch_size
    )
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:20} {value}")


if __name__ == "__main__":
    main()
