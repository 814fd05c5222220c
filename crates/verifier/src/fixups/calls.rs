//! Helper calls in `do_misc_fixups`: the kernel replaces a helper id by the address of the
//! function it runs (`BPF_CALL_IMM`). For the map helpers of a JIT-requested 64-bit program that
//! is the map type's own operation (`ops->map_update_elem`, ...); a lookup the map type inlines
//! (`map_gen_lookup`: array, per-CPU array, hash, xsk map), `bpf_get_smp_processor_id` and (for
//! a JIT) `bpf_kptr_xchg` become instructions; the other helpers the kernel inlines are not
//! modelled yet and say so.

use kbpf_isa::Insn;

use super::layout::{KernelField, KernelLayout};
use super::{FixupError, XInsn};
use crate::env::insn_aux::CallMap;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::{MapKind, ProgType, Verified};

/// What a helper call calls after the fixups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelCall {
    /// The call keeps the helper id (the tail call: the kernel's dump shows
    /// `call bpf_tail_call#12`).
    Helper(BpfFunc),
    /// A kernel function, by its symbol.
    Symbol(&'static str),
}

impl KernelCall {
    /// The name `bpftool` prints for it.
    pub fn name(self) -> &'static str {
        match self {
            KernelCall::Helper(f) => f.name(),
            KernelCall::Symbol(s) => s,
        }
    }
}

/// `BPF_F_INNER_MAP`: an array map with it is not inlined.
const BPF_F_INNER_MAP: u32 = 1 << 12;

/// What a helper call becomes.
pub(super) enum Fixed {
    /// A call of this function.
    Call(KernelCall),
    /// Instructions in its place (`map_gen_lookup`).
    Inline(Vec<XInsn>),
}

/// The call at `pc` (helper `id`, verified with `map`) after `do_misc_fixups`.
pub(super) fn fix_call(
    v: &Verified,
    id: i32,
    map: CallMap,
    layout: &KernelLayout,
    pc: usize,
) -> Result<Fixed, FixupError> {
    if id == F::MapLookupElem.id()
        && let CallMap::One(m) = map
        && let Some(def) = v.maps().get(m as usize)
        && def.flags & BPF_F_INNER_MAP == 0
    {
        match def.kind {
            MapKind::Array => {
                let off = layout
                    .off(KernelField::BpfArrayValue)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                return Ok(Fixed::Inline(array_gen_lookup(off, def.max_entries, def.value_size)));
            }
            MapKind::PercpuArray => {
                let off = layout
                    .off(KernelField::BpfArrayValue)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                return Ok(Fixed::Inline(percpu_array_gen_lookup(off, def.max_entries)));
            }
            MapKind::ArrayOfMaps => {
                let off = layout
                    .off(KernelField::BpfArrayValue)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                return Ok(Fixed::Inline(array_of_maps_gen_lookup(off, def.max_entries)));
            }
            MapKind::HashOfMaps => {
                let off = layout
                    .off(KernelField::HtabElemKey)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                let key = off + def.key_size.div_ceil(8) as i32 * 8;
                return Ok(Fixed::Inline(htab_of_maps_gen_lookup(key)));
            }
            MapKind::XskMap => {
                let off = layout
                    .off(KernelField::XskMapXskMap)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                return Ok(Fixed::Inline(xsk_gen_lookup(off, def.max_entries)));
            }
            MapKind::Hash => {
                let off = layout
                    .off(KernelField::HtabElemKey)
                    .map_err(|field| FixupError::NoLayout { pc, field })?;
                let key = off + def.key_size.div_ceil(8) as i32 * 8;
                return Ok(Fixed::Inline(htab_gen_lookup(key)));
            }
            MapKind::LruHash => {
                let off = |f| layout.off(f).map_err(|field| FixupError::NoLayout { pc, field });
                let key = off(KernelField::HtabElemKey)? + def.key_size.div_ceil(8) as i32 * 8;
                let mark = off(KernelField::HtabElemLruNode)? + off(KernelField::BpfLruNodeRef)?;
                return Ok(Fixed::Inline(htab_lru_gen_lookup(key, mark)));
            }
            _ => {}
        }
    }
    if id == F::GetSmpProcessorId.id() {
        // the CPU number is a per-CPU variable: its per-CPU address, made this CPU's, read
        let var =
            layout.off(KernelField::PercpuCpuNumber).map_err(|field| FixupError::NoLayout { pc, field })?;
        use kbpf_isa::{AluOp, Reg, Size, Src, Width};
        return Ok(Fixed::Inline(vec![
            x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(var) }),
            x(Insn::MovPercpu { dst: Reg::R0, src: Reg::R0 }),
            x(Insn::Load { size: Size::W, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
        ]));
    }
    if id == F::Jiffies64.id() && v.for_jit() {
        // the JIT's program reads the `jiffies` variable (its address a stand-in here)
        use kbpf_isa::{LdImm64Src, Reg, Size};
        let (imm, imm_hi) = KERNEL_ADDRESS;
        return Ok(Fixed::Inline(vec![
            x(Insn::LdImm64 { dst: Reg::R0, src: LdImm64Src::Imm, imm, imm_hi }),
            x(Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
        ]));
    }
    if id == F::KptrXchg.id() && v.for_jit() {
        // both JITs exchange a pointer in one instruction (`bpf_jit_supports_ptr_xchg`)
        use kbpf_isa::{AluOp, AtomicOp, Reg, Size, Src, Width};
        return Ok(Fixed::Inline(vec![
            x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Reg(Reg::R2) }),
            x(Insn::Atomic { size: Size::DW, op: AtomicOp::Xchg, dst: Reg::R1, src: Reg::R0, off: 0 }),
        ]));
    }
    let call = kernel_call(v, id, map, pc)?;
    if id == F::TimerSetCallback.id() {
        // the kernel hands the helper its `prog->aux` in r3: an address kbpf, without a
        // kernel, shows as 0 (xlated-diff normalises it like map addresses)
        use kbpf_isa::{LdImm64Src, Reg};
        return Ok(Fixed::Inline(vec![
            x(Insn::LdImm64 { dst: Reg::R3, src: LdImm64Src::Imm, imm: 0, imm_hi: 0 }),
            XInsn { insn: Insn::Call(kbpf_isa::CallTarget::Helper(id)), origin: None, call: Some(call) },
        ]));
    }
    if matches!(
        BpfFunc::from_id(id),
        Some(F::SkStorageGet | F::InodeStorageGet | F::TaskStorageGet | F::CgrpStorageGet)
    ) {
        // the allocation flags the storage helpers get in r5 (`is_storage_get_function`):
        // Linux 6.18's GFP_KERNEL where the program may sleep, else GFP_ATOMIC (kbpf does
        // not track the locked regions where a sleepable program uses GFP_ATOMIC too)
        const GFP_ATOMIC: i32 = 0x820;
        const GFP_KERNEL: i32 = 0xcc0;
        let gfp = if v.sleepable() { GFP_KERNEL } else { GFP_ATOMIC };
        use kbpf_isa::{AluOp, Reg, Src, Width};
        return Ok(Fixed::Inline(vec![
            x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R5, src: Src::Imm(gfp) }),
            XInsn { insn: Insn::Call(kbpf_isa::CallTarget::Helper(id)), origin: None, call: Some(call) },
        ]));
    }
    Ok(Fixed::Call(call))
}

fn x(insn: Insn) -> XInsn {
    XInsn { insn, origin: None, call: None }
}

/// `array_map_gen_lookup` for a privileged loader (`bypass_spec_v1`: no index masking).
fn array_gen_lookup(value_off: i32, max_entries: u32, value_size: u32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    let elem = value_size.div_ceil(8) * 8;
    let scale = if elem.is_power_of_two() {
        Insn::Alu {
            width: Width::W64,
            op: AluOp::Lsh,
            dst: Reg::R0,
            src: Src::Imm(elem.trailing_zeros() as i32),
        }
    } else {
        Insn::Alu { width: Width::W64, op: AluOp::Mul, dst: Reg::R0, src: Src::Imm(elem as i32) }
    };
    vec![
        x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R1, src: Src::Imm(value_off) }),
        x(Insn::Load { size: Size::W, signed: false, dst: Reg::R0, src: Reg::R2, off: 0 }),
        x(Insn::Jmp {
            width: Width::W64,
            cond: JmpCond::Ge,
            dst: Reg::R0,
            src: Src::Imm(max_entries as i32),
            off: 3,
        }),
        x(scale),
        x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Reg(Reg::R1) }),
        x(Insn::Ja { off: 1 }),
        x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(0) }),
    ]
}

/// `percpu_array_map_gen_lookup` for a privileged loader: the element's per-CPU pointer, made
/// this CPU's, or NULL past the end.
fn percpu_array_gen_lookup(pptrs_off: i32, max_entries: u32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    let alu = |op, dst, src| x(Insn::Alu { width: Width::W64, op, dst, src });
    vec![
        alu(AluOp::Add, Reg::R1, Src::Imm(pptrs_off)),
        x(Insn::Load { size: Size::W, signed: false, dst: Reg::R0, src: Reg::R2, off: 0 }),
        x(Insn::Jmp {
            width: Width::W64,
            cond: JmpCond::Ge,
            dst: Reg::R0,
            src: Src::Imm(max_entries as i32),
            off: 5,
        }),
        alu(AluOp::Lsh, Reg::R0, Src::Imm(3)),
        alu(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
        x(Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
        x(Insn::MovPercpu { dst: Reg::R0, src: Reg::R0 }),
        x(Insn::Ja { off: 1 }),
        alu(AluOp::Mov, Reg::R0, Src::Imm(0)),
    ]
}

/// `array_of_map_gen_lookup` for a privileged loader: the inner map's pointer in the slot
/// (8 bytes each), NULL past the end or for an empty slot.
fn array_of_maps_gen_lookup(value_off: i32, max_entries: u32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    let alu = |op, dst, src| x(Insn::Alu { width: Width::W64, op, dst, src });
    let jmp =
        |cond, imm, off| x(Insn::Jmp { width: Width::W64, cond, dst: Reg::R0, src: Src::Imm(imm), off });
    vec![
        alu(AluOp::Add, Reg::R1, Src::Imm(value_off)),
        x(Insn::Load { size: Size::W, signed: false, dst: Reg::R0, src: Reg::R2, off: 0 }),
        jmp(JmpCond::Ge, max_entries as i32, 5),
        alu(AluOp::Lsh, Reg::R0, Src::Imm(3)),
        alu(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
        x(Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
        jmp(JmpCond::Eq, 0, 1),
        x(Insn::Ja { off: 1 }),
        alu(AluOp::Mov, Reg::R0, Src::Imm(0)),
    ]
}

/// `htab_of_map_gen_lookup`: the lookup function, then the inner map's pointer stored after
/// the key.
fn htab_of_maps_gen_lookup(value_off: i32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    vec![
        XInsn {
            insn: Insn::Call(kbpf_isa::CallTarget::Helper(F::MapLookupElem.id())),
            origin: None,
            call: Some(KernelCall::Symbol("__htab_map_lookup_elem")),
        },
        x(Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: 2 }),
        x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Imm(value_off) }),
        x(Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
    ]
}

/// `xsk_map_gen_lookup`: the socket pointer at the index, or NULL past the end.
fn xsk_gen_lookup(array_off: i32, max_entries: u32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    let alu = |op, dst, src| x(Insn::Alu { width: Width::W64, op, dst, src });
    vec![
        x(Insn::Load { size: Size::W, signed: false, dst: Reg::R0, src: Reg::R2, off: 0 }),
        x(Insn::Jmp {
            width: Width::W32,
            cond: JmpCond::Ge,
            dst: Reg::R0,
            src: Src::Imm(max_entries as i32),
            off: 5,
        }),
        alu(AluOp::Lsh, Reg::R0, Src::Imm(3)),
        alu(AluOp::Add, Reg::R1, Src::Imm(array_off)),
        alu(AluOp::Add, Reg::R0, Src::Reg(Reg::R1)),
        x(Insn::Load { size: Size::DW, signed: false, dst: Reg::R0, src: Reg::R0, off: 0 }),
        x(Insn::Ja { off: 1 }),
        alu(AluOp::Mov, Reg::R0, Src::Imm(0)),
    ]
}

/// `htab_map_gen_lookup`: the lookup function, then the key's end to the value.
fn htab_gen_lookup(value_off: i32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Src, Width};
    vec![
        XInsn {
            insn: Insn::Call(kbpf_isa::CallTarget::Helper(F::MapLookupElem.id())),
            origin: None,
            call: Some(KernelCall::Symbol("__htab_map_lookup_elem")),
        },
        x(Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: 1 }),
        x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Imm(value_off) }),
    ]
}

/// `htab_lru_map_gen_lookup`: the lookup function, the element marked recently used (written
/// only when not yet marked), then the key's end to the value.
fn htab_lru_gen_lookup(value_off: i32, mark_off: i32) -> Vec<XInsn> {
    use kbpf_isa::{AluOp, JmpCond, Reg, Size, Src, Width};
    let mark = mark_off as i16;
    let jmp = |cond, dst, off| x(Insn::Jmp { width: Width::W64, cond, dst, src: Src::Imm(0), off });
    vec![
        XInsn {
            insn: Insn::Call(kbpf_isa::CallTarget::Helper(F::MapLookupElem.id())),
            origin: None,
            call: Some(KernelCall::Symbol("__htab_map_lookup_elem")),
        },
        jmp(JmpCond::Eq, Reg::R0, 4),
        x(Insn::Load { size: Size::B, signed: false, dst: Reg::R1, src: Reg::R0, off: mark }),
        jmp(JmpCond::Ne, Reg::R1, 1),
        x(Insn::Store { size: Size::B, dst: Reg::R0, off: mark, src: Src::Imm(1) }),
        x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Src::Imm(value_off) }),
    ]
}

/// The kernel function the call at `pc` (helper `id`, verified with `map`) ends up calling.
fn kernel_call(v: &Verified, id: i32, map: CallMap, pc: usize) -> Result<KernelCall, FixupError> {
    let f = BpfFunc::from_id(id).ok_or_else(|| FixupError::Bug(format!("insn {pc}: helper {id} unknown")))?;
    let unsupported = |what: String| FixupError::Unsupported { pc, what };
    if f == F::TailCall {
        return Ok(KernelCall::Helper(f));
    }
    if is_map_op(f)
        && let CallMap::One(m) = map
    {
        let def = v.maps().get(m as usize).ok_or_else(|| FixupError::Bug(format!("insn {pc}: map {m}")))?;
        return map_op(f, def.kind, def.flags & BPF_F_INNER_MAP != 0)
            .map(KernelCall::Symbol)
            .ok_or_else(|| unsupported(format!("{} on a {:?} map", f.name(), def.kind)));
    }
    // a `bpf_loop` the kernel does not inline (flags not known zero, several callbacks) stays
    // a call of the helper, as `bpf_kptr_xchg` does for the interpreter
    Ok(KernelCall::Symbol(helper_symbol(f, v.prog_type())))
}

/// The map helpers `do_misc_fixups` turns into direct calls of the map's operations.
fn is_map_op(f: BpfFunc) -> bool {
    matches!(
        f,
        F::MapLookupElem
            | F::MapUpdateElem
            | F::MapDeleteElem
            | F::MapPushElem
            | F::MapPopElem
            | F::MapPeekElem
            | F::RedirectMap
            | F::ForEachMapElem
            | F::MapLookupPercpuElem
    )
}

/// `ops->map_*` of the map types kbpf models; `None` where the kernel inlines the lookup
/// (`map_gen_lookup`) or kbpf does not know the operation.
fn map_op(f: BpfFunc, kind: MapKind, inner: bool) -> Option<&'static str> {
    use MapKind::*;
    Some(match (f, kind) {
        (F::MapLookupElem, Array) if inner => "array_map_lookup_elem",
        (F::MapLookupElem, PercpuArray) if inner => "percpu_array_map_lookup_elem",
        (F::MapUpdateElem, Array | PercpuArray) => "array_map_update_elem",
        (F::MapDeleteElem, Array | PercpuArray) => "array_map_delete_elem",
        (F::MapUpdateElem, Hash) => "htab_map_update_elem",
        (F::MapDeleteElem, Hash | PercpuHash) => "htab_map_delete_elem",
        (F::MapUpdateElem, LruHash) => "htab_lru_map_update_elem",
        (F::MapDeleteElem, LruHash | LruPercpuHash) => "htab_lru_map_delete_elem",
        (F::MapUpdateElem, PercpuHash) => "htab_percpu_map_update_elem",
        (F::MapUpdateElem, LruPercpuHash) => "htab_lru_percpu_map_update_elem",
        (F::ForEachMapElem, Array | PercpuArray) => "bpf_for_each_array_elem",
        (F::ForEachMapElem, Hash | PercpuHash | LruHash | LruPercpuHash) => "bpf_for_each_hash_elem",
        (F::MapLookupPercpuElem, PercpuArray) => "percpu_array_map_lookup_percpu_elem",
        (F::MapLookupPercpuElem, PercpuHash) => "htab_percpu_map_lookup_percpu_elem",
        (F::MapLookupPercpuElem, LruPercpuHash) => "htab_lru_percpu_map_lookup_percpu_elem",
        (F::MapLookupElem, DevMap) => "dev_map_lookup_elem",
        (F::MapUpdateElem, DevMap) => "dev_map_update_elem",
        (F::MapDeleteElem, DevMap) => "dev_map_delete_elem",
        (F::RedirectMap, DevMap) => "dev_map_redirect",
        (F::MapLookupElem, DevMapHash) => "dev_map_hash_lookup_elem",
        (F::MapUpdateElem, DevMapHash) => "dev_map_hash_update_elem",
        (F::MapDeleteElem, DevMapHash) => "dev_map_hash_delete_elem",
        (F::RedirectMap, DevMapHash) => "dev_hash_map_redirect",
        (F::MapLookupElem, CpuMap) => "cpu_map_lookup_elem",
        (F::MapUpdateElem, CpuMap) => "cpu_map_update_elem",
        (F::MapDeleteElem, CpuMap) => "cpu_map_delete_elem",
        (F::RedirectMap, CpuMap) => "cpu_map_redirect",
        (F::MapUpdateElem, XskMap) => "xsk_map_update_elem",
        (F::MapDeleteElem, XskMap) => "xsk_map_delete_elem",
        (F::RedirectMap, XskMap) => "xsk_map_redirect",
        (F::MapLookupElem, SockMap) => "sock_map_lookup",
        (F::MapUpdateElem, SockMap) => "sock_map_update_elem",
        (F::MapDeleteElem, SockMap) => "sock_map_delete_elem",
        (F::MapLookupElem, SockHash) => "sock_hash_lookup",
        (F::MapUpdateElem, SockHash) => "sock_map_update_elem",
        (F::MapDeleteElem, SockHash) => "sock_hash_delete_elem",
        (F::MapLookupElem, LpmTrie) => "trie_lookup_elem",
        (F::MapUpdateElem, LpmTrie) => "trie_update_elem",
        (F::MapDeleteElem, LpmTrie) => "trie_delete_elem",
        (F::MapLookupElem, Queue | Stack) => "queue_stack_map_lookup_elem",
        (F::MapPushElem, Queue | Stack) => "queue_stack_map_push_elem",
        (F::MapPopElem, Queue) => "queue_map_pop_elem",
        (F::MapPeekElem, Queue) => "queue_map_peek_elem",
        (F::MapPopElem, Stack) => "stack_map_pop_elem",
        (F::MapPeekElem, Stack) => "stack_map_peek_elem",
        _ => return None,
    })
}

/// The function behind a helper's prototype: `BPF_CALL_n(bpf_<name>)` by the kernel's
/// convention, with the prototypes a program type replaces by its own (xdp's packet variants)
/// and the helpers whose function is named otherwise.
fn helper_symbol(f: BpfFunc, pt: ProgType) -> &'static str {
    let xdp = pt == ProgType::Xdp;
    let tc = pt == ProgType::SchedCls;
    match f {
        F::GetPrandomU32 => "bpf_user_rnd_u32",
        F::PerfEventOutput if xdp => "bpf_xdp_event_output",
        F::PerfEventOutput if matches!(pt, ProgType::SchedCls | ProgType::SocketFilter) => {
            "bpf_skb_event_output"
        }
        F::Redirect if xdp => "bpf_xdp_redirect",
        F::FibLookup if xdp => "bpf_xdp_fib_lookup",
        F::FibLookup => "bpf_skb_fib_lookup",
        F::SkLookupTcp if xdp => "bpf_xdp_sk_lookup_tcp",
        F::SkLookupUdp if xdp => "bpf_xdp_sk_lookup_udp",
        F::SkcLookupTcp if xdp => "bpf_xdp_skc_lookup_tcp",
        F::SkLookupTcp if tc => "bpf_tc_sk_lookup_tcp",
        F::SkLookupUdp if tc => "bpf_tc_sk_lookup_udp",
        F::SkcLookupTcp if tc => "bpf_tc_skc_lookup_tcp",
        F::CheckMtu if xdp => "bpf_xdp_check_mtu",
        F::CheckMtu => "bpf_skb_check_mtu",
        _ => f.name(),
    }
}

/// Kfuncs `fixup_kfunc_call` rewrites in ways kbpf does not model yet.
pub(super) fn kfunc_rewritten(name: &str) -> bool {
    matches!(
        name,
        "bpf_obj_new_impl"
            | "bpf_percpu_obj_new_impl"
            | "bpf_obj_drop_impl"
            | "bpf_percpu_obj_drop_impl"
            | "bpf_refcount_acquire_impl"
            | "bpf_list_push_front_impl"
            | "bpf_list_push_back_impl"
            | "bpf_rbtree_add_impl"
            | "bpf_cast_to_kern_ctx"
            | "bpf_rdonly_cast"
            | "bpf_session_is_return"
            | "bpf_session_cookie"
            | "bpf_wq_set_callback_impl"
    )
}

/// The stand-in for a kernel address kbpf cannot know (a `btf_struct_meta`): all ones in the
/// upper half, as every kernel address has; xlated-diff normalises the kernel's to it.
pub const KERNEL_ADDRESS: (i32, i32) = (0, -1);

/// `fixup_kfunc_call` for the allocation and graph kfuncs (of vmlinux: `off` 0): the
/// verifier's facts in extra argument registers before `call`. `None` for another kfunc.
pub(super) fn fix_kfunc(
    name: &str,
    fix: Option<crate::KfuncFix>,
    call: Insn,
    pc: usize,
) -> Result<Option<Vec<XInsn>>, FixupError> {
    use kbpf_isa::{AluOp, LdImm64Src, Reg, Src, Width};
    let regs = match name {
        "bpf_obj_new_impl" | "bpf_percpu_obj_new_impl" => (Some(Reg::R1), Reg::R2, None),
        "bpf_obj_drop_impl" | "bpf_percpu_obj_drop_impl" | "bpf_refcount_acquire_impl" => {
            (None, Reg::R2, None)
        }
        "bpf_list_push_front_impl" | "bpf_list_push_back_impl" => (None, Reg::R3, Some(Reg::R4)),
        // the `less` callback comes first
        "bpf_rbtree_add_impl" => (None, Reg::R4, Some(Reg::R5)),
        _ => return Ok(None),
    };
    let fix = fix.ok_or_else(|| FixupError::Bug(format!("insn {pc}: {name} without its verifier facts")))?;
    let mov = |dst, imm: u32| {
        i32::try_from(imm)
            .map(|imm| x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) }))
            .map_err(|_| FixupError::Bug(format!("insn {pc}: {name} immediate {imm}")))
    };
    let (size_reg, meta_reg, off_reg) = regs;
    let mut seq = Vec::new();
    if let Some(r) = size_reg {
        seq.push(mov(r, fix.obj_size)?);
    }
    let (imm, imm_hi) = if fix.meta { KERNEL_ADDRESS } else { (0, 0) };
    seq.push(x(Insn::LdImm64 { dst: meta_reg, src: LdImm64Src::Imm, imm, imm_hi }));
    if let Some(r) = off_reg {
        seq.push(mov(r, fix.insert_off)?);
    }
    seq.push(x(call));
    Ok(Some(seq))
}
