//! Per-instruction facts the walk leaves behind (`struct bpf_insn_aux_data`): which pointer
//! type each load and store goes through (`save_aux_ptr_type`, which also refuses one
//! instruction serving a context on one path and other memory on another), and which
//! instructions some path reached. The facade's context conversion and dead-code reports read
//! them from [`crate::VerifyOutcome::insn_aux`].

use crate::domain::state::PTR_UNTRUSTED;
use crate::domain::state::RegType;
use crate::env::Aux;
use crate::messages::Reject;
use kbpf_isa::SlotIdx;

/// What the verifier learned about one instruction slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsnAux {
    /// The load or store accesses the program context (to be rewritten for the run-time
    /// context layout, like the kernel's `convert_ctx_accesses`).
    pub ctx_access: bool,
    /// Some non-speculative path reached the instruction (`aux->seen`).
    pub seen: bool,
    /// The map a helper call was verified with (`aux->map_ptr_state`).
    pub map: CallMap,
    /// The load or store goes through a packet pointer (`data` or `data_meta`); a store that
    /// does is a direct packet write (`env->seen_direct_write`).
    pub packet_access: bool,
    /// The load or store goes through a socket pointer (`PTR_TO_SOCKET`, `PTR_TO_SOCK_COMMON`:
    /// `struct bpf_sock`, or `PTR_TO_TCP_SOCK`), which `convert_ctx_accesses` rewrites too.
    pub sock: Option<SockPtr>,
    /// What `fixup_kfunc_call` hands an allocation or graph kfunc call (`obj_new_size`,
    /// `kptr_struct_meta`, `insert_off`).
    pub kfunc: Option<KfuncFix>,
    /// A `bpf_loop` call every visit found fit for inlining (`loop_inline_state`: zero flags,
    /// one callback): the slot where its callback starts.
    pub loop_inline: Option<usize>,
}

/// The verifier's facts `fixup_kfunc_call` turns into extra argument registers of the
/// allocation kfuncs (`bpf_obj_new_impl`, `bpf_obj_drop_impl`, `bpf_refcount_acquire_impl`,
/// their per-CPU forms) and the graph insertions (`bpf_list_push_*_impl`, `bpf_rbtree_add_impl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KfuncFix {
    /// `obj_new_size`: bytes of the type an allocation makes.
    pub obj_size: u32,
    /// `kptr_struct_meta` is not NULL: the object's type has special fields.
    pub meta: bool,
    /// `insert_off`: the node's offset in the inserted object.
    pub insert_off: u32,
}

/// The socket structures a load may read, each converted onto the kernel's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockPtr {
    /// `struct bpf_sock` (full or common part).
    Sock,
    /// `struct bpf_tcp_sock`.
    TcpSock,
    /// `struct bpf_xdp_sock`.
    XdpSock,
}

/// The map a helper call that takes one was verified with: the kernel's fixups rewrite the
/// call for that map's type (inlined lookups, direct calls to the map's operations) unless
/// two paths brought different maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallMap {
    /// No map argument (or the call was not reached).
    #[default]
    None,
    /// Always this map (an index into `VerifyOptions::maps`).
    One(u32),
    /// Different maps on different paths (`BPF_MAP_PTR_POISON`).
    Poisoned,
}

/// Pointer types whose accesses the kernel rewrites or guards per type, so one instruction may
/// not serve two of them (`reg_type_mismatch_ok` is false for these).
fn rewritten_per_type(t: RegType) -> bool {
    matches!(
        t,
        RegType::Ctx
            | RegType::Sock
            | RegType::SockCommon
            | RegType::TcpSock
            | RegType::XdpSock
            | RegType::BtfId
    )
}

/// `is_ptr_to_mem_or_btf_id`.
fn mem_or_btf(t: RegType) -> bool {
    matches!(t, RegType::Mem | RegType::BtfId)
}

impl Aux {
    /// `save_aux_ptr_type`: remembers the pointer type (base and flags, as the kernel compares
    /// whole types) of the memory access at `slot`. A load (`allow_trust_mismatch`) that sees
    /// memory and BTF pointers of different kinds becomes an untrusted BTF access instead.
    pub(crate) fn save_ptr_type(
        &mut self,
        slot: SlotIdx,
        ty: RegType,
        flags: u16,
        allow_trust_mismatch: bool,
    ) -> Result<(), Reject> {
        let Some(prev) = self.ptr_type_mut(slot) else { return Ok(()) };
        let Some((pt, pf)) = *prev else {
            *prev = Some((ty, flags));
            return Ok(());
        };
        let mismatch = (pt, pf) != (ty, flags) && (rewritten_per_type(pt) || rewritten_per_type(ty));
        if mismatch {
            if allow_trust_mismatch && mem_or_btf(pt) && mem_or_btf(ty) {
                *prev = Some((RegType::BtfId, PTR_UNTRUSTED));
            } else {
                return Err(Reject::DifferentPointers);
            }
        }
        Ok(())
    }
}

/// The side table handed to the caller.
/// The facts of every slot; `sub_starts` gives each subprogram's first slot (a `bpf_loop`
/// call's callback is known by its subprogram).
pub(crate) fn insn_aux(aux: &Aux, sub_starts: &[usize]) -> Vec<InsnAux> {
    (0..aux.len())
        .map(SlotIdx::new)
        .map(|s| InsnAux {
            ctx_access: aux.ptr_type(s) == Some(RegType::Ctx),
            seen: aux.seen(s),
            map: aux.call_map(s),
            packet_access: matches!(aux.ptr_type(s), Some(RegType::Packet | RegType::PacketMeta)),
            sock: match aux.ptr_type(s) {
                Some(RegType::Sock | RegType::SockCommon) => Some(SockPtr::Sock),
                Some(RegType::TcpSock) => Some(SockPtr::TcpSock),
                Some(RegType::XdpSock) => Some(SockPtr::XdpSock),
                _ => None,
            },
            kfunc: aux.kfunc_fix(s),
            loop_inline: aux
                .loop_inline
                .get(&s.index())
                .filter(|l| l.fit)
                .and_then(|l| sub_starts.get(l.sub).copied()),
        })
        .collect()
}
