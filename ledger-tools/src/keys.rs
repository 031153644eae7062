//! `ledger keygen` and the key files: a secret key file (64 hex digits,
//! readable by its owner only) and a public key file beside it, `FILE.pub`
//! (64 hex digits).

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ledger_core::{generate_key, key_to_text, public_key_from_text, VerifyingKey};

use crate::cli::KeygenArgs;
use crate::error::{io_err, ToolError};
use crate::exit::Exit;

/// The public key file that belongs to the secret key file `secret`: its
/// name with `.pub` appended.
///
/// ```
/// use std::path::Path;
/// let p = ledger_tools::keys::public_key_path(Path::new("keys/auditor.key"));
/// assert_eq!(p, Path::new("keys/auditor.key.pub"));
/// ```
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut name = OsString::from(secret.as_os_str());
    name.push(".pub");
    PathBuf::from(name)
}

/// Reads a public key file (64 hexadecimal digits).
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, ToolError> {
    let text = fs::read_to_string(path).map_err(io_err("read public key", path))?;
    public_key_from_text(&text).map_err(|error| ToolError::BadKey {
        path: path.to_owned(),
        error,
    })
}

/// Creates `path` with `text`, failing if it exists; `private` makes it
/// readable by its owner only (on Unix).
fn create_new(path: &Path, text: &str, private: bool) -> Result<(), ToolError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = opts.open(path).map_err(io_err("create", path))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_err("write", path))
}

/// Runs `ledger keygen`: writes a fresh secret key to `--out` and its public
/// key to `--out`.pub, never overwriting a file, and prints the public key.
pub fn run_keygen(args: &KeygenArgs, out: &mut dyn Write) -> Result<Exit, ToolError> {
    let secret_path = &args.out;
    let public_path = public_key_path(secret_path);
    for p in [secret_path, &public_path] {
        if p.exists() {
            return Err(ToolError::Refused(format!(
                "{} exists; refusing to overwrite a key file",
                p.display()
            )));
        }
    }
    let key = generate_key().map_err(io_err("generate a random key for", secret_path))?;
    let public = hex::encode(key.verifying_key().to_bytes());
    create_new(secret_path, &key_to_text(&key), true)?;
    if let Err(e) = create_new(&public_path, &format!("{public}\n"), false) {
        // Leave no secret key without its public half behind.
        let _ = fs::remove_file(secret_path);
        return Err(e);
    }
    writeln!(out, "{public}").map_err(ToolError::Output)?;
    Ok(Exit::Success)
}
