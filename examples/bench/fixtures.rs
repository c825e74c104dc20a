//! The files the measures use, all in one folder of the served root, `localftp-bench/`, so
//! the bench never touches anything else there (the shared harness's `big.bin` included):
//!
//! ```text
//! localftp-bench/big-SIZE.bin      random bytes, for RETR, raw-sendfile, and as the source of
//!                                  STOR and disk-fsync
//! localftp-bench/small/f0000.bin   1,000 files of 4 KiB, random bytes
//! localftp-bench/bigdir/f00000.dat 10,000 empty files, for LIST
//! localftp-bench/upload/           STOR's target (mode 1777, for servers that run as another
//!                                  user); disk-fsync writes there too, so on the same disk
//! ```
//!
//! They are created once and kept: a later run against the same root reuses them when their
//! sizes are right.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// The bench's folder in the served root.
pub const DIR: &str = "localftp-bench";
/// How many small files.
pub const SMALL_COUNT: usize = 1000;
/// The size of each small file.
pub const SMALL_SIZE: u64 = 4096;
/// How many names `bigdir/` holds.
pub const LIST_COUNT: usize = 10_000;

/// The virtual path of the big file (relative to the login folder).
pub fn big(size: u64) -> String {
    format!("{DIR}/big-{size}.bin")
}

/// The virtual path of small file `i`.
pub fn small(i: usize) -> String {
    format!("{DIR}/small/f{i:04}.bin")
}

/// The virtual path of the folder LIST reads.
pub fn list_dir() -> String {
    format!("{DIR}/bigdir")
}

/// The name of entry `i` of `bigdir/`.
pub fn list_name(i: usize) -> String {
    format!("f{i:05}.dat")
}

/// The virtual path STOR writes in round `round`.
pub fn upload(round: usize) -> String {
    format!("{DIR}/upload/stor-{}-{round}.bin", std::process::id())
}

/// The path (relative to the served root) disk-fsync writes in round `round`: in STOR's
/// folder, so on the same filesystem, but never a name STOR uses.
pub fn disk_copy(round: usize) -> String {
    format!("{DIR}/upload/disk-fsync-{}-{round}.bin", std::process::id())
}

/// Which fixtures the chosen measures need.
pub struct Needs {
    /// The big file (RETR, STOR and the two references), of this size.
    pub big: Option<u64>,
    /// The small files.
    pub small: bool,
    /// The big folder.
    pub list: bool,
    /// The upload folder (STOR, disk-fsync).
    pub upload: bool,
}

/// Create whatever is missing, or has the wrong size, under `root`.
pub fn prepare(root: &Path, needs: &Needs) -> io::Result<()> {
    let dir = root.join(DIR);
    fs::create_dir_all(&dir)?;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(std::process::id());
    if let Some(size) = needs.big {
        let path = root.join(big(size));
        if !has_size(&path, size) {
            eprintln!("creating {} ({size} random bytes)", path.display());
            write_random(&path, size, &mut seed)?;
        }
    }
    if needs.small {
        fs::create_dir_all(dir.join("small"))?;
        for i in 0..SMALL_COUNT {
            let path = root.join(small(i));
            if !has_size(&path, SMALL_SIZE) {
                write_random(&path, SMALL_SIZE, &mut seed)?;
            }
        }
    }
    if needs.list {
        let bigdir = root.join(list_dir());
        fs::create_dir_all(&bigdir)?;
        for i in 0..LIST_COUNT {
            let path = bigdir.join(list_name(i));
            if !path.exists() {
                File::create(&path)?;
            }
        }
        // LIST must show exactly these names: a stray file would fail every round.
        let entries = fs::read_dir(&bigdir)?.count();
        if entries != LIST_COUNT {
            return Err(io::Error::other(format!(
                "{} holds {entries} entries, not {LIST_COUNT}: remove the extra ones",
                bigdir.display()
            )));
        }
    }
    if needs.upload {
        let upload = dir.join("upload");
        fs::create_dir_all(&upload)?;
        // Writable by everyone (vsftpd's users upload here), where files have mode bits.
        if let Some(mode) = localftp::platform::permissions_from_mode(0o1777) {
            let parent = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority())?;
            parent.set_permissions("upload", mode)?;
        }
    }
    Ok(())
}

fn has_size(path: &Path, size: u64) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() == size)
}

/// Write `size` random bytes, 1 MiB at a time, to a `.part` file renamed into place at the
/// end (so an interrupted run never leaves a short file that looks finished).
///
/// Random rather than zeros so that no layer (a compressing filesystem, a sparse file) can
/// make the transfer cheaper than real data; xorshift64 fills a block far faster than the
/// disk takes it.
fn write_random(path: &Path, size: u64, seed: &mut u64) -> io::Result<()> {
    const BLOCK: usize = 1 << 20;
    let part = path.with_extension("part");
    let mut file = File::create(&part)?;
    let mut block = vec![0u8; BLOCK];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            word.copy_from_slice(&seed.to_le_bytes());
        }
        let now = left.min(BLOCK as u64) as usize;
        file.write_all(&block[..now])?;
        left -= now as u64;
    }
    if size > BLOCK as u64 {
        // On disk before the first measure, so write-back does not run during it.
        file.sync_all()?;
    }
    drop(file);
    fs::rename(&part, path)
}
