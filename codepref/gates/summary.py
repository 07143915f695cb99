"""The short markdown summary of a bench run, in the shape CI systems show as a job summary.

One table of gates (benchmark, gate, figure, rule, verdict), one of speed figures with their peer and
ratio (never gated), each benchmark's wall time, then every failure spelled out.
"""

from __future__ import annotations

from typing import Any

from codepref.gates.run import FINISHED, BenchmarkResult


def markdown_summary(results: list[BenchmarkResult], gates_file: str) -> str:
    failures = [failure for result in results for failure in result.failures]
    verdict = "all gates passed" if not failures else f"{len(failures)} failed"
    lines = [f"## codepref bench: {verdict}", "", f"Gates and baselines: `{gates_file}`", ""]
    lines += ["| benchmark | gate | figure | rule | result |", "| --- | --- | --- | --- | --- |"]
    for result in results:
        if result.status != FINISHED:
            lines.append(f"| {result.name} | (run) | | | ❌ {cell(result.status)} |")
        for gate in result.gates:
            mark = "✅" if gate["passed"] else "❌"
            note = f" {cell(gate['detail'])}" if gate["detail"] else ""
            lines.append(
                f"| {result.name} | {gate['gate']} | {shown(gate['value'])} | {cell(gate['threshold'])} | {mark}{note} |"
            )
    speeds = [(result.name, speed) for result in results for speed in result.speed]
    if speeds:
        lines += ["", "Speed (printed, not gated: shared CI machines are noisy)", ""]
        lines += ["| benchmark | figure | codepref | peer | ratio |", "| --- | --- | --- | --- | --- |"]
        for name, speed in speeds:
            ratio = f"{speed['ratio']:.2f}x" if speed["ratio"] else "n/a"
            lines.append(
                f"| {name} | {speed['label']} | {shown(speed['ours'])} {speed['unit']} | "
                f"{shown(speed['peer'])} {speed['unit']} | {ratio} |"
            )
    lines += ["", "| benchmark | wall time | run |", "| --- | --- | --- |"]
    for result in results:
        run = f"kept from {result.finished_at}" if result.reused else "this run"
        lines.append(f"| {result.name} | {result.wall_s:.0f} s | {run} |")
    lines.append(f"| total | {sum(r.wall_s for r in results if not r.reused):.0f} s | this run |")
    if failures:
        lines += ["", "Failed:", ""] + [f"- {failure}" for failure in failures]
    return "\n".join(lines) + "\n"


def shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
