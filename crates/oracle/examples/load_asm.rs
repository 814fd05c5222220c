//! Loads one assembly file (with `.func` declarations sent as program BTF) into the running
//! kernel and prints the verdict and log: `load_asm FILE [PROG_TYPE] [LOG_LEVEL]`.

use kbpf_isa::asm::{NoKfuncs, assemble_module_slots};
use kbpf_oracle::{CaseFunc, LoadRequest, LogLevel, ProgType, load};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: load_asm FILE [socket_filter|sched_cls|xdp|syscall] [LOG_LEVEL]");
        std::process::exit(2);
    };
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let m = assemble_module_slots(&src, &NoKfuncs).unwrap_or_else(|e| panic!("{e}"));
    let pt = match args.get(2).map(String::as_str) {
        Some("sched_cls" | "tc") => ProgType::SchedCls,
        Some("xdp") => ProgType::Xdp,
        Some("syscall") => ProgType::Syscall,
        _ => ProgType::SocketFilter,
    };
    let mut req = LoadRequest::new(pt);
    req.log_level = LogLevel(args.get(3).and_then(|l| l.parse().ok()).unwrap_or(2));
    req.funcs = m
        .funcs
        .iter()
        .map(|f| CaseFunc { pc: f.pc, name: f.name.clone(), nargs: f.nargs, global: f.global })
        .collect();
    let v = load(&m.slots, &req);
    println!("accepted={} errno={:?}\n{}", v.accepted, v.errno, v.log);
}
