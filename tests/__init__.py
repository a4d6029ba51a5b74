"""The test suite, and the helper modules its tests import by package name.

``tests.shared`` holds the paths (repository, scenarios, tiny data files, the test-only
data beside the repository) and ``tests.toys`` the toy scenarios; the root ``conftest.py``
turns them into fixtures. ``pythonpath = ["."]`` in the pytest configuration puts the
repository root on ``sys.path``, so ``from tests.toys import toy_scenario`` works from
any test folder.
"""
