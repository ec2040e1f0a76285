//! Mapping templates (API Gateway's Velocity templates), the subset Archway renders today.
//!
//! Supported: literal text with references `$context.*`, `$stageVariables.NAME`, `$input.body`,
//! `$input.json('$')` and `$input.params('NAME')`, each also as `${...}`. Directives (`#set`,
//! `#if`, `#foreach`, ...) and other references are refused when the config is loaded, naming
//! the construct, so a template is never served half-understood. `$` not followed by a letter or
//! `{` is literal text, as in Velocity.

use std::borrow::Cow;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    source: String,
    /// Why Archway cannot render this template yet (see [`Template::parse_or_keep`]).
    unsupported: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Ref(Reference),
}

/// A value a template can refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `$context.a.b` — the dotted path after `context.`.
    Context(String),
    /// `$stageVariables.name`.
    StageVariable(String),
    /// `$input.body`: the raw request (or integration response) body.
    InputBody,
    /// `$input.json('$')`: the body as JSON (the raw body when it is JSON).
    InputJsonRoot,
    /// `$input.params('name')`: path, then query string, then header.
    InputParam(String),
}

/// Where rendered values come from.
pub trait TemplateSource {
    fn context(&self, path: &str) -> Option<Cow<'_, str>>;
    fn stage_variable(&self, name: &str) -> Option<Cow<'_, str>>;
    fn body(&self) -> Cow<'_, str>;
    fn param(&self, name: &str) -> Option<Cow<'_, str>>;
}

const DIRECTIVES: [&str; 12] = [
    "set", "if", "elseif", "else", "end", "foreach", "macro", "include", "parse", "stop", "break",
    "define",
];

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let bytes = source.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'#' {
                let rest = &source[i + 1..];
                if rest.starts_with('#') || rest.starts_with('*') {
                    return Err("Velocity comments (`##`, `#*`) are not supported yet".into());
                }
                let word: String = rest
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if DIRECTIVES.contains(&word.as_str()) {
                    return Err(format!(
                        "the Velocity directive `#{word}` is not supported yet; only references such as `$input.body` and `$context.requestId` are"
                    ));
                }
            }
            if c == b'$' {
                let rest = &source[i + 1..];
                let rest = rest.strip_prefix('!').unwrap_or(rest);
                let quiet = source[i + 1..].starts_with('!');
                let (braced, body) = match rest.strip_prefix('{') {
                    Some(b) => (true, b),
                    None => (false, rest),
                };
                if body.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    let (reference, used) = parse_reference(body)?;
                    let mut consumed = used;
                    if braced {
                        if !body[used..].starts_with('}') {
                            return Err(format!(
                                "reference `${{{}` is not closed with `}}`",
                                &body[..used]
                            ));
                        }
                        consumed += 1;
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Ref(reference));
                    i += 1 + usize::from(quiet) + usize::from(braced) + consumed;
                    continue;
                }
            }
            let ch_len = source[i..].chars().next().map_or(1, char::len_utf8);
            text.push_str(&source[i..i + ch_len]);
            i += ch_len;
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            parts,
            source: source.to_string(),
            unsupported: None,
        })
    }

    /// Like [`Template::parse`], but a template Archway cannot render yet is kept as written,
    /// with the reason, instead of being refused. The OpenAPI import uses this so that a
    /// document round-trips; `openapi::check_served` refuses every route that has such a
    /// template, so it is never rendered (it would render as its literal source).
    pub fn parse_or_keep(source: &str) -> Template {
        Template::parse(source).unwrap_or_else(|reason| Template {
            parts: vec![Part::Text(source.to_string())],
            source: source.to_string(),
            unsupported: Some(reason),
        })
    }

    /// Why this template cannot be rendered yet; `None` for every template [`Template::parse`]
    /// accepted.
    pub fn unsupported(&self) -> Option<&str> {
        self.unsupported.as_deref()
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the template has no references: its text is the output.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    pub fn render(&self, src: &dyn TemplateSource) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Ref(r) => match r {
                    Reference::Context(path) => {
                        if let Some(v) = src.context(path) {
                            out.push_str(&v)
                        }
                    }
                    Reference::StageVariable(n) => {
                        if let Some(v) = src.stage_variable(n) {
                            out.push_str(&v)
                        }
                    }
                    Reference::InputBody => out.push_str(&src.body()),
                    Reference::InputJsonRoot => {
                        let body = src.body();
                        if body.trim().is_empty() {
                            out.push_str("{}");
                        } else if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
                            out.push_str(&body);
                        } else {
                            // AWS renders a non-JSON body as a JSON string here.
                            out.push_str(&serde_json::Value::String(body.into_owned()).to_string());
                        }
                    }
                    Reference::InputParam(n) => {
                        if let Some(v) = src.param(n) {
                            out.push_str(&v)
                        }
                    }
                },
            }
        }
        out
    }
}

/// Parses the reference after `$` (and `{`); returns it and the bytes used.
fn parse_reference(body: &str) -> Result<(Reference, usize), String> {
    let ident_end = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(s.len())
    };
    let root_len = ident_end(body);
    let root = &body[..root_len];
    match root {
        "context" | "stageVariables" => {
            let mut used = root_len;
            let mut path = String::new();
            while body[used..].starts_with('.') {
                let seg_start = used + 1;
                let seg_len = ident_end(&body[seg_start..]);
                if seg_len == 0 {
                    break;
                }
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&body[seg_start..seg_start + seg_len]);
                used = seg_start + seg_len;
            }
            if path.is_empty() {
                return Err(format!("`${root}` needs a field, as in `${root}.name`"));
            }
            if root == "context" {
                Ok((Reference::Context(path), used))
            } else if path.contains('.') {
                Err(format!("stage variable reference `$stageVariables.{path}` has too many parts"))
            } else {
                Ok((Reference::StageVariable(path), used))
            }
        }
        "input" => {
            let rest = &body[root_len..];
            if rest.starts_with(".body") && !rest[5..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Ok((Reference::InputBody, root_len + 5));
            }
            for (prefix, is_json) in [(".json(", true), (".params(", false)] {
                if let Some(args) = rest.strip_prefix(prefix) {
                    let Some(close) = args.find(')') else {
                        return Err(format!("`$input{prefix}` is not closed with `)`"));
                    };
                    let arg = args[..close].trim();
                    let arg = arg
                        .strip_prefix('\'')
                        .and_then(|a| a.strip_suffix('\''))
                        .or_else(|| arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
                        .ok_or_else(|| format!("`$input{prefix}{arg})` needs a quoted argument"))?;
                    let used = root_len + prefix.len() + close + 1;
                    return if is_json {
                        if arg == "$" {
                            Ok((Reference::InputJsonRoot, used))
                        } else {
                            Err(format!("`$input.json('{arg}')` is not supported yet; only `$input.json('$')` is"))
                        }
                    } else {
                        Ok((Reference::InputParam(arg.to_string()), used))
                    };
                }
            }
            Err("only `$input.body`, `$input.json('$')` and `$input.params('name')` are supported in templates yet".into())
        }
        other => Err(format!(
            "the template reference `${other}` is not supported yet; use `$context`, `$stageVariables` or `$input`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Src;
    impl TemplateSource for Src {
        fn context(&self, path: &str) -> Option<Cow<'_, str>> {
            (path == "requestId").then_some(Cow::Borrowed("req-1"))
        }
        fn stage_variable(&self, name: &str) -> Option<Cow<'_, str>> {
            (name == "env").then_some(Cow::Borrowed("prod"))
        }
        fn body(&self) -> Cow<'_, str> {
            Cow::Borrowed("{\"a\":1}")
        }
        fn param(&self, name: &str) -> Option<Cow<'_, str>> {
            (name == "id").then_some(Cow::Borrowed("42"))
        }
    }

    #[test]
    fn renders_references() {
        let t = Template::parse(
            r#"{"id":"$context.requestId","env":"${stageVariables.env}","b":$input.json('$'),"p":"$input.params('id')","cost":"$5"}"#,
        )
        .unwrap();
        assert_eq!(
            t.render(&Src),
            r#"{"id":"req-1","env":"prod","b":{"a":1},"p":"42","cost":"$5"}"#
        );
        assert!(Template::parse("{\"statusCode\": 200}")
            .unwrap()
            .is_static());
    }

    #[test]
    fn refuses_unsupported_constructs() {
        for bad in [
            "#set($x = 1)",
            "#if($a)x#end",
            "$util.escapeJavaScript($x)",
            "$input.path('$.a')",
            "${context.requestId",
            "## comment",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
