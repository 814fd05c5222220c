//! `BPF_PROG_TYPE_STRUCT_OPS`: a program implementing one member of a kernel struct of
//! function pointers. Which struct and member is a load attribute (the struct's BTF id and the
//! member's index, [`crate::btf::attach::for_program`]); the rules then come from the struct's
//! own `bpf_struct_ops` registration: which members BPF may implement (those with a stub), the
//! verifier ops (context promotion, the fields a program may write, the helpers) and its
//! `check_member`. kbpf knows the structs of vmlinux listed in [`KnownOps`]; any other struct
//! is unsupported, never guessed.

use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps};
use crate::messages::AttachReject;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto};
use kbpf_elf::btf::{Btf, BtfType, Kind};
use kbpf_isa::KernelProgType;

/// The struct_ops type before its member is known: every rule waits for the attach target.
pub struct StructOps;

impl ProgTypeOps for StructOps {
    fn name(&self) -> &'static str {
        "struct_ops"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::StructOps)
    }

    /// `bpf_prog_load_check_attach` lets struct_ops through: the struct and member are judged
    /// by `check_struct_ops_btf_id` in the verifier.
    fn check_attach(&self, _: LoadAttach) -> Result<(), AttachReject> {
        Ok(())
    }

    /// Typed by the member's prototype ([`crate::btf::ctx`]); without one nothing is valid.
    fn ctx_access(&self, _: CtxAccess) -> Option<CtxField> {
        None
    }

    /// The member's struct decides ([`StructOpsMember::func_proto`]).
    fn func_proto(&self, _: BpfFunc) -> Option<Proto> {
        None
    }
}

/// The kernel structs whose `bpf_struct_ops` registration kbpf models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownOps {
    /// `tcp_congestion_ops` (`net/ipv4/bpf_tcp_ca.c`).
    TcpCongestionOps,
    /// `bpf_dummy_ops` (`net/bpf/bpf_dummy_struct_ops.c`), the test struct of vmlinux.
    BpfDummyOps,
}

impl KnownOps {
    /// The struct of this name, if kbpf models it.
    pub fn by_name(name: &str) -> Option<KnownOps> {
        match name {
            "tcp_congestion_ops" => Some(KnownOps::TcpCongestionOps),
            "bpf_dummy_ops" => Some(KnownOps::BpfDummyOps),
            _ => None,
        }
    }

    /// `bpf_struct_ops_supported`: the members the registration has a stub for (`cfi_stubs`),
    /// the only ones a program may implement.
    pub fn supported(self, member: &str) -> bool {
        let stubs: &[&str] = match self {
            KnownOps::TcpCongestionOps => &[
                "ssthresh",
                "cong_avoid",
                "set_state",
                "cwnd_event",
                "in_ack_event",
                "pkts_acked",
                "tso_segs",
                "cong_control",
                "undo_cwnd",
                "sndbuf_expand",
                "init",
                "release",
            ],
            KnownOps::BpfDummyOps => &["test_1", "test_2", "test_sleepable"],
        };
        stubs.contains(&member)
    }

    /// The registration's `check_member`: `false` refuses the member (`EINVAL`). Only the
    /// dummy struct has one: a sleepable program only for `test_sleepable`.
    pub fn check_member(self, member: &str, sleepable: bool) -> bool {
        match self {
            KnownOps::TcpCongestionOps => true,
            KnownOps::BpfDummyOps => member == "test_sleepable" || !sleepable,
        }
    }

    /// The arguments the member's stub names with a `__nullable` suffix
    /// (`prepare_arg_info`): they may be NULL.
    pub fn nullable_arg(self, member: &str, arg: usize) -> bool {
        matches!((self, member, arg), (KnownOps::BpfDummyOps, "test_1", 0))
    }
}

/// The member a struct_ops program implements, resolved against the target BTF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructOpsMember {
    /// The struct.
    pub ops: KnownOps,
    /// The member's name (`attach_func_name`).
    pub member: String,
    /// Its index (the expected attach type).
    pub idx: u32,
}

impl StructOpsMember {
    /// The verifier ops' `get_func_proto`: `None` when the program may not call `f`.
    pub fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        match self.ops {
            // no get_func_proto at all: every helper call is refused
            KnownOps::BpfDummyOps => None,
            KnownOps::TcpCongestionOps => tcp_ca_func_proto(&self.member, f),
        }
    }

    /// The verifier ops' `is_valid_access` after `btf_ctx_access`: a congestion control's
    /// `struct sock` argument is a `tcp_sock` (plain pointers only, not untrusted ones).
    pub fn promote(&self, btf: &Btf, field: CtxField) -> CtxField {
        let CtxField::Btf { btf_id, flags } = field else { return field };
        if self.ops != KnownOps::TcpCongestionOps || flags & crate::domain::state::PTR_UNTRUSTED != 0 {
            return field;
        }
        match (btf.find_by_name_kind("sock", Kind::Struct), btf.find_by_name_kind("tcp_sock", Kind::Struct)) {
            (Some(sock), Some(tcp)) if sock == btf_id => CtxField::Btf { btf_id: tcp, flags },
            _ => field,
        }
    }

    /// The verifier ops' `btf_struct_access` for a store of `size` bytes at `off` into the
    /// kernel object `btf_id`: `Err` holds the line the kernel logs.
    pub fn btf_struct_write(&self, btf: &Btf, btf_id: u32, off: i64, size: i64) -> Result<(), String> {
        match self.ops {
            KnownOps::TcpCongestionOps => tcp_ca_write(btf, btf_id, off, size),
            KnownOps::BpfDummyOps => {
                let state = btf.find_by_name_kind("bpf_dummy_ops_state", Kind::Struct);
                let Some(state) = state.filter(|s| *s == btf_id) else {
                    return Err("only access to bpf_dummy_ops_state is supported".into());
                };
                let end = btf.size_of(state).unwrap_or(0) as i64;
                if off + size > end {
                    return Err(format!("write access at off {off} with size {size}"));
                }
                Ok(())
            }
        }
    }
}

/// `bpf_tcp_ca_get_func_proto`: the congestion-control helpers, socket options except in
/// `release`, then the base set.
fn tcp_ca_func_proto(member: &str, f: BpfFunc) -> Option<Proto> {
    let p = |args, ret| Proto { args, ret, gpl_only: false, map_types: &[] };
    match f {
        BpfFunc::TcpSendAck => Some(p(
            [
                Arg::BtfObj { name: "tcp_sock", null: false },
                Arg::Anything,
                Arg::DontCare,
                Arg::DontCare,
                Arg::DontCare,
            ],
            Ret::Integer,
        )),
        BpfFunc::SkStorageGet | BpfFunc::SkStorageDelete => crate::protos::helpers_tc::tc_helper_proto(f),
        BpfFunc::Setsockopt | BpfFunc::Getsockopt if member != "release" => {
            crate::protos::net_helpers::sockopt_proto(f, Arg::BtfSockCommon)
        }
        BpfFunc::Setsockopt | BpfFunc::Getsockopt => None,
        _ => base_func_proto(f),
    }
}

/// Byte offset and size of member `name` of struct `id`, looking through anonymous members.
fn member_range(btf: &Btf, id: u32, name: &str) -> Option<(i64, i64)> {
    let (_, t) = btf.resolve(id)?;
    for m in t.members()? {
        let off = i64::from(m.offset / 8);
        if m.name == name {
            return Some((off, btf.size_of(m.type_id)? as i64));
        }
        if m.name.is_empty()
            && let Some((o, s)) = member_range(btf, m.type_id, name)
        {
            return Some((off + o, s));
        }
    }
    None
}

/// The offset range of `path` (struct name, then member names) in the target BTF.
fn field(btf: &Btf, path: &[&str]) -> Option<(i64, i64)> {
    let (first, rest) = path.split_first()?;
    let mut id = btf.find_by_name_kind(first, Kind::Struct)?;
    let mut base = 0;
    let mut last = None;
    for name in rest {
        let (o, s) = member_range(btf, id, name)?;
        let m = btf.resolve(id)?.1.members()?.iter().find(|m| m.name == *name).map(|m| m.type_id);
        base += o;
        last = Some((base, s));
        if let Some(next) = m {
            id = next;
        }
    }
    last
}

/// `bpf_tcp_ca_btf_struct_access`: stores only into a `tcp_sock`, and there only into the
/// fields a congestion control owns (each from its first byte, except the private area).
fn tcp_ca_write(btf: &Btf, btf_id: u32, off: i64, size: i64) -> Result<(), String> {
    let only_read = || "only read is supported".to_string();
    let tcp_sock = btf.find_by_name_kind("tcp_sock", Kind::Struct).ok_or_else(only_read)?;
    if tcp_sock != btf_id {
        return Err(only_read());
    }
    let exact: &[&[&str]] = &[
        &["sock", "sk_pacing_rate"],
        &["sock", "sk_pacing_status"],
        &["inet_connection_sock", "icsk_ack", "pending"],
        &["tcp_sock", "snd_cwnd"],
        &["tcp_sock", "snd_cwnd_cnt"],
        &["tcp_sock", "snd_cwnd_stamp"],
        &["tcp_sock", "snd_ssthresh"],
        &["tcp_sock", "ecn_flags"],
        &["tcp_sock", "app_limited"],
    ];
    let private = field(btf, &["inet_connection_sock", "icsk_ca_priv"]);
    let end = match private {
        Some((start, len)) if off >= start && off < start + len => Some(start + len),
        _ => exact.iter().filter_map(|p| field(btf, p)).find(|(o, _)| *o == off).map(|(o, s)| o + s),
    };
    let Some(end) = end else {
        return Err(format!("no write support to tcp_sock at off {off}"));
    };
    if off + size > end {
        return Err(format!(
            "write access at off {off} with size {size} beyond the member of tcp_sock ended at {end}"
        ));
    }
    Ok(())
}

/// Whether struct `name`'s registration wrapper (`bpf_struct_ops_<name>`) is in the target BTF,
/// which a kernel that registered it has.
pub fn registered(btf: &Btf, name: &str) -> bool {
    btf.find_by_name_kind(&format!("bpf_struct_ops_{name}"), Kind::Struct).is_some()
}

/// The prototype a function-pointer member points to (`btf_type_resolve_func_ptr`).
pub fn member_func_proto(btf: &Btf, type_id: u32) -> Option<u32> {
    let (_, BtfType::Ptr { type_id: target }) = btf.resolve(type_id)? else { return None };
    let (pid, t) = btf.resolve(*target)?;
    matches!(t, BtfType::FuncProto { .. }).then_some(pid)
}
