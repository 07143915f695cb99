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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # "all-linear" adapts every linear layer but the LM head, which TRL's DPO refuses to adapt anyway.
    target_modules: list[str] | str = "all-linear"


@dataclass
class TrainConfig:
    loss: str = "dpo"
    beta: float = 0.1
    learning_rate: float = 5e-7
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4  # per device
    gradient_accumulation_steps: int = 1
    max_length: int = 1024  # prompt + completion tokens
    warmup_steps: float = 0.1  # a float in [0, 1) is a share of the total steps
    lr_scheduler_type: str = "cosine"
    seed: int = 0
    logging_steps: int = 1
    save_steps: int = 0  # > 0: keep resumable checkpoints under OUT/checkpoints every N steps
    label_smoothing: float = 0.0  # robust DPO's flip probability (0.1 is the paper's typical value)
    desirable_weight: float = 1.0  # KTO
    undesirable_weight: float = 1.0  # KTO
    lora: LoraSettings | None = None
    bf16: bool | None = None  # None: where the device supports it (a bf16-capable GPU)
    gradient_checkpointing: bool | None = None  # None: on GPU only (on CPU memory is not the constraint)
    model_dtype: str = "float32"  # weights as loaded; mixed precision comes from `bf16`
    merge_lora: bool = True  # save merged full weights (next round and vLLM load them directly)
    trl: dict[str, Any] = field(default_factory=dict)  # extra DPOConfig / KTOConfig fields
    loss_options: dict[str, Any] = field(default_factory=dict)  # settings of a per-pair loss (LossOptions)

    def __post_init__(self) -> None:
        if isinstance(self.lora, bool):
            self.lora = LoraSettings() if self.lora else None
        elif isinstance(self.lora, dict):
            self.lora = _build(LoraSettings, self.lora, "lora")
        self.loss = self.loss.lower()
        if self.loss not in PER_PAIR_LOSSES and self.trl_loss_type not in DPO_LOSS_TYPES + KTO_LOSS_TYPES:
            known = ", ".join(sorted({*LOSS_ALIASES, *DPO_LOSS_TYPES, *KTO_LOSS_TYPES, *PER_PAIR_LOSSES}))
            raise ValueError(f"unknown loss {self.loss!r}; expected one of: {known}")
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
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise ValueError(f"{path}:{line} invalid YAML: {getattr(err, 'problem', err)}") from None
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
