"""Compile nutpie's C entry points without compiling the model's code a second time.

nutpie calls the model through two numba C callbacks (``numba.cfunc``): one wraps
the log density and its gradient, one the expansion of a draw into the trace's
variables. Each wraps a numba function that PyTensor has just compiled or loaded
from its cache. numba links a copy of every function a new function calls into
the new function's LLVM module, then optimises and compiles the whole module:
for the callbacks that is the whole log-density graph again, optimised at -O3 and
turned into machine code a second time. On the 50 x 180 state-space model that
is 5.8 s of a 12.3 s compilation whose every other piece came from the caches.

The callbacks cannot be cached (they embed the address of nutpie's data), and
every function they call is already compiled and loaded in numba's JIT engine.
Inside :func:`link_by_symbol`, an uncached C callback calls those functions by
their symbols instead of linking copies: the same machine code runs (the draws
are bit-identical), the callback's own module is a few lines, and it keeps the
libraries it calls alive for as long as it lives. A dependency whose symbols
are not all in the engine is linked as numba does by default, and numba versions
without the internals used here compile as usual.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["link_by_symbol"]


def _engine_defines(library: Any, engine: Any) -> bool:
    """Whether every symbol ``library`` would link in is already defined in ``engine``."""
    module = library._get_module_for_linking()
    names = [f.name for f in module.functions if not f.is_declaration]
    names += [g.name for g in module.global_variables if not g.is_declaration]
    return bool(names) and all(engine.is_symbol_defined(name) for name in names)


def _finalize_by_symbol(library: Any) -> None:
    """Finalize a C callback's ``library``, calling already loaded code by symbol.

    numba's ``CPUCodeLibrary.finalize`` with one change: a linking library whose
    symbols are all defined in the JIT engine is not copied into the module. The
    library keeps its list of linking libraries, so their code is not freed while
    the callback exists.
    """
    from numba.core.compiler_lock import require_global_compiler_lock

    require_global_compiler_lock()
    library._codegen._check_llvm_bugs()
    library._raise_if_finalized()
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


def _supported() -> bool:
    try:
        from numba.core import ccallback, codegen
        from numba.core.caching import NullCache
    except ImportError:  # pragma: no cover  (numba is a dependency)
        return False
    del NullCache
    lib = codegen.CPUCodeLibrary
    needed = (
        "_get_module_for_linking",
        "_optimize_final_module",
        "_finalize_final_module",
        "_verify_declare_only_symbols",
        "_raise_if_finalized",
    )
    return all(hasattr(lib, name) for name in needed) and hasattr(ccallback.CFunc, "compile")


@contextlib.contextmanager
def link_by_symbol() -> Iterator[bool]:
    """Compile uncached numba C callbacks by calling already loaded code by symbol.

    Yields
    ------
    bool
        Whether the change is active (False with numba versions whose internals
        differ; those compile as usual).

    Notes
    -----
    Patches ``numba.core.ccallback.CFunc.compile`` for the duration of the block
    (held under numba's compiler lock, so it also covers C callbacks other threads
    compile meanwhile; the result is the same machine code either way). Cached
    callbacks (``cfunc(cache=True)``) compile as usual: their cache must hold
    everything they call.
    """
    if not _supported():  # pragma: no cover  (the pinned numba has them)
        yield False
        return
    from numba.core import ccallback
    from numba.core.caching import NullCache
    from numba.core.compiler_lock import global_compiler_lock

    original = ccallback.CFunc.compile

    @global_compiler_lock
    def compile(self: Any) -> None:
        if not isinstance(self._cache, NullCache):
            return original(self)
        cres = self._compile_uncached()
        library = cres.library
        _finalize_by_symbol(library)
        self._library = library
        self._wrapper_name = cres.fndesc.llvm_cfunc_wrapper_name
        self._wrapper_address = library.get_pointer_to_function(self._wrapper_name)

    ccallback.CFunc.compile = compile
    try:
        yield True
    finally:
        ccallback.CFunc.compile = original
