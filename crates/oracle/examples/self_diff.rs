//! Compares the captured corpus with the running kernel (drift check of `tests/kernel-cases/`),
//! printing the kernel-diff report with the live kernel in kbpf's seat.
//!
//! `cargo run --release -p kbpf-oracle --example self_diff [DIR]`

use std::path::PathBuf;
use std::time::Instant;

use kbpf_oracle::capture::read_dir;
use kbpf_oracle::case::{RecordOptions, record_case};
use kbpf_oracle::{KbpfVerdict, compare};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/kernel-cases"));
    if let Err(e) = kbpf_oracle::available() {
        eprintln!("kernel oracle unavailable: {e}");
        std::process::exit(1);
    }
    let cases = match read_dir(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("reading {}: {e}", dir.display());
            std::process::exit(1);
        }
    };
    let report = compare(&cases, |c| {
        let t = Instant::now();
        let k = record_case(c, RecordOptions::default());
        KbpfVerdict {
            accepted: k.accepted,
            errno: k.errno,
            error_line: k.error_line,
            log: k.log.unwrap_or_default(),
            stats: k.stats,
            verify_time_ns: Some(t.elapsed().as_nanos() as u64),
            log2: k.log_level2,
        }
    });
    println!("{report}");
}
