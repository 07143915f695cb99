"""One causal LM shared by the model-reading judges: batched forward passes and batched sampling.

`JudgeModel` loads a model once (through `HFGenerator`, so sampling is the same code as `codepref generate`)
and adds the two measurements judges need, each in batches of `batch_size` sequences:

  * `next_token_logprobs(contexts, token_ids)`: log-probabilities of a few candidate next tokens (answer
    labels, score digits) after each context; one forward pass per batch, no sampling.
  * `completion_logprobs(contexts, completions)`: summed log-probability and token count of each completion
    given its context (perplexities, implicit rewards).

Instruction prompts go through the tokenizer's chat template when it has one, so an instruct model sees the
format it was tuned on; a base model sees the plain text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codepref.generate import GenerationRequest
from codepref.generate.hf import HFGenerator


@dataclass(frozen=True)
class SequenceLogprob:
    total: float  # sum of the completion tokens' log-probabilities
    tokens: int  # completion tokens counted

    @property
    def mean(self) -> float:
        """Mean per-token log-probability (minus the log-perplexity); 0 for an empty completion."""
        return self.total / self.tokens if self.tokens else 0.0


class JudgeModel:
    """A causal LM loaded once for judging: scoring passes in batches, sampling through `HFGenerator`."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", batch_size: int = 8) -> None:
        self.path = model
        self.generator = HFGenerator(model, device=device, dtype=dtype, batch_size=batch_size)
        self.model = self.generator.model
        self.tokenizer = self.generator.tokenizer
        self.batch_size = max(1, batch_size)

    # --- text -------------------------------------------------------------------------------------------

    def instruction(self, text: str) -> str:
        """`text` as a user turn ready for the assistant's reply (chat template), or as-is for a base model."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
        return text

    def label_token_ids(self, labels: Sequence[str]) -> list[int]:
        """The first token of each label as it follows the assistant turn; labels must start differently."""
        ids = []
        for label in labels:
            encoded = self.tokenizer(label, add_special_tokens=False)["input_ids"]
            if not encoded:
                raise ValueError(f"label {label!r} encodes to no tokens")
            ids.append(encoded[0])
        if len(set(ids)) != len(ids):
            raise ValueError(f"labels {list(labels)} share a first token under this tokenizer")
        return ids

    # --- forward passes ---------------------------------------------------------------------------------

    def next_token_logprobs(self, contexts: Sequence[str], token_ids: Sequence[int]) -> Any:
        """(len(contexts), len(token_ids)) array: log-probability of each token right after each context."""
        import numpy as np
        import torch

        rows = []
        self.tokenizer.padding_side = "left"  # the last position is each context's own end
        for start in range(0, len(contexts), self.batch_size):
            batch = list(contexts[start : start + self.batch_size])
            encoded = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False)
            encoded = encoded.to(self.model.device)
            with torch.inference_mode():
                logits = self.model(**encoded).logits[:, -1, :].float()
            logp = torch.log_softmax(logits, dim=-1)[:, list(token_ids)]
            rows.append(logp.cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, len(token_ids)))

    def completion_logprobs(
        self, contexts: Sequence[str], completions: Sequence[str]
    ) -> list[SequenceLogprob]:
        """Log-probability of each completion given its context, right-padded batches."""
        import torch

        if len(contexts) != len(completions):
            raise ValueError("completion_logprobs needs one context per completion")
        pad_id = self.tokenizer.pad_token_id
        results: list[SequenceLogprob] = []
        for start in range(0, len(contexts), self.batch_size):
            pieces = [
                self._split_ids(context, completion)
                for context, completion in zip(
                    contexts[start : start + self.batch_size],
                    completions[start : start + self.batch_size],
                    strict=True,
                )
            ]
            width = max(len(p) + len(c) for p, c in pieces)
            ids = torch.full((len(pieces), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(pieces), width), dtype=torch.long)
            counted = torch.zeros((len(pieces), width), dtype=torch.bool)
            for row, (prompt_ids, completion_ids) in enumerate(pieces):
                full = prompt_ids + completion_ids
                ids[row, : len(full)] = torch.tensor(full)
                attention[row, : len(full)] = 1
                counted[row, len(prompt_ids) : len(full)] = True
            ids, attention = ids.to(self.model.device), attention.to(self.model.device)
            with torch.inference_mode():
                logits = self.model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
            token_logp = torch.log_softmax(logits, dim=-1).gather(2, ids[:, 1:, None]).squeeze(2).cpu()
            mask = counted[:, 1:]
            for row in range(len(pieces)):
                results.append(SequenceLogprob(float(token_logp[row][mask[row]].sum()), int(mask[row].sum())))
        return results

    def _split_ids(self, context: str, completion: str) -> tuple[list[int], list[int]]:
        """Context and completion token ids, split where the tokenized context stops being a prefix (BPE may
        merge across the boundary); a first token is kept as context so it always has a predecessor."""
        context_ids = self.tokenizer(context, add_special_tokens=False)["input_ids"]
        full_ids = self.tokenizer(context + completion, add_special_tokens=False)["input_ids"]
        shared = 0
        for a, b in zip(context_ids, full_ids, strict=False):
            if a != b:
                break
            shared += 1
        shared = max(shared, 1)
        return full_ids[:shared], full_ids[shared:]

    # --- sampling ---------------------------------------------------------------------------------------

    def sample(
        self,
        contexts: Sequence[str],
        *,
        n: int = 1,
        max_tokens: int = 128,
        temperature: float = 0.0,
        seed: int | None = 0,
        stop: Sequence[str] = (),
    ) -> list[list[str]]:
        """`n` completions per context (greedy at temperature 0); seeded, so repeatable on one machine."""
        if not contexts:
            return []
        request = GenerationRequest(
            prompts=tuple(contexts),
            n=n,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            stop=tuple(stop),
        )
        return [[c.text for c in per_prompt] for per_prompt in self.generator.generate(request)]
