"""``python -m calibration [options]``: the same as ``lithium-sim calibrate [options]``."""

from __future__ import annotations

import argparse
import sys

from calibration.fit import add_calibrate_parser, run_calibrate
from sim.inputs.errors import InputError


def main(argv: list[str] | None = None) -> int:
    """Parse the ``calibrate`` options and run; exit 2 on bad input (message, no traceback)."""
    parser = argparse.ArgumentParser(prog="python -m calibration")
    sub = parser.add_subparsers(dest="command")
    add_calibrate_parser(sub)
    args = parser.parse_args(["calibrate", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run_calibrate(args)
    except InputError as err:
        print(f"calibrate: {err.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run again to resume from the checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
