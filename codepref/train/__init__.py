"""Preference fine-tuning (DPO-family and KTO losses) with TRL; see `codepref.train.trainer`."""

from codepref.train.config import TrainConfig, load_train_config
from codepref.train.trainer import train

__all__ = ["TrainConfig", "load_train_config", "train"]
