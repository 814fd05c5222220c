//! Printing: veristat's table (two-space columns, headers underlined with `-`, strings
//! left-aligned, numbers right-aligned, a footer), CSV (first stat names as headers) and JSON.

use super::compare::{self, Pair};
use super::defs::{Row, Stat};
use crate::color::Paint;

/// A grid of cells to print, with each column's header, CSV name and alignment.
pub struct Grid {
    pub headers: Vec<String>,
    pub names: Vec<String>,
    /// Left-aligned (strings), else right-aligned.
    pub left: Vec<bool>,
    /// The verdict column, coloured on a terminal.
    pub verdict: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

/// The grid of plain rows.
pub fn rows_grid(stats: &[Stat], rows: &[Row]) -> Grid {
    Grid {
        headers: stats.iter().map(|s| s.def().header.to_string()).collect(),
        names: stats.iter().map(|s| s.name().to_string()).collect(),
        left: stats.iter().map(|s| s.def().text).collect(),
        verdict: stats.iter().map(|s| *s == Stat::Verdict).collect(),
        rows: rows
            .iter()
            .map(|r| stats.iter().map(|&s| r.get(s).map_or(String::new(), |v| v.render())).collect())
            .collect(),
    }
}

/// The grid of a comparison: key stats once, every other stat as `(A)`, `(B)`, `(DIFF)`.
pub fn compare_grid(stats: &[Stat], pairs: &[Pair]) -> Grid {
    let mut g = Grid { headers: vec![], names: vec![], left: vec![], verdict: vec![], rows: vec![] };
    for &s in stats {
        let d = s.def();
        if s.is_key() {
            g.headers.push(d.header.into());
            g.names.push(d.names[0].into());
            g.left.push(true);
            g.verdict.push(false);
            continue;
        }
        for (t, n) in [(" (A)", "_base"), (" (B)", "_comp"), (" (DIFF)", "_diff")] {
            g.headers.push(format!("{}{t}", d.header));
            g.names.push(format!("{}{n}", d.names[0]));
            g.left.push(d.text);
            g.verdict.push(s == Stat::Verdict && n != "_diff");
        }
    }
    for p in pairs {
        let mut row = Vec::new();
        for &s in stats {
            if s.is_key() {
                row.push(compare::key(p, s));
            } else {
                row.extend(compare::cells(p, s));
            }
        }
        g.rows.push(row);
    }
    g
}

/// veristat's table; `footer` is the line after the closing underline.
pub fn table(g: &Grid, footer: Option<&str>, paint: Paint) -> String {
    let widths: Vec<usize> = (0..g.headers.len())
        .map(|i| {
            g.rows
                .iter()
                .map(|r| r[i].chars().count())
                .chain([g.headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let underline = widths.iter().map(|&w| "-".repeat(w)).collect::<Vec<_>>().join("  ") + "\n";
    let line = |cells: &[String], header: bool| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let padded = if header || g.left[i] {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                };
                if !header && g.verdict[i] { paint.verdict(c, &padded) } else { padded }
            })
            .collect();
        parts.join("  ") + "\n"
    };
    let mut out = line(&g.headers, true);
    out.push_str(&underline);
    for r in &g.rows {
        out.push_str(&line(r, false));
    }
    if !g.rows.is_empty() {
        out.push_str(&underline);
    }
    if let Some(f) = footer {
        out.push_str(f);
        out.push('\n');
    }
    out
}

/// CSV: the names, then the cells.
pub fn csv(g: &Grid) -> String {
    let mut out = g.names.join(",") + "\n";
    for r in &g.rows {
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out
}

/// A JSON array of objects keyed by the CSV names; numbers stay numbers.
pub fn json(g: &Grid) -> String {
    let objs: Vec<String> = g
        .rows
        .iter()
        .map(|r| {
            let fields: Vec<String> = g
                .names
                .iter()
                .zip(r)
                .zip(&g.left)
                .map(|((n, v), &left)| {
                    let v = if left || v.parse::<i64>().is_err() {
                        crate::listing::json_str(v)
                    } else {
                        v.clone()
                    };
                    format!("{}:{v}", crate::listing::json_str(n))
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    format!("[{}]\n", objs.join(",\n"))
}
