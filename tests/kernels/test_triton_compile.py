"""The recurrent and AdLIF triton kernels compile for a GPU (sm_90, an H100 / H200) on a machine
without one: triton lowers them to PTX and its bundled ``ptxas`` assembles them. The interpreter
tests check the arithmetic; this checks what only a GPU build meets (``tl.dot``'s minimum block
sizes, float64 products, register and shared-memory limits). Runs in a fresh process, since the
interpreter tests rebuild the kernels for the interpreter in this one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def compile_all() -> list[str]:
    """Compile every kernel of the recurrent and AdLIF engines in float32 and float64 for sm_90.

    Returns:
        One line per kernel compiled.
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from spikeflow.kernels import triton_adlif, triton_recurrent

    def build(fn, dtype: str, ints: tuple[str, ...], const: dict, warps: int) -> str:
        sig = {
            name: "i32" if name in ints else "fp32" if name == "sg_alpha" else
            "*u8" if name == "f_ptr" else f"*{dtype}"
            for name in fn.arg_names if name not in const
        }  # fmt: skip
        sig.update(dict.fromkeys(const, "constexpr"))
        options = {"num_warps": warps, "enable_fp_fusion": False}
        kernel = triton.compile(
            ASTSource(fn, sig, const), target=GPUTarget("cuda", 90, 32), options=options
        )
        assert kernel.asm["cubin"], f"{fn.__name__}: no machine code"
        return f"{fn.__name__} {dtype} {sorted(const.items())}"

    done = []
    rec = triton_recurrent.launch_config(32, 256)[1]  # the workload, B = 32, N = 256
    for dtype in ("fp32", "fp64"):
        for dense in (True, False):
            done.append(build(
                triton_recurrent._forward_kernel, dtype, ("nb", "n", "n_steps"),
                {"SYNAPTIC": True, "ADAPTIVE": False, "RESET": 0, "REFRACTORY": 2, "SAVE": True,
                 "DENSE": dense, **rec}, 4,
            ))  # fmt: skip
            done.append(build(
                triton_recurrent._backward_kernel, dtype, ("nb", "n", "n_steps"),
                {"SYNAPTIC": False, "ADAPTIVE": True, "RESET": 1, "DETACH": False, "SG": 1,
                 "DENSE": dense, **rec}, 4,
            ))  # fmt: skip
        done.append(build(triton_adlif._forward_kernel, dtype, ("n_steps", "m"),
                          {"RESET": 1, "SAVE": True, "BLOCK": 128}, 1))  # fmt: skip
        done.append(build(triton_adlif._backward_kernel, dtype, ("n_steps", "m"),
                          {"RESET": 0, "DETACH": False, "BLOCK": 128}, 1))  # fmt: skip
    return done


@pytest.mark.slow
def test_kernels_compile_for_sm90():
    pytest.importorskip("triton")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    code = "from tests.kernels.test_triton_compile import compile_all; print(*compile_all(), sep='\\n')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if "ptxas" in result.stderr and "not found" in result.stderr.lower():
        pytest.skip("triton's ptxas is not available")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.stdout.splitlines()) == 12
