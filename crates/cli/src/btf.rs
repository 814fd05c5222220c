//! `kbpf btf dump FILE --format c`: a `vmlinux.h` from a BTF file, as `bpftool btf dump file
//! FILE format c` prints it, so CO-RE programs build without bpftool.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use kbpf::elf::btf::{TargetBtf, dump_c};

/// `kbpf btf` subcommands.
#[derive(Subcommand)]
pub enum BtfCmd {
    /// Print every type of a BTF file (raw BTF like `/sys/kernel/btf/vmlinux`, or an ELF file's
    /// `.BTF`).
    Dump {
        /// The BTF file.
        file: std::path::PathBuf,
        /// Output format: `c`, a compilable header with bpftool's layout (the only one so far).
        #[arg(long, value_enum, default_value = "c")]
        format: BtfFormat,
    },
}

/// `--format`.
#[derive(Clone, Copy, ValueEnum)]
pub enum BtfFormat {
    C,
}

pub fn run(cmd: &BtfCmd) -> ExitCode {
    match cmd {
        BtfCmd::Dump { file, format: BtfFormat::C } => dump(file),
    }
}

fn dump(file: &Path) -> ExitCode {
    let btf = match TargetBtf::load(file) {
        Ok(t) => t,
        Err(e) => return crate::fail(e),
    };
    let text = match dump_c(&btf.vmlinux) {
        Ok(t) => t,
        Err(e) => return crate::fail(format_args!("{}: {e}", file.display())),
    };
    match write_stdout(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::fail(e),
    }
}

/// Writes a large text to stdout; a reader that stopped early (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}
