#!/usr/bin/env bash
# ffmpeg's nearest `-af` equivalents of the minstrel-dsp criterion benches (crates/dsp/benches/
# filters.rs), on a generated 60 s, 48 kHz stereo f32 WAV of the same music-like signal (A-minor
# chord at -12 dBFS plus noise at -40 dBFS). Prints one tab-separated line per chain:
#   name  median_rtime_s  realtime_factor  runs
# realtime_factor = 60 s of audio / median wall time (ffmpeg -benchmark "rtime"), decode of the
# WAV and the null muxer included (see "passthrough" for that floor). Used by docs/BENCHMARKS.md.
#
# Usage: scripts/bench-ffmpeg.sh [runs per chain, default 5] [work folder, default a temp dir]
set -euo pipefail

runs=${1:-5}
work=${2:-$(mktemp -d)}
input="$work/in.wav"
seconds=60

if [[ ! -f "$input" ]]; then
  chord_left='1.0*sin(2*PI*220*t)+0.7*sin(2*PI*261.63*t)+1.0*sin(2*PI*329.63*t)+0.85*sin(2*PI*440*t)'
  chord_right='0.8*sin(2*PI*220*t)+1.0*sin(2*PI*261.63*t)+0.9*sin(2*PI*329.63*t)+1.0*sin(2*PI*440*t)'
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi \
    -i "aevalsrc=0.0625*($chord_left)+0.01*(2*random(0)-1)|0.0625*($chord_right)+0.01*(2*random(1)-1):s=48000:d=$seconds" \
    -c:a pcm_f32le "$input"
fi

# Lavalink equalizer gain g is 1 + 4g at the band centre: in dB, 20*log10(1 + 4g). The bench's
# all-band equalizer, band by band, as peaking filters with the same Q (sqrt 2).
bands=(25 40 63 100 160 250 400 630 1000 1600 2500 4000 6300 10000 16000)
gains=(0.2 0.15 0.1 0.05 0.02 -0.05 -0.1 0.1 0.05 0.1 0.15 0.2 0.25 0.2 0.15)
eq15=""
for index in "${!bands[@]}"; do
  db=$(awk -v g="${gains[$index]}" 'BEGIN { printf "%.3f", 20 * log(1 + 4 * g) / log(10) }')
  eq15+="${eq15:+,}equalizer=f=${bands[$index]}:t=q:w=1.41421:g=$db"
done
eq2="equalizer=f=25:t=q:w=1.41421:g=$(awk 'BEGIN { printf "%.3f", 20*log(1.8)/log(10) }'),equalizer=f=40:t=q:w=1.41421:g=$(awk 'BEGIN { printf "%.3f", 20*log(1.6)/log(10) }')"

# The bench's distortion (sinOffset 0.1, sinScale 1.2, tanScale 0.8, scale 1.5), in aeval's
# expression interpreter: ffmpeg has no such shaper built in.
shaper='clip(1.5*(0.1+sin(val(CH)*1.2))*cos(val(CH))*tan(val(CH)*0.8),-1,1)'
# (quoted: the commas inside the expression must not split the filtergraph.)
distortion="aeval=exprs='${shaper//CH/0}|${shaper//CH/1}':channel_layout=stereo,aformat=channel_layouts=stereo"

# Freeverb's 8 comb delays at 48 kHz (25-37 ms) as an 8-tap echo: similar work per sample,
# not the same sound (aecho has no feedback or all-passes).
reverb='aecho=in_gain=0.8:out_gain=0.9:delays=25|27|29|31|32|34|35|37:decays=0.3|0.29|0.28|0.27|0.26|0.25|0.24|0.23'

# Karaoke: side signal (L-R) plus the mid band-passed twice at 220 Hz, width 100 Hz.
karaoke='asplit=2[side][mid];[mid]pan=mono|c0=0.5*c0+0.5*c1,bandpass=f=220:t=h:w=100,bandpass=f=220:t=h:w=100,pan=stereo|c0=c0|c1=c0[low];[side]pan=stereo|c0=c0-c1|c1=c1-c0[diff];[diff][low]amix=inputs=2:normalize=0'

channel_mix='pan=stereo|c0=0.8*c0+0.2*c1|c1=0.2*c0+0.8*c1'
# One pole with the same corner as smoothing 20: fc = -ln(1 - 1/20) * 48000 / 2pi = 392 Hz.
low_pass='lowpass=f=392:p=1'
rate='asetrate=60000,aresample=48000'

declare -a names chains
add() { names+=("$1"); chains+=("$2"); }
add passthrough 'anull'
add volume 'volume=1.2'
add low_pass "$low_pass"
add channel_mix "$channel_mix"
add rotation 'apulsator=hz=0.2'
add distortion "$distortion"
add vibrato 'vibrato=f=5:d=0.5'
add tremolo 'tremolo=f=4:d=0.5'
add timescale_rate "$rate"
add timescale_speed_atempo 'atempo=1.25'
filters=$(ffmpeg -hide_banner -filters 2>/dev/null)
if grep -q " rubberband " <<<"$filters"; then
  add timescale_speed_rubberband 'rubberband=tempo=1.25'
  add timescale_pitch_rubberband 'rubberband=pitch=1.25'
fi
add timescale_pitch_resample_atempo "$rate,atempo=0.8"
add karaoke "$karaoke"
add equalizer_15_bands "$eq15"
add equalizer_15_bands_superequalizer 'superequalizer=1b=1.8:2b=1.6:3b=1.4:4b=1.2:5b=1.08:6b=0.8:7b=0.6:8b=1.4:9b=1.2:10b=1.4:11b=1.6:12b=1.8:13b=2:14b=1.8:15b=1.6'
add equalizer_2_bands "$eq2"
add bass_boost 'bass=g=6:f=120'
add reverb "$reverb"
add full_chain_rate "$low_pass,$channel_mix,apulsator=hz=0.2,$distortion,vibrato=f=5:d=0.3,tremolo=f=4:d=0.3,$rate,$karaoke,$eq15,bass=g=6:f=120,$reverb,volume=1.2,alimiter=limit=0.9"
add full_chain_rate_without_aeval "$low_pass,$channel_mix,apulsator=hz=0.2,vibrato=f=5:d=0.3,tremolo=f=4:d=0.3,$rate,$karaoke,$eq15,bass=g=6:f=120,$reverb,volume=1.2,alimiter=limit=0.9"

printf 'name\tmedian_rtime_s\trealtime_factor\truns\n'
for index in "${!names[@]}"; do
  times=()
  for ((run = 0; run < runs; run++)); do
    if ! report=$(ffmpeg -hide_banner -nostdin -benchmark -i "$input" -af "${chains[$index]}" \
      -c:a pcm_f32le -f null - 2>&1); then
      printf '%s\tfailed: %s\n' "${names[$index]}" "$(tail -n 1 <<<"$report")" >&2
      continue 2
    fi
    times+=("$(sed -n 's/.*rtime=\([0-9.]*\)s.*/\1/p' <<<"$report")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  factor=$(awk -v m="$median" -v s="$seconds" 'BEGIN { printf "%.0f", s / m }')
  printf '%s\t%s\t%s\t%s\n' "${names[$index]}" "$median" "$factor" "$runs"
done
