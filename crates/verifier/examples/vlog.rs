//! Verifies one program given as hex on the command line and prints verdict, errno and log:
//! `vlog <socket_filter|xdp|sched_cls|syscall> <log_level> '<hex bytes>' [fd:type:ks:vs:max,...]`.
//! Used to compare against the kernel oracle by hand.

use kbpf_isa::RawInsn;
use kbpf_verifier::{MapDef, MapKind, ProgType, VerifyOptions, verify};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        eprintln!("usage: vlog TYPE LEVEL HEX [MAPS]");
        std::process::exit(2);
    }
    let prog_type = match a[1].as_str() {
        "xdp" => ProgType::Xdp,
        "tc" | "sched_cls" => ProgType::SchedCls,
        "syscall" => ProgType::Syscall,
        _ => ProgType::SocketFilter,
    };
    let hex: String = a[3].chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    let slots: Vec<RawInsn> = bytes
        .chunks_exact(8)
        .map(|c| RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    let mut maps = Vec::new();
    if let Some(spec) = a.get(4) {
        for m in spec.split(',') {
            let f: Vec<u32> = m.split(':').filter_map(|x| x.parse().ok()).collect();
            if f.len() == 5 {
                maps.push(MapDef {
                    fd: f[0] as i32,
                    name: "mymap".into(),
                    kind: MapKind::from_raw(f[1]).unwrap_or(MapKind::Hash),
                    key_size: f[2],
                    value_size: f[3],
                    max_entries: f[4],
                });
            }
        }
    }
    let opts = VerifyOptions {
        prog_type,
        log_level: a[2].parse().unwrap_or(1),
        maps,
        log_size: Some(1 << 22),
        ..Default::default()
    };
    let out = verify(&slots, &opts);
    println!(
        "{} {}",
        if out.accepted { "True" } else { "False" },
        out.error.as_ref().map_or("None", |e| e.errno().name())
    );
    println!("{}", out.log);
}
