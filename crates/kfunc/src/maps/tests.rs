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
    assert!(MapSet::new(&[spec(MapType::Ringbuf, 0, 0, 4096)], |_| None).is_err());
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
        r.helper(id).unwrap().native.unwrap().call(&args)
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
