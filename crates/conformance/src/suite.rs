//! Reading a whole suite directory, judging outcomes, and the plugin protocol's hex format.

use std::path::{Path, PathBuf};

use crate::parse::{ParseError, TestCase, parse};

/// One `.data` file of a suite directory.
#[derive(Clone, Debug)]
pub struct SuiteFile {
    /// File name without the `.data` extension (`add64`, `rfc9669_call_local`).
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// The parsed test, or why it does not parse.
    pub case: Result<TestCase, ParseError>,
}

/// Every `*.data` file in `dir`, sorted by name.
pub fn read_suite(dir: &Path) -> std::io::Result<Vec<SuiteFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "data") {
            continue;
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let case = parse(&std::fs::read_to_string(&path)?);
        files.push(SuiteFile { name, path, case });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Whether an engine's outcome satisfies a test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// As expected.
    Pass,
    /// Not as expected; the text says how.
    Fail(String),
    /// The test has neither `result` nor `error` (the suite's runner skips it).
    Skip,
}

impl TestCase {
    /// Judges an engine's outcome (`Ok(r0)` or `Err(message)`) the way the suite's runner does:
    /// a `result` test needs that exact `r0`; an `error` test needs a failure whose message,
    /// trailing whitespace trimmed and cut at the first `\r`, equals the expected text.
    pub fn judge(&self, outcome: Result<u64, &str>) -> Verdict {
        match (outcome, self.result, &self.error) {
            (Ok(r0), Some(want), _) if r0 == want => Verdict::Pass,
            (Ok(r0), Some(want), _) => Verdict::Fail(format!("r0 = {r0:#x}, expected {want:#x}")),
            (Ok(r0), None, Some(e)) => Verdict::Fail(format!("r0 = {r0:#x}, expected error `{e}`")),
            (Err(msg), _, Some(e)) => {
                let got = msg.split('\r').next().unwrap_or("").trim_end();
                if got == e { Verdict::Pass } else { Verdict::Fail(format!("error `{got}`, expected `{e}`")) }
            }
            (Err(msg), Some(_), None) => Verdict::Fail(format!("error: {msg}")),
            (_, None, None) => Verdict::Skip,
        }
    }
}

/// Runs every file of a suite through an engine (`Ok(r0)` or `Err(message)` per test) and
/// judges each outcome; files that do not parse or assemble fail.
pub fn run_suite(
    files: &[SuiteFile],
    mut engine: impl FnMut(&TestCase) -> Result<u64, String>,
) -> Vec<(String, Verdict)> {
    files
        .iter()
        .map(|f| {
            let verdict = match &f.case {
                Ok(tc) => match engine(tc) {
                    Ok(r0) => tc.judge(Ok(r0)),
                    Err(e) => tc.judge(Err(&e)),
                },
                Err(e) => Verdict::Fail(format!("parse: {e}")),
            };
            (f.name.clone(), verdict)
        })
        .collect()
}

/// Parses the plugin protocol's base16 byte format (`"b7  00  00 ..."`): whitespace-separated
/// hex bytes, empty tokens ignored.
pub fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, String> {
    text.split_whitespace()
        .map(|t| u8::from_str_radix(t, 16).map_err(|_| format!("invalid hex byte `{t}`")))
        .collect()
}

/// Formats bytes the way the suite's runner passes memory to a plugin (`%02x` and two spaces).
pub fn format_hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}  ")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let b = parse_hex_bytes("b7  00 0a\n ff  ").unwrap();
        assert_eq!(b, vec![0xb7, 0, 0x0a, 0xff]);
        assert_eq!(parse_hex_bytes(&format_hex_bytes(&b)).unwrap(), b);
        assert!(parse_hex_bytes("zz").is_err());
    }

    #[test]
    fn judging() {
        let r = TestCase { result: Some(3), ..TestCase::default() };
        assert_eq!(r.judge(Ok(3)), Verdict::Pass);
        assert!(matches!(r.judge(Ok(4)), Verdict::Fail(_)));
        assert!(matches!(r.judge(Err("boom")), Verdict::Fail(_)));
        let e = TestCase { error: Some("bad".into()), ..TestCase::default() };
        assert_eq!(e.judge(Err("bad \r\nmore")), Verdict::Pass);
        assert!(matches!(e.judge(Err("other")), Verdict::Fail(_)));
        assert!(matches!(e.judge(Ok(0)), Verdict::Fail(_)));
        assert_eq!(TestCase::default().judge(Ok(0)), Verdict::Skip);
    }

    #[test]
    #[ignore = "needs the bpf_conformance suite (KBPF_CONFORMANCE_DIR, default ../shared/conformance/bpf_conformance beside the workspace); cargo xtask test runs it when present"]
    fn reads_the_whole_suite() {
        let dir = crate::suite_dir();
        let files =
            read_suite(&dir).unwrap_or_else(|e| panic!("{}: {e}; {}", dir.display(), crate::HOW_TO_GET));
        assert_eq!(files.len(), 313);
        assert!(files.iter().all(|f| f.case.is_ok()));
        assert!(files.iter().all(|f| f.case.as_ref().is_ok_and(|c| c.slots().is_ok())));
    }
}
