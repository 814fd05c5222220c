//! Standard output that ends quietly when its reader goes away (`kbpf verify ... | head`):
//! `println!` panics on a closed pipe, a C tool dies of SIGPIPE; kbpf exits with the
//! shell's code for the latter (128 + 13) and prints nothing more.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Exit status of a process whose output pipe was closed, as a shell reports SIGPIPE.
const CLOSED_PIPE: i32 = 128 + 13;

/// Writes `args` (and a newline when `newline`) to stdout.
pub fn write(args: fmt::Arguments, newline: bool) {
    let mut o = std::io::stdout().lock();
    let r = o.write_fmt(args).and_then(|()| if newline { o.write_all(b"\n") } else { Ok(()) });
    if let Err(e) = r {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_PIPE);
        }
        eprintln!("kbpf: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`write`].
macro_rules! outln {
    () => { $crate::out::write(format_args!(""), true) };
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*), true) };
}

/// `print!` through [`write`].
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*), false) };
}
