"""Compile the model's numba code once per fit instead of three times.

numba links a copy of every function a new function calls into the new
function's LLVM module, then optimises the whole module at -O3 and turns it into
machine code. A fit of the forecaster compiled the log density's code that way
three times over: PyTensor's graph body (calling the nodes' functions, each
compiled and cached on its own), the body's cached wrapper (the copy kept on
disk), and nutpie's C callback around it (``numba.cfunc``); the expansion of a
draw into the trace's variables the same. On the 50 x 180 state-space model a
first fit spent about 15 s of its compilation in LLVM, much of it on those copies.

Inside :func:`link_by_symbol`:

* nutpie's callbacks (never cached: they embed the address of nutpie's data) and
  a graph's body (never cached on its own) call the functions they use by symbol:
  those are already compiled and loaded in numba's JIT engine, and the library
  keeps them alive for as long as it lives;
* the body's cached wrapper is the one self-contained copy: it links the body
  and everything the body calls, and skips the module-wide -O3 pass (every piece
  was optimised when it was compiled; the calls between them are not inlined),
  so the disk cache stays loadable by a process that compiled nothing else.

The same machine code runs, so the draws are bit-identical. A dependency whose
symbols are not all in the engine is linked as numba does by default, and
versions of numba or PyTensor without the internals used here compile as usual.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["link_by_symbol"]


def _engine_defines(library: Any, engine: Any) -> bool:
    """Whether every symbol ``library`` would link in is already defined in ``engine``."""
    module = library._get_module_for_linking()
    names = [f.name for f in module.functions if not f.is_declaration]
    names += [g.name for g in module.global_variables if not g.is_declaration]
    return bool(names) and all(engine.is_symbol_defined(name) for name in names)


def _begin_finalize(library: Any) -> None:
    """Run the checks numba's ``CPUCodeLibrary.finalize`` starts with."""
    from numba.core.compiler_lock import require_global_compiler_lock

    require_global_compiler_lock()
    library._codegen._check_llvm_bugs()
    library._raise_if_finalized()


def _finalize_by_symbol(library: Any) -> None:
    """Finalize an uncached ``library``, calling already loaded code by symbol.

    numba's ``CPUCodeLibrary.finalize`` with one change: a linking library whose
    symbols are all defined in the JIT engine is not copied into the module. The
    library keeps its list of linking libraries, so their code is not freed while
    it lives.
    """
    _begin_finalize(library)
    engine = library._codegen._engine
    seen: set[int] = set()
    for dep in library._linking_libraries:
        if id(dep) in seen:
            continue
        seen.add(id(dep))
        library._reload_init.update(dep._reload_init)
        if not _engine_defines(dep, engine):
            library._final_module.link_in(dep._get_module_for_linking(), preserve=True)
    library._optimize_final_module()
    library._final_module.verify()
    # numba's own check assumes every numba function was linked in: check the declared ones
    # against the engine instead, then skip it for this library
    undefined = [
        fn.name
        for fn in library._final_module.functions
        if fn.is_declaration
        and fn.name.startswith("_ZN5numba")
        and not engine.is_symbol_defined(fn.name)
    ]
    if undefined:
        raise AssertionError(f"Symbol {undefined[0]} not linked properly")
    library._verify_declare_only_symbols = lambda: None
    library._finalize_final_module()


#: Run numba's module-wide optimisation on a self-contained copy. Off: its pieces are optimised
#: already, and only inlining across them would change (50 x 180 log density and gradient:
#: 350-362 us per call either way; a first fit's compilation about 2 s shorter)
OPTIMISE_SELF_CONTAINED = False


def _finalize_self_contained(library: Any) -> None:
    """Finalize ``library`` with a copy of everything it calls, through by-symbol libraries.

    numba links the libraries a function calls directly; a library finalized by
    symbol (:func:`_finalize_by_symbol`) carries only declarations of what *it*
    calls, so those are linked here too: the result holds all its code, as a
    library cached on disk must.
    """
    _begin_finalize(library)
    queue = list(library._linking_libraries)
    seen: set[int] = set()
    while queue:
        dep = queue.pop(0)
        if id(dep) in seen:
            continue
        seen.add(id(dep))
        library._reload_init.update(dep._reload_init)
        library._final_module.link_in(dep._get_module_for_linking(), preserve=True)
        if getattr(dep, "_spm_link", None) == "symbol":
            queue.extend(dep._linking_libraries)
    if OPTIMISE_SELF_CONTAINED:
        library._optimize_final_module()
    library._final_module.verify()
    library._finalize_final_module()  # numba's check that nothing is left undefined


#: Python functions whose numba libraries finalize by symbol ("symbol") or with the code of
#: by-symbol libraries they call ("self_contained"), inside :func:`link_by_symbol`
_TARGETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _supported() -> bool:
    try:
        from numba.core import caching, ccallback, codegen, typed_passes
        from pytensor.link.numba.linker import NumbaLinker
    except ImportError:  # pragma: no cover  (numba and PyTensor are dependencies)
        return False
    lib = codegen.CPUCodeLibrary
    needed = (
        "_get_module_for_linking",
        "_optimize_final_module",
        "_finalize_final_module",
        "_verify_declare_only_symbols",
        "_raise_if_finalized",
        "finalize",
    )
    return (
        all(hasattr(lib, name) for name in needed)
        and hasattr(caching, "NullCache")
        and hasattr(ccallback.CFunc, "compile")
        and hasattr(typed_passes.BaseNativeLowering, "run_pass")
        and hasattr(NumbaLinker, "jit_compile")
    )


def _outer_functions(fn: Any, cache_key: Any) -> list[tuple[Any, str]]:
    """Return the graph body's Python function, compiled by symbol, and the cached wrapper's.

    PyTensor's cacheable form of a graph is a generated wrapper (cached on disk)
    calling the graph's body, ``jitable_func`` (not cached). The body calls its
    nodes' functions by symbol; the wrapper copies in the body and all it calls.
    An uncacheable graph is its body alone, compiled uncached.
    """
    if cache_key is None:
        return [(fn.py_func, "symbol")]
    body = getattr(fn.py_func, "__globals__", {}).get("jitable_func")
    if body is None or not hasattr(body, "py_func"):
        return []
    return [(body.py_func, "symbol"), (fn.py_func, "self_contained")]


@contextlib.contextmanager
def link_by_symbol() -> Iterator[bool]:
    """Compile PyTensor graphs' outer numba functions and nutpie's callbacks by symbol.

    Inside the block:

    * an uncached numba C callback (nutpie's two) calls the functions it uses by
      symbol;
    * a PyTensor graph compiled for numba gets a body (not cached) that calls its
      nodes' functions by symbol, and a cached wrapper that holds a copy of the
      body and of everything it calls, without a second module-wide -O3 pass;
      the nodes' functions are compiled and cached as usual.

    Nothing cached on disk refers to code by symbol, so every cache stays
    loadable by any later process.

    Yields
    ------
    bool
        Whether the change is active (False with numba or PyTensor versions whose
        internals differ; those compile as usual).

    Notes
    -----
    Patches ``CFunc.compile``, ``BaseNativeLowering.run_pass`` and
    ``CPUCodeLibrary.finalize`` (numba) and ``NumbaLinker.jit_compile``
    (PyTensor) for the duration of the block; only the libraries of the functions
    registered here change, so code other threads compile meanwhile is unaffected.
    """
    if not _supported():  # pragma: no cover  (the pinned versions have them)
        yield False
        return
    from numba.core import ccallback, codegen, typed_passes
    from numba.core.caching import NullCache
    from pytensor.link.numba.linker import NumbaLinker

    originals = (
        ccallback.CFunc.compile,
        typed_passes.BaseNativeLowering.run_pass,
        codegen.CPUCodeLibrary.finalize,
        NumbaLinker.jit_compile,
    )
    cfunc_compile, run_pass, finalize, jit_compile = originals

    def compile_cfunc(self: Any) -> Any:
        if isinstance(self._cache, NullCache):
            _TARGETS[self._pyfunc] = "symbol"
        return cfunc_compile(self)

    def lowering(self: Any, state: Any) -> Any:
        mode = _TARGETS.get(state.func_id.func) if state.library is None else None
        if mode is not None:
            library = state.targetctx.codegen().create_library(state.func_id.func_qualname)
            library.enable_object_caching()
            library._spm_link = mode
            state.library = library
        return run_pass(self, state)

    def finalize_library(self: Any) -> None:
        mode = getattr(self, "_spm_link", None)
        if mode == "symbol":
            _finalize_by_symbol(self)
        elif mode == "self_contained":
            _finalize_self_contained(self)
        else:
            finalize(self)

    def compile_graph(self: Any, fn_and_cache: Any) -> Any:
        fn, cache_key = fn_and_cache
        for func, mode in _outer_functions(fn, cache_key):
            _TARGETS[func] = mode
        return jit_compile(self, fn_and_cache)

    ccallback.CFunc.compile = compile_cfunc
    typed_passes.BaseNativeLowering.run_pass = lowering
    codegen.CPUCodeLibrary.finalize = finalize_library
    NumbaLinker.jit_compile = compile_graph
    try:
        yield True
    finally:
        (
            ccallback.CFunc.compile,
            typed_passes.BaseNativeLowering.run_pass,
            codegen.CPUCodeLibrary.finalize,
            NumbaLinker.jit_compile,
        ) = originals
