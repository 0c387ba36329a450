#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10; the
# project is pinned and tested on 3.10). Looks at, in order: $PYTHON,
# python3.10 on PATH, pyenv. Exits 1 with what to install when there is none.
set -u
is_310() { "$@" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not a Python 3.10 interpreter." >&2
  exit 1
fi
if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
  command -v python3.10; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    path="$(pyenv root)/versions/$version/bin/python3.10"
    if is_310 "$path"; then echo "$path"; exit 0; fi
  fi
fi
# echo is a builtin: the message shows even with an empty PATH.
echo 'No Python 3.10 found. Rasa Open Source 3.6 runs on Python 3.8-3.10 only.' >&2
echo 'Install Python 3.10, for example:' >&2
echo '  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv' >&2
echo '  - pyenv:         pyenv install 3.10.13' >&2
echo '  - macOS:         brew install python@3.10' >&2
echo 'or point to one with: make setup PYTHON=/path/to/python3.10' >&2
exit 1
