//! Text → [`Node`] tree with `saphyr-parser`, with limits against alias bombs and deep nesting.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use super::node::truncate;
use super::{Diagnostic, Node, Severity, Spanned};

/// Limits on what a file may expand to. A config or OpenAPI file can come from anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of sequences and mappings (after alias expansion). Default 128.
    pub max_depth: usize,
    /// Most nodes (scalars, sequences, mappings; after alias expansion). Default 1,000,000.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 128,
            max_nodes: 1_000_000,
        }
    }
}

/// Parses one YAML (or JSON) document. An empty file is `Null`.
///
/// Returns every problem found: syntax errors and exceeded limits stop the parse; duplicate keys,
/// non-scalar keys, unsupported tags and bad merge keys are all collected.
pub fn parse(file: &str, text: &str, limits: &Limits) -> Result<Spanned<Node>, Vec<Diagnostic>> {
    match parse_recover(file, text, limits) {
        (Some(node), diags) if !diags.iter().any(Diagnostic::is_error) => Ok(node),
        (_, diags) => Err(diags),
    }
}

/// Like [`parse`], but also returns a tree when the only problems were recoverable (a duplicate
/// key keeps its first value, a bad key or tag is left out/ignored), so that deserializing it can
/// report more problems. `None` after a syntax error or an exceeded limit.
pub fn parse_recover(
    file: &str,
    text: &str,
    limits: &Limits,
) -> (Option<Spanned<Node>>, Vec<Diagnostic>) {
    let mut builder = Builder {
        file,
        text,
        limits,
        diags: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        anchored_nodes: 0,
        root: None,
        documents: 0,
    };
    // saphyr-parser is not supposed to panic, but it has `unwrap`s inside; a panic on a
    // malformed file must not take the process down.
    let outcome = catch_unwind(AssertUnwindSafe(|| builder.run()));
    match outcome {
        Ok(Ok(())) => {
            let root = builder.root.take().unwrap_or_else(|| at(Node::Null, 1, 1));
            (Some(root), builder.diags)
        }
        Ok(Err(Fatal)) => (None, builder.diags),
        Err(_) => {
            let mut diags = builder.diags;
            diags.push(Diagnostic::error(
                file,
                0,
                0,
                "",
                "internal error: the YAML parser failed on this file",
            ));
            (None, diags)
        }
    }
}

/// Marks a fatal problem: its diagnostic is already recorded.
struct Fatal;

/// A finished node as the builder handles it.
struct Built {
    node: Spanned<Node>,
    /// Nesting height: 0 for a scalar, 1 for a flat sequence, ...
    height: usize,
    /// How the node may act as a map key: its text as written, for scalars.
    key_text: Option<String>,
    /// A plain, untagged scalar (`<<` is a merge key only then).
    plain: bool,
}

struct Anchored {
    node: Spanned<Node>,
    height: usize,
    count: usize,
    key_text: Option<String>,
}

enum PendingKey {
    Key {
        key: Spanned<String>,
        merge: bool,
    },
    /// A key that was reported (non-scalar, duplicate); its value is dropped.
    Invalid,
}

enum Content {
    Seq(Vec<Spanned<Node>>),
    Map {
        entries: Vec<(Spanned<String>, Spanned<Node>)>,
        key: Option<PendingKey>,
        /// Keys seen so far, with their line.
        seen: HashMap<String, u32>,
        /// Values of `<<` keys, merged at the end of the mapping.
        merges: Vec<Spanned<Node>>,
    },
}

struct Frame {
    content: Content,
    line: u32,
    column: u32,
    anchor: usize,
    tag: Option<Tag>,
    /// `Builder::nodes` before this node was counted.
    nodes_before: usize,
    /// Greatest height of a child.
    child_height: usize,
}

struct Builder<'a> {
    file: &'a str,
    text: &'a str,
    limits: &'a Limits,
    diags: Vec<Diagnostic>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    /// Nodes kept in `anchors`.
    anchored_nodes: usize,
    root: Option<Spanned<Node>>,
    documents: usize,
}

fn at(node: Node, line: u32, column: u32) -> Spanned<Node> {
    Spanned::with_location(node, line, column, String::new())
}

fn line_col(span: &Span) -> (u32, u32) {
    let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(span.start.col().saturating_add(1)).unwrap_or(u32::MAX);
    (line, column)
}

impl Builder<'_> {
    fn error(&mut self, line: u32, column: u32, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(self.file, line, column, "", message));
    }

    fn fatal(&mut self, line: u32, column: u32, message: impl Into<String>) -> Fatal {
        self.error(line, column, message);
        Fatal
    }

    fn scan_error(&mut self, e: &ScanError) -> Fatal {
        let line = u32::try_from(e.marker().line()).unwrap_or(u32::MAX);
        let column = u32::try_from(e.marker().col().saturating_add(1)).unwrap_or(u32::MAX);
        let message = if e.info() == "recursion limit exceeded" {
            // The scanner allows 255 levels of `[`/`{`, and scans a run of them ahead.
            format!(
                "nesting is deeper than the limit of {} levels",
                self.limits.max_depth.min(255)
            )
        } else {
            format!("invalid YAML: {}", e.info())
        };
        self.fatal(line, column, message)
    }

    fn run(&mut self) -> Result<(), Fatal> {
        let mut parser = Parser::new_from_str(self.text);
        while let Some(event) = parser.next_event() {
            let (event, span) = match event {
                Ok(ok) => ok,
                Err(e) => return Err(self.scan_error(&e)),
            };
            let (line, column) = line_col(&span);
            let is_seq = matches!(event, Event::SequenceStart(..));
            match event {
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(self.fatal(
                            line,
                            column,
                            "a second YAML document (`---`) starts here; a file must hold one document",
                        ));
                    }
                }
                Event::Scalar(value, style, anchor, tag) => {
                    self.count(1, line, column)?;
                    let plain = style == ScalarStyle::Plain && tag.is_none();
                    let node = match resolve_scalar(&value, style, tag.as_deref()) {
                        Ok(node) => node,
                        Err((message, fallback)) => {
                            self.error(line, column, message);
                            fallback
                        }
                    };
                    let built = Built {
                        node: at(node, line, column),
                        height: 0,
                        key_text: Some(value.into_owned()),
                        plain,
                    };
                    self.register(anchor, &built, 1, line, column)?;
                    self.push_value(built);
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                    if self.stack.len() >= self.limits.max_depth {
                        return Err(self.fatal(
                            line,
                            column,
                            format!(
                                "nesting is deeper than the limit of {} levels",
                                self.limits.max_depth
                            ),
                        ));
                    }
                    let nodes_before = self.nodes;
                    self.count(1, line, column)?;
                    let content = if is_seq {
                        Content::Seq(Vec::new())
                    } else {
                        Content::Map {
                            entries: Vec::new(),
                            key: None,
                            seen: HashMap::new(),
                            merges: Vec::new(),
                        }
                    };
                    self.stack.push(Frame {
                        content,
                        line,
                        column,
                        anchor,
                        tag: tag.map(std::borrow::Cow::into_owned),
                        nodes_before,
                        child_height: 0,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(self.fatal(line, column, "invalid YAML: unbalanced end"));
                    };
                    let built = self.finish(frame);
                    let count = self.nodes.saturating_sub(built.1);
                    self.register(built.2, &built.0, count, line, column)?;
                    self.push_value(built.0);
                }
                Event::Alias(id) => {
                    let built = self.alias(id, &span)?;
                    self.push_value(built);
                }
            }
        }
        Ok(())
    }

    /// Counts `n` more nodes against the limit.
    fn count(&mut self, n: usize, line: u32, column: u32) -> Result<(), Fatal> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(self.fatal(
                line,
                column,
                format!(
                    "the document has more than {} nodes; refusing to load it",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Keeps a copy of an anchored node for its aliases. The copies count against the node limit
    /// too (nested anchors would otherwise copy the same nodes once per level).
    fn register(
        &mut self,
        anchor: usize,
        built: &Built,
        count: usize,
        line: u32,
        column: u32,
    ) -> Result<(), Fatal> {
        if anchor > 0 {
            self.anchored_nodes = self.anchored_nodes.saturating_add(count);
            if self.anchored_nodes > self.limits.max_nodes {
                return Err(self.fatal(
                    line,
                    column,
                    format!(
                        "anchored nodes (`&name`) add up to more than {} nodes; refusing to load it",
                        self.limits.max_nodes
                    ),
                ));
            }
            self.anchors.insert(
                anchor,
                Anchored {
                    node: built.node.clone(),
                    height: built.height,
                    count,
                    key_text: built.key_text.clone(),
                },
            );
        }
        Ok(())
    }

    fn alias(&mut self, id: usize, span: &Span) -> Result<Built, Fatal> {
        let (line, column) = line_col(span);
        let Some(anchored) = self.anchors.get(&id) else {
            let name = self.source_text(span);
            let message = if self.stack.iter().any(|f| f.anchor == id) {
                format!("alias `{name}` refers to a node that contains it (recursive alias)")
            } else {
                format!("alias `{name}` refers to an unknown anchor")
            };
            return Err(self.fatal(line, column, message));
        };
        let (count, height) = (anchored.count, anchored.height);
        if self.nodes.saturating_add(count) > self.limits.max_nodes {
            let name = self.source_text(span);
            return Err(self.fatal(
                line,
                column,
                format!(
                    "expanding alias `{name}` would make the document larger than {} nodes \
                     (an alias bomb?); refusing to load it",
                    self.limits.max_nodes
                ),
            ));
        }
        if self.stack.len().saturating_add(height) > self.limits.max_depth {
            let name = self.source_text(span);
            return Err(self.fatal(
                line,
                column,
                format!(
                    "expanding alias `{name}` makes nesting deeper than the limit of {} levels",
                    self.limits.max_depth
                ),
            ));
        }
        let built = Built {
            node: anchored.node.clone(),
            height,
            key_text: anchored.key_text.clone(),
            plain: false,
        };
        self.count(count, line, column)?;
        Ok(built)
    }

    /// The text of an alias (`*name`), for messages.
    fn source_text(&self, span: &Span) -> String {
        let start = span.start.index();
        let len = span.end.index().saturating_sub(start).clamp(1, 80);
        let text: String = self.text.chars().skip(start).take(len).collect();
        truncate(text.trim_end(), 80)
    }

    /// Turns a closed frame into a node: (built, nodes_before, anchor).
    fn finish(&mut self, frame: Frame) -> (Built, usize, usize) {
        let Frame {
            content,
            line,
            column,
            anchor,
            tag,
            nodes_before,
            child_height,
        } = frame;
        let node = match content {
            Content::Seq(items) => {
                self.check_container_tag(tag.as_ref(), "seq", line, column);
                Node::Seq(items)
            }
            Content::Map {
                mut entries,
                key,
                mut seen,
                merges,
            } => {
                self.check_container_tag(tag.as_ref(), "map", line, column);
                if let Some(PendingKey::Key { key, .. }) = key {
                    // Cannot happen with a well-formed event stream: a key always has a value.
                    self.error(key.line, key.column, "mapping key without a value");
                }
                for merge in merges {
                    self.merge(&mut entries, &mut seen, merge);
                }
                Node::Map(entries)
            }
        };
        let built = Built {
            node: at(node, line, column),
            height: child_height.saturating_add(1),
            key_text: None,
            plain: false,
        };
        (built, nodes_before, anchor)
    }

    fn check_container_tag(&mut self, tag: Option<&Tag>, kind: &str, line: u32, column: u32) {
        let Some(tag) = tag else { return };
        let ok = (tag.is_yaml_core_schema() && tag.suffix == kind)
            || (tag.handle.is_empty() && tag.suffix == "!");
        if !ok {
            self.error(line, column, format!("unsupported tag `{tag}`"));
        }
    }

    /// Applies a `<<` merge: keys not yet in the mapping are added, earlier sources first.
    fn merge(
        &mut self,
        entries: &mut Vec<(Spanned<String>, Spanned<Node>)>,
        seen: &mut HashMap<String, u32>,
        source: Spanned<Node>,
    ) {
        let bad = "the value of a merge key `<<` must be a mapping or a sequence of mappings";
        let (line, column) = (source.line, source.column);
        match source.value {
            Node::Map(more) => merge_entries(entries, seen, more),
            Node::Seq(items) => {
                for item in items {
                    match item.value {
                        Node::Map(more) => merge_entries(entries, seen, more),
                        _ => self.error(item.line, item.column, bad),
                    }
                }
            }
            _ => self.error(line, column, bad),
        }
    }

    /// Adds a finished node to the open container (or makes it the document).
    fn push_value(&mut self, built: Built) {
        let height = built.height;
        let Some(frame) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(built.node);
            }
            return;
        };
        frame.child_height = frame.child_height.max(height);
        let mut problem = None;
        match &mut frame.content {
            Content::Seq(items) => items.push(built.node),
            Content::Map {
                entries,
                key,
                seen,
                merges,
            } => match key.take() {
                Some(PendingKey::Key { key, merge: true }) => {
                    let _ = key;
                    merges.push(built.node);
                }
                Some(PendingKey::Key { key, merge: false }) => entries.push((key, built.node)),
                Some(PendingKey::Invalid) => {}
                None => {
                    let (line, column) = (built.node.line, built.node.column);
                    *key = Some(match built.key_text {
                        None => {
                            problem = Some((
                                line,
                                column,
                                format!(
                                    "mapping keys must be scalars, found {}",
                                    built.node.value.describe()
                                ),
                            ));
                            PendingKey::Invalid
                        }
                        Some(text) if built.plain && text == "<<" => PendingKey::Key {
                            key: Spanned::with_location(text, line, column, String::new()),
                            merge: true,
                        },
                        Some(text) => {
                            if let Some(first) = seen.get(&text) {
                                problem = Some((
                                    line,
                                    column,
                                    format!(
                                        "duplicate key `{}` (first defined at line {first})",
                                        truncate(&text, 60)
                                    ),
                                ));
                                PendingKey::Invalid
                            } else {
                                seen.insert(text.clone(), line);
                                PendingKey::Key {
                                    key: Spanned::with_location(text, line, column, String::new()),
                                    merge: false,
                                }
                            }
                        }
                    });
                }
            },
        }
        if let Some((line, column, message)) = problem {
            self.diags.push(Diagnostic {
                file: self.file.to_owned(),
                line,
                column,
                path: String::new(),
                message,
                severity: Severity::Error,
            });
        }
    }
}

fn merge_entries(
    entries: &mut Vec<(Spanned<String>, Spanned<Node>)>,
    seen: &mut HashMap<String, u32>,
    more: Vec<(Spanned<String>, Spanned<Node>)>,
) {
    for (k, v) in more {
        if !seen.contains_key(&k.value) {
            seen.insert(k.value.clone(), k.line);
            entries.push((k, v));
        }
    }
}

/// Resolves a scalar; on a problem returns the message and a node to go on with.
fn resolve_scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Node, (String, Node)> {
    let untagged = || {
        if style == ScalarStyle::Plain {
            resolve_plain(value)
        } else {
            Node::Str(value.to_owned())
        }
    };
    let Some(tag) = tag else {
        return Ok(untagged());
    };
    if tag.handle.is_empty() && tag.suffix == "!" {
        // The non-specific tag `!`: a string.
        return Ok(Node::Str(value.to_owned()));
    }
    if !tag.is_yaml_core_schema() {
        return Err((format!("unsupported tag `{tag}`"), untagged()));
    }
    let invalid = || {
        (
            format!("`{}` is not a valid `{tag}`", truncate(value, 60)),
            Node::Str(value.to_owned()),
        )
    };
    match tag.suffix.as_str() {
        "str" => Ok(Node::Str(value.to_owned())),
        "null" => match resolve_plain(value) {
            Node::Null => Ok(Node::Null),
            _ => Err(invalid()),
        },
        "bool" => match resolve_plain(value) {
            Node::Bool(b) => Ok(Node::Bool(b)),
            _ => Err(invalid()),
        },
        "int" => match resolve_plain(value) {
            Node::Int(i) => Ok(Node::Int(i)),
            _ => Err(invalid()),
        },
        "float" => match resolve_plain(value) {
            Node::Int(i) => Ok(Node::Float(i as f64)),
            Node::Float(f) => Ok(Node::Float(f)),
            _ => Err(invalid()),
        },
        _ => Err((format!("unsupported tag `{tag}`"), untagged())),
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(value: &str) -> Node {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = value.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Ok(i) = i64::from_str_radix(hex, 16) {
                return Node::Int(i);
            }
        }
        return Node::Str(value.to_owned());
    }
    if let Some(oct) = value.strip_prefix("0o") {
        if !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            if let Ok(i) = i64::from_str_radix(oct, 8) {
                return Node::Int(i);
            }
        }
        return Node::Str(value.to_owned());
    }
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return match value.parse::<i64>() {
            Ok(i) => Node::Int(i),
            // Too big for an i64: keep the magnitude as a float, as JSON readers do.
            Err(_) => value
                .parse::<f64>()
                .map_or_else(|_| Node::Str(value.to_owned()), Node::Float),
        };
    }
    if is_core_float(value) {
        if let Ok(f) = value.parse::<f64>() {
            return Node::Float(f);
        }
    }
    Node::Str(value.to_owned())
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_core_float(value: &str) -> bool {
    let b = value.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema() {
        assert_eq!(resolve_plain("~"), Node::Null);
        assert_eq!(resolve_plain("True"), Node::Bool(true));
        assert_eq!(resolve_plain("yes"), Node::Str("yes".into()));
        assert_eq!(resolve_plain("-12"), Node::Int(-12));
        assert_eq!(resolve_plain("+12"), Node::Int(12));
        assert_eq!(resolve_plain("0x1F"), Node::Int(31));
        assert_eq!(resolve_plain("0o17"), Node::Int(15));
        assert_eq!(resolve_plain("0o8"), Node::Str("0o8".into()));
        assert_eq!(resolve_plain("1.5"), Node::Float(1.5));
        assert_eq!(resolve_plain("1."), Node::Float(1.0));
        assert_eq!(resolve_plain(".5e1"), Node::Float(5.0));
        assert_eq!(resolve_plain("1e3"), Node::Float(1000.0));
        assert_eq!(resolve_plain("-.INF"), Node::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve_plain(".nan"), Node::Float(f) if f.is_nan()));
        assert_eq!(resolve_plain("1.2.3"), Node::Str("1.2.3".into()));
        assert_eq!(resolve_plain("inf"), Node::Str("inf".into()));
        assert_eq!(resolve_plain("1e"), Node::Str("1e".into()));
        assert_eq!(resolve_plain("."), Node::Str(".".into()));
        assert_eq!(resolve_plain("-"), Node::Str("-".into()));
        assert_eq!(
            resolve_plain("99999999999999999999"),
            Node::Float(99999999999999999999.0)
        );
    }
}
