"""``python -m urbangrid.service ...``: the ``serve`` command without the full CLI."""

import argparse
import logging
import sys

from .cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m urbangrid.service")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from urbangrid.errors import InputError

    try:
        return args.func(args)
    except InputError as exc:  # as the urbangrid shell does: one line, exit code 2
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
