#!/usr/bin/env bash
# The full playback pipeline, minstrel against ffmpeg, on the same input (docs/BENCHMARKS.md,
# "Full pipeline"):
#
#   minstrel: `minstrel bench` (release build with `--features bench`): N guild streams, each
#             decode → DSP → Opus 20 ms 128 kb/s → RTP sealed with aead_aes256_gcm_rtpsize, no
#             network; plus the Opus-encode-only ceiling and VmRSS per extra stream.
#   ffmpeg:   `ffmpeg -i in.mp3 [-af <chain>] -c:a libopus -b:a 128k -f null -`, bitrate-matched
#             (libopus, 20 ms frames and complexity 10 are ffmpeg's defaults too), once with no
#             filter and once with the full chain (the same -af as full_chain_rate in
#             scripts/bench-ffmpeg.sh, the DSP equivalent of minstrel's full chain).
#
# Throughput on both sides is audio seconds *produced* per CPU second (user + system), which
# is how many streams one core keeps at real time. The full chain has timescale rate 1.25, so
# it produces 0.8 s per second of input on both sides. CPU time, not wall time, so that other
# work on a shared machine costs both sides the same way.
#
# Input: 60 s of the DSP benches' music-like signal (A-minor chord at -12 dBFS, noise at
# -40 dBFS), 48 kHz stereo, encoded once as a 192 kb/s MP3 so both sides decode MP3.
#
# Usage: scripts/bench-pipeline.sh [streams, default 16] [seconds per stream, default 30]
#                                  [ffmpeg runs, default 5] [work folder, default a temp dir]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

streams=${1:-16}
seconds=${2:-30}
runs=${3:-5}
work=${4:-$(mktemp -d)}
input="$work/in.mp3"
input_seconds=60

for tool in ffmpeg cargo awk; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench-pipeline: $tool is not installed" >&2
    exit 1
  fi
done

mkdir -p "$work"
if [[ ! -f "$input" ]]; then
  chord_left='1.0*sin(2*PI*220*t)+0.7*sin(2*PI*261.63*t)+1.0*sin(2*PI*329.63*t)+0.85*sin(2*PI*440*t)'
  chord_right='0.8*sin(2*PI*220*t)+1.0*sin(2*PI*261.63*t)+0.9*sin(2*PI*329.63*t)+1.0*sin(2*PI*440*t)'
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi \
    -i "aevalsrc=0.0625*($chord_left)+0.01*(2*random(0)-1)|0.0625*($chord_right)+0.01*(2*random(1)-1):s=48000:d=$input_seconds" \
    -c:a libmp3lame -b:a 192k "$input"
fi

# --- the full chain, as full_chain_rate in scripts/bench-ffmpeg.sh (keep the two in step) ---
bands=(25 40 63 100 160 250 400 630 1000 1600 2500 4000 6300 10000 16000)
gains=(0.2 0.15 0.1 0.05 0.02 -0.05 -0.1 0.1 0.05 0.1 0.15 0.2 0.25 0.2 0.15)
eq15=""
for index in "${!bands[@]}"; do
  db=$(awk -v g="${gains[$index]}" 'BEGIN { printf "%.3f", 20 * log(1 + 4 * g) / log(10) }')
  eq15+="${eq15:+,}equalizer=f=${bands[$index]}:t=q:w=1.41421:g=$db"
done
shaper='clip(1.5*(0.1+sin(val(CH)*1.2))*cos(val(CH))*tan(val(CH)*0.8),-1,1)'
distortion="aeval=exprs='${shaper//CH/0}|${shaper//CH/1}':channel_layout=stereo,aformat=channel_layouts=stereo"
reverb='aecho=in_gain=0.8:out_gain=0.9:delays=25|27|29|31|32|34|35|37:decays=0.3|0.29|0.28|0.27|0.26|0.25|0.24|0.23'
karaoke='asplit=2[side][mid];[mid]pan=mono|c0=0.5*c0+0.5*c1,bandpass=f=220:t=h:w=100,bandpass=f=220:t=h:w=100,pan=stereo|c0=c0|c1=c0[low];[side]pan=stereo|c0=c0-c1|c1=c1-c0[diff];[diff][low]amix=inputs=2:normalize=0'
channel_mix='pan=stereo|c0=0.8*c0+0.2*c1|c1=0.2*c0+0.8*c1'
low_pass='lowpass=f=392:p=1'
rate='asetrate=60000,aresample=48000'
full_chain="$low_pass,$channel_mix,apulsator=hz=0.2,$distortion,vibrato=f=5:d=0.3,tremolo=f=4:d=0.3,$rate,$karaoke,$eq15,bass=g=6:f=120,$reverb,volume=1.2,alimiter=limit=0.9"

echo "=== commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
echo "=== uptime: $(uptime)"
echo "=== building minstrel (release, --features bench)"
cargo build --release -p minstrel --bin minstrel --features bench
minstrel_binary=target/release/minstrel

echo "=== minstrel bench --streams $streams --seconds $seconds --filters both --input $input"
minstrel_report=$("$minstrel_binary" bench --streams "$streams" --seconds "$seconds" \
  --filters both --input "$input")
echo "$minstrel_report"
minstrel_column() { # phase name -> streams_per_core
  awk -v phase="$1" '$1 == phase { print $5 }' <<<"$minstrel_report"
}

# One ffmpeg run: prints "cpu_seconds output_seconds".
ffmpeg_run() {
  local report
  report=$(ffmpeg -hide_banner -nostdin -benchmark -i "$input" "$@" -c:a libopus -b:a 128k \
    -f null - 2>&1) || {
    echo "bench-pipeline: ffmpeg failed: $(tail -n 1 <<<"$report")" >&2
    return 1
  }
  local cpu output
  cpu=$(sed -n 's/.*utime=\([0-9.]*\)s stime=\([0-9.]*\)s.*/\1 \2/p' <<<"$report" |
    awk '{ printf "%.3f", $1 + $2 }')
  # The last progress line's time= is the duration written.
  output=$(tr '\r' '\n' <<<"$report" | grep '^size=' | sed -n 's/.* time=\([0-9:.]*\).*/\1/p' | tail -n 1 |
    awk -F: '{ printf "%.2f", $1 * 3600 + $2 * 60 + $3 }')
  echo "$cpu $output"
}

# Median over $runs of audio seconds per CPU second.
ffmpeg_streams_per_core() {
  local rates=() line
  for ((run = 0; run < runs; run++)); do
    line=$(ffmpeg_run "$@")
    rates+=("$(awk '{ printf "%.3f", $2 / ($1 > 0.001 ? $1 : 0.001) }' <<<"$line")")
    echo "    run $((run + 1)): cpu ${line% *} s, output ${line#* } s" >&2
  done
  printf '%s\n' "${rates[@]}" | sort -g | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] }'
}

echo "=== ffmpeg $(ffmpeg -version | head -n 1 | awk '{ print $3 }'), $runs runs each, median"
echo "  -c:a libopus -b:a 128k (no filter):" >&2
ffmpeg_none=$(ffmpeg_streams_per_core)
echo "  -af <full chain> -c:a libopus -b:a 128k:" >&2
ffmpeg_full=$(ffmpeg_streams_per_core -af "$full_chain")

minstrel_ceiling=$(minstrel_column opus_only_ceiling)
minstrel_none=$(minstrel_column pipeline_none)
minstrel_full=$(minstrel_column pipeline_full)

echo
printf '%-40s %18s\n' "figure" "streams per core"
printf '%-40s %18s\n' "minstrel Opus-encode-only ceiling" "$minstrel_ceiling"
printf '%-40s %18s\n' "minstrel pipeline, no filter" "$minstrel_none"
printf '%-40s %18s\n' "minstrel pipeline, full chain" "$minstrel_full"
printf '%-40s %18s\n' "ffmpeg decode + libopus, no filter" "$ffmpeg_none"
printf '%-40s %18s\n' "ffmpeg decode + full -af + libopus" "$ffmpeg_full"
echo
awk -v a="$minstrel_none" -v b="$minstrel_ceiling" \
  'BEGIN { printf "no-filter pipeline / Opus-only ceiling: %.3f (goal >= 0.85)\n", a / b }'
awk -v a="$minstrel_full" -v b="$ffmpeg_full" \
  'BEGIN { printf "full chain, minstrel / ffmpeg: %.2fx (goal >= 1.8x)\n", a / b }'
awk -v a="$minstrel_none" -v b="$ffmpeg_none" \
  'BEGIN { printf "no filter, minstrel / ffmpeg: %.2fx (no goal)\n", a / b }'
grep '^rss ' <<<"$minstrel_report" || true
echo "=== uptime: $(uptime)"
