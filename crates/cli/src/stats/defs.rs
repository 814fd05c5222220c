//! The stats `kbpf stats` reports: veristat's, under veristat's headers and names (the first
//! name is the CSV header), plus kbpf-only ones whose names start with `kbpf_`.

use std::cmp::Ordering;

/// One statistic (a column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stat {
    FileName,
    ProgName,
    Verdict,
    Duration,
    TotalInsns,
    TotalStates,
    PeakStates,
    MaxStatesPerInsn,
    MarkRead,
    ProgSize,
    JitedSize,
    ProgType,
    AttachType,
    StackDepth,
    MemPeak,
    /// kbpf's finer verdict: accepted, rejected, unsupported (a feature kbpf does not model),
    /// bug (a kbpf invariant failed), loader (the loader refused the program), unmodelled (a
    /// program type kbpf does not verify), accepted_unrunnable (accepted, but the engine lacks
    /// a helper or kfunc it calls).
    KbpfOutcome,
    /// The errno name of a refusal (`EACCES`, `EINVAL` ...), `-` when accepted.
    KbpfErrno,
}

/// How a stat is defined.
pub struct Def {
    pub stat: Stat,
    /// The table header.
    pub header: &'static str,
    /// Names `-e`, `-s`, `-f` and CSV headers accept; the first is the one written.
    pub names: &'static [&'static str],
    /// Sorted ascending unless told otherwise (names, the verdict); numbers sort descending.
    pub asc: bool,
    /// A string (left-aligned, compared as MATCH/MISMATCH), else a number.
    pub text: bool,
    /// Whether kbpf measures it (a veristat CSV may carry the others; kbpf does not emit them).
    pub measured: bool,
}

const fn def(stat: Stat, header: &'static str, names: &'static [&'static str], asc: bool, text: bool) -> Def {
    Def { stat, header, names, asc, text, measured: true }
}

/// Every stat, in veristat's CSV order, then kbpf's own.
pub const DEFS: &[Def] = &[
    def(Stat::FileName, "File", &["file_name", "filename", "file"], true, true),
    def(Stat::ProgName, "Program", &["prog_name", "progname", "prog"], true, true),
    def(Stat::Verdict, "Verdict", &["verdict"], true, true),
    def(Stat::Duration, "Duration (us)", &["duration", "dur"], false, false),
    def(Stat::TotalInsns, "Total insns", &["total_insns", "insns"], false, false),
    def(Stat::TotalStates, "Total states", &["total_states", "states"], false, false),
    def(Stat::PeakStates, "Peak states", &["peak_states"], false, false),
    def(Stat::MaxStatesPerInsn, "Max states per insn", &["max_states_per_insn"], false, false),
    def(Stat::MarkRead, "Max mark read length", &["max_mark_read_len", "mark_read"], false, false),
    def(Stat::ProgSize, "Program size", &["prog_size"], false, false),
    // kbpf does not JIT while it verifies, nor run in a memory cgroup
    Def { measured: false, ..def(Stat::JitedSize, "Jited size", &["prog_size_jited"], false, false) },
    def(Stat::ProgType, "Program type", &["prog_type"], true, true),
    def(Stat::AttachType, "Attach type", &["attach_type"], true, true),
    def(Stat::StackDepth, "Stack depth", &["stack_depth", "stack"], false, false),
    Def { measured: false, ..def(Stat::MemPeak, "Peak memory (MiB)", &["mem_peak"], false, false) },
    def(Stat::KbpfOutcome, "kbpf outcome", &["kbpf_outcome"], true, true),
    def(Stat::KbpfErrno, "kbpf errno", &["kbpf_errno"], true, true),
];

impl Stat {
    pub fn def(self) -> &'static Def {
        DEFS.iter().find(|d| d.stat == self).expect("every stat has a definition")
    }

    pub fn name(self) -> &'static str {
        self.def().names[0]
    }

    /// The file and program: one column in a comparison, the join key.
    pub fn is_key(self) -> bool {
        matches!(self, Stat::FileName | Stat::ProgName)
    }

    pub fn by_name(name: &str) -> Option<Stat> {
        DEFS.iter().find(|d| d.names.contains(&name)).map(|d| d.stat)
    }
}

/// veristat's default table columns, without the jited size kbpf does not measure.
pub const DEFAULT_TABLE: &[Stat] = &[
    Stat::FileName,
    Stat::ProgName,
    Stat::Verdict,
    Stat::Duration,
    Stat::TotalInsns,
    Stat::TotalStates,
    Stat::ProgSize,
];

/// Every measured stat: the CSV and JSON default.
pub fn all_measured() -> Vec<Stat> {
    DEFS.iter().filter(|d| d.measured).map(|d| d.stat).collect()
}

/// A cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Num(i64),
    Str(String),
}

impl Value {
    pub fn render(&self) -> String {
        match self {
            Value::Num(n) => n.to_string(),
            Value::Str(s) => s.clone(),
        }
    }

    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Num(a), Value::Num(b)) => a.cmp(b),
            (a, b) => a.render().cmp(&b.render()),
        }
    }
}

/// One program's stats, by stat (absent: not measured or not in the CSV read).
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub cells: Vec<(Stat, Value)>,
}

impl Row {
    pub fn get(&self, s: Stat) -> Option<&Value> {
        self.cells.iter().find(|(k, _)| *k == s).map(|(_, v)| v)
    }

    pub fn set(&mut self, s: Stat, v: Value) {
        match self.cells.iter_mut().find(|(k, _)| *k == s) {
            Some(c) => c.1 = v,
            None => self.cells.push((s, v)),
        }
    }

    pub fn str(&self, s: Stat) -> &str {
        match self.get(s) {
            Some(Value::Str(v)) => v,
            _ => "",
        }
    }

    pub fn num(&self, s: Stat) -> i64 {
        match self.get(s) {
            Some(Value::Num(n)) => *n,
            _ => 0,
        }
    }
}

/// Which value of a stat a comparison sorts by: the base's (`NAME` or `NAME_a`), the
/// comparison's (`NAME_b`), their difference (`NAME_diff`) or relative difference (`NAME_pct`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    A,
    B,
    Diff,
    Pct,
}

/// A stat with its sort direction.
#[derive(Clone, Copy, Debug)]
pub struct SortKey {
    pub stat: Stat,
    pub asc: bool,
    pub variant: Variant,
}

/// Parses `-e`: comma-separated stat names.
pub fn parse_emit(spec: &str) -> Result<Vec<Stat>, String> {
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|n| {
            let n = n.trim();
            let stat = Stat::by_name(n).ok_or_else(|| unknown(n))?;
            if !stat.def().measured {
                return Err(format!(
                    "kbpf stats does not measure '{n}' (it neither JITs nor runs in a memory cgroup); -C reads it from a veristat CSV"
                ));
            }
            Ok(stat)
        })
        .collect()
}

/// Parses `-s`: comma-separated `NAME[_a|_b|_diff|_pct][:asc|:desc]` (the suffixes only
/// with `-C`).
pub fn parse_sort(spec: &str) -> Result<Vec<SortKey>, String> {
    spec.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|n| {
            let n = n.trim();
            let (name, dir) = match n.rsplit_once(':') {
                Some((name, "asc")) => (name, Some(true)),
                Some((name, "desc")) => (name, Some(false)),
                Some(_) => return Err(format!("bad sort order in '{n}' (NAME, NAME:asc or NAME:desc)")),
                None => (n, None),
            };
            let (stat, variant) = match Stat::by_name(name) {
                Some(s) => (s, Variant::A),
                None => split_variant(name).ok_or_else(|| unknown(name))?,
            };
            Ok(SortKey { stat, asc: dir.unwrap_or(stat.def().asc), variant })
        })
        .collect()
}

/// `NAME_a`, `NAME_b`, `NAME_diff` or `NAME_pct`: the stat and the variant.
pub fn split_variant(name: &str) -> Option<(Stat, Variant)> {
    [("_a", Variant::A), ("_b", Variant::B), ("_diff", Variant::Diff), ("_pct", Variant::Pct)]
        .into_iter()
        .find_map(|(sfx, v)| Some((Stat::by_name(name.strip_suffix(sfx)?)?, v)))
}

fn unknown(n: &str) -> String {
    let names: Vec<&str> = DEFS.iter().map(|d| d.names[0]).collect();
    format!("unrecognized stat name '{n}' (known: {})", names.join(", "))
}

/// Sorts rows by `keys`, then by file and program (a stable, total order).
pub fn sort(rows: &mut [Row], keys: &[SortKey]) {
    rows.sort_by(|a, b| order(a, b, keys));
}

/// The order `keys` put two rows in, then file and program.
pub fn order(a: &Row, b: &Row, keys: &[SortKey]) -> Ordering {
    let by = |k: &SortKey| {
        let o = match (a.get(k.stat), b.get(k.stat)) {
            (Some(x), Some(y)) => x.cmp(y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        };
        if k.asc { o } else { o.reverse() }
    };
    keys.iter().map(by).find(|o| o.is_ne()).unwrap_or_else(|| key_cmp(a, b))
}

/// The join order: file, then program.
pub fn key_cmp(a: &Row, b: &Row) -> Ordering {
    a.str(Stat::FileName)
        .cmp(b.str(Stat::FileName))
        .then_with(|| a.str(Stat::ProgName).cmp(b.str(Stat::ProgName)))
}
