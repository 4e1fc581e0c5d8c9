#!/usr/bin/env bash
# Set up trustsim in .venv/ with a Python >= 3.12 found on this machine, then do one job:
#
#   scripts/bootstrap.sh run [SCENARIO]   install, run a scenario (default scenarios/baseline.toml) into results/
#                                         of the directory it is given in, as for trustsim itself: relative paths
#                                         (SCENARIO, --out) are read from there
#   scripts/bootstrap.sh test [ARGS...]   install with the test extras (and Chromium for the browser tests), run pytest:
#                                         without ARGS the whole suite on every core (-n auto), else pytest ARGS
#   scripts/bootstrap.sh env              only create or update the environment
#
# Python is looked for on PATH first (python3.19 down to python3.12, then python3 and python), then among
# pyenv's versions, then in /usr/local/bin and /opt, when .venv has to be made. The environment is reused while
# pyproject.toml is unchanged, and installed into again as it is when it changes.
set -euo pipefail

caller="$PWD"  # where run's relative paths (its scenario, --out, results/) are read from
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="$here/.venv"
job="${1:-run}"
[ $# -gt 0 ] && shift

say() { printf 'trustsim setup: %s\n' "$*" >&2; }

is_suitable() {  # a Python >= 3.12 that can make a virtual environment: status 3 when only that is missing
    "$1" -c 'import sys
if sys.version_info < (3, 12): sys.exit(1)
try: import venv, ensurepip
except ImportError: sys.exit(3)' >/dev/null 2>&1
}

novenv=""  # the first Python >= 3.12 seen without venv or ensurepip (Debian splits them off into pythonX.Y-venv)
try_python() {
    local status=0
    is_suitable "$1" || status=$?
    if [ "$status" = 3 ] && [ -z "$novenv" ]; then novenv="$1"; fi
    return "$status"
}

find_python() {  # prints the Python to use; when there is none, fails, printing one that only lacks venv if any
    local c
    for c in python3.{19..12} python3 python; do
        if command -v "$c" >/dev/null 2>&1 && try_python "$(command -v "$c")"; then
            command -v "$c"; return 0
        fi
    done
    local roots=()
    if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root 2>/dev/null)"); fi
    roots+=("${PYENV_ROOT:-}" "${HOME:+$HOME/.pyenv}")
    for root in "${roots[@]}"; do
        [ -n "$root" ] && [ -d "$root/versions" ] || continue
        # newest first, one a line (a root may have a space in its path)
        while IFS= read -r c; do
            if [ -x "$c/bin/python" ] && try_python "$c/bin/python"; then echo "$c/bin/python"; return 0; fi
        done < <(ls -d "$root"/versions/3.* 2>/dev/null | sort -Vr)
    done
    for c in /usr/local/bin/python3.1[2-9] /opt/*/bin/python3.1[2-9] /opt/python*/bin/python3; do
        if [ -x "$c" ] && try_python "$c"; then echo "$c"; return 0; fi
    done
    [ -z "$novenv" ] || echo "$novenv"
    return 1
}

sha256() {  # macOS has shasum but, before recent versions, no sha256sum
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi
}

made=.trustsim-made  # the mark of an environment this script made (one an earlier version made has its stamp)
theirs=.trustsim-theirs  # the mark of the user's own environment that it installed into, stamp and all

moved=""  # the folder the clone was in when its environment was made, where that was another (make_env)

unusable() {  # why the environment in .venv cannot serve (is_suitable's status: 1 too old, 3 no venv module)
    if [ -n "$moved" ]; then echo "made in $moved, and an environment cannot be moved"; return; fi
    if [ ! -x "$venv/bin/python" ]; then echo "no bin/python in it"; return; fi
    local v status=0
    v="$("$venv/bin/python" --version 2>&1 | head -n 1)"
    is_suitable "$venv/bin/python" || status=$?
    case "$status" in
        0) echo "$v without pip" ;;
        3) echo "$v without the venv module" ;;
        *) echo "${v:-its Python}: trustsim needs Python 3.12 or newer" ;;
    esac
}

make_env() {  # $1: extras ("" or "[test]")
    local extras="$1" stamp="$venv/.trustsim-stamp" key py v started=$SECONDS
    # what the environment was built from: pyproject.toml and where this clone lives (editable install)
    key="$(sha256 pyproject.toml | cut -c1-16) $here"
    if [ -x "$venv/bin/python" ] && is_suitable "$venv/bin/python" && [ -f "$stamp" ] \
        && { grep -qxF "$key [test]" "$stamp" || { [ -z "$extras" ] && grep -qxF "$key " "$stamp"; }; }; then
        say "environment .venv is up to date"
        return 0
    fi
    # a clone moved since: its activate script and its tools' first lines name the folder it was made in, so that
    # after activating it, `trustsim` was not found and `python` was another Python
    if [ -f "$stamp" ]; then
        moved="$(head -n 1 "$stamp")"; moved="${moved#* }"; moved="${moved% \[test\]}"; moved="${moved% }"
        [ "$moved" != "$here" ] || moved=""
    fi
    # made anew when too old, moved, or when its making was cut short (no pip: every install would fail); but only
    # an environment this script made: one of the user's own is theirs to move or remove
    if [ -n "$moved" ] || [ ! -x "$venv/bin/python" ] || ! is_suitable "$venv/bin/python" \
        || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
        if [ -e "$venv" ] && [ ! -f "$venv/$made" ] && { [ ! -f "$stamp" ] || [ -f "$venv/$theirs" ]; }; then
            say ".venv holds an environment this script did not make, which trustsim cannot use ($(unusable)):" \
                "it is left as it is; move it away or remove it, then run this command again."
            exit 1
        fi
        if ! py="$(find_python)"; then  # looked for only here: an environment that serves needs none
            if [ -n "$py" ]; then
                v="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
                say "$py is Python $v but cannot make virtual environments: install python$v-venv" \
                    "('sudo apt-get install python$v-venv'), then run this command again."
            else
                say "trustsim needs Python 3.12 or newer and none was found (on PATH, in pyenv, /usr/local/bin" \
                    "or /opt): install one ('sudo apt-get install python3.12 python3.12-venv'," \
                    "'brew install python@3.12' or 'pyenv install 3.12'), then run this command again."
            fi
            exit 1
        fi
        [ -z "$moved" ] || say ".venv was made in $moved, and an environment cannot be moved: making it anew"
        say "using $py ($("$py" --version 2>&1))"
        rm -rf "$venv"
        mkdir "$venv" && touch "$venv/$made"  # before the environment, so that one cut short is known as ours
        "$py" -m venv "$venv"
    else
        say "using .venv ($("$venv/bin/python" --version 2>&1))"
        # installed into, it stays the user's: its stamp must not make it one this script may remove
        [ -f "$venv/$made" ] || touch "$venv/$theirs"
    fi
    rm -f "$stamp"
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -e ".$extras"
    echo "$key $extras" > "$stamp"
    say "environment .venv ready in $((SECONDS - started)) s"
}

ensure_chromium() {  # the browser tests drive Debian's Chromium; they skip with a reason when there is none
    # looked for where they look (scripts/app_screenshot.py: find_chromium)
    if [ -n "${TRUSTSIM_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 \
        || command -v chromium-browser >/dev/null 2>&1; then return 0; fi
    local fate="be skipped"  # as tests/conftest.py: no_browser decides
    [ -z "${TRUSTSIM_REQUIRE_BROWSER:-}" ] || fate="fail (TRUSTSIM_REQUIRE_BROWSER is set)"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Chromium for the browser tests (apt-get install chromium)"
        if ! { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            say "could not install Chromium: the browser tests will $fate; point TRUSTSIM_CHROMIUM at a Chromium binary."
        fi
    else
        say "no Chromium found: the browser tests will $fate; install it ('sudo apt-get install chromium')" \
            "or point TRUSTSIM_CHROMIUM at a Chromium binary."
    fi
}

case "$job" in
    env)
        make_env "[test]" ;;
    run)
        make_env ""
        baseline=scenarios/baseline.toml
        [ "$caller" = "$here" ] || baseline="$here/$baseline"
        cd "$caller"
        # no scenario, or options only (run --seed 3): the baseline, with them
        if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- "$baseline" "$@"; fi
        exec "$venv/bin/trustsim" run "$@" ;;
    test)
        make_env "[test]"
        ensure_chromium
        started=$SECONDS status=0
        [ $# -gt 0 ] || set -- -n auto  # the whole suite, spread over every core by pytest-xdist
        "$venv/bin/python" -m pytest "$@" || status=$?
        say "tests took $((SECONDS - started)) s; pytest's exit status: $status"
        exit "$status" ;;
    *)
        say "unknown job '$job': use run, test or env"; exit 2 ;;
esac
