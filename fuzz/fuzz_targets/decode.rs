//! Feeds arbitrary bytes through the decode entry every player uses
//! (`SymphoniaStream::open`, then `PcmStream::read` to the end): probe, demux, decode, resample
//! to 48 kHz stereo. The first byte picks the format hint and a start position, so seeking
//! and every demuxer are reached. What must hold: no panic escapes (symphonia's own panics are
//! caught and become `AudioError::Corrupt`), no hang, and every block is whole stereo frames of
//! finite samples.
#![no_main]

use std::io::Cursor;
use std::sync::Once;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use minstrel_app::ports::PcmStream;
use minstrel_sources::SymphoniaStream;

const HINTS: [Option<&str>; 12] = [
    None,
    Some("mp3"),
    Some("flac"),
    Some("ogg"),
    Some("opus"),
    Some("wav"),
    Some("m4a"),
    Some("aac"),
    Some("mka"),
    Some("caf"),
    Some("aiff"),
    Some("webm"),
];

/// Most samples read from one input: a lying header must not make one run take minutes.
const MAX_SAMPLES: usize = 48_000 * 2 * 600;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // The decoder catches symphonia's panics on purpose; libFuzzer's hook would abort on them.
    // A panic that escapes the guard still reaches libFuzzer's own catch and fails the run.
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let hint = HINTS[usize::from(selector) % HINTS.len()];
    let start_at = Duration::from_millis(u64::from(selector / 16) * 250);
    let source = Box::new(Cursor::new(bytes.to_vec()));
    let Ok(mut stream) = SymphoniaStream::open(source, hint, start_at) else {
        return;
    };
    let mut block = vec![0.0_f32; 1920];
    let mut total = 0;
    while total < MAX_SAMPLES {
        match stream.read(&mut block) {
            Ok(0) | Err(_) => break,
            Ok(count) => {
                assert!(count % 2 == 0 && count <= block.len(), "{count} samples");
                assert!(block[..count].iter().all(|sample| sample.is_finite()));
                total += count;
            }
        }
    }
});
