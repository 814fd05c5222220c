//! veristat's `-f` filters. A name filter is `GLOB` (matching the file or the program name),
//! `FILE-GLOB/PROG-GLOB` (an empty side matches anything); a stat filter is `STAT OP VALUE`
//! with veristat's operators (`==` or `=`, `!=` or `<>`, `<`, `<=`, `>`, `>=`), a numeric stat
//! (the verdict counts as 0 failure, 1 success) and an integer or one of veristat's aliases
//! (`true`/`t`/`success`/`succ`/`s`/`match`/`m` = 1, `false`/`f`/`failure`/`fail`/`mismatch`/
//! `mis` = 0); in a comparison the stat may carry `_a`, `_b`, `_diff` or `_pct`. A leading `!`
//! denies, `@FILE` reads one filter a line (`#` starts a comment line). Globs know only `*`. A
//! program passes when no deny filter matches it and, if there are allow filters of a kind
//! (names, stats), one of that kind matches. One departure: a deny `FILE/PROG` needs both
//! sides to match (veristat's needs either).

use std::path::Path;

use super::compare::Pair;
use super::defs::{Row, Stat, Value, Variant};

/// A name filter.
struct Names {
    /// Matches either name (`GLOB` without `/`).
    any: Option<String>,
    file: Option<String>,
    prog: Option<String>,
}

/// A comparison operator of a stat filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// veristat's spellings, longest first so `<` does not take part of `<=` or `<>`.
const OPS: &[(&str, Op)] = &[
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<>", Op::Ne),
    ("<=", Op::Le),
    ("<", Op::Lt),
    (">=", Op::Ge),
    (">", Op::Gt),
    ("=", Op::Eq),
];

/// A stat filter.
#[derive(Debug, PartialEq)]
struct StatFilter {
    stat: Stat,
    variant: Variant,
    op: Op,
    value: i64,
}

impl StatFilter {
    fn holds(&self, v: f64) -> bool {
        // veristat compares comparison values (percentages) with this tolerance
        const EPS: f64 = 1e-9;
        let x = self.value as f64;
        match self.op {
            Op::Eq => v > x - EPS && v < x + EPS,
            Op::Ne => v < x - EPS || v > x + EPS,
            Op::Lt => v < x - EPS,
            Op::Le => v <= x + EPS,
            Op::Gt => v > x + EPS,
            Op::Ge => v >= x - EPS,
        }
    }
}

/// A filter of either kind.
enum Filter {
    Names(Names),
    Stat(StatFilter),
}

/// The allow and deny lists.
#[derive(Default)]
pub struct Filters {
    allow: Vec<Filter>,
    deny: Vec<Filter>,
}

/// A stat's numeric value in a row: the verdict is 1 for success.
fn num(row: &Row, s: Stat) -> Option<f64> {
    match (s, row.get(s)?) {
        (Stat::Verdict, v) => Some(if v.render() == "success" { 1.0 } else { 0.0 }),
        (_, Value::Num(n)) => Some(*n as f64),
        (_, Value::Str(_)) => None,
    }
}

fn parse_value(v: &str, spec: &str) -> Result<i64, String> {
    let v = v.trim().to_ascii_lowercase();
    Ok(match v.as_str() {
        "true" | "t" | "success" | "succ" | "s" | "match" | "m" => 1,
        "false" | "f" | "failure" | "fail" | "mismatch" | "mis" => 0,
        _ => v.parse().map_err(|_| format!("-f: invalid integer value in '{spec}'"))?,
    })
}

fn parse_stat_filter(spec: &str) -> Result<Option<StatFilter>, String> {
    let Some((at, op_str, op)) = OPS.iter().find_map(|&(t, op)| spec.find(t).map(|at| (at, t, op))) else {
        return Ok(None);
    };
    let name = spec[..at].trim();
    // a plain name is the comparison's value in `-C`, as in veristat
    let (stat, variant) = match Stat::by_name(name) {
        Some(s) => (s, Variant::B),
        None => super::defs::split_variant(name)
            .ok_or_else(|| format!("-f: unrecognized stat name in '{spec}'"))?,
    };
    if stat.def().text && stat != Stat::Verdict {
        return Err(format!("-f: non-integer stat is specified in '{spec}'"));
    }
    let value = parse_value(&spec[at + op_str.len()..], spec)?;
    Ok(Some(StatFilter { stat, variant, op, value }))
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
                            f.add(line)?;
                        }
                    }
                }
                None => f.add(a)?,
            }
        }
        Ok(f)
    }

    fn add(&mut self, spec: &str) -> Result<(), String> {
        let (list, spec) = match spec.strip_prefix('!') {
            Some(rest) => (&mut self.deny, rest),
            None => (&mut self.allow, spec),
        };
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let filter = match parse_stat_filter(spec)? {
            Some(sf) => Filter::Stat(sf),
            None => Filter::Names(match spec.split_once('/') {
                Some((file, prog)) => Names { any: None, file: nonempty(file), prog: nonempty(prog) },
                None => Names { any: Some(spec.into()), file: None, prog: None },
            }),
        };
        list.push(filter);
        Ok(())
    }

    fn names(list: &[Filter]) -> impl Iterator<Item = &Names> {
        list.iter().filter_map(|f| if let Filter::Names(n) = f { Some(n) } else { None })
    }

    fn stats(list: &[Filter]) -> impl Iterator<Item = &StatFilter> {
        list.iter().filter_map(|f| if let Filter::Stat(s) = f { Some(s) } else { None })
    }

    /// Whether the program passes the name filters; `prog` is `None` before the file is
    /// opened (then whether any program of it may pass).
    fn passes_names(&self, file: &str, prog: Option<&str>) -> bool {
        let matches = |g: &Option<String>, s: Option<&str>| match (g, s) {
            (Some(g), Some(s)) => glob(g, s),
            _ => false,
        };
        // `FILE/PROG` denies the programs matching both sides (veristat denies on either, which
        // makes `!*/prog` deny everything)
        let denied = Self::names(&self.deny).any(|n| match &n.any {
            Some(_) => matches(&n.any, Some(file)) || matches(&n.any, prog),
            None => {
                n.file.as_deref().is_none_or(|g| glob(g, file))
                    && n.prog.as_ref().is_none_or(|_| matches(&n.prog, prog))
            }
        });
        if denied {
            return false;
        }
        let mut allows = Self::names(&self.allow).peekable();
        if allows.peek().is_none() {
            return true;
        }
        allows.any(|n| match &n.any {
            Some(g) => glob(g, file) || prog.is_none_or(|p| glob(g, p)),
            None => {
                n.file.as_deref().is_none_or(|g| glob(g, file))
                    && n.prog.as_deref().is_none_or(|g| prog.is_none_or(|p| glob(g, p)))
            }
        })
    }

    /// Whether any program of the file may pass.
    pub fn file(&self, file: &str) -> bool {
        self.passes_names(file, None)
    }

    /// Whether the program passes the name filters.
    pub fn prog(&self, file: &str, prog: &str) -> bool {
        self.passes_names(file, Some(prog))
    }

    /// Whether a verified program's stats pass the stat filters.
    pub fn row(&self, row: &Row) -> bool {
        self.passes_stats(|f| num(row, f.stat))
    }

    /// Whether a joined row of a comparison passes the stat filters: a side missing from its
    /// CSV fails every comparison, as veristat's `-DBL_MAX` does.
    pub fn pair(&self, p: &Pair) -> bool {
        self.passes_stats(|f| {
            let side = |r: &Option<Row>| r.as_ref().and_then(|r| num(r, f.stat));
            let (a, b) = (side(&p.base), side(&p.comp));
            match f.variant {
                Variant::A => a,
                Variant::B => b,
                Variant::Diff if f.stat == Stat::Verdict => Some(if a? == b? { 1.0 } else { 0.0 }),
                Variant::Diff => Some(b? - a?),
                Variant::Pct => {
                    let (a, b) = (a?, b?);
                    Some(if a == 0.0 {
                        if a == b { 0.0 } else { 100.0f64.copysign(b - a) }
                    } else {
                        (b - a) * 100.0 / a
                    })
                }
            }
        })
    }

    fn passes_stats(&self, value: impl Fn(&StatFilter) -> Option<f64>) -> bool {
        let hit = |f: &StatFilter| value(f).is_some_and(|v| f.holds(v));
        if Self::stats(&self.deny).any(hit) {
            return false;
        }
        let mut allows = Self::stats(&self.allow).peekable();
        allows.peek().is_none() || allows.any(hit)
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

    fn row(verdict: &str, insns: i64) -> Row {
        let mut r = Row::default();
        r.set(Stat::Verdict, Value::Str(verdict.into()));
        r.set(Stat::TotalInsns, Value::Num(insns));
        r
    }

    #[test]
    fn stat_filters() {
        let f = Filters::parse(&["insns>1000".into(), "verdict=failure".into()]).unwrap();
        assert!(f.row(&row("success", 1001)) && f.row(&row("failure", 3)));
        assert!(!f.row(&row("success", 1000)));
        let f = Filters::parse(&["!verdict==s".into(), "total_insns<>5".into()]).unwrap();
        assert!(f.row(&row("failure", 4)) && !f.row(&row("failure", 5)) && !f.row(&row("success", 4)));
        let f = Filters::parse(&["insns<=10".into(), "insns>=20".into()]).unwrap();
        assert!(f.row(&row("success", 10)) && f.row(&row("success", 20)) && !f.row(&row("success", 15)));
        // stat filters leave the name filters alone, and the other way round
        assert!(f.prog("a.o", "p"));
        for bad in ["nope>1", "insns>x", "prog_type=xdp", "insns_diff>"] {
            assert!(Filters::parse(&[bad.into()]).is_err(), "{bad}");
        }
        let p = Pair { base: Some(row("success", 100)), comp: Some(row("failure", 150)) };
        let ok = |s: &str| Filters::parse(&[s.into()]).unwrap().pair(&p);
        assert!(ok("insns_diff=50") && ok("insns_pct>49") && ok("insns_a<101") && ok("insns>149"));
        assert!(ok("verdict_diff=mismatch") && !ok("verdict_diff=match") && !ok("insns_pct>50"));
        let half = Pair { base: None, comp: Some(row("success", 1)) };
        assert!(!Filters::parse(&["insns_a<100".into()]).unwrap().pair(&half));
    }

    #[test]
    fn a_bare_glob_matches_either_name() {
        let f = Filters::parse(&["prog_*".into()]).unwrap();
        assert!(f.file("x.o") && f.prog("x.o", "prog_a") && !f.prog("x.o", "other"));
        assert!(f.prog("prog_x.o", "other"));
        let f = Filters::parse(&["/only".into(), "!x*.o/".into()]).unwrap();
        assert!(f.prog("a.o", "only") && !f.prog("a.o", "other") && !f.prog("x1.o", "only"));
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
