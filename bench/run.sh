#!/usr/bin/env bash
# Archway vs nginx, side by side, in one run. See bench/README.md.
#
#   bash bench/run.sh                        # 3 rounds of 10 s per target, 0 B / 1 KB / 64 KB
#   DURATION=30s ROUNDS=1 SIZES="1k" bash bench/run.sh
#
# Layout (everything on 127.0.0.1):
#
#   CPU 1: wrk (-t1)  ──►  CPU 0: nginx proxy (1 worker) | archway (--workers 1)  ──►  CPU 1: upstream nginx (1 worker, static files)
#
# "direct" is wrk straight to the upstream: the ceiling of this machine, not a proxy.
#
# Each size is measured in ROUNDS rounds of direct, nginx and archway (the order of nginx and
# archway alternating). The ratios are the median over rounds of each round's ratio: a round's
# runs are seconds apart, so a slow spell of a shared machine (throughput here drifts by ±10 %
# from minute to minute) shifts them alike and cancels out of their ratio.
#
# Environment:
#   DURATION     wrk duration per measurement (default 10s)
#   ROUNDS       rounds per size (default 3)
#   WARMUP       wrk duration of the warm-up before each measurement (default 2s)
#   CONNECTIONS  wrk connections, keep-alive (default 32)
#   NGINX_FORWARDED  1 (default): the nginx proxy sets X-Forwarded-For/-Proto/-Port as archway
#                does; 0: it does not (less work for it and for the upstream)
#   SIZES        response sizes, bytes with optional k/m suffix (default "0 1k 64k")
#   PROXY_CPU    CPU the proxies are pinned to (default 0)
#   LOAD_CPU     CPU of the upstream and wrk (default 1)
#   NICE         priority of every benchmark process against other programs (default -20 as
#                root, else 0)
#   QUIET_WAIT   seconds to wait for other programs to go quiet before a measurement (30)
#   RETRIES      repeats of a measurement disturbed by other programs (2)
#   OTHER_MAX    % of a core other programs may use during a measurement (10)
#   ARCHWAY_BIN  use this binary instead of building one
#   ARCHWAY_IDLE_POLL  archway's server.idlePollMicros (default: unset, archway's default, off)
#   RESULTS      where to write the table (default bench/results/latest.md)
#   PROFILE=1    afterwards, profile archway under load with perf (PROFILE_SIZE, default the
#                middle size) into bench/results/profile-archway.txt
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
NGINX_FORWARDED=${NGINX_FORWARDED:-1}
SIZES=${SIZES:-0 1k 64k}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# Every process of the benchmark runs at this priority: at -20 (the default as root) a build
# running meanwhile gets a few % of a core instead of half of it.
NICE=${NICE:-$( (($(id -u) == 0)) && echo -20 || echo 0)}
AUTOGROUP=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo 0)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
RESULTS=${RESULTS:-$BENCH_DIR/results/latest.md}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------

missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; run as root or install them"
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

[[ $PROXY_CPU =~ ^[0-9]+$ && $LOAD_CPU =~ ^[0-9]+$ && $PROXY_CPU != "$LOAD_CPU" ]] ||
    die "PROXY_CPU and LOAD_CPU must be two different CPU numbers"
ncpu=$(nproc --all)
((ncpu > PROXY_CPU && ncpu > LOAD_CPU)) || die "need CPUs $PROXY_CPU and $LOAD_CPU; this machine has $ncpu"

# --- archway ---------------------------------------------------------------------------------

if [[ -n ${ARCHWAY_BIN:-} ]]; then
    ARCHWAY=$ARCHWAY_BIN
else
    log "building archway (cargo build --release -p archway)"
    # Ask cargo where the binary is: right whatever CARGO_TARGET_DIR or .cargo/config say.
    ARCHWAY=$(cd "$ROOT" && cargo build --release -p archway --message-format=json-render-diagnostics |
        sed -n 's/.*"executable":"\([^"]*\/archway\)".*/\1/p' | tail -n1)
    if [[ -z $ARCHWAY ]]; then
        target_dir=${CARGO_TARGET_DIR:-target}
        [[ $target_dir == /* ]] || target_dir=$ROOT/$target_dir
        ARCHWAY=$target_dir/release/archway
    fi
fi
[[ -x $ARCHWAY ]] || die "no archway binary at $ARCHWAY"

# --- processes and cleanup -------------------------------------------------------------------

TMP=$(mktemp -d /tmp/archway-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as nobody and must read the files
PIDS=()

cleanup() {
    local pid
    [[ -z ${WRK_PID:-} ]] || kill -TERM "$WRK_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Bounded wait, then force.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# prio CMD... &: runs CMD at priority $NICE in place of the background subshell, so that $!
# is CMD's pid (background use only: it execs). With scheduler autogroups on
# (the default on most distributions), CPU is shared between sessions first, so `nice` alone
# would not help against a build in another session: CMD gets a session of its own and that
# session's autogroup gets the niceness.
prio() {
    if [[ $NICE == 0 ]]; then
        exec "$@"
    elif [[ $AUTOGROUP == 1 ]]; then
        # Not a process group leader (no job control here), so setsid does not fork.
        # Best effort: without the right to renice, CMD still runs, at normal priority.
        exec setsid sh -c 'echo "$0" 2>/dev/null >/proc/self/autogroup; exec "$@"' "$NICE" "$@"
    else
        exec nice -n "$NICE" "$@"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on, starting at $1.
free_port() {
    local p=$1
    while port_open "$p"; do p=$((p + 1)); done
    echo "$p"
}

# wait_port PORT PID NAME LOG: poll until PORT accepts, fail fast if PID dies (bounded: 10 s).
wait_port() {
    local port=$1 pid=$2 name=$3 logf=$4
    for _ in $(seq 200); do
        port_open "$port" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$logf" >&2 || true
            die "$name exited before listening on $port"
        fi
        sleep 0.05
    done
    cat "$logf" >&2 || true
    die "$name is not listening on $port after 10 s"
}

UPSTREAM_PORT=$(free_port 18080)
NGINX_PORT=$(free_port $((UPSTREAM_PORT + 1)))
ARCHWAY_PORT=$(free_port $((NGINX_PORT + 1)))

# --- response files --------------------------------------------------------------------------

to_bytes() {
    case ${1,,} in
    *k) echo $((${1%[kK]} * 1024)) ;;
    *m) echo $((${1%[mM]} * 1024 * 1024)) ;;
    *) echo $(($1)) ;;
    esac
}
label() {
    local b=$1
    if ((b == 0)); then echo "0 B"
    elif ((b % 1048576 == 0)); then echo "$((b / 1048576)) MB"
    elif ((b % 1024 == 0)); then echo "$((b / 1024)) KB"
    else echo "$b B"; fi
}

mkdir -p "$TMP/www"
BYTES=()
for s in $SIZES; do
    b=$(to_bytes "$s")
    BYTES+=("$b")
    head -c "$b" /dev/zero | tr '\0' 'x' >"$TMP/www/$b"
done
chmod 755 "$TMP/www"
chmod 644 "$TMP/www"/*

# --- upstream: nginx serving the files -------------------------------------------------------

# Settings common to both nginx instances: no logs, nothing written outside $TMP, keep-alive
# connections that are never closed for having served "too many" requests (wrk and archway
# keep theirs open too).
nginx_common() {
    local dir=$1
    cat <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
EOF
}

mkdir -p "$TMP/upstream"
{
    nginx_common "$TMP/upstream"
    cat <<EOF
    sendfile on;
    tcp_nopush on;
    open_file_cache max=64 inactive=600s;
    open_file_cache_valid 600s;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        root $TMP/www;
        location / { }
    }
}
EOF
} >"$TMP/upstream/nginx.conf"

# --- nginx as reverse proxy ------------------------------------------------------------------

# /prod/X -> upstream /X, the same mapping as archway's stage prefix and {proxy+} route.
# Buffers large enough that a 64 KB response never spills to a temp file.
# The client's address, scheme and port, as archway must send them (API Gateway's
# X-Forwarded-For/-Proto/-Port, appended to as nginx's \$proxy_add_x_forwarded_for does): both
# proxies then do the same job, and the upstream (on the load core) parses the same request
# from each. NGINX_FORWARDED=0 measures nginx without them.
NGINX_FORWARDED_CONF=
if [[ $NGINX_FORWARDED == 1 ]]; then
    NGINX_FORWARDED_CONF='
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Port $server_port;'
fi
mkdir -p "$TMP/nginx"
{
    nginx_common "$TMP/nginx"
    cat <<EOF
    upstream backend {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /prod/ {
            proxy_pass http://backend/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";$NGINX_FORWARDED_CONF
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
        }
    }
}
EOF
} >"$TMP/nginx/nginx.conf"

# --- archway ---------------------------------------------------------------------------------

# No accessLog key: the access log is off, as nginx's is.
mkdir -p "$TMP/archway"
cat >"$TMP/archway/archway.yaml" <<EOF
server:
  listen: 127.0.0.1:$ARCHWAY_PORT
  workers: 1${ARCHWAY_IDLE_POLL:+
  idlePollMicros: $ARCHWAY_IDLE_POLL}
  # AWS's account limit (10,000 requests/s) would throttle the benchmark: measure the proxy.
  throttle: { rateLimit: 1000000000, burstLimit: 1000000000 }
apis:
  - name: bench
    protocol: REST
    routes:
      ANY /{proxy+}:
        integration:
          type: HTTP_PROXY
          uri: "http://127.0.0.1:$UPSTREAM_PORT/{proxy}"
    stages:
      prod: {}
EOF

# --- start -----------------------------------------------------------------------------------

log "upstream nginx on 127.0.0.1:$UPSTREAM_PORT (CPU $LOAD_CPU)"
prio taskset -c "$LOAD_CPU" "$NGINX" -p "$TMP/upstream" -c "$TMP/upstream/nginx.conf" -e "$TMP/upstream/error.log" \
    >"$TMP/upstream/stderr.log" 2>&1 &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")

log "nginx proxy on 127.0.0.1:$NGINX_PORT (CPU $PROXY_CPU)"
prio taskset -c "$PROXY_CPU" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
    >"$TMP/nginx/stderr.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

log "archway on 127.0.0.1:$ARCHWAY_PORT (CPU $PROXY_CPU): $ARCHWAY"
prio taskset -c "$PROXY_CPU" "$ARCHWAY" serve --config "$TMP/archway/archway.yaml" \
    --listen "127.0.0.1:$ARCHWAY_PORT" --admin-listen 127.0.0.1:0 --workers 1 --data-dir "$TMP/archway/data" \
    >"$TMP/archway/stdout.log" 2>"$TMP/archway/stderr.log" &
ARCHWAY_PID=$!
PIDS+=("$ARCHWAY_PID")

wait_port "$UPSTREAM_PORT" "$UPSTREAM_PID" "upstream nginx" "$TMP/upstream/error.log"
wait_port "$NGINX_PORT" "$NGINX_PID" "nginx proxy" "$TMP/nginx/error.log"
wait_port "$ARCHWAY_PORT" "$ARCHWAY_PID" "archway" "$TMP/archway/stderr.log"

# Hook for profilers (bench/README.md): the pid of the process under test.
echo "$ARCHWAY_PID" >"$TMP/archway.pid"

TARGETS=(direct nginx archway)
url_of() {
    case $1 in
    direct) echo "http://127.0.0.1:$UPSTREAM_PORT/$2" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PORT/prod/$2" ;;
    archway) echo "http://127.0.0.1:$ARCHWAY_PORT/prod/$2" ;;
    esac
}
# The cores a target's numbers depend on: direct does not use the proxy core.
cores_of() {
    if [[ $1 == direct ]]; then echo load; else echo both; fi
}
# The pid whose CPU time counts for a target (with its children: nginx's worker).
pid_of() {
    case $1 in
    direct) echo "$UPSTREAM_PID" ;;
    nginx) echo "$NGINX_PID" ;;
    archway) echo "$ARCHWAY_PID" ;;
    esac
}

# --- correctness: never benchmark an error page ----------------------------------------------

for b in "${BYTES[@]}"; do
    for t in "${TARGETS[@]}"; do
        url=$(url_of "$t" "$b")
        got=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$url") || die "$t: curl $url failed"
        [[ $got == "200 $b" ]] || die "$t: $url answered '$got' (status, bytes); expected '200 $b'"
    done
done
log "all targets answer 200 with the right body size"

# --- measure ---------------------------------------------------------------------------------

# Pids whose parent is $1 (nginx's worker under its master).
children_of() {
    local f ppid
    for f in /proc/[0-9]*/stat; do
        { read -r ppid <"$f"; } 2>/dev/null || continue
        ppid=${ppid##*) }
        set -- "$1" $ppid
        [[ $3 == "$1" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
    return 0
}

# CPU ticks (user+sys) of a process and its direct children.
cpu_ticks() {
    local total=0 p f
    for p in "$1" $(children_of "$1"); do
        { read -r f <"/proc/$p/stat"; } 2>/dev/null || continue
        f=${f##*) } # fields after "(comm) ", starting at field 3
        set -- $f
        total=$((total + ${12} + ${13})) # utime, stime (fields 14, 15)
    done
    echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# "busy idle" jiffies of one CPU, from /proc/stat (steal excluded).
cpu_jiffies() {
    awk -v c="cpu$1" '$1 == c {
        t = 0; for (i = 2; i <= 8; i++) t += $i
        idle = $5 + $6; print t - idle, idle }' /proc/stat
}
# busy% between two cpu_jiffies samples.
busy_pct() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; idle = y[2] - x[2]
        printf "%.0f%%", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0 }'
}
# CPU time of the shell's finished children (wrk, mostly), in ticks, from `times` output
# saved in $TMP/times (`times` must run in this shell: a $(...) subshell has no children).
children_ticks() {
    awk -v hz="$CLK_TCK" 'NR == 2 {
        s = 0
        for (i = 1; i <= NF; i++) { split($i, ms, "m"); s += ms[1] * 60 + ms[2] }
        printf "%d", s * hz }' "$TMP/times"
}
# "proxy-core load-core" ticks left to other programs so far: each core's busy time minus
# what this benchmark's processes pinned there used (the proxies on one; the upstream and
# wrk, which the shell has waited for, on the other). Interrupt time is not subtracted: the
# tick-based accounting of common kernels charges it to the process that was running,
# which here is almost always one of ours.
# Sets OT (call it directly, not in $(...)).
OT=
others_ticks() {
    local p l c
    times >"$TMP/times"
    c=$(children_ticks)
    read -r -a p <<<"$(cpu_jiffies "$PROXY_CPU")"
    read -r -a l <<<"$(cpu_jiffies "$LOAD_CPU")"
    OT="$((p[0] - $(cpu_ticks "$NGINX_PID") - $(cpu_ticks "$ARCHWAY_PID"))) $((l[0] - $(cpu_ticks "$UPSTREAM_PID") - c))"
}
# other_pct A B NS CORES: % of one core other programs used between samples A and B of
# others_ticks, NS nanoseconds apart, on CORES (proxy, load or both).
other_pct() {
    awk -v a="$1" -v b="$2" -v ns="$3" -v hz="$CLK_TCK" -v cores="$4" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        p = y[1] - x[1]; l = y[2] - x[2]; if (p < 0) p = 0; if (l < 0) l = 0
        t = (cores == "load") ? l : (cores == "proxy") ? p : p + l
        printf "%.0f", 100 * (t / hz) / (ns / 1e9) }'
}

# Other programs (a cargo build, say) spoil the numbers. Before each measurement, wait for
# both cores to be quiet (at most QUIET_WAIT seconds); after it, repeat it (at most RETRIES
# times) if other programs used more than OTHER_MAX % of a core meanwhile.
QUIET_WAIT=${QUIET_WAIT:-30}
RETRIES=${RETRIES:-2}
OTHER_MAX=${OTHER_MAX:-10}
wait_quiet() {
    local waited=0 o0 s0 pct
    while :; do
        others_ticks
        o0=$OT s0=$(date +%s%N)
        sleep 1
        others_ticks
        pct=$(other_pct "$o0" "$OT" "$(($(date +%s%N) - s0))" "$1")
        ((pct <= OTHER_MAX)) && return 0
        ((waited == 0)) && log "other programs use ${pct}% of a core; waiting up to ${QUIET_WAIT}s for quiet"
        waited=$((waited + 1))
        ((waited < QUIET_WAIT)) || { log "still busy; measuring anyway"; return 0; }
    done
}

# wrk latency ("812.00us", "1.23ms", "1.02s", "2.00m") -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

declare -A RPS P50 P99 ERR CPU BUSYP BUSYL OTHER
# wrk_run DURATION URL OUT: in the background and waited for, so that Ctrl-C stops it at once
# (it runs in a session of its own, out of the terminal's reach).
WRK_PID=
wrk_run() {
    prio taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$1" --latency "$2" >"$3" &
    WRK_PID=$!
    wait "$WRK_PID"
    WRK_PID=
}

# measure TARGET BYTES: one warm-up and one measurement; fills the tables.
measure() {
    local t=$1 b=$2 url pid c0 c1 j0p j1p j0l j1l s0 s1 o0 o1 out rps p50 p99
    url=$(url_of "$t" "$b")
    pid=$(pid_of "$t")
    wrk_run "$WARMUP" "$url" /dev/null
    others_ticks
    c0=$(cpu_ticks "$pid") o0=$OT
    j0p=$(cpu_jiffies "$PROXY_CPU") j0l=$(cpu_jiffies "$LOAD_CPU")
    s0=$(date +%s%N)
    wrk_run "$DURATION" "$url" "$TMP/wrk.txt"
    out=$(<"$TMP/wrk.txt")
    s1=$(date +%s%N)
    j1p=$(cpu_jiffies "$PROXY_CPU") j1l=$(cpu_jiffies "$LOAD_CPU")
    others_ticks
    c1=$(cpu_ticks "$pid") o1=$OT
    echo "$out" >"$TMP/wrk-$t-$b.txt"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    [[ -n $rps && -n $p50 && -n $p99 ]] || { echo "$out" >&2; die "cannot parse wrk's output"; }
    RPS[$t,$b]=$rps
    P50[$t,$b]=$(to_ms "$p50")
    P99[$t,$b]=$(to_ms "$p99")
    ERR[$t,$b]=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
                      /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
                      END { print n + 0 }' <<<"$out")
    CPU[$t,$b]=$(awk -v c="$((c1 - c0))" -v hz="$CLK_TCK" -v ns="$((s1 - s0))" \
        'BEGIN { printf "%.0f%%", 100 * (c / hz) / (ns / 1e9) }')
    BUSYP[$t,$b]=$(busy_pct "$j0p" "$j1p")
    BUSYL[$t,$b]=$(busy_pct "$j0l" "$j1l")
    OTHER[$t,$b]=$(other_pct "$o0" "$o1" "$((s1 - s0))" "$(cores_of "$t")")
}

# Per-round values, by "target,bytes,round".
declare -A R_RPS R_P50 R_P99 R_ERR R_CPU R_BUSYP R_BUSYL R_OTHER
NOISY=0
for b in "${BYTES[@]}"; do
    for ((round = 1; round <= ROUNDS; round++)); do
        order=("${TARGETS[@]}")
        ((round % 2)) || order=(direct archway nginx)
        for t in "${order[@]}"; do
            for attempt in $(seq 0 "$RETRIES"); do
                wait_quiet "$(cores_of "$t")"
                log "$(label "$b") $t, round $round/$ROUNDS: warm-up $WARMUP, then $DURATION$( ((attempt == 0)) || echo " (attempt $((attempt + 1)))")"
                measure "$t" "$b"
                ((OTHER[$t,$b] <= OTHER_MAX)) && break
                log "other programs used ${OTHER[$t,$b]}% of a core during the measurement"
            done
            ((OTHER[$t,$b] <= OTHER_MAX)) || NOISY=$((NOISY + 1))
            k="$t,$b,$round"
            R_RPS[$k]=${RPS[$t,$b]} R_P50[$k]=${P50[$t,$b]} R_P99[$k]=${P99[$t,$b]} R_ERR[$k]=${ERR[$t,$b]}
            R_CPU[$k]=${CPU[$t,$b]%\%} R_BUSYP[$k]=${BUSYP[$t,$b]%\%} R_BUSYL[$k]=${BUSYL[$t,$b]%\%}
            R_OTHER[$k]=${OTHER[$t,$b]}
        done
    done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# rounds ARRAY-NAME TARGET BYTES: the per-round values, one per line.
rounds() {
    local -n arr=$1
    local r
    for ((r = 1; r <= ROUNDS; r++)); do echo "${arr[$2,$3,$r]}"; done
}
# round_ratios ARRAY-NAME A B BYTES: A/B of each round, one per line.
round_ratios() {
    local -n arr=$1
    local r
    for ((r = 1; r <= ROUNDS; r++)); do
        awk -v a="${arr[$2,$4,$r]}" -v b="${arr[$3,$4,$r]}" 'BEGIN { if (b > 0) printf "%.4f\n", a / b; else print 0 }'
    done
}
# The table shows each target's medians over rounds; errors are summed, other programs' share is
# the worst round's.
for b in "${BYTES[@]}"; do
    for t in "${TARGETS[@]}"; do
        RPS[$t,$b]=$(rounds R_RPS "$t" "$b" | median)
        P50[$t,$b]=$(rounds R_P50 "$t" "$b" | median)
        P99[$t,$b]=$(rounds R_P99 "$t" "$b" | median)
        ERR[$t,$b]=$(rounds R_ERR "$t" "$b" | awk '{ n += $1 } END { print n + 0 }')
        CPU[$t,$b]=$(rounds R_CPU "$t" "$b" | median)%
        BUSYP[$t,$b]=$(rounds R_BUSYP "$t" "$b" | median)%
        BUSYL[$t,$b]=$(rounds R_BUSYL "$t" "$b" | median)%
        OTHER[$t,$b]=$(rounds R_OTHER "$t" "$b" | sort -n | tail -n1)
    done
done

# --- report ----------------------------------------------------------------------------------

# by_round: the per-round ratios on stdin, as "1.02, 0.97, ...".
by_round() { awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }'; }
ratio() { awk -v a="$1" 'BEGIN { if (a > 0) printf "%.2f×", a; else print "n/a" }'; }
# interval: the rounds' ratios on stdin; prints "LO HI COVERAGE%" for their median (interval.awk).
interval() { awk -f "$BENCH_DIR/interval.awk"; }
# span "LO HI COVERAGE": as "0.91–1.07 (96%)".
span() { awk -v i="$1" 'BEGIN { split(i, a, " "); printf "%.2f–%.2f (%d%%)", a[1], a[2], a[3] }'; }
# verdict TPUT-RATIO P99-RATIO TPUT-INTERVAL P99-INTERVAL: whether the target is met by the
# medians and, when an interval spans 1.0, that this run cannot tell (the rounds disagree).
verdict() {
    awk -v t="$1" -v p="$2" -v ti="$3" -v pi="$4" 'BEGIN {
        split(ti, a, " "); split(pi, b, " ")
        tok = (t >= 1); pok = (p <= 1)
        if (tok && pok) v = "yes"
        else if (!tok && !pok) v = "no (throughput, p99)"
        else if (!tok) v = "no (throughput)"
        else v = "no (p99)"
        if ((a[1] < 1 && a[2] >= 1) || (b[1] <= 1 && b[2] > 1)) v = v ", within noise"
        print v }'
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain -- crates 2>/dev/null | head -c1)
report() {
    echo "# Archway vs nginx"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), archway ${rev}${dirty:+ (crates/ modified)}, $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), ${ncpu} CPUs${cpu_model:+ ($cpu_model)}."
    echo "Proxies pinned to CPU $PROXY_CPU with one worker; upstream nginx and wrk on CPU $LOAD_CPU; all at priority (nice) $NICE."
    if [[ $NGINX_FORWARDED == 1 ]]; then
        echo "Both proxies send X-Forwarded-For, -Proto and -Port to the upstream (NGINX_FORWARDED=1)."
    else
        echo "nginx sends no X-Forwarded-* headers; archway sends X-Forwarded-For, -Proto and -Port (NGINX_FORWARDED=0)."
    fi
    echo "wrk -t1 -c$CONNECTIONS -d$DURATION --latency (keep-alive), after a $WARMUP warm-up per target; $ROUNDS rounds."
    echo
    echo "| size | target | requests/s | p50 ms | p99 ms | errors | target CPU | CPU $PROXY_CPU busy | CPU $LOAD_CPU busy | other programs |"
    echo "|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for b in "${BYTES[@]}"; do
        for t in "${TARGETS[@]}"; do
            printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s%%%s |\n' "$(label "$b")" "$t" "${RPS[$t,$b]}" \
                "${P50[$t,$b]}" "${P99[$t,$b]}" "${ERR[$t,$b]}" "${CPU[$t,$b]}" "${BUSYP[$t,$b]}" "${BUSYL[$t,$b]}" \
                "${OTHER[$t,$b]}" "$( ((OTHER[$t,$b] <= OTHER_MAX)) || echo ' ⚠')"
        done
    done
    echo
    echo "| size | archway/nginx req/s | 95% interval | archway/direct req/s | p99 archway/nginx | 95% interval | target met | archway/nginx req/s by round | p99 archway/nginx by round |"
    echo "|---:|---:|:---|---:|---:|:---|:---|:---|:---|"
    local met trs prs tr dr pr ti pi
    for b in "${BYTES[@]}"; do
        trs=$(round_ratios R_RPS archway nginx "$b")
        prs=$(round_ratios R_P99 archway nginx "$b")
        tr=$(median <<<"$trs") ti=$(interval <<<"$trs")
        pr=$(median <<<"$prs") pi=$(interval <<<"$prs")
        dr=$(round_ratios R_RPS archway direct "$b" | median)
        met=$(verdict "$tr" "$pr" "$ti" "$pi")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$b")" "$(ratio "$tr")" \
            "$(span "$ti")" "$(ratio "$dr")" "$(ratio "$pr")" "$(span "$pi")" "$met" \
            "$(by_round <<<"$trs")" "$(by_round <<<"$prs")"
    done
    echo
    echo "Target: archway ≥ 1.0× nginx's requests/s with a p99 no higher than nginx's."
    echo "Each figure in the first table is the median of $ROUNDS rounds; each ratio is the median of the"
    echo "rounds' ratios (a round measures all three targets within a minute, so drift of the machine"
    echo "cancels out of the ratio). \"95% interval\": where the median ratio lies with that confidence"
    echo "(order statistics of the rounds' ratios; the coverage is given, below 95% with fewer than 6"
    echo "rounds). \"within noise\": an interval spans 1.0, so the rounds disagree and this run cannot"
    echo "tell whether the target is met; more rounds narrow it (bench/README.md, \"Why rounds differ\")."
    echo "\"target CPU\": CPU time of the target's own processes (100% = one core; for direct, the"
    echo "upstream nginx). \"CPU n busy\": the whole core, whoever used it. A proxy whose target CPU"
    echo "is well below 100% was held back by the load core (wrk + upstream); then requests/s per"
    echo "target CPU (requests per core-second) tells which proxy is cheaper per request."
    if [ -n "${ARCHWAY_IDLE_POLL:-}" ] && [ "$ARCHWAY_IDLE_POLL" != 0 ]; then
        echo "Not so for archway here: a worker out of work polled for up to $ARCHWAY_IDLE_POLL µs before it"
        echo "slept (ARCHWAY_IDLE_POLL, docs/idle-poll.md), so its CPU reads near 100% whatever its work."
    fi
    echo "\"other programs\": CPU that processes outside this benchmark used meanwhile (% of one core)."
    if ((NOISY)); then
        echo
        echo "⚠ $NOISY measurement(s) shared the machine with other programs even after ${RETRIES} retries:"
        echo "their numbers are not reliable. Rerun on a quiet machine."
    fi
    echo "Runs vary by about ±10%: compare within one run."
}

mkdir -p "$(dirname "$RESULTS")"
report | tee "$RESULTS"
log "written to $RESULTS"

# --- optional: where archway spends its CPU --------------------------------------------------

# PROFILE=1: one more load on archway (PROFILE_SIZE, default the middle size) under
# `perf record -e cpu-clock` (a software clock: works where VMs hide hardware counters).
if [[ ${PROFILE:-0} == 1 ]]; then
    if ! command -v perf >/dev/null 2>&1; then
        log "PROFILE=1 needs perf (apt-get install linux-perf); skipped"
        exit 0
    fi
    pb=$(to_bytes "${PROFILE_SIZE:-${BYTES[$((${#BYTES[@]} / 2))]}}")
    [[ -f $TMP/www/$pb ]] || die "PROFILE_SIZE $pb is not one of SIZES"
    pdur=${DURATION%s}
    [[ $pdur =~ ^[0-9]+$ ]] || pdur=10
    prof=$(dirname "$RESULTS")/profile-archway.txt
    log "profiling archway at $(label "$pb") for ${pdur}s"
    taskset -c "$LOAD_CPU" perf record -q -e cpu-clock -F 999 --call-graph dwarf,8192 \
        -o "$TMP/perf.data" -p "$ARCHWAY_PID" -- sleep "$pdur" 2>"$TMP/perf.log" &
    perf_pid=$!
    wrk_run "${pdur}s" "$(url_of archway "$pb")" /dev/null
    wait "$perf_pid" || { cat "$TMP/perf.log" >&2; die "perf record failed"; }
    {
        echo "# archway under load: $(label "$pb") responses, wrk -c$CONNECTIONS, perf -e cpu-clock"
        echo
        echo "## Self time by binary (kernel: syscalls and loopback TCP)"
        perf report -i "$TMP/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
            grep -v '^#' | sed '/^$/d'
        echo
        echo "## Self time by symbol"
        perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,sym -g none \
            --percent-limit 0.3 2>/dev/null | grep -v '^#' | sed '/^$/d'
        echo
        echo "## Inclusive time (self + callees) by symbol"
        perf report -i "$TMP/perf.data" --stdio --children --sort sym -g none \
            --percent-limit 2 2>/dev/null | grep -v '^#' | sed '/^$/d' | cut -c1-200
    } >"$prof"
    log "profile written to $prof"
fi
