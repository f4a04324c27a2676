//! Every file of fixtures/corpus goes through decode on a thread with a timeout.

use std::sync::mpsc;
use std::time::Duration;

use minstrel_app::ports::PcmStream;
use minstrel_sources::{SymphoniaStream, probe_info};

use crate::support::fixtures;

#[test]
fn no_corpus_file_panics_or_hangs() {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 53,
        "the whole corpus is there (make_corpus.py writes 53 files): {} files",
        files.len()
    );
    assert!(
        files
            .iter()
            .any(|path| path.ends_with("wav-huge-channels.wav")),
        "the WAV cases are committed too"
    );
    for path in files {
        let (sender, receiver) = mpsc::channel();
        let worker_path = path.clone();
        let worker = std::thread::spawn(move || {
            // The probe used by resolvers, then a full decode, then a decode from 0.5 s.
            let _ = probe_info(&worker_path);
            for start in [Duration::ZERO, Duration::from_millis(500)] {
                if let Ok(mut stream) = SymphoniaStream::open_file(&worker_path, start) {
                    let mut block = vec![0.0_f32; 1920];
                    let mut total = 0_usize;
                    while let Ok(count) = stream.read(&mut block) {
                        if count == 0 {
                            break;
                        }
                        assert!(block[..count].iter().all(|sample| sample.is_finite()));
                        total += count;
                        assert!(total < 48_000 * 2 * 600, "endless audio from a tiny file");
                    }
                }
            }
            let _ = sender.send(());
        });
        assert!(
            receiver.recv_timeout(Duration::from_secs(30)).is_ok(),
            "{} hung or panicked",
            path.display()
        );
        worker
            .join()
            .unwrap_or_else(|_| panic!("{} panicked", path.display()));
    }
}
