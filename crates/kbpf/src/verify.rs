//! Verification of a [`Module`]: the facts beside the instructions (maps, license) become
//! verifier options.

use kbpf_verifier::{MapDef, MapKind, VerifyOptions, VerifyOutcome};

use crate::source::Module;

/// `bpf_map_type` numbers of the map kinds the verifier models.
const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;

/// Verifies `module` with `opts`, adding the module's maps (by index, as the ELF loader numbers
/// them) and its license.
pub fn verify_module(module: &Module, mut opts: VerifyOptions) -> VerifyOutcome {
    for (i, m) in module.maps.iter().enumerate() {
        let kind = match m.map_type {
            BPF_MAP_TYPE_ARRAY => MapKind::Array,
            BPF_MAP_TYPE_HASH => MapKind::Hash,
            // Other map types are verified with hash-map rules until the verifier models them.
            _ => MapKind::Hash,
        };
        opts.maps.push(MapDef {
            fd: i as i32,
            name: m.name.clone(),
            kind,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
        });
    }
    if let Some(l) = &module.license {
        opts.gpl =
            ["GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"]
                .contains(&l.as_str());
    }
    kbpf_verifier::verify(&module.program.to_slots(), &opts)
}
