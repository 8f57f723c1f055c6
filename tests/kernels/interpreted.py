"""Run triton kernels on CUDA where there is a GPU, else in triton's interpreter on CPU tensors.

triton decides at decoration time whether a kernel is compiled or interpreted, so
:func:`triton_device` sets ``TRITON_INTERPRET=1`` and (re)builds the given kernel modules under it,
in place (the modules that imported them, and the dispatcher, see the rebuilt kernels). Modules are
rebuilt in the order given: a module importing another's ``@triton.jit`` helpers comes after it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator

import pytest
import torch


def triton_device(modules: tuple[str, ...], probe: str) -> Iterator[str]:
    """Yield ``"cuda"`` when available, else ``"cpu"`` with ``modules`` built under the
    interpreter (``probe``, a kernel of the last module, is checked to be interpreted); the
    environment variable is restored afterwards. Skips when triton is not importable.

    Arguments:
        modules: dotted module names holding ``@triton.jit`` functions, dependencies first.
        probe: the name of a kernel in the last module.

    Returns:
        A generator for a pytest fixture.
    """
    pytest.importorskip("triton")
    if torch.cuda.is_available():
        yield "cuda"
        return
    old = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        for name in modules:
            module = sys.modules.get(name)
            if module is not None:
                importlib.reload(module)
            module = importlib.import_module(name)
        assert type(getattr(module, probe)).__name__ == "InterpretedFunction"
        yield "cpu"
    finally:
        if old is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = old
