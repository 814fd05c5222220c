//! Map types whose elements only kernel objects could fill (devices, CPUs' kthreads, AF_XDP
//! sockets, sockets, cgroups, local storage of sockets and tasks, a user-space ring producer), which kbpf creates
//! empty, and cgroup storage, one value per run as the kernel's test run allocates it; with the
//! helpers that act on them: `bpf_redirect_map` 51, `bpf_get_local_storage` 81,
//! `bpf_user_ringbuf_drain` 209, and the value locks `bpf_spin_lock` 93 / `bpf_spin_unlock` 94.
//!
//! An empty map answers as the kernel's empty map does: program lookups find nothing,
//! `bpf_redirect_map` returns the fallback action in its flags, a user ring buffer has no
//! sample. Filling one from the host is refused (kbpf has no device or socket to put there);
//! helpers that would need the kernel object (socket storage) have no native, so a program
//! that calls them is "cannot run", never a guess.

use kbpf_isa::{BpfFunc as F, MapType};

use super::{Kind, Map, MapError};
use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

/// The kinds kbpf creates empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Empty {
    /// `DEVMAP` 14, `DEVMAP_HASH` 25: net devices; broadcast redirects are allowed.
    Devices,
    /// `CPUMAP` 16, `XSKMAP` 17: CPUs' kthreads, AF_XDP sockets.
    Redirect,
    /// Maps a program reaches only through helpers kbpf has no native for (so a program that
    /// calls one cannot run): `CGROUP_ARRAY` 8 (`bpf_skb_under_cgroup`), `REUSEPORT_SOCKARRAY`
    /// 20 (`bpf_sk_select_reuseport`), and the local storages `INODE_STORAGE` 28,
    /// `TASK_STORAGE` 29, `CGRP_STORAGE` 32 (`SK_STORAGE` 24 is `sk_storage`'s).
    HelperOnly,
    /// `USER_RINGBUF` 31: nothing produced.
    UserRingbuf,
    /// `SOCKMAP` 15, `SOCKHASH` 18: sockets. A program's lookup finds none and its delete
    /// fails as the kernel's on an empty slot; a program that may insert one is refused before
    /// it runs (`kbpf::create_maps`).
    Sockets,
}

/// Whether maps of this type hold sockets (`SOCKMAP`, `SOCKHASH`).
pub fn holds_sockets(t: MapType) -> bool {
    matches!(t, MapType::Other(15 | 18))
}

/// The kind of a map type this module handles, if it does: an empty kind, or cgroup storage
/// (`CGROUP_STORAGE` 19, `PERCPU_CGROUP_STORAGE` 21).
pub(super) fn kind_of(spec: &kbpf_isa::MapSpec) -> Result<Option<Kind>, MapError> {
    let MapType::Other(n) = spec.map_type else { return Ok(None) };
    let bad = |m: &str| Err(MapError::Invalid(format!("map `{}`: {m}", spec.name)));
    let kind = match n {
        14 | 25 => Kind::Empty(Empty::Devices),
        16 | 17 => Kind::Empty(Empty::Redirect),
        8 | 20 | 28 | 29 | 32 => Kind::Empty(Empty::HelperOnly),
        24 => super::sk_storage::kind_of(spec)?,
        15 | 18 => Kind::Empty(Empty::Sockets),
        31 => {
            if spec.key_size != 0 || spec.value_size != 0 || !spec.max_entries.is_power_of_two() {
                return bad("a user ring buffer has key and value size 0 and a power-of-two size");
            }
            Kind::Empty(Empty::UserRingbuf)
        }
        19 | 21 => {
            if spec.max_entries != 0 || !matches!(spec.key_size, 8 | 16) || spec.value_size == 0 {
                return bad(&format!(
                    "cgroup storage has max_entries 0, an 8 or 16-byte key and a value, not {}, {}, {}",
                    spec.max_entries, spec.key_size, spec.value_size
                ));
            }
            Kind::CgroupStorage
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

impl Map {
    fn empty_kind(&self) -> Option<Empty> {
        match self.kind {
            Kind::Empty(e) => Some(e),
            _ => None,
        }
    }

    /// Why the host cannot put an element in this map, if it is one kbpf keeps empty.
    pub(super) fn refuse_update(&self) -> Option<MapError> {
        let what = match self.empty_kind()? {
            Empty::Devices => "a network device",
            Empty::Redirect => "a CPU's kthread or an AF_XDP socket",
            Empty::HelperOnly => "a socket, inode, task or cgroup",
            Empty::UserRingbuf => "a user-space producer",
            Empty::Sockets => "a socket",
        };
        Some(MapError::Invalid(format!(
            "map `{}`: an element needs {what}, which kbpf does not have",
            self.spec.name
        )))
    }

    /// `bpf_redirect_map(map, key, flags)` on an XDP redirect map (`__bpf_xdp_redirect_map`):
    /// unknown flags abort; the lookup finds nothing (kbpf's are empty), so the result is the
    /// action in the flags' low bits, or `XDP_REDIRECT` for a device map's broadcast.
    pub fn redirect_map(&self, _key: u64, flags: u64) -> u64 {
        const ACTIONS: u64 = 3; // XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX
        const BROADCAST: u64 = 1 << 3;
        const EXCLUDE_INGRESS: u64 = 1 << 4;
        const XDP_ABORTED: u64 = 0;
        const XDP_REDIRECT: u64 = 4;
        let flag_mask = match self.empty_kind() {
            Some(Empty::Devices) => BROADCAST | EXCLUDE_INGRESS,
            Some(Empty::Redirect) => 0,
            Some(Empty::HelperOnly | Empty::UserRingbuf | Empty::Sockets) | None => return XDP_ABORTED,
        };
        if flags & !(ACTIONS | flag_mask) != 0 {
            return XDP_ABORTED;
        }
        if flags & BROADCAST != 0 { XDP_REDIRECT } else { flags & ACTIONS }
    }

    /// `bpf_get_local_storage(map, flags)`: the run's cgroup storage value, 0 for another map.
    pub fn local_storage_addr(&self) -> u64 {
        if matches!(self.kind, Kind::CgroupStorage) { self.values.addr() } else { 0 }
    }

    /// `bpf_user_ringbuf_drain(map, callback, ctx, flags)` on an empty user ring buffer:
    /// `-EINVAL` for flags other than the wakeup ones, else no sample (0).
    pub fn user_ringbuf_drain(&self, flags: u64) -> u64 {
        const EINVAL: u64 = -22i64 as u64;
        if self.empty_kind() != Some(Empty::UserRingbuf) || flags & !3 != 0 { EINVAL } else { 0 }
    }
}

/// Turns `r1` back into the map.
///
/// # Safety
/// `addr` is the address of a [`Map`] that outlives `'a`.
#[allow(unsafe_code)]
unsafe fn map_of<'a>(addr: u64) -> Option<&'a Map> {
    // SAFETY: the caller's contract; `Map` is only used through `&` (its state is in cells).
    unsafe { (addr as *const Map).as_ref() }
}

// Contract of the three: `map` is a map of the run (nothing else is dereferenced).
#[allow(unsafe_code)]
unsafe extern "C" fn redirect_map(map: u64, key: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { map_of(map) }.map_or(0, |m| m.redirect_map(key, flags))
}

#[allow(unsafe_code)]
unsafe extern "C" fn get_local_storage(map: u64, _flags: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { map_of(map) }.map_or(0, Map::local_storage_addr)
}

#[allow(unsafe_code)]
unsafe extern "C" fn user_ringbuf_drain(map: u64, _callback: u64, _ctx: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { map_of(map) }.map_or(-22i64 as u64, |m| m.user_ringbuf_drain(flags))
}

/// `bpf_spin_lock` / `bpf_spin_unlock`: kbpf runs a program on one thread and the verifier
/// proves every lock is released before the program ends, so no other holder can exist; the
/// lock word is left as it is (user space never sees it: the kernel zeroes it in copies).
extern "C" fn spin_lock_noop(_lock: u64) -> u64 {
    0
}

static MAP_V: [NativeArg; 3] = [NativeArg::Map, NativeArg::V, NativeArg::V];
static MAP_1: [NativeArg; 2] = [NativeArg::Map, NativeArg::V];
static DRAIN: [NativeArg; 4] = [NativeArg::Map, NativeArg::V, NativeArg::V, NativeArg::V];

/// Registers the helpers of this module.
pub(super) fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let proto = |args: Vec<ArgProto>, ret: RetKind| Proto { args, ret: Some(ret), ..Proto::default() };
    let s = ArgProto::scalar;
    // SAFETY (the three `with_contract`s): each native dereferences only its map argument, a
    // `Map` of the run: exactly its contract.
    #[allow(unsafe_code)]
    let (redirect, storage, drain) = unsafe {
        (
            NativeFn::with_contract(RawNative::A3(redirect_map), &MAP_V),
            NativeFn::with_contract(RawNative::A2(get_local_storage), &MAP_1),
            NativeFn::with_contract(RawNative::A4(user_ringbuf_drain), &DRAIN),
        )
    };
    let entries = [
        (
            F::RedirectMap,
            proto(vec![arg("map", ArgKind::Map), s("key"), s("flags")], RetKind::Scalar),
            redirect,
        ),
        (F::GetLocalStorage, proto(vec![arg("map", ArgKind::Map), s("flags")], RetKind::MapValue), storage),
        (
            F::UserRingbufDrain,
            proto(
                // the callback is never called (the ring is empty), so it is a plain value here
                vec![arg("map", ArgKind::Map), s("callback_fn"), s("callback_ctx"), s("flags")],
                RetKind::Scalar,
            ),
            drain,
        ),
        (F::SpinLock, proto(vec![s("lock")], RetKind::Void), Some(NativeFn::A1(spin_lock_noop))),
        (F::SpinUnlock, proto(vec![s("lock")], RetKind::Void), Some(NativeFn::A1(spin_lock_noop))),
    ];
    for (f, p, native) in entries {
        let native = native.expect("one contract entry per parameter");
        r.register(FuncKind::Helper, f.id(), f.name(), p, Some(native))?;
    }
    Ok(())
}
