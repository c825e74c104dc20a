//! The server's own files, kept from one start to the next in a *state folder*: the certificate
//! and private key that `--tls-self-signed` makes.
//!
//! Why keep them: a certificate made anew at every start has a new fingerprint each time, so a
//! student can only accept it blindly (`--insecure`) or compare fingerprints by eye every
//! lesson. Kept, it is the same certificate every time: the teacher hands out `tls-cert.pem`
//! once, and the client trusts exactly that certificate with `--ca tls-cert.pem`, the host name
//! checked too, no `--insecure`.
//!
//! Where: by default `localftp-state` *next to* the root (`--root data` → `localftp-state`,
//! `--root /srv/ftp` → `/srv/localftp-state`); `--state-dir DIR` chooses another folder. Next
//! to the root is outside it by construction, so outside every home beneath it; it moves along
//! when the teacher moves the class's folder; and it is the same rule on Linux, macOS and
//! Windows, with no per-system place to look up (XDG, `%APPDATA%`, `~/Library`). Whichever
//! folder it is, the server refuses to start if it lies inside the root or any user's home: a
//! student could then download `tls-key.pem` and pretend to be this server.
//!
//! The files: both present → loaded; both missing → made and saved (the key readable by its
//! owner alone, `platform::create_private_file`); one missing, unreadable, or not a pair → the
//! server does not start, and says which file. Deleting both makes a new pair at the next start
//! (for example after a change of `--bind`: the certificate names the address it was made for).

use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use super::tls::{SELF_SIGNED_NAMES, TlsConfig, TlsError};
use crate::platform::create_private_file;

/// The default state folder's name, next to the root.
pub const STATE_FOLDER: &str = "localftp-state";

/// The kept certificate (PEM): the file students pass to the client's `--ca`.
pub const CERT_FILE: &str = "tls-cert.pem";

/// The kept private key (PEM): never handed out.
pub const KEY_FILE: &str = "tls-key.pem";

/// Why the kept certificate could not be used (`--tls-self-signed`): the server does not start.
#[derive(Debug)]
pub enum StateError {
    /// The state folder is inside a folder FTP users can read ([`check_outside`]).
    Inside {
        /// The state folder, as given.
        state: PathBuf,
        /// The served folder it is in.
        folder: PathBuf,
    },
    /// The state folder could not be created.
    CreateFolder {
        /// The state folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// One file of the pair is there and the other is not.
    HalfMissing {
        /// The file that is missing.
        missing: PathBuf,
        /// The file that is there.
        present: PathBuf,
    },
    /// The kept pair is there but cannot be used (unreadable, not PEM, not a pair).
    KeptPair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why (boxed: a TLS error is large, and this variant is rare).
        source: Box<TlsError>,
    },
    /// rcgen could not make a new certificate.
    Generate(rcgen::Error),
    /// A new file of the pair could not be saved (the pair is then removed).
    Save {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Inside { state, folder } => write!(
                f,
                "the state folder {} is inside {}, which FTP users can read: its private key \
                 could be downloaded; choose one outside it with --state-dir",
                state.display(),
                folder.display()
            ),
            StateError::CreateFolder { path, source } => write!(
                f,
                "cannot create the state folder {}: {source}",
                path.display()
            ),
            StateError::HalfMissing { missing, present } => write!(
                f,
                "{} is missing, but {} is there: restore it, or delete both to make a new pair",
                missing.display(),
                present.display()
            ),
            StateError::KeptPair { cert, key, source } => write!(
                f,
                "{source} (the kept pair {} and {}: delete both to make a new one)",
                cert.display(),
                key.display()
            ),
            StateError::Generate(e) => write!(f, "cannot generate a certificate: {e}"),
            StateError::Save { path, source } => {
                write!(f, "cannot save {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateError::CreateFolder { source, .. } | StateError::Save { source, .. } => {
                Some(source)
            }
            StateError::KeptPair { source, .. } => Some(source.as_ref()),
            StateError::Generate(e) => Some(e),
            StateError::Inside { .. } | StateError::HalfMissing { .. } => None,
        }
    }
}

/// The default state folder for `root`: [`STATE_FOLDER`] in the root's parent folder.
///
/// ```
/// use std::path::Path;
/// use localftp::server::state::default_dir;
/// let root = std::env::temp_dir().join("class").join("data");
/// assert_eq!(default_dir(&root).file_name().unwrap(), "localftp-state");
/// assert!(!default_dir(&root).starts_with(&root));
/// ```
pub fn default_dir(root: &Path) -> PathBuf {
    // The real, absolute root: `--root .` has a parent too.
    let root = resolved(root);
    match root.parent() {
        Some(parent) => parent.join(STATE_FOLDER),
        // The root is `/` (or `C:\`): every folder is inside it, and `check_outside` says so.
        None => root.join(STATE_FOLDER),
    }
}

/// Refuse a state folder inside any of the `served` folders (the root, each user's home, each
/// `--share` folder): what is kept there would be downloadable.
pub fn check_outside<'a>(
    state: &Path,
    served: impl IntoIterator<Item = &'a Path>,
) -> Result<(), StateError> {
    let real_state = resolved(state);
    for folder in served {
        if real_state.starts_with(resolved(folder)) {
            return Err(StateError::Inside {
                state: state.to_path_buf(),
                folder: folder.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// `--tls-self-signed`: the certificate and key kept in `state`, made there the first time.
/// `served` are the folders users can reach (the state folder must be outside them all);
/// `bind` is the address the server listens on, named in a new certificate when it is a
/// particular one (a classroom's `--bind 192.168.1.10`), so that clients connecting to it can
/// check the name.
pub fn lasting_certificate<'a>(
    state: &Path,
    served: impl IntoIterator<Item = &'a Path>,
    bind: IpAddr,
) -> Result<TlsConfig, StateError> {
    check_outside(state, served)?;
    std::fs::create_dir_all(state).map_err(|source| StateError::CreateFolder {
        path: state.to_path_buf(),
        source,
    })?;
    let (cert, key) = (state.join(CERT_FILE), state.join(KEY_FILE));
    let made = match (cert.exists(), key.exists()) {
        (true, true) => false,
        (false, false) => {
            make(&cert, &key, bind)?;
            true
        }
        // Making a new half would not match the other: say which one is missing.
        (true, false) | (false, true) => {
            let (present, missing) = if cert.exists() {
                (cert, key)
            } else {
                (key, cert)
            };
            return Err(StateError::HalfMissing { missing, present });
        }
    };
    let tls = match TlsConfig::from_pem_files(&cert, &key) {
        Ok(tls) => tls,
        Err(source) => {
            let source = Box::new(source);
            return Err(StateError::KeptPair { cert, key, source });
        }
    };
    log::info!(
        "FTPS certificate {} {}, key {}: students trust it with the client's --ca {}",
        cert.display(),
        if made { "made now" } else { "loaded" },
        key.display(),
        cert.display()
    );
    Ok(tls)
}

/// Make a new self-signed certificate and key, and save them: the key first, readable by its
/// owner alone; either file is removed again if the pair cannot be saved whole.
fn make(cert: &Path, key: &Path, bind: IpAddr) -> Result<(), StateError> {
    let mut names = SELF_SIGNED_NAMES.map(String::from).to_vec();
    if !bind.is_unspecified() && !bind.is_loopback() {
        names.push(bind.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(StateError::Generate)?;
    let save = |path: &Path, text: &str, create: fn(&Path) -> io::Result<std::fs::File>| {
        create(path)
            .and_then(|mut file| {
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
            })
            .map_err(|source| StateError::Save {
                path: path.to_path_buf(),
                source,
            })
    };
    save(
        key,
        &certified.signing_key.serialize_pem(),
        create_private_file,
    )?;
    if let Err(e) = save(cert, &certified.cert.pem(), create_new) {
        let _ = std::fs::remove_file(key);
        let _ = std::fs::remove_file(cert);
        return Err(e);
    }
    Ok(())
}

fn create_new(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
}

/// `path` as the system sees it: absolute, links followed, `..` applied. Parts that do not
/// exist yet (a state folder not made yet) are added as written: they cannot be links.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = absolute.components().collect();
    // The longest leading part that exists is asked of the system; the rest is added by hand.
    for exists in (0..=parts.len()).rev() {
        let head: PathBuf = parts[..exists].iter().collect();
        let Ok(mut real) = head.canonicalize() else {
            continue;
        };
        for part in &parts[exists..] {
            match part {
                Component::ParentDir => {
                    real.pop();
                }
                Component::Normal(name) => real.push(name),
                _ => {}
            }
        }
        return real;
    }
    absolute
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_folder_inside_a_served_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir(&root).unwrap();
        // Not made yet, and reached through `..`: still inside.
        let inside = root.join("new").join("..").join("state");
        assert!(check_outside(&inside, [root.as_path()]).is_err());
        assert!(check_outside(&root, [root.as_path()]).is_err());
        assert!(check_outside(&default_dir(&root), [root.as_path()]).is_ok());
        // A sibling whose name starts like the root's is not inside it.
        let sibling = dir.path().join("data-state");
        assert!(check_outside(&sibling, [root.as_path()]).is_ok());
    }

    #[test]
    fn the_default_is_next_to_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let real_dir = dir.path().canonicalize().unwrap();
        assert_eq!(default_dir(&root), real_dir.join(STATE_FOLDER));
        assert_eq!(
            default_dir(&root.join(".")),
            real_dir.join(STATE_FOLDER),
            "`data/.` is `data`"
        );
    }
}
