//! The kfunc prototypes a verification may call, indexed by BTF id once when the table is built
//! (`bpf_kfunc_desc_tab` is the kernel's sorted equivalent). Cloning shares the table, so a
//! caller that verifies many programs builds it once and hands out clones.

use std::collections::HashMap;
use std::sync::Arc;

use crate::KfuncDecl;

/// kfunc prototypes with lookup by BTF id.
#[derive(Clone, Debug, Default)]
pub struct KfuncTable {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    decls: Vec<KfuncDecl>,
    by_id: HashMap<i32, usize>,
}

impl KfuncTable {
    /// Indexes `decls`; a later declaration of the same BTF id is ignored, as a linear search
    /// from the front would have.
    pub fn new(decls: Vec<KfuncDecl>) -> KfuncTable {
        let mut by_id = HashMap::with_capacity(decls.len());
        for (i, d) in decls.iter().enumerate() {
            by_id.entry(d.btf_id).or_insert(i);
        }
        KfuncTable { inner: Arc::new(Inner { decls, by_id }) }
    }

    /// This table with `extra` prototypes added (ids already present keep their prototype):
    /// the target kernel's kfuncs one program calls.
    pub fn with(&self, extra: Vec<KfuncDecl>) -> KfuncTable {
        if extra.is_empty() {
            return self.clone();
        }
        let mut decls = self.inner.decls.clone();
        decls.extend(extra);
        KfuncTable::new(decls)
    }

    /// The prototype with BTF id `btf_id`.
    pub fn get(&self, btf_id: i32) -> Option<&KfuncDecl> {
        self.inner.by_id.get(&btf_id).map(|&i| &self.inner.decls[i])
    }

    /// Every prototype, in the order given.
    pub fn iter(&self) -> std::slice::Iter<'_, KfuncDecl> {
        self.inner.decls.iter()
    }

    /// No prototypes.
    pub fn is_empty(&self) -> bool {
        self.inner.decls.is_empty()
    }

    /// Number of prototypes.
    pub fn len(&self) -> usize {
        self.inner.decls.len()
    }
}

/// Equal when they declare the same prototypes in the same order (the index follows from them).
impl PartialEq for KfuncTable {
    fn eq(&self, other: &KfuncTable) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.decls == other.inner.decls
    }
}

impl Eq for KfuncTable {}

impl From<Vec<KfuncDecl>> for KfuncTable {
    fn from(decls: Vec<KfuncDecl>) -> KfuncTable {
        KfuncTable::new(decls)
    }
}

impl<'a> IntoIterator for &'a KfuncTable {
    type Item = &'a KfuncDecl;
    type IntoIter = std::slice::Iter<'a, KfuncDecl>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(btf_id: i32, name: &str) -> KfuncDecl {
        KfuncDecl { btf_id, name: name.into(), ..Default::default() }
    }

    #[test]
    fn lookup_by_id_keeps_the_first() {
        let t = KfuncTable::new(vec![decl(7, "a"), decl(3, "b"), decl(7, "c")]);
        assert_eq!(t.get(7).map(|d| d.name.as_str()), Some("a"));
        assert_eq!(t.get(3).map(|d| d.name.as_str()), Some("b"));
        assert!(t.get(4).is_none());
        assert_eq!(t.len(), 3);
        let shared = t.clone();
        assert!(std::ptr::eq(shared.get(3).unwrap(), t.get(3).unwrap()));
    }
}
