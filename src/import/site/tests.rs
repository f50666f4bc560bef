//! Hostile trees: the work stays bounded. (The fixtures are read in tests/live.rs.)

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::*;
use crate::model::Role;

fn chatgpt_node(out: &mut String, id: &str, parent: Option<&str>, children: &[&str], role: &str, text: &str) {
    let parent = parent.map_or("null".to_owned(), |p| format!("\"{p}\""));
    let children: Vec<String> = children.iter().map(|c| format!("\"{c}\"")).collect();
    let _ = write!(
        out,
        r#""{id}": {{"id": "{id}", "parent": {parent}, "children": [{}], "message": {{"id": "{id}", "author": {{"role": "{role}"}}, "content": {{"content_type": "text", "parts": ["{text}"]}}}}}},"#,
        children.join(",")
    );
}

#[test]
fn children_lists_that_lie_do_not_make_the_work_quadratic() {
    // 5,000 turns on the current branch, each also listing as a child the head of a
    // 5,000-node chain that is not theirs: read naively, 25 million renders.
    let n = 5_000;
    let mut mapping = String::new();
    for i in 0..n {
        let id = format!("p{i}");
        let parent = (i > 0).then(|| format!("p{}", i - 1));
        let next = format!("p{}", i + 1);
        let children: Vec<&str> = if i + 1 < n { vec!["h0", next.as_str()] } else { vec!["h0"] };
        chatgpt_node(
            &mut mapping,
            &id,
            parent.as_deref(),
            &children,
            if i % 2 == 0 { "user" } else { "assistant" },
            "t",
        );
    }
    for i in 0..n {
        let id = format!("h{i}");
        let parent = (i > 0).then(|| format!("h{}", i - 1));
        let next = format!("h{}", i + 1);
        let children: Vec<&str> = if i + 1 < n { vec![next.as_str()] } else { vec![] };
        chatgpt_node(&mut mapping, &id, parent.as_deref(), &children, "assistant", "x");
    }
    mapping.pop();
    let body = format!(r#"{{"conversation_id": "c", "current_node": "p{}", "mapping": {{{mapping}}}}}"#, n - 1);
    let started = Instant::now();
    let read = parse_thread(&Site::ChatGpt, "c", &[body]).unwrap();
    assert_eq!(read.conversation.messages.len(), n);
    assert!(read.conversation.messages.iter().all(|m| m.versions.is_empty()));
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[test]
fn too_many_nodes_is_too_large() {
    let mut mapping = String::new();
    for i in 0..=MAX_NODES {
        let _ = write!(mapping, r#""n{i}":{{}},"#);
    }
    mapping.pop();
    let body = format!(r#"{{"conversation_id": "c", "mapping": {{{mapping}}}}}"#);
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[body]).unwrap_err(), ThreadError::TooLarge);
}

#[test]
fn wrong_types_are_shape_changed_not_panics() {
    let replies = [
        (
            Site::ChatGpt,
            r#"{"conversation_id": "c", "mapping": {"a": {"children": "x", "parent": 3, "message": {"author": 1}}}}"#,
        ),
        (
            Site::ChatGpt,
            r#"{"messages": [{"id": 1, "author": {"role": ["user"]}}], "page_info": {"has_previous_page": true}}"#,
        ),
        (Site::ChatGpt, r#"{"messages": 7}"#),
        (Site::Claude, r#"{"uuid": "c", "chat_messages": [{"uuid": 5, "sender": 3, "content": "x"}]}"#),
        (Site::Claude, r#"{"uuid": "c", "chat_messages": [7]}"#),
        (Site::DeepSeek, r#"{"code": 0, "data": {"biz_data": {"chat_messages": [null]}}}"#),
        (Site::Perplexity, r#"{"entries": [1, 2]}"#),
        (Site::Grok, r#"{"responses": ["a"]}"#),
        (Site::Copilot, r#"{"results": [null]}"#),
        (Site::Grok, r#"{"responseNodes": 4}"#),
        (Site::Gemini, ")]}'\n\n[[\"wrb.fr\",\"hNvQHb\",\"[[7, null]]\"]]"),
        (Site::Gemini, "[[\"wrb.fr\",\"hNvQHb\",\"{\\\"a\\\": 1}\"]]"),
        (Site::Gemini, "[[\"wrb.fr\",\"hNvQHb\",5]]"),
        (Site::Gemini, "[[\"wrb.fr\",\"hNvQHb\",\"[{\\\"turns\\\": []}]\"]]"),
        (Site::Gemini, "[[\"wrb.fr\",\"hNvQHb\",\"[[[[[1], 2]]]]\"]]"),
    ];
    for (site, reply) in replies {
        let result = parse_thread(&site, "c", &[reply.to_owned()]);
        assert!(matches!(result, Err(ThreadError::ShapeChanged | ThreadError::NoTurns)), "{reply}: {result:?}");
    }
}

#[test]
fn a_cycle_off_the_current_branch_is_walked_once() {
    let node = |id: &str, parent: Option<&str>, role: Role, time: i64| Node {
        id: id.into(),
        parent: parent.map(Into::into),
        time,
        message: Some(Message::new(role, id)),
    };
    let nodes = vec![
        node("u", None, Role::User, 1),
        node("a", Some("u"), Role::Assistant, 2),
        node("x", Some("y"), Role::Assistant, 3),
        node("y", Some("x"), Role::Assistant, 4),
        node("b", Some("u"), Role::Assistant, 0),
    ];
    let out = current_branch(nodes, Some("a")).unwrap();
    assert_eq!(out.iter().map(|m| m.markdown.as_str()).collect::<Vec<_>>(), ["u", "a"]);
    assert_eq!(out[1].versions, ["b"]);
}

#[test]
fn gemini_chunk_lines_and_turns_stay_bounded() {
    // A million chunks that are not the answer before it: each line is read once.
    let mut body = String::from(")]}'\n\n");
    for _ in 0..1_000_000 {
        body.push_str("9\n[[\"di\",1]]\n");
    }
    body.push_str(
        r#"[["wrb.fr","hNvQHb","[[[[\"c_c\",\"r_1\"],[\"c_c\"],[[\"hi\"]],[[[\"rc_1\",[\"yo\"]]]],[1,0]]]]"]]"#,
    );
    body.push('\n');
    let started = Instant::now();
    let read = parse_thread(&Site::Gemini, "c", &[body]).unwrap();
    assert_eq!(read.conversation.messages.len(), 2);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());

    let turns = "[],".repeat(MAX_NODES + 1);
    let body = format!(r#"[["wrb.fr","hNvQHb","[[{}]]"]]"#, turns.trim_end_matches(','));
    assert_eq!(parse_thread(&Site::Gemini, "c", &[body]).unwrap_err(), ThreadError::TooLarge);
}
