#!/usr/bin/env bash
# The README's quick start on a clean Debian 12 (bookworm): builds a base system with
# debootstrap, installs only what the README names (the packages in scripts/debian-packages.txt
# and Rust through rustup), copies the repository in (`git archive HEAD`: committed files only),
# then inside a chroot runs the README's scripted console session on a generated 5 s 440 Hz WAV
# and the README's test command. Prints PASS or FAIL, and how long each step took.
#
# No PostgreSQL or Redis runs in the chroot and neither MINSTREL_TEST_* nor CI is set, so the
# suites that need them skip, as they do on a developer machine without them.
#
# Needs root (debootstrap, chroot, mount), debootstrap (`apt-get install -y debootstrap`) and
# network access to the Debian mirror, sh.rustup.rs and crates.io.
#
# Usage: scripts/fresh-debian.sh [root folder, default /var/tmp/minstrel-fresh-debian]
#   MINSTREL_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   MINSTREL_FRESH_NO_TESTS  set to 1 to stop after the run command and `cargo test --no-run`
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=${1:-/var/tmp/minstrel-fresh-debian}
mirror=${MINSTREL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
marker=.minstrel-fresh-debian
started=$(date +%s)
step_name=""
step_started=0

step() {
    finish_step
    step_name=$1
    step_started=$(date +%s)
    echo
    echo "=== ${step_name}"
}

finish_step() {
    if [[ -n "${step_name}" ]]; then
        echo "=== ${step_name}: done in $(($(date +%s) - step_started)) s"
        step_name=""
    fi
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

unmount_root() {
    local mount_point
    # Deepest first, so /dev/pts goes before /dev.
    for mount_point in $(awk -v root="${root}/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "${mount_point}" 2>/dev/null || true
    done
}

on_exit() {
    local status=$?
    unmount_root
    if ((status != 0)); then
        echo
        echo "FAIL${step_name:+ in step \"${step_name}\"} after $(($(date +%s) - started)) s (exit status ${status})"
    fi
}

[[ "$(id -u)" -eq 0 ]] || fail "run as root: debootstrap, chroot and mount need it"
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install -y debootstrap"

# The README's test command, read from the committed README (the first `cargo test` line under
# "## Tests"), so the two cannot drift apart.
readme=$(git -C "${repo}" show HEAD:README.md)
test_command=$(awk '/^## /{ tests = ($0 == "## Tests") } tests && /^cargo test/ && !found { print; found = 1 }' <<<"${readme}")
[[ -n "${test_command}" ]] || fail "README.md names no \`cargo test\` command under \"## Tests\""
# The list as committed, like the rest of the repository the chroot gets.
mapfile -t packages < <(git -C "${repo}" show HEAD:scripts/debian-packages.txt | grep -v '^[[:space:]]*\(#\|$\)')

# The README's rustup line, as written there.
rustup_command=$(sed -n '/^curl .*rustup/p' <<<"${readme}")
[[ -n "${rustup_command}" ]] || fail "README.md has no \`curl ... rustup\` line"

# The README's apt-get line must name the same list, or the proof would not be the README's.
readme_packages=$(sed -n 's/^sudo apt-get install -y //p' <<<"${readme}" | tr ' ' '\n' | sort | xargs)
[[ "${readme_packages}" == "$(printf '%s\n' "${packages[@]}" | sort | xargs)" ]] ||
    fail "README's apt-get line (${readme_packages}) is not scripts/debian-packages.txt (${packages[*]})"

step "clean Debian 12 root in ${root}"
if [[ -e "${root}" ]]; then
    # Only a folder this script made is removed.
    [[ -e "${root}/${marker}" ]] || fail "${root} exists and was not made by this script"
    unmount_root
    rm -rf --one-file-system "${root}"
fi
trap on_exit EXIT
mkdir -p "${root}"
# debootstrap's output, untouched, is kept beside the root and unpacked on the next run (delete
# it to bootstrap anew): it is the same clean base system, made in seconds instead of minutes.
base_tarball="${root}.base.tar"
if [[ -f "${base_tarball}" ]]; then
    echo "unpacking the base system debootstrap made earlier (${base_tarball})"
    tar -x -f "${base_tarball}" -C "${root}"
else
    debootstrap bookworm "${root}" "${mirror}" >"${root}.debootstrap.log" 2>&1 ||
        fail "debootstrap failed; see ${root}.debootstrap.log"
    tar -c -f "${base_tarball}.partial" -C "${root}" . && mv "${base_tarball}.partial" "${base_tarball}"
fi
touch "${root}/${marker}"
mount -t proc proc "${root}/proc"
mount -t sysfs sys "${root}/sys"
mount --bind /dev "${root}/dev"
mount -t devpts devpts "${root}/dev/pts"
mount -t tmpfs tmpfs "${root}/dev/shm"
mount -t tmpfs tmpfs "${root}/tmp"
cp /etc/resolv.conf "${root}/etc/resolv.conf"
# Certificate authorities added on this machine (a network that inspects TLS needs its own; a
# plain one has none): network plumbing like resolv.conf, not a prerequisite of the README.
# ca-certificates, from the list, adds them to the bundle when it is installed.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "${root}/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "${root}/usr/local/share/ca-certificates/"
fi
echo "deb ${mirror} bookworm main" >"${root}/etc/apt/sources.list"
grep -E '^(PRETTY_NAME|VERSION)=' "${root}/etc/os-release"

# Runs a bash script in the chroot as root, from /root/minstrel, with a login-like environment
# (nothing from this shell leaks in).
in_root() {
    chroot "${root}" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -euo pipefail -c "cd /root/minstrel 2>/dev/null || cd /root; $1"
}

step "the README's packages: ${packages[*]}"
in_root "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${packages[*]}" \
    >"${root}.apt.log" 2>&1 || fail "apt-get failed; see ${root}.apt.log"
tail -n 1 "${root}.apt.log"

step "Rust through rustup: ${rustup_command}"
in_root "${rustup_command}" >"${root}.rustup.log" 2>&1 || fail "rustup failed; see ${root}.rustup.log"
in_root "cargo --version && rustc --version"

step "the repository at $(git -C "${repo}" rev-parse --short HEAD) (git archive HEAD)"
mkdir -p "${root}/root/minstrel"
git -C "${repo}" archive HEAD | tar -x -C "${root}/root/minstrel"

step "the README's run command: a scripted console session into out.wav"
# The song: 5 s of a 440 Hz sine at half scale, 44.1 kHz mono 16-bit PCM, written with the base
# system's awk (no audio tool is a prerequisite).
in_root '
mkdir -p music
awk -v rate=44100 -v seconds=5 "
function le(value, bytes,   i, out) {
    out = \"\"
    for (i = 0; i < bytes; i++) { out = out sprintf(\"\\\\x%02x\", value % 256); value = int(value / 256) }
    return out
}
BEGIN {
    samples = rate * seconds
    printf \"RIFF%s\", le(36 + 2 * samples, 4)
    printf \"WAVEfmt %s%s%s%s%s%s%s\", le(16, 4), le(1, 2), le(1, 2), le(rate, 4), le(2 * rate, 4), le(2, 2), le(16, 2)
    printf \"data%s\\n\", le(2 * samples, 4)
    for (n = 0; n < samples; n++) {
        sample = int(16383 * sin(2 * 3.14159265358979 * 440 * n / rate))
        if (sample < 0) sample += 65536
        printf \"%s\", le(sample, 2)
        if (n % 2205 == 2204) printf \"\\n\"
    }
}" | while IFS= read -r chunk; do printf "%b" "${chunk}"; done >music/song.wav
ls -l music/song.wav
'
# The README's commands, as written there (keep in step with its "Quick start").
session=$(in_root "printf 'play song.wav\nfilter nightcore\nnp\nquit\n' \\
  | MINSTREL_LIBRARY_DIR=./music MINSTREL_OUTPUT=out.wav cargo run --release" 2>"${root}.run.log") ||
    fail "the run command exited with status $?; its log: ${root}.run.log"
echo "${session}"
grep -q 'playing song' <<<"${session}" || fail "no reply says the song is playing"
grep -q 'nightcore' <<<"${session}" || fail "no reply names the nightcore filter"
out_bytes=$(stat -c %s "${root}/root/minstrel/out.wav" 2>/dev/null || echo 0)
echo "out.wav: ${out_bytes} bytes"
# Nightcore plays the 5 s faster, but more than 2 s of 48 kHz stereo 16-bit audio must be there.
((out_bytes > 2 * 48000 * 2 * 2)) || fail "out.wav holds less than 2 s of audio"

if [[ "${MINSTREL_FRESH_NO_TESTS:-0}" == 1 ]]; then
    test_command+=" --no-run"
fi
step "the README's test command: ${test_command}"
if ! in_root "${test_command}" >"${root}.test.log" 2>&1; then
    grep -E '^(test .* FAILED|failures:|error)' "${root}.test.log" | head -n 40 || true
    fail "the test command failed; its log: ${root}.test.log"
fi
# One line per test binary: how many passed, failed and were ignored.
grep -E '^test result:' "${root}.test.log" |
    awk '{ passed += $4; failed += $6; ignored += $8 } END { printf "%d test binaries: %d passed, %d failed, %d ignored\n", NR, passed, failed, ignored }'

finish_step
echo
echo "PASS in $(($(date +%s) - started)) s: on Debian 12 with only the README's prerequisites" \
    "(${packages[*]}, rustup), its run command played a file and \`${test_command}\`" \
    "$([[ "${MINSTREL_FRESH_NO_TESTS:-0}" == 1 ]] && echo "built its tests" || echo "passed")"
