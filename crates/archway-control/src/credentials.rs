//! The admin key: the one credential that signs admin API requests.
//!
//! At start: `ARCHWAY_ADMIN_ACCESS_KEY_ID` and `ARCHWAY_ADMIN_SECRET_ACCESS_KEY` when both are
//! set; else the key stored in `<data-dir>/admin-credentials`; else a new random key, written
//! there (mode 0600, created atomically) and announced once on stderr so that its owner can
//! copy it. Whatever key is used is stored, so later starts reuse it. There is never a default
//! key. The secret is never logged: [`Credentials`]'s `Debug` redacts it.

use archway_aws::sigv4::Credentials;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const ENV_ACCESS_KEY_ID: &str = "ARCHWAY_ADMIN_ACCESS_KEY_ID";
pub const ENV_SECRET_ACCESS_KEY: &str = "ARCHWAY_ADMIN_SECRET_ACCESS_KEY";
pub const FILE_NAME: &str = "admin-credentials";

/// Where the key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Environment,
    File,
    Generated,
}

/// The path of the credentials file in `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Reads the credentials file: `aws_access_key_id = ...` and `aws_secret_access_key = ...`
/// lines, as in an AWS credentials file.
pub fn read(data_dir: &Path) -> std::io::Result<Option<Credentials>> {
    let text = match std::fs::read_to_string(path(data_dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(parse(&text))
}

fn parse(text: &str) -> Option<Credentials> {
    archway_aws::credentials_file::profile(text, "default")
}

/// The key from the environment, if both variables are set.
pub fn from_env() -> Option<Credentials> {
    let id = std::env::var(ENV_ACCESS_KEY_ID)
        .ok()
        .filter(|s| !s.is_empty())?;
    let secret = std::env::var(ENV_SECRET_ACCESS_KEY)
        .ok()
        .filter(|s| !s.is_empty())?;
    Some(Credentials::new(id, secret))
}

/// Writes the file with mode 0600 (through a temporary file and a rename, so a reader never
/// sees half a file and the secret is never readable by others, even for a moment).
pub fn write(data_dir: &Path, c: &Credentials) -> std::io::Result<()> {
    let target = path(data_dir);
    // A name of its own, so that two servers starting on one folder never share a temporary.
    let tmp = data_dir.join(format!(
        ".{FILE_NAME}.{}.{}.tmp",
        std::process::id(),
        crate::docs::new_id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    let written = writeln!(
        f,
        "# Archway admin API key (SigV4, service apigateway, any region)\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}",
        c.access_key_id, c.secret_access_key
    )
    .and_then(|_| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, &target)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
    }
    if let Ok(d) = std::fs::File::open(data_dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new random key: an id like AWS's (`AKIA` + 16) and a 40-character secret.
pub fn generate() -> Credentials {
    use rand::Rng;
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rng();
    let id: String = (0..16)
        .map(|_| UPPER[rng.random_range(0..UPPER.len())] as char)
        .collect();
    let secret: String = (0..40)
        .map(|_| SECRET[rng.random_range(0..SECRET.len())] as char)
        .collect();
    Credentials::new(format!("AKIA{id}"), secret)
}

/// The admin key for a server starting on `data_dir`, and where it came from.
pub fn load_or_create(data_dir: &Path) -> std::io::Result<(Credentials, Source)> {
    let stored = read(data_dir)?;
    if let Some(env) = from_env() {
        if stored.as_ref() != Some(&env) {
            write(data_dir, &env)?;
        }
        return Ok((env, Source::Environment));
    }
    if let Some(c) = stored {
        return Ok((c, Source::File));
    }
    let c = generate();
    write(data_dir, &c)?;
    Ok((c, Source::Generated))
}

/// For clients (the CLI): the environment's key, else the one stored in `data_dir`.
pub fn for_client(data_dir: &Path) -> std::io::Result<Option<Credentials>> {
    if let Some(c) = from_env() {
        return Ok(Some(c));
    }
    read(data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_file_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let c = generate();
        write(dir.path(), &c).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(c.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{c:?}").contains(&c.secret_access_key));
    }
}
