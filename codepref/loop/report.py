"""The end-of-run report: a pass@k table per round (printed, `summary.json`, `summary.png`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codepref.loop.config import ProblemSet
from codepref.loop.stages import MARKER

STAGES = ("generate", "matrix", "rank", "pairs", "judge", "train", "evaluate")  # judge: task text


@dataclass
class RoundResult:
    round: int
    model: str
    scores: dict[str, dict[str, float]]  # eval set label -> {"pass@1": ...}
    pairs: int | None = None
    train_loss: float | None = None
    trained: bool = False


def trained_and_measured(trained: ProblemSet, measured: list[ProblemSet]) -> str:
    """The report's caption: which problems the run trained on and which it measured."""
    return f"trained on {trained.describe()}; measured on {', '.join(m.describe() for m in measured)}"


def write_summary(
    run_dir: Path, results: list[RoundResult], ks: list[int], caption: str | None = None
) -> None:
    """The table printed (with `caption` under it: what the run trained on and measured), summary.json
    and summary.png."""
    labels = list(results[0].scores) if results else []
    metrics = [f"pass@{k}" for k in ks]
    table = Table(title=f"pass@k per round ({run_dir})", caption=caption)
    table.add_column("round")
    for label in labels:
        for metric in metrics:
            table.add_column(f"{label} {metric}", justify="right")
    table.add_column("pairs", justify="right")
    table.add_column("train loss", justify="right")
    for res in results:
        cells = [
            f"{res.scores.get(label, {}).get(metric, float('nan')):.3f}"
            for label in labels
            for metric in metrics
        ]
        loss = "" if res.train_loss is None else f"{res.train_loss:.4f}"
        table.add_row(
            str(res.round) + (" (start)" if res.round == 0 else ""),
            *cells,
            "" if res.pairs is None else str(res.pairs),
            loss,
        )
    Console(soft_wrap=True).print(table)
    (run_dir / "summary.json").write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    _plot_summary(run_dir / "summary.png", results, labels, metrics)


def _plot_summary(path: Path, results: list[RoundResult], labels: list[str], metrics: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    rounds = [r.round for r in results]
    for label in labels:
        for metric in metrics:
            ax.plot(
                rounds,
                [r.scores.get(label, {}).get(metric, float("nan")) for r in results],
                marker="o",
                label=f"{label} {metric}",
            )
    ax.set_xlabel("round (0: starting model)")
    ax.set_ylabel("pass@k")
    ax.set_xticks(rounds)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if labels:  # a text run has no pass@k curves
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def iter_stage_files(run_dir: Path) -> Iterator[Path]:
    """Every finished stage's record, in round and stage order (for reports and tests)."""
    for round_dir in sorted(run_dir.glob("round-*"), key=lambda p: int(p.name.split("-")[1])):
        for name in STAGES:
            marker = round_dir / name / MARKER
            if marker.exists():
                yield marker
