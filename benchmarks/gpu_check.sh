#!/usr/bin/env bash
# GPU check of the triton kernels, one prepared run (about 10-15 minutes, much of it compiling
# kernels), from the repository root:
#
#   OUT=/some/dir bash benchmarks/gpu_check.sh          # PEERS=0 skips the peer comparison
#
# Needs an NVIDIA GPU and python3 with torch, triton, numpy and numba; spikeflow is used from
# src/ (PYTHONPATH), nothing is installed. The peers (spikingjelly, norse, snntorch) are used where
# importable; a missing one is a row saying why. Writes into $OUT (default ./gpu_out):
#   env.txt            GPU model, driver, library versions
#   tests.txt          triton-vs-reference tests on CUDA (pytest if present: LIF family, recurrent
#                      and AdLIF kernels; else a built-in grid of the LIF family only)
#   gpu_timing.md      LIF forward+backward and inference: reference vs triton (+ .json)
#   gpu_recurrent.md   RLIF dense / one-to-one and AdLIF at [250,32,256], fwd+bwd: triton vs the
#                      reference scan and a plain torch loop (+ .json)
#   gpu_bandwidth.md   bytes moved per second at [500,16,16384] and [100,64,1024] vs a copy (+ .json)
#   gpu_peers.md       LIF and Linear+LIF at [500,16,16384], Fashion-MNIST conv epoch (+ .json)
# Exit status: non-zero if any correctness check failed.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_out}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONPATH="src:tests/kernels${PYTHONPATH:+:$PYTHONPATH}"
status=0

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$PY" -c 'import sys, torch, triton, numpy; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__, "numpy", numpy.__version__)'
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

if "$PY" -c 'import pytest' 2>/dev/null; then
  timeout 420 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" tests/kernels/test_kernels_triton.py \
    tests/kernels/test_triton_recurrent.py tests/kernels/test_triton_adlif.py \
    > "$OUT/tests.txt" 2>&1 || status=1
else
  timeout 150 "$PY" - > "$OUT/tests.txt" 2>&1 <<'EOF' || status=1
# No pytest here: the same comparisons as tests/kernels/test_kernels_triton.py, on CUDA.
import itertools, sys, traceback
import torch
from kernel_cases import compare, drive, make_model, random_state

failed = 0
cases = itertools.product(
    ("lif", "if", "synaptic", "alif"), ("subtract", "zero", "none"), (0, 2), (torch.float32,)
)
extra = [("lif", "subtract", 0, torch.float64), ("alif", "zero", 1, torch.float64)]
for kind, reset, refractory, dtype in [*cases, *extra]:
    try:
        model = make_model(kind, reset=reset, refractory=refractory, v_reset=0.1)
        model = model.to(device="cuda", dtype=dtype)
        x = drive((9, 3, 300), dtype).cuda().requires_grad_()
        compare(kind, model, x, random_state(model, x[0]), "triton", rtol=1e-4)
        print("ok  ", kind, reset, refractory, dtype)
    except Exception:
        failed += 1
        print("FAIL", kind, reset, refractory, dtype)
        traceback.print_exc()
print(f"{failed} failed")
sys.exit(1 if failed else 0)
EOF
fi
tail -n 5 "$OUT/tests.txt"

timeout 150 "$PY" benchmarks/_gpu_timing.py "$OUT" > "$OUT/timing.log" 2>&1 || status=1
cat "$OUT/timing.log" | tail -n 12

timeout 200 "$PY" benchmarks/gpu_recurrent.py --out "$OUT" > "$OUT/recurrent.log" 2>&1 || status=1
tail -n 8 "$OUT/recurrent.log"

timeout 150 "$PY" benchmarks/gpu_bandwidth.py --out "$OUT" > "$OUT/bandwidth.log" 2>&1 || status=1
tail -n 12 "$OUT/bandwidth.log"

if [ "${PEERS:-1}" != 0 ]; then
  timeout 400 "$PY" benchmarks/gpu_peers.py --out "$OUT" --timeout 120 > "$OUT/peers.log" 2>&1
  tail -n 16 "$OUT/peers.log"
fi
exit $status
