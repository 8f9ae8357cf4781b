//! What can go wrong talking to tmux, each with the sentence a model (or a human) acts on.

#[derive(Debug, Clone, thiserror::Error)]
pub enum TmuxError {
    #[error(
        "tmux is not installed (no program {binary:?} could be started): apt-get install tmux, \
         or set tmux.binary to its path"
    )]
    NotInstalled { binary: String },

    #[error(
        "no tmux server is running on socket {socket} (nothing spawned yet, or it was killed); \
         create_session starts one"
    )]
    NoServer { socket: String },

    #[error("no tmux session {name} on socket {socket}; list_sessions shows what exists")]
    NoSession { name: String, socket: String },

    #[error("tmux session {name} already exists on socket {socket}")]
    Duplicate { name: String, socket: String },

    #[error(
        "tmux {command} did not answer within {seconds} s; the tmux server on socket {socket} \
         may be hung (tmux -L {socket} kill-server ends it and every session on it)"
    )]
    Timeout {
        command: String,
        seconds: u64,
        socket: String,
    },

    #[error("tmux {command} failed: {stderr}")]
    Failed { command: String, stderr: String },

    #[error("cannot run {binary:?}: {error}")]
    Io { binary: String, error: String },
}
