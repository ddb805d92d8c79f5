"""`python -m corpus`: the same command line as `corpus`."""

import sys

from corpus.cli import main

sys.exit(main())
