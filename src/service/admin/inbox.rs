//! `admin_read_inbox`: an admin looks into any session's inbox. Always a peek: the session
//! still gets every message (an admin watching must not change what the agent sees), so
//! this reads through `read_inbox` with `peek`, never waiting.

use super::{Admin, AdminInboxArgs};
use crate::domain::session_name;
use crate::service::locks::WaitContext;
use crate::service::messages::{Inbox, ReadArgs};
use crate::service::{Caller, Coordinator, ServiceError};

impl Coordinator {
    pub async fn admin_read_inbox(
        &self,
        admin: &Admin,
        args: AdminInboxArgs,
    ) -> Result<Inbox, ServiceError> {
        let result = self.admin_inbox_unaudited(admin, &args).await;
        self.audit_admin(admin, "admin_read_inbox", &args.session, None, result)
    }

    async fn admin_inbox_unaudited(
        &self,
        admin: &Admin,
        args: &AdminInboxArgs,
    ) -> Result<Inbox, ServiceError> {
        let name = args.session.as_str();
        session_name::validate(name).map_err(ServiceError::invalid)?;
        admin.check_target(name)?;
        if self.store().get_session(name).await?.is_none() {
            return Err(ServiceError::not_found(format!(
                "no session {name} is known (never registered, or purged); list_sessions shows \
                 the sessions there are"
            )));
        }
        let owner = Caller {
            session: name.to_string(),
            ..admin.caller().clone()
        };
        let read = ReadArgs {
            limit: args.limit,
            wait_seconds: None,
            peek: true,
            kinds: args.kinds.clone(),
        };
        self.read_inbox(&owner, read, WaitContext::default()).await
    }
}
