//! Programs, maps and functions out of a BPF ELF object (libbpf's conventions).

use kbpf_isa::{FuncDecl, RawInsn};
use thiserror::Error;

use crate::btf::{Btf, BtfError, ExtError};
use crate::open::{LoadOptions, open_object};

/// Why an object could not be loaded.
#[derive(Debug, Error)]
pub enum ElfError {
    /// Not an ELF file, or a malformed one.
    #[error("ELF: {0}")]
    Object(#[from] object::Error),
    /// Not a BPF object.
    #[error("ELF: machine is not BPF")]
    NotBpf,
    /// Bad BTF.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// Bad `.BTF.ext`.
    #[error(transparent)]
    Ext(#[from] ExtError),
    /// An extern that cannot be resolved (libbpf's `extern 'NAME' ...` messages).
    #[error("extern '{name}' {what}")]
    Extern {
        /// The extern's name.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// A CO-RE relocation libbpf refuses.
    #[error(transparent)]
    Core(#[from] crate::core::CoreError),
    /// Target BTF is needed (CO-RE relocations) and absent.
    #[error("CO-RE relocations need target BTF, but none is available: {0}; give one with --btf FILE")]
    NeedsTargetBtf(String),
    /// The kernel configuration for `__kconfig` externs.
    #[error(transparent)]
    Kconfig(#[from] crate::kconfig::KconfigError),
    /// A relocation kbpf does not understand.
    #[error("ELF: section {section}: relocation at insn {insn}: {what}")]
    Reloc {
        /// Section name.
        section: String,
        /// Slot index.
        insn: usize,
        /// What is wrong.
        what: String,
    },
    /// A BTF-defined map whose shape is not understood.
    #[error("ELF: map {0}: {1}")]
    Map(String, String),
    /// A map the kernel would refuse to create (E2BIG): sizes beyond its limits.
    #[error("ELF: map {map}: {what}")]
    MapLimit {
        /// Map name.
        map: String,
        /// Which limit.
        what: String,
    },
    /// A section, or a symbol in it, whose size or offset does not fit the file or the
    /// kernel's limits.
    #[error("ELF: section {section}: {what}")]
    Section {
        /// Section name.
        section: String,
        /// What is wrong.
        what: String,
    },
}

/// A map the object defines (BTF `.maps`, legacy `maps`, or a global-data section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// Name (`.rodata` etc. for global data).
    pub name: String,
    /// `bpf_map_type` number (1 hash, 2 array, ...).
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Map flags.
    pub flags: u32,
    /// `numa_node` (BTF-defined maps).
    pub numa_node: u32,
    /// `pinning` (BTF-defined maps).
    pub pinning: u32,
    /// `map_extra` (bloom filter hashes, arena address).
    pub map_extra: u64,
    /// Initial contents of a global-data map (`None` for `.bss`: all zero, never materialised).
    pub data: Option<Vec<u8>>,
    /// Initial slots of a prog array (`values = { [i] = &prog }` in a BTF-defined map): index
    /// and program (function) name.
    pub progs: Vec<(u32, String)>,
    /// Initial slots of a map-in-map (`values = { [i] = &map }`): index and map name.
    pub inner_maps: Vec<(u32, String)>,
    /// The inner map template of a map-in-map (`__array(values, struct {...})`).
    pub inner: Option<Box<MapDef>>,
    /// Byte offset of the value's `struct bpf_timer` (BTF-defined maps, `btf_find_field`).
    pub timer_off: Option<u32>,
    /// The value's BTF type (`btf_value_type_id`): the `value` type of a BTF-defined map, the
    /// `DATASEC` of a global-data map.
    pub value_type_id: Option<u32>,
    /// Loader defaults and `--map` overrides applied to this map, one line each
    /// (`max_entries 0 -> 10240 (default)`).
    pub defaults: Vec<String>,
}

/// One loadable program, linked with the subprograms it calls.
#[derive(Clone, Debug)]
pub struct ElfProgram {
    /// Function symbol name.
    pub name: String,
    /// Section name (`socket`, `xdp`, `tc`, ...), which implies the program type.
    pub section: String,
    /// Linked instruction slots. `ld_imm64` of maps carries `src = 1` (map) or `2` (map value)
    /// and the map's index in [`Object::maps`] as `imm`.
    pub slots: Vec<RawInsn>,
    /// Functions with their argument counts (from BTF), main program first.
    pub funcs: Vec<FuncDecl>,
    /// `.BTF.ext` func_info as the kernel gets it: (slot of the function's first instruction,
    /// `FUNC` type id), sorted by slot.
    pub func_info: Vec<(usize, u32)>,
    /// `.BTF.ext` line_info of the linked program, `insn` relative to its first slot, sorted.
    pub line_info: Vec<crate::btf::LineInfo>,
}

/// A parsed object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Programs in section order.
    pub programs: Vec<ElfProgram>,
    /// Maps, indexed by the `imm` of map references.
    pub maps: Vec<MapDef>,
    /// Contents of the `license` section.
    pub license: String,
    /// The object's BTF, if any.
    pub btf: Option<Btf>,
    /// The `.BTF` section's bytes as a loader hands them to `BPF_BTF_LOAD` (DATASECs sized).
    pub btf_raw: Option<Vec<u8>>,
}

impl Object {
    /// Parses an ELF object with no target kernel (no target BTF, no kernel config, no
    /// kallsyms): [`open_object`] with those options, every entry point linked. A program
    /// that cannot be prepared (attach target, unknown section) is still listed.
    pub fn parse(bytes: &[u8]) -> Result<Object, ElfError> {
        let obj = open_object(bytes, &LoadOptions::offline())?;
        Ok(Object {
            programs: obj
                .programs
                .into_iter()
                .map(|p| ElfProgram {
                    name: p.name,
                    section: p.section,
                    slots: p.insns,
                    funcs: p.funcs,
                    func_info: p.func_info.iter().map(|f| (f.insn as usize, f.type_id)).collect(),
                    line_info: p.line_info,
                })
                .collect(),
            maps: obj.maps,
            license: obj.license,
            btf: obj.btf,
            btf_raw: obj.btf_raw,
        })
    }
}
