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

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, Metadata, OpenOptions, ReadDir};

/// Files the server writes for itself start with this: an upload in progress is written under
/// it and renamed when complete. Listings never show such names, and a client may not name one
/// (`553`), so a half-written file is never seen, served or replaced.
pub const UPLOAD_TEMP_PREFIX: &str = ".localftp-upload-";

/// How many symbolic links one lookup may follow before it is refused (Linux's own limit).
const MAX_LINKS: u32 = 40;

/// Join `arg` to the virtual folder `cwd` and fold it into an absolute virtual path.
///
/// Pure: it never looks at the disk. The result always starts with `/`, never ends with `/`
/// (except `/` itself), and never contains `.`, `..` or empty segments.
pub fn resolve(cwd: &str, arg: &str) -> String {
    let start = if arg.starts_with('/') { "" } else { cwd };
    let mut parts: Vec<&str> = Vec::new();
    for segment in start.split('/').chain(arg.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                // At the top, ".." stays at the top: this line is the whole jail, lexically.
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        let mut path = String::new();
        for part in parts {
            path.push('/');
            path.push_str(part);
        }
        path
    }
}

/// Whether a virtual path names one of the server's own files ([`UPLOAD_TEMP_PREFIX`]), in
/// any case (on a case-insensitive disk, `.LOCALFTP-UPLOAD-1` is the same file).
///
/// ```
/// use localftp::server::jail::is_reserved;
/// assert!(is_reserved("/a/.localftp-upload-1234"));
/// assert!(is_reserved("/a/.LocalFTP-Upload-1234"));
/// assert!(!is_reserved("/a/localftp-upload-1234"));
/// ```
pub fn is_reserved(virtual_path: &str) -> bool {
    virtual_path.split('/').any(|segment| {
        segment
            .get(..UPLOAD_TEMP_PREFIX.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(UPLOAD_TEMP_PREFIX))
    })
}

/// Why `name` (one segment of a path) would not mean, on Windows, the plain file name it
/// looks like; `None` if it is a plain name there. On Linux and macOS every one of these is
/// an ordinary name; a server on Windows refuses them (`platform::WINDOWS_NAMES`), so that it
/// is exactly as closed as one on Linux.
///
/// ```
/// use localftp::server::jail::windows_name_problem;
/// assert_eq!(windows_name_problem("baca_saya.txt"), None);
/// assert!(windows_name_problem("C:").is_some());          // a drive
/// assert!(windows_name_problem("..\\secret").is_some()); // backslash: a separator there
/// assert!(windows_name_problem("nul.txt").is_some());     // a device, whatever the extension
/// assert!(windows_name_problem("a.txt::$DATA").is_some()); // a stream of the file
/// assert!(windows_name_problem("a.txt. ").is_some());     // Windows drops the dot and space
/// assert!(windows_name_problem("PROGRA~1").is_some());    // a short name for another name
/// ```
pub fn windows_name_problem(name: &str) -> Option<&'static str> {
    if name.contains('\\') {
        return Some("a backslash separates folders on Windows; use / between folders");
    }
    if name.contains(':') {
        return Some(
            "a colon names a drive (C:) or a file's hidden stream (name:stream) on Windows",
        );
    }
    if name.chars().any(|c| c < ' ' || "<>\"|?*".contains(c)) {
        return Some("control characters and < > \" | ? * are not allowed in Windows names");
    }
    if name.ends_with(['.', ' ']) {
        return Some("Windows drops trailing dots and spaces, so the name would mean another file");
    }
    // The device names, with or without an extension or trailing spaces: `NUL.txt` is NUL.
    let stem = name.split('.').next().unwrap_or("").trim_end_matches(' ');
    let device = matches!(
        stem.to_ascii_uppercase().as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || (stem.len() == 4
        && ["COM", "LPT"]
            .iter()
            .any(|d| stem.get(..3).is_some_and(|s| s.eq_ignore_ascii_case(d)))
        && stem.as_bytes()[3].is_ascii_digit()
        && stem.as_bytes()[3] != b'0');
    if device {
        return Some("that is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)");
    }
    // An 8.3 short name (`PROGRA~1.TXT`) is a second name for a file with a longer one.
    let (base, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    if let Some((before, digits)) = base.rsplit_once('~')
        && !before.is_empty()
        && base.len() <= 8
        && extension.len() <= 3
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Some("NAME~1 is a Windows short name, a second name for another file");
    }
    None
}

/// The last segment of a virtual path (`/a/b.txt` → `b.txt`; `/` → `/`).
pub fn file_name(virtual_path: &str) -> &str {
    match virtual_path.rsplit_once('/') {
        Some((_, "")) | None => "/",
        Some((_, name)) => name,
    }
}

/// The parent of a virtual path (`/a/b.txt` → `/a`; `/a` → `/`; `/` → `/`).
pub fn parent(virtual_path: &str) -> &str {
    match virtual_path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

/// The path beneath the home for a virtual path: `/a/b` → `a/b`, `/` → `.`. Only plain names
/// are kept, so even a caller that skipped [`resolve`] gets no `..` and no root through here.
/// (For display; the operations use `plain`, which refuses such a path instead of dropping
/// the segment.)
///
/// ```
/// use std::path::Path;
/// use localftp::server::jail::beneath;
/// assert_eq!(beneath("/Folder_Tes/a.txt"), Path::new("Folder_Tes/a.txt"));
/// assert_eq!(beneath("/"), Path::new("."));
/// ```
pub fn beneath(virtual_path: &str) -> PathBuf {
    let mut path = PathBuf::new();
    for segment in virtual_path.split('/').filter(|s| !s.is_empty()) {
        if let [Component::Normal(name)] = Path::new(segment).components().collect::<Vec<_>>()[..] {
            path.push(name);
        }
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// The path beneath the home for a virtual path whose every segment is one plain name on this
/// platform; anything else (on Windows, `C:` or `a\b`, which the platform reads as more than
/// a name) is refused, never dropped or reinterpreted.
fn plain(virtual_path: &str) -> Result<PathBuf, JailError> {
    let mut path = PathBuf::new();
    for segment in virtual_path.split('/').filter(|s| !s.is_empty()) {
        match Path::new(segment).components().collect::<Vec<_>>()[..] {
            [Component::Normal(name)] if name == segment => path.push(name),
            _ => return Err(JailError::Outside),
        }
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    Ok(path)
}

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
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.open(&path, options);
        }
        self.beneath(virtual_path, Last::Follow, |dir, path| {
            dir.open_with(path, options).map(|file| file.into_std())
        })
    }

    /// What `stat` says, following a link in the last segment (SIZE, MDTM, CWD, LIST).
    pub fn metadata(&self, virtual_path: &str) -> Result<Metadata, JailError> {
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.metadata(&path);
        }
        self.beneath(virtual_path, Last::Follow, |dir, path| dir.metadata(path))
    }

    /// What `lstat` says: a link in the last segment is described, not followed (DELE, RNFR).
    /// A link that leads outside the home, or nowhere, is [`JailError::Outside`], as if it were
    /// not there (see [`Jail::visible_link`]).
    pub fn symlink_metadata(&self, virtual_path: &str) -> Result<Metadata, JailError> {
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.symlink_metadata(&path);
        }
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
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.create_dir(&path);
        }
        self.beneath(virtual_path, Last::Keep, |dir, path| dir.create_dir(path))
    }

    /// Remove a file, or a link itself (DELE).
    pub fn remove_file(&self, virtual_path: &str) -> Result<(), JailError> {
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.remove_file(&path);
        }
        self.beneath(virtual_path, Last::Keep, |dir, path| dir.remove_file(path))
    }

    /// Remove an empty folder (RMD).
    pub fn remove_dir(&self, virtual_path: &str) -> Result<(), JailError> {
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.remove_dir(&path);
        }
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
        if let Some((share, path)) = self.mounted(virtual_path) {
            return share.set_permissions(&path, permissions);
        }
        self.beneath(virtual_path, Last::Follow, |dir, path| {
            dir.set_permissions(path, permissions.clone())
        })
    }

    /// The entries of a folder, and the folder itself (to look entries up with
    /// [`Folder::entry_metadata`]).
    pub fn read_dir(&self, virtual_path: &str) -> Result<(ReadDir, Folder), JailError> {
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

    /// Follow the links in `path` one at a time, as the kernel would, and return an equivalent
    /// path with no links in it (but the last segment's, for [`Last::Keep`]). A link that
    /// climbs above the home, or whose absolute target is not under it, is
    /// [`JailError::Outside`].
    ///
    /// This only *rewrites*; it decides nothing for good. Its result is looked up beneath the
    /// handle again, so if the folders change in between, the worst outcome is a refusal.
    fn walk(&self, path: PathBuf, last: Last) -> Result<PathBuf, JailError> {
        let mut todo: VecDeque<OsString> = names(&path).collect();
        let mut done: Vec<OsString> = Vec::new();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                if done.pop().is_none() {
                    return Err(JailError::Outside);
                }
                continue;
            }
            done.push(name);
            if todo.is_empty() && last == Last::Keep {
                break;
            }
            let here: PathBuf = done.iter().collect();
            let meta = match self.dir.symlink_metadata(&here) {
                Ok(meta) => meta,
                // A new name (STOR, MKD): the rest is not there to follow.
                Err(_) => break,
            };
            if !meta.is_symlink() {
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(JailError::Io(io::Error::other("too many levels of links")));
            }
            let target = self.dir.read_link_contents(&here)?;
            done.pop();
            if target.is_absolute() {
                let inside = target
                    .strip_prefix(&self.home)
                    .map_err(|_| JailError::Outside)?;
                done.clear();
                for name in names(inside).rev() {
                    todo.push_front(name);
                }
            } else {
                for name in names(&target).rev() {
                    todo.push_front(name);
                }
            }
        }
        let mut rewritten: PathBuf = done.iter().chain(todo.iter()).collect();
        if rewritten.as_os_str().is_empty() {
            rewritten.push(".");
        }
        Ok(rewritten)
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

/// The segments of a relative path, `..` kept (as `..`), `.` dropped.
fn names(path: &Path) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    path.components().filter_map(|component| match component {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}

mod mounts;
pub use mounts::Mount;

#[cfg(test)]
mod tests;
