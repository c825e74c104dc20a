//! The seed's flow as a raw-socket transcript.

use crate::support::TestServer;

#[test]
fn seed_flow() {
    let server = TestServer::start();
    let mut c = server.connect();
    c.cmd("USER user", 331);
    c.cmd("PASS 12345", 230);
    let pwd = c.cmd("PWD", 257);
    assert!(pwd.text().starts_with("\"/\""), "{pwd:?}");
    let listing = c.list("LIST");
    assert!(listing.contains("baca_saya.txt"), "{listing}");
    assert!(listing.contains("Folder_Tes"), "{listing}");
    c.cmd("TYPE I", 200);
    let text = c.download("RETR baca_saya.txt");
    assert_eq!(text, std::fs::read(server.path("baca_saya.txt")).unwrap());
    c.upload("STOR notes.txt", b"abc\n");
    assert_eq!(std::fs::read(server.path("notes.txt")).unwrap(), b"abc\n");
    c.cmd("CWD Folder_Tes", 250);
    c.cmd("CWD nope", 550);
    c.cmd("QUIT", 221);
}
