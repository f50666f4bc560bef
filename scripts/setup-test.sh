#!/usr/bin/env bash
# Installs what `make test` needs when it is missing: Debian's Chromium, ChromeDriver
# and Firefox ESR, the WebDAV servers the sync tests start on 127.0.0.1 (Apache httpd
# with mod_dav, rclone), and geckodriver (no Debian package: built with cargo).
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)
[ -x /usr/sbin/apache2 ] || missing+=(apache2)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
command -v rclone >/dev/null || missing+=(rclone)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

if ! command -v geckodriver >/dev/null; then
  echo "setup: installing geckodriver (about 3 minutes)"
  cargo install geckodriver --locked
fi
