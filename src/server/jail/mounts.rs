//! Shared folders (`--share DIR=NAME`): one folder of the teacher's, seen as `/NAME` in every
//! home.
//!
//! A share is a jail of its own, on its own handle: a path under `/NAME` is looked up beneath
//! the share's folder and nowhere else, so neither `..` nor a link inside the share reaches
//! what is above it. The home's jail only *routes*: [`Jail::mounted`] sends `/NAME/rest` to the
//! share's jail as `/rest`. `..` never crosses the boundary, because [`super::resolve`] folds
//! it away before any routing (`/NAME/../x` is the home's `/x`). A rename between a share and
//! the home is refused, as `rename(2)` refuses one between two disks.
//!
//! The share hides an entry of the same name in the home: `/NAME` always means the share.

use std::sync::Arc;

use cap_std::fs::Metadata;

use super::{Jail, Path, is_reserved, windows_name_problem};

/// One shared folder and the name it has in every home.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The name of `/NAME`.
    name: String,
    /// The shared folder's own jail.
    jail: Jail,
}

impl Mount {
    /// The folder `dir`, which must exist, seen as `/name`. The name must be one plain
    /// segment that every platform can show.
    ///
    /// ```
    /// use localftp::server::jail::Mount;
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(Mount::new(dir.path(), "Materi").is_ok());
    /// assert!(Mount::new(dir.path(), "a/b").is_err());
    /// assert!(Mount::new(dir.path(), "..").is_err());
    /// ```
    pub fn new(dir: &Path, name: &str) -> Result<Mount, String> {
        let bad = name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', '\\'])
            || is_reserved(&format!("/{name}"))
            || windows_name_problem(name).is_some();
        if bad {
            return Err(format!(
                "{name:?} cannot be a shared folder's name: give one plain folder name"
            ));
        }
        let jail = Jail::new(dir).map_err(|e| format!("cannot share {}: {e}", dir.display()))?;
        Ok(Mount {
            name: name.to_string(),
            jail,
        })
    }

    /// The share's own jail (to clean its upload leftovers at start).
    pub fn jail(&self) -> &Jail {
        &self.jail
    }
}

impl Jail {
    /// This jail with `mounts` seen in it as `/NAME` each.
    pub fn with_mounts(mut self, mounts: &[Mount]) -> Jail {
        self.mounts = Arc::from(mounts);
        self
    }

    /// The share `virtual_path` is in, and the path inside that share; `None` for a path in
    /// the home itself.
    ///
    /// ```
    /// use localftp::server::jail::{Jail, Mount};
    /// let (home, shared) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    /// let share = Mount::new(shared.path(), "Materi").unwrap();
    /// let jail = Jail::new(home.path()).unwrap().with_mounts(&[share]);
    /// assert_eq!(jail.mounted("/Materi/a.txt").unwrap().1, "/a.txt");
    /// assert_eq!(jail.mounted("/Materi").unwrap().1, "/");
    /// assert!(jail.mounted("/MateriX/a.txt").is_none());
    /// assert!(jail.mounted("/a/Materi").is_none());
    /// ```
    pub fn mounted(&self, virtual_path: &str) -> Option<(&Jail, String)> {
        let rest = virtual_path.strip_prefix('/')?;
        let (first, inside) = rest.split_once('/').unwrap_or((rest, ""));
        let mount = self.mounts.iter().find(|mount| mount.name == first)?;
        Some((&mount.jail, format!("/{inside}")))
    }

    /// The shares to show as folders in the listing of `virtual_folder` (only `/` has any),
    /// each with its folder's facts.
    pub fn mount_entries(&self, virtual_folder: &str) -> Vec<(String, Metadata)> {
        if virtual_folder != "/" {
            return Vec::new();
        }
        self.mounts
            .iter()
            .filter_map(|mount| {
                let facts = mount.jail.metadata("/").ok()?;
                Some((mount.name.clone(), facts))
            })
            .collect()
    }
}
