//! The jail's slow path: when the kernel refuses a lookup, the links on the way are read one
//! at a time and each absolute target under the home is rewritten relative to it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{Jail, JailError, Last};

/// How many symbolic links one lookup may follow before it is refused (Linux's own limit).
const MAX_LINKS: u32 = 40;

impl Jail {
    /// Follow the links in `path` one at a time, as the kernel would, and return an equivalent
    /// path with no links in it (but the last segment's, for [`Last::Keep`]). A link that
    /// climbs above the home, or whose absolute target is not under it, is
    /// [`JailError::Outside`].
    ///
    /// This only *rewrites*; it decides nothing for good. Its result is looked up beneath the
    /// handle again, so if the folders change in between, the worst outcome is a refusal.
    pub(super) fn walk(&self, path: PathBuf, last: Last) -> Result<PathBuf, JailError> {
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

/// The segments of a relative path, `..` kept (as `..`), `.` dropped.
fn names(path: &Path) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    path.components().filter_map(|component| match component {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}
