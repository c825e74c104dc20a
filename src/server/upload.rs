//! An upload's destination (RFC 959 §4.1.3 STOR, APPE, STOU): where the bytes go, and how they
//! become the file the client named.
//!
//! STOR and STOU write to a hidden temporary file beside the target ([`create_upload`]) and
//! rename it over the target only when the last byte has arrived ([`TempUpload::commit`], called
//! by `copy::receive`): a broken upload never destroys the old file and is never seen
//! half-written. APPE and STOR after REST write in place ([`open_in_place`]), since that is what
//! they mean. Every path goes through the user's [`Jail`].

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

use cap_std::fs::OpenOptions;

use super::jail::{Jail, JailError, UPLOAD_TEMP_PREFIX, parent};

/// Where an upload's bytes go, and how it is made visible at the end.
pub struct Upload {
    /// The file being written.
    pub file: File,
    /// What happens when the last byte has arrived.
    pub finish: Finish,
}

/// How a finished upload becomes the file the client named.
pub enum Finish {
    /// STOR and STOU: rename the temporary file over the target.
    Rename(TempUpload),
    /// APPE and STOR after REST: the bytes were written into the target itself.
    InPlace,
}

/// A STOR's hidden temporary file beside its target. It removes itself when dropped, unless
/// [`TempUpload::commit`] renamed it over the target first: whatever ends an upload early (a
/// refusal before the data connection, a broken connection, ABOR, a full disk, a panic on the
/// transfer thread) cleans up in this one place.
pub struct TempUpload {
    jail: Jail,
    /// The temporary file, as a virtual path (its name starts with `UPLOAD_TEMP_PREFIX`).
    temp: String,
    /// The file the client named.
    target: String,
    committed: bool,
}

impl TempUpload {
    /// Whether the upload would replace a file that exists now.
    pub fn replaces_a_file(&self) -> bool {
        self.jail.symlink_metadata(&self.target).is_ok()
    }

    /// Make the upload visible: rename the temporary file over the target, atomically.
    pub fn commit(mut self) -> io::Result<()> {
        self.jail
            .rename(&self.temp, &self.target)
            .map_err(|e| match e {
                JailError::Io(e) => e,
                other => io::Error::new(io::ErrorKind::NotFound, other.to_string()),
            })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempUpload {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.jail.remove_file(&self.temp);
        }
    }
}

/// Open `target` (a virtual path) for a STOR: a new hidden temporary file beside it, to be
/// renamed over it.
pub fn create_upload(jail: Jail, target: &str) -> Result<Upload, JailError> {
    // Replacing a link that leads outside (or nowhere) is refused as if it were not there.
    if let Err(JailError::Outside) = jail.symlink_metadata(target) {
        return Err(JailError::Outside);
    }
    let folder = match parent(target) {
        "/" => "",
        folder => folder,
    };
    for _ in 0..16 {
        let temp = format!(
            "{folder}/{UPLOAD_TEMP_PREFIX}{:016x}",
            super::data::random_u64()
        );
        match jail.open(&temp, OpenOptions::new().write(true).create_new(true)) {
            Ok(file) => {
                let finish = Finish::Rename(TempUpload {
                    jail,
                    temp,
                    target: target.to_string(),
                    committed: false,
                });
                return Ok(Upload { file, finish });
            }
            Err(JailError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(JailError::Io(io::Error::other(
        "could not pick a temporary file name",
    )))
}

/// Open `target` to write in place from `offset` (STOR after REST) or at its end (APPE).
pub fn open_in_place(jail: &Jail, target: &str, offset: Option<u64>) -> Result<Upload, JailError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    let mut file = jail.open(target, &options)?;
    match offset {
        Some(offset) => file.seek(SeekFrom::Start(offset))?,
        None => file.seek(SeekFrom::End(0))?,
    };
    Ok(Upload {
        file,
        finish: Finish::InPlace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn leftovers(home: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(UPLOAD_TEMP_PREFIX))
            .collect()
    }

    /// An upload's temporary file goes away however the upload ends: dropped unfinished, or on
    /// a thread that panics in the middle of it. Only `commit` makes it the target.
    #[test]
    fn the_temporary_file_removes_itself_even_on_a_panic() {
        let home = tempfile::tempdir().unwrap();
        let jail = Jail::new(home.path()).unwrap();
        std::fs::write(home.path().join("old.txt"), "old").unwrap();

        let upload = create_upload(jail.clone(), "/old.txt").unwrap();
        assert_eq!(leftovers(home.path()).len(), 1);
        drop(upload);
        assert!(leftovers(home.path()).is_empty(), "dropped: removed");

        let panicking = jail.clone();
        let result = std::thread::spawn(move || {
            let mut upload = create_upload(panicking, "/old.txt").unwrap();
            upload.file.write_all(b"half").unwrap();
            panic!("the transfer thread fails mid-upload");
        })
        .join();
        assert!(result.is_err());
        assert!(leftovers(home.path()).is_empty(), "panicked: removed");
        assert_eq!(std::fs::read(home.path().join("old.txt")).unwrap(), b"old");

        let mut upload = create_upload(jail, "/old.txt").unwrap();
        upload.file.write_all(b"new").unwrap();
        let Finish::Rename(temp) = upload.finish else {
            panic!("STOR renames")
        };
        temp.commit().unwrap();
        assert!(leftovers(home.path()).is_empty(), "committed: renamed");
        assert_eq!(std::fs::read(home.path().join("old.txt")).unwrap(), b"new");
    }
}
