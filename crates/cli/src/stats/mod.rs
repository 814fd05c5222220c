//! `kbpf stats`: veristat's interface. Every program of every object verified (in parallel),
//! the verifier's statistics as a table, CSV or JSON; `-C` compares two CSVs (kbpf's or
//! veristat's). Verdicts come from the same path as `kbpf verify` ([`crate::verify::judge`]).

mod collect;
mod compare;
mod defs;
mod filter;
mod output;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::color::Paint;
use crate::input::KernelArg;
use defs::{Row, SortKey, Stat};

/// `-o`.
#[derive(Clone, Copy, Default, ValueEnum)]
pub enum OutArg {
    #[default]
    Table,
    Csv,
    Json,
}

/// `kbpf stats` arguments.
#[derive(Args)]
pub struct StatsArgs {
    /// ELF objects (with `-C`: exactly two CSV files, base then comparison).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output-format", value_enum, default_value = "table")]
    pub output: OutArg,
    /// Stats to emit, comma-separated (veristat's names, e.g. `file,prog,verdict,insns`; kbpf's
    /// own start with `kbpf_`). Default: veristat's table columns; CSV and JSON get every stat.
    #[arg(short = 'e', long = "emit", value_name = "SPEC")]
    pub emit: Option<String>,
    /// Sort order, comma-separated `NAME[:asc|:desc]` (default: by file, then program); with
    /// `-C`, `NAME_a`, `NAME_b`, `NAME_diff` or `NAME_pct` sort by one side or the difference.
    #[arg(short = 's', long = "sort", value_name = "SPEC")]
    pub sort: Option<String>,
    /// veristat's filters: `GLOB` (file or program name), `OBJ-GLOB/PROG-GLOB`, or a stat
    /// test `STAT OP VALUE` (`insns>1000`, `verdict=failure`; operators `= == != <> < <= > >=`;
    /// `_a`/`_b`/`_diff`/`_pct` stats with `-C`); a leading `!` excludes; `@FILE` reads one
    /// filter a line. Repeatable.
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Comparison mode: `-C BASE.csv COMP.csv` (CSV written by `kbpf stats` or by veristat).
    #[arg(short = 'C', long = "compare")]
    pub compare: bool,
    /// Print each program's verifier log (`PROCESSING FILE/PROG, ...` blocks, like veristat).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Log level of those logs (kernel bits: 1 basic, 2 verbose; 4, the statistics, is always
    /// on). Default 1 with `-v`.
    #[arg(short = 'l', long = "log-level")]
    pub log_level: Option<u32>,
    /// No progress bar (it is shown only on a terminal anyway, on stderr).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Exit 1 when a program is not accepted (for CI).
    #[arg(long)]
    pub fail_on_reject: bool,
    /// Worker threads (default: the number of cores).
    #[arg(short = 'j', long)]
    pub jobs: Option<usize>,
    /// Target kernel: `6.18` or `6.18+stack-args` (default), as for `kbpf verify`.
    #[arg(long, value_enum, default_value = "6.18+stack-args")]
    pub kernel: KernelArg,
    /// Target BTF (default: the running kernel's), as for `kbpf verify`.
    #[arg(long)]
    pub btf: Option<PathBuf>,
    /// Kernel `.config` for `__kconfig` externs, as for `kbpf verify`.
    #[arg(long)]
    pub kconfig: Option<PathBuf>,
    /// Helpers and kfuncs the programs may call.
    #[arg(long, value_enum, default_value = "testmod")]
    pub profile: crate::ProfileArg,
}

/// Runs `kbpf stats`. Exit 0, 1 with `--fail-on-reject` and a program not accepted, 2 when an
/// input cannot be read (the others are still reported).
pub fn run(args: &StatsArgs, paint: Paint) -> ExitCode {
    match run_inner(args, paint) {
        Ok(code) => code,
        Err(e) => crate::fail(e),
    }
}

fn run_inner(args: &StatsArgs, paint: Paint) -> Result<ExitCode, String> {
    let filters = filter::Filters::parse(&args.filters)?;
    let emit = args.emit.as_deref().map(defs::parse_emit).transpose()?;
    let sort: Vec<SortKey> = args.sort.as_deref().map(defs::parse_sort).transpose()?.unwrap_or_default();
    if args.compare {
        return compare_mode(args, &filters, emit.as_deref(), &sort, paint);
    }
    if let Some(k) = sort.iter().find(|k| k.variant != defs::Variant::A) {
        return Err(format!("-s: {}_a/_b/_diff/_pct sort a comparison (-C)", k.stat.name()));
    }
    let load = crate::input::load_options(args.btf.as_deref(), args.kconfig.as_deref(), &[], None)?;
    let registry = args.profile.registry();
    let plan = collect::Plan {
        load,
        registry: &registry,
        stack_args: args.kernel == KernelArg::StackArgs,
        // the stats block (4) always: the duration and stack depth come from it
        log_level: args.log_level.unwrap_or(if args.verbose { 1 } else { 4 }) | 4,
        kernel_config: crate::verify::target_kernel_config(args.kconfig.as_deref())?,
        jobs: args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        progress: !args.quiet && std::io::stderr().is_terminal(),
    };
    let got = collect::collect(&args.files, &filters, &plan);
    for e in &got.unreadable {
        eprintln!("kbpf: {e}");
    }
    if args.verbose {
        let mut logs = String::new();
        for v in &got.progs {
            logs.push_str(&format!(
                "PROCESSING {}/{}, DURATION US: {}, VERDICT: {}, VERIFIER LOG:\n{}\n",
                v.path,
                v.row.str(Stat::ProgName),
                v.row.num(Stat::Duration),
                v.row.str(Stat::Verdict),
                v.log
            ));
        }
        crate::btf::write_stdout(&logs)?;
    }
    let refused = got.progs.iter().any(|v| v.row.str(Stat::Verdict) != "success");
    let processed = got.progs.len();
    let mut rows: Vec<Row> = got.progs.into_iter().map(|v| v.row).filter(|r| filters.row(r)).collect();
    defs::sort(&mut rows, &sort);
    let stats = emit.unwrap_or_else(|| match args.output {
        OutArg::Table => defs::DEFAULT_TABLE.to_vec(),
        OutArg::Csv | OutArg::Json => defs::all_measured(),
    });
    let grid = output::rows_grid(&stats, &rows);
    let footer = format!(
        "Done. Processed {} files, {} programs. Skipped {} files, {} programs.",
        got.files_done - got.unreadable.len(),
        processed,
        got.files_skipped + got.unreadable.len(),
        got.progs_skipped
    );
    crate::btf::write_stdout(&render(args.output, &grid, Some(&footer), paint))?;
    Ok(if !got.unreadable.is_empty() {
        ExitCode::from(2)
    } else if refused && args.fail_on_reject {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(out: OutArg, grid: &output::Grid, footer: Option<&str>, paint: Paint) -> String {
    match out {
        OutArg::Table => output::table(grid, footer, paint),
        OutArg::Csv => output::csv(grid),
        OutArg::Json => output::json(grid),
    }
}

fn compare_mode(
    args: &StatsArgs,
    filters: &filter::Filters,
    emit: Option<&[Stat]>,
    sort: &[SortKey],
    paint: Paint,
) -> Result<ExitCode, String> {
    let [base, comp] = args.files.as_slice() else {
        return Err("-C expects exactly two CSV files (base, comparison)".into());
    };
    let base = compare::read_csv(base, filters)?;
    let comp = compare::read_csv(comp, filters)?;
    let stats = compare::common_stats(&base, &comp, emit)?;
    let mut pairs = compare::join(base.rows, comp.rows);
    pairs.retain(|p| filters.pair(p));
    if !sort.is_empty() {
        compare::sort_pairs(&mut pairs, sort);
    }
    let grid = output::compare_grid(&stats, &pairs);
    crate::btf::write_stdout(&render(args.output, &grid, None, paint))?;
    Ok(ExitCode::SUCCESS)
}
