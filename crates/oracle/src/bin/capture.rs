//! Runs the generated and hand-written cases through the running kernel and writes
//! `tests/kernel-cases/<family>.jsonl` plus golden logs under `tests/kernel-cases/golden/`.
//!
//! Usage: `capture [--out DIR] [--seed N] [--scale F] [--no-golden] [--bench DIR] [--family NAME]...`
//! and `capture --verifier-golden`, which re-captures the verifier crate's golden kernel logs
//! (`crates/verifier/tests/golden/<name>.kernel.log`, plain files the verifier's `golden` test
//! compares exactly) for the programs listed in `crates/verifier/tests/golden/cases.txt`. This
//! tool is the only writer of those files. `capture --line-info-golden` compiles the C programs
//! of `tests/line-info/` with clang-19 and writes the kernel's level-1 and level-2 logs of
//! each, loaded with the object's BTF, func_info and line_info, as
//! `tests/line-info/golden/<name>.l{1,2,4}.log` (the kbpf crate's `line_info` test compares them).
//! `capture --verifier-generated` rewrites the kernel's answers in the headers of the verifier
//! crate's generated programs (`crates/verifier/tests/data/*.txt`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kbpf_oracle::case::RecordOptions;
use kbpf_oracle::{bench, capture, generator};

fn main() {
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/kernel-cases");
    let mut seed = generator::DEFAULT_SEED;
    let mut scale = 1.0f64;
    let mut golden = true;
    let mut bench_dir: Option<PathBuf> = None;
    let mut families: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            "--scale" => scale = args.next().and_then(|s| s.parse().ok()).unwrap_or(scale),
            "--no-golden" => golden = false,
            "--bench" => bench_dir = args.next().map(PathBuf::from),
            "--family" => families.extend(args.next()),
            "--line-info-golden" => return with_oracle(line_info_golden),
            "--verifier-generated" => return with_oracle(verifier_generated),
            "--verifier-golden" => return with_oracle(verifier_golden),
            _ => {
                eprintln!(
                    "usage: capture [--out DIR] [--seed N] [--scale F] [--no-golden] [--bench DIR] [--family NAME]..."
                );
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = kbpf_oracle::available() {
        eprintln!("kernel oracle unavailable: {e}");
        std::process::exit(1);
    }
    if let Some(dir) = bench_dir {
        run_bench(&dir);
        return;
    }
    let mut cases = generator::generate(seed, scale);
    cases.extend(generator::hand_written());
    if !families.is_empty() {
        // re-capture only these families (their files are rewritten, the others kept)
        cases.retain(|c| families.contains(&c.family));
        golden &= families.iter().any(|f| f == "hand");
    }
    let t = Instant::now();
    let opts = RecordOptions { max_log: 4096, max_log_level2: 8192 };
    let recs = capture::record_all(&cases, opts, 10, |done, total| {
        if done % 250 == 0 || done == total {
            eprintln!("  {done}/{total} ({:.1}s)", t.elapsed().as_secs_f64());
        }
    });
    let mut table: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &recs {
        let e = table.entry(r.case.family.as_str()).or_default();
        if r.kernel.accepted {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let (mut ta, mut tr) = (0, 0);
    println!("{:<16} {:>7} {:>7}", "family", "accept", "reject");
    for (f, (a, r)) in &table {
        println!("{f:<16} {a:>7} {r:>7}");
        ta += a;
        tr += r;
    }
    println!("{:<16} {ta:>7} {tr:>7}  ({} cases, {:.1}s)", "TOTAL", ta + tr, t.elapsed().as_secs_f64());
    match capture::write_jsonl(&out, &recs) {
        Ok(_) => println!("wrote {}", out.display()),
        Err(e) => {
            eprintln!("writing {}: {e}", out.display());
            std::process::exit(1);
        }
    }
    if golden {
        match capture::write_golden(&out.join("golden"), &generator::hand_written()) {
            Ok(names) => println!("wrote {} golden programs", names.len()),
            Err(e) => eprintln!("golden: {e}"),
        }
    }
}

fn run_bench(dir: &std::path::Path) {
    for (name, n, repeat) in [
        ("empty", 0u32, 100_000u32),
        ("sum", 1_000_000, 20),
        ("xorshift", 100_000, 20),
        ("calls", 100_000, 20),
    ] {
        let path = dir.join(format!("{name}.kernel.hex"));
        let r = bench::read_hex_file(&path).and_then(|s| bench::bench_slots(&s, n, repeat, 11));
        match r {
            Ok(b) => println!(
                "{name:<9} N={n:<8} {:>12.0} ns/run (min {} max {}) retval=0x{:08x} insns={} jited={}B verif={:?}us",
                b.median_ns,
                b.rounds_ns.first().copied().unwrap_or(0),
                b.rounds_ns.last().copied().unwrap_or(0),
                b.retval,
                b.insns,
                b.jited_len,
                b.verification_time_us
            ),
            Err(e) => println!("{name}: {e}"),
        }
    }
}

/// Re-captures the verifier's golden logs from the running kernel: `<name>.kernel.log` is the
/// verdict line, the log, and one final newline. The log is normalised
/// as `crates/verifier/tests/golden.rs` expects: map `ld_imm64` values print as `MAP` (the
/// annotation padding collapsed) and 6.18's stack-liveness trace lines are dropped.
/// Runs one of the re-capture modes, which all need the running kernel.
fn with_oracle(mode: fn()) {
    if let Err(e) = kbpf_oracle::available() {
        eprintln!("kernel oracle unavailable: {e}");
        std::process::exit(1);
    }
    mode();
}

/// `--verifier-generated`: the kernel's answers in the verifier crate's generated-program
/// files (`crates/verifier/tests/data/*.txt`, which its `generated` test compares exactly).
fn verifier_generated() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/data");
    for name in ["iter_loops.txt", "dynptr_seqs.txt"] {
        let path = dir.join(name);
        let written = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| kbpf_oracle::asm_cases::recapture(&t))
            .and_then(|t| std::fs::write(&path, t).map_err(|e| e.to_string()));
        match written {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn verifier_golden() {
    use kbpf_oracle::{LoadRequest, LogLevel, MapSpec, ProgType, case::slots_from_hex, create_map, load};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../verifier/tests/golden");
    let list = match std::fs::read_to_string(root.join("cases.txt")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cases.txt: {e}");
            std::process::exit(1);
        }
    };
    let mut written = 0;
    for line in list.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        let [name, ty, level, maps, hex] = f[..] else {
            eprintln!("bad line {line}");
            continue;
        };
        let prog_type = match ty {
            "socket_filter" => ProgType::SocketFilter,
            "xdp" => ProgType::Xdp,
            "syscall" => ProgType::Syscall,
            "sched_cls" => ProgType::SchedCls,
            "sk_msg" => ProgType::SkMsg,
            _ => {
                eprintln!("{name}: unknown program type {ty}");
                continue;
            }
        };
        // `fd:type:key:value:max`: the program's ld_imm64 imm is `fd`
        let mut fds = Vec::new();
        let mut open = Vec::new();
        for spec in maps.split(',').filter(|s| !s.is_empty()) {
            let v: Vec<u32> = spec.split(':').filter_map(|x| x.parse().ok()).collect();
            let [fd, kind, ks, vs, max] = v[..] else { continue };
            let m = if kind == 2 {
                MapSpec::array(vs, max, "mymap")
            } else {
                MapSpec::hash(ks, vs, max, "mymap")
            };
            match create_map(&m) {
                Ok(m) => {
                    if fds.len() <= fd as usize {
                        fds.resize(fd as usize + 1, -1);
                    }
                    fds[fd as usize] = m.raw();
                    open.push(m);
                }
                Err(e) => eprintln!("{name}: map: {e}"),
            }
        }
        let hex_spaced: String = hex
            .as_bytes()
            .chunks(16)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let Ok(slots) = slots_from_hex(&hex_spaced) else {
            eprintln!("{name}: bad hex");
            continue;
        };
        let mut req = LoadRequest::new(prog_type);
        req.log_level = LogLevel(level.parse().unwrap_or(1));
        req.map_fds = fds;
        let v = load(&slots, &req);
        let verdict = format!(
            "accepted={} errno={}",
            if v.accepted { "True" } else { "False" },
            v.errno.map_or("None".to_string(), |e| e.name())
        );
        let log: Vec<String> = v
            .log
            .lines()
            .filter(|l| !l.starts_with("verification time ") && !liveness_trace(l))
            .map(mask_ld_imm64)
            .collect();
        let log = log.join("\n");
        let log = log.trim_end();
        let body = format!("{verdict}\n{log}\n");
        let path = root.join(format!("{name}.kernel.log"));
        match std::fs::write(&path, body) {
            Ok(()) => written += 1,
            Err(e) => eprintln!("{}: {e}", path.display()),
        }
        drop(open);
    }
    println!("wrote {written} verifier golden kernel logs to {}", root.display());
}

/// Re-captures `tests/line-info/golden/`: every program of every `tests/line-info/*.c`, at log
/// levels 1, 2 and 4 (statistics only: error lines still get their source line).
fn line_info_golden() {
    use kbpf_oracle::objects::{c_sources, compile_c, golden_text, prog_btf, prog_type_for_section};
    use kbpf_oracle::{LoadRequest, LogLevel, load};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/line-info");
    let out_dir = std::env::temp_dir().join(format!("kbpf-line-info-{}", std::process::id()));
    let sources = match c_sources(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", root.display());
            std::process::exit(1);
        }
    };
    let golden = root.join("golden");
    if let Err(e) = std::fs::create_dir_all(&golden) {
        eprintln!("{}: {e}", golden.display());
        std::process::exit(1);
    }
    let mut written = 0;
    for src in sources {
        let obj = compile_c(&src, &out_dir).and_then(|o| {
            let bytes = std::fs::read(&o).map_err(|e| e.to_string())?;
            kbpf_elf::Object::parse(&bytes).map_err(|e| e.to_string())
        });
        let obj = match obj {
            Ok(o) => o,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        for prog in &obj.programs {
            let Some(prog_type) = prog_type_for_section(&prog.section) else {
                eprintln!("{}: section {} has no oracle program type", src.display(), prog.section);
                continue;
            };
            for level in kbpf_oracle::objects::GOLDEN_LEVELS {
                let mut req = LoadRequest::new(prog_type);
                req.log_level = LogLevel(level);
                req.license = obj.license.clone();
                req.name = prog.name.clone();
                req.prog_btf = prog_btf(&obj, prog);
                let v = load(&prog.slots, &req);
                let errno = v.errno.map(|e| e.name());
                let path = golden.join(format!("{}.l{level}.log", prog.name));
                match std::fs::write(&path, golden_text(errno.as_deref(), &v.log)) {
                    Ok(()) => written += 1,
                    Err(e) => eprintln!("{}: {e}", path.display()),
                }
            }
            if prog.name == kbpf_oracle::objects::BAD_RECORDS_PROG
                && let Some(base) = prog_btf(&obj, prog)
            {
                for (case, b) in kbpf_oracle::objects::bad_records(&base) {
                    let mut req = LoadRequest::new(prog_type);
                    req.log_level = LogLevel(1);
                    req.license = obj.license.clone();
                    req.prog_btf = Some(b);
                    let v = load(&prog.slots, &req);
                    let errno = v.errno.map(|e| e.name());
                    let path = golden.join(format!("{}.{case}.l1.log", prog.name));
                    match std::fs::write(&path, golden_text(errno.as_deref(), &v.log)) {
                        Ok(()) => written += 1,
                        Err(e) => eprintln!("{}: {e}", path.display()),
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out_dir);
    println!("wrote {written} line-info golden logs to {}", golden.display());
}

/// 6.18's stack-liveness trace (`(3,5) frame 0 insn 5 +live -8`, `(0) live stack update ...`).
fn liveness_trace(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('(') else { return false };
    let Some((ids, tail)) = rest.split_once(") ") else { return false };
    ids.bytes().all(|b| b.is_ascii_digit() || b == b',')
        && (tail.starts_with("frame ") || tail.starts_with("live stack update"))
}

/// `(18) rN = 0x...` becomes `(18) rN = MAP`, the padding before a following `;` collapsed.
fn mask_ld_imm64(l: &str) -> String {
    let Some(at) = l.find("(18) r") else { return l.to_string() };
    let Some(eq) = l[at..].find(" = 0x") else { return l.to_string() };
    let start = at + eq + 3;
    let end = l[start + 2..].find(|c: char| !c.is_ascii_hexdigit()).map_or(l.len(), |e| start + 2 + e);
    let rest = l[end..].trim_start();
    if rest.is_empty() { format!("{}MAP", &l[..start]) } else { format!("{}MAP {rest}", &l[..start]) }
}
