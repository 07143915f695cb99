"""The self-alignment loop, top to bottom.

Round 0 evaluates the starting model. Each round r >= 1 then runs, with round r-1's model,

    generate -> matrix -> rank -> pairs -> train -> evaluate

Follow one training problem through a round: `generate` samples N solutions and M CodeT-style test
completions for it; `matrix` turns the solutions into programs and the test completions into test snippets
and runs every solution against every test in the sandbox; `rank` scores the solutions once through a
`Judge` (the execution judge over that matrix by default); `pairs` draws preference pairs from that
ranking (with the executability fallback only where a config asks for it and the tests gave no signal);
`train` fine-tunes with TRL; `evaluate` samples the evaluation sets with the new model and scores the
programs against the benchmarks' own tests in the same sandbox pool (the plus variants' canonical outputs
are computed on a pool of their own, closed before any sample runs). A job whose sandbox fault persists
counts as failing: a matrix row fails every test, a sample fails its problem, and the stage reports how many.

Stages hand each other typed records (`codepref.loop.stage_outputs`); `codepref.loop.stages` skips a stage
whose inputs are unchanged and resumes an interrupted one. The prompt style is decided once per run. A
config's `steps:` section adds a `steps` stage after `pairs` (`codepref.loop.step_stage`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codepref.data import Problem, load_problems, resolve_data_dir
from codepref.evaluate.harness import evaluate_samples
from codepref.generate import GenerationRequest, generate_jsonl, prompt_records, read_generations
from codepref.loop.config import DEFAULT_DATA_DIR, LoopConfig, ProblemSet
from codepref.loop.models import Models, resolve_model, run_prompt_style
from codepref.loop.report import RoundResult, trained_and_measured, write_summary
from codepref.loop.stage_outputs import Evaluated, Generated, Matrices, Pairs, Rankings, Trained
from codepref.loop.stages import StageOutcome, StageRunner, console, fingerprint, text_fingerprint
from codepref.loop.step_stage import step_pairs_stage
from codepref.matrix import FORMAT as MATRIX_FORMAT
from codepref.matrix import build_matrices, load_matrices, matrix_problem
from codepref.pairs import chat_samples, read_pairs, training_rows, write_pairs
from codepref.rank.ranked import execution_judges, rank_matrices, read_rankings, write_rankings
from codepref.records import read_jsonl, write_jsonl
from codepref.sandbox import Sandbox
from codepref.sandbox.types import limits_profile
from codepref.tasks import Task, make_task, program, solution_prompt, test_prompt
from codepref.train.trainer import train


@dataclass
class RunResult:
    run_dir: Path
    rounds: list[RoundResult]
    outcomes: list[StageOutcome]


class Loop:
    def __init__(self, cfg: LoopConfig, data_dir: str | None = None) -> None:
        self.cfg = cfg
        resolved = resolve_data_dir(data_dir or cfg.data_dir, default=DEFAULT_DATA_DIR)
        self.data_dir = str(resolved[0]) if resolved else None
        self.runner = StageRunner(cfg.run_dir)
        self.models = Models(cfg.generation)
        self.style = "completion"  # decided in run(), once
        self._stack = contextlib.ExitStack()
        self._sandbox: Any = None
        self._problems: dict[tuple[str, str | None], list[Problem]] = {}

    # the run ------------------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        with self.session() as model:
            results = [RoundResult(0, model, self.evaluate(0, model).scores)]
            for r in range(1, self.cfg.rounds + 1):
                results.append(self.round(r, model))
                model = results[-1].model
        caption = trained_and_measured(self.cfg.train_problems, self.cfg.eval.sets)
        write_summary(self.cfg.run_dir, results, self.cfg.eval.ks, caption)
        return RunResult(self.cfg.run_dir, results, self.runner.outcomes)

    @contextlib.contextmanager
    def session(self) -> Iterator[str]:
        """The run's set-up, for `run` or for chosen stages called one by one (`loop.generate(1, model,
        loop.training_tasks())`, then `loop.matrix(...)`): the starting model resolved (yielded), every
        data file read, the config recorded and the prompt style decided. Leaving it closes the generator
        and the sandbox pool; a later session opens new ones."""
        with self._stack:
            model, self.cfg = resolve_model(self.cfg)
            self.models = Models(self.cfg.generation)  # the fallback may have changed generation settings
            for spec in [self.cfg.train_problems, *self.cfg.eval.sets]:
                self.problems(spec)  # every data file is read before the first stage runs
            run_dir = self.cfg.run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps(asdict(self.cfg), indent=1, default=str))
            self.style = run_prompt_style(self.cfg.generation, model, run_dir)
            try:
                yield model
            finally:
                self.models.close()
                self._sandbox = None  # the stack closes it

    def training_tasks(self) -> list[Task]:
        return [make_task(p) for p in self.problems(self.cfg.train_problems)]

    def round(self, r: int, model: str) -> RoundResult:
        tasks = self.training_tasks()
        generated = self.generate(r, model, tasks)
        matrices = self.matrix(r, tasks, generated)
        rankings = self.rank(r, matrices)
        pairs = self.pairs(r, generated, matrices, rankings)
        if self.cfg.steps is not None:
            pairs = self.step_pairs(r, model, tasks, generated, pairs)
        trained = self.train(r, model, pairs)
        evaluated = self.evaluate(r, trained.model)
        return RoundResult(
            r,
            trained.model,
            evaluated.scores,
            pairs=pairs.pairs,
            train_loss=trained.train_loss,
            trained=trained.trained,
        )

    # stages -------------------------------------------------------------------------------------------------

    def generate(self, r: int, model: str, tasks: list[Task]) -> Generated:
        g = self.cfg.generation
        inputs = {
            "model": fingerprint(model),
            "settings": asdict(g),
            "style": self.style,
            "tasks": [t.key for t in tasks],
            "prompts": text_fingerprint("".join(t.prompt for t in tasks)),
        }

        def body(out: Path) -> Generated:
            tokenizer = self.models.tokenizer_for(model) if self.style == "chat" else None
            generator = self.models.generator_for(model)
            for kind, render, n, max_tokens in (
                ("solutions", solution_prompt, g.solutions, g.max_tokens),
                ("tests", test_prompt, g.tests, g.test_max_tokens),
            ):
                rendered = {t.key: render(t, self.style, tokenizer, g.system_prompt) for t in tasks}
                request = GenerationRequest(
                    prompts=(),
                    n=n,
                    temperature=g.temperature,
                    top_p=g.top_p,
                    max_tokens=max_tokens,
                    seed=g.seed + r,
                )
                records = prompt_records(tasks, rendered)
                generate_jsonl(generator, records, out / f"{kind}.jsonl", request, chunk_size=g.chunk_size)
            return Generated(
                style=self.style,
                solutions_file=str(out / "solutions.jsonl"),
                tests_file=str(out / "tests.jsonl"),
                problems=len(tasks),
                solutions=len(tasks) * g.solutions,
                test_samples=len(tasks) * g.tests,
            )

        return self.runner.run(r, "generate", inputs, body, Generated)

    def matrix(self, r: int, tasks: list[Task], generated: Generated) -> Matrices:
        m = self.cfg.matrix
        inputs = {
            "solutions": fingerprint(generated.solutions_file),
            "tests": fingerprint(generated.tests_file),
            "style": generated.style,
            "settings": asdict(m),
            "sandbox": self.sandbox_settings(),
            "format": MATRIX_FORMAT,  # a file of an older format cannot be read: rebuild it
        }

        def body(out: Path) -> Matrices:
            solutions = read_generations(Path(generated.solutions_file))
            tests = read_generations(Path(generated.tests_file))
            problems = [
                matrix_problem(
                    t, generated.style, solutions[t.key], tests[t.key], m.tests_per_sample, m.prompt_examples
                )
                for t in tasks
            ]
            built, stats = build_matrices(
                problems, out / "matrix.jsonl", self.sandbox(), test_timeout_s=m.test_timeout_s
            )
            if stats.sandbox_errors:
                console.print(
                    f"[yellow]{stats.sandbox_errors} matrix job(s) hit sandbox errors; their rows fail "
                    "every test[/yellow]"
                )
            return Matrices(
                matrix_file=str(out / "matrix.jsonl"),
                problems=len(built),
                jobs=stats.jobs,
                tests=sum(x.shape[1] for x in built),
                cells=int(sum(x.passed.size for x in built)),
                passing_cells=int(sum(x.passed.sum() for x in built)),
                sandbox_errors=stats.sandbox_errors,
            )

        return self.runner.run(r, "matrix", inputs, body, Matrices)

    def rank(self, r: int, matrices: Matrices) -> Rankings:
        p = self.cfg.pairs
        inputs = {
            "matrix": fingerprint(matrices.matrix_file),
            "judge": {"method": p.method, "seed": p.seed, "options": p.rank_options},
            "min_top_confidence": p.min_top_confidence,
        }

        def body(out: Path) -> Rankings:
            judges = execution_judges(p.method, p.seed, **p.rank_options)
            ranked = list(rank_matrices(load_matrices(matrices.matrix_file), judges))
            write_rankings(out / "rankings.jsonl", ranked)
            return Rankings(
                rankings_file=str(out / "rankings.jsonl"),
                judge=ranked[0].judge if ranked else f"execution:{p.method}",
                problems=len(ranked),
                with_signal=sum(x.has_signal for x in ranked),
                with_trusted_top=sum(x.has_signal and x.trusted(p.min_top_confidence) for x in ranked),
            )

        return self.runner.run(r, "rank", inputs, body, Rankings)

    def pairs(self, r: int, generated: Generated, matrices: Matrices, rankings: Rankings) -> Pairs:
        p = self.cfg.pairs
        inputs = {
            "matrix": fingerprint(matrices.matrix_file),
            "rankings": fingerprint(rankings.rankings_file),
            "solutions": fingerprint(generated.solutions_file),
            "style": generated.style,
            "settings": asdict(p),
            "sandbox": self.sandbox_settings(),
        }

        def body(out: Path) -> Pairs:
            sandbox = self.sandbox() if p.efficiency or p.fallback != "none" else None
            matrix_list = list(load_matrices(matrices.matrix_file))
            ranked = read_rankings(Path(rankings.rankings_file))
            write_pairs(matrix_list, ranked, out / "ranked", p, sandbox=sandbox)
            pairs = read_pairs(out / "ranked")
            chat = None
            if generated.style == "chat":
                chat = chat_samples(read_generations(Path(generated.solutions_file)))
            rows = training_rows(pairs, chat)
            write_jsonl(out / "train_pairs.jsonl", rows)
            fallback = sum(pair.kind == "executability" for pair in pairs)
            return Pairs(
                pairs_file=str(out / "train_pairs.jsonl"),
                pairs=len(rows),
                ranked_pairs=len(rows) - fallback,
                fallback_pairs=fallback,
                problems_with_pairs=len({row["task_id"] for row in rows}),
            )

        return self.runner.run(r, "pairs", inputs, body, Pairs)

    def step_pairs(self, r: int, model: str, tasks: list[Task], generated: Generated, pairs: Pairs) -> Pairs:
        s, weight = self.cfg.steps, self.cfg.matrix.prompt_examples
        inputs = {"model": fingerprint(model), "tests": fingerprint(generated.tests_file), "settings": asdict(s),
                  "pairs": fingerprint(pairs.pairs_file), "weight": weight, "sandbox": self.sandbox_settings()}  # fmt: skip

        def body(out: Path) -> Pairs:
            generator, seed = self.models.generator_for(model), self.cfg.generation.seed
            return step_pairs_stage(s, tasks, generator, self.sandbox(), generated, pairs, weight, seed, out)

        return self.runner.run(r, "steps", inputs, body, Pairs)

    def train(self, r: int, model: str, pairs: Pairs) -> Trained:
        inputs = {
            "pairs": fingerprint(pairs.pairs_file),
            "model": fingerprint(model),
            "settings": asdict(self.cfg.train),
        }

        def body(out: Path) -> Trained:
            if not read_jsonl(Path(pairs.pairs_file)):
                console.print(f"round {r} train: no preference pairs, the model is carried over unchanged")
                return Trained(trained=False, model=model)
            self.models.close()  # give the GPU to training
            result = train(pairs.pairs_file, model, out / "model", self.cfg.train)
            return Trained(
                trained=True,
                model=str(out / "model"),
                examples=result.examples,
                steps=result.steps,
                train_loss=result.metrics.get("train_loss"),
                samples_per_s=result.metrics.get("train_samples_per_second"),
            )

        return self.runner.run(r, "train", inputs, body, Trained)

    def evaluate(self, r: int, model: str) -> Evaluated:
        g = self.cfg.generation
        inputs = {
            "model": fingerprint(model),
            "settings": asdict(self.cfg.eval),
            "data": {spec.label: self.problems_fingerprint(spec) for spec in self.cfg.eval.sets},
            "style": self.style,
            "generation": {"backend": self.models.backend, "seed": g.seed, "system_prompt": g.system_prompt},
            "sandbox": self.sandbox_settings(),
        }

        def body(out: Path) -> Evaluated:
            return Evaluated({spec.label: self.evaluate_set(model, spec, out) for spec in self.cfg.eval.sets})

        return self.runner.run(r, "evaluate", inputs, body, Evaluated)

    def evaluate_set(self, model: str, spec: ProblemSet, out: Path) -> dict[str, float]:
        """Sample the set's problems, then score the programs with `codepref eval`'s own runner."""
        e, g = self.cfg.eval, self.cfg.generation
        tasks = [make_task(p, spec.label) for p in self.problems(spec)]
        tokenizer = self.models.tokenizer_for(model) if self.style == "chat" else None
        rendered = {t.key: solution_prompt(t, self.style, tokenizer, g.system_prompt) for t in tasks}
        samples_file = out / f"{spec.label}.samples.jsonl"
        request = GenerationRequest(
            prompts=(),
            n=e.samples,
            temperature=e.temperature,
            top_p=e.top_p,
            max_tokens=e.max_tokens,
            seed=g.seed,
        )
        records = prompt_records(tasks, rendered)
        generate_jsonl(
            self.models.generator_for(model), records, samples_file, request, chunk_size=g.chunk_size
        )
        # One line per sample with the full program, the input format of `codepref eval`.
        by_key = {t.key: t for t in tasks}
        programs_file = out / f"{spec.label}.programs.jsonl"
        if not programs_file.exists():  # deterministic from the samples; results are keyed by its lines
            programs = [
                {
                    "task_id": by_key[key].problem.task_id,
                    "solution": program(by_key[key], self.style, c["text"]),
                }
                for key, record in read_generations(samples_file).items()
                for c in record["completions"]
            ]
            write_jsonl(programs_file, programs)
        report = evaluate_samples(
            spec.benchmark,
            programs_file,
            ks=e.ks,
            split=spec.split,
            results_path=out / f"{spec.label}.results.jsonl",
            progress=False,
            backend=self.cfg.sandbox.backend,
            workers=self.cfg.sandbox.workers,
            address=self.cfg.sandbox.address,
            sandbox=self.sandbox(),
            problems_list=self.all_problems(spec),
        )
        if report.sandbox_errors:
            console.print(
                f"[yellow]{report.sandbox_errors} sample(s) of {spec.label} hit sandbox errors; "
                "they count as failed[/yellow]"
            )
        return {
            **report.scores,
            "problems": report.problems_evaluated,
            "sandbox_errors": report.sandbox_errors,
        }

    # resources ----------------------------------------------------------------------------------------------

    def sandbox(self) -> Any:
        """The run's one sandbox pool: every stage's jobs, evaluation included, run in it (canonical
        outputs excepted: codepref.evaluate.expected computes them on a pool of their own)."""
        if self._sandbox is None:
            s = self.cfg.sandbox
            limits = limits_profile("pipeline", memory_mb=s.memory_mb)
            self._sandbox = self._stack.enter_context(
                Sandbox(backend=s.backend, workers=s.workers, limits=limits, address=s.address)
            )
        return self._sandbox

    def sandbox_settings(self) -> dict[str, Any]:
        """What of the sandbox settings can change a verdict (not the number of workers)."""
        return {"backend": self.cfg.sandbox.backend, "memory_mb": self.cfg.sandbox.memory_mb}

    def all_problems(self, spec: ProblemSet) -> list[Problem]:
        key = (spec.benchmark, spec.split)
        if key not in self._problems:
            self._problems[key] = load_problems(spec.benchmark, self.data_dir, split=spec.split)
        return self._problems[key]

    def problems(self, spec: ProblemSet) -> list[Problem]:
        problems = self.all_problems(spec)
        if spec.task_ids:
            wanted = set(spec.task_ids)
            problems = [p for p in problems if p.task_id in wanted]
        problems = problems[spec.offset :]
        return problems[: spec.limit] if spec.limit is not None else problems

    def problems_fingerprint(self, spec: ProblemSet) -> str:
        """The data a set's scores come from: its source file's content and the chosen task ids."""
        problems = self.problems(spec)
        source = Path(problems[0].source) if problems else None
        data = fingerprint(source) if source is not None and source.is_file() else str(source)
        return text_fingerprint(data + "\n".join(p.task_id for p in problems))
