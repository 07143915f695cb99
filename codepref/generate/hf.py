"""`HFGenerator`: sampling with transformers' `generate`, batched, on CPU or one GPU."""

from __future__ import annotations

from typing import Any

from codepref.generate.base import Completion, GenerationRequest, Generator, GeneratorInfo
from codepref.tasks.extract import tokens_covering, truncate_at_stop


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str, dtype: str = "auto") -> Any:
    """bfloat16 on a GPU that supports it, float32 elsewhere (CPU bf16 matmuls are slow and lossy)."""
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class HFGenerator(Generator):
    """Batched sampling with `model.generate`.

    `batch_size` bounds the sequences decoded together (prompts x n); prompts are grouped by length to
    waste little padding. With a fixed `seed`, the same request gives the same completions (for the same
    batch size and device).
    """

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        trust_remote_code: bool = False,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = pick_device(device)
        self.batch_size = max(1, batch_size)
        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        self.tokenizer.padding_side = "left"  # decoder-only: the continuation must follow the prompt directly
        if self.tokenizer.pad_token is None:
            if self.tokenizer.eos_token is None:
                raise ValueError(f"{model}: the tokenizer has neither a pad nor an eos token")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            model, dtype=pick_dtype(self.device, dtype), trust_remote_code=trust_remote_code
        ).to(self.device)
        self.model.eval()
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.info = GeneratorInfo(
            backend="hf",
            model=model,
            device=self.device,
            extra={"dtype": str(self.model.dtype), "batch_size": self.batch_size},
        )

    def generate(self, request: GenerationRequest) -> list[list[Completion]]:
        import torch
        from transformers import set_seed

        if not request.prompts:
            return []
        if request.seed is not None:
            set_seed(request.seed)
        results: list[list[Completion] | None] = [None] * len(request.prompts)
        for batch in self._batches(request):
            with torch.inference_mode():
                completions = self._generate_batch([request.prompts[i] for i in batch], request)
            for position, index in enumerate(batch):
                results[index] = completions[position * request.n : (position + 1) * request.n]
        return [r if r is not None else [] for r in results]

    def close(self) -> None:
        import gc

        import torch

        del self.model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- internals ---------------------------------------------------------------------------------------

    def _batches(self, request: GenerationRequest) -> list[list[int]]:
        """Prompt indices grouped by token length, at most `batch_size // n` prompts (>= 1) per batch."""
        lengths = [len(ids) for ids in self.tokenizer(list(request.prompts))["input_ids"]]
        order = sorted(range(len(request.prompts)), key=lambda i: lengths[i])
        per_batch = max(1, self.batch_size // request.n)
        return [order[i : i + per_batch] for i in range(0, len(order), per_batch)]

    def _generate_batch(self, prompts: list[str], request: GenerationRequest) -> list[Completion]:
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        greedy = request.temperature == 0
        sampling: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if not greedy:
            sampling = {
                "do_sample": True,
                "temperature": request.temperature,
                "top_p": request.top_p,
                "top_k": None,
            }
        output = self.model.generate(
            **encoded,
            **sampling,
            max_new_tokens=request.max_tokens,
            num_return_sequences=1 if greedy else request.n,  # greedy: decode once, copy below
            stop_strings=list(request.stop) or None,
            tokenizer=self.tokenizer,  # needed by stop_strings
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.eos_ids,
            return_dict_in_generate=True,
            output_logits=request.logprobs,
        )
        new_tokens = output.sequences[:, encoded["input_ids"].shape[1] :]
        logprobs = _sampled_logprobs(output.logits, new_tokens) if request.logprobs else None
        completions = [
            self._completion(new_tokens[row].tolist(), request, None if logprobs is None else logprobs[row])
            for row in range(new_tokens.shape[0])
        ]
        if greedy:
            completions = [Completion.from_dict(c.to_dict()) for c in completions for _ in range(request.n)]
        return completions

    def _completion(
        self, tokens: list[int], request: GenerationRequest, logprobs: list[float] | None
    ) -> Completion:
        end = next((i for i, t in enumerate(tokens) if t in self.eos_ids), None)
        finish = "stop" if end is not None else "length"
        tokens = tokens[:end] if end is not None else tokens
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, request.stop)
        if stopped:
            finish = "stop"
            tokens = tokens[: tokens_covering(self.tokenizer, tokens, len(text))]
        kept = logprobs[: len(tokens)] if logprobs is not None else None
        return Completion(text=text, finish_reason=finish, num_tokens=len(tokens), token_logprobs=kept)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every end-of-sequence id the model declares (instruct models often have several), plus the tokenizer's."""
    declared = model.generation_config.eos_token_id
    ids = set(declared if isinstance(declared, list) else [declared] if declared is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return sorted(ids)


def _sampled_logprobs(step_logits: Any, tokens: Any) -> list[list[float]]:
    """Log-probability of each generated token under the raw model logits, step by step (never the whole
    (batch, steps, vocab) tensor at once)."""
    import torch

    columns = []
    for step, logits in enumerate(step_logits):
        logp = torch.log_softmax(logits.float(), dim=-1)
        columns.append(logp.gather(1, tokens[:, step : step + 1]).squeeze(1))
    return torch.stack(columns, dim=1).tolist() if columns else [[] for _ in range(tokens.shape[0])]
