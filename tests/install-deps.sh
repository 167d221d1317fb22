#!/usr/bin/env bash
# Installs what sshcert needs to build and test on Debian 12, through sudo when not root.
# Does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libboost-dev
  libtomlplusplus-dev libcli11-dev doctest-dev libsystemd-dev libkeyutils-dev
  openssh-client openssh-server python3 util-linux
  rsync git  # plain rsync and git clone over ssh through the generated ssh_config (test_plain_ssh)
  faketime  # a host whose clock is not this machine's (tests/reliability/test_process.py)
  valgrind  # memcheck over the end-to-end path (tests/reliability/test_security.py)
  cloud-init  # its schema check and write_files code judge our user data; brings python3-yaml
  # packaging: systemd-analyze and systemd-socket-activate, cpack's dpkg-shlibdeps and file,
  # lintian, man and groff for the man pages, both shells for the completions
  systemd dpkg-dev file lintian man-db groff-base bash-completion zsh
)

# --fuzz: clang and its libFuzzer runtime, for tests/run-fuzz.sh.
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-14-dev)
# --bench: matplotlib, for the team load's plot (tests/bench/team_load.py).
[ "${1:-}" = "--bench" ] && packages+=(python3-matplotlib)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "Installing: ${missing[*]}"
"${sudo[@]}" apt-get update -q
# The package's own sshd service is not needed: tests start their own on a free loopback port.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# cloud-init is here only to judge the user data sshcert generates: keep it from
# configuring this machine at its next boot.
if [[ " ${missing[*]} " == *" cloud-init "* ]]; then
  "${sudo[@]}" touch /etc/cloud/cloud-init.disabled
fi
