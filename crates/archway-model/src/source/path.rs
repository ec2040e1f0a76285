//! Field paths: `apis[0].routes["GET /pets"].integration.uri`.

use std::fmt::Write as _;

/// One step of a path, linked to its parent on the stack (rendered only when needed).
#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl Path<'static> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };
}

impl<'a> Path<'a> {
    pub(crate) fn key(parent: &'a Path<'a>, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(parent),
            seg: Seg::Key(key),
        }
    }

    pub(crate) fn index(parent: &'a Path<'a>, index: usize) -> Path<'a> {
        Path {
            parent: Some(parent),
            seg: Seg::Index(index),
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Key(k) => push_key(&mut out, k),
                Seg::Index(i) => push_index(&mut out, *i),
            }
        }
        out
    }
}

/// Appends a map key to a path: `.name` for identifier-like keys, `["GET /pets"]` otherwise.
pub fn join_key(path: &str, key: &str) -> String {
    let mut out = String::with_capacity(path.len() + key.len() + 4);
    out.push_str(path);
    push_key(&mut out, key);
    out
}

/// Appends a sequence index to a path: `[3]`.
pub fn join_index(path: &str, index: usize) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    out.push_str(path);
    push_index(&mut out, index);
    out
}

fn push_key(out: &mut String, key: &str) {
    if is_identifier(key) {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(key);
    } else {
        out.push_str("[\"");
        for c in key.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        out.push_str("\"]");
    }
}

fn push_index(out: &mut String, index: usize) {
    let _ = write!(out, "[{index}]");
}

/// `[A-Za-z_$][A-Za-z0-9_$-]*`
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paths() {
        let root = Path::ROOT;
        let apis = Path::key(&root, "apis");
        let first = Path::index(&apis, 0);
        let routes = Path::key(&first, "routes");
        let route = Path::key(&routes, "GET /pets");
        let uri = Path::key(&route, "uri");
        assert_eq!(uri.render(), r#"apis[0].routes["GET /pets"].uri"#);
        assert_eq!(root.render(), "");
        assert_eq!(join_key("", "a\"b"), r#"["a\"b"]"#);
        assert_eq!(join_key("x", "$default"), "x.$default");
        assert_eq!(join_index("x", 2), "x[2]");
        assert_eq!(join_key("", "200"), r#"["200"]"#);
    }
}
