//! What a command handler asks the session loop to do ([`Outcome`]), and how a handler's
//! `Result` becomes one: a refusal is a reply too.

use crate::reply::Reply;
use crate::server::transfer::Running;

/// What a command handler asks the session loop to do.
pub enum Outcome {
    /// Send this reply and read the next command.
    Reply(Reply),
    /// A transfer was started; its helper thread sends the replies.
    Transfer(Running),
    /// Send this reply and close the connection.
    Close(Reply),
    /// Send this reply (234), then run the TLS handshake on the control connection.
    StartTls(Reply),
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

/// A handler that can be refused returns `Result<Reply, Reply>` or `Result<Outcome, Reply>`
/// (see `commands`), and both sides are sent. RFC 959 gives every command exactly one reply, a
/// refusal included: `Err` does not mean "no answer" but "the command did not do its work", so
/// a handler can stop at the first refusal with `?` and still answer the client.
impl From<Result<Reply, Reply>> for Outcome {
    fn from(result: Result<Reply, Reply>) -> Outcome {
        Outcome::Reply(result.unwrap_or_else(|refusal| refusal))
    }
}

/// As above, for handlers whose success is more than a reply: a transfer, TLS, or closing.
impl From<Result<Outcome, Reply>> for Outcome {
    fn from(result: Result<Outcome, Reply>) -> Outcome {
        result.unwrap_or_else(Outcome::Reply)
    }
}
