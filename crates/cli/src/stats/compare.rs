//! `-C BASE.csv COMP.csv`: reads two CSVs (kbpf's or veristat's own: the header names the
//! stats) and joins them by file and program, like veristat's comparison mode.

use std::path::Path;

use super::defs::{self, Row, SortKey, Stat, Value, Variant};
use super::filter::Filters;

/// One CSV: its columns and rows.
pub struct Table {
    pub stats: Vec<Stat>,
    pub rows: Vec<Row>,
}

/// Reads a stats CSV; rows the filters drop are left out.
pub fn read_csv(path: &Path, filters: &Filters) -> Result<Table, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or_else(|| format!("{name}: empty file (no CSV header)"))?;
    let stats = header
        .split(',')
        .map(|h| {
            Stat::by_name(h.trim())
                .ok_or_else(|| format!("{name}: unrecognized stat name '{}' in the header", h.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !stats.contains(&Stat::FileName) || !stats.contains(&Stat::ProgName) {
        return Err(format!("{name}: the header has no file_name and prog_name columns"));
    }
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != stats.len() {
            return Err(format!(
                "{name}: row #{} has {} columns, the header {}",
                n + 1,
                fields.len(),
                stats.len()
            ));
        }
        let mut row = Row::default();
        for (&s, f) in stats.iter().zip(fields) {
            let f = f.trim();
            let v =
                if s.def().text {
                    Value::Str(f.to_string())
                } else {
                    Value::Num(f.parse().map_err(|_| {
                        format!("{name}: row #{}: '{f}' is not an integer ({})", n + 1, s.name())
                    })?)
                };
            row.set(s, v);
        }
        if filters.prog(row.str(Stat::FileName), row.str(Stat::ProgName)) {
            rows.push(row);
        }
    }
    Ok(Table { stats, rows })
}

/// A joined row: the base's and the comparison's (`None`: not in that file).
pub struct Pair {
    pub base: Option<Row>,
    pub comp: Option<Row>,
}

/// The columns both files have (or `emit`'s, each of which both must have), in the base's order.
pub fn common_stats(base: &Table, comp: &Table, emit: Option<&[Stat]>) -> Result<Vec<Stat>, String> {
    match emit {
        Some(e) => {
            for s in e {
                if !base.stats.contains(s) || !comp.stats.contains(s) {
                    return Err(format!("-e {}: not a column of both CSVs", s.name()));
                }
            }
            let mut v = vec![Stat::FileName, Stat::ProgName];
            v.extend(e.iter().filter(|s| !s.is_key()));
            Ok(v)
        }
        None => Ok(base.stats.iter().copied().filter(|s| comp.stats.contains(s)).collect()),
    }
}

/// Joins by (file, program): both sorted, then merged.
pub fn join(mut base: Vec<Row>, mut comp: Vec<Row>) -> Vec<Pair> {
    base.sort_by(defs::key_cmp);
    comp.sort_by(defs::key_cmp);
    let mut out = Vec::new();
    let (mut b, mut c) = (base.into_iter().peekable(), comp.into_iter().peekable());
    loop {
        let order = match (b.peek(), c.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => defs::key_cmp(x, y),
        };
        out.push(match order {
            std::cmp::Ordering::Less => Pair { base: b.next(), comp: None },
            std::cmp::Ordering::Greater => Pair { base: None, comp: c.next() },
            std::cmp::Ordering::Equal => Pair { base: b.next(), comp: c.next() },
        });
    }
    out
}

/// The three cells of a non-key stat: base, comparison, and the difference veristat prints
/// (`MATCH`/`MISMATCH` for strings, `%+d (%+.2f%%)` for numbers; a missing row counts as 0,
/// a change from 0 as 100%, no change as 0%).
pub fn cells(p: &Pair, s: Stat) -> [String; 3] {
    let missing = p.base.is_none() || p.comp.is_none();
    let get = |r: &Option<Row>| r.as_ref().and_then(|r| r.get(s).cloned());
    let (b, c) = (get(&p.base), get(&p.comp));
    if s.def().text {
        let b = b.map_or("N/A".to_string(), |v| v.render());
        let c = c.map_or("N/A".to_string(), |v| v.render());
        let d = if b == c { "MATCH" } else { "MISMATCH" };
        return [b, c, d.into()];
    }
    let num = |v: Option<Value>| match v {
        Some(Value::Num(n)) => n,
        _ => 0,
    };
    let (b, c) = (num(b), num(c));
    let diff = c.saturating_sub(b);
    let pct = if b == c {
        0.0
    } else if missing || b == 0 {
        if c < b { -100.0 } else { 100.0 }
    } else {
        diff as f64 * 100.0 / b as f64
    };
    [b.to_string(), c.to_string(), format!("{diff:+} ({pct:+.2}%)")]
}

/// The file and program of a joined row.
pub fn key(p: &Pair, s: Stat) -> String {
    p.base.as_ref().or(p.comp.as_ref()).map_or(String::new(), |r| r.str(s).to_string())
}

/// The value a sort key reads from a joined row (a missing side counts as 0, or empty).
fn sort_value(p: &Pair, k: &SortKey) -> Value {
    let side = |r: &Option<Row>| {
        r.as_ref().and_then(|r| r.get(k.stat).cloned()).unwrap_or(if k.stat.def().text {
            Value::Str(String::new())
        } else {
            Value::Num(0)
        })
    };
    let num = |v: Value| if let Value::Num(n) = v { n } else { 0 };
    match k.variant {
        Variant::A => side(&p.base),
        Variant::B => side(&p.comp),
        _ if k.stat.def().text => side(&p.base),
        Variant::Diff => Value::Num(num(side(&p.comp)).saturating_sub(num(side(&p.base)))),
        Variant::Pct => {
            let (b, c) = (num(side(&p.base)), num(side(&p.comp)));
            // in hundredths of a percent, as printed
            let pct = if b == c {
                0.0
            } else if b == 0 {
                100.0f64.copysign((c - b) as f64)
            } else {
                (c - b) as f64 * 100.0 / b as f64
            };
            Value::Num((pct * 100.0).round() as i64)
        }
    }
}

/// Sorts joined rows by `keys`, then by file and program.
pub fn sort_pairs(pairs: &mut [Pair], keys: &[SortKey]) {
    let key_row = |p: &Pair| p.base.clone().or_else(|| p.comp.clone()).unwrap_or_default();
    pairs.sort_by(|x, y| {
        keys.iter()
            .map(|k| {
                let o = match (sort_value(x, k), sort_value(y, k)) {
                    (Value::Num(a), Value::Num(b)) => a.cmp(&b),
                    (a, b) => a.render().cmp(&b.render()),
                };
                if k.asc { o } else { o.reverse() }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| defs::key_cmp(&key_row(x), &key_row(y)))
    });
}
