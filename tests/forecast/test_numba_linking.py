"""nutpie's C callbacks call the model's compiled code by symbol (`link_by_symbol`)."""

from __future__ import annotations

import ctypes
import gc

import numba
import numpy as np
import pytest
from numba.core import ccallback

from spm_model.forecast.numba_linking import link_by_symbol


def _kernel():
    """A fresh (uncached) numba function each call, so each test compiles its own."""

    @numba.njit
    def weighted_sum(x, n):
        total = 0.0
        for i in range(n):
            total += (i + 1.5) * x[i] ** 2
        return total

    return weighted_sum


def _callback(kernel):
    """A C callback over a raw pointer calling ``kernel``, like nutpie's log density."""

    @numba.cfunc(numba.float64(numba.types.CPointer(numba.float64), numba.int64))
    def call(ptr, n):
        return kernel(numba.carray(ptr, (n,)), n)

    return call


def _call(cb, x: np.ndarray) -> float:
    return cb.ctypes(x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), x.size)


def _declared(cb) -> set[str]:
    return {fn.name for fn in cb._library._final_module.functions if fn.is_declaration}


def _defined(cb) -> set[str]:
    return {fn.name for fn in cb._library._final_module.functions if not fn.is_declaration}


def test_the_callback_calls_the_kernel_by_symbol_with_the_same_result():
    x = np.linspace(-2.0, 3.0, 17)
    kernel = _kernel()
    expected = sum((i + 1.5) * v**2 for i, v in enumerate(x))
    linked = _callback(kernel)  # numba's default: a copy of the kernel in the callback
    with link_by_symbol() as active:
        by_symbol = _callback(kernel)
    assert active
    assert _call(linked, x) == pytest.approx(expected, rel=1e-15)
    assert _call(by_symbol, x) == _call(linked, x)
    (native,) = [n for n in _defined(linked) if "weighted_sum" in n and "cfunc" not in n]
    assert native not in _defined(by_symbol)
    assert native in _declared(by_symbol)


def test_the_callback_keeps_the_kernel_it_calls_alive():
    kernel = _kernel()
    with link_by_symbol():
        cb = _callback(kernel)
    x = np.arange(5.0)
    before = _call(cb, x)
    del kernel
    gc.collect()
    assert _call(cb, x) == before == pytest.approx(sum((i + 1.5) * i**2 for i in range(5)))


def test_numba_compiles_as_usual_after_the_block_and_when_it_raises():
    original = ccallback.CFunc.compile
    with pytest.raises(RuntimeError, match="inside"):
        with link_by_symbol():
            assert ccallback.CFunc.compile is not original
            raise RuntimeError("inside")
    assert ccallback.CFunc.compile is original
    cb = _callback(_kernel())
    assert any("weighted_sum" in n and "cfunc" not in n for n in _defined(cb))


def test_a_cached_callback_still_links_what_it_calls(tmp_path, monkeypatch):
    """A cache must hold everything the callback calls: those compile as numba does."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    calls = []
    numba_compile = ccallback.CFunc.compile

    def spy(self):
        calls.append(type(self._cache).__name__)
        return numba_compile(self)

    monkeypatch.setattr(ccallback.CFunc, "compile", spy)
    with link_by_symbol():
        cb = numba.cfunc(numba.float64(numba.float64), cache=True)(_square_plus_one)
    assert calls == ["FunctionCache"]
    assert cb.ctypes(3.0) == 10.0
    # linked in (and inlined by LLVM), not called by symbol
    assert not any("_square" in n for n in _declared(cb))


@numba.njit
def _square(v):
    return v * v


def _square_plus_one(v):
    return _square(v) + 1.0


_GRAPH = """
import contextlib, json, sys
import numpy as np
import pytensor
import pytensor.tensor as pt
from spm_model.forecast.numba_linking import link_by_symbol

x = pt.dvector("x")
y = (pt.exp(0.5 * x) * pt.log1p(x**2)).sum() + pt.cumsum(x)[-1] ** 2
ieee = pytensor.config.change_flags(numba__fastmath=False)  # as the forecaster compiles
with ieee, link_by_symbol() if sys.argv[1] == "on" else contextlib.nullcontext():
    f = pytensor.function([x], [y, pytensor.grad(y, x)], mode="NUMBA")
    value, grad = f(np.linspace(-1.0, 2.0, 7))
library = next(iter(f.vm.jit_fn.overloads.values())).library
print(json.dumps({
    "value": float(value), "grad": grad.tolist(),
    "from_cache": sum(f.vm.jit_fn.stats.cache_hits.values()),
    "link": getattr(library, "_spm_link", None),
}))
"""


def _graph_run(cache_dir, mode: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache_dir}")
    out = subprocess.run(
        [sys.executable, "-c", _GRAPH, mode], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_graph_compiled_inside_is_cached_whole_and_loads_in_a_process_without_it(tmp_path):
    """The graph's outer function is cached with a copy of everything it calls: a later
    process that never compiled the nodes loads it and gets the same bits."""
    first = _graph_run(tmp_path, "on")
    assert first["link"] == "self_contained" and first["from_cache"] == 0
    again = _graph_run(tmp_path, "off")  # plain numba, nothing compiled in this process
    assert again["from_cache"] == 1
    assert (again["value"], again["grad"]) == (first["value"], first["grad"])
    plain = _graph_run(tmp_path / "plain", "off")  # numba's own linking from scratch
    assert plain["from_cache"] == 0
    assert (plain["value"], plain["grad"]) == (first["value"], first["grad"])
