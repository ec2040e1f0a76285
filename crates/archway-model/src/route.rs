//! Route keys and resource path templates, as API Gateway writes them.
//!
//! A route key is `METHOD /path/{param}/{proxy+}`, `ANY /path`, or one of the special keys
//! (`$default` on HTTP APIs, `$connect`/`$disconnect` on WebSocket APIs later). Parsing is
//! strict and returns a message suitable for a config diagnostic; it never panics.

use std::fmt;

/// An HTTP method a route can name, or `ANY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteMethod {
    Get,
    Post,
    Put,
    Delete,
    Patch,
    Head,
    Options,
    Any,
}

impl RouteMethod {
    /// The methods API Gateway accepts in a route key (`ANY` included).
    pub const ALL: [RouteMethod; 8] = [
        RouteMethod::Get,
        RouteMethod::Post,
        RouteMethod::Put,
        RouteMethod::Delete,
        RouteMethod::Patch,
        RouteMethod::Head,
        RouteMethod::Options,
        RouteMethod::Any,
    ];

    pub fn parse(s: &str) -> Option<RouteMethod> {
        Some(match s {
            "GET" => RouteMethod::Get,
            "POST" => RouteMethod::Post,
            "PUT" => RouteMethod::Put,
            "DELETE" => RouteMethod::Delete,
            "PATCH" => RouteMethod::Patch,
            "HEAD" => RouteMethod::Head,
            "OPTIONS" => RouteMethod::Options,
            "ANY" => RouteMethod::Any,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::Get => "GET",
            RouteMethod::Post => "POST",
            RouteMethod::Put => "PUT",
            RouteMethod::Delete => "DELETE",
            RouteMethod::Patch => "PATCH",
            RouteMethod::Head => "HEAD",
            RouteMethod::Options => "OPTIONS",
            RouteMethod::Any => "ANY",
        }
    }

    /// Index into per-method tables (`ANY` is the last slot).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One segment of a resource path template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A literal segment, compared with the decoded request segment.
    Literal(String),
    /// `{name}`: exactly one non-empty segment.
    Param(String),
    /// `{name+}`: one or more segments; only last.
    Greedy(String),
}

/// A resource path such as `/pets/{petId}` or `/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathTemplate {
    pub segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses a resource path. Rules (API Gateway's): starts with `/`; no empty segments; a
    /// parameter is a whole segment; a greedy parameter is the last segment; names are unique.
    pub fn parse(path: &str) -> Result<PathTemplate, String> {
        if !path.starts_with('/') {
            return Err(format!("path `{path}` must start with `/`"));
        }
        let mut segments = Vec::new();
        if path == "/" {
            return Ok(PathTemplate { segments });
        }
        let body = path.strip_suffix('/').unwrap_or(path);
        let mut names: Vec<&str> = Vec::new();
        let parts: Vec<&str> = body[1..].split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                return Err(format!("path `{path}` has an empty segment"));
            }
            let segment = if let Some(inner) = part.strip_prefix('{') {
                let Some(inner) = inner.strip_suffix('}') else {
                    return Err(format!(
                        "path `{path}`: segment `{part}` opens `{{` without closing it"
                    ));
                };
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    return Err(format!(
                        "path `{path}`: parameter name `{name}` must be letters, digits, `_`, `-` or `.`"
                    ));
                }
                if names.contains(&name) {
                    return Err(format!("path `{path}`: parameter `{name}` appears twice"));
                }
                names.push(name);
                if greedy {
                    if i + 1 != parts.len() {
                        return Err(format!(
                            "path `{path}`: greedy parameter `{{{name}+}}` must be the last segment"
                        ));
                    }
                    Segment::Greedy(name.to_string())
                } else {
                    Segment::Param(name.to_string())
                }
            } else {
                if part.contains(['{', '}']) {
                    return Err(format!(
                        "path `{path}`: segment `{part}` mixes literal text and a parameter"
                    ));
                }
                Segment::Literal((*part).to_string())
            };
            segments.push(segment);
        }
        Ok(PathTemplate { segments })
    }

    /// Names of the path parameters, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for s in &self.segments {
            match s {
                Segment::Literal(l) => write!(f, "/{l}")?,
                Segment::Param(n) => write!(f, "/{{{n}}}")?,
                Segment::Greedy(n) => write!(f, "/{{{n}+}}")?,
            }
        }
        Ok(())
    }
}

/// A route key: `$default`, or a method and a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteKey {
    Default,
    Route {
        method: RouteMethod,
        path: PathTemplate,
    },
}

impl RouteKey {
    pub fn parse(key: &str) -> Result<RouteKey, String> {
        let key = key.trim();
        if key == "$default" {
            return Ok(RouteKey::Default);
        }
        let Some((method, path)) = key.split_once(' ') else {
            return Err(format!(
                "route key `{key}` must be `METHOD /path` (for example `GET /pets/{{petId}}`) or `$default`"
            ));
        };
        let Some(method) = RouteMethod::parse(method) else {
            return Err(format!(
                "route key `{key}`: unknown method `{method}`, expected one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, ANY"
            ));
        };
        let path = PathTemplate::parse(path.trim())?;
        Ok(RouteKey::Route { method, path })
    }
}

/// What a route key matches regardless of its parameter names: two keys with the same shape
/// match the same requests (`GET /a/{x}` and `GET /a/{y}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteShape(Option<RouteMethod>, Vec<Option<String>>);

impl RouteKey {
    pub fn shape(&self) -> RouteShape {
        match self {
            RouteKey::Default => RouteShape(None, Vec::new()),
            RouteKey::Route { method, path } => RouteShape(
                Some(*method),
                path.segments
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(l) => Some(l.clone()),
                        Segment::Param(_) => None,
                        Segment::Greedy(_) => Some("{+}".to_string()),
                    })
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteKey::Default => f.write_str("$default"),
            RouteKey::Route { method, path } => write!(f, "{method} {path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_route_keys() {
        let k = RouteKey::parse("GET /pets/{petId}").unwrap();
        assert_eq!(k.to_string(), "GET /pets/{petId}");
        let k = RouteKey::parse("ANY /{proxy+}").unwrap();
        assert_eq!(k.to_string(), "ANY /{proxy+}");
        assert_eq!(RouteKey::parse("$default").unwrap(), RouteKey::Default);
        assert_eq!(RouteKey::parse("GET /").unwrap().to_string(), "GET /");
    }

    #[test]
    fn rejects_bad_route_keys() {
        for bad in [
            "GET",
            "FETCH /x",
            "GET pets",
            "GET /a//b",
            "GET /{proxy+}/x",
            "GET /{a}/{a}",
            "GET /a{b}",
            "GET /{}",
            "GET /{a",
        ] {
            assert!(RouteKey::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
