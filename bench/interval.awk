# interval.awk: numbers on stdin, one per line (the rounds' ratios); prints "LO HI COVERAGE":
# a distribution-free interval for their median, from order statistics (the sign test's
# interval). It is [x(k), x(n+1-k)] for the largest k whose coverage, 1 - 2·P(X < k) with
# X ~ Binomial(n, 1/2), is still at least 95 %; COVERAGE is that figure in %. With fewer than
# 6 values no k reaches 95 %: then it is the smallest and largest value and their coverage
# (3 values: 75 %). No distribution is assumed: a round's ratio on a shared VM is not normal.
{ v[++n] = $1 + 0 }
END {
    if (n == 0) exit 1
    for (i = 2; i <= n; i++) {
        x = v[i]
        for (j = i - 1; j > 0 && v[j] > x; j--) v[j + 1] = v[j]
        v[j + 1] = x
    }
    k = 1
    term = 0.5 ^ n          # P(X = k - 1)
    cum = term              # P(X <= k - 1)
    while (k + 1 <= (n + 1) / 2) {
        next_term = term * (n - k + 1) / k
        if (2 * (cum + next_term) > 0.05) break
        cum += next_term
        term = next_term
        k++
    }
    printf "%s %s %d\n", v[k], v[n + 1 - k], int(100 * (1 - 2 * cum))
}
