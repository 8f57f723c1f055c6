# spikeflow: every set-up step lives here, so a fresh clone needs only `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The project's own venvs get this torch first (a CPU build from local disk), so that installing
# the project, which asks only for a range, never pulls a CUDA build.
TORCH ?= torch==2.13.0
# pytest-xdist workers for `make test` ("auto": one per core)
WORKERS ?= auto

.PHONY: demo test test-matrix test-threads test-slow bench bench-gpu-smoke lint typecheck check \
	wheel-check format fashion convert coverage audit clean clean-cache docs docs-serve docs-check

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found (Python 3.11 is required)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet '$(TORCH)'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spikeflow demo --out runs/demo

# Tests run in random order (pytest-randomly prints the seed: rerun one order with
# --randomly-seed=N, none with -p no:randomly), whole files per worker (a file's kernels compile
# in one process; workers share numba's on-disk cache, see spikeflow/_numba_cache.py).
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not matrix" -n $(WORKERS) --dist loadfile

# the kernel variant combinations beyond the default suite's pairwise cover (tests/variant_matrix.py)
test-matrix: $(STAMP)
	$(BIN)/python -m pytest -m "matrix and not slow" -n $(WORKERS) --dist loadfile

# the kernels under other numba thread counts (block sizes and the parallel split depend on them)
THREAD_COUNTS ?= 1 3 6 16
test-threads: $(STAMP)
	for n in $(THREAD_COUNTS); do \
	  echo "NUMBA_NUM_THREADS=$$n"; \
	  NUMBA_NUM_THREADS=$$n $(BIN)/python -m pytest -q -x -m "not slow and not matrix" \
	    tests/kernels/test_kernels_cpu.py || exit 1; \
	done

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow and not browser"

# line coverage of src/ over the default suite; missing lines listed per file
coverage: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -p no:randomly --cov=spikeflow --cov-report=term-missing:skip-covered

# The default suite's reach over the public surface (tests/audit/report.py): every public function,
# class and method has a body line that ran, every sub-command and flag of `spikeflow` was given in
# a call of spikeflow.cli.main that returned 0 (tests/audit/plugin.py records them per worker).
# Prints what is left and fails if anything is; a failing test fails it too, after the report.
AUDIT := build/audit
audit: $(STAMP)
	rm -rf $(AUDIT) && mkdir -p $(AUDIT)/flags
	status=0; \
	SPIKEFLOW_AUDIT_FLAGS=$(CURDIR)/$(AUDIT)/flags $(BIN)/python -m pytest -q -m "not slow" \
	  -n $(WORKERS) --dist loadfile -p tests.audit.plugin --cov=spikeflow \
	  --cov-report=json:$(AUDIT)/coverage.json || status=$$?; \
	$(BIN)/python -m tests.audit.report --coverage $(AUDIT)/coverage.json --flags $(AUDIT)/flags \
	  || status=1; \
	exit $$status

# Fashion-MNIST (60,000 + 10,000) from Debian's dataset-fashion-mnist; hours on a 2-core CPU,
# about 70 s on one H200: make fashion FASHION_ARGS="--device cuda"
FASHION_DIR := /usr/share/datasets/fashion-mnist
fashion: $(STAMP)
	test -d $(FASHION_DIR) || { apt-get update && apt-get install -y dataset-fashion-mnist; }
	$(BIN)/spikeflow train --dataset fashion_mnist --model cnn --encoder direct --num-steps 8 \
	  --channels 32,64 --hidden 256 --dropout 0.2 --epochs 12 --batch-size 128 --lr 2e-3 \
	  --out runs/fashion $(FASHION_ARGS)

# ANN-to-SNN conversion on the digits (MLP, percentile normalisation; then QCFS training)
convert: $(STAMP)
	$(BIN)/spikeflow convert --dataset digits --model mlp --epochs 60 --normalization percentile \
	  --num-steps 4,8,16,32,64,128 --out runs/convert-digits-mlp
	$(BIN)/spikeflow convert --dataset digits --model mlp --epochs 60 --activation qcfs --levels 8 \
	  --num-steps 4,8,16,32,64,128 --out runs/convert-digits-mlp-qcfs

# The documentation site (mkdocs.yml): the tutorials under docs/tutorials/ run during the build
# (results kept in build/docs/ until a script or the library changes); --strict fails on any
# warning. docs-check opens every page of the built site in headless chromium (Debian's).
DOCS_STAMP := $(VENV)/.installed-docs
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[docs-check]'
	touch $@

docs: $(DOCS_STAMP)
	$(MKDOCS) build --strict

docs-serve: $(DOCS_STAMP)
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:8000

docs-check: docs
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium chromium-driver; }
	$(BIN)/python -m pytest -q -p no:randomly -m browser tests/docs/test_site.py

# Peer libraries (snnTorch, SpikingJelly, Norse, Brian2) live in their own environment, never in .venv.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml benchmarks/requirements.txt
	test -x $(BENCH)/bin/python || $(PY) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet '$(TORCH)'
	$(BENCH)/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt
	touch $@

bench: $(BENCH)/.installed
	$(BENCH)/bin/python benchmarks/run_all.py

# the GPU benchmark scripts end to end at tiny sizes on this machine (checks them, measures nothing)
# (gpu_recurrent.py runs triton's interpreter: triton comes with the dev venv's [gpu] extra)
bench-gpu-smoke: $(BENCH)/.installed $(STAMP)
	$(BENCH)/bin/python benchmarks/gpu_bandwidth.py --smoke --repeats 2 --out $(BENCH)/gpu-smoke
	$(BENCH)/bin/python benchmarks/gpu_peers.py --smoke --out $(BENCH)/gpu-smoke
	$(BIN)/python benchmarks/gpu_recurrent.py --smoke --repeats 1 --out $(BENCH)/gpu-smoke

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

# mypy over src/ (settings in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test test-threads

# The wheel installs next to a torch the user already has and leaves it alone: a fresh venv with
# another torch build ($(OTHER_TORCH), a CUDA build on this machine), then the wheel, then a check
# that torch is unchanged and a LIF layer runs (on the fused numba kernel).
OTHER_TORCH ?= 2.14.1
WHEEL_VENV := build/wheel-check
wheel-check: $(STAMP)
	rm -rf dist $(WHEEL_VENV)
	$(BIN)/python -m build --wheel --outdir dist .
	$(PY) -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/python -m pip install --quiet 'torch==$(OTHER_TORCH)'
	$(WHEEL_VENV)/bin/python -m pip install --quiet dist/spikeflow-*.whl
	cd $(WHEEL_VENV) && bin/python -c "import torch, spikeflow as sf; \
	  assert torch.__version__.split('+')[0] == '$(OTHER_TORCH)', torch.__version__; \
	  assert sf.__file__.startswith('$(CURDIR)/$(WHEEL_VENV)/'), sf.__file__; \
	  s, st = sf.nn.LIF(beta=0.5)(torch.tensor([1.5, 0.5, 0.75]).view(3, 1, 1)); \
	  assert s.flatten().tolist() == [1.0, 0.0, 1.0], s; \
	  assert abs(st.v.item() - 0.125) < 1e-6, st.v; \
	  print('wheel-check: torch', torch.__version__, 'kept; spikeflow', sf.__version__, 'runs')"

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

# numba's on-disk cache (kernels decorated with spikeflow._numba_cache.njit) is keyed on the
# source of every module a kernel imports, so an edit recompiles by itself: this only frees disk
clean-cache:
	find src -path '*__pycache__*' \( -name '*.nbi' -o -name '*.nbc' -o -name '*.lock' \) -delete

clean: clean-cache
	rm -rf $(VENV) runs .pytest_cache build dist site site-check
