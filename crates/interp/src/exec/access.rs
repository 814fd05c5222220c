//! Memory behind the run loop: sized reads and writes over the program's regions and the
//! caller's extra regions or host maps ([`Both`]), atomics, and legacy packet loads.

use super::*;

/// Sized access to some set of regions.
pub(super) trait Access {
    fn read_sized(&self, addr: u64, size: u8) -> Option<u64>;
    fn write_sized(&mut self, addr: u64, size: u8, v: u64) -> Option<()>;
}

impl Access for Mem<'_> {
    fn read_sized(&self, addr: u64, size: u8) -> Option<u64> {
        Mem::read_sized(self, addr, size)
    }
    fn write_sized(&mut self, addr: u64, size: u8, v: u64) -> Option<()> {
        Mem::write_sized(self, addr, size, v)
    }
}

/// The input buffer and stacks, then the caller's extra regions, then the environment's memory
/// (map values).
pub(crate) struct Both<'m, 'a, 'x, 'y, 'e> {
    pub(crate) mem: &'m mut Mem<'a>,
    pub(crate) extra: &'x mut [&'y mut [u8]],
    pub(crate) env: Option<&'e dyn HostEnv>,
}

impl Access for Both<'_, '_, '_, '_, '_> {
    fn read_sized(&self, addr: u64, size: u8) -> Option<u64> {
        self.mem
            .read_sized(addr, size)
            .or_else(|| read_extra(self.extra, addr, size))
            .or_else(|| self.env?.load(addr, size))
    }
    fn write_sized(&mut self, addr: u64, size: u8, v: u64) -> Option<()> {
        self.mem
            .write_sized(addr, size, v)
            .or_else(|| write_extra(self.extra, addr, size, v))
            .or_else(|| self.env?.store(addr, size, v))
    }
}

impl Both<'_, '_, '_, '_, '_> {
    /// Little-endian load of `size` bytes at `addr` (1, 2, 4 or 8), checked.
    pub(crate) fn load(&self, addr: u64, size: u8) -> Option<u64> {
        self.read_sized(addr, size)
    }

    /// `len` bytes at `addr`, every one bounds-checked.
    pub(crate) fn bytes(&self, addr: u64, len: u32) -> Option<Vec<u8>> {
        (0..len as u64).map(|i| self.read_sized(addr.wrapping_add(i), 1).map(|b| b as u8)).collect()
    }
}

/// Performs the faulting access at op `cur` against all regions, or reports it.
#[cold]
#[inline(never)]
pub(super) fn retry_in_extra(
    vm: &Vm,
    cur: usize,
    r: &mut Regs,
    m: &mut Both<'_, '_, '_, '_, '_>,
) -> Result<(), InterpError> {
    let Some(op) = vm.ops.get(cur) else {
        return Err(InterpError::FellOffEnd { pc: vm.pc_of(cur) });
    };
    // (size, sign-extending, load) of plain loads and stores.
    let (size, signed, load) = match op.k {
        K::Ldx8 => (1, false, true),
        K::Ldx16 => (2, false, true),
        K::Ldx32 => (4, false, true),
        K::Ldx64 => (8, false, true),
        K::Ldxs8 => (1, true, true),
        K::Ldxs16 => (2, true, true),
        K::Ldxs32 => (4, true, true),
        K::St8 | K::Stx8 => (1, false, false),
        K::St16 | K::Stx16 => (2, false, false),
        K::St32 | K::Stx32 => (4, false, false),
        K::St64 | K::Stx64 => (8, false, false),
        _ => {
            let base = if op.imm == load_acquire_index() { r[s(op)] } else { r[d(op)] };
            return atomic(m, r, op).ok_or_else(|| mem_err(vm, cur, addr(base, op), op.aux));
        }
    };
    if load {
        let a = addr(r[s(op)], op);
        let v = m.read_sized(a, size).ok_or_else(|| mem_err(vm, cur, a, size))?;
        let shift = 64 - 8 * size as u32;
        r[d(op)] = if signed { (((v << shift) as i64) >> shift) as u64 } else { v };
    } else {
        let a = addr(r[d(op)], op);
        let v = if matches!(op.k, K::St8 | K::St16 | K::St32 | K::St64) { op.imm } else { r[s(op)] };
        m.write_sized(a, size, v).ok_or_else(|| mem_err(vm, cur, a, size))?;
    }
    Ok(())
}

fn load_acquire_index() -> u64 {
    AtomicOp::ALL.iter().position(|&o| o == AtomicOp::LoadAcquire).unwrap_or(0) as u64
}

/// Atomic operations. The interpreter is single-threaded, so a plain read-modify-write is atomic.
/// Fetched values of 32-bit forms are zero-extended. `None` on a bad address.
#[inline(never)]
pub(super) fn atomic(mem: &mut impl Access, r: &mut Regs, op: &Op) -> Option<()> {
    let (di, si, size) = (d(op), s(op), op.aux);
    let aop = *AtomicOp::ALL.get(op.imm as usize)?;
    let mask = if size >= 8 { u64::MAX } else { (1u64 << (size as u32 * 8)) - 1 };
    if aop == AtomicOp::LoadAcquire {
        r[di] = mem.read_sized(addr(r[si], op), size)?;
        return Some(());
    }
    let a = addr(r[di], op);
    if aop == AtomicOp::StoreRelease {
        return mem.write_sized(a, size, r[si]);
    }
    let old = mem.read_sized(a, size)?;
    let v = r[si];
    let new = match aop {
        AtomicOp::Add | AtomicOp::FetchAdd => old.wrapping_add(v),
        AtomicOp::Or | AtomicOp::FetchOr => old | v,
        AtomicOp::And | AtomicOp::FetchAnd => old & v,
        AtomicOp::Xor | AtomicOp::FetchXor => old ^ v,
        AtomicOp::Xchg => v,
        AtomicOp::Cmpxchg => {
            if old == r[0] & mask {
                v
            } else {
                old
            }
        }
        AtomicOp::LoadAcquire | AtomicOp::StoreRelease => return None,
    };
    mem.write_sized(a, size, new & mask)?;
    match aop {
        AtomicOp::Cmpxchg => r[0] = old,
        _ if aop.fetches() => r[si] = old,
        _ => {}
    }
    Some(())
}

/// `SKF_NET_OFF` and `SKF_LL_OFF`: negative `LD_ABS`/`LD_IND` offsets from these on count from
/// the skb's network and link-layer headers.
const SKF_NET_OFF: i32 = -0x10_0000;
const SKF_LL_OFF: i32 = -0x20_0000;

/// What `LD_ABS`/`LD_IND` read: `len` bytes at `data` of `region` (offsets 0 and up), and for
/// an skb the offsets in `region` of its link-layer and network headers (negative offsets; a
/// header outside the region reads nothing); every load ends by `data + len` (the skb's tail).
#[derive(Clone, Copy)]
pub(super) struct LdAbsView<'a> {
    pub(super) region: &'a [u8],
    pub(super) data: usize,
    pub(super) len: usize,
    pub(super) mac: Option<usize>,
    pub(super) net: Option<usize>,
}

impl<'a> LdAbsView<'a> {
    /// The whole of `p`, without headers.
    pub(super) fn plain(p: &'a [u8]) -> LdAbsView<'a> {
        LdAbsView { region: p, data: 0, len: p.len(), mac: None, net: None }
    }

    /// The view a test run's skb context describes now (helpers may have moved its packet): its
    /// host pointers at `at` of `ctx`, inside `region`; `None` when the packet is not (then
    /// every load fails), as the JITs' `RunCtx::ld_abs_addr`.
    pub(super) fn of_ctx(ctx: &[u8], at: usize, region: &'a [u8]) -> Option<LdAbsView<'a>> {
        let rd = |k: usize| Some(u64::from_le_bytes(*ctx.get(at + 8 * k..)?.first_chunk::<8>()?));
        let base = region.as_ptr() as u64;
        let off = |a: u64| a.checked_sub(base).map(|o| o as usize).filter(|&o| o <= region.len());
        let (data, end) = (off(rd(0)?)?, off(rd(1)?)?);
        // the link-layer and network header pointers follow the five packet pointers
        let (mac, net) = (rd(5).and_then(off), rd(6).and_then(off));
        Some(LdAbsView { region, data, len: end.checked_sub(data)?, mac, net })
    }
}

/// Legacy `LD_ABS`/`LD_IND`: big-endian load at a 32-bit signed offset, as the kernel's
/// `bpf_skb_load_helper_*`: from `data` for offsets 0 and up, from the headers at
/// `SKF_NET_OFF`/`SKF_LL_OFF` on, never past the tail.
#[inline(never)]
pub(super) fn packet_load(v: LdAbsView<'_>, r: &Regs, op: &Op) -> Option<u64> {
    let base = if op.k == K::LdInd { r[s(op)] as u32 as i32 } else { 0 };
    let k = base.wrapping_add(op.imm as i32);
    let size = op.aux as usize;
    let start = match k {
        0.. => v.data.checked_add(k as usize)?,
        SKF_NET_OFF.. => v.net? + (k - SKF_NET_OFF) as usize,
        SKF_LL_OFF.. => v.mac? + (k - SKF_LL_OFF) as usize,
        _ => return None,
    };
    if start.checked_add(size)? > v.data + v.len {
        return None;
    }
    fn at<const N: usize>(p: &[u8], off: usize) -> Option<[u8; N]> {
        p.get(off..)?.first_chunk::<N>().copied()
    }
    Some(match size {
        1 => u8::from_be_bytes(at(v.region, start)?) as u64,
        2 => u16::from_be_bytes(at(v.region, start)?) as u64,
        _ => u32::from_be_bytes(at(v.region, start)?) as u64,
    })
}
