#!/usr/bin/env bash
# Runs Kriten's own pytest API suite (kriten-io/kriten, directory tests/) against a real runplane server.
#
#   hack/kriten-suite.sh [SUITE] [pytest args...]    run it (SUITE as below; default: KRITEN_TESTS, else KRITEN_REPO)
#   hack/kriten-suite.sh --where [SUITE]             print where the suite comes from (exit 1: none at the default
#                                                    place; exit 2: none where SUITE or KRITEN_TESTS says)
#
# SUITE is Kriten's tests/ directory, a checkout of Kriten, or a git directory of Kriten (bare or not), from which
# tests/ is taken at KRITEN_REF, else at HEAD, else at the newest ref that has it. KRITEN_REPO defaults to
# /work/.mirror/kriten-io+kriten/repo, where the development machines keep a snapshot of Kriten. The suite is
# Kriten's and is not part of this repository: when the default place holds none this script says "skipped" and
# exits 0; a SUITE or KRITEN_TESTS that holds none is an error.
#
# The suite is copied to a temp dir (nothing is written next to it). The script builds runplane (or uses
# RUNPLANE_BIN), starts `runplane serve` on a free 127.0.0.1 port with a temp data dir and a random root password
# (RUNPLANE_STORE, if set, picks the store as for any server), points the suite's conftest.py at it (KRITEN_URL,
# KRITEN_USERNAME=root, KRITEN_PASSWORD, KRITEN_PROVIDER=local), runs pytest and stops the server by its PID.
# KRITEN_SERVER_LOG=FILE keeps the server's log.
#
# Python: Debian's /usr/bin/python3 with python3-pytest and python3-requests (hack/test.sh installs them when a
# suite is present). Two of the suite's files (test_roles.py, test_role_bindings.py) nest double quotes inside
# double-quoted f-strings (`f"{runner["name"]}"`, PEP 701), which only Python 3.12 and later can parse; Debian 12
# has 3.11 and no newer python3 package. With a Python older than 3.12 the script rewrites, in its copy only, each
# such `{name["key"]}` inside a double-quoted f-string to `{name['key']}` — the same string and the same test
# (Python 3.12 parses both files to the same syntax tree before and after) — and checks that every file then
# compiles. KRITEN_PYTHON names another interpreter (it must import pytest and requests).
set -euo pipefail
cd "$(dirname "$0")/.."

where_only=false
if [ "${1:-}" = --where ]; then
	where_only=true
	shift
fi
source_arg=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	source_arg=$1
	shift
fi

# suite_ref GITDIR: the ref whose tree has tests/conftest.py (KRITEN_REF, HEAD, then the newest ref).
suite_ref() {
	local git=(git --git-dir="$1") r
	for r in ${KRITEN_REF:-} HEAD $("${git[@]}" for-each-ref --sort=-committerdate --format='%(refname)' 2>/dev/null); do
		if "${git[@]}" cat-file -e "$r:tests/conftest.py" 2>/dev/null; then
			echo "$r"
			return 0
		fi
		[ -n "${KRITEN_REF:-}" ] && [ "$r" = "$KRITEN_REF" ] && return 1
	done
	return 1
}

# locate PATH: sets src (a tests/ directory) or gitdir+ref; fails if PATH holds no suite.
locate() {
	local p=$1
	src="" gitdir="" ref=""
	[ -n "$p" ] && [ -e "$p" ] || return 1
	if [ -f "$p/conftest.py" ]; then
		src=$p
	elif [ -f "$p/tests/conftest.py" ] && [ -z "${KRITEN_REF:-}" ]; then
		src=$p/tests
	else
		gitdir=$p
		[ -d "$p/.git" ] && gitdir=$p/.git
		git --git-dir="$gitdir" rev-parse --git-dir >/dev/null 2>&1 || return 1
		ref=$(suite_ref "$gitdir") || return 1
	fi
}

# A suite asked for by name (argument or KRITEN_TESTS) must be there; the default place may be empty.
explicit=${source_arg:-${KRITEN_TESTS:-}}
if [ -n "$explicit" ]; then
	if ! locate "$explicit"; then
		echo "kriten-suite: no Kriten test suite in $explicit (a tests/ directory with conftest.py, a checkout, or a git repository with a commit that has tests/${KRITEN_REF:+ at $KRITEN_REF})" >&2
		exit 2
	fi
elif ! locate "${KRITEN_REPO:-/work/.mirror/kriten-io+kriten/repo}"; then
	why="no Kriten test suite in ${KRITEN_REPO:-/work/.mirror/kriten-io+kriten/repo} (give its tests/ directory or a Kriten git repository as argument, KRITEN_TESTS or KRITEN_REPO; a repository needs a commit with tests/: Kriten's v0.5.3 (9b0aae9) has none, later commits added the suite)"
	if $where_only; then
		echo "$why" >&2
		exit 1
	fi
	echo "kriten-suite: skipped: $why"
	exit 0
fi
if [ -n "$src" ]; then where=$(cd "$src" && pwd); else where="$(cd "$gitdir" && pwd)@$ref"; fi
if $where_only; then
	echo "$where"
	exit 0
fi

# Debian's interpreter, the one its python3-* packages are for (a python3 earlier on PATH, e.g. pyenv's, lacks them).
python=${KRITEN_PYTHON:-}
if [ -z "$python" ]; then
	python=python3
	[ -x /usr/bin/python3 ] && python=/usr/bin/python3
fi
if ! "$python" -c 'import pytest, requests' 2>/dev/null; then
	echo "kriten-suite: $python cannot import pytest and requests (apt-get install python3-pytest python3-requests)" >&2
	exit 1
fi

work=$(mktemp -d)
pid="" tests_pid=""
cleanup() {
	local p
	for p in $tests_pid $pid; do # pytest first, then the server it talks to
		if kill -0 "$p" 2>/dev/null; then
			kill -TERM "$p"
			wait "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

suite=$work/tests
if [ -n "$src" ]; then
	mkdir "$suite"
	(cd "$src" && tar --exclude=__pycache__ --exclude=.pytest_cache -cf - .) | tar -xf - -C "$suite"
else
	git --git-dir="$gitdir" archive "$ref" tests | tar -xf - -C "$work"
fi

export PYTHONDONTWRITEBYTECODE=1
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
	# PEP 701's nested quotes, rewritten for older Pythons (see the header); only {name["key"]} inside f"...".
	"$python" - "$suite" <<-'EOF'
		import pathlib, re, sys
		nested = re.compile(r'''((?<![\w"'])[fF]"[^"\n]*?)\{([A-Za-z_][\w.]*)\["([^"'{}\n]*)"\]\}''')
		for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
		    text = path.read_text()
		    new, total = text, 0
		    while True:
		        new, n = nested.subn(r"\1{\2['\3']}", new)
		        if n == 0:
		            break
		        total += n
		    if total:
		        path.write_text(new)
		        print(f"kriten-suite: {path.name}: {total} nested f-string quote(s) rewritten for Python < 3.12")
	EOF
	if ! out=$("$python" - "$suite" 2>&1 <<-'EOF'
		import pathlib, sys
		bad = 0
		for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
		    try:
		        compile(path.read_text(), str(path), "exec")
		    except SyntaxError as e:
		        print(f"{path.name}:{e.lineno}: {e.msg}")
		        bad += 1
		sys.exit(bad > 0)
	EOF
	); then
		echo "kriten-suite: the suite does not compile with $("$python" --version) even after the rewrite; run it with a Python >= 3.12 (KRITEN_PYTHON):" >&2
		echo "$out" >&2
		exit 1
	fi
fi

bin=${RUNPLANE_BIN:-}
if [ -z "$bin" ]; then
	bin="$work/runplane"
	GOTOOLCHAIN=local go build -o "$bin" ./cmd/runplane
fi

password="kriten-suite-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
: >"$work/stdout"
RUNPLANE_ROOT_PASSWORD=$password "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
	>"$work/stdout" 2>"$work/server.log" &
pid=$!

url=""
for _ in $(seq 300); do
	url=$(sed -n 's/^runplane listening on \(http[^ ]*\).*/\1/p' "$work/stdout" || true)
	[ -n "$url" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "kriten-suite: runplane serve exited:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "$url" ]; then
	echo "kriten-suite: runplane serve did not start listening within 30s" >&2
	cat "$work/server.log" >&2
	exit 1
fi
store=${RUNPLANE_STORE:-sqlite}
case $store in postgres*) store=postgres ;; esac # never the DSN: it may hold a password
echo "kriten-suite: runplane at $url (store $store), suite $where, $("$python" --version)"

# In the background, so that a TERM (the Go test's cancel) is handled at once, not after pytest ends.
(cd "$suite" && KRITEN_URL=$url KRITEN_USERNAME=root KRITEN_PASSWORD=$password KRITEN_PROVIDER=local \
	exec "$python" -m pytest -p no:cacheprovider -rfEs "$@" .) &
tests_pid=$!
status=0
wait "$tests_pid" || status=$?
tests_pid=""
if [ "$status" = 5 ]; then
	echo "kriten-suite: pytest collected no tests from $where" >&2
fi
[ -n "${KRITEN_SERVER_LOG:-}" ] && cp "$work/server.log" "$KRITEN_SERVER_LOG"
exit "$status"
