//! Colour for people only: on when the stream is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>), or when `--color always` says so.

use std::io::IsTerminal;

use clap::ValueEnum;

/// `--color`.
#[derive(Clone, Copy, Default, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether to colour, decided once per stream.
#[derive(Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// For stdout.
    pub fn stdout(arg: ColorArg) -> Paint {
        Paint::decide(arg, std::io::stdout().is_terminal())
    }

    fn decide(arg: ColorArg, tty: bool) -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: match arg {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => tty && !no_color,
            },
        }
    }

    /// `text` (already padded) green for an accepted verdict, red for a refusal.
    pub fn verdict(self, verdict: &str, text: &str) -> String {
        match verdict {
            _ if !self.on => text.to_string(),
            "success" | "accepted" => format!("\x1b[32m{text}\x1b[0m"),
            "failure" | "MISMATCH" => format!("\x1b[31m{text}\x1b[0m"),
            v if v.starts_with("rejected") => format!("\x1b[31m{text}\x1b[0m"),
            _ => text.to_string(),
        }
    }
}
