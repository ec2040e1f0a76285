//! The AWS shared credentials file format (`~/.aws/credentials`): `[profile]` sections of
//! `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token`. Parsing only; reading
//! the file is the caller's (this crate does no I/O). Lines before any section belong to
//! `default`; `[profile NAME]` (the config file's spelling) is read as `NAME`.

use crate::sigv4::Credentials;

/// The credentials of `profile` in the text of a credentials file, if it has both keys.
pub fn profile(text: &str, profile: &str) -> Option<Credentials> {
    let mut section = "default";
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim();
            section = name.strip_prefix("profile ").unwrap_or(name).trim();
            continue;
        }
        if section != profile {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "aws_access_key_id" => id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                "aws_session_token" => token = Some(v),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(i), Some(s)) if !i.is_empty() && !s.is_empty() => {
            let c = Credentials::new(i, s);
            Some(match token.filter(|t| !t.is_empty()) {
                Some(t) => c.with_session_token(t),
                None => c,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::profile;

    #[test]
    fn profiles_are_read_as_aws_writes_them() {
        let text = "aws_access_key_id = AKIATOP\naws_secret_access_key = s0\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key=s1\n\n# c\n[profile other]\nAWS_ACCESS_KEY_ID=AKIAOTHER\naws_secret_access_key = s2\naws_session_token = tok\n[half]\naws_access_key_id = AKIAHALF\n";
        let d = profile(text, "default").unwrap();
        assert_eq!(d.access_key_id, "AKIADEFAULT");
        assert_eq!(d.secret_access_key, "s1");
        assert_eq!(d.session_token, None);
        let o = profile(text, "other").unwrap();
        assert_eq!(o.access_key_id, "AKIAOTHER");
        assert_eq!(o.session_token.as_deref(), Some("tok"));
        assert!(profile(text, "half").is_none(), "a key without its secret");
        assert!(profile(text, "missing").is_none());
        let bare = profile("aws_access_key_id=A\naws_secret_access_key=B\n", "default").unwrap();
        assert_eq!(bare.access_key_id, "A");
    }
}
