//! The names the kernel knows an object's maps by, as libbpf creates them.
//!
//! `BPF_MAP_CREATE` keeps at most 15 bytes of a name (`BPF_OBJ_NAME_LEN` - 1), and libbpf
//! names a global-data map after the object: up to eight bytes of the object's name, then the
//! section (`.bss` reserves seven bytes for its suffix, so `test_sock_fields.bpf.o`'s `.bss`
//! is `test_soc.bss`). The verifier's log prints these names (`map=test_soc.bss`).

/// `BPF_OBJ_NAME_LEN`: the kernel keeps this many bytes, the last one a NUL.
const OBJ_NAME_LEN: usize = 16;

/// libbpf's object name for a file: its base name up to the first `.`, at most 15 bytes
/// (`test_sock_fields.bpf.o` is `test_sock_field`... cut at 15, then at the dot).
pub fn object_name(path: &std::path::Path) -> String {
    let base = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let base = cut(&base, OBJ_NAME_LEN - 1);
    base.split('.').next().unwrap_or_default().to_string()
}

/// The name `map` (its ELF name: a `.maps` variable, or a global-data section such as `.bss`)
/// is created with by libbpf for the object `object` (see [`object_name`]).
pub fn kernel_map_name(object: &str, map: &str) -> String {
    if !map.starts_with('.') {
        return cut(map, OBJ_NAME_LEN - 1).to_string();
    }
    // a global-data map: the suffix keeps at least seven bytes, the object fills what is left,
    // and a section with a second dot (`.data.custom`) gets no object prefix at all
    let sfx = map.len().clamp(7, OBJ_NAME_LEN - 1);
    let pfx = if map[1..].contains('.') { 0 } else { (OBJ_NAME_LEN - sfx - 1).min(object.len()) };
    let name = format!("{}{}", cut(object, pfx), cut(map, sfx));
    // the kernel takes letters, digits, `_` and `.` only
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// At most `max` bytes of `s`, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn object_names_stop_at_the_first_dot() {
        assert_eq!(object_name(Path::new("a/b/test_sock_fields.bpf.o")), "test_sock_field");
        assert_eq!(object_name(Path::new("xdp.o")), "xdp");
    }

    #[test]
    fn global_data_maps_carry_the_object_name() {
        assert_eq!(kernel_map_name("test_sock_field", ".bss"), "test_soc.bss");
        assert_eq!(kernel_map_name("test_sock_field", ".rodata"), "test_soc.rodata");
        assert_eq!(kernel_map_name("my_object_name", ".kconfig"), "my_obje.kconfig");
        assert_eq!(kernel_map_name("xdp", ".data"), "xdp.data");
        assert_eq!(kernel_map_name("obj", ".data.custom"), ".data.custom");
        assert_eq!(kernel_map_name("obj", ".rodata.abracadabra"), ".rodata.abracad");
        assert_eq!(kernel_map_name("a-b", ".bss"), "a_b.bss");
    }

    #[test]
    fn other_maps_keep_fifteen_bytes() {
        assert_eq!(kernel_map_name("o", "sk_pkt_out_cnt10"), "sk_pkt_out_cnt1");
        assert_eq!(kernel_map_name("o", "short"), "short");
    }
}
