#!/usr/bin/env bash
# Decode + resample to 48 kHz stereo f32, minstrel (symphonia + rubato, the player's decode entry;
# crates/sources/benches/decode.rs) against ffmpeg on the same files. Makes 30 s of a music-like
# signal (the DSP bench's A-minor chord at -12 dBFS plus noise at -40 dBFS, 44.1 kHz stereo) in
# every format with ffmpeg, runs the criterion bench on them, then times
#   ffmpeg -i FILE -ar 48000 -ac 2 -f f32le -y /dev/null
# (median "rtime" of -benchmark over the runs) and prints one tab-separated line per format:
#   format  minstrel_median_s  minstrel_x_realtime  ffmpeg_median_s  ffmpeg_x_realtime  ratio
# ratio = minstrel speed / ffmpeg speed (above 1: minstrel is faster). Used by docs/BENCHMARKS.md.
#
# Usage: scripts/bench-decode.sh [ffmpeg runs per file, default 5] [work folder, default a temp dir]
set -euo pipefail

runs=${1:-5}
work=${2:-$(mktemp -d)}
seconds=30
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"

encode() { # <output> <ffmpeg output options...>
  local output=$1
  shift
  [[ -f "$work/$output" ]] || ffmpeg -hide_banner -loglevel error -nostdin -y -i "$work/bench.wav" "$@" "$work/$output"
}

if [[ ! -f "$work/bench.wav" ]]; then
  chord='sin(2*PI*220*t)+sin(2*PI*261.63*t)+sin(2*PI*329.63*t)+sin(2*PI*440*t)'
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi \
    -i "aevalsrc=0.0625*($chord)+0.01*(2*random(0)-1)|0.0625*($chord)+0.01*(2*random(1)-1):s=44100:d=$seconds" \
    -c:a pcm_s16le "$work/bench.wav"
fi
encode bench.flac -c:a flac
encode bench.mp3 -c:a libmp3lame -b:a 192k
encode bench.ogg -c:a libvorbis -q:a 5
encode bench-aac.m4a -c:a aac -b:a 192k
encode bench-alac.m4a -c:a alac -sample_fmt s16p
encode bench.opus -c:a libopus -b:a 128k

echo "files in $work:" >&2
ls -l "$work" >&2

(cd "$root" && MINSTREL_BENCH_AUDIO_DIR="$work" cargo bench -p minstrel-sources --bench decode) >&2

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf 'format\tminstrel_median_s\tminstrel_x_realtime\tffmpeg_median_s\tffmpeg_x_realtime\tratio\n'
for pair in wav:bench.wav flac:bench.flac mp3:bench.mp3 vorbis:bench.ogg aac:bench-aac.m4a \
  alac:bench-alac.m4a opus:bench.opus; do
  name=${pair%%:*}
  file=$work/${pair#*:}
  estimates="$target/criterion/decode/$name/new/estimates.json"
  ours=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['median']['point_estimate'] / 1e9)" "$estimates")
  theirs=$(for _ in $(seq "$runs"); do
    ffmpeg -hide_banner -nostdin -benchmark -i "$file" -ar 48000 -ac 2 -f f32le -y /dev/null 2>&1 |
      sed -n 's/.*rtime=\([0-9.]*\)s.*/\1/p'
  done | median)
  awk -v n="$name" -v o="$ours" -v t="$theirs" -v s="$seconds" \
    'BEGIN { printf "%s\t%.4f\t%.0f\t%.4f\t%.0f\t%.2f\n", n, o, s / o, t, s / t, t / o }'
done
