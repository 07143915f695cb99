"""TRL's `DPOTrainer` with the per-pair losses of `codepref.train.losses` in place of its own.

Everything but the loss is TRL's: tokenization, batching, the reference model (or, with LoRA, the adapter
switched off), logging and saving. The pair records' extra fields (`confidence`, `preference`, SAMI's
`counter_prompt`) survive TRL's column pruning and arrive in each batch as tensors; `_compute_loss` computes
the policy's (and, where the loss needs it, the reference's) completion log-probabilities the way TRL does
and hands them to the loss.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from codepref.train.losses import (
    LOSS_COLUMNS,
    LossOptions,
    irepo_loss,
    margin_loss,
    noise_aware_dpo_loss,
    sami_loss,
)

FLOAT_COLUMNS = ("confidence", "preference")


class PerPairCollator(DataCollatorForPreference):
    """TRL's preference batch, plus the per-pair floats and, for SAMI, the responses under the counter-principle."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().torch_call(examples)
        for column in FLOAT_COLUMNS:
            if column in examples[0]:
                batch[column] = torch.tensor([float(e[column]) for e in examples], dtype=torch.float32)
        if "counter_prompt_ids" in examples[0]:
            swapped = [{**e, "prompt_ids": e["counter_prompt_ids"]} for e in examples]
            counter = super().torch_call(swapped)
            batch.update(
                {f"counter_{key}": counter[key] for key in ("input_ids", "attention_mask", "completion_mask")}
            )
        return batch


class PerPairLossTrainer(DPOTrainer):
    def __init__(self, *args: Any, loss: str, loss_options: LossOptions, **kwargs: Any) -> None:
        self.per_pair_loss = loss
        self.loss_options = loss_options
        trl_args = kwargs["args"]
        kwargs["data_collator"] = PerPairCollator(
            pad_token_id=kwargs["processing_class"].pad_token_id,
            max_length=trl_args.max_length,
            truncation_mode=trl_args.truncation_mode,
            pad_to_multiple_of=trl_args.pad_to_multiple_of,
        )
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        if self.per_pair_loss == "sami":
            tokenizer = self._tokenizer

            def tokenize_counter(example: dict[str, Any]) -> dict[str, Any]:
                return {"counter_prompt_ids": tokenizer(example["counter_prompt"])["input_ids"]}

            dataset = dataset.map(tokenize_counter)
        return dataset

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        extra = [c for c in LOSS_COLUMNS[self.per_pair_loss] if c != "counter_prompt"]
        if self.per_pair_loss == "sami":
            extra.append("counter_prompt_ids")
        self._signature_columns = [*self._signature_columns, *extra]

    def _completion_logps(
        self, model: Any, input_ids: Any, attention_mask: Any, completion_mask: Any
    ) -> tuple:
        """Summed and mean completion log-probabilities, through TRL's fused LM head (no full logits)."""
        labels = input_ids.masked_fill(completion_mask == 0, -100)
        outputs = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            labels=labels,
            use_cache=False,
            fused_lm_head=True,
        )
        shift_mask = completion_mask[..., 1:]
        per_token = outputs.log_probs[:, -shift_mask.size(1) :] * shift_mask
        total = per_token.sum(dim=1)
        return total, total / shift_mask.sum(dim=1).clamp(min=1)

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        mode = "train" if self.model.training else "eval"
        total, mean = self._completion_logps(
            model, inputs["input_ids"], inputs["attention_mask"], inputs["completion_mask"]
        )
        chosen_total, rejected_total = total.chunk(2)
        chosen_mean, rejected_mean = mean.chunk(2)
        options = self.loss_options
        if self.per_pair_loss == "margin":
            losses = margin_loss(
                chosen_mean, rejected_mean, self.beta, options.gamma, options.chosen_nll_weight
            )
            margins = chosen_mean - rejected_mean
        elif self.per_pair_loss == "sami":
            _, counter_mean = self._completion_logps(
                model,
                inputs["counter_input_ids"],
                inputs["counter_attention_mask"],
                inputs["counter_completion_mask"],
            )
            counter_chosen, counter_rejected = counter_mean.chunk(2)
            # rows: principle (the record's, its counter); columns: response (chosen, rejected)
            matrix = torch.stack(
                [
                    torch.stack([chosen_mean, rejected_mean], dim=1),
                    torch.stack([counter_chosen, counter_rejected], dim=1),
                ],
                dim=1,
            )
            losses = sami_loss(matrix)
            margins = (chosen_mean - counter_chosen) + (counter_rejected - rejected_mean)
        else:
            chosen_logratios, rejected_logratios = self._logratios(
                model, inputs, chosen_total, rejected_total
            )
            if self.per_pair_loss == "noise_aware_dpo":
                losses = noise_aware_dpo_loss(
                    chosen_logratios, rejected_logratios, inputs["confidence"], self.beta
                )
            else:
                losses = irepo_loss(
                    chosen_logratios,
                    rejected_logratios,
                    inputs["preference"],
                    self.beta,
                    options.preference_floor,
                )
            margins = self.beta * (chosen_logratios - rejected_logratios)
        margins = self.accelerator.gather(margins.detach())
        self._metrics[mode]["rewards/margins"].append(margins.mean().item())
        self._metrics[mode]["rewards/accuracies"].append((margins > 0).float().mean().item())
        self._metrics[mode]["logps/chosen"].append(
            self.accelerator.gather(chosen_total.detach()).mean().item()
        )
        self._metrics[mode]["logps/rejected"].append(
            self.accelerator.gather(rejected_total.detach()).mean().item()
        )
        loss = losses.mean()
        return (loss, None) if return_outputs else loss

    def _logratios(self, model: Any, inputs: dict[str, Any], chosen: Any, rejected: Any) -> tuple[Any, Any]:
        if self.precompute_ref_logps:
            reference = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:
            sequences = {key: inputs[key] for key in ("input_ids", "attention_mask", "completion_mask")}
            reference = self.compute_ref_log_probs(
                self.ref_model if self.ref_model is not None else model, sequences
            )
        return chosen - reference[0], rejected - reference[1]
