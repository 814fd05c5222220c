//! One worker process per object, read line by line as it reports, stopped at a deadline: what
//! the selftests harness and test-run-diff both run kbpf's side with (a hang or a crash in
//! one object then costs only that object).

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

/// What a worker reported before it ended or was stopped.
pub struct WorkerOutput<T> {
    /// One record per JSON line, in order.
    pub records: Vec<T>,
    /// Stopped at the deadline.
    pub timed_out: bool,
    pub status: ExitStatus,
    /// Its standard error.
    pub stderr: String,
}

impl<T> WorkerOutput<T> {
    /// The last line of the worker's standard error (its panic or error message).
    pub fn last_err_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or("")
    }
}

/// Runs `cmd`, parsing each line it prints as a `T`, until it exits or `timeout` passes
/// (then it is killed: our own child, by its pid).
pub fn run_worker<T: DeserializeOwned>(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<WorkerOutput<T>, String> {
    let exe = cmd.get_program().to_string_lossy().into_owned();
    let mut child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| format!("{exe}: {e}"))?;
    let stdout = child.stdout.take().ok_or("worker stdout")?;
    let stderr = child.stderr.take().ok_or("worker stderr")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    let mut timed_out = false;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => records.push(serde_json::from_str::<T>(&line).map_err(|e| format!("{line}: {e}"))?),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = reader.join();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(WorkerOutput { records, timed_out, status, stderr })
}
