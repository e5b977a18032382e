//! Where things are in a YAML file: a position tree built from yaml-rust2's marked events, so
//! that errors found after deserialization (a bad quantity, an unknown field reported as a
//! path) can be reported at `file:line:column`.
//!
//! Values themselves are parsed by serde_yaml; yaml-rust2 is used only for positions. Should
//! the two parsers ever disagree about a document, that document simply has no tree and its
//! errors are reported at the document's start rather than at a wrong place.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diagnostic::Diagnostic;

/// A 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub(crate) const START: Pos = Pos { line: 1, column: 1 };

    fn from_marker(m: Marker) -> Pos {
        // yaml-rust2 counts lines from 1 but columns from 0.
        Pos {
            line: m.line().max(1),
            column: m.col() + 1,
        }
    }

    fn before(self, other: Pos) -> bool {
        (self.line, self.column) < (other.line, other.column)
    }
}

/// One step of a path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    pub(crate) fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }
}

/// `spec.template.spec.containers[0].resources`, the form kubectl and upstream validation use.
pub(crate) struct PathDisplay<'a>(pub &'a [Seg]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

pub(crate) fn path_string(segs: &[Seg]) -> String {
    PathDisplay(segs).to_string()
}

#[derive(Debug)]
pub(crate) struct SourceNode {
    pos: Pos,
    kind: NodeKind,
}

#[derive(Debug)]
enum NodeKind {
    Leaf,
    Map(Vec<Entry>),
    Seq(Vec<SourceNode>),
}

#[derive(Debug)]
struct Entry {
    key: String,
    key_pos: Pos,
    value: SourceNode,
}

/// Which position an error about a path should point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// The value (a bad quantity); for a block collection, its key line.
    Value,
    /// The key itself (an unknown field).
    Key,
}

struct Walk<'a> {
    node: &'a SourceNode,
    key_pos: Option<Pos>,
    complete: bool,
}

impl SourceNode {
    fn walk(&self, segs: &[Seg]) -> Walk<'_> {
        let mut node = self;
        let mut key_pos = None;
        for seg in segs {
            let next = match (&node.kind, seg) {
                (NodeKind::Map(entries), Seg::Key(k)) => {
                    // The last duplicate wins, as it does for serde_yaml's values.
                    entries
                        .iter()
                        .rev()
                        .find(|e| &e.key == k)
                        .map(|e| (&e.value, Some(e.key_pos)))
                }
                (NodeKind::Seq(items), Seg::Index(i)) => items.get(*i).map(|item| (item, None)),
                _ => None,
            };
            match next {
                Some((child, kp)) => {
                    node = child;
                    key_pos = kp;
                }
                None => {
                    return Walk {
                        node,
                        key_pos,
                        complete: false,
                    };
                }
            }
        }
        Walk {
            node,
            key_pos,
            complete: true,
        }
    }

    /// Turns a textual path (`profiles[0].pluginConfig[1].args.scoringStrategy.type`, optionally
    /// starting with `$` or `.`) into segments, matching keys against the tree so that keys
    /// which themselves contain dots (`nvidia.com/gpu`) are found.
    fn parse_path(&self, path: &str) -> Vec<Seg> {
        let mut rest = path.strip_prefix('$').unwrap_or(path);
        let mut node = Some(self);
        let mut segs = Vec::new();
        loop {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if rest.is_empty() {
                return segs;
            }
            if let Some(after) = rest.strip_prefix('[') {
                let Some((digits, tail)) = after.split_once(']') else {
                    return segs;
                };
                let Ok(index) = digits.trim().parse::<usize>() else {
                    return segs;
                };
                segs.push(Seg::Index(index));
                node = node.and_then(|n| match &n.kind {
                    NodeKind::Seq(items) => items.get(index),
                    _ => None,
                });
                rest = tail;
                continue;
            }
            let boundary = |k: &str| {
                rest.strip_prefix(k)
                    .is_some_and(|t| t.is_empty() || t.starts_with(['.', '[']))
            };
            let known = node.and_then(|n| match &n.kind {
                NodeKind::Map(entries) => entries
                    .iter()
                    .filter(|e| boundary(&e.key))
                    .max_by_key(|e| e.key.len())
                    .map(|e| (e.key.clone(), &e.value)),
                _ => None,
            });
            let (key, child) = match known {
                Some((key, child)) => (key, Some(child)),
                None => {
                    let end = rest.find(['.', '[']).unwrap_or(rest.len());
                    (rest[..end].to_string(), None)
                }
            };
            rest = &rest[key.len()..];
            segs.push(Seg::Key(key));
            node = child;
        }
    }
}

/// Builds one position tree per document from yaml-rust2's events.
#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    docs: Vec<(Pos, Option<SourceNode>)>,
}

enum Frame {
    Map {
        pos: Pos,
        entries: Vec<Entry>,
        pending_key: Option<(String, Pos)>,
    },
    Seq {
        pos: Pos,
        items: Vec<SourceNode>,
    },
}

impl TreeBuilder {
    fn attach(&mut self, node: SourceNode, scalar: Option<String>) {
        match self.stack.last_mut() {
            Some(Frame::Map {
                pos,
                entries,
                pending_key,
            }) => match pending_key.take() {
                None => {
                    // yaml-rust2 marks a block mapping after its first key; the key is where
                    // the mapping visibly starts.
                    if entries.is_empty() && node.pos.before(*pos) {
                        *pos = node.pos;
                    }
                    *pending_key = Some((scalar.unwrap_or_default(), node.pos));
                }
                Some((key, key_pos)) => entries.push(Entry {
                    key,
                    key_pos,
                    value: node,
                }),
            },
            Some(Frame::Seq { items, .. }) => items.push(node),
            None => {
                if let Some(doc) = self.docs.last_mut() {
                    doc.1 = Some(node);
                }
            }
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        match ev {
            Event::DocumentStart => {
                self.stack.clear();
                self.docs.push((pos, None));
            }
            Event::Scalar(text, ..) => self.attach(
                SourceNode {
                    pos,
                    kind: NodeKind::Leaf,
                },
                Some(text),
            ),
            Event::Alias(_) => self.attach(
                SourceNode {
                    pos,
                    kind: NodeKind::Leaf,
                },
                None,
            ),
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                pos,
                entries: Vec::new(),
                pending_key: None,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq {
                pos,
                items: Vec::new(),
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Map { pos, entries, .. }) => SourceNode {
                        pos,
                        kind: NodeKind::Map(entries),
                    },
                    Some(Frame::Seq { pos, items }) => SourceNode {
                        pos,
                        kind: NodeKind::Seq(items),
                    },
                    None => return,
                };
                self.attach(node, None);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// Where an object came from: a file, a document in it, and the path of the object inside the
/// document (empty for a whole document; `items[3]` for an item of a `kind: List`;
/// `scheduler.config` for an inline scheduler configuration). Cheap to clone.
///
/// The scheduler module uses it to report errors in the KubeSchedulerConfiguration at the
/// right place: `origin.locate("profiles[0].pluginConfig[1].args.scoringStrategy.type", msg)`.
#[derive(Clone, Debug)]
pub struct SourceRef {
    /// The file as the user named it (relative paths are relative to the scenario's folder).
    pub file: String,
    /// 0-based index of the YAML document within the file.
    pub doc_index: usize,
    root: Option<Arc<SourceNode>>,
    prefix: Vec<Seg>,
    doc_start: Pos,
}

impl SourceRef {
    /// A source with no position information: everything is located at `line:column`.
    pub fn unlocated(file: impl Into<String>, line: usize, column: usize) -> SourceRef {
        SourceRef {
            file: file.into(),
            doc_index: 0,
            root: None,
            prefix: Vec::new(),
            doc_start: Pos {
                line: line.max(1),
                column: column.max(1),
            },
        }
    }

    /// A diagnostic for the value at `json_path` (relative to this object), or at its nearest
    /// enclosing node that exists in the file.
    pub fn locate(&self, json_path: &str, message: impl Into<String>) -> Diagnostic {
        self.at(&self.parse_path(json_path), At::Value, message)
    }

    /// Like [`SourceRef::locate`] but points at the key of the last path element, which reads
    /// better for "unknown field" errors.
    pub fn locate_key(&self, json_path: &str, message: impl Into<String>) -> Diagnostic {
        self.at(&self.parse_path(json_path), At::Key, message)
    }

    /// The 1-based `(line, column)` of the value at `json_path`.
    pub fn line_column(&self, json_path: &str) -> (usize, usize) {
        let pos = self.pos(&self.parse_path(json_path), At::Value);
        (pos.line, pos.column)
    }

    /// Where this object sits inside its document, e.g. `items[2]` or `scheduler.config`;
    /// empty for a whole document.
    pub fn path_in_document(&self) -> String {
        path_string(&self.prefix)
    }

    fn parse_path(&self, json_path: &str) -> Vec<Seg> {
        match self.root.as_deref() {
            Some(root) => {
                let base = root.walk(&self.prefix);
                if base.complete {
                    base.node.parse_path(json_path)
                } else {
                    SourceNode {
                        pos: Pos::START,
                        kind: NodeKind::Leaf,
                    }
                    .parse_path(json_path)
                }
            }
            None => SourceNode {
                pos: Pos::START,
                kind: NodeKind::Leaf,
            }
            .parse_path(json_path),
        }
    }

    pub(crate) fn child(&self, segs: &[Seg]) -> SourceRef {
        let mut child = self.clone();
        child.prefix.extend_from_slice(segs);
        child
    }

    pub(crate) fn pos(&self, segs: &[Seg], at: At) -> Pos {
        let Some(root) = self.root.as_deref() else {
            return self.doc_start;
        };
        let full: Vec<Seg> = self.prefix.iter().chain(segs).cloned().collect();
        let walk = root.walk(&full);
        match (at, walk.key_pos) {
            (At::Key, Some(k)) if walk.complete => k,
            // A block collection (or an empty value) starts on a later line than its key; the
            // key line is where a reader looks for it.
            (_, Some(k)) if walk.node.pos.line > k.line => k,
            _ => walk.node.pos,
        }
    }

    pub(crate) fn at(&self, segs: &[Seg], at: At, message: impl Into<String>) -> Diagnostic {
        let pos = self.pos(segs, at);
        Diagnostic::new(self.file.clone(), pos.line, pos.column, message)
    }

    /// The object's own position.
    pub(crate) fn here(&self, message: impl Into<String>) -> Diagnostic {
        self.at(&[], At::Value, message)
    }
}

/// One non-empty YAML document of a file.
pub(crate) struct Document {
    pub value: serde_yaml::Value,
    pub source: SourceRef,
}

/// Checks that `bytes` are text, dropping a leading byte-order mark.
pub(crate) fn decode(file: &str, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            Err(Diagnostic::new(
                file,
                1,
                1,
                format!(
                    "not a YAML file: the bytes are not UTF-8 text (invalid byte at offset {at})"
                ),
            ))
        }
    }
}

/// serde_yaml appends " at line L column C" to its messages; the diagnostic already says where.
pub(crate) fn clean_yaml_message(err: &serde_yaml::Error) -> String {
    let text = err.to_string();
    let text = match err.location() {
        Some(loc) => text.replacen(
            &format!(" at line {} column {}", loc.line(), loc.column()),
            "",
            1,
        ),
        None => text,
    };
    in_user_words(&text)
}

/// Rewrites the serde and serde_yaml messages that name their own internals into what the
/// user wrote and what the file should say instead.
pub(crate) fn in_user_words(message: &str) -> String {
    // serde_yaml holds integers in 64 bits; a longer one fails as "integer `N` as u128".
    for wide in [
        "` as u128, expected any YAML value",
        "` as i128, expected any YAML value",
    ] {
        if let Some((head, _)) = message.split_once(wide)
            && let Some((prefix, number)) = head.rsplit_once("invalid type: integer `")
        {
            return format!(
                "{prefix}the number {number} is too large: whole numbers must lie between {} and {} (quote it if it is text)",
                i64::MIN,
                u64::MAX
            );
        }
    }
    // An enum read from a mapping or a list: the field takes one of its names.
    if let Some(head) = message.strip_suffix(", expected a Value::Tagged enum") {
        let found = match head.rsplit_once("invalid type: ") {
            Some((_, "map")) => "a mapping",
            Some((_, "sequence")) => "a list",
            Some((_, other)) => other,
            None => "something else",
        };
        let prefix = head.rsplit_once("invalid type: ").map_or("", |(p, _)| p);
        return format!("{prefix}expected a name (a string), found {found}");
    }
    message.to_string()
}

/// A located diagnostic for a serde_yaml parse error. libyaml's reader errors (control
/// characters, bad encodings) give a byte offset rather than a line and column.
fn yaml_error(file: &str, text: &str, err: &serde_yaml::Error) -> Diagnostic {
    let mut message = clean_yaml_message(err);
    let reader_offset = message
        .rsplit_once(" at position ")
        .and_then(|(head, offset)| Some((head.to_string(), offset.parse::<usize>().ok()?)));
    let (line, column) = match (reader_offset, err.location()) {
        // libyaml's reader errors carry a placeholder location; the offset is the real one.
        (Some((head, offset)), _) => {
            message = head;
            let pos = position_of_byte(text, offset);
            (pos.line, pos.column)
        }
        (None, Some(l)) => (l.line(), l.column()),
        (None, None) => (1, 1),
    };
    if message.starts_with("control characters are not allowed") {
        return Diagnostic::new(file, line, column, format!("not a YAML file: {message}"));
    }
    Diagnostic::new(file, line, column, format!("invalid YAML: {message}"))
}

/// The line and column (in characters) of byte `offset`, clamped to the text.
fn position_of_byte(text: &str, offset: usize) -> Pos {
    let mut pos = Pos::START;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            pos = Pos {
                line: pos.line + 1,
                column: 1,
            };
        } else {
            pos.column += 1;
        }
    }
    pos
}

fn same_shape(value: &serde_yaml::Value, node: &SourceNode) -> bool {
    use serde_yaml::Value;
    match (value, &node.kind) {
        (Value::Mapping(m), NodeKind::Map(entries)) => m.len() <= entries.len(),
        (Value::Sequence(s), NodeKind::Seq(items)) => s.len() == items.len(),
        (Value::Mapping(_) | Value::Sequence(_), _) => false,
        _ => true,
    }
}

/// Parses every document of `text`, skipping empty ones (bare `---`, comments only).
pub(crate) fn parse_documents(file: &str, text: &str) -> Result<Vec<Document>, Diagnostic> {
    let mut docs = Vec::new();
    first_error(documents(file, text)?, |doc| docs.push(doc))?;
    Ok(docs)
}

/// The documents of `text` one at a time, each parsed (value and position tree) only when it
/// is asked for, so that a file of many documents costs the memory of one document beyond
/// what its objects become. Empty documents are skipped. A syntax error is the last item; an
/// invalid merge key fails its own document only.
pub(crate) fn documents<'t>(file: &str, text: &'t str) -> Result<Documents<'t>, Diagnostic> {
    super::input::check_nesting(file, text)?;
    Ok(Documents {
        file: file.to_string(),
        text,
        values: serde_yaml::Deserializer::from_str(text),
        positions: Some(Parser::new_from_str(text)),
        builder: TreeBuilder::default(),
        doc_index: 0,
        done: false,
    })
}

/// The error [`parse_documents`] would fail with, found without keeping any document.
pub(crate) fn check_documents(file: &str, text: &str) -> Result<(), Diagnostic> {
    let mut quick = documents(file, text)?;
    // Positions matter only for a merge-key error; the quick pass finds whether there is one.
    quick.positions = None;
    if first_error(quick, drop).is_ok() {
        return Ok(());
    }
    first_error(documents(file, text)?, drop)
}

/// Hands every document to `each` until the first problem; the result is what reading the
/// whole file at once reports: a syntax error anywhere in the file, or else the first invalid
/// merge key.
fn first_error(mut docs: Documents<'_>, mut each: impl FnMut(Document)) -> Result<(), Diagnostic> {
    let mut merge_error = None;
    while let Some(doc) = docs.next() {
        match doc {
            Ok(doc) if merge_error.is_none() => each(doc),
            Ok(_) => {}
            Err(syntax) if docs.done => return Err(syntax),
            Err(merge) => {
                merge_error.get_or_insert(merge);
            }
        }
    }
    merge_error.map_or(Ok(()), Err)
}

/// See [`documents`].
pub(crate) struct Documents<'t> {
    file: String,
    text: &'t str,
    values: serde_yaml::Deserializer<'t>,
    /// yaml-rust2's parser, one document behind or level with `values`; `None` once it failed
    /// or ended, after which documents have no tree.
    positions: Option<Parser<std::str::Chars<'t>>>,
    builder: TreeBuilder,
    doc_index: usize,
    done: bool,
}

impl Documents<'_> {
    /// The start and position tree of the next document yaml-rust2 reads.
    fn next_tree(&mut self) -> (Pos, Option<SourceNode>) {
        let Some(parser) = self.positions.as_mut() else {
            return (Pos::START, None);
        };
        self.builder.docs.clear();
        // One document per call; a failure here only costs positions (serde_yaml accepted
        // the text so far).
        let result = parser.load(&mut self.builder, false);
        let tree = self.builder.docs.pop();
        if result.is_err() || tree.is_none() {
            self.positions = None;
        }
        tree.unwrap_or((Pos::START, None))
    }
}

impl Iterator for Documents<'_> {
    type Item = Result<Document, Diagnostic>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let Some(doc) = self.values.next() else {
                self.done = true;
                break;
            };
            let mut value = match serde_yaml::Value::deserialize(doc) {
                Ok(v) => v,
                // After a syntax error serde_yaml's document iterator repeats the same error
                // forever, so stop at the first.
                Err(err) => {
                    self.done = true;
                    return Some(Err(yaml_error(&self.file, self.text, &err)));
                }
            };
            let (doc_start, tree) = self.next_tree();
            let doc_index = self.doc_index;
            self.doc_index += 1;
            if value.is_null() {
                continue;
            }
            let root = tree.filter(|t| same_shape(&value, t)).map(Arc::new);
            let doc_start = root.as_ref().map_or(doc_start, |r| r.pos);
            let source = SourceRef {
                file: self.file.clone(),
                doc_index,
                root,
                prefix: Vec::new(),
                doc_start,
            };
            if let Err(err) = value.apply_merge() {
                return Some(Err(source.here(format!(
                    "invalid merge key (<<): {}",
                    clean_yaml_message(&err)
                ))));
            }
            return Some(Ok(Document { value, source }));
        }
        None
    }
}

/// Converts a serde_ignored path to segments (`Some`/newtype wrappers are not steps).
pub(crate) fn segs_from_ignored(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut cur = path;
    loop {
        match cur {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                segs.push(Seg::Index(*index));
                cur = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                segs.push(Seg::Key(key.clone()));
                cur = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => cur = parent,
        }
    }
    segs.reverse();
    segs
}

/// Converts a serde_path_to_error path to segments, stopping at the first unknown step.
pub(crate) fn segs_from_path(path: &serde_path_to_error::Path) -> Vec<Seg> {
    let mut segs = Vec::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => segs.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } => {}
            serde_path_to_error::Segment::Unknown => break,
        }
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# leading comment\n---\nname: demo\ncluster:\n  nodePools:\n    - name: general\n      resources: {cpu: \"4\", nvidia.com/gpu: 2}\n---\n---\nkind: Pod\nspec:\n  containers:\n  - name: c\n    image: nginx\n";

    fn docs() -> Vec<Document> {
        parse_documents("f.yaml", TEXT).unwrap()
    }

    #[test]
    fn empty_documents_are_skipped_and_indices_kept() {
        let docs = docs();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].source.doc_index, 0);
        assert_eq!(docs[1].source.doc_index, 2);
    }

    #[test]
    fn paths_locate_keys_and_values_with_absolute_lines() {
        let docs = docs();
        let s = &docs[0].source;
        assert_eq!(s.line_column("name"), (3, 7));
        // A block mapping is reported at its key.
        assert_eq!(s.line_column("cluster"), (4, 1));
        assert_eq!(s.line_column("cluster.nodePools[0].name"), (6, 13));
        assert_eq!(s.line_column("cluster.nodePools[0]"), (6, 7));
        // Keys containing dots are matched against the file.
        assert_eq!(
            s.line_column("cluster.nodePools[0].resources.nvidia.com/gpu"),
            (7, 45)
        );
        assert_eq!(
            s.line_column("$.cluster.nodePools[0].resources.cpu"),
            (7, 24)
        );
        // Missing paths fall back to the nearest existing parent.
        assert_eq!(
            s.line_column("cluster.nodePools[0].resources.memory"),
            (7, 18)
        );
        assert_eq!(s.line_column("cluster.nodePools[7].name"), (5, 3));
        let d = s.locate_key("cluster.nodePools[0].resources", "x");
        assert_eq!((d.line, d.column), (7, 7));
        let p = &docs[1].source;
        assert_eq!(p.line_column("spec.containers[0].image"), (14, 12));
        assert_eq!(
            p.child(&[Seg::key("spec")])
                .line_column("containers[0].name"),
            (13, 11)
        );
    }

    #[test]
    fn streamed_documents_are_the_documents_read_whole() {
        let whole = docs();
        let streamed: Vec<Document> = documents("f.yaml", TEXT)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(streamed.len(), whole.len());
        for (s, w) in streamed.iter().zip(&whole) {
            assert_eq!(s.value, w.value);
            assert_eq!(s.source.doc_index, w.source.doc_index);
            for path in [
                "",
                "name",
                "cluster.nodePools[0].resources.cpu",
                "spec.containers[0]",
            ] {
                assert_eq!(
                    s.source.line_column(path),
                    w.source.line_column(path),
                    "{path}"
                );
            }
        }
        assert!(check_documents("f.yaml", TEXT).is_ok());
    }

    #[test]
    fn a_syntax_error_anywhere_in_a_file_wins_over_an_earlier_merge_key_error() {
        let merge = "a: 1\n<<: 5\n";
        let syntax = "b: [1, 2\nc: 3\n";
        let reported = |text: &str| {
            let whole = parse_documents("m.yaml", text).err().unwrap();
            let checked = check_documents("m.yaml", text).err().unwrap();
            assert_eq!(whole, checked);
            whole
        };
        let err = reported(&format!("{merge}---\n{syntax}"));
        assert!(
            err.message.starts_with("invalid YAML: did not find"),
            "{err}"
        );
        assert_eq!(err.line, 5);
        let err = reported(&format!("x: 1\n---\n{merge}---\n{merge}"));
        assert!(err.message.starts_with("invalid merge key"), "{err}");
        assert_eq!((err.line, err.column), (3, 1));
    }

    #[test]
    fn syntax_errors_are_located_and_not_repeated() {
        let err = parse_documents("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (3, 2));
        assert!(
            err.message
                .starts_with("invalid YAML: did not find expected ',' or ']'"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("line 3 column 2"), "{}", err.message);
    }

    #[test]
    fn control_characters_are_located() {
        let err = parse_documents("ctl.yaml", "name: x\nsé: \u{1}\n")
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (2, 5), "{err}");
        assert_eq!(
            err.message,
            "not a YAML file: control characters are not allowed"
        );
    }

    #[test]
    fn invalid_utf8_is_not_yaml() {
        let err = decode("bin.yaml", vec![b'a', b':', 0xff, 0xfe])
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (1, 1));
        assert!(err.message.starts_with("not a YAML file"));
        assert_eq!(
            decode("t.yaml", "\u{feff}a: 1".as_bytes().to_vec()).unwrap(),
            "a: 1"
        );
    }
}
