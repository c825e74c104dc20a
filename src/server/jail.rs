//! The jail: virtual paths the client sees ↔ real paths on the server's disk.
//!
//! After login the client's PWD is `"/"`, yet that `/` is the user's home folder (`data/` for the
//! seed's user), not the server's root: a *chroot jail*, as pyftpdlib's `ftp2fs` / `fs2ftp` /
//! `validpath` build it. Every path a client names goes through two steps:
//!
//! 1. [`resolve`] (pure, lexical): join it to the current folder and fold `.`, `..` and repeated
//!    slashes, giving an absolute *virtual* path. `..` at `/` stays at `/`, so no sequence of
//!    `..` ever leaves the home: `/../../etc/passwd` is the home's `etc/passwd`.
//! 2. [`Jail::real_path`] (touches the disk): append the virtual path to the home, then follow
//!    symlinks and check that the result is still inside the home. A symlink that leads outside
//!    is refused as if it did not exist ([`JailError::Outside`]): the client learns nothing about
//!    what lies beyond.
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
//! Simplified: the check and the later `open` are two steps. A *local* user who swaps a folder
//! for a symlink between them could win that race; FTP clients cannot make symlinks, so they
//! cannot. A production server closes the gap with `openat2(RESOLVE_BENEATH)` or a
//! capability-based file system crate.

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

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

/// Why a virtual path has no real path the client may use.
#[derive(Debug)]
pub enum JailError {
    /// Following a symlink on the way leads outside the home folder.
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

/// A user's home folder, with every way out of it refused.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The home folder, canonical (no symlinks, no `..`), so `starts_with` is a real test.
    home: PathBuf,
}

impl Jail {
    /// A jail rooted at `home`, which must exist.
    pub fn new(home: &Path) -> io::Result<Jail> {
        Ok(Jail {
            home: home.canonicalize()?,
        })
    }

    /// The home folder on disk.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The real path for a virtual one, checked against the jail.
    ///
    /// The path itself need not exist (STOR and MKD name new files), but its parent must.
    /// Symlinks are followed to check where they lead; the path returned is the link itself,
    /// so DELE or RNFR on a link act on the link, while RETR through it reads its target.
    pub fn real_path(&self, virtual_path: &str) -> Result<PathBuf, JailError> {
        let real = self.lexical(virtual_path);
        match real.symlink_metadata() {
            // It exists: resolve every symlink on the way and in the last segment.
            Ok(_) => match real.canonicalize() {
                Ok(target) => self.inside(target).map(|_| real),
                // A symlink to nowhere: refuse it like a missing file.
                Err(error) if error.kind() == io::ErrorKind::NotFound => Err(JailError::NotFound),
                Err(error) => Err(JailError::Io(error)),
            },
            // A new name: its parent must exist and be inside.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let parent = real.parent().unwrap_or(&self.home);
                match parent.canonicalize() {
                    Ok(target) => self.inside(target).map(|_| real),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {
                        Err(JailError::NotFound)
                    }
                    Err(error) => Err(JailError::Io(error)),
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotADirectory => Err(JailError::NotFound),
            Err(error) => Err(JailError::Io(error)),
        }
    }

    /// Whether a real path found while walking the disk (a folder entry, say) stays inside the
    /// jail once symlinks are followed. Listings use this to leave out links that lead outside.
    pub fn contains(&self, real: &Path) -> bool {
        real.canonicalize()
            .is_ok_and(|target| target.starts_with(&self.home))
    }

    /// The home joined with the virtual path's segments, with no look at the disk. The virtual
    /// path comes from [`resolve`], so it holds no `..`; the check below makes sure of it.
    fn lexical(&self, virtual_path: &str) -> PathBuf {
        let mut real = self.home.clone();
        for segment in virtual_path.split('/').filter(|s| !s.is_empty()) {
            let segment = Path::new(segment);
            // resolve() never yields these, but a caller that skipped it must not escape.
            if matches!(segment.components().next(), Some(Component::Normal(_))) {
                real.push(segment);
            }
        }
        real
    }

    fn inside(&self, canonical: PathBuf) -> Result<(), JailError> {
        if canonical.starts_with(&self.home) {
            Ok(())
        } else {
            Err(JailError::Outside)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A home folder inside a scratch folder, with a canary file beside the home (outside it).
    fn setup() -> (tempfile::TempDir, Jail) {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        fs::create_dir_all(home.join("sub")).unwrap();
        fs::write(home.join("inside.txt"), "in").unwrap();
        fs::write(scratch.path().join("canary.txt"), "secret").unwrap();
        fs::create_dir(scratch.path().join("outside_dir")).unwrap();
        let jail = Jail::new(&home).unwrap();
        (scratch, jail)
    }

    #[test]
    fn dot_dot_never_climbs_above_the_top() {
        assert_eq!(resolve("/", ".."), "/");
        assert_eq!(resolve("/", "../../.."), "/");
        assert_eq!(resolve("/sub", "../../canary.txt"), "/canary.txt");
        assert_eq!(resolve("/", "sub/../../x"), "/x");
        assert_eq!(resolve("/", "/.."), "/");
        assert_eq!(resolve("/", "..."), "/..."); // a legal file name, not a parent
    }

    #[test]
    fn absolute_paths_start_at_the_home() {
        let (_scratch, jail) = setup();
        let real = jail.real_path(&resolve("/sub", "/inside.txt")).unwrap();
        assert_eq!(real, jail.home().join("inside.txt"));
        // "/etc/passwd" names a path under the home, which does not exist there.
        assert!(matches!(
            jail.real_path(&resolve("/", "/etc/passwd")),
            Err(JailError::NotFound)
        ));
    }

    #[test]
    fn climbing_to_the_canary_lands_inside() {
        let (_scratch, jail) = setup();
        let virtual_path = resolve("/", "../canary.txt");
        assert_eq!(virtual_path, "/canary.txt");
        // It names a new file *inside* the home (a STOR would create it there), never the
        // canary beside the home.
        let real = jail.real_path(&virtual_path).unwrap();
        assert_eq!(real, jail.home().join("canary.txt"));
        assert!(!real.exists());
    }

    #[test]
    fn symlink_to_a_file_outside_is_refused() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("canary.txt"), jail.home().join("link")).unwrap();
        assert!(matches!(jail.real_path("/link"), Err(JailError::Outside)));
        assert!(!jail.contains(&jail.home().join("link")));
    }

    #[test]
    fn symlink_to_a_folder_outside_is_refused_for_everything_below_it() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("outside_dir"), jail.home().join("door")).unwrap();
        assert!(matches!(jail.real_path("/door"), Err(JailError::Outside)));
        // A new file through the door (STOR /door/x) would land outside: refused.
        assert!(matches!(
            jail.real_path("/door/new.txt"),
            Err(JailError::Outside)
        ));
    }

    #[test]
    fn dangling_symlink_is_refused() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("nothing"), jail.home().join("dangling")).unwrap();
        // STOR through it would create a file outside: it must not resolve.
        assert!(jail.real_path("/dangling").is_err());
    }

    #[test]
    fn symlink_inside_the_home_is_allowed() {
        let (_scratch, jail) = setup();
        symlink(jail.home().join("inside.txt"), jail.home().join("alias")).unwrap();
        assert_eq!(jail.real_path("/alias").unwrap(), jail.home().join("alias"));
        assert!(jail.contains(&jail.home().join("alias")));
    }

    #[test]
    fn home_reached_through_a_symlink_still_works() {
        let (scratch, _) = setup();
        symlink(
            scratch.path().join("home"),
            scratch.path().join("home_link"),
        )
        .unwrap();
        let jail = Jail::new(&scratch.path().join("home_link")).unwrap();
        assert!(jail.real_path("/inside.txt").is_ok());
    }

    #[test]
    fn new_names_need_an_existing_parent() {
        let (_scratch, jail) = setup();
        assert!(jail.real_path("/sub/new.txt").is_ok());
        assert!(matches!(
            jail.real_path("/missing/new.txt"),
            Err(JailError::NotFound)
        ));
        assert!(matches!(
            jail.real_path("/inside.txt/x"),
            Err(JailError::NotFound)
        ));
    }

    #[test]
    fn names_and_parents() {
        assert_eq!(file_name("/a/b.txt"), "b.txt");
        assert_eq!(file_name("/"), "/");
        assert_eq!(parent("/a/b.txt"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/"), "/");
    }
}
