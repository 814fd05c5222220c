//! Abstract state: registers, stack slots, frames and whole-path states.

use crate::domain::tnum::Tnum;
use crate::domain::width::Bounds;
use kbpf_isa::SlotIdx;

pub use crate::domain::stack_obj::{DynptrType, IterState, StackObj};

/// Number of registers per frame (r0..r10).
pub const MAX_BPF_REG: usize = 11;
/// Frame pointer register.
pub const FP: usize = 10;
/// Bytes in one stack slot.
pub const SLOT: usize = 8;
/// Largest stack per frame.
pub const MAX_BPF_STACK: i64 = 512;
/// Limit on variable offsets and sizes (`BPF_MAX_VAR_OFF`).
pub const MAX_VAR_OFF: i64 = 1 << 29;

/// Base register types (`enum bpf_reg_type`, low byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegType {
    /// Not readable.
    NotInit,
    /// A number.
    Scalar,
    /// Program context.
    Ctx,
    /// `struct bpf_map *`.
    ConstMapPtr,
    /// Pointer into a map value.
    MapValue,
    /// Pointer into the stack of frame `frameno`.
    Stack,
    /// `data_meta`.
    PacketMeta,
    /// `data`.
    Packet,
    /// `data_end`.
    PacketEnd,
    /// Sized memory (`mem_size`).
    Mem,
    /// Subprogram reference (`PTR_TO_FUNC`, from `ld_imm64` with `BPF_PSEUDO_FUNC`).
    Func,
    /// `PTR_TO_MAP_KEY`: the key of the element an async callback runs for (read-only).
    MapKey,
    /// `PTR_TO_SOCKET` (`struct bpf_sock`, full socket).
    Sock,
    /// `PTR_TO_SOCK_COMMON` (`struct bpf_sock`, common part only).
    SockCommon,
    /// `PTR_TO_TCP_SOCK` (`struct bpf_tcp_sock`).
    TcpSock,
    /// `PTR_TO_XDP_SOCK` (`struct bpf_xdp_sock`): an xskmap lookup's non-NULL result.
    XdpSock,
    /// `PTR_TO_FLOW_KEYS` (`struct bpf_flow_keys` of a flow dissector).
    FlowKeys,
    /// `PTR_TO_BTF_ID`: a kernel object typed by the target BTF id in `RegState::btf_id`.
    BtfId,
    /// `PTR_TO_TP_BUFFER`: a writable tracepoint's buffer (`raw_tp.w` argument 0).
    TpBuffer,
    /// `CONST_PTR_TO_DYNPTR`: a dynptr handed to a callback or a global function (its type in
    /// `obj`, its identity in `id`), which helpers may read through but never change.
    ConstDynptr,
}

/// Type flag: must be NULL-checked.
pub const MAYBE_NULL: u16 = 1;
/// Type flag: read-only memory.
pub const RDONLY: u16 = 2;
/// Type flag: ring buffer memory.
pub const RINGBUF: u16 = 4;
/// Type flag: a slice of an skb or xdp dynptr (`DYNPTR_TYPE_SKB` / `DYNPTR_TYPE_XDP` on
/// `PTR_TO_MEM`): packet memory, invalidated when packet data changes.
pub const DYNPTR_PKT: u16 = 8;
/// Type flag `PTR_TRUSTED`: a BTF pointer the kernel vouches for (helpers and kfuncs that
/// want trusted arguments take it).
pub const PTR_TRUSTED: u16 = 16;
/// Type flag `PTR_UNTRUSTED`: a BTF pointer read through a walk the kernel does not vouch for
/// (loads are still allowed, as probe reads).
pub const PTR_UNTRUSTED: u16 = 32;
/// Type flag `MEM_RCU`: valid inside an RCU read section.
pub const MEM_RCU: u16 = 64;
/// Type flag `MEM_PERCPU`: a per-CPU pointer (`__percpu`), not dereferenceable.
pub const MEM_PERCPU: u16 = 128;
/// Type flag `MEM_USER`: a user pointer (`__user`), not dereferenceable.
pub const MEM_USER: u16 = 256;
/// Type flag `MEM_ALLOC`: an object the program allocated.
pub const MEM_ALLOC: u16 = 512;
/// Type flag `NON_OWN_REF`: an allocated object a graph (list, rbtree) owns; the program may
/// use it while it holds the graph's lock.
pub const NON_OWN_REF: u16 = 1024;
/// The flags that say how far a BTF pointer is trusted (`BPF_REG_TRUSTED_MODIFIERS`).
pub const TRUSTED_MODIFIERS: u16 = PTR_TRUSTED | MEM_ALLOC | NON_OWN_REF;

/// One register (also the payload of a spilled stack slot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegState {
    /// Base type.
    pub ty: RegType,
    /// `MAYBE_NULL` | `RDONLY` | `RINGBUF` | the BTF pointer flags.
    pub flags: u16,
    /// Fixed pointer offset.
    pub off: i32,
    /// Known bits (scalars: the value; pointers: the variable offset).
    pub var_off: Tnum,
    /// 64-bit ranges (`smin_value`..`umax_value`).
    pub b64: Bounds<u64>,
    /// 32-bit subregister ranges (`s32_min_value`..`u32_max_value`).
    pub b32: Bounds<u32>,
    /// NULL-check group, packet range group or linked-scalar group.
    pub id: u32,
    /// Acquired reference this pointer belongs to.
    pub ref_obj_id: u32,
    /// Map index (map pointers and values); for a socket, [`sock_from_map`] of the sockmap
    /// it was looked up in (0: not from a map).
    pub map: u32,
    /// Packet bytes proven accessible past the pointer.
    pub range: i32,
    /// Size of `PTR_TO_MEM` memory.
    pub mem_size: u32,
    /// The dynptr a `PTR_TO_MEM` slice points into (`dynptr_id`): destroying the dynptr
    /// invalidates the slice.
    pub dynptr_id: u32,
    /// Subprogram for `PTR_TO_FUNC`.
    pub subprogno: u32,
    /// Which frame's stack a `PTR_TO_STACK` points into.
    pub frameno: u32,
    /// The target BTF type id of a `PTR_TO_BTF_ID` (a struct, modifiers skipped).
    pub btf_id: u32,
    /// Scalar whose exact range matters for safety.
    pub precise: bool,
    /// What a `STACK_DYNPTR` / `STACK_ITER` slot's register describes (the kernel's
    /// `dynptr` / `iter` union of `bpf_reg_state`); `StackObj::None` everywhere else.
    pub obj: StackObj,
}

impl Default for RegState {
    fn default() -> Self {
        RegState::not_init()
    }
}

impl RegState {
    /// A NOT_INIT register.
    pub fn not_init() -> RegState {
        let mut r = RegState::unknown_scalar();
        r.ty = RegType::NotInit;
        r
    }

    /// An unbounded scalar.
    pub fn unknown_scalar() -> RegState {
        RegState {
            ty: RegType::Scalar,
            flags: 0,
            off: 0,
            var_off: Tnum::UNKNOWN,
            b64: Bounds::UNBOUNDED,
            b32: Bounds::UNBOUNDED,
            id: 0,
            ref_obj_id: 0,
            map: 0,
            range: 0,
            mem_size: 0,
            dynptr_id: 0,
            subprogno: 0,
            frameno: 0,
            btf_id: 0,
            precise: false,
            obj: StackObj::None,
        }
    }

    /// A known scalar.
    pub fn known(v: u64) -> RegState {
        let mut r = RegState::unknown_scalar();
        r.mark_known(v);
        r
    }

    /// A pointer of type `ty` with offset 0 and no variable part.
    pub fn pointer(ty: RegType) -> RegState {
        let mut r = RegState::known(0);
        r.ty = ty;
        r
    }

    /// Unlinks a scalar (`clear_scalar_id`): no id, and no `base + off` offset left behind for
    /// a later fresh id to be mistaken for a link.
    pub fn clear_scalar_id(&mut self) {
        self.id = 0;
        self.off = 0;
    }

    /// Sets every view to the single value `v` and clears ids (`__mark_reg_known`).
    pub fn mark_known(&mut self, v: u64) {
        self.mark_known_value(v);
        self.off = 0;
        self.id = 0;
        self.ref_obj_id = 0;
        self.flags = 0;
        self.range = 0;
        self.map = 0;
        self.mem_size = 0;
        self.dynptr_id = 0;
        self.subprogno = 0;
        self.frameno = 0;
        self.btf_id = 0;
        self.obj = StackObj::None;
    }

    /// Whether this is a scalar with a known value.
    pub fn is_const(&self) -> bool {
        self.ty == RegType::Scalar && self.var_off.is_const()
    }

    /// Whether this is a pointer (anything but scalar and NOT_INIT).
    pub fn is_pointer(&self) -> bool {
        !matches!(self.ty, RegType::Scalar | RegType::NotInit)
    }

    /// Whether this is one of the socket pointers (`type_is_sk_pointer`).
    pub fn is_sk_pointer(&self) -> bool {
        matches!(self.ty, RegType::Sock | RegType::SockCommon | RegType::TcpSock | RegType::XdpSock)
    }

    /// Whether this is a packet pointer (`pkt` or `pkt_meta`).
    pub fn is_pkt_pointer(&self) -> bool {
        matches!(self.ty, RegType::Packet | RegType::PacketMeta)
    }

    /// Whether the 32-bit and 64-bit views all describe one value.
    pub fn is_scalar_const64(&self) -> bool {
        self.var_off.is_const() && self.b64.smin == self.b64.smax && self.b64.umin == self.b64.umax
    }
}

/// Per-byte stack slot types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotType {
    /// Never written.
    Invalid,
    /// Part of a spilled register.
    Spill,
    /// Unknown data.
    Misc,
    /// Known zero.
    Zero,
    /// Part of a dynptr (`STACK_DYNPTR`; always whole slots, two per dynptr).
    Dynptr,
    /// Part of an iterator (`STACK_ITER`; whole slots).
    Iter,
}

impl SlotType {
    /// Log character.
    pub fn ch(self) -> char {
        match self {
            SlotType::Invalid => '?',
            SlotType::Spill => 'r',
            SlotType::Misc => 'm',
            SlotType::Zero => '0',
            SlotType::Dynptr => 'd',
            SlotType::Iter => 'i',
        }
    }
}

/// One 8-byte stack slot. `types[7]` is the byte at the lowest address (kernel layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackSlot {
    /// The spilled register (valid when some byte is `Spill`).
    pub spilled: RegState,
    /// Byte types.
    pub types: [SlotType; SLOT],
}

impl Default for StackSlot {
    fn default() -> Self {
        StackSlot { spilled: RegState::not_init(), types: [SlotType::Invalid; SLOT] }
    }
}

impl StackSlot {
    /// Whether the whole slot (or its low part, for narrow spills) holds a register.
    pub fn is_spill(&self) -> bool {
        self.types[SLOT - 1] == SlotType::Spill
    }
    /// Whether the slot is part of a dynptr or iterator (`is_stack_slot_special`).
    pub fn is_special(&self) -> bool {
        matches!(self.types[0], SlotType::Dynptr | SlotType::Iter)
    }
    /// Whether all 8 bytes are a spill.
    pub fn is_full_spill(&self) -> bool {
        self.types.iter().all(|t| *t == SlotType::Spill)
    }
}

/// A frame's stack slots, shared by the states copied from one another until one of them
/// writes (copy on write): checkpoints and queued branches mostly keep the stack they were
/// copied with, and a 512-byte stack is ~9 KiB of slots, so sharing is what keeps a walk with
/// many thousands of states in memory. Reads see a slice; any mutable access unshares.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Stack(std::rc::Rc<Vec<StackSlot>>);

impl std::ops::Deref for Stack {
    type Target = [StackSlot];
    fn deref(&self) -> &[StackSlot] {
        &self.0
    }
}

impl std::ops::DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut [StackSlot] {
        std::rc::Rc::make_mut(&mut self.0).as_mut_slice()
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Stack {
    /// Grows or shrinks to `slots` slots, new ones `INVALID`.
    pub fn resize(&mut self, slots: usize) {
        std::rc::Rc::make_mut(&mut self.0).resize(slots, StackSlot::default());
    }

    /// Runs `f` on every spilled register (once each, in slot order), unsharing the stack
    /// only when `f` changes one: the walk's sweeps over all registers (NULL checks, linked
    /// scalars) leave most stacks as they were.
    pub fn update_spills(&mut self, mut f: impl FnMut(&mut RegState)) {
        for i in 0..self.0.len() {
            if !self.0[i].is_spill() {
                continue;
            }
            let mut r = self.0[i].spilled.clone();
            f(&mut r);
            if r != self.0[i].spilled {
                std::rc::Rc::make_mut(&mut self.0)[i].spilled = r;
            }
        }
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncState {
    /// r0..r10.
    pub regs: [RegState; MAX_BPF_REG],
    /// Call instruction in the caller (-1 for the main frame).
    pub callsite: i64,
    /// Frame number.
    pub frameno: u32,
    /// Subprogram being executed.
    pub subprogno: usize,
    /// Slot `i` covers `[fp-8(i+1), fp-8i)`.
    pub stack: Stack,
    /// Outgoing stack-argument slots (`stack_arg_regs`): slot `i` is argument `6 + i` of the
    /// next call; unset slots are `NOT_INIT`.
    pub stack_args: Vec<RegState>,
    /// An r11 store or a call happened in this frame: no more incoming loads.
    pub no_stack_arg_load: bool,
    /// `in_async_callback_fn`: frame 0 of an async callback (a timer callback), whose `exit`
    /// must return 0.
    pub in_async_callback_fn: bool,
    /// `async_entry_cnt`: async callbacks nested to reach this frame.
    pub async_entry_cnt: u32,
    /// `in_callback_fn`: a synchronous callback's frame (`bpf_loop`), whose `exit` goes back
    /// to the helper call.
    pub in_callback_fn: bool,
    /// `callback_ret_range`: the range r0 must lie in at the callback's `exit`.
    pub callback_ret_range: (i64, i64),
    /// `callback_depth`: callback iterations pushed from this frame's current call.
    pub callback_depth: u64,
}

impl FuncState {
    /// A fresh frame: all registers NOT_INIT except r10 = fp0.
    pub fn new(callsite: i64, frameno: u32, subprogno: usize) -> FuncState {
        let mut regs: [RegState; MAX_BPF_REG] = Default::default();
        let mut fp = RegState::pointer(RegType::Stack);
        fp.frameno = frameno;
        regs[FP] = fp;
        FuncState {
            regs,
            callsite,
            frameno,
            subprogno,
            stack: Stack::default(),
            stack_args: Vec::new(),
            no_stack_arg_load: false,
            in_async_callback_fn: false,
            async_entry_cnt: 0,
            in_callback_fn: false,
            callback_ret_range: (0, 0),
            callback_depth: 0,
        }
    }

    /// Bytes of stack in use (`allocated_stack`).
    pub fn allocated_stack(&self) -> usize {
        self.stack.len() * SLOT
    }

    /// Grows the stack to cover `bytes`.
    pub fn grow_stack(&mut self, bytes: usize) {
        let slots = bytes.div_ceil(SLOT);
        if slots > self.stack.len() {
            self.stack.resize(slots);
        }
    }
}

/// What a lock protects (`bpf_reference_state::ptr`): one map's values, or the program's
/// allocated objects (the kernel stores the map or the program BTF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockOwner {
    /// Values of the map with this index.
    Map(u32),
    /// Objects of the program's BTF.
    Local,
}

/// `enum ref_state_type`: what an entry of the reference array holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `REF_TYPE_PTR`: an acquired pointer, to release before exit.
    Ptr,
    /// `REF_TYPE_LOCK`: a held `bpf_spin_lock`.
    Lock(LockOwner),
    /// `REF_TYPE_RES_LOCK`: a held `bpf_res_spin_lock`.
    ResLock(LockOwner),
    /// `REF_TYPE_RES_LOCK_IRQ`: a held `bpf_res_spin_lock_irqsave`.
    ResLockIrq(LockOwner),
}

impl RefKind {
    /// `REF_TYPE_LOCK_MASK`: one of the lock kinds.
    pub fn is_lock(self) -> bool {
        !matches!(self, RefKind::Ptr)
    }

    /// The lock's owner, for the lock kinds.
    pub fn owner(self) -> Option<LockOwner> {
        match self {
            RefKind::Ptr => None,
            RefKind::Lock(o) | RefKind::ResLock(o) | RefKind::ResLockIrq(o) => Some(o),
        }
    }
}

/// An acquired reference (`struct bpf_reference_state`): a pointer or a held lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefState {
    /// Reference id (a lock's: the id of the register it was taken through).
    pub id: u32,
    /// Acquiring instruction.
    pub insn: usize,
    /// Pointer or lock.
    pub kind: RefKind,
}

/// One jump-history entry (for precision backtracking).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistEntry {
    /// Instruction slot.
    pub idx: SlotIdx,
    /// Previous instruction slot.
    pub prev_idx: SlotIdx,
    /// Stack access info: (frame, spi) when the insn at `idx` accessed a stack slot.
    pub stack: Option<(u32, u32)>,
    /// Linked scalars refined together at this conditional jump: (frame, is_reg, reg or spi).
    pub linked: [(u8, bool, u8); 6],
    /// Entries used in `linked`.
    pub nlinked: u8,
}

/// A whole path state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierState {
    /// Call frames, innermost last.
    pub frames: Vec<FuncState>,
    /// Acquired references.
    pub refs: Vec<RefState>,
    /// Checkpoint this state descends from (index into the checkpoint arena).
    pub parent: Option<usize>,
    /// Instruction of the state.
    pub insn_idx: SlotIdx,
    /// First instruction since the last checkpoint.
    pub first_insn_idx: SlotIdx,
    /// Last instruction processed.
    pub last_insn_idx: SlotIdx,
    /// Jumps since the last checkpoint.
    pub jmp_history: Vec<HistEntry>,
    /// may_goto nesting depth.
    pub may_goto_depth: u32,
    /// Callback unroll depth.
    pub callback_unroll_depth: u32,
    /// Depth in the DFS.
    pub dfs_depth: u32,
    /// Speculative path.
    pub speculative: bool,
    /// Inside a `bpf_rcu_read_lock` section (`active_rcu_lock`).
    pub active_rcu_lock: bool,
    /// `bpf_preempt_disable` nesting (`active_preempt_locks`).
    pub active_preempt_locks: u32,
    /// Locks held (`active_locks`).
    pub active_locks: u32,
    /// The last taken lock still held (`active_lock_id`, `active_lock_ptr`).
    pub active_lock: Option<(u32, LockOwner)>,
}

impl VerifierState {
    /// A fresh state, zeroed like the kernel's `kzalloc`ed one: `frames`, about to check
    /// `insn_idx`, no references, history or sections.
    pub fn fresh(frames: Vec<FuncState>, insn_idx: SlotIdx) -> VerifierState {
        VerifierState {
            frames,
            refs: Vec::new(),
            parent: None,
            insn_idx,
            first_insn_idx: SlotIdx::new(0),
            last_insn_idx: SlotIdx::new(0),
            jmp_history: Vec::new(),
            may_goto_depth: 0,
            callback_unroll_depth: 0,
            dfs_depth: 0,
            speculative: false,
            active_rcu_lock: false,
            active_preempt_locks: 0,
            active_locks: 0,
            active_lock: None,
        }
    }

    /// Innermost frame.
    pub fn cur(&self) -> &FuncState {
        &self.frames[self.frames.len() - 1]
    }
    /// Innermost frame, mutable.
    pub fn cur_mut(&mut self) -> &mut FuncState {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }
    /// Index of the innermost frame.
    pub fn curframe(&self) -> usize {
        self.frames.len() - 1
    }
}

/// The `map` of a socket looked up in sockmap `m`: never 0, which stands for a socket no map
/// gave (the kernel keeps the map pointer in the register, and pruning compares it).
pub(crate) fn sock_from_map(m: u32) -> u32 {
    m.saturating_add(1)
}
