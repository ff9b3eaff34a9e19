"""`python -m benchmarks [--smoke] [--only NAME ...] [--output PATH]`.

Runs every benchmark on the embedded services (started under `.intel/bench`, stopped at the
end) and rewrites `benchmarks/BENCHMARKS.md` with the table. A run of a subset (`--only`) or of
the smoke sizes prints the table and writes a file only when `--output` is given, so the
committed table always comes from a full run of everything.
"""

import argparse
import logging
import sys
from pathlib import Path

from benchmarks import environment, harness


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; 0 when none broke."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="scaled-down sizes (CI)")
    parser.add_argument(
        "--only", nargs="+", choices=harness.BENCHMARKS, metavar="NAME", help="run only these"
    )
    parser.add_argument("--output", type=Path, help="write the table here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = harness.available(args.only or harness.BENCHMARKS)
    command = "python -m benchmarks" + (" --smoke" if args.smoke else "")
    with environment.embedded():
        outcomes = harness.run_all(names, args.smoke, keep_going=True)
    text = harness.markdown(outcomes, smoke=args.smoke, command=command)
    output = args.output
    if output is None and not args.smoke and args.only is None:
        output = harness.BENCHMARKS_MD
    if output is not None:
        output.write_text(text, encoding="utf-8")
    print(text)
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
