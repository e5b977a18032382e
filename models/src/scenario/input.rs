//! Limits on what the loader reads, checked before the bytes are parsed: every input is a
//! regular file (a device such as `/dev/zero`, a FIFO or a folder is refused before it is
//! opened), no larger than a cap read through a bounded reader, and YAML nesting is bounded by
//! a linear pre-scan (libyaml's scanner is quadratic in flow nesting: 100,000 `[` took ~48 s to
//! be refused by its own recursion limit).
//!
//! | input | cap | override |
//! |---|---|---|
//! | scenario, manifests, Node files, scheduler configuration | 64 MiB each | `KUBESIM_MAX_INPUT_MIB` |
//! | all the files of one manifest folder together | 4 × the per-file cap (256 MiB) | `KUBESIM_MAX_FOLDER_MIB` |
//! | trace CSV files | 256 MiB each | `KUBESIM_MAX_TRACE_MIB` |
//! | YAML nesting (lists and mappings inside one another) | 64 levels | none |

use std::io::Read;
use std::path::Path;

use super::diagnostic::Diagnostic;

/// The default cap on one YAML input: far above any real scenario or `kubectl get -o yaml` dump
/// of a cluster kubesim can run (100,000 nodes and a pod each are ~50 MiB of manifests would be
/// the outlier; a typical dump is a few MiB).
pub const MAX_YAML_BYTES: u64 = 64 << 20;
/// The default cap on one trace CSV file (the openb pod list is 1 MiB; a year of a large
/// cluster's pods fits).
pub const MAX_TRACE_BYTES: u64 = 256 << 20;
/// Environment variable raising (or lowering) the YAML cap, in MiB.
pub const MAX_YAML_MIB_VAR: &str = "KUBESIM_MAX_INPUT_MIB";
/// Environment variable raising (or lowering) the trace cap, in MiB.
pub const MAX_TRACE_MIB_VAR: &str = "KUBESIM_MAX_TRACE_MIB";
/// Environment variable setting the cap on one manifest folder's files together, in MiB.
pub const MAX_FOLDER_MIB_VAR: &str = "KUBESIM_MAX_FOLDER_MIB";
/// A manifest folder may hold this many times the per-file cap in all: room for a dump split
/// into a few files, while a folder of many files at the cap each is refused before any is read.
pub const FOLDER_CAP_FILES: u64 = 4;
/// The most a cap may be set to through its variable: 1 TiB.
const MAX_CAP_MIB: u64 = 1 << 20;
/// The deepest YAML nesting read: lists and mappings inside one another. Kubernetes objects
/// nest about 12 deep (a pod template's affinity terms); a CRD schema rarely passes 30.
pub const MAX_YAML_NESTING: usize = 64;

/// What an input file holds, which sets its cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A scenario, a manifest, a Node file or a scheduler configuration.
    Yaml,
    /// A trace's CSV file.
    Trace,
}

impl InputKind {
    fn default_cap(self) -> u64 {
        match self {
            InputKind::Yaml => MAX_YAML_BYTES,
            InputKind::Trace => MAX_TRACE_BYTES,
        }
    }

    fn variable(self) -> &'static str {
        match self {
            InputKind::Yaml => MAX_YAML_MIB_VAR,
            InputKind::Trace => MAX_TRACE_MIB_VAR,
        }
    }

    fn what(self) -> &'static str {
        match self {
            InputKind::Yaml => "a YAML input",
            InputKind::Trace => "a trace file",
        }
    }

    /// The cap in bytes: the default, or the variable's MiB when it is set.
    pub fn cap(self) -> Result<u64, String> {
        let var = self.variable();
        match std::env::var(var) {
            Err(std::env::VarError::NotPresent) => Ok(self.default_cap()),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                "{var} is not a number of MiB (1 to {MAX_CAP_MIB}); unset it or write e.g. {var}=512"
            )),
            Ok(text) => match text.trim().parse::<u64>() {
                Ok(mib @ 1..=MAX_CAP_MIB) => Ok(mib << 20),
                _ => Err(format!(
                    "{var}={text:?} is not a number of MiB (1 to {MAX_CAP_MIB}); unset it or write e.g. {var}=512"
                )),
            },
        }
    }
}

/// The cap on one manifest folder's files together: [`MAX_FOLDER_MIB_VAR`] when set, otherwise
/// [`FOLDER_CAP_FILES`] times the per-file YAML cap in effect.
pub fn folder_cap() -> Result<u64, String> {
    let var = MAX_FOLDER_MIB_VAR;
    match std::env::var(var) {
        Err(std::env::VarError::NotPresent) => {
            Ok(InputKind::Yaml.cap()?.saturating_mul(FOLDER_CAP_FILES))
        }
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "{var} is not a number of MiB (1 to {MAX_CAP_MIB}); unset it or write e.g. {var}=1024"
        )),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(mib @ 1..=MAX_CAP_MIB) => Ok(mib << 20),
            _ => Err(format!(
                "{var}={text:?} is not a number of MiB (1 to {MAX_CAP_MIB}); unset it or write e.g. {var}=1024"
            )),
        },
    }
}

/// Refuses a manifest folder whose files hold more than [`folder_cap`] bytes together, by
/// their sizes, before any of them is read (the message completes "cannot read FOLDER: ").
pub fn check_folder_total(files: &[std::path::PathBuf]) -> Result<(), String> {
    let cap = folder_cap()?;
    let mut total: u64 = 0;
    for path in files {
        // A file that cannot be looked at is reported when it is read.
        if let Ok(meta) = std::fs::metadata(path) {
            total = total.saturating_add(meta.len());
        }
    }
    if total > cap {
        return Err(format!(
            "its {} manifest files hold {} together, over the {} limit for one manifest folder (raise the limit with {MAX_FOLDER_MIB_VAR}=<MiB>)",
            files.len(),
            size(total),
            size(cap)
        ));
    }
    Ok(())
}

/// "64 MiB", "1.5 MiB", "100 bytes".
fn size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        return format!("{bytes} bytes");
    }
    let tenths = bytes.saturating_mul(10) >> 20;
    if tenths.is_multiple_of(10) {
        format!("{} MiB", tenths / 10)
    } else {
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    }
}

/// The OS's message without its error code ("No such file or directory (os error 2)").
pub(crate) fn io_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Reads the input file at `path` if it is a regular file within `kind`'s cap; otherwise says
/// why not (the message completes "cannot read FILE: ").
pub fn read_input(path: &Path, kind: InputKind) -> Result<Vec<u8>, String> {
    let cap = kind.cap()?;
    // Checked before opening: opening a FIFO blocks until something writes to it.
    let meta = std::fs::metadata(path).map_err(|e| io_message(&e))?;
    not_regular(&meta)?;
    let file = std::fs::File::open(path).map_err(|e| io_message(&e))?;
    // The file may have been replaced since; what was opened is what counts.
    let meta = file.metadata().map_err(|e| io_message(&e))?;
    not_regular(&meta)?;
    let too_big = |bytes: String| {
        format!(
            "it is {bytes}, over the {} limit for {} (split it, or raise the limit with {}=<MiB>)",
            size(cap),
            kind.what(),
            kind.variable()
        )
    };
    if meta.len() > cap {
        return Err(too_big(size(meta.len())));
    }
    // Bounded even if the length lied (a file growing while read, a /proc file reporting 0).
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(&e))?;
    if bytes.len() as u64 > cap {
        return Err(too_big(format!("more than {}", size(cap))));
    }
    Ok(bytes)
}

fn not_regular(meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.is_file() {
        Ok(())
    } else if meta.is_dir() {
        Err("it is a folder, not a file".to_string())
    } else {
        Err(
            "it is not a regular file (a device, a FIFO or a socket); kubesim reads only files"
                .to_string(),
        )
    }
}

/// Whether a quoted scalar is open, and which.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Refuses YAML nested deeper than [`MAX_YAML_NESTING`], in one pass over the text, before a
/// parser spends time on it. The depth is the open flow collections (`[`, `{`) plus the block
/// collections' indentation levels (each `- ` of `- - - x` is one). Quoted scalars, comments
/// and block scalars (`|`, `>`) are skipped. The scan is approximate in the direction of
/// leniency: what it cannot tell apart it counts low, and the parser's own limit still holds.
pub(crate) fn check_nesting(file: &str, text: &str) -> Result<(), Diagnostic> {
    let deep = |line: usize, column: usize, flow: bool| {
        let hint = if flow {
            "is a bracket left unclosed?"
        } else {
            "is the indentation right?"
        };
        Diagnostic::new(
            file,
            line,
            column,
            format!(
                "invalid YAML: lists and mappings nested more than {MAX_YAML_NESTING} deep, the most kubesim reads ({hint})"
            ),
        )
    };
    let mut flow: usize = 0;
    let mut quote = Quote::None;
    // Columns (0-based) of the open block collections, increasing.
    let mut indents: Vec<usize> = Vec::new();
    // Inside a block scalar whose parent is at this column: more-indented lines are its text.
    let mut block_scalar: Option<usize> = None;
    for (line_index, line) in text.split('\n').enumerate() {
        let line_no = line_index + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let chars: Vec<char> = line.chars().collect();
        let indent = chars.iter().take_while(|c| **c == ' ').count();
        let blank = chars[indent..].iter().all(|c| c.is_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut start = 0;
        if quote == Quote::None && flow == 0 {
            if blank || chars[indent] == '#' {
                continue;
            }
            if indent == 0 && (line.starts_with("---") || line.starts_with("...")) {
                let marker_end = chars.get(3).is_none_or(|c| c.is_whitespace());
                if marker_end {
                    indents.clear();
                    start = 3;
                }
            }
            if start == 0 {
                while indents.last().is_some_and(|top| *top > indent) {
                    indents.pop();
                }
                // Block indicators (`- `, `? `) nest a collection at the column after them.
                let mut column = indent;
                loop {
                    if indents.last().is_none_or(|top| *top < column) {
                        indents.push(column);
                        if indents.len() + flow > MAX_YAML_NESTING {
                            return Err(deep(line_no, column + 1, false));
                        }
                    }
                    let indicator = matches!(chars.get(column), Some('-' | '?'))
                        && chars.get(column + 1).is_none_or(|c| *c == ' ');
                    if !indicator {
                        break;
                    }
                    column += 1;
                    while chars.get(column) == Some(&' ') {
                        column += 1;
                    }
                    if column >= chars.len() {
                        break;
                    }
                }
                start = column;
            }
        }
        // The content start of a block line: where a flow collection or block scalar may open.
        let content_start = start;
        let mut i = start;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Quote::Double => {
                    match c {
                        '\\' => i += 1,
                        '"' => quote = Quote::None,
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                Quote::Single => {
                    if c == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 1;
                        } else {
                            quote = Quote::None;
                        }
                    }
                    i += 1;
                    continue;
                }
                Quote::None => {}
            }
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let after_space = prev.is_none_or(char::is_whitespace);
            let token_start = after_space || matches!(prev, Some('[' | '{' | ',' | ':'));
            // In block context a node starts at the line's content or after `key: ` or `- `
            // (asked only of the few characters that may open something, so the scan stays
            // linear).
            let block_node_start =
                || i == content_start || (after_space && value_follows(&chars, i));
            match c {
                '#' if after_space => break,
                '"' if token_start => quote = Quote::Double,
                '\'' if token_start => quote = Quote::Single,
                '[' | '{' if flow > 0 || block_node_start() => {
                    flow += 1;
                    if indents.len() + flow > MAX_YAML_NESTING {
                        return Err(deep(line_no, i + 1, true));
                    }
                }
                ']' | '}' if flow > 0 => flow -= 1,
                '|' | '>'
                    if flow == 0 && block_node_start() && header_ends_line(&chars[i + 1..]) =>
                {
                    // The scalar's text is every following line indented more than this one
                    // (its parent may be further right; counting from the line's own indent
                    // only skips more).
                    block_scalar = Some(indent);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    Ok(())
}

/// Whether the character at `i` (after a space) follows `key:` or `-`, spaces between: where
/// a block mapping's or sequence's value starts.
fn value_follows(chars: &[char], i: usize) -> bool {
    let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
    matches!(before, Some(':' | '-' | '?'))
}

/// Whether a block scalar indicator is followed only by its indentation/chomping indicators and
/// perhaps a comment.
fn header_ends_line(rest: &[char]) -> bool {
    let mut i = 0;
    while rest
        .get(i)
        .is_some_and(|c| c.is_ascii_digit() || matches!(c, '+' | '-'))
    {
        i += 1;
    }
    let tail = &rest[i..];
    let spaces = tail.iter().take_while(|c| c.is_whitespace()).count();
    spaces == tail.len() || (spaces > 0 && tail[spaces] == '#')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str) -> bool {
        check_nesting("t.yaml", text).is_ok()
    }

    #[test]
    fn deep_flow_nesting_is_refused_where_it_crosses_the_limit() {
        let text = format!("name: x\ncluster: {}\n", "[".repeat(100_000));
        let d = check_nesting("t.yaml", &text).unwrap_err();
        assert_eq!((d.line, d.column), (2, 9 + MAX_YAML_NESTING));
        assert!(d.message.contains("nested more than 64 deep"), "{d}");
        assert!(d.message.contains("bracket left unclosed"), "{d}");
    }

    #[test]
    fn deep_block_nesting_is_refused() {
        let dashes = format!("a:\n  {}x\n", "- ".repeat(1000));
        assert!(!depth_ok(&dashes));
        let mut indented = String::new();
        for i in 0..100 {
            indented.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        let d = check_nesting("t.yaml", &indented).unwrap_err();
        assert_eq!(d.line, MAX_YAML_NESTING + 1);
    }

    #[test]
    fn nesting_up_to_the_limit_is_read() {
        let flow = format!(
            "a: {}{}\n",
            "[".repeat(MAX_YAML_NESTING - 1),
            "]".repeat(MAX_YAML_NESTING - 1)
        );
        assert!(depth_ok(&flow));
        // Siblings do not add up: depth is what is open at once.
        let many = "- [[a], {b: [c]}]\n".repeat(10_000);
        assert!(depth_ok(&many));
    }

    #[test]
    fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
        let open = "[".repeat(200);
        let text = format!(
            "a: \"{open}\"\nb: '{open}'\n# {open}\nc: |\n  {open}\n  {{\nd: plain{open}\ne: >-\n    {open}\nf: {{g: \"{open}\", h: '{open}'}}\n"
        );
        assert!(depth_ok(&text), "{:?}", check_nesting("t.yaml", &text));
    }

    #[test]
    fn documents_start_afresh() {
        let one = format!("{}x: 1\n", "- ".repeat(40));
        assert!(depth_ok(&format!("{one}---\n{one}---\n{one}")));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(100), "100 bytes");
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(3 << 19), "1.5 MiB");
    }
}
