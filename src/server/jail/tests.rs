//! The jail attacked through its own methods: every escape is refused, and the outside is
//! checked unchanged after each attempt.

use super::*;
use std::fs;

/// A home folder inside a scratch folder, with a canary file and a folder beside the home
/// (outside it).
fn setup() -> (tempfile::TempDir, Jail) {
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    fs::create_dir_all(home.join("sub")).unwrap();
    fs::write(home.join("inside.txt"), "in").unwrap();
    fs::write(scratch.path().join("canary.txt"), "secret").unwrap();
    fs::create_dir(scratch.path().join("outside_dir")).unwrap();
    fs::write(scratch.path().join("outside_dir/secret.txt"), "secret").unwrap();
    let jail = Jail::new(&home).unwrap();
    (scratch, jail)
}

fn read(jail: &Jail, virtual_path: &str) -> Result<String, JailError> {
    let mut file = jail.open(virtual_path, OpenOptions::new().read(true))?;
    let mut text = String::new();
    io::Read::read_to_string(&mut file, &mut text).unwrap();
    Ok(text)
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
fn beneath_keeps_only_plain_names() {
    assert_eq!(beneath("/a/../b"), Path::new("a/b"));
    assert_eq!(beneath("//"), Path::new("."));
}

#[test]
fn absolute_paths_start_at_the_home() {
    let (_scratch, jail) = setup();
    assert_eq!(read(&jail, &resolve("/sub", "/inside.txt")).unwrap(), "in");
    // "/etc/passwd" names a path under the home, which does not exist there.
    assert!(matches!(
        jail.metadata(&resolve("/", "/etc/passwd")),
        Err(JailError::NotFound)
    ));
}

#[test]
fn climbing_to_the_canary_lands_inside() {
    let (scratch, jail) = setup();
    let virtual_path = resolve("/", "../canary.txt");
    assert_eq!(virtual_path, "/canary.txt");
    // It names a new file *inside* the home (a STOR would create it there), never the
    // canary beside the home.
    let mut file = jail
        .open(&virtual_path, OpenOptions::new().write(true).create(true))
        .unwrap();
    io::Write::write_all(&mut file, b"mine").unwrap();
    assert_eq!(fs::read(jail.home().join("canary.txt")).unwrap(), b"mine");
    assert_eq!(
        fs::read(scratch.path().join("canary.txt")).unwrap(),
        b"secret"
    );
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_link_to_a_file_outside_is_refused() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("canary.txt"), jail.home().join("link")).unwrap();
        assert!(matches!(read(&jail, "/link"), Err(JailError::Outside)));
        assert!(matches!(jail.metadata("/link"), Err(JailError::Outside)));
        // Even the link itself is as if it were not there: removing it would touch nothing
        // outside, but a different answer would tell the client that something is there.
        assert!(matches!(
            jail.symlink_metadata("/link"),
            Err(JailError::Outside)
        ));
        assert!(matches!(jail.remove_file("/link"), Err(JailError::Outside)));
        assert!(matches!(
            jail.rename("/inside.txt", "/link"),
            Err(JailError::Outside)
        ));
        assert_eq!(
            fs::read(scratch.path().join("canary.txt")).unwrap(),
            b"secret"
        );
    }

    #[test]
    fn a_link_to_a_folder_outside_is_refused_for_everything_below_it() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("outside_dir"), jail.home().join("door")).unwrap();
        assert!(matches!(jail.metadata("/door"), Err(JailError::Outside)));
        assert!(matches!(
            read(&jail, "/door/secret.txt"),
            Err(JailError::Outside)
        ));
        assert!(jail.read_dir("/door").is_err());
        assert!(jail.create_dir("/door/new").is_err());
        assert!(jail.remove_file("/door/secret.txt").is_err());
        assert!(jail.rename("/door/secret.txt", "/stolen.txt").is_err());
        assert!(jail.rename("/inside.txt", "/door/planted.txt").is_err());
        let new = jail.open("/door/new.txt", OpenOptions::new().write(true).create(true));
        assert!(new.is_err());
        let outside: Vec<_> = fs::read_dir(scratch.path().join("outside_dir"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, ["secret.txt"]);
    }

    #[test]
    fn relative_links_that_climb_out_are_refused() {
        let (_scratch, jail) = setup();
        symlink("../..", jail.home().join("sub/up2")).unwrap();
        assert!(matches!(jail.metadata("/sub/up2"), Err(JailError::Outside)));
        assert!(matches!(
            read(&jail, "/sub/up2/canary.txt"),
            Err(JailError::Outside)
        ));
    }

    #[test]
    fn a_dangling_link_is_refused() {
        let (scratch, jail) = setup();
        symlink(scratch.path().join("nothing"), jail.home().join("dangling")).unwrap();
        // STOR through it would create a file outside: it must not.
        let new = jail.open("/dangling", OpenOptions::new().write(true).create(true));
        assert!(new.is_err());
        assert!(!scratch.path().join("nothing").exists());
    }

    #[test]
    fn links_inside_the_home_work_relative_and_absolute() {
        let (_scratch, jail) = setup();
        symlink("inside.txt", jail.home().join("relative")).unwrap();
        symlink(jail.home().join("inside.txt"), jail.home().join("absolute")).unwrap();
        symlink(jail.home().join("sub"), jail.home().join("absolute_folder")).unwrap();
        symlink("../inside.txt", jail.home().join("sub/up_one")).unwrap();
        assert_eq!(read(&jail, "/relative").unwrap(), "in");
        assert_eq!(read(&jail, "/absolute").unwrap(), "in");
        assert_eq!(read(&jail, "/sub/up_one").unwrap(), "in");
        assert!(jail.metadata("/absolute_folder").unwrap().is_dir());
        jail.create_dir("/absolute_folder/made").unwrap();
        assert!(jail.home().join("sub/made").is_dir());
        let (_, folder) = jail.read_dir("/").unwrap();
        assert!(folder.entry_metadata("absolute".as_ref()).is_ok());
    }

    #[test]
    fn a_home_reached_through_a_link_still_works() {
        let (scratch, _) = setup();
        symlink(
            scratch.path().join("home"),
            scratch.path().join("home_link"),
        )
        .unwrap();
        let jail = Jail::new(&scratch.path().join("home_link")).unwrap();
        assert_eq!(read(&jail, "/inside.txt").unwrap(), "in");
    }

    /// A rename across the jail, without sockets: a rename source named while a
    /// relative link on its way was harmless is renamed only if it is still inside *at the
    /// moment of the rename*.
    #[test]
    fn a_rename_looks_its_source_up_again_at_the_moment_of_the_rename() {
        let (scratch, jail) = setup();
        let home = jail.home().to_path_buf();
        // `a/s -> ../outside_dir` names the home's own decoy folder while it stands in `a/`;
        // moved up to the home, the same text names the real outside_dir.
        fs::create_dir_all(home.join("a")).unwrap();
        fs::create_dir_all(home.join("outside_dir")).unwrap();
        symlink("../outside_dir", home.join("a/s")).unwrap();
        fs::create_dir(home.join("s")).unwrap();
        fs::write(home.join("s/secret.txt"), "decoy").unwrap();
        // "RNFR s/secret.txt": the source exists, inside.
        assert!(jail.symlink_metadata("/s/secret.txt").is_ok());
        // Meanwhile: the real folder moves away and the link moves into its place.
        jail.rename("/s", "/s_old").unwrap();
        jail.rename("/a/s", "/s").unwrap();
        // "RNTO stolen.txt": refused; the outside file stays where it is.
        assert!(matches!(
            jail.rename("/s/secret.txt", "/stolen.txt"),
            Err(JailError::Outside)
        ));
        assert_eq!(
            fs::read(scratch.path().join("outside_dir/secret.txt")).unwrap(),
            b"secret"
        );
        assert!(!home.join("stolen.txt").exists());
    }

    #[test]
    fn leftover_uploads_are_found_at_any_depth() {
        let (scratch, jail) = setup();
        fs::write(jail.home().join(format!("{UPLOAD_TEMP_PREFIX}1")), "").unwrap();
        fs::write(jail.home().join(format!("sub/{UPLOAD_TEMP_PREFIX}2")), "").unwrap();
        fs::write(
            scratch
                .path()
                .join(format!("outside_dir/{UPLOAD_TEMP_PREFIX}3")),
            "",
        )
        .unwrap();
        symlink(scratch.path().join("outside_dir"), jail.home().join("door")).unwrap();
        assert_eq!(jail.remove_leftovers(), 2);
        assert!(
            scratch
                .path()
                .join(format!("outside_dir/{UPLOAD_TEMP_PREFIX}3"))
                .exists()
        );
    }
}

#[test]
fn new_names_need_an_existing_parent() {
    let (_scratch, jail) = setup();
    let create = |path| jail.open(path, OpenOptions::new().write(true).create(true));
    assert!(create("/sub/new.txt").is_ok());
    assert!(matches!(
        create("/missing/new.txt"),
        Err(JailError::NotFound)
    ));
    assert!(matches!(create("/inside.txt/x"), Err(JailError::NotFound)));
}

#[test]
fn names_and_parents() {
    assert_eq!(file_name("/a/b.txt"), "b.txt");
    assert_eq!(file_name("/"), "/");
    assert_eq!(parent("/a/b.txt"), "/a");
    assert_eq!(parent("/a"), "/");
    assert_eq!(parent("/"), "/");
}

/// Each class of Windows name that means more than a name there, recognised on every platform
/// (a Windows server refuses them with 553; see `platform::WINDOWS_NAMES`).
#[test]
fn every_class_of_windows_name_is_recognised() {
    let classes: &[(&str, &[&str])] = &[
        ("drive letters", &["C:", "c:", "C:\\Windows", "C:relative"]),
        (
            "UNC and device paths",
            &["\\\\host\\share", "\\\\?\\C:\\x", "\\\\.\\PhysicalDrive0"],
        ),
        (
            "backslash as a separator",
            &["..\\..\\secret", "a\\b", "\\"],
        ),
        (
            "reserved device names",
            &[
                "CON",
                "con",
                "PRN",
                "AUX",
                "NUL",
                "nul.txt",
                "NUL .txt",
                "COM1",
                "com9.log",
                "LPT1",
                "lpt9",
                "AUX.tar.gz",
                "CONIN$",
            ],
        ),
        (
            "alternate data streams",
            &["a.txt:hidden", "a.txt::$DATA", "::$INDEX_ALLOCATION"],
        ),
        ("trailing dots and spaces", &["a.", "a ", "a. .", "..."]),
        (
            "8.3 short names",
            &["PROGRA~1", "BACA_S~1.TXT", "A~12.TX", "LOCALF~1"],
        ),
        (
            "characters Windows forbids",
            &["a<b", "a>b", "a|b", "a?b", "a*b", "a\"b", "a\u{1}b"],
        ),
    ];
    for (class, names) in classes {
        for name in *names {
            assert!(
                windows_name_problem(name).is_some(),
                "{class}: {name:?} is not recognised"
            );
        }
    }
    for plain in [
        "baca_saya.txt",
        "Folder_Tes",
        "a.b.c",
        "CONTACT",
        "console.log",
        "COM0",
        "COM10",
        "LPT",
        "my~file.txt",
        "~1",
        "~",
        "tugas 1.txt",
        "naïve.txt",
        ".hidden",
        "a..b",
    ] {
        assert_eq!(windows_name_problem(plain), None, "{plain:?}");
    }
}

/// The operations themselves refuse a segment that is not one plain name on this platform,
/// rather than dropping it (on Windows `C:` or `a\b` would otherwise vanish from the path, and
/// `RMD C:\x` would remove the folder it stands in).
#[test]
fn a_segment_that_is_not_one_name_is_refused_not_dropped() {
    let (_scratch, jail) = setup();
    for name in ["/sub/.", "/sub/.."] {
        assert!(
            matches!(jail.remove_dir(name), Err(JailError::Outside)),
            "{name}"
        );
    }
    assert!(jail.home().join("sub").is_dir());
    #[cfg(windows)]
    for name in ["/sub/C:", "/sub/C:\\x", "/sub/a\\..\\.."] {
        assert!(
            matches!(jail.remove_dir(name), Err(JailError::Outside)),
            "{name}"
        );
        assert!(jail.home().join("sub").is_dir(), "{name}");
    }
}
