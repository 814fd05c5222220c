//! The one map a generated program may address: an array of one [`MAP_VALUE_BYTES`]-byte
//! element, map index 0 of its `ld_imm64` map references. The verifier is told about it
//! ([`defs`]); the interpreter gets the value as a region of the harness's own memory, so
//! the references are rewritten into that region's address ([`bind`]); the kernel comparison
//! creates a real array map.

use kbpf_isa::{Insn, LdImm64Src, Program};
use kbpf_verifier::{MapDef, MapKind};

pub use crate::generate::MAP_VALUE_BYTES;

/// Whether the program refers to a map.
pub fn uses_map(insns: &[Insn]) -> bool {
    insns.iter().any(|i| matches!(i, Insn::LdImm64 { src: LdImm64Src::MapFd | LdImm64Src::MapValue, .. }))
}

/// The verifier's view of the map (none when the program refers to no map).
pub fn defs(prog: &Program) -> Vec<MapDef> {
    if !uses_map(prog.insns()) {
        return Vec::new();
    }
    vec![MapDef {
        fd: 0,
        name: "values".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: MAP_VALUE_BYTES,
        max_entries: 1,
        ..MapDef::default()
    }]
}

/// The program with its map-value references turned into the address of `value` (plus their
/// offset), as the kernel's fixup does for a real map; the instruction layout is unchanged.
pub fn bind(insns: &[Insn], value: u64) -> Vec<Insn> {
    insns
        .iter()
        .map(|&i| match i {
            Insn::LdImm64 { dst, src: LdImm64Src::MapValue, imm_hi, .. } => {
                let a = value.wrapping_add(imm_hi as u32 as u64);
                Insn::LdImm64 {
                    dst,
                    src: LdImm64Src::Imm,
                    imm: a as u32 as i32,
                    imm_hi: (a >> 32) as u32 as i32,
                }
            }
            other => other,
        })
        .collect()
}
