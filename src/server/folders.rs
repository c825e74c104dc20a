//! The files the server makes itself, outside any session: the root and each home with the
//! seed's sample content, and `--report`'s grade sheet, kept up to date while the class works.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::progress;
use crate::seed::{SAMPLE_FILE, SAMPLE_FOLDER};

/// What `baca_saya.txt` holds when the server creates it.
const SAMPLE_TEXT: &str = "Halo! This is baca_saya.txt (\"read me\" in Indonesian), served by localftp.\n\
Download it with RETR, change it, and upload it back with STOR.\n";

/// Create a user's home if missing. A home that is new, or empty, gets the seed's sample file
/// and folder, so every student starts where the seed's `data/` starts; a home with files in
/// it is left as it is.
pub(super) fn prepare_home(home: &Path, sample_content: bool) -> io::Result<()> {
    let empty = match fs::read_dir(home) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => true,
        Err(e) => return Err(e),
    };
    fs::create_dir_all(home)?;
    prepare_root(home, sample_content && empty)
}

/// Create the root if missing, with the seed's sample file and folder. Existing files are never
/// overwritten: a student's edited `baca_saya.txt` survives a restart.
pub fn prepare_root(root: &Path, sample_content: bool) -> io::Result<()> {
    fs::create_dir_all(root)?;
    if !sample_content {
        return Ok(());
    }
    let sample = root.join(SAMPLE_FILE);
    match fs::File::options()
        .write(true)
        .create_new(true)
        .open(&sample)
    {
        Ok(mut file) => io::Write::write_all(&mut file, SAMPLE_TEXT.as_bytes())?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    match fs::create_dir(root.join(SAMPLE_FOLDER)) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    Ok(())
}

/// How often `--report`'s grade sheet is written while the server runs, when anything changed.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Write the grade sheet every [`REPORT_EVERY`] while the class works, not only at shutdown: a
/// server that is killed, or whose console window is closed on Windows (which ends the process
/// without a shutdown), loses at most the last few seconds. Each write replaces the file whole.
pub(super) fn keep_grade_sheet(path: PathBuf, progress: Arc<progress::Progress>) {
    let spawned = thread::Builder::new().name("report".into()).spawn(move || {
        let mut written = u64::MAX;
        loop {
            thread::sleep(REPORT_EVERY);
            let version = progress.version();
            if version != written && write_grade_sheet(&path, &progress).is_ok() {
                written = version;
            }
        }
    });
    if let Err(e) = spawned {
        log::warn!(
            target: "localftp::server",
            "the grade sheet will be written at shutdown only: {e}"
        );
    }
}

/// The grade sheet, written to a temporary file beside `path` and renamed over it. One write at
/// a time: the `report` thread and the last write at shutdown use the same temporary name, and
/// two at once could rename a half-written file into place.
pub(super) fn write_grade_sheet(path: &Path, progress: &progress::Progress) -> io::Result<()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _writing = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let temporary = path.with_extension("csv.localftp-new");
    fs::write(&temporary, progress.csv())?;
    fs::rename(&temporary, path)
}
