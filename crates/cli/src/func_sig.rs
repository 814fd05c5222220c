//! A function's prototype as `bpftool` prints it before a subprogram's first instruction when
//! the program has BTF func_info (`btf_dumper_type_only`): `int foo(struct __sk_buff * skb)`,
//! every type name followed by a space, a pointer by `* `.

use kbpf::elf::btf::{Btf, BtfType};

/// The prototype of `FUNC` `name`, or `None` where bpftool prints none (a type it does not
/// print, such as a type tag).
pub fn func_sig(btf: &Btf, name: &str) -> Option<String> {
    let (id, _) = btf.func_by_name(name)?;
    let mut out = String::new();
    write_type(btf, id, &mut out, 0)?;
    Some(out)
}

/// Deep enough for any real chain of pointers and qualifiers; a loop in the BTF stops here.
const MAX_DEPTH: usize = 32;

fn write_type(btf: &Btf, id: u32, out: &mut String, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    if id == 0 {
        out.push_str("void ");
        return Some(());
    }
    let next = |out: &mut String, t: u32| write_type(btf, t, out, depth + 1);
    match btf.get(id)? {
        BtfType::Void => out.push_str("void "),
        BtfType::Int { name, .. } | BtfType::Typedef { name, .. } | BtfType::Float { name, .. } => {
            out.push_str(&format!("{name} "))
        }
        BtfType::Struct { name, .. } => out.push_str(&format!("struct {name} ")),
        BtfType::Union { name, .. } => out.push_str(&format!("union {name} ")),
        BtfType::Enum { name, .. } | BtfType::Enum64 { name, .. } => out.push_str(&format!("enum {name} ")),
        BtfType::Array { elem, nelems, .. } => {
            next(out, *elem)?;
            out.push_str(&format!("[{nelems}]"));
        }
        BtfType::Ptr { type_id } => {
            next(out, *type_id)?;
            out.push_str("* ");
        }
        BtfType::Fwd { name, union } => {
            out.push_str(&format!("{} {name} ", if *union { "union" } else { "struct" }))
        }
        BtfType::Volatile { type_id } => {
            out.push_str("volatile ");
            next(out, *type_id)?;
        }
        BtfType::Const { type_id } => {
            out.push_str("const ");
            next(out, *type_id)?;
        }
        BtfType::Restrict { type_id } => {
            out.push_str("restrict ");
            next(out, *type_id)?;
        }
        BtfType::FuncProto { ret, params, variadic } => {
            write_func(btf, None, *ret, params, *variadic, out, depth)?
        }
        BtfType::Func { name, proto, .. } => match btf.get(*proto)? {
            BtfType::FuncProto { ret, params, variadic } => {
                write_func(btf, Some(name), *ret, params, *variadic, out, depth)?
            }
            _ => return None,
        },
        BtfType::Var { .. } | BtfType::DataSec { .. } | BtfType::DeclTag { .. } | BtfType::TypeTag { .. } => {
            return None;
        }
    }
    Some(())
}

/// `ret name(type name, ...)`; an unnamed parameter loses the space after its type.
fn write_func(
    btf: &Btf,
    name: Option<&str>,
    ret: u32,
    params: &[kbpf::elf::btf::Member],
    variadic: bool,
    out: &mut String,
    depth: usize,
) -> Option<()> {
    write_type(btf, ret, out, depth + 1)?;
    out.push_str(&format!("{}(", name.unwrap_or_default()));
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_type(btf, p.type_id, out, depth + 1)?;
        if !p.name.is_empty() {
            out.push_str(&p.name);
        } else if out.ends_with(' ') {
            out.pop();
        }
    }
    if variadic {
        out.push_str(if params.is_empty() { "..." } else { ", ..." });
    }
    out.push(')');
    Some(())
}

#[cfg(test)]
mod tests {
    use super::func_sig;
    use kbpf::elf::btf::{Btf, BtfBuilder, BtfType, IntEncoding, Linkage, Member};

    fn param(name: &str, type_id: u32) -> Member {
        Member { name: name.into(), type_id, offset: 0, bitfield_size: 0 }
    }

    #[test]
    fn prototypes_print_as_bpftool_does() {
        let mut b = BtfBuilder::new();
        let int = b.add(BtfType::Int {
            name: "int".into(),
            size: 4,
            encoding: IntEncoding::Signed,
            offset: 0,
            bits: 32,
        });
        let skb =
            b.add(BtfType::Struct { name: "__sk_buff".into(), size: 0, members: vec![], kind_flag: false });
        let ptr = b.add(BtfType::Ptr { type_id: skb });
        let cptr = b.add(BtfType::Const { type_id: ptr });
        let vptr = b.add(BtfType::Ptr { type_id: 0 });
        let proto = b.add(BtfType::FuncProto {
            ret: int,
            params: vec![param("skb", ptr), param("", cptr)],
            variadic: false,
        });
        b.add(BtfType::Func { name: "foo".into(), proto, linkage: Linkage::Global });
        let proto = b.add(BtfType::FuncProto { ret: vptr, params: vec![], variadic: false });
        b.add(BtfType::Func { name: "bar".into(), proto, linkage: Linkage::Static });
        let btf = Btf::parse(&b.build()).expect("parses");
        assert_eq!(
            func_sig(&btf, "foo").as_deref(),
            Some("int foo(struct __sk_buff * skb, const struct __sk_buff *)")
        );
        assert_eq!(func_sig(&btf, "bar").as_deref(), Some("void * bar()"));
        assert_eq!(func_sig(&btf, "baz"), None);
    }
}
