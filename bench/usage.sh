#!/usr/bin/env bash
# The cost of API keys and usage plans (issue 5, target ≤ 5 %): one archway, one REST API, two
# MOCK routes that differ only in `apiKeyRequired`. 10,000 API keys in one usage plan with a
# throttle and a quota (both far above the load, so nothing is refused); wrk rotates through
# all 10,000 keys on both routes, so each request carries the same header either way.
#
#   bash bench/usage.sh                       # 9 rounds of 5 s per route
#   DURATION=5s ROUNDS=1 bash bench/usage.sh  # a quick sanity run
#
# Layout: CPU $PROXY_CPU archway (--workers 1); CPU $LOAD_CPU wrk -t1 -c$CONNECTIONS.
# Rounds alternate keyed/open so that drift on a shared machine hits both alike. The result is
# the median over rounds of each round's keyed/open ratio: a round's two runs are seconds apart,
# so a slow spell of the machine (runs here swing by ±15 % from minute to minute) shifts both
# and cancels out of their ratio, where a ratio of the two medians would keep it. Prints
# requests/s per round, the medians and the ratios; writes bench/results/usage-latest.md.
#
# Environment: DURATION (5s), WARMUP (2s), ROUNDS (9), CONNECTIONS (32), KEYS (10000),
# FLUSH_MILLIS (server.usageFlushIntervalMillis, 1000), PROXY_CPU (0), LOAD_CPU (1),
# ARCHWAY_BIN (skip the build), RESULTS.
set -euo pipefail

DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-9}
CONNECTIONS=${CONNECTIONS:-32}
KEYS=${KEYS:-10000}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results/usage-latest.md}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
for t in wrk taskset curl; do command -v "$t" >/dev/null || die "needs $t"; done

if [[ -n ${ARCHWAY_BIN:-} ]]; then
    ARCHWAY=$ARCHWAY_BIN
else
    log "building archway (cargo build --release -p archway)"
    ARCHWAY=$(cd "$ROOT" && cargo build --release -p archway --message-format=json-render-diagnostics |
        sed -n 's/.*"executable":"\([^"]*\/archway\)".*/\1/p' | tail -n1)
fi
[[ -x $ARCHWAY ]] || die "no archway binary at $ARCHWAY"

TMP=$(mktemp -d /tmp/archway-bench-usage.XXXXXX)
PID=
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

PORT=18180
while (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done

# The config: 10,000 keys (values k0000000000000000000001 …), one plan, two routes.
{
    cat <<YAML
server:
  throttle: { rateLimit: 1000000000, burstLimit: 1000000000 }
  usageFlushIntervalMillis: ${FLUSH_MILLIS:-1000}
apis:
  - name: bench
    protocol: REST
    routes:
      GET /keyed:
        apiKeyRequired: true
        integration: &mock
          type: MOCK
          requestTemplates: { application/json: '{"statusCode": 200}' }
          responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"ok":true}' } } }
      GET /open:
        integration: *mock
    stages: { prod: {} }
usagePlans:
  - name: plan
    apiStages: [{ api: bench, stage: prod }]
    throttle: { rateLimit: 100000000, burstLimit: 100000000 }
    quota: { limit: 1000000000000, period: MONTH }
    apiKeys:
YAML
    for ((i = 0; i < KEYS; i++)); do printf '      - k%d\n' "$i"; done
    echo "apiKeys:"
    for ((i = 0; i < KEYS; i++)); do printf '  - { name: k%d, value: "k%022d" }\n' "$i" "$i"; done
} >"$TMP/archway.yaml"
for ((i = 0; i < KEYS; i++)); do printf 'k%022d\n' "$i"; done >"$TMP/keys.txt"

cat >"$TMP/rotate.lua" <<LUA
local keys = {}
for line in io.lines("$TMP/keys.txt") do keys[#keys + 1] = line end
local i = 0
local path = os.getenv("BENCH_PATH")
request = function()
  i = i % #keys + 1
  return wrk.format("GET", path, { ["x-api-key"] = keys[i] })
end
LUA

log "archway on 127.0.0.1:$PORT (CPU $PROXY_CPU), $KEYS keys"
taskset -c "$PROXY_CPU" "$ARCHWAY" serve --config "$TMP/archway.yaml" --listen "127.0.0.1:$PORT" \
    --admin-listen 127.0.0.1:0 --workers 1 --data-dir "$TMP/data" >"$TMP/stdout.log" 2>"$TMP/stderr.log" &
PID=$!
for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/stderr.log" >&2; die "archway exited"; }
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: k$(printf '%022d' 7)" "http://127.0.0.1:$PORT/prod/keyed") == 200 ]] ||
    die "the keyed route does not answer 200"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/prod/keyed") == 403 ]] ||
    die "the keyed route answers without a key"

# CPU time archway has used, in clock ticks (utime + stime).
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)

# run PATH DURATION → "requests/s  archway-CPU-µs-per-request" (fails on any non-2xx).
# CPU per request is what other programs on a shared machine disturb least.
run() {
    local out before after
    before=$(ticks)
    out=$(BENCH_PATH=$1 taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$2" -s "$TMP/rotate.lua" \
        "http://127.0.0.1:$PORT")
    after=$(ticks)
    if grep -q "Non-2xx" <<<"$out"; then
        echo "$out" >&2
        die "non-2xx answers on $1"
    fi
    awk -v b="$before" -v a="$after" -v hz="$HZ" '
        /requests in/ {n = $1}
        /Requests\/sec/ {rps = $2}
        END {printf "%s %.3f\n", rps, (a - b) / hz * 1e6 / n}' <<<"$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

run /prod/open "$WARMUP" >/dev/null
run /prod/keyed "$WARMUP" >/dev/null
keyed=() open=() keyed_cpu=() open_cpu=() pair=() pair_cpu=()
measure() { # ROUTE-NAME
    local r
    r=$(run "/prod/$1" "$DURATION")
    if [[ $1 == keyed ]]; then
        keyed+=("${r% *}") keyed_cpu+=("${r#* }")
    else
        open+=("${r% *}") open_cpu+=("${r#* }")
    fi
}
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then
        measure open
        measure keyed
    else
        measure keyed
        measure open
    fi
    pair+=("$(awk -v k="${keyed[-1]}" -v o="${open[-1]}" 'BEGIN {printf "%.3f", k / o}')")
    pair_cpu+=("$(awk -v k="${keyed_cpu[-1]}" -v o="${open_cpu[-1]}" 'BEGIN {printf "%.3f", k / o}')")
    log "round $r: open ${open[-1]} req/s (${open_cpu[-1]} µs CPU/request), keyed ${keyed[-1]} req/s (${keyed_cpu[-1]} µs CPU/request), keyed/open ${pair[-1]}"
done
mo=$(printf '%s\n' "${open[@]}" | median)
mk=$(printf '%s\n' "${keyed[@]}" | median)
co=$(printf '%s\n' "${open_cpu[@]}" | median)
ck=$(printf '%s\n' "${keyed_cpu[@]}" | median)
ratio=$(printf '%s\n' "${pair[@]}" | median)
cpu_ratio=$(printf '%s\n' "${pair_cpu[@]}" | median)
# The interval in which each median ratio lies (bench/interval.awk, as run.sh reports it).
span() { printf '%s\n' "$@" | awk -f "$BENCH_DIR/interval.awk" | awk '{ printf "%.3f–%.3f (%d %%)", $1, $2, $3 }'; }
ratio_span=$(span "${pair[@]}")
cpu_span=$(span "${pair_cpu[@]}")
mkdir -p "$(dirname "$RESULTS")"
{
    echo "| route | requests/s (median of $ROUNDS × $DURATION) | archway CPU µs/request (median) | rounds (req/s) |"
    echo "|---|---|---|---|"
    echo "| open (no key) | $mo | $co | ${open[*]} |"
    echo "| keyed ($KEYS keys, plan throttle + quota) | $mk | $ck | ${keyed[*]} |"
    echo
    echo "keyed/open by round (throughput): ${pair[*]}"
    echo "keyed/open by round (CPU per request): ${pair_cpu[*]}"
    echo
    echo "throughput keyed/open = $ratio, median of the rounds' ratios (cost $(awk -v r="$ratio" 'BEGIN {printf "%.1f", (1 - r) * 100}') %); interval $ratio_span"
    echo "CPU per request keyed/open = $cpu_ratio, median of the rounds' ratios (cost $(awk -v r="$cpu_ratio" 'BEGIN {printf "%.1f", (r - 1) * 100}') %); interval $cpu_span"
} | tee "$RESULTS"
