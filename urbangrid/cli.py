"""The ``urbangrid`` command line: a thin layer over the library.

Each package contributes its sub-commands through a ``register(subparsers)`` function in
its command module (listed below); registering imports only ``argparse`` code, and a
handler imports its engine when it runs, so ``urbangrid serve`` never loads the
simulation or SimPy. Every handler takes the parsed arguments and returns an exit
status. User mistakes raise :class:`urbangrid.InputError` and end here with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import InputError

# Modules that add sub-commands, in the order they appear in ``--help``.
_COMMAND_MODULES = (
    "urbangrid.study.commands",
    "urbangrid.calibration.commands",
    "urbangrid.optimizer.cli",
    "urbangrid.service.cli",
    "urbangrid.study.replay",
    "urbangrid.grid.cli",
    "urbangrid.hall.commands",
)

log = logging.getLogger("urbangrid")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="urbangrid",
        description="Simulation and dispatch optimisation for urban grid management.",
    )
    parser.add_argument("--version", action="version", version=f"urbangrid {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command module (or its package) that this install does not have: skip it.
            # A dependency missing *inside* the module is a real error and is raised.
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"urbangrid: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("urbangrid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
