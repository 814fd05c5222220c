use super::*;
use kbpf_isa::MapFlags;

fn spec(t: MapType, k: u32, v: u32, n: u32) -> MapSpec {
    MapSpec {
        name: "m".into(),
        map_type: t,
        key_size: k,
        value_size: v,
        max_entries: n,
        ..MapSpec::default()
    }
}

#[test]
fn array_semantics() {
    let s = MapSpec { data: b"abc".to_vec(), flags: MapFlags::RDONLY_PROG, ..spec(MapType::Array, 4, 6, 3) };
    let m = Map::new(&s).unwrap();
    assert_eq!(m.lookup(&0u32.to_le_bytes()).unwrap(), b"abc\0\0\0");
    assert_eq!(m.lookup(&3u32.to_le_bytes()), None);
    assert_eq!(m.update(&1u32.to_le_bytes(), b"xyzxyz", 0), Ok(()));
    assert_eq!(m.update(&1u32.to_le_bytes(), b"xyzxyz", 1), Err(MapError::Exists));
    assert_eq!(m.update(&3u32.to_le_bytes(), b"xyzxyz", 0), Err(MapError::TooBig));
    assert_eq!(m.update(&0u32.to_le_bytes(), b"xyzxyz", 3).unwrap_err().errno(), -22);
    assert_eq!(m.delete(&0u32.to_le_bytes()).unwrap_err().errno(), -22);
    let a0 = m.lookup_addr(&0u32.to_le_bytes()).unwrap();
    assert_eq!(a0 % 8, 0);
    // values are 8-byte strided
    assert_eq!(m.lookup_addr(&1u32.to_le_bytes()), Some(a0 + 8));
    assert_eq!(m.value_addr(2), Some(a0 + 2));
    assert_eq!(m.value_addr(6), None);
    assert_eq!(m.entries().len(), 3);
}

#[test]
fn hash_semantics() {
    let m = Map::new(&spec(MapType::Hash, 2, 8, 2)).unwrap();
    assert_eq!(m.lookup(b"aa"), None);
    assert_eq!(m.update(b"aa", &[1; 8], BPF_EXIST), Err(MapError::NoEntry));
    m.update(b"aa", &[1; 8], 0).unwrap();
    let p = m.lookup_addr(b"aa").unwrap();
    m.update(b"bb", &[2; 8], BPF_NOEXIST).unwrap();
    assert_eq!(m.update(b"bb", &[2; 8], BPF_NOEXIST), Err(MapError::Exists));
    assert_eq!(m.update(b"cc", &[3; 8], 0), Err(MapError::TooBig));
    m.update(b"aa", &[9; 8], BPF_EXIST).unwrap();
    assert_eq!(m.lookup_addr(b"aa"), Some(p), "values stay where they are");
    assert_eq!(m.lookup(b"aa").unwrap(), [9; 8]);
    m.delete(b"aa").unwrap();
    assert_eq!(m.delete(b"aa"), Err(MapError::NoEntry));
    m.update(b"cc", &[3; 8], 0).unwrap();
    assert_eq!(
        m.entries().iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        [b"bb".to_vec(), b"cc".to_vec()]
    );
    assert_eq!(m.update(b"a", &[0; 8], 0).unwrap_err().errno(), -22);
}

#[test]
fn lru_evicts_the_least_recently_used() {
    let m = Map::new(&spec(MapType::LruHash, 1, 1, 2)).unwrap();
    m.update(b"a", b"1", 0).unwrap();
    m.update(b"b", b"2", 0).unwrap();
    m.lookup_addr(b"a");
    m.update(b"c", b"3", 0).unwrap();
    assert_eq!(m.lookup(b"b"), None);
    assert_eq!(m.lookup(b"a").unwrap(), b"1");
}

#[test]
fn prog_array_and_set() {
    let mut s = spec(MapType::ProgArray, 4, 4, 4);
    s.progs = vec![(1, "second".into())];
    let set = MapSet::new(&[spec(MapType::Array, 4, 8, 1), s], |n| (n == "second").then_some(1)).unwrap();
    let pa = set.get(1).unwrap();
    assert_eq!(pa.tail_call_target(1), TailCallTarget::Prog(1));
    assert_eq!(pa.tail_call_target(0), TailCallTarget::Empty);
    assert_eq!(pa.tail_call_target(4), TailCallTarget::OutOfRange);
    assert_eq!(pa.tail_call_target(1 << 32 | 1), TailCallTarget::Prog(1), "index is a u32");
    let a = set.value_addr(0, 0).unwrap();
    assert_eq!(set.store(a + 4, 4, 0xabcd), Some(()));
    assert_eq!(set.load(a, 8), Some(0xabcd << 32));
    assert_eq!(set.load(a + 8, 1), None);
    assert_eq!(set.map(set.map_addr(1).unwrap()).map(|m| m.spec().max_entries), Some(4));
    assert!(set.map(a).is_none());
    assert!(MapSet::new(&[spec(MapType::Ringbuf, 0, 0, 4000)], |_| None).is_err(), "not a power of two");
    assert!(MapSet::new(&[spec(MapType::Ringbuf, 4, 0, 4096)], |_| None).is_err(), "a key");
    assert!(MapSet::new(&[spec(MapType::Other(1000), 4, 4, 1)], |_| None).is_err(), "unknown type");
}

#[test]
fn natives_through_the_registry() {
    let mut r = crate::Registry::new();
    register(&mut r).unwrap();
    let m = Map::new(&spec(MapType::Hash, 4, 8, 4)).unwrap();
    let key = 7u32.to_le_bytes();
    let val = 42u64.to_le_bytes();
    let call = |id, a: [u64; 4]| {
        let mut args = [0u64; 12];
        args[..4].copy_from_slice(&a);
        let f = r.helper(id).unwrap().native.unwrap();
        // SAFETY: the map is live for the whole test and the key and value buffers hold the
        // map's key and value sizes (or the pointer is unused for that helper).
        #[allow(unsafe_code)]
        unsafe {
            f.call(&args)
        }
    };
    let (mp, kp, vp) = (m.addr(), key.as_ptr() as u64, val.as_ptr() as u64);
    assert_eq!(call(1, [mp, kp, 0, 0]), 0);
    assert_eq!(call(2, [mp, kp, vp, 0]), 0);
    assert_eq!(call(2, [mp, kp, vp, 1]), -17i64 as u64);
    let p = call(1, [mp, kp, 0, 0]);
    assert_eq!(Some(p), m.lookup_addr(&key));
    assert_eq!(call(3, [mp, kp, 0, 0]), 0);
    assert_eq!(call(3, [mp, kp, 0, 0]), -2i64 as u64);
}

#[test]
fn programs_cannot_store_into_read_only_maps() {
    let ro = MapSpec { flags: MapFlags::RDONLY_PROG, data: vec![5], ..spec(MapType::Array, 4, 8, 1) };
    let set = MapSet::new(&[ro], |_| None).unwrap();
    let a = set.value_addr(0, 0).unwrap();
    assert_eq!(set.load(a, 1), Some(5));
    assert_eq!(set.store(a, 1, 6), None);
}

#[test]
fn regions_are_single_values_with_their_rights() {
    let ro = MapSpec { flags: MapFlags::RDONLY_PROG, ..spec(MapType::Array, 4, 12, 2) };
    let wo = MapSpec { name: "w".into(), flags: MapFlags::WRONLY_PROG, ..spec(MapType::Array, 4, 8, 1) };
    let set = MapSet::new(&[ro, wo], |_| None).unwrap();
    let (a, w) = (set.value_addr(0, 0).unwrap(), set.value_addr(1, 0).unwrap());
    let r = set.region(a, 12).unwrap();
    assert!(r.read && !r.write);
    assert_eq!(set.region(a + 4, 9), None, "past the value (into the padding)");
    assert!(set.region(a + 16, 12).is_some(), "the second value");
    assert_eq!(set.region(a + 16, 13), None);
    let r = set.region(w, 8).unwrap();
    assert!(!r.read && r.write);
    assert_eq!(set.region(0x1000, 1), None);
    assert!(!set.is_timer(a));
}

#[test]
fn timers_live_beside_the_values() {
    let arr = MapSpec { timer_off: Some(8), ..spec(MapType::Array, 4, 24, 2) };
    let hash = MapSpec { name: "h".into(), timer_off: Some(0), ..spec(MapType::Hash, 4, 16, 2) };
    let set = MapSet::new(&[arr, hash], |_| None).unwrap();
    let (a, h) = (set.get(0).unwrap(), set.get(1).unwrap());
    let t1 = a.lookup_addr(&1u32.to_le_bytes()).unwrap() + 8;
    // only the timer field of an existing element is a timer
    assert_eq!(set.timer_helper(TIMER_INIT, [t1 - 8, a.addr(), 1]), None);
    assert_eq!(set.timer_helper(TIMER_INIT, [t1, a.addr(), 1]), Some(0));
    assert_eq!(set.timer_helper(TIMER_SET_CALLBACK, [t1, 0xcb, 0]), Some(0));
    assert_eq!(set.timer_helper(TIMER_START, [t1, 50, 0]), Some(0));
    h.update(&7u32.to_le_bytes(), &[0; 16], 0).unwrap();
    let th = h.lookup_addr(&7u32.to_le_bytes()).unwrap();
    assert_eq!(set.timer_helper(TIMER_INIT, [th, h.addr(), 0]), Some(0));
    assert_eq!(set.timer_helper(TIMER_SET_CALLBACK, [th, 0xcc, 0]), Some(0));
    assert_eq!(set.timer_helper(TIMER_START, [th, 10, 0]), Some(0));
    // earliest expiry first, with the element's key and value
    let due = set.next_due_timer().unwrap();
    assert_eq!(
        (due.callback, due.key.as_slice(), due.value, due.at),
        (0xcc, &7u32.to_le_bytes()[..], th, 10)
    );
    let due = set.next_due_timer().unwrap();
    assert_eq!((due.callback, due.key, due.value, due.at), (0xcb, 1u32.to_le_bytes().to_vec(), t1 - 8, 50));
    assert_eq!(set.next_due_timer(), None);
    // relative expiries count from the virtual clock (now 50)
    assert_eq!(set.timer_helper(TIMER_START, [t1, 5, 0]), Some(0));
    assert_eq!(set.next_due_timer().unwrap().at, 55);
    // updating an element frees its timer; so does deleting a hash element
    assert_eq!(set.timer_helper(TIMER_START, [t1, 5, 0]), Some(0));
    a.update(&1u32.to_le_bytes(), &[0xff; 24], 0).unwrap();
    assert_eq!(set.timer_helper(TIMER_CANCEL, [t1, 0, 0]), Some(-22i64 as u64));
    assert_eq!(set.next_due_timer(), None);
    assert_eq!(set.timer_helper(TIMER_START, [th, 5, 0]), Some(0));
    h.delete(&7u32.to_le_bytes()).unwrap();
    assert_eq!(set.timer_helper(TIMER_CANCEL, [th, 0, 0]), None, "no element any more");
    assert_eq!(set.next_due_timer(), None);
    // user space never sees the field
    assert_eq!(a.lookup(&1u32.to_le_bytes()).unwrap(), [[0xff; 8].as_slice(), &[0; 16]].concat());
    // the running callback may not cancel its own timer
    assert_eq!(set.timer_helper(TIMER_INIT, [t1, a.addr(), 7]), Some(0));
    set.set_running_timer(Some(t1));
    assert_eq!(set.timer_helper(TIMER_CANCEL, [t1, 0, 0]), Some(-35i64 as u64));
    set.set_running_timer(None);
    assert_eq!(set.timer_helper(TIMER_CANCEL, [t1, 0, 0]), Some(0));
}

#[test]
fn timer_fields_need_a_timer_capable_map() {
    let t = |ty, off| Map::new(&MapSpec { timer_off: Some(off), ..spec(ty, 4, 24, 1) }).map(|_| ());
    assert!(t(MapType::Array, 8).is_ok());
    assert!(t(MapType::LruHash, 0).is_ok());
    assert!(t(MapType::PercpuArray, 0).is_err());
    assert!(t(MapType::Array, 12).is_err(), "past the value");
    assert!(t(MapType::Array, 4).is_err(), "misaligned");
}

#[test]
fn ringbuf_space_order_and_drain() {
    let m = Map::new(&spec(MapType::Ringbuf, 0, 0, 4096)).unwrap();
    assert_eq!(m.ringbuf_output(b"abc", 0), 0);
    assert_eq!(m.ringbuf_output(b"abc", 4), -22i64 as u64, "unknown flag");
    let a = m.ringbuf_reserve(5).unwrap();
    let b = m.ringbuf_reserve(1).unwrap();
    // headers are 8 bytes, records 8-aligned: 16 + 16 + 16
    assert_eq!(m.ringbuf_query(0), 48);
    assert_eq!(m.ringbuf_query(1), 4096);
    assert_eq!(m.ringbuf_query(3), 48);
    assert_eq!(m.ringbuf_query(9), 0);
    assert_eq!(b - a, 16);
    let set = MapSet { maps: vec![], clock: Default::default() };
    assert!(!set.ringbuf_commit(a, false), "not a ring of that set");
    // the data is the program's memory: written through checked stores
    assert_eq!(m.region(a, 5), Some(MemRights { read: true, write: true }));
    assert_eq!(m.store(a, 4, u32::from_le_bytes(*b"wxyz") as u64), Some(()));
    assert_eq!(m.store(a + 4, 1, b'!' as u64), Some(()));
    // a busy record stops the consumer
    assert!(m.ringbuf_commit(b, false));
    assert_eq!(m.ringbuf_records().unwrap(), [b"abc".to_vec()]);
    assert!(m.ringbuf_commit(a, true), "discarded");
    assert!(!m.ringbuf_commit(a, false), "no longer busy");
    assert!(!m.ringbuf_commit(a + 1, false), "not a record's start");
    assert_eq!(m.ringbuf_drain().unwrap(), [b"abc".to_vec(), vec![0]]);
    assert_eq!(m.ringbuf_query(0), 0);
    assert_eq!(m.ringbuf_query(2), 48);
    assert!(m.ringbuf_records().unwrap().is_empty());
    // the producer may get at most size - 1 bytes ahead of the consumer
    assert_eq!(m.ringbuf_reserve(4096), None);
    let big = m.ringbuf_reserve(4096 - 16).unwrap();
    assert_eq!(m.ringbuf_output(b"", 0), -11i64 as u64, "EAGAIN: full");
    assert!(m.ringbuf_commit(big, false));
    assert_eq!(m.ringbuf_drain().unwrap()[0].len(), 4080);
    // positions keep growing; the data wraps modulo the ring's size
    let wrap = m.ringbuf_reserve(100).unwrap();
    assert!(m.region(wrap, 100).is_some());
    assert!(m.ringbuf_commit(wrap, false));
    assert_eq!(m.ringbuf_drain().unwrap(), [vec![0; 100]]);
    assert!(m.update(&[], &[], 0).is_err());
    assert!(m.entries().is_empty());
    let h = Map::new(&spec(MapType::Hash, 4, 4, 4)).unwrap();
    assert!(h.ringbuf_drain().is_err());
    assert_eq!(h.ringbuf_reserve(8), None);
}

#[test]
fn empty_kinds_and_cgroup_storage() {
    let dev = Map::new(&spec(MapType::Other(14), 4, 4, 8)).unwrap();
    let cpu = Map::new(&spec(MapType::Other(16), 4, 4, 8)).unwrap();
    assert_eq!(dev.lookup_addr(&0u32.to_le_bytes()), None);
    assert!(dev.update(&0u32.to_le_bytes(), &1u32.to_le_bytes(), 0).is_err(), "no devices");
    // fallback action in the flags' low bits; unknown flags abort; devmap broadcasts redirect
    assert_eq!(dev.redirect_map(0, 2), 2);
    assert_eq!(dev.redirect_map(0, 1 << 3), 4);
    assert_eq!(dev.redirect_map(0, 1 << 5), 0);
    assert_eq!(cpu.redirect_map(0, 3), 3);
    assert_eq!(cpu.redirect_map(0, 1 << 3), 0, "broadcast is for device maps");
    let h = Map::new(&spec(MapType::Hash, 4, 4, 4)).unwrap();
    assert_eq!(h.redirect_map(0, 2), 0);
    let urb = Map::new(&spec(MapType::Other(31), 0, 0, 4096)).unwrap();
    assert_eq!(urb.user_ringbuf_drain(0), 0);
    assert_eq!(urb.user_ringbuf_drain(4), -22i64 as u64);
    assert_eq!(dev.user_ringbuf_drain(0), -22i64 as u64);
    let cg = Map::new(&spec(MapType::Other(19), 16, 12, 0)).unwrap();
    let a = cg.local_storage_addr();
    assert_ne!(a, 0);
    assert_eq!(cg.region(a, 12), Some(MemRights { read: true, write: true }));
    assert_eq!(cg.region(a + 4, 12), None);
    assert_eq!(cg.store(a + 8, 4, 7), Some(()));
    assert_eq!(cg.load(a + 8, 4), Some(7));
    assert!(cg.entries().is_empty(), "user space sees no storage of an unattached cgroup");
    assert_eq!(dev.local_storage_addr(), 0);
    assert!(Map::new(&spec(MapType::Other(19), 4, 12, 0)).is_err());
    assert!(Map::new(&spec(MapType::Other(19), 16, 12, 1)).is_err());
    let smap = Map::new(&spec(MapType::Other(15), 4, 4, 2)).unwrap();
    let shash = Map::new(&spec(MapType::Other(18), 4, 4, 2)).unwrap();
    assert_eq!(smap.delete(&0u32.to_le_bytes()).unwrap_err().errno(), -22, "empty sockmap slot");
    assert_eq!(shash.delete(&0u32.to_le_bytes()), Err(MapError::NoEntry));
    assert!(smap.update(&0u32.to_le_bytes(), &3u32.to_le_bytes(), 0).is_err(), "no sockets");
    assert_eq!(smap.lookup_addr(&0u32.to_le_bytes()), None);
    assert!(holds_sockets(MapType::Other(18)) && !holds_sockets(MapType::Other(14)));
    let sk = Map::new(&MapSpec { flags: MapFlags(1), ..spec(MapType::Other(24), 4, 8, 0) }).unwrap();
    assert_eq!(sk.region(sk.values.addr(), 1), None);
}

#[test]
fn queues_and_stacks() {
    let q = Map::new(&spec(MapType::Other(22), 0, 2, 2)).unwrap();
    let st = Map::new(&spec(MapType::Other(23), 0, 2, 2)).unwrap();
    assert!(Map::new(&spec(MapType::Other(22), 4, 2, 2)).is_err(), "a key");
    for m in [&q, &st] {
        assert_eq!(m.pop_or_peek(true), (-2i64 as u64, vec![0, 0]), "empty: zeroed, ENOENT");
        assert_eq!(m.push(b"ab", 0), 0);
        assert_eq!(m.push(b"cd", 0), 0);
        assert_eq!(m.push(b"ef", 0), -7i64 as u64, "full: E2BIG");
        assert_eq!(m.push(b"ef", 1), -22i64 as u64, "BPF_NOEXIST");
        assert_eq!(m.push(b"ef", 4), -22i64 as u64);
        assert_eq!(m.push(b"ef", 2), 0, "BPF_EXIST drops the oldest");
    }
    assert_eq!(q.pop_or_peek(false), (0, b"cd".to_vec()));
    assert_eq!(q.pop_or_peek(true), (0, b"cd".to_vec()));
    assert_eq!(q.pop_or_peek(true), (0, b"ef".to_vec()));
    assert_eq!(st.pop_or_peek(true), (0, b"ef".to_vec()));
    assert_eq!(st.pop_or_peek(true), (0, b"cd".to_vec()));
    assert_eq!(st.pop_or_peek(true).0, -2i64 as u64);
    assert_eq!(call_queue_helper(&q, 87, b"xy", 0), (0, None));
    assert_eq!(call_queue_helper(&q, 89, &[], 0), (0, Some(b"xy".to_vec())));
    let h = Map::new(&spec(MapType::Hash, 4, 4, 4)).unwrap();
    assert_eq!(h.push(b"abcd", 0), -22i64 as u64);
}

#[test]
fn maps_of_maps_return_their_initial_inner_maps() {
    let inner = MapSpec { name: "inner".into(), ..spec(MapType::Array, 4, 8, 1) };
    let outer = MapSpec {
        name: "outer".into(),
        inner_maps: vec![(1, "inner".into())],
        ..spec(MapType::Other(12), 4, 4, 2)
    };
    let set = MapSet::new(&[outer, inner], |_| None).unwrap();
    let (o, i) = (set.get(0).unwrap(), set.get(1).unwrap());
    assert_eq!(o.lookup_addr(&1u32.to_le_bytes()), Some(i.addr()));
    assert_eq!(o.lookup_addr(&0u32.to_le_bytes()), None);
    assert!(o.entries().is_empty() && o.region(o.addr(), 1).is_none());
    let missing = MapSpec { inner_maps: vec![(0, "nope".into())], ..spec(MapType::Other(13), 4, 4, 1) };
    assert!(MapSet::new(&[missing], |_| None).is_err());
}

#[test]
fn socket_storage_belongs_to_the_run_socket() {
    let s = MapSpec { flags: MapFlags(1), ..spec(MapType::Other(24), 4, 8, 0) };
    let set = MapSet::new(std::slice::from_ref(&s), |_| None).unwrap();
    let m = set.get(0).unwrap();
    assert_eq!(m.sk_storage_get(0x1000, None, 0), 0);
    let v = m.sk_storage_get(0x1000, Some(&[7; 8]), 1);
    assert_ne!(v, 0);
    assert_eq!(m.region(v, 8), Some(MemRights { read: true, write: true }));
    assert_eq!(m.sk_storage_get(0x1000, None, 0), v);
    assert_eq!(m.sk_storage_get(0x1000, None, 2), 0);
    set.release_socket(0x1000);
    assert_eq!(m.region(v, 8), None);
    assert_eq!(m.sk_storage_delete(0x1000), -2i64 as u64);
    assert!(Map::new(&spec(MapType::Other(24), 4, 8, 0)).is_err());
}
