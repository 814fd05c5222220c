//! `BPF_PROG_TYPE_XDP` (`xdp_verifier_ops`): a read-only `xdp_md` whose first three fields
//! load as packet pointers, direct packet writes, and the xdp helper set. Every expected
//! attach type loads (the kernel ignores it for xdp); `BPF_XDP_DEVMAP` programs may also read
//! `egress_ifindex`.

use super::{CtxAccess, CtxError, CtxField, CtxUnsupported, ProgTypeOps};
use crate::domain::state::RegType;
use crate::fixups::{CtxConv, CtxTarget, KernelField as K};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::KernelProgType;
use kbpf_isa::{AttachType, Insn, Size};

/// The xdp rules.
pub struct Xdp;

/// `offsetof(struct xdp_md, egress_ifindex)`: devmap programs only.
const EGRESS_IFINDEX: i64 = 20;
const EGRESS_IFINDEX_OFF: i16 = EGRESS_IFINDEX as i16;
/// `struct xdp_md` offsets the conversion names.
const DATA: i16 = 0;
const DATA_END: i16 = 4;
const DATA_META: i16 = 8;
const INGRESS_IFINDEX: i16 = 12;
const RX_QUEUE_INDEX: i16 = 16;
/// `sizeof(struct xdp_md)`.
const XDP_MD_SIZE: i64 = 24;

impl ProgTypeOps for Xdp {
    fn ctx_type_name(&self) -> &'static str {
        "xdp_md"
    }

    fn name(&self) -> &'static str {
        "xdp"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Xdp)
    }

    /// `xdp_convert_ctx_access`: the packet pointers are `struct xdp_buff`'s (or kbpf's host
    /// pointers after the uapi structure), the queue index and the ifindex fields go through
    /// its rx/tx queue info (offsets from the target's BTF).
    fn convert_ctx_access(&self, insn: &Insn, cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        let unsupported = CtxError::from(CtxUnsupported { prog_type: self.name(), insn: *insn });
        let Insn::Load { size: Size::W, signed: false, dst, src, off } = *insn else {
            return Err(unsupported);
        };
        let dw = |src, off| Insn::Load { size: Size::DW, signed: false, dst, src, off };
        if cx.target == CtxTarget::Kbpf {
            return Ok(match off {
                DATA | DATA_END | DATA_META => vec![dw(src, XDP_MD_SIZE as i16 + 2 * off)],
                _ => vec![*insn],
            });
        }
        let o = |f: K| cx.layout.off(f).map(|o| o as i16).map_err(CtxError::NoLayout);
        let w = |src, off| Insn::Load { size: Size::W, signed: false, dst, src, off };
        // through `struct xdp_buff`, its rx/tx queue info and their device
        Ok(match off {
            DATA => vec![dw(src, o(K::XdpBuffData)?)],
            DATA_END => vec![dw(src, o(K::XdpBuffDataEnd)?)],
            DATA_META => vec![dw(src, o(K::XdpBuffDataMeta)?)],
            INGRESS_IFINDEX => {
                vec![dw(src, o(K::XdpBuffRxq)?), dw(dst, o(K::XdpRxqDev)?), w(dst, o(K::NetDeviceIfindex)?)]
            }
            RX_QUEUE_INDEX => vec![dw(src, o(K::XdpBuffRxq)?), w(dst, o(K::XdpRxqQueueIndex)?)],
            EGRESS_IFINDEX_OFF => {
                vec![dw(src, o(K::XdpBuffTxq)?), dw(dst, o(K::XdpTxqDev)?), w(dst, o(K::NetDeviceIfindex)?)]
            }
            _ => return Err(unsupported),
        })
    }

    /// `xdp_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let CtxAccess { off, size, write, ldsx, attach } = a;
        if (off == EGRESS_IFINDEX && attach != Some(AttachType::XdpDevmap)) || write {
            return None;
        }
        if ldsx && matches!(off, 0 | 4 | 8) {
            return None;
        }
        if !(0..XDP_MD_SIZE).contains(&off) || size <= 0 || off % size != 0 || size != 4 {
            return None;
        }
        Some(match off {
            0 => CtxField::Pointer(RegType::Packet),
            4 => CtxField::Pointer(RegType::PacketEnd),
            8 => CtxField::Pointer(RegType::PacketMeta),
            _ => CtxField::Scalar,
        })
    }

    /// `xdp_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        use Arg::*;
        const D: Arg = DontCare;
        let p = |args, ret| Some(Proto { args, ret, gpl_only: false, map_types: &[] });
        sk_base_func_proto(f).or_else(|| match f {
            // xdp_adjust_head, xdp_adjust_tail; the reference kernel (6.18 on the oracle
            // machine) refuses xdp_adjust_meta to xdp programs ("program of this type cannot
            // use helper bpf_xdp_adjust_meta#54", kernel-checked on the selftests)
            F::XdpAdjustHead | F::XdpAdjustTail => p([Ctx, Anything, D, D, D], Ret::Integer),
            // xdp_get_buff_len
            F::XdpGetBuffLen => p([Ctx, D, D, D, D], Ret::Integer),
            // redirect
            F::Redirect => p([Anything, Anything, D, D, D], Ret::Integer),
            // redirect_map: devmap, devmap_hash, cpumap, xskmap
            F::RedirectMap => Some(Proto {
                args: [ConstMapPtr, Anything, Anything, D, D],
                ret: Ret::Integer,
                gpl_only: false,
                map_types: &[14, 25, 16, 17],
            }),
            // xdp_load_bytes fills the buffer, xdp_store_bytes reads it
            F::XdpLoadBytes => {
                p([Ctx, Anything, Mem { write: true, maybe_null: false }, ConstSize, D], Ret::Integer)
            }
            F::XdpStoreBytes => {
                p([Ctx, Anything, Mem { write: false, maybe_null: false }, ConstSize, D], Ret::Integer)
            }
            // perf_event_output (bpf_xdp_event_output_proto)
            F::PerfEventOutput => crate::protos::helpers_tc::tc_helper_proto(f),
            // xdp has its own socket lookups, fib lookup and MTU check with the tc prototypes
            F::FibLookup
            | F::SkLookupTcp
            | F::SkLookupUdp
            | F::SkRelease
            | F::SkcLookupTcp
            | F::TcpCheckSyncookie
            | F::TcpGenSyncookie
            | F::CheckMtu
            | F::TcpRawGenSyncookieIpv4
            | F::TcpRawGenSyncookieIpv6
            | F::TcpRawCheckSyncookieIpv4
            | F::TcpRawCheckSyncookieIpv6 => crate::protos::helpers_tc::tc_helper_proto(f),
            // csum_diff (socket filters may not: kernel-checked)
            F::CsumDiff => p(
                [
                    Mem { write: false, maybe_null: true },
                    ConstSizeOrZero,
                    Mem { write: false, maybe_null: true },
                    ConstSizeOrZero,
                    Anything,
                ],
                Ret::Integer,
            ),
            _ => None,
        })
    }

    fn may_write_packet(&self) -> bool {
        true
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
