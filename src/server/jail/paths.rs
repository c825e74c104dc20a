//! The jail's pure half: virtual paths as plain strings, folded (`resolve`) and taken apart
//! without touching the disk, and the names that are refused on every platform.

use std::path::{Component, Path, PathBuf};

use super::JailError;

/// Files the server writes for itself start with this: an upload in progress is written under
/// it and renamed when complete. Listings never show such names, and a client may not name one
/// (`553`), so a half-written file is never seen, served or replaced.
pub const UPLOAD_TEMP_PREFIX: &str = ".localftp-upload-";

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
pub(super) fn plain(virtual_path: &str) -> Result<PathBuf, JailError> {
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
