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
# Hostile headers (see crates/sources/tests/sources/hostile.rs): WAV and AIFF declaring a
# sample rate near 2^32, 16,777,213 Hz or 1 Hz, no channels, too many channels, or far more
# audio than they hold. Each must be refused before anything is sized from it.
python3 - "$out" <<'PY'
import math, struct, sys
out = sys.argv[1]
HINT = {"wav": 5, "aiff": 10}
body = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 44100))) for i in range(1024))

def wav(rate, channels, declared):
    block = (channels * 2) & 0xFFFF
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) & 0xFFFFFFFF, block, 16)
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFE) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", declared) + body)

def extended(value):
    if value == 0:
        return bytes(10)
    top = value.bit_length() - 1
    return struct.pack(">HQ", 16383 + top, value << (63 - top))

def aiff(rate, channels, frames, declared):
    common = struct.pack(">hIh", channels, frames, 16) + extended(rate)
    return (b"FORM" + struct.pack(">I", 0xFFFFFFFE) + b"AIFFCOMM" + struct.pack(">I", 18) + common
            + b"SSND" + struct.pack(">I", declared + 8) + bytes(8) + body)

cases = {
    "hostile-rate-2^32.wav": wav(0xFFFFFFFF, 1, len(body)),
    "hostile-rate-16777213.wav": wav(16777213, 1, len(body)),
    "hostile-rate-1.wav": wav(1, 1, len(body)),
    "hostile-no-channels.wav": wav(44100, 0, len(body)),
    "hostile-65535-channels.wav": wav(44100, 65535, len(body)),
    "hostile-declares-2-gb.wav": wav(44100, 2, 0x7FFF0000),
    "hostile-rate-2^32.aiff": aiff(0xFFFFFFFF, 1, len(body) // 2, len(body)),
    "hostile-rate-16777213.aiff": aiff(16777213, 1, len(body) // 2, len(body)),
    "hostile-rate-1.aiff": aiff(1, 1, len(body) // 2, len(body)),
    "hostile-no-channels.aiff": aiff(44100, 0, len(body) // 2, len(body)),
    "hostile-32767-channels.aiff": aiff(44100, 32767, len(body) // 2, len(body)),
    "hostile-declares-2-gb.aiff": aiff(44100, 2, 0x1FFFC000, 0x7FFF0000),
}
for name, data in cases.items():
    selector = HINT[name.rsplit(".", 1)[1]]
    with open(f"{out}/{name}", "wb") as file:
        file.write(bytes([selector]) + data)
PY
# Ogg Vorbis: the committed tone with its identification header's rate or channel count
# rewritten and the first page's CRC made right again.
python3 - "$out" ../crates/sources/fixtures/tone.ogg <<'PY'
import struct, sys
out, tone = sys.argv[1], sys.argv[2]

def crc(data):
    value = 0
    for byte in data:
        value ^= byte << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7 if value & 0x80000000 else value << 1) & 0xFFFFFFFF
    return value

def vorbis(rate, channels):
    data = bytearray(open(tone, "rb").read())
    data[39] = channels
    data[40:44] = struct.pack("<I", rate)
    end = 28 + data[27]
    data[22:26] = bytes(4)
    data[22:26] = struct.pack("<I", crc(bytes(data[:end])))
    return bytes(data)

for name, rate, channels in [("rate-2^32", 0xFFFFFFFF, 1), ("rate-16777213", 16777213, 1),
                             ("rate-1", 1, 1), ("no-channels", 44100, 0), ("255-channels", 44100, 255)]:
    with open(f"{out}/hostile-{name}.ogg", "wb") as file:
        file.write(bytes([3]) + vorbis(rate, channels))
PY
echo "$(ls "$out" | wc -l) seeds in fuzz/$out"
