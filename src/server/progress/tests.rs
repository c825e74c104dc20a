//! The tests of [`super`]: the seed's flow, fed step by step, ticks the checklist.

use super::*;

fn feed(progress: &Progress, id: u64, steps: &[(&str, u16)]) {
    for (line, code) in steps {
        if !line.is_empty() {
            progress.step(id, Step::Command(line.to_string()));
        }
        progress.step(id, Step::Reply(*code, format!("{code} ...")));
    }
}

#[test]
fn the_seeds_flow_ticks_every_stage() {
    let progress = Progress::new(["alice", "budi"]);
    let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    progress.opened(1, peer);
    feed(
        &progress,
        1,
        &[("", 220), ("USER alice", 331), ("PASS ****", 530)],
    );
    progress.opened(2, peer);
    #[rustfmt::skip]
    feed(&progress, 2, &[
        ("", 220), ("USER alice", 331), ("PASS ****", 230), ("PWD", 257),
        ("PASV", 227), ("LIST", 150), ("", 226), ("RETR baca_saya.txt", 150), ("", 226),
    ]);
    progress.step(
        2,
        Step::Data(DataEvent::Done {
            bytes: 139,
            received: false,
        }),
    );
    let alice = &progress.rows()[0];
    assert_eq!(alice.connected, 1);
    assert_eq!(alice.bytes, 139);
    for stage in [
        Stage::Greeting,
        Stage::WrongPassword,
        Stage::Login,
        Stage::Pwd,
    ] {
        assert!(alice.done(stage), "{stage:?}");
    }
    // Not yet: the STOR below comes as a 150 then a 226, and the 226 answers the same command.
    assert!(!alice.done(Stage::Stor));
    feed(&progress, 2, &[("CWD Folder_Tes", 250), ("CWD nope", 550)]);
    feed(&progress, 2, &[("STOR x", 150), ("", 226)]);
    let alice = &progress.rows()[0];
    assert!(
        Stage::ALL.iter().all(|stage| alice.done(*stage)),
        "{alice:?}"
    );
    assert_eq!(alice.last_command.as_ref().unwrap().0, "STOR");
    progress.closed(2);
    assert_eq!(progress.rows()[0].connected, 0);
    assert!(!progress.session(2).unwrap().live);
    // budi did nothing.
    assert!(Stage::ALL.iter().all(|s| !progress.rows()[1].done(*s)));
}

#[test]
fn a_wrong_password_for_a_name_nobody_has_makes_no_row() {
    let progress = Progress::new(["alice"]);
    progress.opened(1, "127.0.0.1:5000".parse().unwrap());
    feed(
        &progress,
        1,
        &[("", 220), ("USER mallory", 331), ("PASS ****", 530)],
    );
    assert_eq!(progress.rows().len(), 1);
}
