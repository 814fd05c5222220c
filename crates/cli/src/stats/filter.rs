//! veristat's `-f` filters: `OBJ-GLOB[/PROG-GLOB]` allows, a leading `!` denies, `@FILE` reads
//! one filter a line (`#` starts a comment line). Globs know only `*`.

use std::path::Path;

struct Filter {
    file: String,
    prog: Option<String>,
}

/// The allow and deny lists.
#[derive(Default)]
pub struct Filters {
    allow: Vec<Filter>,
    deny: Vec<Filter>,
}

impl Filters {
    /// Parses the `-f` arguments (reading `@FILE`s).
    pub fn parse(args: &[String]) -> Result<Filters, String> {
        let mut f = Filters::default();
        for a in args {
            match a.strip_prefix('@') {
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| format!("-f @{path}: {e}"))?;
                    for line in text.lines().map(str::trim) {
                        if !line.is_empty() && !line.starts_with('#') {
                            f.add(line);
                        }
                    }
                }
                None => f.add(a),
            }
        }
        Ok(f)
    }

    fn add(&mut self, spec: &str) {
        let (list, spec) = match spec.strip_prefix('!') {
            Some(rest) => (&mut self.deny, rest),
            None => (&mut self.allow, spec),
        };
        let filter = match spec.split_once('/') {
            Some((file, prog)) => Filter { file: file.into(), prog: Some(prog.into()) },
            None => Filter { file: spec.into(), prog: None },
        };
        list.push(filter);
    }

    /// Whether any program of the file may pass (a deny without a program glob drops it).
    pub fn file(&self, file: &str) -> bool {
        if self.deny.iter().any(|f| f.prog.is_none() && glob(&f.file, file)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|f| glob(&f.file, file))
    }

    /// Whether the program passes.
    pub fn prog(&self, file: &str, prog: &str) -> bool {
        let hit = |f: &Filter| glob(&f.file, file) && f.prog.as_deref().is_none_or(|p| glob(p, prog));
        if self.deny.iter().any(hit) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(hit)
    }
}

/// The name filters match: the file's base name, as veristat uses.
pub fn base_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    // the classic two-pointer match with one backtrack point
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*.bpf.o", "x.bpf.o"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("a**", "a"));
        assert!(!glob("abc", "ab"));
    }

    #[test]
    fn allow_and_deny() {
        let f = Filters::parse(&["x*.o/prog_*".into(), "!x2.o".into(), "!*/prog_bad".into()]).unwrap();
        assert!(f.file("x1.o") && !f.file("x2.o") && !f.file("y.o"));
        assert!(f.prog("x1.o", "prog_a"));
        assert!(!f.prog("x1.o", "prog_bad"));
        assert!(!f.prog("x1.o", "other"));
    }
}
