//! `admin_kill_session`: an admin kills any child's tmux session, whoever its parent, through
//! the parent's own path (`kill_session_unaudited`: the pane killed, its coordination
//! session ended), with a lock-delay on the locks it held.

use super::{Admin, AdminKillSessionArgs};
use crate::service::tmux::{KillSessionArgs, KilledSession};
use crate::service::{Coordinator, ServiceError};

impl Coordinator {
    pub async fn admin_kill_session(
        &self,
        admin: &Admin,
        args: AdminKillSessionArgs,
    ) -> Result<KilledSession, ServiceError> {
        if let Err(e) = admin.check_target(&args.session) {
            return self.audit_admin(admin, "admin_kill_session", &args.session, None, Err(e));
        }
        let delay_ms = self.lock_delay_ms();
        let kill = KillSessionArgs {
            session: args.session.clone(),
        };
        let result = self
            .kill_session_unaudited(
                admin.caller(),
                &kill,
                Some(("killed by an admin (admin_kill_session)", delay_ms)),
            )
            .await;
        self.audit_admin(admin, "admin_kill_session", &args.session, None, result)
    }
}
