//! The map directives (docs/interfaces.md, "Maps in assembly"):
//!
//! ```text
//! .map NAME, TYPE, KEY_SIZE, VALUE_SIZE, MAX_ENTRIES[, FLAG...]
//! .mapdata NAME, INDEX, ITEM[, ITEM...]
//! ```
//!
//! TYPE is `hash`, `array`, `prog_array`, `percpu_hash`, `percpu_array`, `lru_hash`, `ringbuf` or
//! a `bpf_map_type` number. FLAGs are `rdonly_prog`, `wronly_prog`, `rdonly`, `wronly`,
//! `mmapable`, `no_prealloc`, `flags=N` (raw bits), `frozen` (contents fixed after load, like
//! libbpf's `.rodata`) and `timer=OFF` (the value holds a `struct bpf_timer` at byte OFF, as
//! its BTF would say). `.mapdata` fills value INDEX of an array map from its start: ITEMs are
//! string literals (`"abc\0"`, escapes `\0 \n \t \\ \" \xNN`) and little-endian integers
//! `u8 N`, `u16 N`, `u32 N`, `u64 N`; for a prog array the single ITEM names a program
//! (`.prog NAME`) to put in slot INDEX.

use crate::maps::{MapFlags, MapSpec, MapType};

/// One comma-separated field of a directive, trimmed (commas inside string literals kept).
fn fields(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut start, mut in_str, mut esc) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if esc => esc = false,
            '\\' if in_str => esc = true,
            '"' => in_str = !in_str,
            ',' if !in_str => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_str {
        return Err("unterminated string literal".into());
    }
    out.push(text[start..].trim());
    Ok(out)
}

fn number(s: &str) -> Result<i128, String> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t.trim()),
        None => (false, s),
    };
    let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse::<u64>(),
    }
    .map_err(|_| format!("invalid number `{s}`"))? as i128;
    Ok(if neg { -v } else { v })
}

fn u32_field(s: &str, what: &str) -> Result<u32, String> {
    u32::try_from(number(s)?).map_err(|_| format!("{what} `{s}` does not fit in 32 bits"))
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '.')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '.')
}

/// Name of the map a `.map` line declares, if `text` is one (the assembler's first pass).
pub(super) fn map_name(text: &str) -> Option<&str> {
    let rest = text.trim().strip_prefix(".map")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name = rest.split(',').next()?.trim();
    is_ident(name).then_some(name)
}

/// Parses `.map ...` (the text after the keyword).
pub(super) fn parse_map(rest: &str) -> Result<MapSpec, String> {
    let usage = "expected `.map NAME, TYPE, KEY_SIZE, VALUE_SIZE, MAX_ENTRIES[, FLAG...]`";
    let f = fields(rest)?;
    let [name, ty, k, v, n, flags @ ..] = f.as_slice() else { return Err(usage.into()) };
    if !is_ident(name) {
        return Err(format!("bad map name `{name}`"));
    }
    let map_type = match MapType::from_keyword(ty) {
        Some(t) => t,
        None => {
            MapType::from_number(u32_field(ty, "map type").map_err(|_| format!("unknown map type `{ty}`"))?)
        }
    };
    let mut spec = MapSpec {
        name: name.to_string(),
        map_type,
        key_size: u32_field(k, "key size")?,
        value_size: u32_field(v, "value size")?,
        max_entries: u32_field(n, "max entries")?,
        ..MapSpec::default()
    };
    for fl in flags {
        if *fl == "frozen" {
            spec.frozen = true;
        } else if let Some(off) = fl.strip_prefix("timer=") {
            spec.timer_off = Some(u32_field(off.trim(), "timer offset")?);
        } else if let Some(bits) = fl.strip_prefix("flags=") {
            spec.flags.0 |= u32_field(bits.trim(), "flags")?;
        } else if let Some((b, _)) = MapFlags::NAMED.iter().find(|(_, kw)| kw == fl) {
            spec.flags.0 |= b.0;
        } else {
            return Err(format!("unknown map flag `{fl}`"));
        }
    }
    Ok(spec)
}

/// Decodes a string literal's body.
fn string_bytes(lit: &str) -> Result<Vec<u8>, String> {
    let body = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("bad string literal {lit}"))?;
    let mut out = Vec::new();
    let mut it = body.bytes();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match it.next() {
            Some(b'0') => 0,
            Some(b'n') => b'\n',
            Some(b't') => b'\t',
            Some(b'\\') => b'\\',
            Some(b'"') => b'"',
            Some(b'x') => {
                let h: Vec<u8> = it.by_ref().take(2).collect();
                std::str::from_utf8(&h)
                    .ok()
                    .filter(|s| s.len() == 2)
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                    .ok_or_else(|| "`\\x` takes two hex digits".to_string())?
            }
            _ => return Err(format!("unknown escape in {lit}")),
        });
    }
    Ok(out)
}

/// Applies `.mapdata NAME, INDEX, ITEM...` (the text after the keyword) to the declared maps.
pub(super) fn apply_mapdata(rest: &str, maps: &mut [MapSpec]) -> Result<(), String> {
    let f = fields(rest)?;
    let [name, index, items @ ..] = f.as_slice() else {
        return Err("expected `.mapdata NAME, INDEX, ITEM[, ITEM...]`".into());
    };
    if items.is_empty() {
        return Err("`.mapdata` needs at least one item".into());
    }
    let m = maps.iter_mut().find(|m| m.name == *name).ok_or_else(|| format!("no map `{name}`"))?;
    let index = u32_field(index, "index")?;
    if index >= m.max_entries {
        return Err(format!("index {index} is beyond max_entries {}", m.max_entries));
    }
    if m.map_type == MapType::ProgArray {
        let [prog] = items else { return Err("a prog array slot takes one program name".into()) };
        if !is_ident(prog) {
            return Err(format!("bad program name `{prog}`"));
        }
        m.progs.retain(|(i, _)| *i != index);
        m.progs.push((index, prog.to_string()));
        m.progs.sort();
        return Ok(());
    }
    if !m.map_type.is_array() {
        return Err(format!("`.mapdata` fills array maps; `{name}` is a {} map", m.map_type));
    }
    let mut bytes = Vec::new();
    for item in items {
        if item.starts_with('"') {
            bytes.extend(string_bytes(item)?);
            continue;
        }
        let (ty, val) = item.split_once(char::is_whitespace).ok_or_else(|| format!("bad item `{item}`"))?;
        let v = number(val.trim())?;
        let size = match ty {
            "u8" => 1,
            "u16" => 2,
            "u32" => 4,
            "u64" => 8,
            _ => return Err(format!("bad item `{item}` (strings or u8/u16/u32/u64 N)")),
        };
        let fits = v >= -(1i128 << (size * 8 - 1)) && v < (1i128 << (size * 8));
        if !fits {
            return Err(format!("{v} does not fit in {ty}"));
        }
        bytes.extend_from_slice(&(v as u64).to_le_bytes()[..size]);
    }
    if bytes.len() > m.value_size as usize {
        return Err(format!("{} bytes of data exceed value_size {}", bytes.len(), m.value_size));
    }
    let at = index as usize * m.value_size as usize;
    if m.data.len() < at + bytes.len() {
        m.data.resize(at + bytes.len(), 0);
    }
    m.data[at..at + bytes.len()].copy_from_slice(&bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_and_data() {
        let mut maps = vec![parse_map(" rodata, array, 4, 16, 2, rdonly_prog, frozen").unwrap()];
        assert_eq!(maps[0].flags, MapFlags::RDONLY_PROG);
        assert!(maps[0].frozen);
        apply_mapdata(r#" rodata, 1, "a,b\0", u16 0x102, u8 -1"#, &mut maps).unwrap();
        assert_eq!(&maps[0].data[16..], b"a,b\0\x02\x01\xff");
        assert!(apply_mapdata(" rodata, 2, u8 1", &mut maps).is_err());
        assert!(apply_mapdata(r#" rodata, 0, "0123456789abcdefX""#, &mut maps).is_err());
        assert!(apply_mapdata(" rodata, 0, u8 256", &mut maps).is_err());
        let back = maps[0].directives();
        assert_eq!(
            back,
            ".map rodata, array, 4, 16, 2, rdonly_prog, frozen\n.mapdata rodata, 1, \"a,b\\0\\x02\\x01\\xff\"\n"
        );
        assert_eq!(map_name(".map  x1 , hash, 4, 8, 1"), Some("x1"));
        assert_eq!(map_name(".mapdata x1, 0, u8 1"), None);
        assert!(parse_map(" m, bogus, 4, 4, 1").is_err());
        assert_eq!(parse_map(" m, 12, 4, 4, 1, flags=0x3").unwrap().map_type, MapType::Other(12));
    }

    #[test]
    fn prog_array_slots() {
        let mut maps = vec![parse_map("jmp, prog_array, 4, 4, 4").unwrap()];
        apply_mapdata("jmp, 2, second", &mut maps).unwrap();
        assert_eq!(maps[0].progs, [(2, "second".to_string())]);
        assert!(apply_mapdata("jmp, 2, u8 1", &mut maps).is_err());
    }
}
