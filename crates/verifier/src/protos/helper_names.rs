//! Helper names by id, as the log prints them: the ISA's table (`kbpf_isa::helper_names`, the
//! UAPI `__BPF_FUNC_MAPPER` order), so the disassembler and the verifier never disagree.

use kbpf_isa::helper_names::HELPER_COUNT;

/// Number of helper ids (`__BPF_FUNC_MAX_ID`).
pub fn max_id() -> i32 {
    HELPER_COUNT as i32
}

/// `bpf_<name>` for a known id.
pub fn helper_name(id: i32) -> Option<String> {
    kbpf_isa::helper_name(id).map(str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn some_ids() {
        assert_eq!(super::helper_name(1).as_deref(), Some("bpf_map_lookup_elem"));
        assert_eq!(super::helper_name(7).as_deref(), Some("bpf_get_prandom_u32"));
        assert_eq!(super::helper_name(12).as_deref(), Some("bpf_tail_call"));
        assert_eq!(super::helper_name(131).as_deref(), Some("bpf_ringbuf_reserve"));
        assert_eq!(super::helper_name(181).as_deref(), Some("bpf_loop"));
        assert_eq!(super::helper_name(209).as_deref(), Some("bpf_user_ringbuf_drain"));
        assert_eq!(super::max_id(), 212);
    }
}
