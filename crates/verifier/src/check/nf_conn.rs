//! Stores into kernel objects by tc and XDP programs: their verifier ops' `btf_struct_access`
//! is netfilter's (`nf_conntrack_btf_struct_access`), which lets a program write a
//! connection's `mark` (`struct nf_conn` or its `nf_conn___init` alias) and nothing else.

use crate::btf::KernelBtf;
use crate::messages::{BtfReject, Reject};

/// The store of `size` bytes at `off` into the object of type `btf_id`.
pub(crate) fn nf_conn_write(btf: &KernelBtf, btf_id: u32, off: i64, size: i64) -> Result<(), Reject> {
    let refuse = |line: String| -> Reject { BtfReject::NfConnWrite(line).into() };
    let name = crate::btf::type_name(&btf.0, btf_id);
    if name != "nf_conn" && name != "nf_conn___init" {
        return Err(refuse("only read is supported".into()));
    }
    // both names share one layout: the mark's place in `struct nf_conn`
    let mark = btf
        .0
        .find_by_name_kind("nf_conn", kbpf_elf::btf::Kind::Struct)
        .and_then(|id| btf.0.members(id)?.iter().find(|m| m.name == "mark").cloned())
        .and_then(|m| Some(((m.offset / 8) as i64, btf.0.size_of(m.type_id)? as i64)));
    match mark {
        Some((at, len)) if at == off => {
            let end = at + len;
            if off + size > end {
                return Err(refuse(format!(
                    "write access at off {off} with size {size} beyond the member of nf_conn ended at {end}"
                )));
            }
            Ok(())
        }
        _ => Err(refuse(format!("no write support to nf_conn at off {off}"))),
    }
}
