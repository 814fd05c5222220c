//! What the verifier knows about callees before it checks a call: the kernel's helper enum
//! ([`func_id::BpfFunc`]), helper prototypes (base set and tc's), kfunc declarations indexed by
//! BTF id, subprogram argument counts, and the map-argument rules of helpers.

pub(crate) mod btf_helpers;
pub(crate) mod cgroup_helpers;
pub mod func_id;
pub mod func_info;
pub mod helper_names;
pub(crate) mod helpers;
pub(crate) mod helpers_tc;
pub(crate) mod kfunc_table;
pub mod listing;
pub(crate) mod map_args;
pub(crate) mod net_helpers;
pub(crate) mod trace_helpers;
