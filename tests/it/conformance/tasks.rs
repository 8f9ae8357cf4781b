//! Task behaviours (issue 17), run against Redis and the embedded store alike: creation all
//! or nothing, claim order, readiness through `done`, who may update, subtasks, notes, and
//! concurrent claims.

use std::sync::Arc;

use mcp_coord::domain::tasks::{TaskSpec, TaskStatus};
use mcp_coord::store::Store;
use mcp_coord::store::tasks::{
    ClaimOutcome, ClaimRequest, CreateOutcome, CreateRefusal, CreateTasks, UpdateOutcome,
    UpdateTask,
};
use serde_json::{Value, json};

fn specs(v: Value) -> Vec<TaskSpec> {
    serde_json::from_value(v).expect("task specs")
}

fn batch(project: &str, by: &str, tasks: Vec<TaskSpec>, max: usize) -> CreateTasks {
    CreateTasks {
        project: project.into(),
        batch: "b1".into(),
        created_by: by.into(),
        tasks,
        max_per_project: max,
    }
}

async fn create(store: &Arc<dyn Store>, project: &str, v: Value) -> CreateOutcome {
    store
        .create_tasks(&batch(project, "master", specs(v), 100))
        .await
        .unwrap()
}

async fn claim(store: &Arc<dyn Store>, who: &str, role: Option<&str>) -> Option<String> {
    let req = ClaimRequest {
        project: "p".into(),
        session: who.into(),
        role: role.map(str::to_string),
        task_id: None,
        locks: vec![],
    };
    match store.claim_task(&req).await.unwrap() {
        ClaimOutcome::Claimed(c) => {
            assert_eq!(c.task.state.status, TaskStatus::InProgress);
            assert_eq!(c.task.state.assignee.as_deref(), Some(who));
            Some(c.task.spec.id)
        }
        ClaimOutcome::NothingReady => None,
        other => panic!("unexpected {other:?}"),
    }
}

fn update(id: &str, who: &str, status: Option<TaskStatus>) -> UpdateTask {
    let (task, sub) = match id.split_once('.') {
        Some((t, s)) => (t.to_string(), Some(s.to_string())),
        None => (id.to_string(), None),
    };
    UpdateTask {
        project: "p".into(),
        task_id: task,
        subtask: sub,
        session: who.into(),
        status,
        progress: None,
        note: None,
        notes_kept: 3,
    }
}

async fn set(store: &Arc<dyn Store>, id: &str, who: &str, s: TaskStatus) -> UpdateOutcome {
    store.update_task(&update(id, who, Some(s))).await.unwrap()
}

fn unblocked(out: &UpdateOutcome) -> Vec<String> {
    match out {
        UpdateOutcome::Updated { unblocked, .. } => unblocked.clone(),
        other => panic!("expected an update, got {other:?}"),
    }
}

pub async fn claims_follow_priority_and_done_unblocks_dependents(store: Arc<dyn Store>) {
    let out = create(
        &store,
        "p",
        json!([
            {"id": 1, "title": "low", "priority": "low"},
            {"id": 2, "title": "high", "priority": "high"},
            {"id": 3, "title": "after 2", "dependencies": [2]},
            {"id": 4, "title": "after 1", "priority": "high", "dependencies": [1]},
            {"id": 5, "title": "medium"}
        ]),
    )
    .await;
    let CreateOutcome::Created(made) = out else {
        panic!("{out:?}")
    };
    assert_eq!(made.len(), 5);
    assert_eq!(made[0].state.dependents, vec!["4"]);
    assert_eq!(made[1].state.dependents, vec!["3"]);
    assert_eq!(claim(&store, "a", None).await.as_deref(), Some("2"));
    assert_eq!(claim(&store, "b", None).await.as_deref(), Some("5"));
    assert_eq!(claim(&store, "c", None).await.as_deref(), Some("1"));
    assert_eq!(claim(&store, "d", None).await, None, "3 and 4 wait");
    assert_eq!(
        unblocked(&set(&store, "2", "a", TaskStatus::Done).await),
        vec!["3"]
    );
    assert_eq!(
        unblocked(&set(&store, "1", "c", TaskStatus::Done).await),
        vec!["4"]
    );
    assert_eq!(
        claim(&store, "d", None).await.as_deref(),
        Some("4"),
        "high first"
    );
    assert_eq!(claim(&store, "d", None).await.as_deref(), Some("3"));
    // Leaving `done` blocks the dependents again.
    assert_eq!(set(&store, "3", "d", TaskStatus::Pending).await, {
        let t = store.get_task("p", "3").await.unwrap().unwrap();
        UpdateOutcome::Updated {
            task: Box::new(t),
            previous: TaskStatus::InProgress,
            unblocked: vec![],
        }
    });
    set(&store, "2", "master", TaskStatus::Review).await;
    assert_eq!(claim(&store, "e", None).await, None, "3 waits on 2 again");
    let all = store.list_tasks("p").await.unwrap();
    let ids: Vec<&str> = all.iter().map(|t| t.spec.id.as_str()).collect();
    assert_eq!(ids, vec!["2", "4", "3", "5", "1"], "claim order");
    assert_eq!(store.task_projects().await.unwrap(), vec!["p"]);
}

pub async fn creation_is_all_or_nothing(store: Arc<dyn Store>) {
    assert!(matches!(
        create(&store, "p", json!([{"id": 1, "title": "one"}])).await,
        CreateOutcome::Created(_)
    ));
    let dup = create(
        &store,
        "p",
        json!([{"id": 2, "title": "two"}, {"id": 1, "title": "again"}]),
    )
    .await;
    assert_eq!(
        dup,
        CreateOutcome::Refused(CreateRefusal::DuplicateId { id: "1".into() })
    );
    let unknown = create(
        &store,
        "p",
        json!([{"id": 2, "title": "two", "dependencies": [1, 9]}]),
    )
    .await;
    assert_eq!(
        unknown,
        CreateOutcome::Refused(CreateRefusal::UnknownDependency {
            task: "2".into(),
            dependency: "9".into()
        })
    );
    let full = store
        .create_tasks(&batch(
            "p",
            "master",
            specs(json!([{"id": 2, "title": "two"}, {"id": 3, "title": "three"}])),
            2,
        ))
        .await
        .unwrap();
    assert_eq!(
        full,
        CreateOutcome::Refused(CreateRefusal::ProjectFull {
            existing: 1,
            limit: 2
        })
    );
    assert_eq!(
        store.list_tasks("p").await.unwrap().len(),
        1,
        "nothing written"
    );
    // A later batch may depend on an earlier one; the earlier task learns its dependent.
    assert!(matches!(
        create(
            &store,
            "p",
            json!([{"id": 2, "title": "two", "dependencies": [1]}])
        )
        .await,
        CreateOutcome::Created(_)
    ));
    let one = store.get_task("p", "1").await.unwrap().unwrap();
    assert_eq!(one.state.dependents, vec!["2"]);
    assert_eq!(one.state.seq, 1);
    assert_eq!(
        store.get_task("p", "2").await.unwrap().unwrap().state.seq,
        2
    );
    assert!(store.get_task("p", "9").await.unwrap().is_none());
    assert!(store.get_task("other", "1").await.unwrap().is_none());
    assert!(store.list_tasks("other").await.unwrap().is_empty());
    // Tasks created done count as done for their dependents (an import).
    create(
        &store,
        "q",
        json!([{"id": 1, "title": "old", "status": "done"}, {"id": 2, "title": "new", "dependencies": [1]}]),
    )
    .await;
    let req = ClaimRequest {
        project: "q".into(),
        session: "a".into(),
        role: None,
        task_id: None,
        locks: vec![],
    };
    let ClaimOutcome::Claimed(c) = store.claim_task(&req).await.unwrap() else {
        panic!("2 is ready")
    };
    assert_eq!(c.task.spec.id, "2");
}

pub async fn roles_and_named_claims(store: Arc<dyn Store>) {
    create(
        &store,
        "p",
        json!([
            {"id": "t", "title": "test it", "role": "tester", "priority": "high"},
            {"id": "g", "title": "anyone"},
            {"id": "w", "title": "waits", "dependencies": ["g"]}
        ]),
    )
    .await;
    assert_eq!(
        claim(&store, "x", Some("writer")).await.as_deref(),
        Some("g")
    );
    assert_eq!(
        claim(&store, "x", Some("writer")).await,
        None,
        "t is for testers"
    );
    let named = |id: &str| ClaimRequest {
        project: "p".into(),
        session: "child".into(),
        role: None,
        task_id: Some(id.into()),
        locks: vec![],
    };
    assert_eq!(
        store.claim_task(&named("nope")).await.unwrap(),
        ClaimOutcome::NotFound
    );
    match store.claim_task(&named("w")).await.unwrap() {
        ClaimOutcome::NotReady { waiting_on } => {
            assert_eq!(waiting_on.len(), 1);
            assert_eq!(waiting_on[0].id, "g");
            assert_eq!(waiting_on[0].status, TaskStatus::InProgress);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.claim_task(&named("g")).await.unwrap(),
        ClaimOutcome::NotPending {
            status: TaskStatus::InProgress,
            assignee: Some("x".into())
        }
    );
    let ClaimOutcome::Claimed(c) = store.claim_task(&named("t")).await.unwrap() else {
        panic!("t is ready")
    };
    assert_eq!(c.task.state.assignee.as_deref(), Some("child"));
    assert_eq!(claim(&store, "y", None).await, None);
}

pub async fn who_may_update_and_what_an_update_keeps(store: Arc<dyn Store>) {
    create(
        &store,
        "p",
        json!([
            {"id": 1, "title": "one", "subtasks": [{"id": 1, "title": "a"}, {"id": 2, "title": "b", "dependencies": [1]}]},
            {"id": 2, "title": "two", "dependencies": [1]}
        ]),
    )
    .await;
    // Starting, handing in or finishing it needs its dependency done; other moves do not.
    for status in [TaskStatus::InProgress, TaskStatus::Review, TaskStatus::Done] {
        assert_eq!(
            set(&store, "2", "x", status).await,
            UpdateOutcome::WaitingOn(vec![mcp_coord::store::tasks::Waiting {
                id: "1".into(),
                status: TaskStatus::Pending
            }]),
            "{status:?} before its dependency is done"
        );
    }
    for status in [TaskStatus::Deferred, TaskStatus::Pending] {
        assert!(
            matches!(
                set(&store, "2", "x", status).await,
                UpdateOutcome::Updated { .. }
            ),
            "{status:?} needs nothing done"
        );
    }
    // Anyone may start an unassigned task: it becomes theirs.
    let UpdateOutcome::Updated { task, previous, .. } =
        set(&store, "1", "x", TaskStatus::InProgress).await
    else {
        panic!()
    };
    assert_eq!(previous, TaskStatus::Pending);
    assert_eq!(task.state.assignee.as_deref(), Some("x"));
    assert!(task.state.claimed_at_ms.is_some());
    assert_eq!(
        set(&store, "1", "y", TaskStatus::Done).await,
        UpdateOutcome::NotYours {
            assignee: "x".into()
        }
    );
    assert_eq!(
        store
            .update_task(&update("9", "x", Some(TaskStatus::Done)))
            .await
            .unwrap(),
        UpdateOutcome::NotFound
    );
    assert_eq!(
        set(&store, "1.7", "x", TaskStatus::Done).await,
        UpdateOutcome::NoSubtask
    );
    let UpdateOutcome::Updated { task, previous, .. } =
        set(&store, "1.2", "x", TaskStatus::Done).await
    else {
        panic!()
    };
    assert_eq!(previous, TaskStatus::Pending);
    assert_eq!(task.state.subtasks.get("2"), Some(&TaskStatus::Done));
    assert_eq!(
        task.state.status,
        TaskStatus::InProgress,
        "the task itself is unchanged"
    );
    // Progress and notes; only the newest `notes_kept` notes stay.
    for i in 0..5 {
        let mut u = update("1", "x", None);
        u.progress = Some(20 * i);
        u.note = Some(format!("step {i}"));
        store.update_task(&u).await.unwrap();
    }
    let t = store.get_task("p", "1").await.unwrap().unwrap();
    assert_eq!(t.state.progress, Some(80));
    let notes: Vec<&str> = t.state.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(notes, vec!["step 2", "step 3", "step 4"]);
    assert_eq!(t.state.notes[0].by, "x");
    // The creator may act on an assigned task; pending hands it back.
    let UpdateOutcome::Updated { task, .. } = set(&store, "1", "master", TaskStatus::Pending).await
    else {
        panic!()
    };
    assert_eq!(task.state.assignee, None);
    assert_eq!(task.state.progress, None);
    assert_eq!(claim(&store, "z", None).await.as_deref(), Some("1"));
    // Failed keeps its dependents blocked; done frees them.
    assert!(unblocked(&set(&store, "1", "z", TaskStatus::Failed).await).is_empty());
    assert_eq!(claim(&store, "z", None).await, None);
    assert_eq!(
        unblocked(&set(&store, "1", "z", TaskStatus::Done).await),
        vec!["2"]
    );
    // The spec is kept exactly as written.
    let t = store.get_task("p", "1").await.unwrap().unwrap();
    assert_eq!(t.spec.subtasks.len(), 2);
    assert_eq!(t.spec.subtasks[1].dependencies, vec!["1"]);
}

pub async fn concurrent_claims_never_share_a_task(store: Arc<dyn Store>) {
    let tasks: Vec<Value> = (0..40)
        .map(|i| json!({"id": i, "title": format!("t{i}"), "metadata": {"tags": [], "n": i}}))
        .collect();
    create(&store, "p", Value::Array(tasks)).await;
    let mut handles = Vec::new();
    for c in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(id) = claim(&store, &format!("c{c}"), None).await {
                got.push(id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    let mut unique = all.clone();
    unique.dedup();
    assert_eq!(all.len(), 40);
    assert_eq!(unique.len(), 40, "a task was claimed twice");
    let t = store.get_task("p", "3").await.unwrap().unwrap();
    assert_eq!(
        t.spec.metadata["tags"],
        json!([]),
        "metadata survives as written"
    );
}

/// A claim that names locks gets all of them with the task, or nothing at all: the same
/// decision as acquire (a live holder, a related lock, refuse), in the same atomic step.
pub async fn claims_take_their_locks_all_or_nothing(store: Arc<dyn Store>) {
    use mcp_coord::store::locks::{AcquireOutcome, RefusalKind};
    let held = crate::conformance::locks::req("path:src/auth/login.rs", "holder");
    assert!(matches!(
        store.acquire(&held).await.unwrap(),
        AcquireOutcome::Granted(_)
    ));
    create(
        &store,
        "p",
        json!([{"id": 1, "title": "auth"}, {"id": 2, "title": "docs"}]),
    )
    .await;
    let with = |who: &str, names: &[&str]| ClaimRequest {
        project: "p".into(),
        session: who.into(),
        role: None,
        task_id: None,
        locks: names
            .iter()
            .map(|n| crate::conformance::locks::req(n, who))
            .collect(),
    };
    // path:src/auth is an ancestor of the held lock: refused, and resource:db not taken.
    match store
        .claim_task(&with("c1", &["resource:db", "path:src/auth"]))
        .await
        .unwrap()
    {
        ClaimOutcome::LocksRefused { lock, refusal } => {
            assert_eq!(lock, "path:src/auth");
            assert_eq!(refusal.refusal, RefusalKind::Related);
            assert_eq!(
                refusal.related_lock.as_deref(),
                Some("path:src/auth/login.rs")
            );
        }
        other => panic!("{other:?}"),
    }
    let db = crate::conformance::locks::req("resource:db", "c2");
    let AcquireOutcome::Granted(g) = store.acquire(&db).await.unwrap() else {
        panic!("resource:db must still be free")
    };
    store.release(&g.lock.name, "c2", db.tiers).await.unwrap();
    assert_eq!(
        store
            .get_task("p", "1")
            .await
            .unwrap()
            .unwrap()
            .state
            .status,
        TaskStatus::Pending,
        "nothing claimed"
    );
    // Free locks come with the task, recorded on it.
    let ClaimOutcome::Claimed(c) = store
        .claim_task(&with("c1", &["resource:db", "path:docs"]))
        .await
        .unwrap()
    else {
        panic!("claimed with its locks")
    };
    assert_eq!(c.task.spec.id, "1");
    assert_eq!(c.task.state.locks, vec!["resource:db", "path:docs"]);
    assert_eq!(c.grants.len(), 2);
    assert!(
        c.grants
            .iter()
            .all(|g| g.lock.holder == "c1" && !g.reentrant)
    );
    let again = crate::conformance::locks::req("resource:db", "c2");
    assert!(matches!(
        store.acquire(&again).await.unwrap(),
        AcquireOutcome::Refused(_)
    ));
    // A lock the claimer holds already is re-entered (token kept).
    let ClaimOutcome::Claimed(c2) = store
        .claim_task(&with("c1", &["resource:db"]))
        .await
        .unwrap()
    else {
        panic!("re-entrant")
    };
    assert!(c2.grants[0].reentrant);
    assert_eq!(c2.grants[0].lock.token, c.grants[0].lock.token);
}

/// A session that ends hands back what it works on (in-progress and blocked), with a note
/// naming why; its other tasks (done, in review) stay as they are; a second hand-back
/// finds nothing.
pub async fn an_ended_sessions_tasks_go_back_to_pending(store: Arc<dyn Store>) {
    use mcp_coord::store::tasks::HandBack;
    create(
        &store,
        "p",
        json!([
            {"id": 1, "title": "one", "priority": "high"},
            {"id": 2, "title": "two", "priority": "medium"},
            {"id": 3, "title": "three", "priority": "low"},
            {"id": 4, "title": "four", "priority": "low"}
        ]),
    )
    .await;
    for _ in 0..4 {
        claim(&store, "x", None).await.unwrap();
    }
    set(&store, "2", "x", TaskStatus::Blocked).await;
    set(&store, "3", "x", TaskStatus::Done).await;
    set(&store, "4", "x", TaskStatus::Review).await;
    let req = HandBack {
        session: "x".into(),
        by: "mcp-coord".into(),
        text: "handed back: x ended".into(),
        notes_kept: 3,
    };
    let back = store.release_tasks_of(&req).await.unwrap();
    let ids: Vec<(&str, &str)> = back
        .iter()
        .map(|(p, t)| (p.as_str(), t.spec.id.as_str()))
        .collect();
    assert_eq!(ids, vec![("p", "1"), ("p", "2")]);
    for id in ["1", "2"] {
        let t = store.get_task("p", id).await.unwrap().unwrap();
        assert_eq!(t.state.status, TaskStatus::Pending, "task {id}");
        assert_eq!(t.state.assignee, None);
        assert_eq!(t.state.claimed_at_ms, None);
        let note = t.state.notes.last().expect("a note");
        assert_eq!(
            (note.by.as_str(), note.text.as_str()),
            ("mcp-coord", "handed back: x ended")
        );
    }
    let done = store.get_task("p", "3").await.unwrap().unwrap();
    assert_eq!(done.state.status, TaskStatus::Done);
    let review = store.get_task("p", "4").await.unwrap().unwrap();
    assert_eq!(review.state.status, TaskStatus::Review);
    assert_eq!(review.state.assignee.as_deref(), Some("x"));
    assert!(store.release_tasks_of(&req).await.unwrap().is_empty());
    // Handed back, they are claimable again.
    assert_eq!(claim(&store, "y", None).await.as_deref(), Some("1"));
}

crate::conformance!(
    an_ended_sessions_tasks_go_back_to_pending,
    claims_follow_priority_and_done_unblocks_dependents,
    creation_is_all_or_nothing,
    roles_and_named_claims,
    who_may_update_and_what_an_update_keeps,
    concurrent_claims_never_share_a_task,
    claims_take_their_locks_all_or_nothing,
);
