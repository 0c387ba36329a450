#!/usr/bin/env bash
# The browser tests (tests/test_widget_browser.py) drive Chromium: THRESHOLD_CHROMIUM when
# set, else `chromium` on the PATH (Debian's /usr/bin/chromium). `make test` runs this
# first, so a machine without it stops in a second, not after training and the suite.
# Only bash builtins: it must answer on a bare PATH too.
if [ -n "${THRESHOLD_CHROMIUM:-}" ]; then
  if [ -f "$THRESHOLD_CHROMIUM" ] && [ -x "$THRESHOLD_CHROMIUM" ]; then
    exit 0
  fi
  echo "Chromium not found at THRESHOLD_CHROMIUM=$THRESHOLD_CHROMIUM: point it at Chromium, or unset it and install Chromium with \`sudo apt-get install -y chromium\` (Debian), then run make test again" >&2
  exit 1
fi
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "Chromium not found: install it with \`sudo apt-get install -y chromium\` (Debian) and run make test again" >&2
exit 1
