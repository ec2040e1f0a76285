//! Turns the file-facing [`crate::config`] types into the checked [`crate::model`], reporting
//! every problem at once with file, line and field. Never panics on user input.

use crate::config::*;
use crate::gateway_response::GatewayResponseType;
use crate::model::*;
use crate::route::{RouteKey, RouteMethod, RouteShape};
use crate::source::{self, Diagnostic, Severity, Spanned};
use crate::template::Template;
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The result of loading a config: the model, or every error; warnings either way.
#[derive(Debug)]
pub struct Loaded {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// The model if there were no errors, else every diagnostic.
    pub fn into_result(self) -> Result<(Model, Vec<Diagnostic>), Vec<Diagnostic>> {
        match self.model {
            Some(m)
                if !self
                    .diagnostics
                    .iter()
                    .any(|d| d.severity == Severity::Error) =>
            {
                Ok((m, self.diagnostics))
            }
            _ => Err(self.diagnostics),
        }
    }
}

/// Reads and validates `archway.yaml` at `path`. Relative paths inside the file are taken
/// relative to the file's folder.
pub fn load_config_file(path: &Path) -> Loaded {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            load_config_str(&name, &text, &base)
        }
        Err(e) => Loaded {
            model: None,
            diagnostics: vec![Diagnostic {
                file: name,
                line: 0,
                column: 0,
                path: String::new(),
                message: format!("cannot read the file: {e}"),
                severity: Severity::Error,
            }],
        },
    }
}

/// Parses and validates config text.
pub fn load_config_str(file: &str, text: &str, base_dir: &Path) -> Loaded {
    let (cfg, mut diagnostics) =
        source::from_str::<ConfigFile>(file, text, &source::Limits::default());
    let Some(cfg) = cfg else {
        return Loaded {
            model: None,
            diagnostics,
        };
    };
    let mut v = Validator {
        file,
        base_dir,
        diags: Vec::new(),
    };
    let model = v.config(&cfg);
    diagnostics.append(&mut v.diags);
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Loaded {
        model: Some(model),
        diagnostics,
    }
}

struct Validator<'a> {
    file: &'a str,
    base_dir: &'a Path,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn push<T>(&mut self, at: &Spanned<T>, severity: Severity, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: at.line,
            column: at.column,
            path: at.path.clone(),
            message,
            severity,
        });
    }

    fn error<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.push(at, Severity::Error, message.into());
    }

    fn warn<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.push(at, Severity::Warning, message.into());
    }

    /// An error about a field that is missing from the object at `parent`.
    fn missing<T>(&mut self, parent: &Spanned<T>, field: &str) {
        let mut at = Spanned::new(());
        at.line = parent.line;
        at.column = parent.column;
        at.path = if parent.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", parent.path)
        };
        self.error(&at, format!("`{field}` is required"));
    }

    fn path(&self, p: &Spanned<String>) -> PathBuf {
        let p = Path::new(p.value.as_str());
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    fn millis(&mut self, v: &Option<Spanned<u64>>, default: Duration, min: u64) -> Duration {
        match v {
            None => default,
            Some(ms) if ms.value < min => {
                self.error(ms, format!("must be at least {min} milliseconds"));
                default
            }
            Some(ms) => Duration::from_millis(ms.value),
        }
    }

    fn positive(&mut self, v: &Option<Spanned<u64>>, default: u64) -> u64 {
        match v {
            None => default,
            Some(n) if n.value == 0 => {
                self.error(n, "must be greater than 0");
                default
            }
            Some(n) => n.value,
        }
    }

    fn socket_addr(&mut self, s: &Spanned<String>) -> Option<SocketAddr> {
        match s.value.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.error(
                    s,
                    format!("`{}` is not an address such as 127.0.0.1:8080", s.value),
                );
                None
            }
        }
    }

    fn certificate(
        &mut self,
        at: &Spanned<()>,
        cert: &Option<Spanned<String>>,
        key: &Option<Spanned<String>>,
    ) -> Option<CertificatePaths> {
        match (cert, key) {
            (Some(c), Some(k)) => {
                let (cp, kp) = (self.path(c), self.path(k));
                let mut ok = true;
                for (s, p) in [(c, &cp), (k, &kp)] {
                    if !p.is_file() {
                        self.error(s, format!("file `{}` does not exist", p.display()));
                        ok = false;
                    }
                }
                ok.then_some(CertificatePaths {
                    cert_file: cp,
                    key_file: kp,
                })
            }
            (None, None) => None,
            (Some(_), None) => {
                self.missing(at, "keyFile");
                None
            }
            (None, Some(_)) => {
                self.missing(at, "certFile");
                None
            }
        }
    }

    fn config(&mut self, cfg: &ConfigFile) -> Model {
        let settings = self.settings(&cfg.server);
        let access_log = cfg.access_log.as_ref().and_then(|a| {
            a.destination.as_ref().map(|d| {
                if d.value == "stdout" || d.value == "-" {
                    AccessLogDestination::Stdout
                } else {
                    AccessLogDestination::File(self.path(d))
                }
            })
        });
        let mut apis: Vec<Api> = Vec::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut names: HashSet<String> = HashSet::new();
        for api_cfg in &cfg.apis {
            if let Some(api) = self.api(api_cfg, settings.max_payload_bytes) {
                if !names.insert(api.name.clone()) {
                    self.error(api_cfg, format!("a second API is named `{}`", api.name));
                    continue;
                }
                if let Some(other) = ids.insert(api.id.clone(), api.name.clone()) {
                    self.error(
                        api_cfg,
                        format!(
                            "API `{}` has id `{}`, which API `{other}` already has; set a distinct `id`",
                            api.name, api.id
                        ),
                    );
                    continue;
                }
                apis.push(api);
            }
        }
        let mut domain_names: Vec<DomainName> = Vec::new();
        for d in &cfg.domain_names {
            if let Some(dn) = self.domain_name(d, &apis) {
                if domain_names.iter().any(|o| o.name == dn.name) {
                    self.error(d, format!("domain name `{}` is declared twice", dn.name));
                } else {
                    domain_names.push(dn);
                }
            }
        }
        if let (Some(tls), Some(t)) = (&settings.tls, &cfg.server.tls) {
            if tls.default_certificate.is_none()
                && !domain_names.iter().any(|d| d.certificate.is_some())
            {
                self.error(
                    t,
                    "a TLS listener needs a certificate: set `certFile` and `keyFile` here or on a domain name",
                );
            }
        }
        let mut functions: Vec<Function> = Vec::new();
        for f in &cfg.functions {
            if let Some(func) = self.function(f) {
                if functions.iter().any(|o| o.name == func.name) {
                    self.error(f, format!("a second function is named `{}`", func.name));
                } else {
                    functions.push(func);
                }
            }
        }
        let lambda = cfg
            .lambda
            .as_ref()
            .map(|l| self.lambda(l))
            .unwrap_or_default();
        let api_keys = self.api_keys(&cfg.api_keys);
        let usage_plans = self.usage_plans(&cfg.usage_plans, &apis, &api_keys);
        Model {
            settings,
            access_log,
            apis,
            domain_names,
            functions,
            lambda,
            api_keys,
            usage_plans,
        }
    }

    fn lambda(&mut self, l: &Spanned<LambdaConfig>) -> LambdaSettings {
        let default = RemoteLambda {
            endpoint: self.endpoint(&l.endpoint),
            profile: l.profile.as_ref().map(|p| p.value.clone()),
        };
        let mut functions = IndexMap::new();
        for f in &l.remote_functions {
            let remote = RemoteLambda {
                endpoint: self.endpoint(&f.endpoint),
                profile: f.profile.as_ref().map(|p| p.value.clone()),
            };
            match &f.arn {
                Some(a) => match crate::model::lambda_function_arn(&a.value) {
                    Some(arn) if arn.starts_with("arn:") => {
                        functions.insert(arn.to_string(), remote);
                    }
                    _ => self.error(
                        a,
                        "expected a function ARN: arn:aws:lambda:REGION:ACCOUNT:function:NAME",
                    ),
                },
                None => self.missing(f, "arn"),
            }
        }
        LambdaSettings { default, functions }
    }

    /// An absolute http(s) base URL, without a trailing `/`.
    fn endpoint(&mut self, e: &Option<Spanned<String>>) -> Option<String> {
        let e = e.as_ref()?;
        match check_absolute_uri(&e.value) {
            Ok(()) => Some(e.value.trim_end_matches('/').to_string()),
            Err(why) => {
                self.error(e, why);
                None
            }
        }
    }

    fn function(&mut self, f: &Spanned<FunctionConfig>) -> Option<Function> {
        let name = match &f.name {
            Some(n) if Function::valid_name(&n.value) => Some(n.value.clone()),
            Some(n) => {
                self.error(
                    n,
                    format!(
                        "`{}` is not a function name: 1 to 64 letters, digits, `-` or `_`",
                        n.value
                    ),
                );
                None
            }
            None => {
                self.missing(f, "name");
                None
            }
        };
        let command = match &f.command {
            Some(c) => match shlex::split(&c.value) {
                Some(words) if !words.is_empty() => Some(words),
                _ => {
                    self.error(c, "the command is empty or has an unclosed quote");
                    None
                }
            },
            None => {
                self.missing(f, "command");
                None
            }
        };
        let working_directory = f.working_directory.as_ref().map(|d| self.path(d));
        let mut func = Function::new(&name?, command?, working_directory);
        if func.working_directory.is_none() {
            func.working_directory = Some(self.base_dir.to_path_buf());
        }
        for (k, v) in &f.environment {
            func.environment.insert(k.value.clone(), v.value.clone());
        }
        let mut ranged = |v: &Option<Spanned<u64>>, lo: u64, hi: u64| -> Option<u64> {
            let v = v.as_ref()?;
            if v.value < lo || v.value > hi {
                self.error(v, format!("must be between {lo} and {hi}"));
                return None;
            }
            Some(v.value)
        };
        if let Some(t) = ranged(&f.timeout, 1, 900) {
            func.timeout = Duration::from_secs(t);
        }
        if let Some(m) = ranged(&f.memory_size, 128, 10240) {
            func.memory_mb = m as u32;
        }
        if let Some(c) = ranged(&f.max_concurrency, 1, 1000) {
            func.max_concurrency = c as u32;
        }
        if let Some(w) = ranged(&f.warm_minimum, 0, 1000) {
            func.warm_minimum = w as u32;
        }
        if func.warm_minimum > func.max_concurrency {
            if let Some(w) = &f.warm_minimum {
                self.error(w, "must not be more than maxConcurrency");
            }
        }
        Some(func)
    }

    fn settings(&mut self, s: &ServerConfig) -> Settings {
        let d = Settings::default();
        let listen = s.listen.as_ref().and_then(|l| self.socket_addr(l));
        let tls = s.tls.as_ref().and_then(|t| {
            let listen = match &t.listen {
                Some(l) => self.socket_addr(l),
                None => {
                    self.missing(t, "listen");
                    None
                }
            };
            let at = Spanned {
                value: (),
                line: t.line,
                column: t.column,
                path: t.path.clone(),
            };
            let cert = self.certificate(&at, &t.cert_file, &t.key_file);
            listen.map(|listen| TlsListener {
                listen,
                default_certificate: cert,
            })
        });
        let workers = match &s.workers {
            Some(w) if w.value == 0 || w.value > 1024 => {
                self.error(w, "must be between 1 and 1024");
                None
            }
            Some(w) => Some(w.value as usize),
            None => None,
        };
        Settings {
            listen,
            tls,
            workers,
            header_read_timeout: self.millis(
                &s.header_read_timeout_millis,
                d.header_read_timeout,
                1,
            ),
            idle_timeout: self.millis(&s.idle_timeout_millis, d.idle_timeout, 1),
            drain_timeout: self.millis(&s.drain_timeout_millis, d.drain_timeout, 0),
            idle_poll: match &s.idle_poll_micros {
                Some(us) if us.value > MAX_IDLE_POLL_MICROS => {
                    self.error(
                        us,
                        format!("must be between 0 and {MAX_IDLE_POLL_MICROS} microseconds"),
                    );
                    d.idle_poll
                }
                Some(us) => Duration::from_micros(us.value),
                None => d.idle_poll,
            },
            max_request_line_bytes: self
                .positive(&s.max_request_line_bytes, d.max_request_line_bytes as u64)
                as usize,
            max_header_bytes: self.positive(&s.max_header_bytes, d.max_header_bytes as u64)
                as usize,
            max_payload_bytes: self.positive(&s.max_payload_bytes, d.max_payload_bytes),
            usage_flush_interval: self.millis(
                &s.usage_flush_interval_millis,
                d.usage_flush_interval,
                100,
            ),
            account_throttle: s
                .throttle
                .as_ref()
                .and_then(|t| self.throttle(t, Some(d.account_throttle)))
                .unwrap_or(d.account_throttle),
        }
    }

    /// A token bucket; either limit may be left out when `default` gives it.
    fn throttle(
        &mut self,
        t: &Spanned<ThrottleConfig>,
        default: Option<Throttle>,
    ) -> Option<Throttle> {
        let rate = t
            .rate_limit
            .as_ref()
            .map(|r| r.value)
            .or(default.map(|d| d.rate_limit));
        let burst = t
            .burst_limit
            .as_ref()
            .map(|b| b.value)
            .or(default.map(|d| d.burst_limit));
        self.limits(t, rate, burst, "rateLimit", "burstLimit")
    }

    fn limits<T>(
        &mut self,
        at: &Spanned<T>,
        rate: Option<f64>,
        burst: Option<u64>,
        rate_name: &str,
        burst_name: &str,
    ) -> Option<Throttle> {
        let (Some(rate_limit), Some(burst_limit)) = (rate, burst) else {
            if rate.is_none() {
                self.missing(at, rate_name);
            }
            if burst.is_none() {
                self.missing(at, burst_name);
            }
            return None;
        };
        let t = Throttle {
            rate_limit,
            burst_limit,
        };
        match t.check() {
            Ok(()) => Some(t),
            Err(e) => {
                self.error(at, e);
                None
            }
        }
    }

    /// A stage's method settings: `*/*` or `{resource path}/{METHOD}` → throttle.
    fn method_throttles(
        &mut self,
        settings: &IndexMap<Spanned<String>, Spanned<MethodSettingConfig>>,
        account: Throttle,
    ) -> IndexMap<String, Throttle> {
        let mut out = IndexMap::new();
        for (key, ms) in settings {
            if !valid_method_key(&key.value) {
                self.error(
                    key,
                    "expected `*/*` or `{resource path}/{METHOD}`, e.g. `/pets/{petId}/GET`",
                );
                continue;
            }
            if ms.throttling_rate_limit.is_none() && ms.throttling_burst_limit.is_none() {
                continue;
            }
            // AWS's MethodSetting defaults are the account's limits.
            let rate = ms
                .throttling_rate_limit
                .as_ref()
                .map_or(account.rate_limit, |r| r.value);
            let burst = ms
                .throttling_burst_limit
                .as_ref()
                .map_or(account.burst_limit, |b| b.value);
            if let Some(t) = self.limits(
                ms,
                Some(rate),
                Some(burst),
                "throttlingRateLimit",
                "throttlingBurstLimit",
            ) {
                out.insert(key.value.clone(), t);
            }
        }
        out
    }

    fn api_keys(&mut self, keys: &[Spanned<ApiKeyConfig>]) -> Vec<ApiKey> {
        let mut out: Vec<ApiKey> = Vec::new();
        for k in keys {
            let Some(name) = k.name.as_ref() else {
                self.missing(k, "name");
                continue;
            };
            // `k.value` is the spanned node's; the key's own `value` field is one level down.
            let Some(value) = k.value.value.as_ref() else {
                self.missing(k, "value");
                continue;
            };
            if let Err(e) = check_api_key_value(&value.value) {
                self.error(value, e);
                continue;
            }
            let id =
                k.id.as_ref()
                    .map_or_else(|| derive_id(&name.value), |i| i.value.clone());
            if out.iter().any(|o| o.id == id || o.name == name.value) {
                self.error(
                    name,
                    format!(
                        "a second API key is named `{}` or has id `{id}`",
                        name.value
                    ),
                );
                continue;
            }
            if out.iter().any(|o| o.value == value.value) {
                // The value is a secret: name the key, never the value.
                self.error(
                    value,
                    format!("API key `{}` has the value of another key", name.value),
                );
                continue;
            }
            out.push(ApiKey {
                id,
                name: name.value.clone(),
                value: value.value.clone(),
                enabled: k.enabled.unwrap_or(true),
            });
        }
        out
    }

    fn usage_plans(
        &mut self,
        plans: &[Spanned<UsagePlanConfig>],
        apis: &[Api],
        keys: &[ApiKey],
    ) -> Vec<UsagePlan> {
        let mut out: Vec<UsagePlan> = Vec::new();
        // (key id, api id, stage) → plan name: a key may reach a stage through one plan only.
        let mut reach: HashMap<(String, String, String), String> = HashMap::new();
        for p in plans {
            let Some(name) = p.name.as_ref() else {
                self.missing(p, "name");
                continue;
            };
            let id =
                p.id.as_ref()
                    .map_or_else(|| derive_id(&name.value), |i| i.value.clone());
            if out.iter().any(|o| o.id == id || o.name == name.value) {
                self.error(
                    name,
                    format!(
                        "a second usage plan is named `{}` or has id `{id}`",
                        name.value
                    ),
                );
                continue;
            }
            let mut api_stages = Vec::new();
            for s in &p.api_stages {
                let (Some(api), Some(stage)) = (&s.api, &s.stage) else {
                    if s.api.is_none() {
                        self.missing(s, "api");
                    }
                    if s.stage.is_none() {
                        self.missing(s, "stage");
                    }
                    continue;
                };
                let Some(a) = apis
                    .iter()
                    .find(|a| a.name == api.value || a.id == api.value)
                else {
                    self.error(api, format!("no API is named `{}`", api.value));
                    continue;
                };
                if !a.stages.iter().any(|st| st.name == stage.value) {
                    self.error(
                        stage,
                        format!("API `{}` has no stage `{}`", a.name, stage.value),
                    );
                    continue;
                }
                let mut throttle = IndexMap::new();
                for (mk, t) in &s.throttle {
                    if !valid_method_key(&mk.value) || mk.value == "*/*" {
                        self.error(mk, "expected `{resource path}/{METHOD}`, e.g. `/pets/GET`");
                        continue;
                    }
                    if let Some(t) = self.throttle(t, None) {
                        throttle.insert(mk.value.clone(), t);
                    }
                }
                api_stages.push(ApiStage {
                    api_id: a.id.clone(),
                    stage: stage.value.clone(),
                    throttle,
                });
            }
            let throttle = p.throttle.as_ref().and_then(|t| self.throttle(t, None));
            let quota = p.quota.as_ref().and_then(|q| {
                let Some(limit) = &q.limit else {
                    self.missing(q, "limit");
                    return None;
                };
                let Some(period) = &q.period else {
                    self.missing(q, "period");
                    return None;
                };
                let Some(kind) = QuotaPeriod::parse(&period.value) else {
                    self.error(period, "expected DAY, WEEK or MONTH");
                    return None;
                };
                let quota = Quota {
                    limit: limit.value,
                    period: kind,
                    offset: q
                        .offset
                        .as_ref()
                        .map_or(0, |o| o.value.min(u32::MAX as u64) as u32),
                };
                match quota.check() {
                    Ok(()) => Some(quota),
                    Err(e) => {
                        self.error(q, e);
                        None
                    }
                }
            });
            let mut key_ids = Vec::new();
            for k in &p.api_keys {
                let Some(key) = keys.iter().find(|x| x.name == k.value || x.id == k.value) else {
                    self.error(k, format!("no API key is named `{}`", k.value));
                    continue;
                };
                for s in &api_stages {
                    let r = (key.id.clone(), s.api_id.clone(), s.stage.clone());
                    if let Some(other) = reach.insert(r, name.value.clone()) {
                        self.error(
                            k,
                            format!(
                                "API key `{}` is in usage plan `{other}` for the same API stage `{}:{}`; a key may reach a stage through one plan only",
                                key.name, s.api_id, s.stage
                            ),
                        );
                    }
                }
                key_ids.push(key.id.clone());
            }
            out.push(UsagePlan {
                id,
                name: name.value.clone(),
                api_stages,
                throttle,
                quota,
                key_ids,
            });
        }
        out
    }

    fn api(&mut self, a: &Spanned<ApiConfig>, _default_payload: u64) -> Option<Api> {
        let name = match &a.name {
            Some(n) if n.value.trim().is_empty() => {
                self.error(n, "must not be empty");
                None
            }
            Some(n) => Some(n.value.clone()),
            // The document's title names an API imported from OpenAPI.
            None if a.openapi.is_some() => None,
            None => {
                self.missing(a, "name");
                None
            }
        };
        let protocol = match &a.protocol {
            Some(p) => match p.value.as_str() {
                "REST" => Some(Protocol::Rest),
                "HTTP" => Some(Protocol::Http),
                other => {
                    self.error(p, format!("expected `REST` or `HTTP`, found `{other}`"));
                    None
                }
            },
            None => {
                self.missing(a, "protocol");
                None
            }
        };
        let id = match &a.id {
            Some(id) => {
                let ok = !id.value.is_empty()
                    && id.value.len() <= 63
                    && id
                        .value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !ok {
                    self.error(id, "an API id is 1 to 63 lower-case letters and digits");
                }
                Some(id.value.clone())
            }
            None => name.as_ref().map(|n| derive_id(n)),
        };
        if let Some(m) = &a.max_payload_bytes {
            if m.value == 0 {
                self.error(m, "must be greater than 0");
            }
        }
        for t in &a.binary_media_types {
            if !t.value.contains('/') {
                self.error(
                    t,
                    format!("`{}` is not a media type such as image/png", t.value),
                );
            }
        }
        let protocol_for_checks = protocol.unwrap_or(Protocol::Rest);

        // Stage names first: integrations check their stage variables against every stage.
        let mut stage_vars: Vec<(Spanned<String>, IndexMap<String, String>)> = Vec::new();
        for (sname, st) in &a.stages {
            let valid = if sname.value == "$default" {
                if protocol == Some(Protocol::Rest) {
                    self.error(sname, "`$default` stages exist only on HTTP APIs");
                }
                true
            } else {
                !sname.value.is_empty()
                    && sname.value.len() <= 128
                    && sname
                        .value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if !valid {
                self.error(
                    sname,
                    "a stage name is letters, digits, `_` and `-` (or `$default` on HTTP APIs)",
                );
            }
            let mut vars = IndexMap::new();
            for (k, v) in &st.variables {
                let ok_name = !k.value.is_empty()
                    && k.value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !ok_name {
                    self.error(k, "a stage variable name is letters, digits and `_`");
                }
                let ok_value = v
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(c));
                if !ok_value {
                    self.error(
                        v,
                        "a stage variable value is letters, digits and `-._~:/?#&=,` as on AWS",
                    );
                }
                vars.insert(k.value.clone(), v.value.clone());
            }
            stage_vars.push((sname.clone(), vars));
        }
        if a.stages.is_empty() {
            self.warn(a, "this API has no stages, so nothing of it is served");
        }

        let mut routes: Vec<Route> = Vec::new();
        let mut shapes: HashMap<RouteShape, String> = HashMap::new();
        for (key, rc) in &a.routes {
            let parsed = match RouteKey::parse(&key.value) {
                Ok(k) => k,
                Err(e) => {
                    self.error(key, e);
                    continue;
                }
            };
            if parsed == RouteKey::Default && protocol == Some(Protocol::Rest) {
                self.error(
                    key,
                    "`$default` routes exist only on HTTP APIs; use `ANY /{proxy+}`",
                );
                continue;
            }
            let shape = parsed.shape();
            if let Some(other) = shapes.insert(shape, key.value.clone()) {
                self.error(
                    key,
                    format!(
                        "route `{}` matches the same requests as `{other}`",
                        key.value
                    ),
                );
                continue;
            }
            if let Some(route) = self.route(key, &parsed, rc, protocol_for_checks, &stage_vars) {
                routes.push(route);
            }
        }

        let mut gateway_responses = Vec::new();
        for (k, g) in &a.gateway_responses {
            let Some(kind) = GatewayResponseType::parse(&k.value) else {
                self.error(
                    k,
                    format!("`{}` is not a gateway response type (for example MISSING_AUTHENTICATION_TOKEN, DEFAULT_4XX)", k.value),
                );
                continue;
            };
            let status_code = g.status_code.as_ref().and_then(|s| self.status(s));
            let mut headers = Vec::new();
            for (pk, pv) in &g.response_parameters {
                let Some(h) = pk.value.strip_prefix("gatewayresponse.header.") else {
                    self.error(pk, "expected `gatewayresponse.header.NAME`");
                    continue;
                };
                if !valid_header_name(h) {
                    self.error(pk, format!("`{h}` is not a valid header name"));
                    continue;
                }
                match static_value(&pv.value) {
                    Some(v) if valid_header_value(v) => headers.push((h.to_ascii_lowercase(), v.to_string())),
                    Some(_) => self.error(pv, "a header value must be visible ASCII"),
                    None => self.error(pv, "only static values in single quotes (`'value'`) are supported for gateway response headers"),
                }
            }
            let templates = self.templates(&g.response_templates);
            gateway_responses.push(GatewayResponse {
                kind,
                status_code,
                headers,
                templates,
            });
        }

        let (models, request_validators, cors) = self.api_extras(a, protocol);
        for (key, rc) in &a.routes {
            if let Some(v) = &rc.request_validator {
                if !a.request_validators.keys().any(|k| k.value == v.value) {
                    self.error(v, format!("no request validator is named `{}`", v.value));
                }
            }
            for (ct, m) in &rc.request_models {
                if ct.value != "$default" && !ct.value.contains('/') {
                    self.error(
                        ct,
                        format!(
                            "`{}` is not a content type such as application/json",
                            ct.value
                        ),
                    );
                }
                if !models.contains_key(&m.value) {
                    self.error(m, format!("no model is named `{}`", m.value));
                }
            }
            if protocol == Some(Protocol::Http)
                && (rc.request_validator.is_some() || !rc.request_models.is_empty())
            {
                self.warn(
                    key,
                    "request validation is a REST API feature; ignored on an HTTP API",
                );
            }
        }
        let imported = a.openapi.as_ref().and_then(|o| {
            let path = self.path(o);
            let file = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    self.error(o, format!("cannot read `{file}`: {e}"));
                    return None;
                }
            };
            match crate::load::import_served(
                &file,
                &text,
                protocol.unwrap_or(Protocol::Rest),
                crate::openapi::BasePathMode::Ignore,
            ) {
                Ok((api, warnings)) => {
                    self.diags.extend(warnings);
                    Some(api)
                }
                Err(diags) => {
                    self.diags.extend(diags);
                    None
                }
            }
        });
        if a.openapi.is_some() && imported.is_none() {
            return None;
        }
        let name = name.or_else(|| imported.as_ref().map(|i| i.name.clone()));
        let id = id.or_else(|| name.as_deref().map(derive_id));
        let (name, protocol, id) = (name?, protocol?, id?);
        let api_key_source = a
            .api_key_source
            .as_ref()
            .and_then(|k| match k.value.as_str() {
                "HEADER" => Some(ApiKeySource::Header),
                "AUTHORIZER" => Some(ApiKeySource::Authorizer),
                _ => {
                    self.error(k, "expected HEADER or AUTHORIZER");
                    None
                }
            });
        let mut definition = match imported {
            // The file's own routes, models, validators and gateway responses add to the
            // document's; its CORS and payload limit override the document's.
            Some(i) => {
                let mut def = i.definition;
                for r in routes {
                    if def.routes.iter().any(|d| d.key.shape() == r.key.shape()) {
                        if let Some(o) = &a.openapi {
                            self.error(
                                o,
                                format!("route `{}` is in the OpenAPI document too", r.key),
                            );
                        }
                        continue;
                    }
                    def.routes.push(r);
                }
                def.models.extend(models);
                def.request_validators.extend(request_validators);
                if a.request_validator.is_some() {
                    def.default_request_validator =
                        a.request_validator.as_ref().map(|v| v.value.clone());
                }
                def.gateway_responses.extend(gateway_responses);
                if cors.is_some() {
                    def.cors = cors;
                }
                def.binary_media_types
                    .extend(a.binary_media_types.iter().map(|t| t.value.clone()));
                if let Some(m) = &a.max_payload_bytes {
                    def.max_payload_bytes = Some(m.value);
                }
                def
            }
            None => ApiDefinition {
                routes,
                gateway_responses,
                binary_media_types: a
                    .binary_media_types
                    .iter()
                    .map(|t| t.value.clone())
                    .collect(),
                max_payload_bytes: a.max_payload_bytes.as_ref().map(|m| m.value),
                models,
                request_validators,
                default_request_validator: a.request_validator.as_ref().map(|v| v.value.clone()),
                cors,
                ..Default::default()
            },
        };
        if protocol == Protocol::Http {
            // HTTP APIs validate nothing (warned above): name no validator, as an import does.
            definition.default_request_validator = None;
            for r in &mut definition.routes {
                r.request_validator = None;
            }
        }
        if let Some(k) = api_key_source {
            definition.api_key_source = k;
        }
        let definition = Arc::new(definition);
        let stages = a
            .stages
            .iter()
            .zip(stage_vars)
            .map(|((sname, st), (_, variables))| Stage {
                name: sname.value.clone(),
                description: st.description.clone(),
                variables,
                deployment: definition.clone(),
                deployment_id: None,
                canary: None,
                method_throttles: self.method_throttles(&st.method_settings, ACCOUNT_THROTTLE),
            })
            .collect();
        Some(Api {
            id,
            name,
            protocol,
            description: a.description.clone(),
            definition,
            stages,
        })
    }

    /// Models, request validators and CORS of one API.
    fn api_extras(
        &mut self,
        a: &Spanned<ApiConfig>,
        protocol: Option<Protocol>,
    ) -> (
        IndexMap<String, serde_json::Value>,
        IndexMap<String, RequestValidator>,
        Option<Cors>,
    ) {
        let mut models = IndexMap::new();
        for (name, schema) in &a.models {
            if let Err(e) = jsonschema::draft4::new(schema) {
                self.error(
                    name,
                    format!(
                        "model `{}` is not a valid JSON Schema (draft 4): {e}",
                        name.value
                    ),
                );
            }
            models.insert(name.value.clone(), schema.clone());
        }
        let mut validators = IndexMap::new();
        for (name, v) in &a.request_validators {
            validators.insert(
                name.value.clone(),
                RequestValidator {
                    validate_request_body: v.validate_request_body,
                    validate_request_parameters: v.validate_request_parameters,
                },
            );
        }
        if let Some(v) = &a.request_validator {
            if !validators.contains_key(&v.value) {
                self.error(v, format!("no request validator is named `{}`", v.value));
            }
        }
        if protocol == Some(Protocol::Http)
            && (!a.models.is_empty() || !a.request_validators.is_empty())
        {
            self.warn(
                a,
                "models and request validators are REST API features; ignored on an HTTP API",
            );
            validators.clear();
        }
        let cors = a.cors_configuration.as_ref().and_then(|c| {
            if protocol == Some(Protocol::Rest) {
                self.warn(
                    c,
                    "`corsConfiguration` is for HTTP APIs and is ignored here; REST APIs answer CORS with OPTIONS routes (MOCK integrations)",
                );
            }
            let list = |v: &Vec<Spanned<String>>| v.iter().map(|s| s.value.clone()).collect::<Vec<_>>();
            let any_origin = c.allow_origins.iter().find(|o| o.value == "*");
            if let (Some(o), true) = (any_origin, c.allow_credentials) {
                self.error(o, "`allowCredentials` cannot be used with the origin `*`; list the origins");
            }
            let max_age = c.max_age.as_ref().and_then(|m| {
                if m.value > 86_400 {
                    self.error(m, "must be at most 86400 seconds");
                    None
                } else {
                    Some(m.value as u32)
                }
            });
            (protocol != Some(Protocol::Rest)).then(|| Cors {
                allow_origins: list(&c.allow_origins),
                allow_methods: list(&c.allow_methods),
                allow_headers: list(&c.allow_headers),
                expose_headers: list(&c.expose_headers),
                max_age,
                allow_credentials: c.allow_credentials,
            })
        });
        (models, validators, cors)
    }

    fn status(&mut self, s: &Spanned<String>) -> Option<u16> {
        let digits = s.value.len() == 3 && s.value.bytes().all(|b| b.is_ascii_digit());
        match s.value.parse::<u16>() {
            Ok(n) if digits && (100..=599).contains(&n) => Some(n),
            _ => {
                self.error(
                    s,
                    format!("`{}` is not an HTTP status code (100-599)", s.value),
                );
                None
            }
        }
    }

    fn templates(
        &mut self,
        t: &IndexMap<Spanned<String>, Spanned<String>>,
    ) -> IndexMap<String, Template> {
        let mut out = IndexMap::new();
        for (ct, body) in t {
            if !ct.value.contains('/') {
                self.error(
                    ct,
                    format!(
                        "`{}` is not a content type such as application/json",
                        ct.value
                    ),
                );
                continue;
            }
            match Template::parse(&body.value) {
                Ok(tpl) => {
                    out.insert(ct.value.to_ascii_lowercase(), tpl);
                }
                Err(e) => self.error(body, e),
            }
        }
        out
    }

    fn route(
        &mut self,
        key: &Spanned<String>,
        parsed: &RouteKey,
        rc: &RouteConfig,
        protocol: Protocol,
        stages: &[(Spanned<String>, IndexMap<String, String>)],
    ) -> Option<Route> {
        let path_params: Vec<String> = match parsed {
            RouteKey::Route { path, .. } => path.param_names().map(str::to_string).collect(),
            RouteKey::Default => Vec::new(),
        };
        let mut request_parameters = Vec::new();
        for (pk, required) in &rc.request_parameters {
            match method_param(&pk.value) {
                Some((location, name)) => {
                    if location == ParamLocation::Path && !path_params.iter().any(|p| p == name) {
                        self.error(pk, format!("the route has no path parameter `{name}`"));
                    }
                    request_parameters.push(RequestParameter {
                        location,
                        name: name.to_string(),
                        required: *required,
                    });
                }
                None => self.error(
                    pk,
                    "expected `method.request.{path|querystring|header}.NAME`",
                ),
            }
        }
        let Some(ic) = &rc.integration else {
            self.error(key, format!("route `{}` has no `integration`", key.value));
            return None;
        };
        let integration = self.integration(key, ic, &path_params, protocol, stages)?;
        Some(Route {
            request_parameters,
            request_validator: rc.request_validator.as_ref().map(|v| v.value.clone()),
            request_models: rc
                .request_models
                .iter()
                .map(|(ct, m)| (ct.value.to_ascii_lowercase(), m.value.clone()))
                .collect(),
            api_key_required: rc.api_key_required,
            ..Route::new(parsed.clone(), integration)
        })
    }

    fn integration(
        &mut self,
        key: &Spanned<String>,
        ic: &Spanned<IntegrationConfig>,
        path_params: &[String],
        protocol: Protocol,
        stages: &[(Spanned<String>, IndexMap<String, String>)],
    ) -> Option<Integration> {
        let kind = match &ic.kind {
            Some(k) => {
                match k.value.as_str() {
                    "HTTP_PROXY" => Some(IntegrationType::HttpProxy),
                    "HTTP" => Some(IntegrationType::Http),
                    "MOCK" => Some(IntegrationType::Mock),
                    "AWS_PROXY" => Some(IntegrationType::AwsProxy),
                    "AWS" => Some(IntegrationType::Aws),
                    other => {
                        self.error(
                        k,
                        format!("expected HTTP_PROXY, HTTP, MOCK, AWS_PROXY or AWS, found `{other}`"),
                    );
                        None
                    }
                }
            }
            None => {
                self.missing(ic, "type");
                None
            }
        };
        if protocol == Protocol::Http && kind == Some(IntegrationType::Http) {
            if let Some(k) = &ic.kind {
                self.error(
                    k,
                    "HTTP APIs have no HTTP (non-proxy) integrations; use HTTP_PROXY",
                );
            }
        }
        let uri = match (&ic.uri, kind) {
            (Some(u), _) => match UriTemplate::parse(&u.value) {
                Ok(t) => {
                    for p in t.path_params() {
                        let mapped = ic
                            .request_parameters
                            .keys()
                            .any(|k| k.value.strip_prefix("integration.request.path.") == Some(p));
                        if !mapped && !path_params.iter().any(|n| n == p) {
                            self.error(
                                u,
                                format!(
                                    "`{{{p}}}` is neither a path parameter of route `{}` nor mapped by `integration.request.path.{p}`",
                                    key.value
                                ),
                            );
                        }
                    }
                    for (sname, vars) in stages {
                        let missing: Vec<&str> = t
                            .stage_variables()
                            .filter(|v| !vars.contains_key(*v))
                            .collect();
                        if !missing.is_empty() {
                            self.error(
                                u,
                                format!(
                                    "stage `{}` does not define stage variable(s) {} used here",
                                    sname.value,
                                    missing
                                        .iter()
                                        .map(|m| format!("`{m}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                            continue;
                        }
                        let sample = substitute_for_check(&t, vars);
                        if let Err(e) = check_target_uri(kind, &sample) {
                            self.error(
                                u,
                                format!(
                                    "in stage `{}` the URI becomes `{sample}`: {e}",
                                    sname.value
                                ),
                            );
                        }
                    }
                    if stages.is_empty() {
                        let sample = substitute_for_check(&t, &IndexMap::new());
                        if t.stage_variables().next().is_none() {
                            if let Err(e) = check_target_uri(kind, &sample) {
                                self.error(u, e);
                            }
                        }
                    }
                    Some(t)
                }
                Err(e) => {
                    self.error(u, e);
                    None
                }
            },
            (
                None,
                Some(
                    IntegrationType::HttpProxy
                    | IntegrationType::Http
                    | IntegrationType::AwsProxy
                    | IntegrationType::Aws,
                ),
            ) => {
                self.missing(ic, "uri");
                None
            }
            (None, _) => None,
        };
        let http_method = match &ic.http_method {
            Some(m) if m.value == "ANY" => None,
            Some(m) => {
                if RouteMethod::parse(&m.value).is_none() {
                    self.error(m, format!("`{}` is not an HTTP method", m.value));
                }
                Some(m.value.clone())
            }
            None => None,
        };
        let timeout = self.millis(&ic.timeout_in_millis, DEFAULT_TIMEOUT, 50);
        let mut request_parameters = Vec::new();
        for (tk, sv) in &ic.request_parameters {
            let target = tk
                .value
                .strip_prefix("integration.request.")
                .and_then(|r| r.split_once('.'))
                .and_then(|(loc, name)| {
                    Some(ParamTarget {
                        location: ParamLocation::parse(loc)?,
                        name: name.to_string(),
                    })
                });
            let Some(target) = target.filter(|t| !t.name.is_empty()) else {
                self.error(
                    tk,
                    "expected `integration.request.{header|querystring|path}.NAME`",
                );
                continue;
            };
            if target.location == ParamLocation::Header && !valid_header_name(&target.name) {
                self.error(tk, format!("`{}` is not a valid header name", target.name));
                continue;
            }
            let source = if let Some(v) = static_value(&sv.value) {
                if target.location == ParamLocation::Header && !valid_header_value(v) {
                    self.error(sv, "a header value must be visible ASCII");
                    continue;
                }
                Some(ParamSource::Static(v.to_string()))
            } else if let Some((location, name)) = method_param(&sv.value) {
                if location == ParamLocation::Path && !path_params.iter().any(|p| p == name) {
                    self.error(sv, format!("the route has no path parameter `{name}`"));
                }
                Some(ParamSource::Method {
                    location,
                    name: name.to_string(),
                })
            } else if let Some(n) = sv.value.strip_prefix("stageVariables.") {
                for (sname, vars) in stages {
                    if !vars.contains_key(n) {
                        self.error(
                            sv,
                            format!(
                                "stage `{}` does not define stage variable `{n}`",
                                sname.value
                            ),
                        );
                    }
                }
                Some(ParamSource::StageVariable(n.to_string()))
            } else {
                sv.value
                    .strip_prefix("context.")
                    .map(|c| ParamSource::Context(c.to_string()))
            };
            match source {
                Some(s) => request_parameters.push((target, s)),
                None => self.error(
                    sv,
                    "expected `method.request.{path|querystring|header}.NAME`, `stageVariables.NAME`, `context.NAME` or a quoted `'value'`",
                ),
            }
        }
        let request_templates = self.templates(&ic.request_templates);
        let passthrough_behavior = match &ic.passthrough_behavior {
            None => PassthroughBehavior::WhenNoMatch,
            Some(p) => {
                match p.value.as_str() {
                    "WHEN_NO_MATCH" => PassthroughBehavior::WhenNoMatch,
                    "WHEN_NO_TEMPLATES" => PassthroughBehavior::WhenNoTemplates,
                    "NEVER" => PassthroughBehavior::Never,
                    other => {
                        self.error(p, format!("expected WHEN_NO_MATCH, WHEN_NO_TEMPLATES or NEVER, found `{other}`"));
                        PassthroughBehavior::WhenNoMatch
                    }
                }
            }
        };
        let mut responses = Vec::new();
        for (pattern, r) in &ic.responses {
            let selection_pattern = if pattern.value == "default" {
                None
            } else {
                if let Err(e) = regex::Regex::new(&format!("^(?:{})$", pattern.value)) {
                    self.error(
                        pattern,
                        format!("selection pattern is not a valid regular expression: {e}"),
                    );
                    continue;
                }
                Some(pattern.value.clone())
            };
            let status_code = match &r.status_code {
                Some(s) => self.status(s),
                None => {
                    self.error(pattern, "this integration response needs a `statusCode`");
                    None
                }
            };
            let mut response_parameters = Vec::new();
            for (pk, pv) in &r.response_parameters {
                let Some(h) = pk.value.strip_prefix("method.response.header.") else {
                    self.error(pk, "expected `method.response.header.NAME`");
                    continue;
                };
                if !valid_header_name(h) {
                    self.error(pk, format!("`{h}` is not a valid header name"));
                    continue;
                }
                let src = if let Some(v) = static_value(&pv.value) {
                    if !valid_header_value(v) {
                        self.error(pv, "a header value must be visible ASCII");
                        continue;
                    }
                    ResponseParamSource::Static(v.to_string())
                } else if let Some(n) = pv
                    .value
                    .strip_prefix("integration.response.header.")
                    .filter(|n| valid_header_name(n))
                {
                    ResponseParamSource::IntegrationHeader(n.to_ascii_lowercase())
                } else {
                    self.error(
                        pv,
                        "expected `integration.response.header.NAME` or a quoted `'value'`",
                    );
                    continue;
                };
                response_parameters.push((h.to_ascii_lowercase(), src));
            }
            let response_templates = self.templates(&r.response_templates);
            if let Some(status_code) = status_code {
                responses.push(IntegrationResponse {
                    selection_pattern,
                    status_code,
                    response_parameters,
                    response_templates,
                    ..Default::default()
                });
            }
        }
        if kind == Some(IntegrationType::Mock) && responses.is_empty() {
            self.warn(
                ic,
                "a MOCK integration without `responses` answers 500, as on AWS",
            );
        }
        let upstream_protocol = match &ic.upstream_protocol {
            None => UpstreamProtocol::Http1,
            Some(p) => match p.value.as_str() {
                "HTTP1" => UpstreamProtocol::Http1,
                "HTTP2" => UpstreamProtocol::Http2,
                other => {
                    self.error(p, format!("expected HTTP1 or HTTP2, found `{other}`"));
                    UpstreamProtocol::Http1
                }
            },
        };
        let payload_format_version = match &ic.payload_format_version {
            None => None,
            Some(v) if v.value != "1.0" && v.value != "2.0" => {
                self.error(v, format!("expected 1.0 or 2.0, found `{}`", v.value));
                None
            }
            Some(v) if kind != Some(IntegrationType::AwsProxy) => {
                self.warn(
                    v,
                    "ignored: only AWS_PROXY integrations have a payload format",
                );
                None
            }
            Some(v) if protocol == Protocol::Rest && v.value != "1.0" => {
                self.error(v, "REST APIs send Lambda functions payload format 1.0 only");
                None
            }
            Some(v) => Some(v.value.clone()),
        };
        let kind = kind?;
        Some(Integration {
            kind,
            uri,
            http_method,
            payload_format_version,
            timeout,
            request_parameters,
            request_templates,
            passthrough_behavior,
            responses,
            upstream_protocol,
            insecure_skip_verification: ic
                .tls_config
                .as_ref()
                .is_some_and(|t| t.insecure_skip_verification),
            ..Integration::new(kind)
        })
    }

    fn domain_name(&mut self, d: &Spanned<DomainNameConfig>, apis: &[Api]) -> Option<DomainName> {
        let name = match &d.domain_name {
            Some(n) => {
                let lower = n.value.to_ascii_lowercase();
                let ok = !lower.is_empty()
                    && lower.len() <= 253
                    && lower.split('.').all(|l| {
                        !l.is_empty()
                            && l.len() <= 63
                            && l.bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
                    });
                if !ok {
                    self.error(n, format!("`{}` is not a host name", n.value));
                }
                Some(lower)
            }
            None => {
                self.missing(d, "domainName");
                None
            }
        };
        let certificate = d.certificate.as_ref().and_then(|c| {
            let at = Spanned {
                value: (),
                line: c.line,
                column: c.column,
                path: c.path.clone(),
            };
            let r = self.certificate(&at, &c.cert_file, &c.key_file);
            if c.cert_file.is_none() && c.key_file.is_none() {
                self.missing(c, "certFile");
            }
            r
        });
        let mut mappings: Vec<BasePathMapping> = Vec::new();
        for m in &d.base_path_mappings {
            let base_path = match &m.base_path {
                None => String::new(),
                Some(b) if b.value == "(none)" => String::new(),
                Some(b) => {
                    let t = b.value.trim_matches('/');
                    if t.split('/').any(|s| s.is_empty()) && !t.is_empty() {
                        self.error(b, "a base path must not have empty segments");
                    }
                    t.to_string()
                }
            };
            let Some(api_ref) = &m.api else {
                self.missing(m, "api");
                continue;
            };
            let Some(api) = apis
                .iter()
                .find(|a| a.name == api_ref.value || a.id == api_ref.value)
            else {
                self.error(api_ref, format!("no API is named `{}`", api_ref.value));
                continue;
            };
            let Some(stage) = &m.stage else {
                self.missing(m, "stage");
                continue;
            };
            if !api.stages.iter().any(|s| s.name == stage.value) {
                self.error(
                    stage,
                    format!("API `{}` has no stage `{}`", api.name, stage.value),
                );
                continue;
            }
            if mappings.iter().any(|o| o.base_path == base_path) {
                self.error(m, format!("base path `{base_path}` is mapped twice"));
                continue;
            }
            mappings.push(BasePathMapping {
                base_path,
                api_id: api.id.clone(),
                stage: stage.value.clone(),
            });
        }
        Some(DomainName {
            name: name?,
            certificate,
            base_path_mappings: mappings,
        })
    }
}

/// A method settings key: `*/*`, or a resource path and a method (`/pets/{petId}/GET`,
/// `/pets/*`).
pub fn valid_method_key(key: &str) -> bool {
    if key == "*/*" {
        return true;
    }
    let Some((path, method)) = key.rsplit_once('/') else {
        return false;
    };
    path.starts_with('/')
        && (method == "*"
            || matches!(
                method,
                "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "ANY"
            ))
}

/// An API id derived from its name: lower-case letters and digits, as AWS's ids are.
pub fn derive_id(name: &str) -> String {
    let id: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(63)
        .collect();
    if id.is_empty() {
        "api".to_string()
    } else {
        id
    }
}

/// `'value'` → `value`.
pub(crate) fn static_value(s: &str) -> Option<&str> {
    s.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))
}

/// `method.request.{location}.{name}`.
pub(crate) fn method_param(s: &str) -> Option<(ParamLocation, &str)> {
    let rest = s.strip_prefix("method.request.")?;
    let (loc, name) = rest.split_once('.')?;
    if name.is_empty() {
        return None;
    }
    Some((ParamLocation::parse(loc)?, name))
}

pub(crate) fn valid_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(crate) fn valid_header_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

fn substitute_for_check(t: &UriTemplate, vars: &IndexMap<String, String>) -> String {
    let mut s = String::new();
    for p in &t.parts {
        match p {
            UriPart::Text(x) => s.push_str(x),
            UriPart::PathParam(_) => s.push('x'),
            UriPart::StageVariable(v) => s.push_str(vars.get(v).map_or("x", |x| x.as_str())),
        }
    }
    s
}

/// The URI an integration of `kind` targets: a Lambda function for AWS_PROXY, else an
/// absolute http(s) URI.
fn check_target_uri(kind: Option<IntegrationType>, s: &str) -> Result<(), String> {
    if kind == Some(IntegrationType::Aws) {
        return match crate::model::lambda_function_name(s) {
            Some(_) if s.contains(":lambda:path/") => Ok(()),
            _ => Err(format!(
                "`{s}`: only Lambda is supported as an AWS integration yet: expected `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations`"
            )),
        };
    }
    if kind == Some(IntegrationType::AwsProxy) {
        return match crate::model::lambda_function_name(s) {
            Some(_) => Ok(()),
            None => Err(format!(
                "`{s}` does not name a Lambda function: expected `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations` or the function's ARN"
            )),
        };
    }
    check_absolute_uri(s)
}

fn check_absolute_uri(s: &str) -> Result<(), String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("`{s}` is not an absolute http:// or https:// URI"))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("`{s}`: scheme must be http or https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!("`{s}` has no host"));
    }
    if authority.contains('@') {
        return Err(format!(
            "`{s}`: user information in integration URIs is not supported"
        ));
    }
    if s.contains('#') {
        return Err(format!(
            "`{s}`: a URI fragment is never sent upstream; remove it"
        ));
    }
    Ok(())
}
