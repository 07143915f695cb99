#!/usr/bin/env bash
# GPU smoke test and throughput figures for generation and training (one GPU, no network, < 4 minutes).
#
#   PYTHONPATH=. bash benchmarks/gpu_smoke.sh                 # from the project root; needs a CUDA GPU
#   SMOKE_SIZE=tiny SMOKE_ALLOW_CPU=1 bash benchmarks/gpu_smoke.sh   # quick dry run anywhere
#
# Builds a random-init Qwen2 model locally (SMOKE_SIZE=0.5b: Qwen2.5-0.5B's shape with a small locally
# trained tokenizer, ~0.36B parameters; tiny: the 2-layer test model), then in separate processes:
#   1. generation with HFGenerator on CUDA;
#   2. DPO training (full fine-tune, TRL, bf16 + gradient checkpointing where supported) and a LoRA run,
#      on pairs made from the generated samples;
#   3. generation with VLLMGenerator on the same prompts, if vLLM imports (SMOKE_VLLM_EAGER=1 skips
#      compilation and CUDA graphs: faster start, slower decoding).
# A random model never emits EOS, so every sample runs to max_tokens: tokens/s is pure decode throughput.
# Training figures count preference pairs (one chosen + one rejected sequence) as samples.
# Prints one line per figure and, when $OUT is set, writes $OUT/gpu_smoke.json.
set -euo pipefail

cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
SIZE="${SMOKE_SIZE:-0.5b}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/codepref-gpu-smoke.XXXXXX")"
RESULTS="${OUT:-$WORK}"
mkdir -p "$RESULTS"
trap 'rm -rf "$WORK"' EXIT

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python - <<'EOF'
import importlib.util, sys
import torch, transformers
print(f"python {sys.version.split()[0]}  torch {torch.__version__}  transformers {transformers.__version__}  "
      f"cuda {torch.cuda.is_available()}", flush=True)
for name in ("trl", "peft", "accelerate", "datasets", "vllm"):
    spec = importlib.util.find_spec(name)
    version = __import__(name).__version__ if spec else "missing"
    print(f"  {name} {version}", flush=True)
EOF

cat > "$WORK/smoke.py" <<'EOF'
"""Stages of benchmarks/gpu_smoke.sh, one process each: build | generate BACKEND | train MODE."""
import json
import os
import sys
import time
from pathlib import Path

WORK = Path(os.environ["SMOKE_WORK"])
RESULTS = Path(os.environ["SMOKE_RESULTS"])
SIZE = os.environ.get("SMOKE_SIZE", "0.5b")
MODEL = WORK / "model"
SHAPES = {  # Qwen2.5-0.5B's transformer shape; the tiny test model
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=4096),
    "tiny": dict(hidden_size=8, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                 num_key_value_heads=1, vocab_size=1024),
}
N_PROMPTS, N_SAMPLES, MAX_TOKENS = (64, 8, 256) if SIZE != "tiny" else (8, 4, 32)


def record(name, **figures):
    path = RESULTS / "gpu_smoke.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"RESULT {name}: " + "  ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


def require_gpu():
    import torch

    if not torch.cuda.is_available() and not os.environ.get("SMOKE_ALLOW_CPU"):
        sys.exit("gpu_smoke: no CUDA device visible (set SMOKE_ALLOW_CPU=1 for a CPU dry run)")


def build():
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from codepref.generate.tiny import EOS_TOKEN, train_tokenizer

    shape = dict(SHAPES[SIZE])
    tokenizer = train_tokenizer(shape.pop("vocab_size"))
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = Qwen2Config(vocab_size=len(tokenizer), max_position_embeddings=4096, tie_word_embeddings=True,
                         bos_token_id=None, eos_token_id=eos, pad_token_id=eos, **shape)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16 if SIZE != "tiny" else torch.float32)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos)
    model.save_pretrained(MODEL)
    tokenizer.save_pretrained(MODEL)
    params = sum(p.numel() for p in model.parameters())
    record("model", size=SIZE, parameters=params, vocab=len(tokenizer))


def prompts():
    """Real code prompts: headers and docstrings of standard-library functions."""
    import importlib
    import inspect
    import textwrap

    found = []
    for name in ("textwrap", "heapq", "statistics", "functools", "fractions", "difflib", "shlex", "calendar"):
        module = importlib.import_module(name)
        for _, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            lines = textwrap.dedent(inspect.getsource(fn)).splitlines(keepends=True)
            found.append("".join(lines[:8]))
    found.sort()
    return (found * (N_PROMPTS // max(len(found), 1) + 1))[:N_PROMPTS]


def generate(backend):
    require_gpu()
    from codepref.generate import GenerationRequest, make_generator

    options = {"batch_size": 256}
    if backend == "vllm":
        options = {"gpu_memory_utilization": 0.6, "max_model_len": 2048,
                   "enforce_eager": os.environ.get("SMOKE_VLLM_EAGER") == "1"}
    started = time.perf_counter()
    generator = make_generator(backend, str(MODEL), **options)
    load_s = time.perf_counter() - started
    texts = prompts()
    warm = GenerationRequest(prompts=tuple(texts[:4]), n=2, max_tokens=16, seed=0)
    generator.generate(warm)  # compile / cache warm-up, not timed
    request = GenerationRequest(prompts=tuple(texts), n=N_SAMPLES, max_tokens=MAX_TOKENS, temperature=0.8,
                                top_p=0.95, seed=0, logprobs=True)
    started = time.perf_counter()
    result = generator.generate(request)
    seconds = time.perf_counter() - started
    tokens = sum(c.num_tokens for samples in result for c in samples)
    assert len(result) == len(texts) and all(len(s) == N_SAMPLES for s in result), "wrong sample counts"
    assert all(c.token_logprobs is not None and len(c.token_logprobs) == c.num_tokens
               for s in result for c in s), "log-probs missing"
    record(f"generate_{backend}", device=generator.info.device, prompts=len(texts), samples=len(texts) * N_SAMPLES,
           tokens=tokens, seconds=round(seconds, 2), tokens_per_s=round(tokens / seconds, 1),
           engine_load_s=round(load_s, 1))
    if backend == "hf" or not (WORK / "pairs.jsonl").exists():
        with (WORK / "pairs.jsonl").open("w") as fh:
            for prompt, samples in zip(texts, result):
                fh.write(json.dumps({"prompt": prompt, "chosen": samples[0].text, "rejected": samples[1].text,
                                     "source": backend}) + "\n")
    generator.close()


def train(mode):
    require_gpu()
    from transformers import TrainerCallback

    from codepref.train.config import TrainConfig
    from codepref.train.trainer import train

    steps = 12 if mode == "full" else 6
    batch = 8 if SIZE != "tiny" else 2

    class StepTimer(TrainerCallback):
        """Wall time of the steps after the first (which pays for CUDA kernels' first launch)."""

        def __init__(self):
            self.marks = []

        def on_step_end(self, args, state, control, **kwargs):
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.marks.append(time.perf_counter())

    timer = StepTimer()
    cfg = TrainConfig(loss="dpo", learning_rate=1e-5, max_steps=steps, batch_size=batch, warmup_steps=0,
                      max_length=512, lora={"r": 16, "alpha": 32} if mode == "lora" else None)
    out = WORK / f"trained-{mode}"
    started = time.perf_counter()
    result = train(WORK / "pairs.jsonl", str(MODEL), out, cfg, callbacks=[timer])
    total_s = time.perf_counter() - started
    steady = (len(timer.marks) - 1) * batch / (timer.marks[-1] - timer.marks[0]) if len(timer.marks) > 1 else 0.0
    log = [r for r in json.loads((out / "training_log.json").read_text()) if "loss" in r]
    assert result.steps == steps and (out / "config.json").exists() and (out / "training_log.json").exists()
    resolved = json.loads((out / "train_config.json").read_text())["resolved"]
    record(f"train_dpo_{mode}", steps=result.steps, batch=batch, device=resolved["device"], bf16=resolved["bf16"],
           gradient_checkpointing=resolved["gradient_checkpointing"],
           samples_per_s_steady=round(steady, 2),
           samples_per_s_trainer=round(result.metrics.get("train_samples_per_second", 0.0), 2),
           total_s_with_loading=round(total_s, 1), first_loss=round(log[0]["loss"], 4),
           last_loss=round(log[-1]["loss"], 4), last_margin=round(log[-1].get("rewards/margins", 0.0), 4),
           plot=(out / "training_log.png").exists())


if __name__ == "__main__":
    stage, *rest = sys.argv[1:]
    {"build": build, "generate": generate, "train": train}[stage](*rest)
EOF

export SMOKE_WORK="$WORK" SMOKE_RESULTS="$RESULTS" SMOKE_SIZE="$SIZE"
step() { echo "== $* ($(date +%T))"; }

step "build a random-init Qwen2 ($SIZE)"
python "$WORK/smoke.py" build
step "generate: transformers (HFGenerator)"
python "$WORK/smoke.py" generate hf
step "train: DPO, full fine-tune"
python "$WORK/smoke.py" train full
step "train: DPO, LoRA"
python "$WORK/smoke.py" train lora
# vLLM last, under its own time limit: its engine start-up (compilation, CUDA graphs) is the slowest part,
# and the figures above are kept even if it fails. A failure still fails the script.
if python -c "import vllm" 2>/dev/null; then
  step "generate: vLLM"
  timeout "${SMOKE_VLLM_TIMEOUT_S:-150}" python "$WORK/smoke.py" generate vllm
else
  echo "vLLM not importable: VLLMGenerator skipped"
fi
step "done"
cat "$RESULTS/gpu_smoke.json"
