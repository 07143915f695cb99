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

.PHONY: install sandbox-image test bench lint eval matrix pairs train run smoke

install:
	$(PYTHON) -m pip install -e '.[dev]'

sandbox-image:
	codepref sandbox build --offline

test:
	$(PYTHON) -m pytest -q

bench:
	$(PYTHON) benchmarks/sandbox_throughput.py
	$(PYTHON) benchmarks/rank_speed.py
	$(PYTHON) benchmarks/eval_vs_reference.py
	$(PYTHON) benchmarks/rerank_codet.py

lint:
	ruff check codepref tests benchmarks sandbox
	ruff format --check codepref tests benchmarks sandbox

smoke:
	codepref sandbox smoke --workers $(WORKERS)

eval:
	codepref eval $(BENCH) $(SAMPLES) --workers $(WORKERS)

matrix:
	codepref matrix $(SAMPLES) -o $(OUT)/matrix.jsonl --workers $(WORKERS)

pairs:
	codepref pairs --method $(METHOD) $(MATRIX) -o $(OUT)/pairs

train:
	codepref train --pairs $(PAIRS) --model $(MODEL) -o $(OUT)/model

run:
	codepref run $(CONFIG)
