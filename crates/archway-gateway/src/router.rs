//! Route matching, precompiled per snapshot.
//!
//! A trie over decoded path segments. At each node a literal child is tried first, then the
//! `{param}` child, then a greedy `{proxy+}` ending here; at the end of the path an explicit
//! method beats `ANY`. When a branch matches the path but not the method, the search backs up
//! to the next less specific branch, as API Gateway does (`POST /pets/dog/1` falls to
//! `ANY /{proxy+}` when only `GET /pets/dog/{id}` exists). `$default` catches the rest.
//!
//! Cost: one hash lookup per segment on the literal path; it does not grow with the number of
//! routes (see `bench/routes`).

use crate::path::SegmentsView;
use archway_model::{RouteKey, RouteMethod, Segment};
use rustc_hash::FxHashMap as HashMap;

/// A route index into the compiled stage's route list.
pub type RouteId = u32;

/// Where a path parameter's value lies in the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// One segment.
    Segment(u32),
    /// Every segment from this one on (greedy).
    Rest(u32),
}

/// A match: the route and its parameter values, in the order of the route's parameter names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub route: RouteId,
    pub captures: Vec<Capture>,
}

#[derive(Debug, Default, Clone)]
struct MethodTable([Option<RouteId>; 8]);

impl MethodTable {
    fn get(&self, m: Option<RouteMethod>) -> Option<RouteId> {
        m.and_then(|m| self.0[m.index()])
            .or(self.0[RouteMethod::Any.index()])
    }
}

#[derive(Debug, Default, Clone)]
struct Node {
    literals: HashMap<Box<str>, Node>,
    param: Option<Box<Node>>,
    greedy: Option<MethodTable>,
    here: Option<MethodTable>,
}

/// The compiled route table of one deployment.
#[derive(Debug, Default, Clone)]
pub struct Router {
    root: Node,
    default_route: Option<RouteId>,
}

impl Router {
    /// Builds the trie. Keys must be distinct in shape (validation guarantees it); a later
    /// duplicate replaces an earlier one.
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a RouteKey>) -> Router {
        let mut r = Router::default();
        for (i, key) in keys.into_iter().enumerate() {
            let id = i as RouteId;
            match key {
                RouteKey::Default => r.default_route = Some(id),
                RouteKey::Route { method, path } => {
                    let mut node = &mut r.root;
                    let mut table = None;
                    for seg in &path.segments {
                        match seg {
                            Segment::Literal(l) => {
                                node = node.literals.entry(l.as_str().into()).or_default();
                            }
                            Segment::Param(_) => {
                                node = node.param.get_or_insert_with(Default::default);
                            }
                            Segment::Greedy(_) => {
                                table = Some(node.greedy.get_or_insert_with(Default::default));
                                break;
                            }
                        }
                    }
                    let table = match table {
                        Some(t) => t,
                        None => node.here.get_or_insert_with(Default::default),
                    };
                    table.0[method.index()] = Some(id);
                }
            }
        }
        r
    }

    /// Finds the route for `method` and the path segments after the stage.
    pub fn find(&self, method: &http::Method, path: SegmentsView<'_>) -> Option<Match> {
        let m = route_method(method);
        let mut captures = Vec::new();
        if let Some(route) = find_in(&self.root, m, path, 0, &mut captures) {
            return Some(Match { route, captures });
        }
        self.default_route.map(|route| Match {
            route,
            captures: Vec::new(),
        })
    }
}

fn route_method(m: &http::Method) -> Option<RouteMethod> {
    Some(match *m {
        http::Method::GET => RouteMethod::Get,
        http::Method::POST => RouteMethod::Post,
        http::Method::PUT => RouteMethod::Put,
        http::Method::DELETE => RouteMethod::Delete,
        http::Method::PATCH => RouteMethod::Patch,
        http::Method::HEAD => RouteMethod::Head,
        http::Method::OPTIONS => RouteMethod::Options,
        _ => return None,
    })
}

fn find_in(
    node: &Node,
    m: Option<RouteMethod>,
    path: SegmentsView<'_>,
    i: usize,
    captures: &mut Vec<Capture>,
) -> Option<RouteId> {
    if i == path.len() {
        return node.here.as_ref().and_then(|t| t.get(m));
    }
    let seg = path.get(i);
    if let Some(child) = node.literals.get(seg) {
        if let Some(r) = find_in(child, m, path, i + 1, captures) {
            return Some(r);
        }
    }
    if let Some(child) = &node.param {
        // A parameter takes one non-empty segment.
        if !seg.is_empty() {
            captures.push(Capture::Segment(i as u32));
            if let Some(r) = find_in(child, m, path, i + 1, captures) {
                return Some(r);
            }
            captures.pop();
        }
    }
    if let Some(t) = &node.greedy {
        if let Some(r) = t.get(m) {
            captures.push(Capture::Rest(i as u32));
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::RequestPath;

    fn router(keys: &[&str]) -> (Router, Vec<RouteKey>) {
        let keys: Vec<RouteKey> = keys.iter().map(|k| RouteKey::parse(k).unwrap()).collect();
        (Router::new(&keys), keys)
    }

    fn find(r: &(Router, Vec<RouteKey>), method: &str, path: &str) -> Option<String> {
        let p = RequestPath::parse(path).unwrap();
        let m = http::Method::from_bytes(method.as_bytes()).unwrap();
        r.0.find(&m, p.skip(0))
            .map(|m| r.1[m.route as usize].to_string())
    }

    #[test]
    fn specificity_order() {
        let r = router(&[
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ]);
        assert_eq!(find(&r, "GET", "/pets/dog/1").unwrap(), "GET /pets/dog/1");
        assert_eq!(
            find(&r, "GET", "/pets/dog/2").unwrap(),
            "GET /pets/dog/{id}"
        );
        assert_eq!(
            find(&r, "GET", "/pets/cat/1").unwrap(),
            "GET /pets/{proxy+}"
        );
        assert_eq!(find(&r, "POST", "/pets/dog/1").unwrap(), "ANY /{proxy+}");
        assert_eq!(find(&r, "GET", "/").unwrap(), "$default");
    }

    #[test]
    fn explicit_method_beats_any() {
        let r = router(&["ANY /pets", "POST /pets"]);
        assert_eq!(find(&r, "POST", "/pets").unwrap(), "POST /pets");
        assert_eq!(find(&r, "GET", "/pets").unwrap(), "ANY /pets");
        assert_eq!(find(&r, "PROPFIND", "/pets").unwrap(), "ANY /pets");
        assert_eq!(find(&r, "GET", "/pets/1"), None);
    }

    #[test]
    fn literal_beats_param_beats_greedy() {
        let r = router(&["GET /a/{x}/c", "GET /a/b/c", "GET /a/{proxy+}"]);
        assert_eq!(find(&r, "GET", "/a/b/c").unwrap(), "GET /a/b/c");
        assert_eq!(find(&r, "GET", "/a/z/c").unwrap(), "GET /a/{x}/c");
        assert_eq!(find(&r, "GET", "/a/b/d").unwrap(), "GET /a/{proxy+}");
        assert_eq!(find(&r, "GET", "/a"), None, "greedy needs one segment");
    }

    #[test]
    fn captures_positions() {
        let (r, _) = router(&["GET /pets/{id}/toys/{rest+}"]);
        let p = RequestPath::parse("/pets/7/toys/a/b").unwrap();
        let m = r.find(&http::Method::GET, p.skip(0)).unwrap();
        assert_eq!(m.captures, vec![Capture::Segment(1), Capture::Rest(3)]);
    }
}
