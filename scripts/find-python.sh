#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 runs on 3.10 only), or say what to install.
# Looks at python3.10 on PATH, then pyenv's versions, then uv's managed Pythons.
set -u

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

candidates=()
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for dir in $(ls -d "$pyenv_root"/versions/3.10.* 2>/dev/null | sort -V -r); do
  candidates+=("$dir/bin/python3.10")
done
if command -v uv >/dev/null 2>&1; then
  found=$(uv python find 3.10 2>/dev/null) && candidates+=("$found")
fi
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)

for candidate in "${candidates[@]}"; do
  if [ -x "$candidate" ] && is_310 "$candidate"; then
    echo "$candidate"
    exit 0
  fi
done

cat >&2 <<'MSG'
Python 3.10 was not found. Rasa 3.6 needs exactly Python 3.10 (3.11 and newer are not supported).
Install it with one of these, then run the command again:
  pyenv install 3.10.13                       (pyenv)
  uv python install 3.10                      (uv)
  sudo apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with 3.10 packaged)
  brew install python@3.10                    (macOS)
MSG
exit 1
