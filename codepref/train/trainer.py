"""Preference fine-tuning with TRL: `DPOTrainer` for paired losses, `KTOTrainer` for unpaired ones.

Input: a pairs file (JSONL or parquet) in TRL's preference format, `prompt`/`chosen`/`rejected` (plus any
metadata columns, which are dropped), or unpaired `prompt`/`completion`/`label` for KTO (paired files are
unpaired by TRL for KTO). Output, in OUT: the model (LoRA adapters merged unless `merge_lora: false`; the
adapter itself in OUT/adapter), the tokenizer, `train_config.json`, `training_log.jsonl` (one line per
logging step, written as training goes), `training_log.json` and `training_log.png`.

Multi-GPU is plain accelerate, as TRL users expect:

    accelerate launch --num_processes 4 -m codepref.train.cli --pairs pairs.jsonl --model M -o OUT
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codepref.records import read_records
from codepref.train.config import TrainConfig
from codepref.train.losses import LOSS_COLUMNS

PAIRED_COLUMNS = ("prompt", "chosen", "rejected")
UNPAIRED_COLUMNS = ("prompt", "completion", "label")


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    examples: int
    metrics: dict[str, Any] = field(
        default_factory=dict
    )  # trainer.train()'s summary (runtime, samples/s, loss)
    log_path: Path | None = None
    plot_path: Path | None = None


# --- data ------------------------------------------------------------------------------------------------


def read_preference_records(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSONL or parquet pairs file; a bad line is reported as `FILE:LINE: why`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such pairs file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [record for _, record in read_records(path)]


def preference_format(records: list[dict[str, Any]], path: str | Path) -> str:
    """ "paired" or "unpaired", after checking every record has that format's fields with the right types."""
    if not records:
        raise ValueError(f"{path}: no records to train on")
    paired = all(c in records[0] for c in PAIRED_COLUMNS)
    columns = PAIRED_COLUMNS if paired else UNPAIRED_COLUMNS
    for number, record in enumerate(records, 1):
        missing = [c for c in columns if c not in record]
        if missing:
            raise ValueError(
                f"{path}: record {number} lacks field(s) {', '.join(missing)}; a pairs file holds "
                f"{'/'.join(PAIRED_COLUMNS)} or {'/'.join(UNPAIRED_COLUMNS)} records"
            )
        for column in columns[:-1] if not paired else columns:
            if not isinstance(record[column], str):
                raise ValueError(f"{path}: record {number} field {column!r} must be a string")
        if not paired and record["label"] not in (True, False, 0, 1):
            raise ValueError(f"{path}: record {number} field 'label' must be true/false")
    return "paired" if paired else "unpaired"


def load_preference_dataset(path: str | Path, unpaired_loss: bool, loss_columns: tuple[str, ...] = ()) -> Any:
    """A `datasets.Dataset` with only the columns TRL trains on, plus those a per-pair loss reads."""
    from datasets import Dataset

    records = read_preference_records(path)
    kind = preference_format(records, path)
    if kind == "unpaired" and not unpaired_loss:
        raise ValueError(
            f"{path}: holds unpaired prompt/completion/label records; train them with --loss kto"
        )
    for number, record in enumerate(records, 1):
        missing = [c for c in loss_columns if record.get(c) is None]
        if missing:
            raise ValueError(
                f"{path}: record {number} lacks field(s) {', '.join(missing)}, which this loss reads"
            )
    columns = (PAIRED_COLUMNS + loss_columns) if kind == "paired" else UNPAIRED_COLUMNS
    rows = [{c: (bool(r[c]) if c == "label" else r[c]) for c in columns} for r in records]
    return Dataset.from_list(rows)


# --- device and TRL configuration -------------------------------------------------------------------------


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def device_supports_bf16() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def gradient_checkpointing_wanted(cfg: TrainConfig, model: Any) -> bool:
    import torch

    wanted = torch.cuda.is_available() if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    return bool(wanted and getattr(model, "supports_gradient_checkpointing", False))


def build_trl_config(cfg: TrainConfig, out_dir: Path, gradient_checkpointing: bool) -> Any:
    """`DPOConfig` or `KTOConfig` from our settings; TRL's own defaults for bf16 and gradient checkpointing
    (both on) are overridden so that they are used only where the device supports them."""
    from trl import DPOConfig, KTOConfig

    common: dict[str, Any] = {
        "output_dir": str(out_dir / "checkpoints"),
        "learning_rate": cfg.learning_rate,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "warmup_steps": cfg.warmup_steps,
        "lr_scheduler_type": cfg.lr_scheduler_type,
        "seed": cfg.seed,
        "logging_steps": cfg.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps" if cfg.save_steps > 0 else "no",
        "save_steps": cfg.save_steps if cfg.save_steps > 0 else 500,
        "save_total_limit": 2,
        "report_to": "none",
        "bf16": device_supports_bf16() if cfg.bf16 is None else cfg.bf16,
        "gradient_checkpointing": gradient_checkpointing,
        "max_length": cfg.max_length,
        "beta": cfg.beta,
        "loss_type": cfg.trl_loss_type,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": _cuda(),
    }
    if cfg.unpaired:
        common.update(desirable_weight=cfg.desirable_weight, undesirable_weight=cfg.undesirable_weight)
        config_cls = KTOConfig
    else:
        common.update(label_smoothing=cfg.label_smoothing)
        config_cls = DPOConfig
    common.update(cfg.trl)
    try:
        return config_cls(**common)
    except TypeError as err:
        raise ValueError(f"trl settings: {err}") from None


# --- models ----------------------------------------------------------------------------------------------


def load_tokenizer(model_path: str) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.eos_token is None:
        raise ValueError(f"{model_path}: the tokenizer has no eos token, which TRL appends to completions")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model_path: str, dtype: str) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))


def peft_config(cfg: TrainConfig) -> Any:
    from peft import LoraConfig

    assert cfg.lora is not None
    return LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )


# --- training --------------------------------------------------------------------------------------------


def train(
    pairs: str | Path,
    model_path: str,
    out_dir: str | Path,
    cfg: TrainConfig,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Fine-tune `model_path` on `pairs` and save everything under `out_dir` (see the module docstring).

    `callbacks` are extra `transformers.TrainerCallback`s (timers, early stopping, ...)."""
    from transformers.trainer_utils import get_last_checkpoint
    from trl import DPOTrainer, KTOTrainer

    from codepref.train.plot import JsonlLogCallback, write_training_log  # transformers, loaded with it

    out = Path(out_dir)
    dataset = load_preference_dataset(pairs, cfg.unpaired, LOSS_COLUMNS.get(cfg.loss, ()))
    tokenizer = load_tokenizer(model_path)
    model = load_model(model_path, cfg.model_dtype)
    args = build_trl_config(cfg, out, gradient_checkpointing_wanted(cfg, model))
    # The reference model is the starting policy, loaded explicitly. With LoRA there is none to load: TRL
    # computes reference log-probs with the adapter switched off, which is exactly the starting model.
    ref_model = None if cfg.lora else load_model(model_path, cfg.model_dtype)
    log_path = out / "training_log.jsonl"
    resume = (
        get_last_checkpoint(args.output_dir)
        if cfg.save_steps > 0 and Path(args.output_dir).is_dir()
        else None
    )
    if resume is None and args.process_index == 0:
        log_path.unlink(missing_ok=True)  # a fresh run: do not mix in the steps of an abandoned one
    trainer_cls = KTOTrainer if cfg.unpaired else DPOTrainer
    if cfg.per_pair:
        from codepref.train.loss_trainer import PerPairLossTrainer  # TRL, loaded with it

        trainer_cls = functools.partial(
            PerPairLossTrainer, loss=cfg.loss, loss_options=cfg.per_pair_options()
        )
    trainer = trainer_cls(
        model=model,
        ref_model=ref_model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(cfg) if cfg.lora else None,
        callbacks=[JsonlLogCallback(log_path), *(callbacks or [])],
    )
    summary = trainer.train(resume_from_checkpoint=resume)
    result = TrainResult(
        output_dir=out,
        steps=summary.global_step,
        examples=len(dataset),
        metrics=dict(summary.metrics),
        log_path=log_path,
    )
    _save(trainer, tokenizer, out, cfg, args, model_path)  # every rank: sharded weights are gathered
    if trainer.is_world_process_zero():
        if (
            cfg.save_steps <= 0
            and Path(args.output_dir).is_dir()
            and not any(Path(args.output_dir).iterdir())
        ):
            Path(args.output_dir).rmdir()  # Trainer creates it even when no checkpoint is kept
        result.plot_path = write_training_log(log_path, out / "training_log.json", out / "training_log.png")
    return result


def _save(
    trainer: Any, tokenizer: Any, out: Path, cfg: TrainConfig, args: Any, model_path: str | Path
) -> None:
    """Save the way accelerate expects: every rank calls `save_model` (ZeRO-3 and FSDP gather the sharded
    weights collectively; only the main process writes), then the main process writes the rest. A LoRA
    adapter is merged on the main process from the saved files, so no rank touches sharded weights."""
    from accelerate.utils import is_peft_model

    accelerator = trainer.accelerator
    lora = is_peft_model(accelerator.unwrap_model(trainer.model))
    trainer.save_model(str(out / "adapter" if lora else out))
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    if lora and cfg.merge_lora:
        from peft import PeftModel

        base = load_model(model_path, cfg.model_dtype)
        PeftModel.from_pretrained(base, out / "adapter").merge_and_unload().save_pretrained(out)
    tokenizer.save_pretrained(out)
    # The settings as given, and what "auto" resolved to on this machine.
    resolved = {
        "trainer": type(trainer).__name__,
        "loss_type": cfg.loss if cfg.per_pair else args.loss_type,
        "bf16": args.bf16,
        "gradient_checkpointing": args.gradient_checkpointing,
        "device": str(args.device),
        "world_size": args.world_size,
    }
    record = {**cfg.to_dict(), "resolved": resolved}
    (out / "train_config.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


# --- measuring preferences --------------------------------------------------------------------------------


def completion_logprobs(
    model: Any, tokenizer: Any, prompts: list[str], completions: list[str]
) -> list[float]:
    """Sum of the completion tokens' log-probabilities given the prompt, one sequence at a time.

    The DPO reward margin of a pair is beta times the change, from reference to policy, of
    logp(chosen) - logp(rejected); this is the measurement behind it.
    """
    import torch

    scores = []
    model.eval()
    with torch.no_grad():
        for prompt, completion in zip(prompts, completions, strict=True):
            prompt_ids = tokenizer(prompt)["input_ids"]
            full_ids = tokenizer(prompt + completion)["input_ids"]
            start = _common_prefix(prompt_ids, full_ids)
            ids = torch.tensor([full_ids], device=model.device)
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            targets = ids[0, 1:]
            token_logp = logp.gather(1, targets[:, None]).squeeze(1)
            scores.append(token_logp[max(start - 1, 0) :].sum().item())
    return scores


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
