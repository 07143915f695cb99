"""Expert iteration on the synth coder, issue 24's stage 1: fine-tuning on the coder's own selected samples
(rejection-sampling fine-tuning) of unlabeled prompts of the target compositions. The defaults are the
setting chosen on synth-validation (6,400 `synth-prompts` x 4 samples, one round, SFT at lr 1e-3 for 12
epochs), under which the oracle's samples raise held-out pass@1 where DPO on a few hundred pairs did not.

Each round samples `--samples` completions of each loop prompt from the current model, judges every distinct
one against the hidden tests in the sandbox, and fine-tunes the current model (SFT, completion tokens only,
as the coder itself was trained) on the selected ones:

* `oracle`: every distinct sample that passes its problem's hidden tests;
* `examples`: a source without labels, CodeT's signal at its simplest: every distinct sample that passes
  the prompt's own `>>>` examples (the problem's visible tests; the hidden ones are not used);
* `random`: the control, as many distinct samples as `oracle` would take from the same round's samples,
  drawn at random whatever their verdict;
* `canonical`: a diagnostic ceiling, not a pair source: each prompt's canonical solution (labels the loop
  never has), to tell what these prompts can teach at all.

After every round it measures sampled pass@1 and pass@10 (T=0.8) and greedy pass@1 on `--eval` and
writes each problem's count of passing samples, so `--compare` can give a paired bootstrap interval over
problems between any two runs' rounds. Choose settings on synth-validation; synth-heldout is for measuring.

    python benchmarks/expert_iteration.py --select oracle --eval synth-validation -o OUT/oracle-s0
    python benchmarks/expert_iteration.py --compare OUT/oracle-s0:0 OUT/oracle-s0:1
    python benchmarks/expert_iteration.py --coverage OUT/samples-...-1 OUT/oracle-s0:0 OUT/oracle-s0:1

`--coverage` splits a measurement by whether the round-1 pool solved a loop prompt of the same function
shape (primitives and output, constants aside): what the samples can teach reaches only those.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from codepref.coder import RECIPES, cached_coder
from codepref.data import load_problems
from codepref.evaluate.passk import pass_at_k
from codepref.evaluate.runner import default_results_path, evaluate_samples
from codepref.generate import GenerationRequest, PromptRecord, generate_jsonl, read_generations
from codepref.generate.extract import truncate_at_stop
from codepref.generate.prompts import solution_prompt
from codepref.matrix.examples import prompt_example_tests

BOOTSTRAP_DRAWS = 10_000


# --- sampling and judging --------------------------------------------------------------------------------


def sample(model: Path, problems: list[Any], out: Path, n: int, temperature: float, seed: int) -> dict:
    """task_id -> n completions (resumable: generate_jsonl skips prompts already in `out`)."""
    from codepref.generate.hf import HFGenerator

    prompts = {p.task_id: solution_prompt(p.prompt, p.entry_point) for p in problems}
    if not out.exists() or len(read_generations(out)) < len(problems):
        records = [PromptRecord(key=k, prompt=v.text, stop=v.stop) for k, v in prompts.items()]
        request = GenerationRequest(
            prompts=(), n=n, temperature=temperature, top_p=0.95, max_tokens=96, seed=seed
        )
        generator = HFGenerator(str(model), batch_size=160)  # a 2M-parameter model: wide batches
        generate_jsonl(generator, records, out, request, chunk_size=64)
        generator.close()
    return read_samples(problems, out)


def read_samples(problems: list[Any], out: Path) -> dict:
    """task_id -> the completions sampled into `out`, cut at the prompt's stop sequences."""
    prompts = {p.task_id: solution_prompt(p.prompt, p.entry_point) for p in problems}
    rows = read_generations(out)
    return {
        k: [truncate_at_stop(c["text"], prompts[k].stop)[0] for c in rows[k]["completions"]] for k in prompts
    }


def judge(benchmark: str, problems: list[Any], completions: dict, out: Path, workers: int) -> dict:
    """task_id -> {completion: passes its hidden tests}, each distinct completion run once."""
    distinct = [(k, c) for k in completions for c in dict.fromkeys(completions[k])]
    samples = out.with_suffix(".distinct.jsonl")
    if not samples.exists():
        samples.write_text("".join(json.dumps({"task_id": k, "completion": c}) + "\n" for k, c in distinct))
    evaluate_samples(
        benchmark, samples, ks=[1], workers=workers, backend="process", progress=False, problems_list=problems
    )
    verdicts: dict[str, dict[str, bool]] = {k: {} for k in completions}
    for k, c, passed in read_judged(samples):
        verdicts[k][c] = passed
    return verdicts


def read_judged(samples: Path) -> list[tuple[str, str, bool]]:
    """(task_id, completion, passed) per line of a judged samples file, in its order (the results file
    is written in completion order, keyed by line)."""
    passed = {r["line"]: r["passed"] for r in map(json.loads, open(default_results_path(samples)))}
    rows = map(json.loads, open(samples))
    return [(r["task_id"], r["completion"], passed[line]) for line, r in enumerate(rows, 1)]


def example_verdicts(problems: list[Any], completions: dict, out: Path, workers: int, benchmark: str) -> dict:
    """task_id -> {completion: passes the prompt's own `>>>` examples}: the hidden tests are not used."""
    shown = [replace(p, test_list=tuple(prompt_example_tests(p.prompt, p.entry_point))) for p in problems]
    return judge(benchmark, shown, completions, out, workers)


def measure(model: Path, benchmark: str, problems: list[Any], out: Path, seed: int, workers: int) -> dict:
    """Greedy pass@1, sampled (T=0.8, n=10) pass@1 and pass@10, and each problem's passing count."""
    out.mkdir(parents=True, exist_ok=True)
    figures = out / "figures.json"
    if figures.exists():
        return json.loads(figures.read_text())
    greedy = sample(model, problems, out / "greedy.jsonl", 1, 0.0, seed)
    sampled = sample(model, problems, out / "sampled.jsonl", 10, 0.8, seed)
    g = judge(benchmark, problems, greedy, out / "greedy.jsonl", workers)
    s = judge(benchmark, problems, sampled, out / "sampled.jsonl", workers)
    counts = {k: sum(s[k][c] for c in sampled[k]) for k in sampled}
    result = {
        "greedy": float(np.mean([g[k][greedy[k][0]] for k in greedy])),
        "sampled": float(np.mean([c / 10 for c in counts.values()])),
        "pass@10": float(np.mean([pass_at_k(10, c, 10) for c in counts.values()])),
        "counts": counts,
    }
    figures.write_text(json.dumps(result))
    return result


# --- selecting and training ------------------------------------------------------------------------------


def select(verdicts: dict, how: str, rng: random.Random) -> list[tuple[str, str]]:
    """(task_id, completion) rows to fine-tune on; `random` takes as many as `oracle` would."""
    passing = [(k, c) for k, v in verdicts.items() for c, ok in v.items() if ok]
    if how == "oracle":
        return passing
    every = [(k, c) for k, v in verdicts.items() for c in v]
    return rng.sample(every, len(passing))


def fine_tune(
    model: Path, rows: list[dict[str, str]], out: Path, args: argparse.Namespace, seed: int
) -> Path:
    """SFT on prompt -> completion rows, loss on the completion only (the coder's own recipe's shape)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from codepref.coder.build import tokenized_rows
    from codepref.generate.tiny import EOS_TOKEN

    if (out / "config.json").exists():
        return out
    if not rows:  # nothing passed: the round leaves the model as it was
        return model
    tokenizer = AutoTokenizer.from_pretrained(model)
    policy = AutoModelForCausalLM.from_pretrained(model)
    config = SFTConfig(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps or -1,  # set: as many steps whatever the row count (equal compute)
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=0,
        max_length=512,
        completion_only_loss=True,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
        seed=seed,
        data_seed=seed,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    data = tokenized_rows(rows, tokenizer, tokenizer.convert_tokens_to_ids(EOS_TOKEN))
    trainer = SFTTrainer(
        model=policy, args=config, train_dataset=Dataset.from_list(data), processing_class=tokenizer
    )
    trainer.train()
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # save_strategy "no": only trainer bookkeeping
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    log = [e for e in trainer.state.log_history if "loss" in e]
    (out / "train_log.json").write_text(json.dumps(log))
    return out


def run(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "settings.json").write_text(json.dumps({k: str(v) for k, v in vars(args).items()}, indent=1))
    prompts = load_problems(args.prompts)[args.offset : args.offset + args.limit]
    evaluated = load_problems(args.eval)[: args.eval_limit]
    model = Path(args.model) if args.model else cached_coder(RECIPES["cpu"])
    rng = random.Random(f"select:{args.seed}")
    start = model
    history = []
    for r in range(1, args.rounds + 1):
        started = time.perf_counter()
        here = out / f"round-{r}"
        here.mkdir(exist_ok=True)
        seed = 1000 * args.seed + r
        pool = here
        if r == 1:  # the starting model's samples: every run of this seed and these prompts shares them
            pool = (
                out.parent
                / f"samples-{model.name}-{args.prompts}-{args.offset}+{args.limit}x{args.samples}-{seed}"
            )
            pool.mkdir(exist_ok=True)
        if args.select == "canonical":  # the ceiling: each prompt's own canonical solution, nothing sampled
            completions = {p.task_id: [p.canonical_solution] for p in prompts}
            verdicts = {k: {c: True for c in v} for k, v in completions.items()}
        else:
            completions = sample(model, prompts, pool / "samples.jsonl", args.samples, 0.8, seed)
            verdicts = judge(args.prompts, prompts, completions, pool / "samples.jsonl", args.workers)
        if args.select == "examples":  # selected by the visible examples, scored by the hidden tests
            shown = example_verdicts(
                prompts, completions, pool / "examples.jsonl", args.workers, args.prompts
            )
            chosen = select(shown, "oracle", rng)
        else:
            chosen = select(verdicts, "oracle" if args.select == "canonical" else args.select, rng)
        texts = {p.task_id: solution_prompt(p.prompt, p.entry_point).text for p in prompts}
        rows = [{"prompt": texts[k], "completion": c} for k, c in chosen]
        model = fine_tune(model, rows, here / "model", args, seed)
        figures = measure(model, args.eval, evaluated, out / f"eval-{r}", seed, args.workers)
        every = sum(len(completions[k]) for k in completions)
        passing = sum(ok for k in completions for c in completions[k] for ok in [verdicts[k][c]])
        history.append(
            {
                "round": r,
                "rows": len(rows),
                "rows_right": sum(verdicts[k][c] for k, c in chosen),
                "prompts_solved": sum(any(v.values()) for v in verdicts.values()),
                "sample_pass_rate": round(passing / every, 4),
                **drop_counts(figures),
                "seconds": round(time.perf_counter() - started),
            }
        )
        print(json.dumps(history[-1]), flush=True)
        (out / "history.json").write_text(json.dumps(history, indent=1))
    # The starting model's measurement, shared by every run beside this one (same model, same split); taken
    # last, so that a `--rounds 0` run started beside the first run can take it meanwhile.
    base = out.parent / f"base-{start.name}-{args.eval}-{len(evaluated)}"
    history.insert(
        0, {"round": 0, **drop_counts(measure(start, args.eval, evaluated, base, 0, args.workers))}
    )
    if not (out / "eval-0").exists():
        (out / "eval-0").symlink_to(base.resolve())
    print(json.dumps(history[0]), flush=True)
    (out / "history.json").write_text(json.dumps(history, indent=1))


def drop_counts(figures: dict) -> dict:
    return {k: round(v, 4) for k, v in figures.items() if k != "counts"}


# --- comparing two measurements ----------------------------------------------------------------------------


def paired_bootstrap(before: dict[str, int], after: dict[str, int], seed: int = 0) -> dict[str, float]:
    """Sampled pass@1 change (after - before) with a 95% percentile interval, resampling problems."""
    keys = sorted(before)
    diff = np.array([(after[k] - before[k]) / 10 for k in keys])
    draws = np.random.default_rng(seed).integers(0, len(keys), size=(BOOTSTRAP_DRAWS, len(keys)))
    means = diff[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"change": float(diff.mean()), "low": float(low), "high": float(high), "problems": len(keys)}


def compare(specs: list[str]) -> None:
    """RUN:ROUND RUN:ROUND [...]: each later one against the first."""

    def counts(spec: str) -> dict[str, int]:
        run_dir, r = spec.rsplit(":", 1)
        return json.loads((Path(run_dir) / f"eval-{r}" / "figures.json").read_text())["counts"]

    base = counts(specs[0])
    for spec in specs[1:]:
        print(spec, json.dumps({k: round(v, 4) for k, v in paired_bootstrap(base, counts(spec)).items()}))


def constant_shape(program: str) -> str | None:
    """The program's AST with every literal blanked: two programs of one shape differ in constants only."""
    import ast

    try:
        tree = ast.parse(program)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = "K"
    return ast.dump(tree)


def errors(specs: list[str], benchmark: str) -> None:
    """RUN:ROUND [...]: of each measurement's failing samples, how many have the canonical solution's shape
    with other constants (the coder's main error: guessing a constant instead of copying it)."""
    problems = {p.task_id: p for p in load_problems(benchmark)}
    for spec in specs:
        run_dir, r = spec.rsplit(":", 1)
        here = Path(run_dir) / f"eval-{r}"
        judged = read_judged(here / "sampled.distinct.jsonl")
        failing = [(k, c) for k, c, passed in judged if not passed]
        completions = read_samples(
            [problems[k] for k in dict.fromkeys(k for k, _, _ in judged)], here / "sampled.jsonl"
        )
        fails = same = 0
        for k, c in failing:  # each distinct failure weighted by how often it was sampled
            count = completions[k].count(c)
            fails += count
            right = constant_shape(problems[k].program(problems[k].canonical_solution))
            same += count * (constant_shape(problems[k].program(c)) == right)
        print(
            spec,
            json.dumps({"failing_samples": fails, "canonical_shape_other_constants": round(same / fails, 3)}),
        )


def coverage(pool: Path, specs: list[str], prompts: str, benchmark: str) -> None:
    """POOL RUN:ROUND [...]: sampled pass@1 of each measurement on three parts of `benchmark`: problems whose
    function shape (primitives and output, constants aside) has a loop prompt the pool solved, one it never
    solved, and none at all (a shape without constants has one function, so a measured problem's solution
    bans every prompt of it)."""
    from codepref.synth.problems import generate_split

    def shapes(split: str) -> dict[str, tuple[str, ...]]:  # prompt text -> its primitives, output too
        problems = generate_split(split.removeprefix("synth-"))
        return {p.prompt: (p.composition.family, *(s.name for s in p.composition.steps)) for p in problems}

    of_prompt = shapes(prompts)
    texts = {p.task_id: p.prompt for p in load_problems(prompts)}
    solved: dict[tuple[str, ...], bool] = {}
    for task_id, _, passed in read_judged(pool / "samples.distinct.jsonl"):
        key = of_prompt[texts[task_id]]
        solved[key] = solved.get(key, False) or passed
    of_measured = shapes(benchmark)
    parts: dict[str, list[str]] = {"solved in pool": [], "unsolved in pool": [], "not in pool": []}
    for problem in load_problems(benchmark):
        key = of_measured[problem.prompt]
        part = "not in pool" if key not in solved else "solved in pool" if solved[key] else "unsolved in pool"
        parts[part].append(problem.task_id)
    for spec in specs:
        run_dir, r = spec.rsplit(":", 1)
        counts = json.loads((Path(run_dir) / f"eval-{r}" / "figures.json").read_text())["counts"]
        figures = {}
        for part, ids in parts.items():
            here = [counts[k] / 10 for k in ids if k in counts]  # a measurement may cover a prefix only
            figures[part] = {
                "problems": len(here),
                "sampled": round(float(np.mean(here)), 4) if here else None,
            }
        print(spec, json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compare", nargs="+", metavar="RUN:ROUND", help="only compare runs already made")
    parser.add_argument("--errors", nargs="+", metavar="RUN:ROUND", help="only classify measured failures")
    parser.add_argument(
        "--coverage",
        nargs="+",
        metavar="POOL RUN:ROUND",
        help="only split measurements by whether the samples in POOL solved a prompt of the same shape",
    )
    parser.add_argument("--select", choices=("oracle", "examples", "random", "canonical"), default="oracle")
    parser.add_argument("--prompts", default="synth-prompts")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=6400)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--epochs", type=float, default=12)
    parser.add_argument(
        "--max-steps", type=int, default=None, help="optimizer steps per round (over --epochs)"
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval", default="synth-validation")
    parser.add_argument("--eval-limit", type=int, default=None)
    parser.add_argument("--model", default=None, help="the starting model (default: the CPU coder)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--out", type=Path, default=Path("benchmarks/out/expert-iteration"))
    args = parser.parse_args()
    if args.compare:
        compare(args.compare)
    elif args.errors:
        errors(args.errors, args.eval)
    elif args.coverage:
        coverage(Path(args.coverage[0]), args.coverage[1:], args.prompts, args.eval)
    else:
        run(args)


if __name__ == "__main__":
    main()
