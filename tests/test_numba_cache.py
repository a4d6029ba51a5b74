"""urbangrid._numba_cache: a module's cached machine code is dropped when a file its
compiled code calls into changes (Numba's own cache checks only the module's file)."""

from types import SimpleNamespace

from urbangrid._numba_cache import forget_if_changed


def _dispatcher(cache_dir):
    return SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(cache_dir)))


def test_cached_code_is_dropped_when_a_callee_file_changes(tmp_path):
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    callee = tmp_path / "callee.py"
    callee.write_text("def f(): return 1\n")
    mine = [cache / "loop.run-10.py311.nbi", cache / "loop.run-10.py311.1.nbc"]
    other = cache / "other.g-3.py311.nbi"  # another module's cache: never touched
    for f in (*mine, other):
        f.write_bytes(b"x")
    d = _dispatcher(cache)

    # no fingerprint yet: what is cached may predate the callee, drop it
    assert forget_if_changed(d, str(tmp_path / "loop.py"), [str(callee)])
    assert not any(f.exists() for f in mine) and other.exists()

    for f in mine:
        f.write_bytes(b"x")  # compiled again against the current callee
    assert not forget_if_changed(d, str(tmp_path / "loop.py"), [str(callee)])
    assert all(f.exists() for f in mine)

    callee.write_text("def f(): return 2\n")
    assert forget_if_changed(d, str(tmp_path / "loop.py"), [str(callee)])
    assert not any(f.exists() for f in mine) and other.exists()


def test_no_cache_directory_is_not_an_error(tmp_path):
    callee = tmp_path / "callee.py"
    callee.write_text("x = 1\n")
    assert not forget_if_changed(object(), "loop.py", [str(callee)])  # no _cache at all
    missing = _dispatcher(tmp_path / "nowhere")
    assert not forget_if_changed(missing, "loop.py", [str(callee)])
    assert (tmp_path / "nowhere" / "loop.callees.sha256").exists()


def test_the_engine_loop_guards_the_files_it_calls_into():
    # importing the core stamped its cache with the optimizer's kernel files and
    # simulation/_kernels.py, the files its compiled loop calls into
    from urbangrid._numba_cache import fingerprint, stamp_path
    from urbangrid.optimizer import _kernels, _policy_kernels
    from urbangrid.optimizer.compiled import KERNEL_FILES
    from urbangrid.simulation import _core
    from urbangrid.simulation import _kernels as sim_kernels

    assert set(KERNEL_FILES) == {_kernels.__file__, _policy_kernels.__file__}
    stamp = stamp_path(_core.run_until._cache._cache_path, _core.__file__)
    assert stamp.read_text() == fingerprint([*KERNEL_FILES, sim_kernels.__file__])
