//! BPF timers: the `struct bpf_timer` fields of map values and their helpers
//! (`bpf_timer_init` 169, `bpf_timer_set_callback` 170, `bpf_timer_start` 171,
//! `bpf_timer_cancel` 172) with the kernel's return codes.
//!
//! A timer is identified by the host address of its 16-byte field (the value's BTF offset,
//! [`MapSpec::timer_off`](kbpf_isa::MapSpec)); its state (callback, armed or not) lives beside
//! the map, never in the value bytes, so user space sees the field as zeros like the kernel's
//! `copy_map_value` shows it. Updating or deleting an element frees its timer
//! (`bpf_obj_free_fields`).
//!
//! Time is virtual: the run's clock starts at 0 and only moves when a timer fires, to that
//! timer's expiry. [`MapSet::next_due_timer`] hands out armed timers in expiry order (ties in
//! start order); the engine runs the callback with (map, key, value) and asks again, so a
//! callback that re-arms its timer makes it fire again later.
//!
//! The interpreter reaches timers through [`HostEnv::timer_helper`](super::HostEnv), JIT code
//! through the natives, which find the run's maps via [`MapSet::activate`].

use std::cell::Cell;
use std::marker::PhantomData;

use kbpf_isa::BpfFunc;

use super::{Kind, Map, MapSet};
use crate::native::NativeFn;
use crate::proto::{ArgKind, ArgProto, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

/// `BPF_FUNC_timer_init` (a pattern-usable id).
pub const TIMER_INIT: i32 = BpfFunc::TimerInit as i32;
/// `BPF_FUNC_timer_set_callback`.
pub const TIMER_SET_CALLBACK: i32 = BpfFunc::TimerSetCallback as i32;
/// `BPF_FUNC_timer_start`.
pub const TIMER_START: i32 = BpfFunc::TimerStart as i32;
/// `BPF_FUNC_timer_cancel`.
pub const TIMER_CANCEL: i32 = BpfFunc::TimerCancel as i32;
/// Bytes of `struct bpf_timer`.
pub const TIMER_SIZE: u32 = 16;

/// `BPF_F_TIMER_ABS`: the expiry is absolute.
const BPF_F_TIMER_ABS: u64 = 1;
/// `BPF_F_TIMER_CPU_PIN`: accepted (kbpf has one CPU).
const BPF_F_TIMER_CPU_PIN: u64 = 2;
/// `MAX_CLOCKS`, and the clocks `bpf_timer_init` accepts: REALTIME, MONOTONIC, BOOTTIME.
const MAX_CLOCKS: u64 = 16;
const CLOCKS: [u64; 3] = [0, 1, 7];

const EINVAL: u64 = -22i64 as u64;
const EBUSY: u64 = -16i64 as u64;
const EDEADLK: u64 = -35i64 as u64;

/// One initialized timer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerState {
    /// What `bpf_timer_set_callback` stored (the value the program's `ld_imm64` of the
    /// callback produced); 0 = none yet.
    callback: u64,
    /// Armed: (expiry in virtual ns, start sequence number).
    armed: Option<(u64, u64)>,
}

/// The run-wide timer clock.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    now: Cell<u64>,
    seq: Cell<u64>,
    /// The timer whose callback runs now (`bpf_timer_cancel` on it is `-EDEADLK`).
    running: Cell<Option<u64>>,
}

/// A timer whose time has come: the engine calls `callback(map, key, value)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    /// The callback as the program stored it.
    pub callback: u64,
    /// Host address of the map (R1).
    pub map: u64,
    /// The element's key bytes (R2 points to a copy).
    pub key: Vec<u8>,
    /// Host address of the element's value (R3).
    pub value: u64,
    /// Host address of the `struct bpf_timer` field.
    pub timer: u64,
    /// Virtual time of the firing (ns).
    pub at: u64,
}

impl Map {
    /// The element slot whose timer field is at `addr`, if it is one.
    pub(super) fn timer_slot(&self, addr: u64) -> Option<usize> {
        let off = self.spec.timer_off? as u64;
        let rel = addr.checked_sub(self.values.addr())?;
        let (slot, within) = ((rel / self.stride as u64) as usize, rel % self.stride as u64);
        if within != off || slot >= self.spec.max_entries as usize {
            return None;
        }
        match self.kind {
            Kind::Array => Some(slot),
            Kind::Hash { .. } => self.index.borrow().key_of.get(slot)?.as_ref().map(|_| slot),
            _ => None,
        }
    }

    /// Key bytes of element `slot`.
    fn slot_key(&self, slot: usize) -> Vec<u8> {
        match self.kind {
            Kind::Hash { .. } => self.index.borrow().key_of[slot].clone().unwrap_or_default(),
            _ => (slot as u32).to_le_bytes().to_vec(),
        }
    }

    /// `bpf_obj_free_fields` for element `slot`: its timer is cancelled and uninitialized.
    pub(crate) fn free_timer(&self, slot: usize) {
        if let Some(off) = self.spec.timer_off {
            let addr = self.values.addr() + (slot * self.stride) as u64 + off as u64;
            self.timers.borrow_mut().remove(&addr);
        }
    }

    /// Zeroes the timer field in a value copy handed to user space.
    pub(crate) fn hide_timer(&self, value: &mut [u8]) {
        if let Some(off) = self.spec.timer_off {
            let (a, b) = (off as usize, (off + TIMER_SIZE) as usize);
            if let Some(field) = value.get_mut(a..b.min(value.len())) {
                field.fill(0);
            }
        }
    }
}

impl MapSet {
    /// Runs timer helper `id` with `args` (r1..r3); `None` when r1 is not the timer field of an
    /// element of these maps (the verifier rules that out).
    pub fn timer_helper(&self, id: i32, args: [u64; 3]) -> Option<u64> {
        let [timer, a2, a3] = args;
        let map = self.iter().find(|m| m.timer_slot(timer).is_some())?;
        let mut timers = map.timers.borrow_mut();
        let clock = &self.clock;
        Some(match id {
            TIMER_INIT => {
                let clockid = a3 & (MAX_CLOCKS - 1);
                if a3 >= MAX_CLOCKS || !CLOCKS.contains(&clockid) {
                    return Some(EINVAL);
                }
                if timers.contains_key(&timer) {
                    return Some(EBUSY);
                }
                let _ = a2; // the map; the verifier tied it to the timer's
                timers.insert(timer, TimerState::default());
                0
            }
            TIMER_SET_CALLBACK => match timers.get_mut(&timer) {
                Some(t) => {
                    t.callback = a2;
                    0
                }
                None => EINVAL,
            },
            TIMER_START => {
                if a3 & !(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN) != 0 {
                    return Some(EINVAL);
                }
                match timers.get_mut(&timer) {
                    Some(t) if t.callback != 0 => {
                        let expiry =
                            if a3 & BPF_F_TIMER_ABS != 0 { a2 } else { clock.now.get().saturating_add(a2) };
                        clock.seq.set(clock.seq.get() + 1);
                        t.armed = Some((expiry, clock.seq.get()));
                        0
                    }
                    _ => EINVAL,
                }
            }
            TIMER_CANCEL => match timers.get_mut(&timer) {
                None => EINVAL,
                Some(_) if clock.running.get() == Some(timer) => EDEADLK,
                // the callback goes with the cancel (`drop_prog_refcnt`): a restart needs a new
                // bpf_timer_set_callback
                Some(t) => {
                    t.callback = 0;
                    u64::from(t.armed.take().is_some())
                }
            },
            _ => EINVAL,
        })
    }

    /// Takes the next armed timer (earliest expiry, then earliest start), disarms it and moves
    /// the virtual clock to its expiry.
    pub fn next_due_timer(&self) -> Option<DueTimer> {
        let mut best: Option<(u64, u64, &Map, u64)> = None;
        for m in self.iter() {
            for (&addr, t) in m.timers.borrow().iter() {
                if let Some((exp, seq)) = t.armed
                    && best.is_none_or(|(e, s, _, _)| (exp, seq) < (e, s))
                {
                    best = Some((exp, seq, m, addr));
                }
            }
        }
        let (exp, _, m, timer) = best?;
        let slot = m.timer_slot(timer)?;
        let callback = {
            let mut timers = m.timers.borrow_mut();
            let t = timers.get_mut(&timer)?;
            t.armed = None;
            t.callback
        };
        self.clock.now.set(self.clock.now.get().max(exp));
        Some(DueTimer {
            callback,
            map: m.addr(),
            key: m.slot_key(slot),
            value: m.values.addr() + (slot * m.stride) as u64,
            timer,
            at: self.clock.now.get(),
        })
    }

    /// Marks the timer whose callback runs now (`None` when it returned).
    pub fn set_running_timer(&self, timer: Option<u64>) {
        self.clock.running.set(timer);
    }

    /// Makes these maps the ones the timer natives (JIT code) act on, on this thread, until
    /// the guard drops.
    pub fn activate(&self) -> ActiveMaps<'_> {
        let prev = ACTIVE.with(|a| a.replace(self as *const MapSet));
        ActiveMaps { prev, _set: PhantomData }
    }
}

thread_local! {
    /// The maps of the run in progress on this thread (see [`MapSet::activate`]).
    static ACTIVE: Cell<*const MapSet> = const { Cell::new(std::ptr::null()) };
}

/// Guard of [`MapSet::activate`]: restores the previously active maps when dropped.
#[derive(Debug)]
pub struct ActiveMaps<'a> {
    prev: *const MapSet,
    _set: PhantomData<&'a MapSet>,
}

impl Drop for ActiveMaps<'_> {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.prev));
    }
}

/// `f` on the maps active on this thread, if any.
pub(super) fn with_active_set<R>(f: impl FnOnce(&MapSet) -> R) -> Option<R> {
    let p = ACTIVE.with(Cell::get);
    #[allow(unsafe_code)]
    // SAFETY: `p` is null or was set by `MapSet::activate`, whose guard borrows the set and
    // resets the pointer when dropped, so a non-null pointer refers to a live `MapSet`; it is
    // only used through `&` (its mutable state is in cells).
    let set = unsafe { p.as_ref() };
    set.map(f)
}

/// Runs a timer helper against the active maps; `-EINVAL` without any.
fn with_active(id: i32, args: [u64; 3]) -> u64 {
    with_active_set(|s| s.timer_helper(id, args)).flatten().unwrap_or(EINVAL)
}

extern "C" fn timer_init(timer: u64, map: u64, flags: u64) -> u64 {
    with_active(TIMER_INIT, [timer, map, flags])
}

extern "C" fn timer_set_callback(timer: u64, callback: u64) -> u64 {
    with_active(TIMER_SET_CALLBACK, [timer, callback, 0])
}

extern "C" fn timer_start(timer: u64, nsecs: u64, flags: u64) -> u64 {
    with_active(TIMER_START, [timer, nsecs, flags])
}

extern "C" fn timer_cancel(timer: u64) -> u64 {
    with_active(TIMER_CANCEL, [timer, 0, 0])
}

/// Registers the natives of helpers 169..172 (they look the timer up among the active maps and
/// dereference nothing the program gave them).
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let timer = || arg("timer", ArgKind::Timer);
    let scalar = ArgProto::scalar;
    let entries = [
        (
            BpfFunc::TimerInit,
            vec![timer(), arg("map", ArgKind::Map), scalar("flags")],
            NativeFn::A3(timer_init),
        ),
        (
            BpfFunc::TimerSetCallback,
            vec![timer(), arg("callback_fn", ArgKind::Callback)],
            NativeFn::A2(timer_set_callback),
        ),
        (BpfFunc::TimerStart, vec![timer(), scalar("nsecs"), scalar("flags")], NativeFn::A3(timer_start)),
        (BpfFunc::TimerCancel, vec![timer()], NativeFn::A1(timer_cancel)),
    ];
    for (func, args, f) in entries {
        let proto = Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
        r.register(FuncKind::Helper, func.id(), func.name(), proto, Some(f))?;
    }
    Ok(())
}
