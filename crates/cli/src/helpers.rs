//! `kbpf helpers --prog-type T`: the helpers a program type may call, with their prototypes
//! in the kernel's spelling, as a table or as JSON.

use std::fmt::Write;
use std::process::ExitCode;

use kbpf::verifier::protos::listing::{HelperEntry, HelperModel, helpers_for};

use crate::OutFormat;

/// Runs the subcommand.
pub fn run(prog_type: &str, attach_type: Option<&str>, format: OutFormat) -> ExitCode {
    let pt = match kbpf::prog_type_by_name(prog_type, 64) {
        Ok(pt) => pt,
        Err(e) => return crate::fail(e),
    };
    let attach = match attach_type.map(kbpf::attach_type_by_name).transpose() {
        Ok(a) => a,
        Err(e) => return crate::fail(e),
    };
    let list = helpers_for(pt.with_expected_attach(attach), attach);
    match format {
        OutFormat::Text => out!("{}", text(&list)),
        OutFormat::Json => outln!("{}", json(&list)),
    }
    ExitCode::SUCCESS
}

/// One line per helper: `id name(args) -> ret [gpl] [maps ...] [not modelled: ...]`.
fn text(list: &[HelperEntry]) -> String {
    let mut out = String::new();
    for e in list {
        let mut notes = Vec::new();
        if e.gpl_only {
            notes.push("gpl_only".to_string());
        }
        if !e.map_types.is_empty() {
            let m: Vec<String> = e.map_types.iter().map(u32::to_string).collect();
            notes.push(format!("map_types {}", m.join(",")));
        }
        if let HelperModel::Unmodelled(what) = &e.model {
            notes.push(format!("not modelled: {what}"));
        }
        let notes = if notes.is_empty() { String::new() } else { format!("  [{}]", notes.join("; ")) };
        let _ = writeln!(out, "{:>4}  {}({}) -> {}{}", e.id, e.name, e.args.join(", "), e.ret, notes);
    }
    out
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn json(list: &[HelperEntry]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|e| {
            let args: Vec<String> = e.args.iter().map(|a| quote(a)).collect();
            let maps: Vec<String> = e.map_types.iter().map(u32::to_string).collect();
            let model = match &e.model {
                HelperModel::Modelled => "null".to_string(),
                HelperModel::Unmodelled(w) => quote(w),
            };
            format!(
                "{{\"id\":{},\"name\":{},\"args\":[{}],\"ret\":{},\"gpl_only\":{},\"map_types\":[{}],\"not_modelled\":{model}}}",
                e.id,
                quote(&e.name),
                args.join(","),
                quote(&e.ret),
                e.gpl_only,
                maps.join(",")
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}
