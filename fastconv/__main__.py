"""`python -m fastconv`: run the demo (conv, pooling, batch-norm against the reference, timed)."""
import argparse
import sys

from fastconv import demo, set_num_threads, show_config


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastconv", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller timing problem, fewer repeats")
    parser.add_argument("--threads", type=int, help="number of OpenMP threads (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data")
    parser.add_argument("--config", action="store_true", help="print the build configuration and exit")
    args = parser.parse_args(argv)
    if args.threads is not None:
        set_num_threads(args.threads)
    if args.config:
        show_config()
        return 0
    return 1 if demo.run(quick=args.quick, seed=args.seed) else 0


if __name__ == "__main__":
    sys.exit(main())
