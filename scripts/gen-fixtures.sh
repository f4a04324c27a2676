#!/usr/bin/env bash
# Generates the AAC (m4a) and ALAC decode fixtures of minstrel-sources with ffmpeg:
# one second of a 440 Hz sine at amplitude 0.5, 44.1 kHz, in mono and stereo. The files are
# committed (tests never need ffmpeg); re-run this only to regenerate them.
#
# Usage: scripts/gen-fixtures.sh [output folder, default crates/sources/fixtures]
set -euo pipefail

out=${1:-"$(dirname "$0")/../crates/sources/fixtures"}
mkdir -p "$out"
command -v ffmpeg >/dev/null || {
  echo "ffmpeg is needed: apt-get install -y --no-install-recommends ffmpeg" >&2
  exit 1
}

tone() { # <channels> <output> <codec options...>
  local channels=$1 output=$2
  shift 2
  local signal='0.5*sin(2*PI*440*t)'
  [[ $channels == 2 ]] && signal="$signal|$signal"
  # -map_metadata -1 and -fflags +bitexact keep the files free of encoder versions and dates,
  # so a regeneration with the same ffmpeg gives the same bytes.
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi \
    -i "aevalsrc=$signal:s=44100:d=1" "$@" \
    -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$out/$output"
}

tone 1 tone-aac.m4a -c:a aac -b:a 48k
tone 2 tone-aac-stereo.m4a -c:a aac -b:a 64k
tone 1 tone-alac.m4a -c:a alac -sample_fmt s16p
tone 2 tone-alac-stereo.m4a -c:a alac -sample_fmt s16p

ls -l "$out"/tone-aac*.m4a "$out"/tone-alac*.m4a
