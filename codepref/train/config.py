"""Training settings: one dataclass, loadable from YAML, mapped onto TRL's `DPOConfig` / `KTOConfig`.

loss: dpo            # dpo (TRL's "sigmoid"), ipo, robust, kto, or any other TRL DPO/KTO loss_type
beta: 0.1
learning_rate: 5.0e-7
epochs: 1
lora: {r: 16, alpha: 32}   # or `lora: true` for the defaults, `lora: false` for full fine-tuning
trl: {max_length: 2048}    # passed through verbatim to DPOConfig / KTOConfig

Per-pair losses (codepref.train.losses) read judge fields of each pair record: noise_aware_dpo (confidence),
irepo (preference), margin (reference-free), sami (counter_prompt); their settings go in `loss_options`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codepref.records import read_yaml
from codepref.settings import check_settings, raise_problems, setting
from codepref.train.losses import PER_PAIR_LOSSES, LossOptions

# Our names for the paired losses; everything else in DPO_LOSS_TYPES is passed to TRL unchanged.
LOSS_ALIASES = {"dpo": "sigmoid"}
DPO_LOSS_TYPES = (
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "aot",
    "aot_unpaired",
    "apo_zero",
    "apo_down",
    "discopop",
    "sft",
    "sigmoid_norm",
)
KTO_LOSS_TYPES = ("kto", "apo_zero_unpaired")
# Every name `loss` takes (lower-cased): our aliases, TRL's loss types and the per-pair losses.
LOSSES = tuple(sorted({*LOSS_ALIASES, *DPO_LOSS_TYPES, *KTO_LOSS_TYPES, *PER_PAIR_LOSSES}))


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # "all-linear" adapts every linear layer but the LM head, which TRL's DPO refuses to adapt anyway.
    target_modules: list[str] | str = "all-linear"


@dataclass
class TrainConfig:
    loss: str = setting(
        "dpo",
        "dpo (TRL's sigmoid), ipo, robust, kto, another TRL loss_type, or a per-pair loss: noise_aware_dpo, "
        "irepo, margin, sami.",
        choices=LOSSES,
    )
    beta: float = setting(0.1, "Strength of the pull towards the reference model.")
    learning_rate: float = setting(5e-7, "Peak learning rate.")
    epochs: float = setting(1.0, "Training epochs.")
    max_steps: int = setting(-1, "Stop after this many optimizer steps; > 0 overrides epochs.")
    batch_size: int = setting(4, "Examples per device per step.")
    gradient_accumulation_steps: int = setting(1, "Steps whose gradients are summed before each update.")
    max_length: int = setting(1024, "Prompt + completion tokens at most.")
    warmup_steps: float = setting(0.1, "Warm-up steps; a float in [0, 1) is a share of the total steps.")
    lr_scheduler_type: str = setting("cosine", "transformers' learning-rate schedule.")
    seed: int = setting(0, "Training seed.")
    logging_steps: int = setting(1, "Log every N steps.")
    save_steps: int = setting(0, "> 0: keep resumable checkpoints under OUT/checkpoints every N steps.")
    label_smoothing: float = setting(0.0, "Robust DPO's flip probability (0.1 is the paper's typical value).")
    desirable_weight: float = setting(1.0, "KTO: weight of the desirable completions' loss.")
    undesirable_weight: float = setting(1.0, "KTO: weight of the undesirable completions' loss.")
    lora: LoraSettings | None = setting(
        None, "Train LoRA adapters (true: the LoRA defaults; a mapping in a YAML config sets them)."
    )
    bf16: bool | None = setting(None, "bf16 mixed precision (unset: where the device supports it).")
    gradient_checkpointing: bool | None = setting(
        None,
        "Recompute activations in the backward pass (unset: on GPU only; on CPU memory is not the limit).",
    )
    model_dtype: str = setting("float32", "Weights as loaded; mixed precision comes from bf16.")
    merge_lora: bool = setting(True, "Save merged full weights (the next round and vLLM load them directly).")
    trl: dict[str, Any] = setting(
        help="Extra DPOConfig / KTOConfig fields, passed through verbatim.", default_factory=dict
    )
    loss_options: dict[str, Any] = setting(
        help="Settings of a per-pair loss (codepref.train.losses.LossOptions).", default_factory=dict
    )

    def __post_init__(self) -> None:
        if isinstance(self.lora, bool):
            self.lora = LoraSettings() if self.lora else None
        elif isinstance(self.lora, dict):
            self.lora = _build(LoraSettings, self.lora, "lora")
        self.loss = self.loss.lower()
        raise_problems(check_settings(self))
        self.per_pair_options()  # reject unknown or invalid loss_options now, not after loading a model

    @property
    def trl_loss_type(self) -> str:
        """TRL's name for the loss; a per-pair loss runs in DPOTrainer, which needs a valid one to start."""
        return "sigmoid" if self.loss in PER_PAIR_LOSSES else LOSS_ALIASES.get(self.loss, self.loss)

    @property
    def per_pair(self) -> bool:
        return self.loss in PER_PAIR_LOSSES

    def per_pair_options(self) -> LossOptions:
        return LossOptions.from_dict(self.loss_options)

    @property
    def unpaired(self) -> bool:
        """KTO-family losses train on single completions labelled good or bad."""
        return self.trl_loss_type in KTO_LOSS_TYPES

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return cls(**data)


def load_train_config(path: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Read a YAML training config (a missing path means defaults), then apply non-None `overrides`."""
    data: dict[str, Any] = {}
    if path is not None:
        loaded = read_yaml(Path(path))
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of training settings, got {type(loaded).__name__}")
        data = dict(loaded or {})
        data = data.get("train", data) if isinstance(data.get("train"), dict) else data
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return _build(TrainConfig, data, str(path) if path else "train config")
    except (TypeError, ValueError) as err:
        where = f"{path}: " if path and not str(err).startswith(str(path)) else ""
        raise ValueError(f"{where}{err}") from None
