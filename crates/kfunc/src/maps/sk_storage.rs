//! Socket local storage (`BPF_MAP_TYPE_SK_STORAGE` 24) on the one socket a kbpf test run has
//! (the kernel's skb test run gives its skb a dummy socket, which it frees with its storage when
//! the run ends): at most one value per map, owned by that socket until the run releases it
//! ([`super::MapSet::release_socket`]). User space reaches no element (its keys are socket
//! fds). The helpers: `bpf_sk_storage_get` 107, `bpf_sk_storage_delete` 108.

use std::cell::Cell;

use kbpf_isa::BpfFunc as F;

use super::{Kind, Map, MapError, MapSet};
use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

/// `BPF_SK_STORAGE_GET_F_CREATE`.
const F_CREATE: u64 = 1;
const EINVAL: u64 = -22i64 as u64;
const ENOENT: u64 = -2i64 as u64;

/// The socket whose value the map holds (0: none).
#[derive(Debug, Default)]
pub(super) struct Owner(Cell<u64>);

/// The kind of an `SK_STORAGE` map, checked as `bpf_local_storage_map_alloc_check` does.
pub(super) fn kind_of(spec: &kbpf_isa::MapSpec) -> Result<Kind, MapError> {
    const NO_PREALLOC: u32 = 1;
    if spec.key_size != 4 || spec.max_entries != 0 || spec.value_size == 0 || spec.flags.0 & NO_PREALLOC == 0
    {
        return Err(MapError::Invalid(format!(
            "map `{}`: socket storage has a 4-byte key, max_entries 0, a value and BPF_F_NO_PREALLOC",
            spec.name
        )));
    }
    Ok(Kind::SkStorage(Owner::default()))
}

impl Map {
    fn owner(&self) -> Option<&Cell<u64>> {
        match &self.kind {
            Kind::SkStorage(Owner(o)) => Some(o),
            _ => None,
        }
    }

    /// Whether the map holds a value now (what a program may reach).
    pub(super) fn sk_storage_live(&self) -> bool {
        self.owner().is_some_and(|o| o.get() != 0)
    }

    /// `bpf_sk_storage_get(map, sk, value, flags)`: the socket's value; with
    /// `BPF_SK_STORAGE_GET_F_CREATE` a new one from `value` (zeros without it). NULL for unknown
    /// flags, and for a second socket (kbpf has one socket per run, the kernel's test run too).
    pub fn sk_storage_get(&self, sk: u64, value: Option<&[u8]>, flags: u64) -> u64 {
        let Some(owner) = self.owner() else { return 0 };
        if sk == 0 || flags > F_CREATE {
            return 0;
        }
        match owner.get() {
            o if o == sk => self.values.addr(),
            0 if flags == F_CREATE => {
                let n = self.spec.value_size as usize;
                self.values.write(0, &vec![0; n]);
                if let Some(v) = value {
                    self.values.write(0, &v[..n.min(v.len())]);
                }
                owner.set(sk);
                self.values.addr()
            }
            _ => 0,
        }
    }

    /// `bpf_sk_storage_delete(map, sk)`: 0, or `-ENOENT` without a value.
    pub fn sk_storage_delete(&self, sk: u64) -> u64 {
        let Some(owner) = self.owner() else { return EINVAL };
        if sk == 0 {
            return EINVAL;
        }
        if owner.get() != sk {
            return ENOENT;
        }
        owner.set(0);
        0
    }

    /// Frees the value socket `sk` owns (the socket is gone).
    pub(super) fn release_socket(&self, sk: u64) {
        if let Some(o) = self.owner().filter(|o| o.get() == sk) {
            o.set(0);
        }
    }
}

impl MapSet {
    /// Frees what socket `sk` owns in the maps (its socket storage): the socket is gone.
    pub fn release_socket(&self, sk: u64) {
        self.iter().for_each(|m| m.release_socket(sk));
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

// Contract: `map` is a map of the run; `value` is 0 or readable for its value size; the socket
// is never dereferenced.
#[allow(unsafe_code)]
unsafe extern "C" fn sk_storage_get(map: u64, sk: u64, value: u64, flags: u64) -> u64 {
    // SAFETY: the contract above.
    let Some(m) = (unsafe { map_of(map) }) else { return 0 };
    let n = m.spec().value_size as usize;
    // SAFETY: the contract above.
    let v = (value != 0).then(|| unsafe { std::slice::from_raw_parts(value as *const u8, n) });
    m.sk_storage_get(sk, v, flags)
}

#[allow(unsafe_code)]
unsafe extern "C" fn sk_storage_delete(map: u64, sk: u64) -> u64 {
    // SAFETY: the contract above.
    unsafe { map_of(map) }.map_or(EINVAL, |m| m.sk_storage_delete(sk))
}

static GET: [NativeArg; 4] =
    [NativeArg::Map, NativeArg::V, NativeArg::MapValue { map: 0, nullable: true }, NativeArg::V];
static DELETE: [NativeArg; 2] = [NativeArg::Map, NativeArg::V];

/// Registers the two helpers.
pub(super) fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind, nullable| ArgProto { name: name.to_string(), kind, nullable };
    let map = || arg("map", ArgKind::Map, false);
    let sk = || ArgProto::scalar("sk");
    // SAFETY: each native dereferences its map argument, a `Map` of the run, and (get) `value`
    // for that map's value size when it is not NULL: exactly its contract.
    #[allow(unsafe_code)]
    let (get, delete) = unsafe {
        (
            NativeFn::with_contract(RawNative::A4(sk_storage_get), &GET),
            NativeFn::with_contract(RawNative::A2(sk_storage_delete), &DELETE),
        )
    };
    let one = "one contract entry per parameter";
    let value = arg("value", ArgKind::MapValue(0), true);
    let get_args = vec![map(), sk(), value, ArgProto::scalar("flags")];
    let get_proto = Proto { args: get_args, ret: Some(RetKind::MapValue), ..Proto::default() };
    let g = F::SkStorageGet;
    r.register(FuncKind::Helper, g.id(), g.name(), get_proto, Some(get.expect(one)))?;
    let del_proto = Proto { args: vec![map(), sk()], ret: Some(RetKind::Scalar), ..Proto::default() };
    let d = F::SkStorageDelete;
    r.register(FuncKind::Helper, d.id(), d.name(), del_proto, Some(delete.expect(one)))
}
