//! Properties (issue 5): whatever bytes a client sends, the parser and the line reader give a
//! value or an error, never a panic; and no path, however built, leads out of the jail.

use proptest::prelude::*;

use localftp::server::command::parse;
use localftp::server::control::strip_telnet;
use localftp::server::jail::resolve;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_parser_never_panics(line in ".{0,300}") {
        let _ = parse(&line);
    }

    #[test]
    fn the_parser_never_panics_on_known_verbs(
        verb in prop::sample::select(vec![
            "USER", "PASS", "CWD", "PORT", "EPRT", "EPSV", "TYPE", "MODE", "STRU", "REST",
            "LIST", "NLST", "SITE", "MFMT", "STAT", "HELP", "OPTS", "MLSD", "RETR",
        ]),
        arg in "[ -~\u{80}-\u{10ffff}]{0,80}",
    ) {
        let _ = parse(&format!("{verb} {arg}"));
    }

    #[test]
    fn telnet_stripping_never_panics_or_grows(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let out = strip_telnet(&bytes);
        prop_assert!(out.len() <= bytes.len());
    }

    #[test]
    fn resolved_paths_are_absolute_and_clean(
        cwd_parts in prop::collection::vec("[a-z.]{0,3}", 0..4),
        arg in "[a-z./]{0,40}",
    ) {
        let cwd = resolve("/", &cwd_parts.join("/"));
        let path = resolve(&cwd, &arg);
        prop_assert!(path.starts_with('/'));
        prop_assert!(!path.contains("//"));
        prop_assert!(path == "/" || !path.ends_with('/'));
        for segment in path.split('/').skip(1) {
            prop_assert!(segment != "." && segment != "..", "{path}");
        }
    }
}

#[cfg(unix)]
mod jail {
    use std::fs;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::path::{Path, PathBuf};

    use cap_std::fs::OpenOptions;
    use proptest::prelude::*;

    use localftp::server::jail::{Jail, Mount, resolve};

    /// A home with a file, a folder, and symlinks leading in and out; a canary outside; and a
    /// shared folder seen as `/Materi`, with a link in it that climbs above it.
    fn landscape() -> (tempfile::TempDir, Jail) {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        fs::create_dir_all(home.join("sub/deep")).unwrap();
        fs::write(home.join("file"), "in").unwrap();
        fs::create_dir(scratch.path().join("outside")).unwrap();
        fs::write(scratch.path().join("canary"), "out").unwrap();
        symlink(scratch.path().join("outside"), home.join("door")).unwrap();
        symlink(scratch.path().join("canary"), home.join("sub/to_canary")).unwrap();
        symlink(home.join("sub"), home.join("inner")).unwrap();
        symlink(scratch.path().join("missing"), home.join("dangling")).unwrap();
        symlink("../..", home.join("sub/deep/up2")).unwrap();
        let shared = scratch.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::write(shared.join("material"), "shared").unwrap();
        symlink("..", shared.join("esc")).unwrap();
        let share = Mount::new(&shared, "Materi").unwrap();
        let jail = Jail::new(&home).unwrap().with_mounts(&[share]);
        (scratch, jail)
    }

    /// What lies outside the home and the share, to compare before and after: every name
    /// below the scratch folder but those two, with its contents.
    fn outside(scratch: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut seen = Vec::new();
        let mut folders = vec![scratch.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path == scratch.join("home") || path == scratch.join("shared") {
                    continue;
                }
                if path.is_dir() {
                    folders.push(path.clone());
                    seen.push((path, Vec::new()));
                } else {
                    let bytes = fs::read(&path).unwrap_or_default();
                    seen.push((path, bytes));
                }
            }
        }
        seen.sort();
        seen
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        /// Every operation the jail offers, on every generated path: whatever succeeds, nothing
        /// outside the home is read, made, changed or removed.
        #[test]
        fn no_path_escapes_the_jail(
            cwd in prop::collection::vec(
                prop::sample::select(vec!["sub", "deep", "inner", "..", ".", "door"]), 0..3),
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "..", ".", "", "sub", "deep", "file", "door", "inner", "to_canary",
                    "dangling", "up2", "canary", "outside", "new", "home", "Materi", "esc",
                    "material", "shared",
                ]),
                0..8,
            ),
            absolute in any::<bool>(),
        ) {
            let (scratch, jail) = landscape();
            let before = outside(scratch.path());
            let cwd = resolve("/", &cwd.join("/"));
            let arg = format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"));
            let virtual_path = resolve(&cwd, &arg);
            if let Ok(mut file) = jail.open(&virtual_path, OpenOptions::new().read(true)) {
                let mut bytes = Vec::new();
                let _ = file.read_to_end(&mut bytes);
                prop_assert_ne!(&bytes, &b"out".to_vec(), "{} read the canary", virtual_path);
                let shared = virtual_path.starts_with("/Materi/");
                prop_assert!(shared || bytes != b"shared", "{} read the share's file", virtual_path);
            }
            let _ = jail.metadata(&virtual_path);
            let _ = jail.read_dir(&virtual_path);
            if let Some(permissions) = localftp::platform::permissions_from_mode(0o600) {
                let _ = jail.set_permissions(&virtual_path, permissions);
            }
            let _ = jail.open(&virtual_path, OpenOptions::new().write(true).create(true));
            let _ = jail.create_dir(&format!("{virtual_path}/new"));
            let _ = jail.rename(&virtual_path, "/moved");
            let _ = jail.rename("/file", &virtual_path);
            let _ = jail.rename("/Materi/material", &virtual_path);
            let _ = jail.remove_file(&virtual_path);
            let _ = jail.remove_dir(&virtual_path);
            prop_assert_eq!(outside(scratch.path()), before, "{} + {} -> {}", cwd, arg, virtual_path);
        }
    }
}
