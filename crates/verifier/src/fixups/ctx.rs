//! What `convert_ctx_accesses` does around a program type's `convert_ctx_access`: the facts a
//! conversion reads ([`CtxConv`]) and the widening of narrow context loads ([`narrow_load`]).

use kbpf_isa::{AluOp, AttachType, Insn, Reg, Size, Src, Width};

use super::{CtxTarget, KernelLayout};
use crate::prog_types::CtxError;

/// What a context conversion knows besides the instruction.
#[derive(Clone, Copy, Debug)]
pub struct CtxConv<'a> {
    /// The program's expected attach type.
    pub attach: Option<AttachType>,
    /// The layout converted for.
    pub target: CtxTarget,
    /// The target kernel's structures (`CtxTarget::Kernel`).
    pub layout: &'a KernelLayout,
    /// `prog->tstamp_type_access`: the program reads `__sk_buff.tstamp_type` somewhere, so
    /// its `tstamp` accesses are the plain field.
    pub tstamp_type_access: bool,
}

/// A context load of `size` bytes at `off` into `dst` whose field is `field_size` bytes
/// (`ctx_field_size`, 0 = none recorded): a narrower load becomes a load of the whole field at
/// its aligned offset, then a shift and a mask pick the bytes asked for (when the conversion
/// loaded more than them: its `target_size`); a sign-extending load ends in a `movsx`.
/// `convert(off, size)` is the type's conversion of the (possibly widened) load.
pub(crate) fn narrow_load(
    size: Size,
    signed: bool,
    dst: Reg,
    off: i16,
    field_size: u32,
    convert: impl FnOnce(i16, Size) -> Result<(Vec<Insn>, u32), CtxError>,
) -> Result<Vec<Insn>, CtxError> {
    let bytes = size.bytes();
    let narrower = bytes < field_size;
    let (off_c, size_c) = if narrower {
        let wide = Size::from_bytes(field_size).unwrap_or(Size::W);
        (off & !(field_size as i16 - 1), wide)
    } else {
        (off, size)
    };
    let (mut seq, target_size) = convert(off_c, size_c)?;
    if narrower && bytes < target_size {
        // little endian: the bytes asked for start `off % field_size` bytes into the field
        let shift = (off as i32 & (field_size as i32 - 1)) * 8;
        let mask = ((1u64 << (bytes * 8)) - 1) as i32;
        let width = if field_size <= 4 { Width::W32 } else { Width::W64 };
        if shift != 0 {
            seq.push(Insn::Alu { width, op: AluOp::Rsh, dst, src: Src::Imm(shift) });
        }
        seq.push(Insn::Alu { width: Width::W32, op: AluOp::And, dst, src: Src::Imm(mask) });
    }
    if signed {
        seq.push(Insn::MovSx { width: Width::W64, dst, src: dst, from_bits: (bytes * 8) as u8 });
    }
    Ok(seq)
}
