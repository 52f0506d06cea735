"""``python -m piiguard_operator``: the operator as its own process."""

import sys

from piiguard_operator.main import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
