#!/bin/bash
# fuzz.sh - run, merge or replay the libFuzzer targets of tests/fuzz/
#   fuzz.sh run [NAME...]      each target for $FUZZ_SECONDS (default 60),
#                              one after the other, one process each
#   fuzz.sh merge [NAME...]    add to tests/fuzz/corpus/NAME what the runs
#                              found that reaches new code
#   fuzz.sh replay [NAME...]   each seed corpus once, in TAP (check.sh)
# NAME is the target's name, fuzz_NAME.c; none: every target. The targets
# are $BUILD/fuzz/fuzz_NAME ("make fuzz-build"); what a run finds is kept
# in $BUILD/fuzz/corpus/NAME, a crashing input in $BUILD/fuzz/artifacts/.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ=$BUILD/fuzz
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
mode=${1:-}
[ $# -gt 0 ] && shift

names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		names+=("${f%.c}")
	done
fi

# dict NAME: libFuzzer's -dict option when the target has a dictionary
dict() {
	[ ! -f "tests/fuzz/$1.dict" ] || echo "-dict=tests/fuzz/$1.dict"
}

case "$mode" in
run)
	mkdir -p "$FUZZ/artifacts"
	for t in "${names[@]}"; do
		mkdir -p "$FUZZ/corpus/$t"
		echo "fuzz: $t for ${FUZZ_SECONDS}s"
		# the targets' own messages on stdout and stderr are closed;
		# libFuzzer's and the sanitizers' reports are not
		"$FUZZ/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -close_fd_mask=3 \
			-print_final_stats=1 $(dict "$t") \
			-artifact_prefix="$FUZZ/artifacts/$t-" \
			"$FUZZ/corpus/$t" "tests/fuzz/corpus/$t" \
			>"$FUZZ/$t.log" 2>&1
		st=$?
		grep -E '^(stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|Done |SUMMARY|==[0-9]+==ERROR|artifact_prefix)' \
			"$FUZZ/$t.log" | sed 's/^/  /'
		if [ $st != 0 ]; then
			echo "fuzz: $t found something (status $st): $FUZZ/$t.log"
			exit 1
		fi
	done
	;;
merge)
	for t in "${names[@]}"; do
		mkdir -p "$FUZZ/corpus/$t"
		"$FUZZ/fuzz_$t" -merge=1 -close_fd_mask=3 "tests/fuzz/corpus/$t" \
			"$FUZZ/corpus/$t" 2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' |
			sed "s/^/$t: /"
	done
	;;
replay)
	# -runs=0: run each input of the corpus once, then stop
	for t in "${names[@]}"; do
		n=$(find "tests/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
		if [ ! -x "$FUZZ/fuzz_$t" ]; then
			echo "not ok - fuzz_$t is not built (make fuzz-build)"
		elif [ "$n" = 0 ]; then
			echo "not ok - fuzz_$t has no seed corpus in tests/fuzz/corpus/$t"
		elif out=$("$FUZZ/fuzz_$t" -runs=0 -close_fd_mask=3 \
			"tests/fuzz/corpus/$t" 2>&1); then
			echo "ok - fuzz_$t replays its $n inputs"
		else
			echo "not ok - fuzz_$t fails on its corpus"
			printf '%s\n' "$out" | grep -v '^INFO' | head -40 | sed 's/^/# /'
		fi
	done
	;;
*)
	echo "usage: fuzz.sh run|merge|replay [NAME...]" >&2
	exit 2
	;;
esac
