//! Scratch: compare open_object's instructions with the libbpf oracle's (not committed).
use std::collections::HashMap;
fn hexbytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let k = format!("\"{key}\":");
    let i = line.find(&k)? + k.len();
    let rest = &line[i..];
    if let Some(r) = rest.strip_prefix('"') {
        Some(&r[..r.find('"')?])
    } else {
        Some(&rest[..rest.find([',', '}'])?])
    }
}
fn main() {
    let root = std::env::args().nth(1).unwrap();
    let opts = kbpf::LoadOptions::running_kernel();
    let (mut same, mut diff, mut missing) = (0, 0, 0);
    let mut entries: Vec<_> = std::fs::read_dir(format!("{root}/oracle"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let text = std::fs::read_to_string(&p).unwrap();
        let mut cache: HashMap<String, Option<kbpf::LoadedObject>> = HashMap::new();
        for line in text.lines() {
            let (Some(obj), Some(prog), Some(insns)) =
                (field(line, "object"), field(line, "prog"), field(line, "insns"))
            else {
                continue;
            };
            if insns.is_empty() {
                continue;
            }
            let o = cache.entry(obj.to_string()).or_insert_with(|| {
                let bytes = std::fs::read(format!("{root}/objs/{obj}")).ok()?;
                kbpf::open_object(&bytes, &opts).ok()
            });
            let Some(o) = o else {
                missing += 1;
                println!("NOOBJ {obj}:{prog}");
                continue;
            };
            let Some(mp) = o.program(prog) else {
                missing += 1;
                println!("NOPROG {obj}:{prog}");
                continue;
            };
            let mut theirs = hexbytes(insns);
            let mut mine: Vec<u8> = mp.insns.iter().flat_map(|i| i.to_bytes()).collect();
            // refs: [[slot,"name"],...]
            let refs_s = line.split("\"refs\":").nth(1).unwrap_or("");
            let mut refs = Vec::new();
            for part in refs_s.split(']').take_while(|s| !s.starts_with(',') || s.starts_with(",[")) {
                let part = part.trim_start_matches([',', '[']);
                if let Some((n, name)) = part.split_once(',') {
                    if let Ok(n) = n.parse::<usize>() {
                        refs.push((n, name.trim_matches('"').to_string()));
                    }
                }
            }
            let mut why = String::new();
            for (slot, name) in &refs {
                let at = slot * 8;
                if at + 8 > mine.len() || at + 8 > theirs.len() {
                    continue;
                }
                let imm = i32::from_le_bytes([mine[at + 4], mine[at + 5], mine[at + 6], mine[at + 7]]);
                let my_name = o.maps.get(imm as usize).map(|m| m.name.clone()).unwrap_or_default();
                if &my_name != name && !name.starts_with('?') {
                    why = format!("map ref {slot}: {name} / {my_name}");
                }
                for b in &mut mine[at + 4..at + 8] {
                    *b = 0;
                }
                for b in &mut theirs[at + 4..at + 8] {
                    *b = 0;
                }
            }
            if why.is_empty() && mine != theirs {
                let n = mine.len().min(theirs.len()) / 8;
                let first = (0..n).find(|&i| mine[i * 8..i * 8 + 8] != theirs[i * 8..i * 8 + 8]).unwrap_or(n);
                let h = |v: &[u8], i: usize| {
                    v.get(i * 8..i * 8 + 8)
                        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
                        .unwrap_or("(end)".into())
                };
                why = format!(
                    "{} vs {} insns, slot {first}: {} / {}",
                    theirs.len() / 8,
                    mine.len() / 8,
                    h(&theirs, first),
                    h(&mine, first)
                );
            }
            if why.is_empty() {
                same += 1
            } else {
                diff += 1;
                println!("DIFF {obj}:{prog}: {why}");
            }
        }
    }
    println!("same {same} diff {diff} missing {missing}");
}
