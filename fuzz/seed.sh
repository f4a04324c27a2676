#!/usr/bin/env bash
# Seeds fuzz/corpus/decode from the committed fixtures and the malformed-file corpus of
# minstrel-sources, each prefixed with the selector byte of its format hint (see
# fuzz_targets/decode.rs: byte % 12 picks the hint, byte / 16 the start in 250 ms steps).
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/decode
mkdir -p "$out"
hints=(none mp3 flac ogg opus wav m4a aac mka caf aiff webm)
for file in ../crates/sources/fixtures/tone* ../crates/sources/fixtures/corpus/*; do
  extension=${file##*.}
  selector=0
  for index in "${!hints[@]}"; do
    [[ ${hints[$index]} == "$extension" ]] && selector=$index
  done
  name=$(basename "$file")
  { printf "\\x$(printf %02x "$selector")"; cat "$file"; } > "$out/$name"
  # The same bytes started 500 ms in, so seeking is fuzzed from the start.
  { printf "\\x$(printf %02x $((selector + 36)))"; cat "$file"; } > "$out/seek-$name"
done
echo "$(ls "$out" | wc -l) seeds in fuzz/$out"
