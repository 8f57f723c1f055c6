# spikeflow: every set-up step lives here, so a fresh clone needs only `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow coverage bench lint format fashion convert clean clean-cache

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,temporal]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spikeflow demo --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# line coverage of src/ over the default suite; missing lines listed per file
coverage: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -p no:randomly --cov=spikeflow --cov-report=term-missing:skip-covered

# Fashion-MNIST (60,000 + 10,000) from Debian's dataset-fashion-mnist; hours on a 2-core CPU,
# about 70 s on one H200: make fashion FASHION_ARGS="--device cuda"
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion: $(STAMP)
	test -d $(FASHION_DIR) || { apt-get update && apt-get install -y dataset-fashion-mnist; }
	$(BIN)/spikeflow train --dataset fashion_mnist --model cnn --encoder direct --timesteps 8 \
	  --channels 32,64 --hidden 256 --dropout 0.2 --epochs 12 --batch-size 128 --lr 2e-3 \
	  --out runs/fashion $(FASHION_ARGS)

# ANN-to-SNN conversion on the digits (MLP, percentile normalisation; then QCFS training)
convert: $(STAMP)
	$(BIN)/spikeflow convert --dataset digits --model mlp --epochs 60 --norm percentile \
	  --timesteps 4,8,16,32,64,128 --out runs/convert-digits-mlp
	$(BIN)/spikeflow convert --dataset digits --model mlp --epochs 60 --activation qcfs --levels 8 \
	  --timesteps 4,8,16,32,64,128 --out runs/convert-digits-mlp-qcfs

# Peer libraries (snnTorch, SpikingJelly, Norse, Brian2) live in their own environment, never in .venv.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml benchmarks/requirements.txt
	test -x $(BENCH)/bin/python || $(PY) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt
	touch $@

bench: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

# numba's on-disk cache is keyed on each function's own file: after editing a kernel that another
# file's cached function inlines (sim/neuron_kernels.py into sim/engine.py), run `make clean-cache`
clean-cache:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) runs .pytest_cache
