"""docverify's checks: pure functions from a parsed document to findings."""
import os

# The checks multiply small matrices (glyph shapes against reference glyphs), one document per process with
# pages and jobs in parallel above them; OpenBLAS's own thread pool then costs more than it saves: 0.2 ms for
# such a product on one thread, 2–7 ms on two busy cores. Set before numpy loads OpenBLAS; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
