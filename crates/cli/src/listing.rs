//! `kbpf kfuncs`: the registry as a table or as JSON.

use std::fmt::Write;

use kbpf::kfunc::{ArgKind, FuncDesc, FuncKind, Registry, RetKind};

fn arg_kind(k: &ArgKind) -> String {
    match k {
        ArgKind::Scalar => "scalar".into(),
        ArgKind::Const => "const".into(),
        ArgKind::MemSize { constant: false } => "mem_size".into(),
        ArgKind::MemSize { constant: true } => "mem_size_const".into(),
        ArgKind::Mem { size: Some(n), .. } => format!("mem[{n}]"),
        ArgKind::Mem { size: None, uninit } => if *uninit { "uninit_mem" } else { "mem" }.into(),
        ArgKind::Ctx => "ctx".into(),
        ArgKind::BtfId(s) => format!("struct {s} *"),
        ArgKind::Dynptr => "dynptr".into(),
        ArgKind::Iter(s) => format!("iter {s}"),
        ArgKind::ConstStr => "const_str".into(),
        ArgKind::Timer => "timer".into(),
        ArgKind::Map => "map".into(),
        ArgKind::MapValue(m) => format!("map_value(arg{})", m + 1),
        ArgKind::Arena => "arena".into(),
        ArgKind::ProgAux => "prog_aux".into(),
        ArgKind::Ignored => "ignored".into(),
        ArgKind::Callback => "callback".into(),
    }
}

fn ret_kind(r: &Option<RetKind>) -> String {
    match r {
        None | Some(RetKind::Void) => "void".into(),
        Some(RetKind::Scalar) => "scalar".into(),
        Some(RetKind::BtfId(s)) => format!("struct {s} *"),
        Some(RetKind::Mem(n)) => format!("mem[{n}]"),
        Some(RetKind::MapValue) => "map_value".into(),
    }
}

fn kind(d: &FuncDesc) -> &'static str {
    match d.kind {
        FuncKind::Helper => "helper",
        FuncKind::Kfunc => "kfunc",
    }
}

/// One line per function: `kind id name(args) -> ret [flags]`.
pub fn text(r: &Registry) -> String {
    let mut out = String::new();
    for d in r.iter() {
        let args: Vec<String> = d
            .proto
            .args
            .iter()
            .map(|a| format!("{}: {}{}", a.name, arg_kind(&a.kind), if a.nullable { "?" } else { "" }))
            .collect();
        let flags = d.proto.flags.names().join("|");
        let _ = writeln!(
            out,
            "{:6} {:>10}  {}({}) -> {}{}{}",
            kind(d),
            d.id,
            d.name,
            args.join(", "),
            ret_kind(&d.proto.ret),
            if flags.is_empty() { "" } else { "  " },
            flags
        );
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON array of `{kind, id, name, args: [{name, kind, nullable}], ret, flags, native}`.
pub fn json(r: &Registry) -> String {
    let items: Vec<String> = r
        .iter()
        .map(|d| {
            let args: Vec<String> = d
                .proto
                .args
                .iter()
                .map(|a| {
                    format!(
                        "{{\"name\":{},\"kind\":{},\"nullable\":{}}}",
                        json_str(&a.name),
                        json_str(&arg_kind(&a.kind)),
                        a.nullable
                    )
                })
                .collect();
            let flags: Vec<String> = d.proto.flags.names().iter().map(|f| json_str(f)).collect();
            format!(
                "{{\"kind\":\"{}\",\"id\":{},\"name\":{},\"args\":[{}],\"ret\":{},\"flags\":[{}],\"native\":{}}}",
                kind(d),
                d.id,
                json_str(&d.name),
                args.join(","),
                json_str(&ret_kind(&d.proto.ret)),
                flags.join(","),
                d.native.is_some()
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// `--dump-maps`: each map's header line, then one `key: value` line (hex bytes) per element.
pub fn dump_maps(maps: &kbpf::kfunc::maps::MapSet) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = String::new();
    for m in maps.iter() {
        let s = m.spec();
        let entries = m.entries();
        out += &format!(
            "map {} ({}, key {}, value {}, max_entries {}): {} elements\n",
            s.name,
            s.map_type,
            s.key_size,
            s.value_size,
            s.max_entries,
            entries.len()
        );
        for (k, v) in entries {
            out += &format!("  {}: {}\n", hex(&k), hex(&v));
        }
    }
    out
}

/// `text` (a disassembly of `program`: map directives, then one line per instruction) with
/// the module's source lines as `; line @ file:N` comments above the instructions they start,
/// the way the verifier log shows them.
pub fn with_source(text: &str, program: &kbpf::isa::Program, m: &kbpf::Module) -> String {
    let header = m.maps.iter().map(|d| d.directives()).collect::<String>().lines().count();
    let comments = kbpf::verifier::source_comments(&m.line_info, m.slots.len());
    let pcs: Vec<usize> = program.iter().map(|(pc, _)| pc).collect();
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.lines().enumerate() {
        let pc = i.checked_sub(header).and_then(|k| pcs.get(k));
        if let Some(c) = pc.and_then(|&pc| comments.get(pc)).and_then(|c| c.as_deref()) {
            out.push_str("; ");
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
