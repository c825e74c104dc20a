//! The tests of [`super`]: accounts, password checks and the users file.

use std::io;

use super::*;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn passwords_compare_exactly() {
    let user = User::new("user", "12345", Perms::default(), "data");
    assert!(user.password_matches("12345"));
    assert!(!user.password_matches("1234"));
    assert!(!user.password_matches("123456"));
    assert!(!user.password_matches(""));
    assert!(!user.password_matches("12346"));
}

#[test]
fn anonymous_takes_any_password_and_both_names() {
    let anonymous = User::anonymous("elr".parse().unwrap(), "pub");
    assert!(!anonymous.can_write());
    let users = Users::new(Vec::new(), Some(anonymous));
    let login = |name, password| users.authenticate(name, password, WAIT).unwrap();
    assert!(login("anonymous", "me@example.com").is_some());
    assert!(login("FTP", "").is_some());
    assert!(login("user", "12345").is_none());
    assert!(User::anonymous("elrw".parse().unwrap(), "pub").can_write());
}

#[test]
fn users_file_lines() {
    let hash = hash_password("pw").unwrap();
    let text = format!("# comment\n\nann:{hash}:elrw:ann\nbob:{hash}\n");
    let users = parse_users_file(&text, Path::new("/srv")).unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].home, Path::new("/srv/ann"));
    assert!(users[1].password_matches("pw"));
    assert!(!format!("{:?}", users[0]).contains("argon2"));
    let err = parse_users_file("ann:plaintext:elr", Path::new("/srv"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 1") && err.contains("not an Argon2 hash"),
        "{err}"
    );
}

#[test]
fn a_users_file_error_leads_to_its_cause() {
    use std::error::Error;
    let dir = tempfile::tempdir().unwrap();
    let missing = load_users_file(&dir.path().join("nope"), Path::new("/srv")).unwrap_err();
    let cause = missing.source().and_then(|e| e.downcast_ref::<io::Error>());
    assert_eq!(cause.map(io::Error::kind), Some(io::ErrorKind::NotFound));

    let file = dir.path().join("users");
    std::fs::write(&file, "# accounts\nann:plaintext:elr\n").unwrap();
    let error = load_users_file(&file, Path::new("/srv")).unwrap_err();
    let line = error.source().and_then(|e| e.downcast_ref::<UsersError>());
    assert!(
        matches!(line, Some(UsersError::Line { line: 2, .. })),
        "{error}"
    );
    let why = line.and_then(Error::source).map(ToString::to_string);
    assert_eq!(why, Some(UsersError::NotAHash.to_string()));
}

#[test]
fn debug_hides_the_password() {
    let user = User::new("user", "12345", Perms::default(), "data");
    assert!(!format!("{user:?}").contains("12345"));
}

#[test]
fn spec_defaults() {
    let user = User::from_spec("ann:pw", Path::new("/srv")).unwrap();
    assert_eq!(user.perms.to_string(), "elr");
    assert_eq!(user.home, Path::new("/srv"));
    let user = User::from_spec("ann:pw:elradfmw:/abs", Path::new("/srv")).unwrap();
    assert_eq!(user.home, Path::new("/abs"));
    assert!(User::from_spec(":pw", Path::new("/srv")).is_err());
    assert!(User::from_spec("ann:pw:xyz", Path::new("/srv")).is_err());
    // An empty password is allowed (some classroom setups use one).
    assert!(User::from_spec("ann:", Path::new("/srv")).is_ok());
}

#[test]
fn authenticate_needs_both() {
    let users = Users::new(
        vec![User::new("user", "12345", Perms::default(), "data")],
        None,
    );
    let login = |name, password| users.authenticate(name, password, WAIT).unwrap();
    assert!(login("user", "12345").is_some());
    assert!(login("anonymous", "x").is_none());
    assert!(login("user", "wrong").is_none());
    assert!(login("other", "12345").is_none());
}
