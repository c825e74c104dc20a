//! The menu's commands that need no data connection (RFC 959 §4.1.1 access control and
//! §4.1.3 service commands): where am I, change folder, make, rename and delete, and any raw
//! line. Each is one command and its reply (two for a rename), narrated by [`super::wire`].

use super::error::ClientError;
use super::wire;
use super::{Client, quoted_path};

/// Commands that move bytes over a data connection: the menu's transfers, not raw commands.
const DATA_VERBS: [&str; 7] = ["LIST", "NLST", "MLSD", "RETR", "STOR", "APPE", "STOU"];

impl Client {
    /// PWD: where am I? The answer is a path inside the user's home, never the server's disk.
    pub fn pwd(&mut self) -> Result<(), ClientError> {
        self.narrator()
            .stage("PWD: which folder am I in? (RFC 959 §4.1.3)");
        let reply = self.wire.require("PWD", |code| code == 257)?;
        let path = quoted_path(reply.text()).unwrap_or_else(|| reply.text().to_string());
        self.narrator().note(&format!(
            "you are in {path}: paths start at your home folder on the server, not at the \
             root of its disk (a chroot jail)"
        ));
        Ok(())
    }

    /// CWD: change folder. The server checks the folder exists and that you may enter it.
    pub fn cd(&mut self, folder: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("CWD: go into {folder} (RFC 959 §4.1.1)"));
        self.wire
            .require(&format!("CWD {folder}"), |code| code / 100 == 2)?;
        Ok(())
    }

    /// CDUP: go to the parent folder (never above the home: the server refuses that).
    pub fn up(&mut self) -> Result<(), ClientError> {
        self.narrator()
            .stage("CDUP: go up one folder (RFC 959 §4.1.1)");
        self.wire.require("CDUP", |code| code / 100 == 2)?;
        Ok(())
    }

    /// MKD: make a folder; the 257 reply quotes the path it created.
    pub fn mkdir(&mut self, folder: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("MKD: make the folder {folder} (RFC 959 §4.1.3)"));
        self.wire
            .require(&format!("MKD {folder}"), |code| code == 257)?;
        Ok(())
    }

    /// RNFR then RNTO: a rename takes two commands, and the 350 in between.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), ClientError> {
        self.narrator().stage(&format!(
            "RNFR + RNTO: rename {from} to {to} (RFC 959 §4.1.3)"
        ));
        self.wire
            .require(&format!("RNFR {from}"), |code| code == 350)?;
        self.narrator()
            .note("RNFR only remembers the old name; RNTO must be the very next command");
        self.wire
            .require(&format!("RNTO {to}"), |code| code / 100 == 2)?;
        Ok(())
    }

    /// DELE: delete a file.
    pub fn delete(&mut self, file: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("DELE: delete the file {file} (RFC 959 §4.1.3)"));
        self.wire
            .require(&format!("DELE {file}"), |code| code / 100 == 2)?;
        Ok(())
    }

    /// RMD: delete a folder (most servers want it empty).
    pub fn rmdir(&mut self, folder: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage(&format!("RMD: delete the folder {folder} (RFC 959 §4.1.3)"));
        self.wire
            .require(&format!("RMD {folder}"), |code| code / 100 == 2)?;
        Ok(())
    }

    /// Send any command line and show every reply it causes (a 1yz is followed by another).
    pub fn raw(&mut self, line: &str) -> Result<(), ClientError> {
        self.narrator()
            .stage("A raw command: sent exactly as typed");
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        if DATA_VERBS.contains(&verb.as_str()) {
            // The server would wait for a data connection that nobody opens, then answer 425.
            return Err(ClientError::Usage(format!(
                "{verb} needs a data connection, which a raw command does not open; use the \
                 menu's LIST, RETR or STOR (ls, get, put), which show every step"
            )));
        }
        if matches!(verb.as_str(), "AUTH" | "CCC") {
            // After its 2yz the connection would change under the client's feet.
            return Err(ClientError::Usage(format!(
                "{verb} starts or ends TLS, which a raw command cannot follow; start the \
                 client with --tls for FTPS"
            )));
        }
        let mut reply = self.wire.command(line)?;
        while reply.is_preliminary() {
            reply = self
                .wire
                .read_reply("the reply that follows the 1yz reply")?;
        }
        match (verb.as_str(), reply.code) {
            ("QUIT", 221) => self.quit = true,
            ("PASV" | "EPSV" | "PORT" | "EPRT", _) => self.narrator().note(
                "nothing will use this data connection: the menu's transfers set up their own",
            ),
            ("TYPE", _) => self.server_type = None,
            // The data connections follow the server: PROT C makes them plain again, and REIN
            // forgets PBSZ and PROT.
            ("PROT", 200) => self
                .wire
                .set_private_data(line[4..].trim().eq_ignore_ascii_case("P")),
            ("REIN", 220) => self.wire.set_private_data(false),
            _ => {}
        }
        if reply.code >= 400 {
            return Err(wire::refusal(line, &reply));
        }
        Ok(())
    }
}
