"""Expert iteration on the synth coder, issue 24's stage 1: fine-tuning on the coder's own selected samples
(rejection-sampling fine-tuning) of unlabeled prompts of the target compositions. The defaults are the
setting chosen on synth-validation (6,400 `synth-prompts` x 4 samples, one round, SFT at lr 1e-3 for 12
epochs), under which the oracle's samples raise held-out pass@1 where DPO on a few hundred pairs did not.

Each round samples `--samples` completions of each loop prompt from the current model (`--engine`), judges
every distinct one against the hidden tests in the sandbox, and fine-tunes the current model (SFT,
completion tokens only, as the coder itself was trained) on the selected ones:

* `oracle`: every distinct sample that passes its problem's hidden tests;
* `examples`, without labels: every distinct sample that passes the prompt's own `>>>` examples;
* `examples-sole`: such a sample only when it is the one distinct sample of its prompt that passes them
  (examples several programs pass say little; the report's `--precision` measures how often it is right);
* `codet`, `codedpo`, `dstc`, without labels: each prompt's top-ranked distinct samples where the ranking
  clears the trust gate (`--gate`), over their matrix against the model's own sampled tests and the prompt's
  examples; the round's `gates.json` gives rows and right rows at other gates on the loop prompts' hidden
  tests (a training split, never the measured one);
* `random`: the control, as many distinct samples as `oracle` would take, drawn whatever their verdict;
* `canonical`: a diagnostic ceiling, not a pair source: each prompt's canonical solution.

`--max-steps` gives every source the same training compute. After every round it measures sampled pass@1
and pass@10 (T=0.8) and greedy pass@1 on `--eval`, with each problem's count of passing samples for
benchmarks/expert_iteration_report.py. Choose settings on synth-validation; synth-heldout is for measuring.

    python benchmarks/expert_iteration.py --select oracle --eval synth-validation -o OUT/oracle-s0
    python benchmarks/expert_iteration.py --select dstc --max-steps 572 --eval synth-validation -o OUT/dstc-s0
    python benchmarks/expert_iteration_report.py --compare OUT/oracle-s0:0 OUT/oracle-s0:1 OUT/dstc-s0:1
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
from _expert_iteration_sampling import example_verdicts, judge, measure, model_label, pool_name, sample

from codepref.coder import RECIPES, cached_coder
from codepref.data import load_problems
from codepref.evaluate.passk import paired_bootstrap
from codepref.matrix.extraction import DEFAULT_TEST_TIMEOUT_S
from codepref.pairs.baselines import oracle_rows, random_rows
from codepref.pairs.config import DEFAULT_MIN_TOP_CONFIDENCE
from codepref.synth.problems import of_withheld_keys
from codepref.tasks import make_task
from codepref.tasks.prompts import solution_prompt

RANKERS = ("codet", "codedpo", "dstc")


# --- selecting -------------------------------------------------------------------------------------------


def sole_passers(shown: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Example verdicts kept only where they single out one distinct sample of the prompt."""
    return {k: v if sum(v.values()) == 1 else dict.fromkeys(v, False) for k, v in shown.items()}


def ranker_tops(
    method: str, problems: list[Any], completions: dict, tests: dict, out: Path, workers: int
) -> dict[str, tuple[Any, set[str]]]:
    """task_id -> (the problem's `RankedProblem`, the completions in its top set).

    The ranker sees what the loop's matrix stage builds (codepref.matrix.matrix_problem, with the
    efficacy config's settings): the round's sampled tests, up to 5 asserts per sample, and the prompt's own
    examples counted 30 times each; no hidden test."""
    from codepref.matrix import build_matrices, load_matrices, matrix_problem
    from codepref.rank.ranked import execution_judges, rank_matrices
    from codepref.sandbox import Sandbox
    from codepref.sandbox.types import limits_profile

    matrix_file = out / "matrix.jsonl"
    if not matrix_file.exists() or sum(1 for _ in open(matrix_file)) < len(problems):
        shown = [
            matrix_problem(
                make_task(p),
                "completion",
                {"completions": [{"text": c} for c in completions[p.task_id]]},
                {"completions": [{"text": t} for t in tests[p.task_id]]},
                tests_per_sample=5,
                example_weight=30,
            )
            for p in problems
        ]
        with Sandbox(backend="process", workers=workers, limits=limits_profile("pipeline")) as sandbox:
            build_matrices(shown, matrix_file, sandbox, test_timeout_s=DEFAULT_TEST_TIMEOUT_S, progress=False)
    matrices = list(load_matrices(matrix_file))
    return {
        matrix.task_id: (ranked, {completions[matrix.task_id][i] for i in ranked.top})
        for matrix, ranked in zip(matrices, rank_matrices(matrices, execution_judges(method)), strict=True)
    }


def trusted_tops(tops: dict, completions: dict, gate: float) -> dict:
    """task_id -> {completion: in a top set resting on execution evidence whose ranking the gate trusts}."""
    return {
        k: {c: ranked.has_signal and ranked.trusted(gate) and c in top for c in completions[k]}
        for k, (ranked, top) in tops.items()
    }


def gate_sweep(tops: dict, completions: dict, verdicts: dict) -> list[dict]:
    """Rows kept and rows right (hidden tests of the loop prompts, a training split) at gates spread over the
    rankings' top confidences: what a gate is chosen on, never the measured split."""
    confidences = sorted({ranked.top_confidence for ranked, _ in tops.values() if ranked.has_signal})
    gates = sorted({-0.5, *np.quantile(confidences, np.linspace(0, 0.9, 10)).round(4)}) if confidences else []
    sweep = []
    for gate in gates:
        kept = [(k, c) for k, v in trusted_tops(tops, completions, gate).items() for c, ok in v.items() if ok]
        sweep.append({"gate": float(gate), "rows": len(kept), "right": sum(verdicts[k][c] for k, c in kept)})
    return sweep


# --- training --------------------------------------------------------------------------------------------


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
    model = Path(args.model) if args.model else cached_coder(replace(RECIPES["cpu"], seed=args.coder_seed))
    rng = random.Random(f"select:{args.seed}")
    # Prompts of withheld compositions are sampled and judged with the rest but never selected.
    withheld = of_withheld_keys(prompts, args.prompts, args.withhold_keys)
    start, label = model, model_label(model, given=bool(args.model))
    history = []
    for r in range(1, args.rounds + 1):
        started = time.perf_counter()
        here = out / f"round-{r}"
        here.mkdir(exist_ok=True)
        seed = 1000 * args.seed + r
        pool = here
        if r == 1:  # the starting model's samples: every run of this seed and these prompts shares them
            pool = out.parent / pool_name(label, args, seed)
            pool.mkdir(exist_ok=True)
        if args.select == "canonical":  # the ceiling: each prompt's own canonical solution, nothing sampled
            completions = {p.task_id: [p.canonical_solution] for p in prompts}
            verdicts = {k: {c: True for c in v} for k, v in completions.items()}
        else:
            completions = sample(
                model, prompts, pool / "samples.jsonl", args.samples, 0.8, seed, engine=args.engine
            )
            verdicts = judge(args.prompts, prompts, completions, pool / "samples.jsonl", args.workers)
        if args.select.startswith("examples"):  # selected by the visible examples, scored by the hidden tests
            shown = example_verdicts(
                prompts, completions, pool / "examples.jsonl", args.workers, args.prompts
            )
            chosen = oracle_rows(sole_passers(shown) if args.select == "examples-sole" else shown)
        elif args.select in RANKERS:  # selected by a ranker over sampled tests and examples, no label
            tests = sample(
                model, prompts, pool / "tests.jsonl", args.samples, 0.8, seed, tests=True, engine=args.engine
            )
            gate = DEFAULT_MIN_TOP_CONFIDENCE[args.select] if args.gate is None else args.gate
            tops = ranker_tops(args.select, prompts, completions, tests, pool, args.workers)
            (here / "gates.json").write_text(json.dumps(gate_sweep(tops, completions, verdicts), indent=1))
            chosen = oracle_rows(trusted_tops(tops, completions, gate))
        elif args.select == "random":
            chosen = random_rows({k: v for k, v in verdicts.items() if k not in withheld}, rng)
        else:
            chosen = oracle_rows(verdicts)
        chosen = [(k, c) for k, c in chosen if k not in withheld]
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
    base = out.parent / f"base-{label}-{args.eval}-{len(evaluated)}"
    history.insert(
        0, {"round": 0, **drop_counts(measure(start, args.eval, evaluated, base, 0, args.workers))}
    )
    if not (out / "eval-0").exists():
        (out / "eval-0").symlink_to(base.resolve())
    print(json.dumps(history[0]), flush=True)
    (out / "history.json").write_text(json.dumps(history, indent=1))


def summarize(out: Path, sources: list[str]) -> dict:
    """OUT/figures.json: each source's last round against the base (sampled pass@1 change, 95% paired
    bootstrap interval over problems) and against the random control where it ran (the same, paired between
    the two runs): differences within one run, what the CI gate checks."""

    def last(source: str) -> tuple[dict, dict]:
        history = json.loads((out / source / "history.json").read_text())
        counts = json.loads((out / source / f"eval-{history[-1]['round']}" / "figures.json").read_text())
        return history[-1], counts["counts"]

    base = json.loads((out / sources[0] / "eval-0" / "figures.json").read_text())
    figures: dict[str, Any] = {"base": drop_counts(base), "sources": {}}
    random_counts = last("random")[1] if "random" in sources else None
    for source in sources:
        row, counts = last(source)
        change = paired_bootstrap(base["counts"], counts, 10)
        entry = {**row, "precision": round(row["rows_right"] / max(1, row["rows"]), 4), "change": change}
        if random_counts is not None and source != "random":
            entry["minus_random"] = paired_bootstrap(random_counts, counts, 10)
        figures["sources"][source] = entry
        print(source, json.dumps(entry), flush=True)
    (out / "figures.json").write_text(json.dumps(figures, indent=1))
    return figures


def drop_counts(figures: dict) -> dict:
    return {k: round(v, 4) for k, v in figures.items() if k != "counts"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--select",
        nargs="+",
        choices=("oracle", "examples", "examples-sole", *RANKERS, "random", "canonical"),
        default=["oracle"],
        help="the source; several run one after another in OUT/SOURCE, sharing the round-1 pool, and OUT/"
        "figures.json compares them",
    )
    parser.add_argument(
        "--gate", type=float, default=None, help="a ranker's trust gate (default: codepref.pairs' for it)"
    )
    parser.add_argument("--prompts", default="synth-prompts")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=6400)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument(
        "--withhold-keys",
        type=float,
        default=0.0,
        help="share of the target compositions whose prompts are never selected (codepref.synth's "
        "withheld_keys): their held-out problems measure transfer (expert_iteration_report.py --withheld)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--engine",
        choices=("hf", "vllm"),
        default="hf",
        help="what samples the loop's pools (vllm: its CPU build); the measurement samples with hf always, "
        "so every run's figures compare with the shared base",
    )
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
    parser.add_argument(
        "--coder-seed", type=int, default=0, help="the CPU coder's recipe seed (another build)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--out", type=Path, default=Path("benchmarks/out/expert-iteration"))
    args = parser.parse_args()
    if not 0 <= args.withhold_keys <= 1:
        parser.error(f"--withhold-keys: a share in [0, 1], got {args.withhold_keys}")
    if len(args.select) == 1:
        run(argparse.Namespace(**{**vars(args), "select": args.select[0]}))
        return
    for source in args.select:
        run(argparse.Namespace(**{**vars(args), "select": source, "out": args.out / source}))
    summarize(args.out, args.select)


if __name__ == "__main__":
    main()
