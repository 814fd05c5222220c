//! The verifier log: buffer with rewind (level 1 keeps only the failing path), register and
//! stack printing exactly like the kernel's `print_verifier_state`, and the instruction-line
//! annotation rules (`print_insn_state`); [`line_info`]: the source-line comments.

pub mod line_info;

use crate::MapDef;
use crate::domain::state::{
    FuncState, IterState, MAYBE_NULL, MEM_PERCPU, MEM_RCU, MEM_USER, PTR_TRUSTED, PTR_UNTRUSTED, RDONLY,
    RINGBUF, RegState, RegType, SLOT, SlotType, StackObj, VerifierState,
};
use kbpf_elf::btf::Btf;
use kbpf_isa::disasm::Resolver;
use kbpf_isa::{Insn, SlotTable};

/// Log level bit: basic.
pub const LEVEL1: u32 = 1;
/// Log level bit: verbose.
pub const LEVEL2: u32 = 2;
/// Log level bit: statistics.
pub const STATS: u32 = 4;

/// The log buffer and the bookkeeping of the instruction-line annotations.
#[derive(Debug, Default)]
pub struct Log {
    /// Requested level bits.
    pub level: u32,
    /// Text so far.
    pub buf: String,
    /// Position after the last instruction line (0 = none).
    pub prev_log_pos: usize,
    /// Length of the last instruction line.
    pub prev_insn_print_pos: usize,
    /// Registers touched since the last state print (current frame).
    pub scratched_regs: u32,
    /// Stack slots touched since the last state print.
    pub scratched_stack: u64,
    /// Longest the log has been (the kernel's `log_true_size`).
    pub max_len: usize,
    /// The line_info record printed last (`prev_linfo`).
    pub prev_linfo: Option<usize>,
    /// The target BTF, which names the types of BTF pointers in register states.
    pub btf: Option<std::sync::Arc<Btf>>,
    /// The program's BTF, for the types of allocated objects.
    pub prog_btf: Option<std::sync::Arc<Btf>>,
}

impl Log {
    /// Any of levels 1 or 2.
    pub fn on(&self) -> bool {
        self.level & (LEVEL1 | LEVEL2) != 0
    }

    /// Level 2.
    pub fn verbose2(&self) -> bool {
        self.level & LEVEL2 != 0
    }

    /// Appends text when logging is on.
    pub fn put(&mut self, s: &str) {
        if self.level != 0 {
            self.buf.push_str(s);
        }
    }

    /// Rewinds to `pos` (level 1 drops abandoned paths).
    pub fn reset(&mut self, pos: usize) {
        self.max_len = self.max_len.max(self.buf.len());
        if pos <= self.buf.len() {
            self.buf.truncate(pos);
        }
    }

    /// Marks register `r` as touched.
    pub fn scratch_reg(&mut self, r: usize) {
        self.scratched_regs |= 1 << r;
    }

    /// Marks stack slot `spi` as touched.
    pub fn scratch_stack(&mut self, spi: usize) {
        if spi < 64 {
            self.scratched_stack |= 1 << spi;
        }
    }

    /// Marks everything touched.
    pub fn scratch_all(&mut self) {
        self.scratched_regs = u32::MAX;
        self.scratched_stack = u64::MAX;
    }

    /// Clears the touched sets.
    pub fn clean(&mut self) {
        self.scratched_regs = 0;
        self.scratched_stack = 0;
    }

    /// Whether anything was touched.
    pub fn scratched(&self) -> bool {
        self.scratched_regs != 0 || self.scratched_stack != 0
    }

    /// `print_insn_state`: the `; R0=...` annotation on the instruction line, or a `N:` state
    /// line when something else was printed in between.
    pub fn print_insn_state(&mut self, st: &VerifierState, insn_idx: usize, maps: &[MapDef]) {
        if !self.on() {
            return;
        }
        if self.prev_log_pos != 0 && self.prev_log_pos == self.buf.len() {
            self.buf.truncate(self.prev_log_pos - 1);
            let pad = vlog_alignment(self.prev_insn_print_pos);
            self.buf.push_str(&" ".repeat(pad));
            self.buf.push(';');
        } else {
            self.buf.push_str(&format!("{insn_idx}:"));
        }
        self.print_state(st, st.curframe(), false, maps);
    }

    /// `print_verifier_state` for one frame; `all` = every register, else the touched ones.
    pub fn print_state(&mut self, st: &VerifierState, frameno: usize, all: bool, maps: &[MapDef]) {
        let Some(f) = st.frames.get(frameno) else { return };
        let names = Names { maps, btf: self.btf.as_deref(), prog_btf: self.prog_btf.as_deref() };
        let text = format_func_state(f, st, all, self.scratched_regs, self.scratched_stack, names);
        self.buf.push_str(&text);
        if !all {
            self.clean();
        }
    }
}

/// One slot's text as the log prints it, without the index (`(b7) r0 = 42`): the ISA's kernel
/// printer, with kfuncs named from their prototypes (the kernel names them from BTF) and every
/// `ld_imm64` as its raw 64-bit value (kbpf has no kernel addresses for maps; the privileged
/// log prints the address held there in the same `0x` form).
pub fn insn_text(table: &SlotTable<'_>, idx: usize, kfuncs: &crate::KfuncTable) -> String {
    kbpf_isa::disasm::format_table_slot(table, idx, &LogNames(kfuncs))
}

/// The log's hooks into the ISA printer.
struct LogNames<'a>(&'a crate::KfuncTable);

impl Resolver for LogNames<'_> {
    fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
        self.0.get(btf_id).map(|k| k.name.clone())
    }

    fn ld_imm64(&self, insn: &Insn) -> Option<String> {
        match *insn {
            Insn::LdImm64 { imm, imm_hi, .. } => Some(format!("{:#x}", Insn::imm64(imm, imm_hi))),
            _ => None,
        }
    }
}

/// Padding before the `;` of an annotation; `pos` is the instruction line's length including
/// its newline.
pub fn vlog_alignment(pos: usize) -> usize {
    (pos + 4).max(40).div_ceil(8) * 8 - pos - 1
}

/// `reg_type_str`.
pub fn reg_type_str(ty: RegType, flags: u16) -> String {
    let base = match ty {
        RegType::NotInit => "?",
        RegType::Scalar => "scalar",
        RegType::Ctx => "ctx",
        RegType::ConstMapPtr => "map_ptr",
        RegType::MapValue => "map_value",
        RegType::MapKey => "map_key",
        RegType::Stack => "fp",
        RegType::PacketMeta => "pkt_meta",
        RegType::Packet => "pkt",
        RegType::PacketEnd => "pkt_end",
        RegType::Mem => "mem",
        RegType::Func => "func",
        RegType::Sock => "sock",
        RegType::SockCommon => "sock_common",
        RegType::TcpSock => "tcp_sock",
        RegType::XdpSock => "xdp_sock",
        RegType::FlowKeys => "flow_keys",
        RegType::BtfId => "ptr_",
        RegType::TpBuffer => "tp_buffer",
        RegType::ConstDynptr => "dynptr_ptr",
    };
    let mut s = String::new();
    for (flag, prefix) in [
        (RDONLY, "rdonly_"),
        (RINGBUF, "ringbuf_"),
        (MEM_USER, "user_"),
        (MEM_PERCPU, "percpu_"),
        (MEM_RCU, "rcu_"),
        (PTR_UNTRUSTED, "untrusted_"),
        (PTR_TRUSTED, "trusted_"),
    ] {
        if flags & flag != 0 {
            s.push_str(prefix);
        }
    }
    s.push_str(base);
    if flags & MAYBE_NULL != 0 {
        // the BTF type name follows a BTF pointer's type
        s.push_str(if ty == RegType::BtfId { "or_null_" } else { "_or_null" });
    }
    s
}

/// What register printing looks names up in: the maps (`map=`), the target BTF (the type of
/// a BTF pointer).
#[derive(Clone, Copy, Default)]
pub struct Names<'a> {
    /// The program's maps.
    pub maps: &'a [MapDef],
    /// The target BTF.
    pub btf: Option<&'a Btf>,
    /// The program's BTF (allocated objects' types).
    pub prog_btf: Option<&'a Btf>,
}

/// `btf_type_name`: the name of BTF type `id` (empty when unknown or anonymous).
pub fn btf_type_name(btf: Option<&Btf>, id: u32) -> String {
    btf.and_then(|b| b.get(id)).map_or(String::new(), |t| t.name().to_string())
}

fn snum(v: i64) -> String {
    if (-(1 << 15)..(1 << 15)).contains(&v) { v.to_string() } else { format!("{:#x}", v as u64) }
}

fn unum(v: u64) -> String {
    if v <= u16::MAX as u64 { v.to_string() } else { format!("{v:#x}") }
}

fn is_snum_decimal(v: i64) -> bool {
    (-(1 << 15)..(1 << 15)).contains(&v)
}

fn scalar_ranges(r: &RegState, out: &mut Vec<String>) {
    struct M {
        name: &'static str,
        val: u64,
        omit: bool,
    }
    let s32v = |v: i32| if is_snum_decimal(v as i64) { v as i64 as u64 } else { v as u32 as u64 };
    let mut m = [
        M { name: "smin", val: r.b64.smin as u64, omit: r.b64.smin == i64::MIN },
        M { name: "smax", val: r.b64.smax as u64, omit: r.b64.smax == i64::MAX },
        M { name: "umin", val: r.b64.umin, omit: r.b64.umin == 0 },
        M { name: "umax", val: r.b64.umax, omit: r.b64.umax == u64::MAX },
        M { name: "smin32", val: s32v(r.b32.smin), omit: r.b32.smin == i32::MIN },
        M { name: "smax32", val: s32v(r.b32.smax), omit: r.b32.smax == i32::MAX },
        M { name: "umin32", val: r.b32.umin as u64, omit: r.b32.umin == 0 },
        M { name: "umax32", val: r.b32.umax as u64, omit: r.b32.umax == u32::MAX },
    ];
    for i in 0..m.len() {
        if m[i].omit {
            continue;
        }
        let neg1 = m[i].name.starts_with('s') && (m[i].val as i64) < 0;
        let mut s = format!("{}=", m[i].name);
        let mut j = i + 2;
        while j < m.len() {
            if !m[j].omit && m[j].val == m[i].val {
                let neg2 = m[j].name.starts_with('s') && (m[j].val as i64) < 0;
                if neg2 == neg1 {
                    m[j].omit = true;
                    s.push_str(&format!("{}=", m[j].name));
                }
            }
            j += 2;
        }
        if m[i].name.starts_with('s') {
            s.push_str(&snum(m[i].val as i64));
        } else {
            s.push_str(&unum(m[i].val));
        }
        out.push(s);
    }
}

/// `print_reg_state` for one register; `frameno` is the frame being printed.
pub fn format_reg(r: &RegState, frameno: u32, maps: &[MapDef]) -> String {
    format_reg_in(r, frameno, Names { maps, btf: None, prog_btf: None })
}

/// `print_reg_state` for one register, BTF pointer types named from `names.btf`.
pub fn format_reg_in(r: &RegState, frameno: u32, names: Names<'_>) -> String {
    let maps = names.maps;
    let mut s = String::new();
    if r.ty == RegType::Scalar && r.precise {
        s.push('P');
    }
    if r.ty == RegType::Scalar && r.var_off.is_const() {
        s.push_str(&snum(r.var_off.value as i64));
        return s;
    }
    s.push_str(&reg_type_str(r.ty, r.flags));
    if r.ty == RegType::BtfId {
        // allocated objects are typed by the program's BTF
        let btf = if r.flags & crate::domain::state::MEM_ALLOC != 0 { names.prog_btf } else { names.btf };
        s.push_str(&btf_type_name(btf, r.btf_id));
    }
    if r.ty == RegType::Stack {
        if frameno != r.frameno {
            s.push_str(&format!("[{}]", r.frameno));
        }
        if r.var_off.is_const() {
            s.push_str(&snum((r.var_off.value as i64).wrapping_add(r.off as i64)));
            return s;
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if r.id != 0 {
        let mut p = format!("id={}", r.id & !crate::ADD_CONST);
        if r.id & crate::ADD_CONST != 0 {
            p.push_str(&format!("{:+}", r.off));
        }
        parts.push(p);
    }
    if r.ref_obj_id != 0 {
        parts.push(format!("ref_obj_id={}", r.ref_obj_id));
    }
    use crate::domain::state::{MEM_ALLOC, NON_OWN_REF};
    if r.ty == RegType::BtfId && r.flags & (MEM_ALLOC | NON_OWN_REF) == MEM_ALLOC | NON_OWN_REF {
        parts.push("non_own_ref".into());
    }
    if matches!(r.ty, RegType::ConstMapPtr | RegType::MapValue | RegType::MapKey)
        && let Some(m) = maps.get(r.map as usize)
    {
        if !m.name.is_empty() {
            parts.push(format!("map={}", m.name));
        }
        parts.push(format!("ks={},vs={}", m.key_size, m.value_size));
    }
    if r.ty != RegType::Scalar && r.off != 0 {
        parts.push(format!("off={}", snum(r.off as i64)));
    }
    if matches!(r.ty, RegType::Packet | RegType::PacketMeta) {
        parts.push(format!("r={}", unum(r.range as i64 as u64)));
    }
    if r.ty == RegType::Mem {
        parts.push(format!("sz={}", r.mem_size));
    }
    if let (RegType::ConstDynptr, StackObj::Dynptr { ty, .. }) = (r.ty, &r.obj) {
        parts.push(format!("type={}", ty.as_str()));
    }
    if r.var_off.is_const() {
        if r.var_off.value != 0 {
            parts.push(format!("imm={:x}", r.var_off.value));
        }
    } else {
        scalar_ranges(r, &mut parts);
        if !r.var_off.is_unknown() {
            parts.push(format!("var_off={}", r.var_off));
        }
    }
    s.push('(');
    s.push_str(&parts.join(","));
    s.push(')');
    s
}

/// A dynptr or iterator slot: `dynptr_skb(id=1,dynptr_id=1)`,
/// `iter_num(ref_id=1,state=active,depth=0)`; empty for an iterator's non-first slots.
fn format_special(r: &RegState) -> Option<String> {
    match &r.obj {
        StackObj::None => None,
        StackObj::Dynptr { ty, .. } => {
            let mut parts = Vec::new();
            if r.id != 0 {
                parts.push(format!("id={}", r.id));
            }
            if r.ref_obj_id != 0 {
                parts.push(format!("ref_id={}", r.ref_obj_id));
            }
            // the kernel prints `dynptr_id`, which shares storage with `dynptr.first_slot`:
            // always 1 on the printed (first) slot
            parts.push("dynptr_id=1".to_string());
            Some(format!("dynptr_{}({})", ty.as_str(), parts.join(",")))
        }
        StackObj::Iter { name, state, depth } => {
            if r.ref_obj_id == 0 {
                return Some(String::new());
            }
            let st = match state {
                IterState::Active => "active",
                IterState::Drained => "drained",
            };
            Some(format!("iter_{name}(ref_id={},state={st},depth={depth})", r.ref_obj_id))
        }
    }
}

/// One frame's state line body (leading spaces included, newline at the end).
pub fn format_func_state(
    f: &FuncState,
    st: &VerifierState,
    all: bool,
    regs_mask: u32,
    stack_mask: u64,
    names: Names<'_>,
) -> String {
    let mut s = String::new();
    if f.frameno != 0 {
        s.push_str(&format!(" frame{}:", f.frameno));
    }
    for (i, r) in f.regs.iter().enumerate() {
        if r.ty == RegType::NotInit {
            continue;
        }
        if !all && regs_mask & (1 << i) == 0 {
            continue;
        }
        s.push_str(&format!(" R{i}={}", format_reg_in(r, f.frameno, names)));
    }
    let mut i = 0;
    while i < f.stack.len() {
        let mut slot = &f.stack[i];
        i += 1;
        if !all && (i > 64 || stack_mask & (1 << (i - 1)) == 0) {
            continue;
        }
        if slot.types.iter().all(|t| *t == SlotType::Invalid) {
            continue;
        }
        let mut off = -(i as i64) * SLOT as i64;
        if slot.types[SLOT - 1] == SlotType::Dynptr {
            // skip to the dynptr's first slot
            i += 1;
            off -= SLOT as i64;
            let Some(first) = f.stack.get(i - 1) else { break };
            slot = first;
        }
        if let Some(text) = format_special(&slot.spilled).filter(|_| slot.is_special()) {
            if !text.is_empty() {
                s.push_str(&format!(" fp{off}={text}"));
            }
            continue;
        }
        if slot.types[SLOT - 1] == SlotType::Spill {
            let n = slot.types.iter().position(|t| *t == SlotType::Spill).unwrap_or(SLOT);
            let prefix: String = slot.types[..n].iter().map(|t| t.ch()).collect();
            s.push_str(&format!(" fp{off}={prefix}{}", format_reg_in(&slot.spilled, f.frameno, names)));
        } else {
            let t: String = slot.types.iter().map(|t| t.ch()).collect();
            s.push_str(&format!(" fp{off}={t}"));
        }
    }
    // the kernel lists the nonzero ids, and none when the first is 0 (a lock taken through
    // a pointer without id)
    if st.refs.first().is_some_and(|r| r.id != 0) {
        let ids: Vec<String> = st.refs.iter().filter(|r| r.id != 0).map(|r| r.id.to_string()).collect();
        s.push_str(&format!(" refs={}", ids.join(",")));
    }
    if f.in_callback_fn {
        s.push_str(" cb");
    }
    if f.in_async_callback_fn {
        s.push_str(" async_cb");
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tnum::Tnum;

    #[test]
    fn alignment() {
        // `0: (b7) r0 = 42` is 15 chars: the ';' lands at column 38.
        let line = "0: (b7) r0 = 42";
        assert_eq!(line.len() + vlog_alignment(line.len() + 1), 38);
        let long = "5: (85) call bpf_map_lookup_elem#1";
        assert_eq!(long.len() + vlog_alignment(long.len() + 1), 38);
        let longer = "1: (18) r1 = 0xffff8881af9d3400000123";
        assert_eq!(longer.len() + vlog_alignment(longer.len() + 1), 46);
    }

    #[test]
    fn scalar_printing() {
        let mut r = RegState::unknown_scalar();
        r.b64.umax = 0xffff_ffff;
        r.var_off = Tnum::new(0, 0xffff_ffff);
        r.bounds_sync();
        assert_eq!(format_reg(&r, 0, &[]), "scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
        let mut r = RegState::unknown_scalar();
        r.b64.umax = 10;
        r.bounds_sync();
        assert_eq!(
            format_reg(&r, 0, &[]),
            "scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))"
        );
        assert_eq!(format_reg(&RegState::known(-5i64 as u64), 0, &[]), "-5");
        assert_eq!(format_reg(&RegState::known(0xfbff), 0, &[]), "0xfbff");
        assert_eq!(format_reg(&RegState::unknown_scalar(), 0, &[]), "scalar()");
        let mut r = RegState::unknown_scalar();
        r.b64.umin = 11;
        r.b64.umax = 0xffff_ffff;
        r.bounds_sync();
        assert_eq!(
            format_reg(&r, 0, &[]),
            "scalar(smin=umin=umin32=11,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))"
        );
    }
}
