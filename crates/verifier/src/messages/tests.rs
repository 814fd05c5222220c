//! The catalogue's rendering, errnos, kinds and register naming.

use super::*;

#[test]
fn stack_argument_slots_are_named_like_the_kernel() {
    assert_eq!(RegName::arg(0).to_string(), "R1");
    assert_eq!(RegName::arg(5).to_string(), "*(R11-8)");
    assert_eq!(RegName::arg(11).to_string(), "*(R11-56)");
    let e = Reject::from(MapArgReject::NotReadonlyMap(RegName::R(11)));
    let e = e.rename_reg(RegName::R(11), RegName::arg(9));
    assert_eq!(e.to_string(), "*(R11-40) does not point to a readonly map'");
    assert_eq!(e.reg(), Some(RegName::StackArg(4)));
}

#[test]
fn context_lines_keep_the_last_errno_and_kind() {
    let e = Reject::MapValueAccess(8, 8, 4).then(Reject::MaxOutside(RegName::R(1)));
    assert_eq!(
        e.to_string(),
        "invalid access to map value, value_size=8 off=8 size=4\nR1 max value is outside of the allowed memory range"
    );
    assert_eq!(e.last_line(), "R1 max value is outside of the allowed memory range");
    assert_eq!((e.errno(), e.kind(), e.reg()), (Errno::EACCES, RejectKind::Rejected, Some(RegName::R(1))));
    let e = Reject::PacketOutside(RegName::R(2), Errno::EINVAL);
    assert_eq!(e.errno(), Errno::EINVAL);
}

#[test]
fn the_three_kinds() {
    let unsupported = Reject::from(Unsupported::DynptrConstructor("bpf_dynptr_from_foo".into()));
    assert_eq!((unsupported.kind(), unsupported.errno()), (RejectKind::Unsupported, Errno::ENOTSUPP));
    assert_eq!(unsupported.to_string(), "kbpf: dynptr constructor bpf_dynptr_from_foo is not modelled");
    let bug = Reject::from(Bug::ExitNoCaller);
    assert_eq!((bug.kind(), bug.errno()), (RejectKind::Bug, Errno::EFAULT));
    assert_eq!(bug.to_string(), "verifier bug: exit without a caller frame");
    // the kernel's own ENOTSUPP is a verdict, not a kbpf limitation
    assert_eq!(Reject::KfuncUnsupported.kind(), RejectKind::Rejected);
    let leak = Reject::LogNoSpace(Some(Box::new(bug)));
    assert_eq!((leak.kind(), leak.errno()), (RejectKind::Bug, Errno::ENOSPC));
}

#[test]
fn shared_messages_render_once() {
    assert_eq!(Reject::Reserved("STX").to_string(), "BPF_STX uses reserved fields");
    assert_eq!(Reject::CallStackTooDeep(9).to_string(), "the call stack of 9 frames is too deep");
    assert_eq!(Reject::MaxCallDepth(9).to_string(), "the call stack of 9 frames is too deep !");
    assert_eq!(Reject::InvalidFunc("unknown".into(), 999).to_string(), "invalid func unknown#999");
    assert_eq!(
        Reject::from(KfuncReject::TooManyArgs("f".into(), 13)).to_string(),
        "Function f has 13 > 12 args"
    );
}
