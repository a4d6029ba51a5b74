"""Policies from anywhere (issue 21): ``"package.module:function"`` references and the
``urbangrid.policies`` entry-point group, resolved in one place
(:func:`urbangrid.optimizer.policy_factory`)."""

import sys
import uuid

import numpy as np
import pytest

from tests.toys import write_policy_module
from urbangrid.errors import InputError
from urbangrid.optimizer import (
    available_policies,
    check_policy,
    get_policy,
    policy_factory,
)
from urbangrid.optimizer._random import random_problem


def test_a_factory_in_any_module_is_a_policy(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = write_policy_module(tmp_path)
    policy = get_policy(f"{mod}:closest", label="mine")
    a = policy(random_problem(0, 10, 5))
    assert a.method == "mine"
    assert sys.modules[mod].CALLS == [10]
    check_policy(f"{mod}:closest")  # it keeps the contract (filled by evaluate)


@pytest.mark.parametrize(("ref", "match"), [
    ("ug_no_such_module_xyz:f",
     r"dispatch policy 'ug_no_such_module_xyz:f': cannot import module "
     r"'ug_no_such_module_xyz' \(ModuleNotFoundError"),
    ("{mod}:missing", r"module '{mod}' has no attribute 'missing'"),
    ("{mod}:NOT_CALLABLE", r"'NOT_CALLABLE' is a int, not a policy factory"),
    ("{mod}:", r"expected 'package.module:function'"),
    (":closest", r"expected 'package.module:function'"),
    ("{mod}:plain", r"bad parameters for dispatch policy '{mod}:plain': .*policy factory "
                    r"takes"),
    ("{mod}:returns_number", r"its factory returned a int, not a policy"),
])
def test_a_bad_module_reference_is_named_with_what_is_wrong(tmp_path, monkeypatch, ref,
                                                              match):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = write_policy_module(tmp_path)
    with pytest.raises(InputError, match=match.replace("{mod}", mod)):
        get_policy(ref.replace("{mod}", mod))


def test_a_module_failing_at_import_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = write_policy_module(tmp_path, "raise RuntimeError('broken on purpose')\n")
    with pytest.raises(InputError, match=r"importing module .* failed: RuntimeError: broken"):
        policy_factory(f"{mod}:f", key="dispatch.policy")


def test_errors_name_the_key_the_reference_was_read_from():
    with pytest.raises(InputError, match=r"^dispatch.policy = 'nearst': no such policy "
                                         r"\(available: .*nearest"):
        policy_factory("nearst", key="dispatch.policy")
    # without a key, the message the service's --policy check has always given
    with pytest.raises(InputError, match=r"^unknown dispatch policy 'nearst'; available"):
        policy_factory("nearst")


def _install_entry_point(folder, group_lines: str) -> None:
    # a minimal installed distribution: a .dist-info folder on sys.path, which
    # importlib.metadata reads as pip would have left it
    info = folder / f"ug_test_dist_{uuid.uuid4().hex[:8]}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {info.name[:-15]}\n"
                                   "Version: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[urbangrid.policies]\n{group_lines}\n",
                                           encoding="utf-8")


def test_an_installed_package_offers_policies_by_entry_point(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = write_policy_module(tmp_path)
    ep_name = f"ep_{uuid.uuid4().hex[:8]}"
    _install_entry_point(tmp_path, f"{ep_name} = {mod}:closest\n"
                                   f"{ep_name}_broken = {mod}:missing")
    assert ep_name in available_policies()
    a = get_policy(ep_name, label="from_entry_point")(random_problem(1, 6, 4))
    assert a.method == "from_entry_point"
    assert np.isfinite(a.objective)
    with pytest.raises(InputError, match=rf"dispatch policy '{ep_name}_broken': entry point "
                                         rf"'{mod}:missing' of group 'urbangrid.policies' "
                                         "failed to load"):
        get_policy(f"{ep_name}_broken")


def test_registered_names_come_first():
    # a registered name is never shadowed by an entry point or read as a module
    assert policy_factory("nearest") is policy_factory("nearest")
    assert "nearest" in available_policies()
