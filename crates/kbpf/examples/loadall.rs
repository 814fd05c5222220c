//! Scratch: open every object of a directory (not committed).
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let only = std::env::args().nth(2);
    let opts = kbpf::LoadOptions::running_kernel();
    let mut entries: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    let (mut objs, mut progs, mut oerr, mut perr) = (0, 0, 0, 0);
    for p in entries {
        if p.extension().is_none_or(|e| e != "o") {
            continue;
        }
        let fname = p.file_name().unwrap().to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !fname.starts_with(o.as_str())) {
            continue;
        }
        objs += 1;
        let bytes = std::fs::read(&p).unwrap();
        match kbpf::open_object(&bytes, &opts) {
            Err(e) => {
                oerr += 1;
                println!("OBJ {fname}: {e}");
            }
            Ok(o) => {
                if only.is_some() {
                    dump_core(&o);
                }
                for pr in &o.programs {
                    progs += 1;
                    if only.is_some() {
                        println!(
                            "P {fname}:{} type {:?} eat {} attach {:?} insns {}",
                            pr.name,
                            pr.prog_type,
                            pr.expected_attach_number(),
                            pr.attach_btf,
                            pr.insns.len()
                        );
                    }
                    if let Some(e) = &pr.error {
                        perr += 1;
                        println!("PROG {fname}:{}: {e}", pr.name);
                    }
                }
            }
        }
    }
    println!("objects {objs} (errors {oerr}), programs {progs} (errors {perr})");
}
#[allow(dead_code)]
fn dump_core(o: &kbpf::LoadedObject) {
    for (f, r) in &o.core {
        println!(
            "CORE {f}: {:?} insn {} {} -> {:?} orig {} new {} poisoned {}",
            r.kind, r.insn, r.local_spec, r.target_spec, r.orig_val, r.new_val, r.poisoned
        );
    }
}
