//! The parser's tests: one command line in, the typed command (or the refusal) out.

use super::*;

#[test]
fn verbs_are_case_insensitive() {
    assert_eq!(parse("pWd"), Ok(Command::Pwd));
    assert_eq!(
        parse("cwd Folder_Tes"),
        Ok(Command::Cwd("Folder_Tes".into()))
    );
}

#[test]
fn x_forms_are_the_same_commands() {
    assert_eq!(parse("XCUP"), Ok(Command::Cdup));
    assert_eq!(parse("XMKD a"), Ok(Command::Mkd("a".into())));
    assert_eq!(parse("XRMD a"), Ok(Command::Rmd("a".into())));
    assert_eq!(parse("XCWD a"), Ok(Command::Cwd("a".into())));
}

#[test]
fn missing_arguments_are_501() {
    for line in [
        "USER", "CWD", "RETR", "STOR", "DELE", "MKD", "RMD", "RNFR", "RNTO",
    ] {
        let err = parse(line).unwrap_err();
        assert!(!err.unsupported, "{line}");
        assert!(err.message.contains("missing"), "{line}: {}", err.message);
    }
}

#[test]
fn type_mode_stru() {
    assert_eq!(parse("TYPE I"), Ok(Command::Type(TransferType::Image)));
    assert_eq!(parse("type a"), Ok(Command::Type(TransferType::Ascii)));
    assert_eq!(parse("TYPE A N"), Ok(Command::Type(TransferType::Ascii)));
    assert_eq!(parse("TYPE L 8"), Ok(Command::Type(TransferType::Image)));
    assert!(parse("TYPE E").unwrap_err().unsupported);
    assert!(!parse("TYPE X").unwrap_err().unsupported);
    assert!(!parse("TYPE").unwrap_err().unsupported);
    assert_eq!(parse("MODE S"), Ok(Command::Mode));
    assert!(parse("MODE B").unwrap_err().unsupported);
    assert_eq!(parse("STRU F"), Ok(Command::Stru));
    assert!(parse("STRU R").unwrap_err().unsupported);
}

#[test]
fn port_and_eprt() {
    assert_eq!(
        parse("PORT 127,0,0,1,195,80"),
        Ok(Command::Port("127.0.0.1:50000".parse().unwrap()))
    );
    assert!(parse("PORT 127,0,0,1,300,80").is_err());
    assert!(parse("PORT 127,0,0,1,195").is_err());
    assert_eq!(
        parse("EPRT |2|::1|6275|"),
        Ok(Command::Eprt("[::1]:6275".parse().unwrap()))
    );
    assert_eq!(
        parse("EPRT !1!10.0.0.1!21!"),
        Ok(Command::Eprt("10.0.0.1:21".parse().unwrap()))
    );
    assert!(parse("EPRT |3|x|1|").is_err());
    assert!(parse("EPRT |1|::1|1|").is_err());
    assert!(parse("EPRT |1|1.2.3.4|99999|").is_err());
    assert!(parse("EPRT").is_err());
}

#[test]
fn epsv_forms() {
    assert_eq!(parse("EPSV"), Ok(Command::Epsv(EpsvArg::Any)));
    assert_eq!(parse("EPSV all"), Ok(Command::Epsv(EpsvArg::All)));
    assert_eq!(parse("EPSV 2"), Ok(Command::Epsv(EpsvArg::Protocol(2))));
    assert!(parse("EPSV x").is_err());
}

#[test]
fn list_arguments() {
    let list = |path: Option<&str>, all| {
        Ok(Command::List(ListArgs {
            path: path.map(String::from),
            all,
        }))
    };
    assert_eq!(parse("LIST"), list(None, false));
    assert_eq!(parse("LIST -a"), list(None, true));
    assert_eq!(parse("LIST -l"), list(None, false));
    assert_eq!(parse("LIST -la /dir"), list(Some("/dir"), true));
    assert_eq!(parse("LIST -l -a my dir"), list(Some("my dir"), true));
    assert_eq!(parse("LIST my folder"), list(Some("my folder"), false));
    assert_eq!(parse("LIST -"), list(Some("-"), false));
    assert_eq!(parse("LIST -1x.txt"), list(Some("-1x.txt"), false));
}

#[test]
fn rest_needs_a_number() {
    assert_eq!(parse("REST 100"), Ok(Command::Rest(100)));
    assert!(parse("REST -1").is_err());
    assert!(parse("REST").is_err());
}

#[test]
fn site_commands() {
    assert_eq!(parse("SITE help"), Ok(Command::Site(SiteCommand::Help)));
    assert_eq!(
        parse("SITE CHMOD 755 run me.sh"),
        Ok(Command::Site(SiteCommand::Chmod {
            mode: 0o755,
            path: "run me.sh".into()
        }))
    );
    assert!(parse("SITE CHMOD 999 x").is_err());
    assert!(parse("SITE").is_err());
}

#[test]
fn unknown_verbs_are_not_errors() {
    assert_eq!(parse("FOO bar"), Ok(Command::Unknown("FOO".into())));
    assert_eq!(parse(""), Ok(Command::Unknown("".into())));
}
