"""Makes the `merit` package importable when pytest runs from the repository root (`pytest model`)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
