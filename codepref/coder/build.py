"""Build the small coder: a byte-level BPE tokenizer trained on synth-train text, then a random-init Qwen2
model trained from scratch with TRL's `SFTTrainer` to write both things the loop samples from it:

* solutions: the problem's prompt (signature and docstring) continued by the function body, exactly the
  completion-style prompt of `codepref.tasks.prompts.solution_prompt`;
* tests: the CodeT-style test prompt of `codet_test_prompt` (examples removed, `pass`, a comment, a dangling
  `assert `) continued by assert lines, here the problem's hidden asserts.

Only the first `sft_problems` problems of synth-train are used; the loop's prompts come after them, so the
loop never samples a problem whose solution the model was trained on. Built once per recipe (its hash names
the cache entry) under $XDG_CACHE_HOME/codepref/models.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from codepref.coder.recipe import CPU_RECIPE, CoderRecipe
from codepref.generate.tiny import EOS_TOKEN, build_once, default_cache_dir, qwen2_config, train_tokenizer
from codepref.synth.problems import generate_split
from codepref.tasks.prompts import codet_test_prompt, solution_prompt

MARKER = "coder_recipe.json"


def sft_rows(recipe: CoderRecipe) -> list[dict[str, str]]:
    """Prompt-completion rows: one solution and one test-writing example per training problem."""
    rows = []
    for problem in generate_split(
        "train", recipe.synth_seed, size=recipe.sft_problems
    ):  # a prefix of the split
        rows.append(
            {
                "prompt": solution_prompt(problem.prompt, problem.entry_point).text,
                "completion": problem.solution,
            }
        )
        test = codet_test_prompt(problem.prompt, problem.entry_point)
        asserts = [t.removeprefix(test.prefix) for t in problem.tests[: recipe.tests_per_example]]
        rows.append({"prompt": test.text, "completion": f"\n{test.prefix}".join(asserts) + "\n"})
    return rows


def tokenized_rows(rows: list[dict[str, str]], tokenizer: Any, eos_id: int) -> list[dict[str, list[int]]]:
    """Prompt and completion tokenized apart, as the loop's generator sees them: the test prompt ends in
    "assert " and its own trailing-space token, which tokenizing prompt + completion together would merge
    into the next word, training on a context the model never gets at sampling time."""
    out = []
    for row in rows:
        prompt = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
        completion = tokenizer(row["completion"], add_special_tokens=False)["input_ids"] + [eos_id]
        out.append(
            {"input_ids": prompt + completion, "completion_mask": [0] * len(prompt) + [1] * len(completion)}
        )
    return out


def build_coder(out_dir: str | Path, recipe: CoderRecipe = CPU_RECIPE, progress: bool = True) -> Path:
    """Train the recipe's tokenizer and model and `save_pretrained` both into `out_dir`."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, GenerationConfig, Qwen2ForCausalLM, set_seed
    from trl import SFTConfig, SFTTrainer

    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = sft_rows(recipe)
    tokenizer = train_tokenizer(recipe.vocab_size, [r["prompt"] + r["completion"] for r in rows])
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = qwen2_config(tokenizer, recipe, max_position_embeddings=2048)
    # Save and reload the tokenizer: AutoTokenizer gives the generator Qwen2's tokenizer class, so train
    # with exactly that object.
    config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    set_seed(recipe.seed)
    if recipe.device == "cpu":
        torch.set_num_threads(recipe.cpu_threads)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=eos_id)
    cuda = recipe.device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise ValueError(f"recipe {recipe.name!r} needs a CUDA GPU and none is visible")
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=recipe.max_steps,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=recipe.warmup_steps,
        weight_decay=recipe.weight_decay,
        max_length=recipe.max_length,
        completion_only_loss=True,
        train_sampling_strategy="group_by_length",  # batches of similar lengths: less padding to compute
        logging_steps=max(1, recipe.max_steps // 20),
        save_strategy="no",
        report_to="none",
        seed=recipe.seed,
        data_seed=recipe.seed,
        use_cpu=not cuda,
        bf16=cuda,
        disable_tqdm=not progress,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(tokenized_rows(rows, tokenizer, eos_id)),
        processing_class=tokenizer,
    )
    result = trainer.train()
    tokens_per_row = sum(len(ids) for ids in trainer.train_dataset["input_ids"]) / len(trainer.train_dataset)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)  # save_strategy "no": only trainer bookkeeping
    trainer.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    wall = time.perf_counter() - started
    record = {
        **asdict(recipe),
        "key": recipe.key(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "sft_rows": len(rows),
        "tokens_trained": round(tokens_per_row * recipe.batch_size * recipe.max_steps),
        "train_loss": result.metrics.get("train_loss"),
        "train_seconds": round(result.metrics.get("train_runtime", 0.0), 1),
        "build_seconds": round(wall, 1),
        "log": [entry for entry in trainer.state.log_history if "loss" in entry],
    }
    (out / MARKER).write_text(json.dumps(record, indent=1) + "\n")
    return out


def cached_coder(
    recipe: CoderRecipe = CPU_RECIPE, cache_root: str | Path | None = None, progress: bool = True
) -> Path:
    """The recipe's model directory, built on first use (a few minutes for the CPU recipe)."""
    root = Path(cache_root) if cache_root is not None else default_cache_dir() / "models"
    final = root / f"synth-coder-{recipe.name}-{recipe.key()}"
    return build_once(final, MARKER, lambda staging: build_coder(staging, recipe, progress))


def build_record(model_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / MARKER).read_text(encoding="utf-8"))
