//! The facts `fixup_kfunc_call` needs of an allocation or graph kfunc call, recorded when the
//! call is verified (`insn_aux_data`'s `obj_new_size`, `kptr_struct_meta`, `insert_off`): the
//! fixups hand them to the kfunc in extra argument registers.

use super::alloc::{OBJ_DROP, OBJ_NEW, PERCPU_OBJ_DROP, PERCPU_OBJ_NEW, REFCOUNT_ACQUIRE};
use super::graph::{GraphMeta, is_insert};
use crate::btf::local::struct_meta;
use crate::env::ctx::Call;
use crate::env::insn_aux::KfuncFix;
use crate::protos::func_info::KfuncDecl;
use kbpf_elf::btf::BtfType;

impl Call<'_, '_> {
    /// Records the call at `insn_idx` of `decl` (allocating type `new_type`, or taking an
    /// object of type `arg_type`, into `graph`'s root for an insertion).
    pub(crate) fn record_kfunc_fix(
        &mut self,
        decl: &KfuncDecl,
        new_type: Option<u64>,
        arg_type: Option<u32>,
        graph: &GraphMeta,
        insn_idx: usize,
    ) {
        let name = decl.name.as_str();
        let ty = match name {
            OBJ_NEW | PERCPU_OBJ_NEW => new_type.and_then(|t| u32::try_from(t).ok()),
            OBJ_DROP | PERCPU_OBJ_DROP | REFCOUNT_ACQUIRE => arg_type,
            _ if is_insert(name) => arg_type,
            _ => return,
        };
        let (Some(ty), Some(btf)) = (ty, self.prog.opts.prog_btf.as_deref()) else { return };
        let kernel = self.prog.opts.btf.as_deref();
        let meta = struct_meta(btf, ty, kernel).ok().flatten().is_some();
        let obj_size = match (name, btf.get(ty)) {
            (OBJ_NEW | PERCPU_OBJ_NEW, Some(BtfType::Struct { size, .. })) => *size,
            _ => 0,
        };
        let insert_off = graph.root.as_ref().and_then(|r| r.graph_root.as_ref()).map_or(0, |g| g.node_offset);
        let fix = KfuncFix { obj_size, meta, insert_off: if is_insert(name) { insert_off } else { 0 } };
        self.aux.record_kfunc_fix(kbpf_isa::SlotIdx::new(insn_idx), fix);
    }
}
