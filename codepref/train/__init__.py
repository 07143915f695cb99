"""Preference fine-tuning (DPO-family and KTO losses) with TRL; see `codepref.train.trainer`."""

from typing import Any

from codepref.train.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config", "train"]


def __getattr__(name: str) -> Any:
    # `train` pulls in TRL (seconds to import); load it only when asked for.
    if name == "train":
        from codepref.train.trainer import train

        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
