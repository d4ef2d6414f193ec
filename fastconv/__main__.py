"""`python -m fastconv`: `train`, `evaluate` or `compare` models, or run the kernel `demo`
(the default); see fastconv.cli."""
import sys

from fastconv.cli import main

if __name__ == "__main__":
    sys.exit(main())
