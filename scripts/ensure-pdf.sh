#!/usr/bin/env bash
# Printable kartes (PDF) are made by WeasyPrint, which needs Pango, Japanese fonts and an emoji font.
# `make run` calls this with --soft (a missing package only warns: everything else works);
# `make test` calls it strictly, because the PDF tests need them.
set -euo pipefail
soft=0; [ "${1:-}" = "--soft" ] && soft=1
need=()
ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
# Emoji in names and notes (🍣, ☎) print as themselves, not as empty boxes.
fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || need+=(fonts-noto-color-emoji)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "For printable kartes (PDF), please install (as root): apt-get install --no-install-recommends ${need[*]}" >&2
  [ $soft -eq 1 ] && exit 0 || exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "For printable kartes (PDF), please install Pango and Noto Sans CJK fonts with your package manager." >&2
  [ $soft -eq 1 ] && exit 0 || exit 1
fi
echo "Installing for printable kartes (PDF): ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null || {
  echo "Could not install ${need[*]}: printable kartes (PDF) will not work until they are installed." >&2
  [ $soft -eq 1 ] && exit 0 || exit 1
}
