//! The jail: virtual paths the client sees ↔ files beneath the user's home, and nothing else.
//!
//! After login the client's PWD is `"/"`, yet that `/` is the user's home folder (`data/` for the
//! seed's user), not the server's root: a *chroot jail*, as pyftpdlib's `ftp2fs` / `fs2ftp` /
//! `validpath` build it. Every path a client names goes through two steps:
//!
//! 1. [`resolve`] (pure, lexical): join it to the current folder and fold `.`, `..` and repeated
//!    slashes, giving an absolute *virtual* path. `..` at `/` stays at `/`, so no sequence of
//!    `..` ever leaves the home: `/../../etc/passwd` is the home's `etc/passwd`.
//! 2. A [`Jail`] method (touches the disk) does the operation itself, through an open handle on
//!    the home folder: the path is looked up *beneath that handle*, and the operating system
//!    refuses any step that would leave it, whether by `..` or by a symbolic link
//!    (`openat2(RESOLVE_BENEATH)` on Linux, the same walk done one folder at a time elsewhere;
//!    the [`cap_std`] crate does this on Linux, macOS and Windows alike). A refusal is
//!    [`JailError::Outside`], worded like a missing file: the client learns nothing about what
//!    lies beyond.
//!
//! ```
//! use localftp::server::jail::resolve;
//! assert_eq!(resolve("/", "Folder_Tes"), "/Folder_Tes");
//! assert_eq!(resolve("/Folder_Tes", ".."), "/");
//! assert_eq!(resolve("/a", "../../../etc/passwd"), "/etc/passwd"); // still inside the home
//! assert_eq!(resolve("/a", "//b///c/./"), "/b/c");
//! assert_eq!(resolve("/a", "/"), "/");
//! ```
//!
//! ## Why a handle, and not a check
//!
//! The obvious jail *checks* a path (follow the links, is it still inside?) and then *uses* it
//! (`open`, `rename`). Between the two, the path can change: another session renames a folder,
//! and a relative link that pointed inside now points outside. A check-then-use jail is only as
//! good as the assumption that nothing moves, and in a server with many sessions things move.
//! Here there is no check to outrun: the lookup that decides *is* the one that opens, renames or
//! removes, and it happens inside the kernel, beneath the handle, at the moment of use.
//!
//! One case needs help: a link with an *absolute* target (`/srv/ftp/data/a.txt`). The kernel's
//! beneath-lookup refuses every absolute link, even one that names a file inside the home. When
//! that happens, [`Jail`] reads the links on the way itself and rewrites each absolute target
//! under the home as the same path relative to the home, then asks again. The rewritten path is
//! still looked up beneath the handle, so the rewrite can make a refusal into a success only for
//! a path that really is inside.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata, OpenOptions, ReadDir};

/// Why an operation on a path in the jail did not happen.
#[derive(Debug)]
pub enum JailError {
    /// The path leads outside the home folder (through a symbolic link).
    Outside,
    /// The path (or, for a new name, its parent folder) does not exist.
    NotFound,
    /// The disk said no for another reason (permissions on the server side, say).
    Io(io::Error),
}

impl fmt::Display for JailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Deliberately the same words as NotFound would use for a user: a refusal must not
            // tell the client whether something exists outside the home.
            JailError::Outside => write!(f, "no such file or folder"),
            JailError::NotFound => write!(f, "no such file or folder"),
            JailError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for JailError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JailError::Io(error) => Some(error),
            JailError::Outside | JailError::NotFound => None,
        }
    }
}

impl From<io::Error> for JailError {
    fn from(error: io::Error) -> JailError {
        match error.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => JailError::NotFound,
            _ => JailError::Io(error),
        }
    }
}

/// Whether an operation follows a symbolic link in the *last* segment of its path. Every
/// segment before the last is always followed (beneath the home).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    /// RETR through a link reads its target; CWD through a link enters it.
    Follow,
    /// DELE or RNFR on a link act on the link itself.
    Keep,
}

/// A user's home folder, held open: every path is looked up beneath it.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The capability: an open handle on the home folder. Shared by every session of the user.
    dir: Arc<Dir>,
    /// The home folder's canonical path, for logs and for links with absolute targets.
    home: PathBuf,
    /// Shared folders that appear as `/NAME` in this home (`--share`; see `mounts`).
    mounts: Arc<[Mount]>,
}

impl Jail {
    /// A jail rooted at `home`, which must exist.
    pub fn new(home: &Path) -> io::Result<Jail> {
        let home = home.canonicalize()?;
        let dir = Dir::open_ambient_dir(&home, ambient_authority())?;
        Ok(Jail {
            dir: Arc::new(dir),
            home,
            mounts: Arc::new([]),
        })
    }

    /// The home folder on disk (for the server's own log; never sent to a client).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Open a file with `options` (RETR reads; STOR, APPE and MFMT write).
    pub fn open(
        &self,
        virtual_path: &str,
        options: &OpenOptions,
    ) -> Result<std::fs::File, JailError> {
        self.beneath(virtual_path, Last::Follow, |dir, path| {
            dir.open_with(path, options).map(|file| file.into_std())
        })
    }

    /// What `stat` says, following a link in the last segment (SIZE, MDTM, CWD, LIST).
    pub fn metadata(&self, virtual_path: &str) -> Result<Metadata, JailError> {
        self.beneath(virtual_path, Last::Follow, |dir, path| dir.metadata(path))
    }

    /// What `lstat` says: a link in the last segment is described, not followed (DELE, RNFR).
    /// A link that leads outside the home, or nowhere, is [`JailError::Outside`], as if it were
    /// not there (see `Jail::visible_link`).
    pub fn symlink_metadata(&self, virtual_path: &str) -> Result<Metadata, JailError> {
        self.beneath(virtual_path, Last::Keep, |dir, path| {
            dir.symlink_metadata(path)
        })
    }

    /// For the commands that act on a link itself (DELE, RNFR, STOR over it): a link whose
    /// target is not inside the home (or does not exist) is treated as if it were not there.
    /// Acting on such a link would touch nothing outside (the operations themselves are
    /// beneath the home), but answering differently for it would tell the client that
    /// something is there, and something about where it leads.
    fn visible_link(&self, virtual_path: &str) -> Result<(), JailError> {
        let path = plain(virtual_path)?;
        match self.dir.symlink_metadata(&path) {
            Ok(meta) if meta.is_symlink() => match self.metadata(virtual_path) {
                Ok(_) => Ok(()),
                Err(JailError::Io(error)) => Err(JailError::Io(error)),
                Err(_) => Err(JailError::Outside),
            },
            _ => Ok(()),
        }
    }

    /// A new folder (MKD).
    pub fn create_dir(&self, virtual_path: &str) -> Result<(), JailError> {
        self.beneath(virtual_path, Last::Keep, |dir, path| dir.create_dir(path))
    }

    /// Remove a file, or a link itself (DELE).
    pub fn remove_file(&self, virtual_path: &str) -> Result<(), JailError> {
        self.beneath(virtual_path, Last::Keep, |dir, path| dir.remove_file(path))
    }

    /// Remove an empty folder (RMD).
    pub fn remove_dir(&self, virtual_path: &str) -> Result<(), JailError> {
        self.beneath(virtual_path, Last::Keep, |dir, path| dir.remove_dir(path))
    }

    /// Rename `from` to `to` (RNTO). Both are looked up at the moment of the rename, beneath
    /// the home: nothing RNFR saw earlier is trusted.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), JailError> {
        match (self.mounted(from), self.mounted(to)) {
            (None, None) => {}
            (Some((a, from)), Some((b, to))) if Arc::ptr_eq(&a.dir, &b.dir) => {
                return a.rename(&from, &to);
            }
            _ => return Err(JailError::Io(io::ErrorKind::CrossesDevices.into())),
        }
        self.visible_link(to)?;
        let to_path = self.lookup(to, Last::Keep)?;
        self.beneath(from, Last::Keep, |dir, path| {
            dir.rename(path, dir, &to_path)
        })
    }

    /// Set a file's modification time (MFMT).
    pub fn set_modified(&self, virtual_path: &str, when: SystemTime) -> Result<(), JailError> {
        let mut options = OpenOptions::new();
        options.write(true);
        let file = self.open(virtual_path, &options)?;
        file.set_modified(when).map_err(JailError::from)
    }

    /// Set a file's permissions (SITE CHMOD; see `platform::permissions_from_mode`).
    pub fn set_permissions(
        &self,
        virtual_path: &str,
        permissions: cap_std::fs::Permissions,
    ) -> Result<(), JailError> {
        self.beneath(virtual_path, Last::Follow, |dir, path| {
            dir.set_permissions(path, permissions.clone())
        })
    }

    /// The entries of a folder, and the folder itself (to look entries up with
    /// [`Folder::entry_metadata`]).
    pub fn read_dir(&self, virtual_path: &str) -> Result<(ReadDir, Folder), JailError> {
        // Routed here, not only in `beneath`: the `Folder` must name the share's jail.
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.read_dir(&path);
        }
        self.beneath(virtual_path, Last::Follow, |dir, path| {
            dir.read_dir(path).map(|entries| {
                let folder = Folder {
                    jail: self.clone(),
                    path: path.to_path_buf(),
                };
                (entries, folder)
            })
        })
    }

    /// Every file below the home whose name starts with [`UPLOAD_TEMP_PREFIX`]: the leftovers
    /// of uploads a previous run did not finish. Links are not followed. Returns how many were
    /// removed.
    pub fn remove_leftovers(&self) -> usize {
        let mut removed = 0;
        let mut folders = vec![PathBuf::from(".")];
        while let Some(folder) = folders.pop() {
            let Ok(entries) = self.dir.read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = folder.join(entry.file_name());
                let ours = entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(UPLOAD_TEMP_PREFIX);
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => folders.push(path),
                    Ok(_) if ours && self.dir.remove_file(&path).is_ok() => removed += 1,
                    _ => {}
                }
            }
        }
        removed
    }

    /// Run `op` on the path beneath the home. The fast path is one call: the kernel resolves
    /// the path beneath the handle. If it refuses (an escape, or an absolute link), the links
    /// on the way are read and rewritten ([`Jail::walk`]) and `op` runs once more on the
    /// result, again beneath the handle.
    fn beneath<T>(
        &self,
        virtual_path: &str,
        last: Last,
        op: impl Fn(&Dir, &Path) -> io::Result<T>,
    ) -> Result<T, JailError> {
        // A path in a share (`/Materi/...`) runs beneath the share's own handle, in the share's
        // own jail: every operation that comes through here is routed, none can forget to be.
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.beneath(&path, last, op);
        }
        if last == Last::Keep {
            self.visible_link(virtual_path)?;
        }
        self.run_at(plain(virtual_path)?, last, op)
    }

    /// [`Jail::beneath`] for a path already beneath the home (a listing's entry).
    fn run_at<T>(
        &self,
        path: PathBuf,
        last: Last,
        op: impl Fn(&Dir, &Path) -> io::Result<T>,
    ) -> Result<T, JailError> {
        match op(&self.dir, &path) {
            Ok(value) => Ok(value),
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                let rewritten = self.walk(path.clone(), last)?;
                if rewritten == path {
                    return Err(JailError::Io(error));
                }
                op(&self.dir, &rewritten).map_err(JailError::from)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The path beneath the home to use for `virtual_path`: as is, unless an absolute link on
    /// the way needs rewriting.
    fn lookup(&self, virtual_path: &str, last: Last) -> Result<PathBuf, JailError> {
        let path = plain(virtual_path)?;
        match self.dir.symlink_metadata(&path) {
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => self.walk(path, last),
            _ => Ok(path),
        }
    }
}

/// A folder opened by [`Jail::read_dir`]: where its entries are looked up.
pub struct Folder {
    /// The jail the folder is in (a share's, for a folder in a share).
    jail: Jail,
    /// The folder's path beneath that jail's handle.
    path: PathBuf,
}

impl Folder {
    /// What `stat` says about the entry `name`, links followed beneath the jail. A link that
    /// leads outside, or nowhere, is an error: listings leave such entries out.
    pub fn entry_metadata(&self, name: &std::ffi::OsStr) -> Result<Metadata, JailError> {
        let path = self.path.join(name);
        self.jail
            .run_at(path, Last::Follow, |dir, path| dir.metadata(path))
    }
}

mod links;
mod mounts;
mod paths;
pub use mounts::Mount;
use paths::plain;
pub use paths::{
    UPLOAD_TEMP_PREFIX, beneath, file_name, is_reserved, parent, resolve, windows_name_problem,
};

#[cfg(test)]
mod tests;
