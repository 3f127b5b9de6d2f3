#!/bin/sh
# `npm test`'s first step: the browser tests (packages/server/test/Dashboard.browser.test.ts) drive
# Debian's chromium through playwright-core. Installs it when it is missing and this user may
# (root, or sudo without a password); else says how, and the browser tests fail saying so too.
set -eu
if [ -n "${CHROMIUM:-}" ] || [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then as_root=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo"; else as_root="none"; fi
if [ "$as_root" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no /usr/bin/chromium, and no way to install it here: install Debian's chromium package, or set CHROMIUM to a Chromium binary" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests (once per machine)"
$as_root apt-get install -y -q --no-install-recommends chromium >/dev/null ||
  { $as_root apt-get update -q >/dev/null && $as_root apt-get install -y -q --no-install-recommends chromium >/dev/null; }
