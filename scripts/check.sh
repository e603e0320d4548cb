#!/bin/bash
# check.sh - run the test suites and end with one summary line.
#   check.sh [lint|man|unit|fuzz|integration]...   (default: all of them)
# Every check prints "ok" or "not ok" (TAP); the last line counts them.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
LOG=$BUILD/check.log
mkdir -p "$BUILD"
: >"$LOG"
pass=0
fail=0

# tally: read TAP from stdin, echo failures in full, count the rest
tally() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok "*) pass=$((pass + 1)); echo "  $line" ;;
		"not ok "*) fail=$((fail + 1)); echo "  $line" ;;
		"#"*) echo "  $line" ;;
		esac
	done
}

# one: NAME COMMAND...: a check that passes when COMMAND exits 0 silently
one() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1) && [ -z "$out" ]; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		printf '%s\n' "$out" | head -40 | sed 's/^/# /'
	fi
}

c_sources() {
	find common tools roles agent tests bench -name '*.[ch]' 2>/dev/null | sort
}

# layers: the quoted includes that climb from a lower layer to a higher
# one (util < the sitesys library < location < roles, agent, sitectl),
# one "file: include" a line; nothing when the layers hold
layer_climbs() {
	local f inc
	for f in $(find common -name '*.[ch]' | sort); do
		for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			case "$f:$inc" in
			common/util/*:*/*) echo "$f: $inc" ;;
			common/util/*:*) [ -e "common/util/$inc" ] || echo "$f: $inc" ;;
			common/location/*:util/* | common/location/*:location/*) ;;
			common/location/*:*/*) echo "$f: $inc" ;;
			common/location/*:*) [ -e "common/location/$inc" ] ||
				[ -e "common/$inc" ] || echo "$f: $inc" ;;
			common/*:util/*) ;;
			common/*:*/*) echo "$f: $inc" ;;
			common/*:*) [ -e "common/$inc" ] || echo "$f: $inc" ;;
			esac
		done
	done
}

run_lint() {
	echo "lint:"
	tally < <(
		one "cppcheck finds nothing" cppcheck --quiet --error-exitcode=1 \
			--enable=warning,portability,performance \
			--inline-suppr --std=c11 -D_GNU_SOURCE -Icommon \
			common tools roles agent tests/unit tests/helpers tests/fuzz bench
		one "the tree follows .clang-format" clang-format --dry-run -Werror \
			$(c_sources)
		one "no include climbs from a lower layer to a higher one" \
			layer_climbs
	)
}

run_man() {
	echo "man pages:"
	local m
	tally < <(for m in man/*.[1-8]; do
		one "$m passes mandoc -Tlint" mandoc -Tlint -W warning "$m"
		one "$m renders with groff -ww" sh -c \
			"groff -ww -mandoc -Tutf8 '$m' 2>&1 >/dev/null"
	done)
}

run_unit() {
	echo "unit tests (cmocka):"
	local t st
	tally < <(for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>>"$LOG" | sed "s|^\(not \)\{0,1\}ok [0-9]* - |&$(basename "$t"): |"
		# a sanitizer report at exit changes only the status
		st=${PIPESTATUS[0]}
		[ "$st" = 0 ] ||
			echo "not ok - $(basename "$t") exited with status $st (see $LOG)"
	done)
}

run_fuzz() {
	echo "fuzz corpora replay (libFuzzer, ASan+UBSan):"
	tally < <(bash scripts/fuzz.sh replay)
}

run_integration() {
	echo "integration tests (bats, real PostgreSQL and nginx):"
	tally < <(bats --tap tests/integration 2>>"$LOG")
}

suites=${*:-lint man unit fuzz integration}
for s in $suites; do
	"run_$s"
done
[ "$fail" -eq 0 ] || echo "(details of failures: $LOG and the kept /tmp/sitesys-test.* directories)"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
