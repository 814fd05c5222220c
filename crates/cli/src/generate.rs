//! `kbpf completions SHELL` and `kbpf man [SUBCOMMAND]`: generated from the clap definitions,
//! so they never drift from the parser.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> ExitCode {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut cmd, "kbpf", &mut out);
    match out.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::fail(e),
    }
}

/// Prints the roff man page of `kbpf`, or of one subcommand (`kbpf-stats(1)` ...).
pub fn man(sub: Option<&str>) -> ExitCode {
    let cmd = Cli::command();
    let page = match sub {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            // a one-shot process: the page name may live as long as it
            Some(s) => s.clone().name(&*Box::leak(format!("kbpf-{name}").into_boxed_str())),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                return crate::fail(format_args!("no subcommand {name:?} (one of: {})", names.join(", ")));
            }
        },
    };
    let mut buf = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut buf) {
        return crate::fail(e);
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(&buf).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::fail(e),
    }
}
