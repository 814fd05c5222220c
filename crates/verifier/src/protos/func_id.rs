//! The kernel's helper ids (`enum bpf_func_id`) as an enum, the key of the helper prototype
//! table: [`kbpf_isa::BpfFunc`], whose one table holds every id, variant and name.

pub use kbpf_isa::BpfFunc;
