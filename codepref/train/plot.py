"""Training log: a callback that appends each logged step to JSONL as training runs, then a JSON copy
and a matplotlib PNG of loss, reward margins and reward accuracy per step."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from codepref.records import read_jsonl

# Panels of the plot: (log key, title). KTO logs no accuracies; panels without data are left out.
PANELS = (
    ("loss", "loss"),
    ("rewards/margins", "reward margin (chosen - rejected)"),
    ("rewards/accuracies", "reward accuracy"),
)


class JsonlLogCallback(TrainerCallback):
    """Append every `Trainer.log` call (with its global step) to a JSONL file, flushed per line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not logs or not state.is_world_process_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {"step": state.global_step, "epoch": state.epoch, **_plain(logs)}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    return read_jsonl(Path(path))


def step_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-step training records (the end-of-training summary line carries `train_runtime` instead)."""
    return [r for r in records if "loss" in r and "train_runtime" not in r]


def write_training_log(jsonl_path: str | Path, json_path: str | Path, png_path: str | Path) -> Path | None:
    """Write the JSON copy of the log and its plot; returns the PNG path (None when no step was logged)."""
    records = read_log(jsonl_path)
    Path(json_path).write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    return plot_training_log(step_records(records), png_path)


def plot_training_log(records: list[dict[str, Any]], png_path: str | Path) -> Path | None:
    try:
        import matplotlib
    except ImportError:  # a declared dependency, but a bare GPU image may lack it: the JSON log still stands
        warnings.warn("matplotlib is not installed: training_log.png not written", stacklevel=2)
        return None

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    panels = [(key, title) for key, title in PANELS if any(key in r for r in records)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        points = [(r["step"], r[key]) for r in records if key in r and _finite(r[key])]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return Path(png_path)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _plain(logs: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: tensors and numpy scalars become Python numbers."""
    out = {}
    for key, value in logs.items():
        if hasattr(value, "item"):
            value = value.item()
        out[key] = value if isinstance(value, str | int | float | bool) or value is None else str(value)
    return out
