"""bench/interval.awk: the interval `bench/run.sh` reports for the median of the rounds' ratios.

Checked against the sign test's textbook intervals for the median (order statistics
x(k)..x(n+1-k)) and their coverage, 1 - 2 * P(Binomial(n, 1/2) < k).
"""

import random
import subprocess
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "interval.awk"


def interval(values):
    out = subprocess.run(
        ["awk", "-f", str(SCRIPT)],
        input="".join(f"{v}\n" for v in values),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def coverage(n, k):
    return 1 - 2 * sum(comb(n, i) for i in range(k)) / 2**n


def test_nine_rounds_drop_one_value_at_each_end():
    # n = 9: P(X <= 1) = 10/512, so x(2)..x(8) covers 96.1 %; x(3)..x(7) only 82 %.
    ratios = [0.90, 0.81, 1.10, 1.05, 0.91, 1.01, 0.98, 0.98, 0.79]
    assert interval(ratios) == (0.81, 1.05, 96)


def test_matches_the_sign_test_for_every_round_count():
    rng = random.Random(7)
    for n in range(1, 31):
        values = [round(rng.uniform(0.7, 1.3), 4) for _ in range(n)]
        lo, hi, cov = interval(values)
        # The narrowest k that still covers 95 % (k = 1, the extremes, when none does).
        k = max([k for k in range(1, (n + 1) // 2 + 1) if coverage(n, k) >= 0.95] or [1])
        ordered = sorted(values)
        assert (lo, hi) == (ordered[k - 1], ordered[n - k]), n
        assert cov == int(100 * coverage(n, k)), n


def test_few_rounds_give_the_extremes_and_say_their_coverage():
    assert interval([1.2, 0.9, 1.0]) == (0.9, 1.2, 75)
    assert interval([1.0]) == (1.0, 1.0, 0)


def test_no_input_is_an_error():
    r = subprocess.run(["awk", "-f", str(SCRIPT)], input="", capture_output=True)
    assert r.returncode != 0
