//! The session tree: who is whose parent, and the limits on it.
//!
//! Naming convention (seed 000): `master_project_<p>` is the parent of `child_<p>_task_<t>`.
//! An explicit parent always wins over the name. Depth and child count are limited by
//! `sessions.max_depth` and `sessions.max_children`; the stores enforce them atomically with
//! the helpers here (the Redis script mirrors [`check_placement`]).

use super::session::Role;

const MASTER_PREFIX: &str = "master_project_";
const CHILD_PREFIX: &str = "child_";
const TASK_SEP: &str = "_task_";

/// What a name says about a session, by the naming convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedAs {
    Master { project: String },
    Child { project: String, task: String },
    Other,
}

/// Reads the naming convention. `child_<p>_task_<t>` splits at the last `_task_`, so a
/// project may itself contain underscores.
pub fn parse_name(name: &str) -> NamedAs {
    if let Some(project) = name.strip_prefix(MASTER_PREFIX)
        && !project.is_empty()
    {
        return NamedAs::Master {
            project: project.to_string(),
        };
    }
    if let Some(rest) = name.strip_prefix(CHILD_PREFIX)
        && let Some(at) = rest.rfind(TASK_SEP)
    {
        let (project, task) = (&rest[..at], &rest[at + TASK_SEP.len()..]);
        if !project.is_empty() && !task.is_empty() {
            return NamedAs::Child {
                project: project.to_string(),
                task: task.to_string(),
            };
        }
    }
    NamedAs::Other
}

/// The master of a child by name: `child_web_task_3` → `master_project_web`.
pub fn parent_by_name(name: &str) -> Option<String> {
    match parse_name(name) {
        NamedAs::Child { project, .. } => Some(format!("{MASTER_PREFIX}{project}")),
        _ => None,
    }
}

/// The name a master of `project` has by convention.
pub fn master_name(project: &str) -> String {
    format!("{MASTER_PREFIX}{project}")
}

/// Everything a registration derives from the name and the caller's explicit fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub role: Role,
    pub project: Option<String>,
    pub task: Option<String>,
    pub parent: Option<String>,
}

/// Resolves role, project, task and parent: explicit values win, the name fills the gaps.
pub fn place(
    name: &str,
    role: Option<Role>,
    project: Option<String>,
    task: Option<String>,
    parent: Option<String>,
) -> Result<Placement, String> {
    let named = parse_name(name);
    let (named_role, named_project, named_task) = match &named {
        NamedAs::Master { project } => (Some(Role::Master), Some(project.clone()), None),
        NamedAs::Child { project, task } => {
            (Some(Role::Child), Some(project.clone()), Some(task.clone()))
        }
        NamedAs::Other => (None, None, None),
    };
    let parent = parent.or_else(|| parent_by_name(name));
    if parent.as_deref() == Some(name) {
        return Err(format!(
            "session {name} cannot be its own parent; name another session (or none)"
        ));
    }
    let role = role.or(named_role).unwrap_or(if parent.is_some() {
        Role::Child
    } else {
        Role::Agent
    });
    Ok(Placement {
        role,
        project: project.or(named_project),
        task: task.or(named_task),
        parent,
    })
}

/// Why a session cannot be placed under a parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementRefusal {
    /// The parent already has `max_children` live children.
    ChildLimit {
        parent: String,
        live_children: usize,
        max: usize,
    },
    /// The new depth would exceed `max_depth`.
    DepthLimit {
        parent: String,
        depth: u32,
        max: usize,
    },
    /// The session has live children of its own, so its parent cannot change (that could
    /// make a cycle or push its children past the depth limit).
    HasChildren { live_children: usize },
}

impl PlacementRefusal {
    /// The message a model reads.
    pub fn message(&self, name: &str) -> String {
        match self {
            PlacementRefusal::ChildLimit {
                parent,
                live_children,
                max,
            } => format!(
                "{parent} already has {live_children} live children (the limit, sessions.max_children, is {max}); \
                 end a finished child (end_session from it) or wait for one to be reaped, then register {name} again"
            ),
            PlacementRefusal::DepthLimit { parent, depth, max } => format!(
                "{name} under {parent} would be at depth {depth}, past the limit sessions.max_depth = {max} \
                 (1 = masters with children; children do not spawn children); \
                 register it under a master instead, or without a parent"
            ),
            PlacementRefusal::HasChildren { live_children } => format!(
                "{name} has {live_children} live children, so its parent cannot change now; \
                 register it again with its current parent (or none), or end its children first"
            ),
        }
    }

    pub fn code(&self) -> &'static str {
        "limit"
    }
}

/// The checks a store runs atomically when a session takes (or changes) its parent.
/// `parent_depth` is `None` when the parent is not registered (it counts as a root).
pub fn check_placement(
    parent: &str,
    parent_depth: Option<u32>,
    parent_live_children: usize,
    parent_changes: bool,
    own_live_children: usize,
    max_children: usize,
    max_depth: usize,
) -> Result<u32, PlacementRefusal> {
    let depth = parent_depth.unwrap_or(0) + 1;
    if parent_changes && own_live_children > 0 {
        return Err(PlacementRefusal::HasChildren {
            live_children: own_live_children,
        });
    }
    if depth as usize > max_depth {
        return Err(PlacementRefusal::DepthLimit {
            parent: parent.to_string(),
            depth,
            max: max_depth,
        });
    }
    if parent_live_children >= max_children {
        return Err(PlacementRefusal::ChildLimit {
            parent: parent.to_string(),
            live_children: parent_live_children,
            max: max_children,
        });
    }
    Ok(depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_convention() {
        assert_eq!(
            parse_name("master_project_web"),
            NamedAs::Master {
                project: "web".into()
            }
        );
        assert_eq!(
            parse_name("child_my_app_task_3"),
            NamedAs::Child {
                project: "my_app".into(),
                task: "3".into()
            }
        );
        assert_eq!(parse_name("child__task_3"), NamedAs::Other);
        assert_eq!(parse_name("child_web_task_"), NamedAs::Other);
        assert_eq!(parse_name("master_project_"), NamedAs::Other);
        assert_eq!(parse_name("agent-1a2b3c4d"), NamedAs::Other);
        assert_eq!(
            parent_by_name("child_web_task_3").as_deref(),
            Some("master_project_web")
        );
        assert_eq!(parent_by_name("master_project_web"), None);
    }

    #[test]
    fn explicit_parent_overrides_the_name() {
        let p = place("child_web_task_3", None, None, None, None).unwrap();
        assert_eq!(p.parent.as_deref(), Some("master_project_web"));
        assert_eq!(p.role, Role::Child);
        assert_eq!(p.project.as_deref(), Some("web"));
        assert_eq!(p.task.as_deref(), Some("3"));
        let p = place("child_web_task_3", None, None, None, Some("lead".into())).unwrap();
        assert_eq!(p.parent.as_deref(), Some("lead"));
        let p = place("helper", None, None, None, Some("lead".into())).unwrap();
        assert_eq!(p.role, Role::Child);
        let p = place("solo", None, None, None, None).unwrap();
        assert_eq!((p.role, p.parent), (Role::Agent, None));
        assert!(place("x", None, None, None, Some("x".into())).is_err());
        let p = place("master_project_web", Some(Role::Agent), None, None, None).unwrap();
        assert_eq!(p.role, Role::Agent, "an explicit role wins");
    }

    #[test]
    fn limits() {
        assert_eq!(check_placement("m", None, 0, true, 0, 8, 1), Ok(1));
        assert_eq!(check_placement("m", Some(0), 7, true, 0, 8, 1), Ok(1));
        assert!(matches!(
            check_placement("m", Some(0), 8, true, 0, 8, 1),
            Err(PlacementRefusal::ChildLimit { .. })
        ));
        assert!(matches!(
            check_placement("c", Some(1), 0, true, 0, 8, 1),
            Err(PlacementRefusal::DepthLimit { depth: 2, .. })
        ));
        assert_eq!(check_placement("c", Some(1), 0, true, 0, 8, 2), Ok(2));
        assert!(matches!(
            check_placement("m", Some(0), 0, true, 2, 8, 3),
            Err(PlacementRefusal::HasChildren { live_children: 2 })
        ));
        assert_eq!(check_placement("m", Some(0), 0, false, 2, 8, 3), Ok(1));
    }
}
