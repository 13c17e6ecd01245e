#!/usr/bin/env bash
# Installs the natbeat NAT agent on Amazon Linux 2023 (run as root, e.g. from EC2 user data).
#
#   install.sh BUNDLE_PATH [KEY=VALUE ...]
#
#   BUNDLE_PATH  the agent bundle, natbeat-agent.mjs; its systemd unit is taken from
#                natbeat-agent.service next to it, or from systemd/ next to this script.
#   KEY=VALUE    written to /etc/natbeat/agent.env; KEY must be NATBEAT_* or AWS_*. Example:
#                install.sh /tmp/natbeat-agent.mjs \
#                  NATBEAT_PROBE_TARGET=s3.us-east-1.amazonaws.com:443,monitoring.us-east-1.amazonaws.com:443
#
# Steps: dnf install nodejs22 (or nodejs) and nftables; copy the bundle to /opt/natbeat/; write the
# environment file; install, enable and start natbeat-agent.service (whose ExecStartPre runs
# `natbeat-agent setup`). Safe to run again. Exits non-zero on any failure, so a NAT that could not
# be configured fails its user data loudly instead of booting without NAT.
#
# For tests: NATBEAT_INSTALL_ROOT=DIR installs under DIR and skips dnf and systemctl.
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: install.sh BUNDLE_PATH [KEY=VALUE ...]"
bundle=$1
shift
[ -f "$bundle" ] || die "bundle not found: $bundle"

root=${NATBEAT_INSTALL_ROOT:-}
[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "must run as root"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
unit=""
for candidate in "$(dirname "$bundle")/natbeat-agent.service" "$here/systemd/natbeat-agent.service"; do
  if [ -f "$candidate" ]; then unit=$candidate; break; fi
done
[ -n "$unit" ] || die "natbeat-agent.service not found next to the bundle or in $here/systemd"

# Validate every setting before touching the system.
settings=()
for pair in "$@"; do
  key=${pair%%=*}
  value=${pair#*=}
  [ "$key" != "$pair" ] || die "expected KEY=VALUE, got: $pair"
  [[ "$key" =~ ^(NATBEAT|AWS)_[A-Z0-9_]+$ ]] || die "unsupported key $key (expected NATBEAT_* or AWS_*)"
  [[ "$value" != *[$'\n'\"\\]* ]] || die "value of $key must not contain newlines, quotes or backslashes"
  settings+=("$key=\"$value\"")
done

if [ -z "$root" ]; then
  # nodejs22 where the distribution has it (AL2023), the default nodejs otherwise.
  dnf install -y nodejs22 nftables || dnf install -y nodejs nftables
  if [ ! -x /usr/bin/node ]; then
    for versioned in /usr/bin/node-22 /usr/bin/node22; do
      if [ -x "$versioned" ]; then ln -sf "$versioned" /usr/bin/node; break; fi
    done
  fi
  [ -x /usr/bin/node ] || die "node not found at /usr/bin/node after installing nodejs"
  command -v nft >/dev/null || die "nft not found after installing nftables"
fi

install -d -m 0755 "$root/opt/natbeat" "$root/etc/natbeat" "$root/etc/systemd/system"
install -m 0644 "$bundle" "$root/opt/natbeat/natbeat-agent.mjs"
install -m 0644 "$unit" "$root/etc/systemd/system/natbeat-agent.service"

envfile="$root/etc/natbeat/agent.env"
tmp=$(mktemp "$root/etc/natbeat/.agent.env.XXXXXX")
{
  echo "# Written by natbeat install.sh; one NATBEAT_*/AWS_* setting per line (see natbeat-agent --help)."
  for setting in ${settings[@]+"${settings[@]}"}; do echo "$setting"; done
} >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$envfile"

if [ -z "$root" ]; then
  /usr/bin/node /opt/natbeat/natbeat-agent.mjs --help >/dev/null || die "the bundle does not run under /usr/bin/node"
  systemctl daemon-reload
  systemctl enable natbeat-agent.service
  # restart, not start: a second install must pick up a new bundle or settings.
  systemctl restart natbeat-agent.service || { journalctl -u natbeat-agent.service -n 50 --no-pager >&2 || true; die "natbeat-agent.service failed to start"; }
fi
echo "natbeat agent installed${root:+ under $root}"
