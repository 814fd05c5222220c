//! Hand-built BPF objects, byte by byte, for tests and fuzzing of every consumer of
//! untrusted ELF input (a hostile object is easiest to describe by its sections).

/// `SHT_PROGBITS`.
pub const SHT_PROGBITS: u32 = 1;
/// `SHT_SYMTAB`.
pub const SHT_SYMTAB: u32 = 2;
/// `SHT_STRTAB`.
pub const SHT_STRTAB: u32 = 3;
/// `SHT_NOBITS`.
pub const SHT_NOBITS: u32 = 8;

/// One section of a hand-built object: its bytes in the file, or `size` bytes of nothing.
pub struct Sec {
    /// Section name.
    pub name: &'static str,
    /// `sh_type`.
    pub ty: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// Bytes stored in the file (none for `SHT_NOBITS`).
    pub data: Vec<u8>,
    /// `sh_size` when not `data.len()`.
    pub size: Option<u64>,
}

/// A section stored whole in the file.
pub fn sec(name: &'static str, ty: u32, flags: u64, data: Vec<u8>) -> Sec {
    Sec { name, ty, flags, data, size: None }
}

/// A relocatable little-endian ELF64 object for EM_BPF with `sections` (after the null
/// section), a `.symtab` whose entries are `(name, info, section, value, size)`, `.strtab`
/// and `.shstrtab`.
pub fn object(sections: Vec<Sec>, symbols: &[(&str, u8, u16, u64, u64)]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for &(name, info, shndx, value, size) in symbols {
        let at = strtab.len() as u32;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        symtab.extend_from_slice(&at.to_le_bytes());
        symtab.push(info);
        symtab.push(0);
        symtab.extend_from_slice(&shndx.to_le_bytes());
        symtab.extend_from_slice(&value.to_le_bytes());
        symtab.extend_from_slice(&size.to_le_bytes());
    }
    let n = sections.len() as u32;
    let mut all = sections;
    let symtab_idx = n + 1;
    all.push(Sec { name: ".symtab", ty: SHT_SYMTAB, flags: 0, data: symtab, size: None });
    all.push(sec(".strtab", SHT_STRTAB, 0, strtab));
    let mut shstr = vec![0u8];
    let mut names = Vec::new();
    for s in &all {
        names.push(shstr.len() as u32);
        shstr.extend_from_slice(s.name.as_bytes());
        shstr.push(0);
    }
    names.push(shstr.len() as u32);
    shstr.extend_from_slice(b".shstrtab\0");
    all.push(sec(".shstrtab", SHT_STRTAB, 0, shstr));

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::new();
    for s in &all {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        offsets.push(out.len() as u64);
        if s.ty != SHT_NOBITS {
            out.extend_from_slice(&s.data);
        }
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len() as u64;
    out.extend_from_slice(&[0u8; 64]);
    for (i, s) in all.iter().enumerate() {
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&names[i].to_le_bytes());
        h.extend_from_slice(&s.ty.to_le_bytes());
        h.extend_from_slice(&s.flags.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&offsets[i].to_le_bytes());
        h.extend_from_slice(&s.size.unwrap_or(s.data.len() as u64).to_le_bytes());
        let (link, info, entsize): (u32, u32, u64) =
            if s.ty == SHT_SYMTAB { (symtab_idx + 1, 1, 24) } else { (0, 0, 0) };
        h.extend_from_slice(&link.to_le_bytes());
        h.extend_from_slice(&info.to_le_bytes());
        h.extend_from_slice(&8u64.to_le_bytes());
        h.extend_from_slice(&entsize.to_le_bytes());
        out.extend_from_slice(&h);
    }
    let hdr = &mut out[..64];
    hdr[..4].copy_from_slice(b"\x7fELF");
    hdr[4] = 2; // ELFCLASS64
    hdr[5] = 1; // little endian
    hdr[6] = 1; // EV_CURRENT
    hdr[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    hdr[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
    hdr[20..24].copy_from_slice(&1u32.to_le_bytes());
    hdr[40..48].copy_from_slice(&shoff.to_le_bytes());
    hdr[52..54].copy_from_slice(&64u16.to_le_bytes());
    hdr[58..60].copy_from_slice(&64u16.to_le_bytes());
    hdr[60..62].copy_from_slice(&(all.len() as u16 + 1).to_le_bytes());
    hdr[62..64].copy_from_slice(&(all.len() as u16).to_le_bytes());
    out
}

/// `r0 = 0; exit`.
pub fn prog_bytes() -> Vec<u8> {
    let mut v = vec![0xb7, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&[0x95, 0, 0, 0, 0, 0, 0, 0]);
    v
}

/// `st_info` of a global function symbol.
pub const GLOBAL_FUNC: u8 = 0x12;
/// `st_info` of a global object symbol.
pub const GLOBAL_OBJECT: u8 = 0x11;

/// A `socket` program (`r0 = 0; exit`, symbol `prog`) and a `.bss` claiming `bss` bytes.
pub fn with_bss(bss: u64) -> Vec<u8> {
    let bss = Sec { name: ".bss", ty: SHT_NOBITS, flags: 3, data: Vec::new(), size: Some(bss) };
    object(vec![sec("socket", SHT_PROGBITS, 6, prog_bytes()), bss], &[("prog", GLOBAL_FUNC, 1, 0, 16)])
}
