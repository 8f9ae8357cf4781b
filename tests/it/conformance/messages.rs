//! Inbox behaviours, run against Redis and the embedded store alike.

use std::sync::Arc;
use std::time::Duration;

use mcp_coord::domain::message::{Message, MessageKind};
use mcp_coord::domain::session::{Role, SessionRecord};
use mcp_coord::service::policy;
use mcp_coord::store::Store;
use mcp_coord::store::messages::{InboxPolicy, ReadQuery, SendOutcome, WantedReply};
use mcp_coord::store::sessions::{PutOutcome, PutSession};

/// The inbox rules every case passes (the store holds none): the defaults.
fn inbox() -> InboxPolicy {
    policy::inbox_policy(&Default::default())
}

async fn live(store: &Arc<dyn Store>, name: &str) {
    let mut r = SessionRecord::new(name, Role::Agent, 1_000);
    r.rev = 1;
    let out = store
        .put_session(PutSession {
            record: r,
            expected: None,
            expected_parent_depth: None,
            claim: None,
            policy: policy::session_policy(&Default::default()),
        })
        .await
        .unwrap();
    assert!(matches!(out, PutOutcome::Written(_)), "{out:?}");
}

fn msg(from: &str, to: &str, kind: MessageKind, body: &str) -> Message {
    Message::new(from, to, kind, body.to_string())
}

async fn send(store: &Arc<dyn Store>, m: &Message, ttl: Option<i64>) -> String {
    match store.send_message(m, ttl, &inbox()).await.unwrap() {
        SendOutcome::Sent { id, .. } => id,
        SendOutcome::NotLive => panic!("{} should be live", m.to),
    }
}

fn query(limit: usize, peek: bool) -> ReadQuery {
    ReadQuery {
        limit,
        peek,
        kinds: None,
        inbox: inbox(),
    }
}

fn bodies(ms: &[Message]) -> Vec<&str> {
    ms.iter().map(|m| m.body.as_str()).collect()
}

pub async fn send_read_and_the_cursor(store: Arc<dyn Store>) {
    live(&store, "b").await;
    let mut hints = store.inbox_events();
    let id1 = send(&store, &msg("a", "b", MessageKind::Info, "one"), None).await;
    let id2 = send(&store, &msg("a", "b", MessageKind::Task, "two"), None).await;
    assert_ne!(id1, id2);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), hints.recv())
            .await
            .expect("a wake-up")
            .unwrap(),
        "b"
    );
    // Peek leaves them unread; reads hand each out once, oldest first, limit respected.
    let peeked = store.read_messages("b", &query(10, true)).await.unwrap();
    assert_eq!(bodies(&peeked), ["one", "two"]);
    assert_eq!(peeked[0].id, id1);
    assert_eq!(peeked[0].from, "a");
    assert!(peeked[0].sent_at_ms > 0);
    let first = store.read_messages("b", &query(1, false)).await.unwrap();
    assert_eq!(bodies(&first), ["one"]);
    let rest = store.read_messages("b", &query(10, false)).await.unwrap();
    assert_eq!(bodies(&rest), ["two"]);
    assert_eq!(rest[0].kind, MessageKind::Task);
    assert!(
        store
            .read_messages("b", &query(10, false))
            .await
            .unwrap()
            .is_empty()
    );
    // Read or not, a message can still be found by id (replies name it).
    assert_eq!(
        store.find_message("b", &id1).await.unwrap().unwrap().body,
        "one"
    );
    // Nobody else's inbox holds it.
    assert!(store.find_message("a", &id1).await.unwrap().is_none());
}

pub async fn a_recipient_that_is_not_live_gets_nothing(store: Arc<dyn Store>) {
    let out = store
        .send_message(
            &msg("a", "ghost", MessageKind::Info, "hello"),
            None,
            &inbox(),
        )
        .await
        .unwrap();
    assert_eq!(out, SendOutcome::NotLive);
    live(&store, "ghost").await;
    assert!(
        store
            .read_messages("ghost", &query(10, true))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn the_inbox_cap_holds(store: Arc<dyn Store>) {
    live(&store, "b").await;
    let cap5 = InboxPolicy { cap: 5, ..inbox() };
    for i in 0..8 {
        let m = msg("a", "b", MessageKind::Info, &format!("m{i}"));
        let sent = store.send_message(&m, None, &cap5).await.unwrap();
        assert!(matches!(sent, SendOutcome::Sent { .. }), "{sent:?}");
    }
    let all = store.read_messages("b", &query(100, false)).await.unwrap();
    assert_eq!(bodies(&all), ["m3", "m4", "m5", "m6", "m7"]);
}

pub async fn expired_messages_are_skipped(store: Arc<dyn Store>) {
    live(&store, "b").await;
    send(&store, &msg("a", "b", MessageKind::Info, "short"), Some(50)).await;
    send(
        &store,
        &msg("a", "b", MessageKind::Info, "long"),
        Some(60_000),
    )
    .await;
    let fresh = store.read_messages("b", &query(10, true)).await.unwrap();
    assert_eq!(bodies(&fresh), ["short", "long"]);
    assert!(fresh[0].expires_at_ms.unwrap() > fresh[0].sent_at_ms);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let later = store.read_messages("b", &query(10, false)).await.unwrap();
    assert_eq!(bodies(&later), ["long"]);
}

pub async fn a_kind_filter_takes_only_that_kind(store: Arc<dyn Store>) {
    live(&store, "b").await;
    send(&store, &msg("a", "b", MessageKind::Info, "fyi"), None).await;
    send(&store, &msg("a", "b", MessageKind::Task, "do"), None).await;
    let tasks = store
        .read_messages(
            "b",
            &ReadQuery {
                limit: 10,
                peek: false,
                kinds: Some(vec![MessageKind::Task]),
                inbox: inbox(),
            },
        )
        .await
        .unwrap();
    assert_eq!(bodies(&tasks), ["do"]);
    // The info stays unread; the task is not handed out twice.
    let rest = store.read_messages("b", &query(10, false)).await.unwrap();
    assert_eq!(bodies(&rest), ["fyi"]);
}

pub async fn a_reply_is_taken_once(store: Arc<dyn Store>) {
    live(&store, "a").await;
    live(&store, "b").await;
    let asked = send(&store, &msg("a", "b", MessageKind::Question, "ok?"), None).await;
    let since = asked.split('-').next().unwrap().parse::<i64>().unwrap();
    let wanted = [WantedReply {
        id: asked.clone(),
        from: Some("b".into()),
    }];
    assert!(
        store
            .take_reply("a", &wanted, since)
            .await
            .unwrap()
            .is_none()
    );
    // A reply to the same id from someone else does not count.
    let mut other = msg("c", "a", MessageKind::Reply, "not me");
    other.reply_to = Some(asked.clone());
    send(&store, &other, None).await;
    assert!(
        store
            .take_reply("a", &wanted, since)
            .await
            .unwrap()
            .is_none()
    );
    let mut reply = msg("b", "a", MessageKind::Reply, "yes");
    reply.reply_to = Some(asked.clone());
    send(&store, &reply, None).await;
    let got = store
        .take_reply("a", &wanted, since)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.body, "yes");
    assert!(
        store
            .take_reply("a", &wanted, since)
            .await
            .unwrap()
            .is_none()
    );
    // Only the other one is left for the reader.
    let left = store.read_messages("a", &query(10, false)).await.unwrap();
    assert_eq!(bodies(&left), ["not me"]);
}

/// A claim takes each listed unread message once, whichever path gets there first: a
/// second claim, a read, or a concurrent claim never hands it out again; read ones, other
/// ids and expired ones are not claimed; unlisted messages stay unread.
pub async fn a_claim_delivers_each_message_once(store: Arc<dyn Store>) {
    live(&store, "b").await;
    let info = send(&store, &msg("a", "b", MessageKind::Info, "fyi"), None).await;
    let task = send(&store, &msg("a", "b", MessageKind::Task, "build"), None).await;
    let question = send(&store, &msg("a", "b", MessageKind::Question, "why"), None).await;
    let claimed = store
        .claim_messages("b", &[question.clone(), task.clone(), "999-0".into()])
        .await
        .unwrap();
    assert_eq!(
        bodies(&claimed),
        ["build", "why"],
        "oldest first, only existing ids"
    );
    assert!(
        store
            .claim_messages("b", &[task.clone(), question.clone()])
            .await
            .unwrap()
            .is_empty(),
        "claimed once"
    );
    // The info message stays unread; once read, it cannot be claimed.
    let unread = store.read_messages("b", &query(10, false)).await.unwrap();
    assert_eq!(bodies(&unread), ["fyi"]);
    assert!(store.claim_messages("b", &[info]).await.unwrap().is_empty());
    assert!(
        store
            .claim_messages("nobody", &[task])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.claim_messages("b", &[]).await.unwrap().is_empty());

    // Expired messages are not claimed.
    let gone = send(&store, &msg("a", "b", MessageKind::Task, "late"), Some(1)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(store.claim_messages("b", &[gone]).await.unwrap().is_empty());

    // Concurrent claims of the same messages: every message goes to exactly one of them.
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            send(
                &store,
                &msg("a", "b", MessageKind::Task, &format!("t{i}")),
                None,
            )
            .await,
        );
    }
    let mut claims = Vec::new();
    for _ in 0..8 {
        let (store, ids) = (store.clone(), ids.clone());
        claims.push(tokio::spawn(async move {
            store.claim_messages("b", &ids).await.unwrap()
        }));
    }
    let mut got: Vec<String> = Vec::new();
    for c in claims {
        got.extend(c.await.unwrap().into_iter().map(|m| m.body));
    }
    got.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    want.sort();
    assert_eq!(got, want, "each message claimed exactly once");
}

crate::conformance!(
    a_claim_delivers_each_message_once,
    send_read_and_the_cursor,
    a_recipient_that_is_not_live_gets_nothing,
    the_inbox_cap_holds,
    expired_messages_are_skipped,
    a_kind_filter_takes_only_that_kind,
    a_reply_is_taken_once,
);
