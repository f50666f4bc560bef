//! `import::site::parse_thread` on the fixtures of tests/fixtures/live (each site's own
//! conversation JSON, modelled from facts, see its README) and on hostile replies.

use threadkeeper::import::site::{parse_thread, ThreadError, ThreadRead, MAX_THREAD_BYTES};
use threadkeeper::model::{Message, Role, Site};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/live/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(site: Site, id: &str, names: &[&str]) -> Result<ThreadRead, ThreadError> {
    let replies: Vec<String> = names.iter().map(|n| fixture(n)).collect();
    parse_thread(&site, id, &replies)
}

fn roles(messages: &[Message]) -> Vec<Role> {
    messages.iter().map(|m| m.role).collect()
}

fn texts(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.markdown.as_str()).collect()
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.turn_id.as_deref().unwrap_or("")).collect()
}

const U: Role = Role::User;
const A: Role = Role::Assistant;

#[test]
fn chatgpt_tree_reads_the_current_branch_with_versions_thoughts_and_no_citations() {
    let id = "6a1f0000-0000-8000-a000-00000000c001";
    let read = read(Site::ChatGpt, id, &["chatgpt-mapping.json"]).unwrap();
    assert_eq!(read.more, None);
    let c = read.conversation;
    assert_eq!(
        (c.title.as_str(), c.url.as_str()),
        ("Brewing green tea", "https://chatgpt.com/c/6a1f0000-0000-8000-a000-00000000c001")
    );
    assert_eq!((c.created_at, c.updated_at), (1_788_000_000_125, 1_788_000_400_500));
    assert_eq!(c.model.as_deref(), Some("gpt-5"));
    let m = &c.messages;
    assert_eq!(roles(m), [U, A, U, A], "system, hidden and model_editable_context nodes dropped");
    assert_eq!(
        texts(m),
        [
            "How hot should the water be for green tea?",
            "Use water at about 80 °C. Steep for two minutes.",
            "And oolong?",
            "About 90 °C, three minutes, and Tieguanyin takes several infusions.",
        ]
    );
    assert_eq!(
        ids(m),
        [
            "6a1f0000-0000-4000-8000-000000000003",
            "6a1f0000-0000-4000-8000-000000000006",
            "6a1f0000-0000-4000-8000-000000000009",
            "6a1f0000-0000-4000-8000-00000000000a",
        ]
    );
    assert_eq!(m[1].versions, ["Boiling water is fine."], "the regenerated answer");
    assert_eq!(
        m[2].versions,
        ["And black tea?\n\n**assistant:**\n\nBoiling water, four minutes."],
        "the edited prompt's branch"
    );
    assert!(m[0].versions.is_empty() && m[3].versions.is_empty());
    assert_eq!(m[1].metadata["thoughts"], "Temperature\n\nGreen tea scalds above 85 °C.");
    assert_eq!(m[1].provenance.model.as_deref(), Some("gpt-5-thinking"));
    assert_eq!((m[1].provenance.first_seen, m[1].provenance.last_seen), (1_788_000_075_500, 1_788_000_080_000));
    assert_eq!(m[0].provenance.first_seen, 1_788_000_010_250);
    for msg in m {
        assert_eq!(msg.provenance.source.as_deref(), Some("thread"));
        assert_eq!(msg.provenance.url.as_deref(), Some(c.url.as_str()));
    }
}

#[test]
fn chatgpt_real_backend_fixture_reads() {
    let path = format!("{}/tests/fixtures/real/chatgpt/backend-conversation-2026.json", env!("CARGO_MANIFEST_DIR"));
    let body = std::fs::read_to_string(path).unwrap();
    let c =
        parse_thread(&Site::ChatGpt, "chatgpt-fixture-conversation", std::slice::from_ref(&body)).unwrap().conversation;
    assert_eq!(c.title, "Privacy-safe ChatGPT native fixture");
    assert!(c.messages.iter().all(|m| m.provenance.source.as_deref() == Some("thread")));
    assert_eq!(c.messages[0].role, Role::User);
    assert!(c.messages[0].markdown.starts_with("Analyze the attached fixture"));
    assert!(c.messages.iter().any(|m| m.versions.iter().any(|v| v.contains("Superseded answer."))));
    assert!(!c.messages.iter().any(|m| m.markdown.contains("Superseded answer.")));
    assert!(c.messages.iter().any(|m| m.metadata.contains_key("thoughts")));
    // The same reply read as the export importer reads it: same texts.
    let export = threadkeeper::import::parse_chatgpt(body.as_bytes()).unwrap().conversations.remove(0);
    assert_eq!(texts(&export.messages), texts(&c.messages));
    assert_eq!(
        parse_thread(&Site::ChatGpt, "another-conversation", &[body]).unwrap_err(),
        ThreadError::OtherConversation
    );
}

#[test]
fn chatgpt_pages_give_the_cursor_then_the_whole_thread_in_order() {
    let id = "6a1f0000-0000-8000-a000-00000000c002";
    let first = read(Site::ChatGpt, id, &["chatgpt-messages.json"]).unwrap();
    assert_eq!(first.more.as_deref(), Some("Y3Vyc29yOjE3ODgxMDAwNDA="));
    assert_eq!(first.conversation.title, "Packing for a hike");
    assert_eq!(texts(&first.conversation.messages)[1], "What about food?");

    let all = read(Site::ChatGpt, id, &["chatgpt-messages.json", "chatgpt-messages-older.json"]).unwrap();
    assert_eq!(all.more, None);
    let m = &all.conversation.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(
        texts(m),
        [
            "What should I pack for a day hike?",
            "Bring water, a map and a warm layer.",
            "What about food?",
            "Nuts, dried fruit and a sandwich.",
        ]
    );
    assert_eq!(ids(m)[3], "6a1f0001-0000-4000-8000-000000000006");
    assert_eq!(m[3].metadata["reasoningRecap"], "Thought for 4 seconds");
    assert_eq!(m[3].provenance.model.as_deref(), Some("gpt-5-thinking"));
    assert_eq!(m[0].provenance.first_seen, 1_788_100_030_000);
    assert_eq!(all.conversation.created_at, 1_788_100_000_000);
}

#[test]
fn claude_tree_walks_back_from_the_current_leaf() {
    let id = "3c1e7a52-0000-4000-8000-00000000c003";
    let read = read(Site::Claude, id, &["claude-tree.json"]).unwrap();
    assert_eq!(read.more, None);
    let c = read.conversation;
    assert_eq!(c.title, "Tea haiku");
    assert_eq!(c.url, "https://claude.ai/chat/3c1e7a52-0000-4000-8000-00000000c003");
    assert_eq!(c.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(c.created_at, 1_788_336_000_000);
    let m = &c.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(
        ids(m),
        [
            "3c1e7a52-0000-4000-8000-000000000101",
            "3c1e7a52-0000-4000-8000-000000000102",
            "3c1e7a52-0000-4000-8000-000000000105",
            "3c1e7a52-0000-4000-8000-000000000107",
        ]
    );
    assert_eq!(m[0].markdown, "Write a haiku about tea.");
    assert_eq!(m[1].markdown, "Steam curls from the cup\nquiet leaves unfold in heat\nmorning holds its breath");
    assert_eq!(m[1].metadata["thinking"], "Five, seven, five syllables; steam and quiet.");
    assert_eq!(
        m[2].versions,
        ["Now one about coffee.\n\n**assistant:**\n\nDark roast at dawn\nbitter warmth against the cold\nthe day starts to speak"]
    );
    assert_eq!(m[3].versions, ["Whisked green foam rises\nbamboo circles in the bowl\nspring in a small cup"]);
    assert!(m[3].markdown.contains("web_search") && m[3].markdown.contains("> Matcha is a spring kigo"));
    assert!(m[3].markdown.ends_with("spring settles to foam"));
    assert_eq!(m[3].provenance.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(m[0].provenance.model, None);
    assert_eq!((m[3].provenance.first_seen, m[3].provenance.last_seen), (1_788_336_600_000, 1_788_336_630_000));
    assert!(m.iter().all(|m| m.provenance.source.as_deref() == Some("thread")));
}

#[test]
fn deepseek_keeps_thinking_out_of_the_text() {
    let id = "d5e6f7a8-0000-4000-8000-00000000c004";
    let c = read(Site::DeepSeek, id, &["deepseek-history.json"]).unwrap().conversation;
    assert_eq!(c.title, "Mental arithmetic");
    assert_eq!(c.url, "https://chat.deepseek.com/a/chat/s/d5e6f7a8-0000-4000-8000-00000000c004");
    assert_eq!((c.created_at, c.updated_at), (1_788_200_000_123, 1_788_200_300_456));
    let m = &c.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(texts(m), ["What is 17 * 23?", "17 × 23 = **391**.", "And 17 * 24?", "408 (391 + 17)."]);
    assert_eq!(ids(m), ["1", "3", "4", "5"]);
    assert_eq!(m[1].versions, ["391"], "the regenerated answer");
    assert_eq!(m[1].metadata["thinking"], "Check: 23 * 17 = 230 + 161 = 391.");
    assert!(!m[1].markdown.contains("Check"));
    assert!(m[3].metadata.is_empty());
    assert_eq!(m[1].provenance.model.as_deref(), Some("deepseek-reasoner"));
    assert_eq!(m[0].provenance.model, None);
    assert_eq!(m[3].provenance.first_seen, 1_788_200_300_250);
    assert_eq!(c.model.as_deref(), Some("deepseek-chat"));

    let c = read(Site::DeepSeek, "d5e6f7a8-0000-4000-8000-00000000c005", &["deepseek-fragments.json"])
        .unwrap()
        .conversation;
    assert_eq!(texts(&c.messages), ["Is 221 prime?", "No: 221 = 13 × 17."]);
    assert_eq!(c.messages[1].metadata["thinking"], "221 = 13 * 17.");
}

#[test]
fn perplexity_pages_by_offset() {
    let slug = "when-is-the-best-time-to-visit-kyoto-AbCdEfGhIjKlMnOp";
    let first = read(Site::Perplexity, slug, &["perplexity-thread.json"]).unwrap();
    assert_eq!(first.more.as_deref(), Some("2"));
    assert_eq!(first.conversation.messages.len(), 4);

    let all = read(Site::Perplexity, slug, &["perplexity-thread.json", "perplexity-thread-page2.json"]).unwrap();
    assert_eq!(all.more, None);
    let c = all.conversation;
    assert_eq!(c.title, "Best time to visit Kyoto");
    assert_eq!(c.url, format!("https://www.perplexity.ai/search/{slug}"));
    let m = &c.messages;
    assert_eq!(roles(m), [U, A, U, A, U, A]);
    assert_eq!(
        texts(m),
        [
            "When is the best time to visit Kyoto?",
            "Spring (late March to April) and autumn (November) are the best times [1].",
            "And in summer?",
            "Summer is hot and humid, but Gion Matsuri is in July.",
            "Is the bus pass worth it?",
            "Yes, if you ride more than four buses a day.",
        ]
    );
    assert_eq!(ids(m)[..2], ["7f3b2a10-0000-4000-8000-000000000201-query", "7f3b2a10-0000-4000-8000-000000000201"]);
    assert_eq!(m[1].provenance.model.as_deref(), Some("pplx_pro"));
    assert_eq!(m[5].provenance.model.as_deref(), Some("turbo"));
    assert_eq!(m[0].provenance.first_seen, 1_788_429_600_000);
    assert_eq!(m[1].provenance.first_seen, 1_788_429_609_500);
    assert_eq!(c.model.as_deref(), Some("turbo"));
    // The thread's own uuid is accepted as its id too; another slug is refused.
    assert!(read(Site::Perplexity, "7f3b2a10-0000-4000-8000-0000000c0ffe", &["perplexity-thread.json"]).is_ok());
    assert_eq!(
        read(Site::Perplexity, "other-slug", &["perplexity-thread.json"]).unwrap_err(),
        ThreadError::OtherConversation
    );
}

#[test]
fn grok_asks_for_the_responses_then_reads_the_current_branch() {
    let id = "9b0c1d2e-0000-4000-8000-00000000c006";
    let first = read(Site::Grok, id, &["grok-response-node.json"]).unwrap();
    let body: serde_json::Value = serde_json::from_str(first.more.as_deref().unwrap()).unwrap();
    assert_eq!(body["responseIds"].as_array().unwrap().len(), 5);
    assert_eq!(body["responseIds"][0], "9b0c1d2e-0000-4000-8000-000000000301");
    assert!(first.conversation.messages.is_empty());

    let all = read(Site::Grok, id, &["grok-response-node.json", "grok-load-responses.json"]).unwrap();
    assert_eq!(all.more, None);
    let m = &all.conversation.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(
        texts(m),
        [
            "Name three moons of Jupiter.",
            "Io, Europa, Ganymede (and Callisto makes four).",
            "Which is largest?",
            "Ganymede, the largest moon in the Solar System.",
        ]
    );
    assert_eq!(ids(m)[1], "9b0c1d2e-0000-4000-8000-000000000303");
    assert_eq!(m[1].versions, ["Io, Europa and Ganymede."]);
    assert_eq!(m[3].metadata["thinking"], "Ganymede radius 2634 km > Titan 2575 km.");
    assert_eq!(m[3].provenance.model.as_deref(), Some("grok-4"));
    assert_eq!(m[0].provenance.first_seen, 1_788_523_200_100);
    assert_eq!(all.conversation.url, "https://grok.com/c/9b0c1d2e-0000-4000-8000-00000000c006");

    let with_meta =
        read(Site::Grok, id, &["grok-meta.json", "grok-response-node.json", "grok-load-responses.json"]).unwrap();
    assert_eq!(with_meta.conversation.title, "Moons of Jupiter");
    assert_eq!(with_meta.conversation.created_at, 1_788_523_200_000);
    assert_eq!(
        read(Site::Grok, "another", &["grok-meta.json", "grok-response-node.json"]).unwrap_err(),
        ThreadError::OtherConversation
    );
}

#[test]
fn copilot_pages_newest_first_and_reads_oldest_first() {
    let id = "copilot-conversation-1";
    let first = read(Site::Copilot, id, &["copilot-history.json"]).unwrap();
    assert_eq!(first.more.as_deref(), Some("b7c8d9e0-0000-4000-8000-000000000403"));
    assert_eq!(texts(&first.conversation.messages)[0], "Does that work for basmati?");

    let all = read(Site::Copilot, id, &["copilot-history.json", "copilot-history-older.json"]).unwrap();
    assert_eq!(all.more, None);
    let m = &all.conversation.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(texts(m)[0], "How do I cook rice without a rice cooker?");
    assert_eq!(texts(m)[3], "Yes: 1 cup of rice to 1.5 cups of water, 18 minutes.");
    assert_eq!(ids(m)[0], "b7c8d9e0-0000-4000-8000-000000000401");
    assert_eq!(m[0].provenance.first_seen, 1_788_598_800_000);
    assert_eq!(
        (all.conversation.created_at, all.conversation.updated_at),
        (m[0].provenance.first_seen, m[3].provenance.first_seen)
    );
}

#[test]
fn gemini_reads_the_batchexecute_pages_oldest_first_with_drafts_as_versions() {
    let id = "8f3e2a1b9d7c6e54";
    let first = read(Site::Gemini, id, &["gemini-batchexecute.txt"]).unwrap();
    assert_eq!(first.more.as_deref(), Some("AwXbYz-page-2-token"));
    let m = &first.conversation.messages;
    assert_eq!(roles(m), [U, A, U, A]);
    assert_eq!(texts(m)[0], "How tall is Kilimanjaro?", "the page's turns, newest first, read oldest first");

    let all = read(Site::Gemini, id, &["gemini-batchexecute.txt", "gemini-batchexecute-older.txt"]).unwrap();
    assert_eq!(all.more, None);
    let c = all.conversation;
    assert_eq!((c.conversation_id.as_str(), c.url.as_str()), (id, "https://gemini.google.com/app/8f3e2a1b9d7c6e54"));
    assert_eq!(c.title, "", "no title in this reply");
    let m = &c.messages;
    assert_eq!(roles(m), [U, A, U, A, U, A], "the turn both pages hold is kept once");
    assert_eq!(
        texts(m),
        [
            "Which is the tallest mountain in Africa?",
            "Mount Kilimanjaro, in Tanzania.",
            "How tall is Kilimanjaro?",
            "Kilimanjaro is 5,895 m tall, the highest mountain in Africa.",
            "And how long does the climb take?",
            "Most routes take **5 to 9 days**; the Marangu route is the shortest.",
        ]
    );
    assert_eq!(
        ids(m),
        [
            "r_1a7b8c9d0e1f2a3b-q",
            "r_1a7b8c9d0e1f2a3b",
            "r_2b8c9d0e1f2a3b4c-q",
            "r_2b8c9d0e1f2a3b4c",
            "r_3c9d0e1f2a3b4c5d-q",
            "r_3c9d0e1f2a3b4c5d",
        ]
    );
    assert_eq!(m[5].versions, ["Usually about a week."], "the other draft");
    assert!(m[..5].iter().all(|m| m.versions.is_empty()));
    assert_eq!(m[1].provenance.model.as_deref(), Some("2.5 Pro"));
    assert_eq!(m[5].provenance.model.as_deref(), Some("2.5 Flash"));
    assert_eq!(m[4].provenance.model, None);
    assert_eq!(c.model.as_deref(), Some("2.5 Flash"));
    assert_eq!((m[0].provenance.first_seen, m[1].provenance.first_seen), (1_788_700_000_000, 1_788_700_000_000));
    assert_eq!(m[2].provenance.first_seen, 1_788_700_100_250);
    assert_eq!(m[5].provenance.first_seen, 1_788_700_200_500);
    assert_eq!((c.created_at, c.updated_at), (1_788_700_000_000, 1_788_700_200_500));
    for msg in m {
        assert_eq!(msg.provenance.source.as_deref(), Some("thread"));
        assert_eq!(msg.provenance.url.as_deref(), Some(c.url.as_str()));
    }

    // The id as the replies write it is accepted too; another conversation is refused.
    let with_c = read(Site::Gemini, "c_8f3e2a1b9d7c6e54", &["gemini-batchexecute.txt"]).unwrap();
    assert_eq!(with_c.conversation, first.conversation);
    assert_eq!(
        read(Site::Gemini, "0123456789abcdef", &["gemini-batchexecute.txt"]).unwrap_err(),
        ThreadError::OtherConversation
    );
    assert_eq!(
        read(Site::Gemini, id, &["gemini-batchexecute.txt", "gemini-batchexecute.txt"]).unwrap_err(),
        ThreadError::ShapeChanged,
        "the same token twice would page forever"
    );
}

/// A batchexecute reply around `inner` (None: the error reply, whose answer is null).
fn gemini_reply(inner: Option<&str>) -> String {
    let entry = serde_json::json!([["wrb.fr", "hNvQHb", inner, null, null, null, "generic"]]).to_string();
    format!(")]}}'\n\n{}\n{entry}\n57\n[[\"di\",87],[\"af.httprm\",86,\"-3172486812456782421\",14]]\n", entry.len())
}

#[test]
fn gemini_refuses_garbage_and_error_replies() {
    let id = "abc";
    for reply in [
        gemini_reply(None),
        gemini_reply(Some("not json")),
        gemini_reply(Some("{\"turns\": []}")),
        gemini_reply(Some("[7]")),
        gemini_reply(Some("[[7]]")),
        gemini_reply(Some("[[[[\"c_abc\", 5], 3, 4, 5, 6]]]")),
        gemini_reply(Some("[[[[[\"c_abc\"], \"r\"]]]]")),
        ")]}'\n\n12\n[[\"di\",87]]\n".to_owned(),
        ")]}'\n\n40\n[[\"wrb.fr\",\"otherRpc\",\"[[]]\",null]]\n".to_owned(),
        fixture("claude-tree.json"),
        "[[[\"wrb.fr\"".to_owned(),
        String::new(),
    ] {
        let result = parse_thread(&Site::Gemini, id, std::slice::from_ref(&reply));
        assert!(matches!(result, Err(ThreadError::ShapeChanged | ThreadError::NoTurns)), "{reply}: {result:?}");
    }
    assert_eq!(parse_thread(&Site::Gemini, id, &[gemini_reply(Some("[[]]"))]).unwrap_err(), ThreadError::NoTurns);
    assert_eq!(
        parse_thread(&Site::Gemini, id, &[gemini_reply(Some("[null, \"t\"]"))]).unwrap_err(),
        ThreadError::NoTurns
    );
    // Wrong types inside a turn are read as absent, never a panic.
    let odd = r#"[[[["c_abc", 1], {"a": 1}, "text", [[["rc_1", "Answer", 3]], 2], ["x", -5]], [null, null, [[true]], [[[9, [1, "Answer two"]]]], [1e300, 1e30]]], 5]"#;
    let read = parse_thread(&Site::Gemini, id, &[gemini_reply(Some(odd))]).unwrap();
    assert_eq!(read.more, None);
    assert_eq!(texts(&read.conversation.messages), ["Answer two", "Answer"]);
    assert_eq!(ids(&read.conversation.messages), ["", "rc_1"], "without a response id, the candidate's id");
    assert!(read.conversation.messages.iter().all(|m| m.provenance.first_seen == 0));
    // An answer naming another conversation in its draft ids is refused too.
    let other = r#"[[[["c_abc", "r_1"], ["c_zzz", "r_1"], [["hi"]], [[["rc_1", ["yo"]]]], [1, 0]]]]"#;
    assert_eq!(
        parse_thread(&Site::Gemini, id, &[gemini_reply(Some(other))]).unwrap_err(),
        ThreadError::OtherConversation
    );
    // Lengths that lie do not matter; CRLF lines and a BOM are fine.
    let good = r#"[[[["c_abc", "r_1"], ["c_abc", "r_1"], [["hi"]], [[["rc_1", ["yo"]]]], [1788000000, 0]]]]"#;
    let lying = gemini_reply(Some(good)).replace('\n', "\r\n").replacen(")]}'", "\u{feff})]}'", 1).replacen(
        "\r\n\r\n",
        "\r\n\r\n999999\r\n",
        1,
    );
    assert_eq!(texts(&parse_thread(&Site::Gemini, id, &[lying]).unwrap().conversation.messages), ["hi", "yo"]);
}

#[test]
fn sites_not_read_here_and_unknown_shapes_are_shape_changed() {
    let body = fixture("claude-tree.json");
    for site in [Site::Mistral, Site::Other("somewhere".into())] {
        assert_eq!(parse_thread(&site, "x", std::slice::from_ref(&body)).unwrap_err(), ThreadError::ShapeChanged);
    }
    // Each site given another site's reply.
    assert_eq!(parse_thread(&Site::ChatGpt, "x", std::slice::from_ref(&body)).unwrap_err(), ThreadError::ShapeChanged);
    for (site, reply) in [
        (Site::Claude, "{\"uuid\": \"x\", \"chat_messages\": 3}"),
        (Site::DeepSeek, "{\"code\": 40003, \"msg\": \"login\", \"data\": null}"),
        (Site::Perplexity, "{\"status\": \"success\"}"),
        (Site::Grok, "{\"something\": []}"),
        (Site::Copilot, "[1, 2, 3]"),
        (Site::ChatGpt, "not json"),
        (Site::ChatGpt, "{\"mapping\": {\"a\": 5}, \"current_node\": \"a\"}"),
    ] {
        assert_eq!(parse_thread(&site, "x", &[reply.to_owned()]).unwrap_err(), ThreadError::ShapeChanged, "{reply}");
    }
}

#[test]
fn error_codes_and_words() {
    let all = [ThreadError::TooLarge, ThreadError::ShapeChanged, ThreadError::OtherConversation, ThreadError::NoTurns];
    let codes: Vec<&str> = all.iter().map(ThreadError::code).collect();
    assert_eq!(codes, ["too_large", "shape_changed", "other_conversation", "no_turns"]);
    assert!(all.iter().all(|e| !e.message().is_empty() && e.to_string() == e.message()));
}

#[test]
fn a_thread_without_turns_is_no_turns() {
    let empty = r#"{"uuid": "c", "name": "", "current_leaf_message_uuid": "", "chat_messages": []}"#;
    assert_eq!(parse_thread(&Site::Claude, "c", &[empty.into()]).unwrap_err(), ThreadError::NoTurns);
    assert_eq!(parse_thread(&Site::Claude, "c", &[]).unwrap_err(), ThreadError::NoTurns);
    let only_system = r#"{"conversation_id": "c", "mapping": {"r": {"id": "r", "parent": null, "children": [],
        "message": {"id": "r", "author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]}}}},
        "current_node": "r"}"#;
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[only_system.into()]).unwrap_err(), ThreadError::NoTurns);
}

#[test]
fn oversized_and_deeply_nested_replies_are_refused() {
    let big = " ".repeat(MAX_THREAD_BYTES / 2 + 1);
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[big.clone(), big]).unwrap_err(), ThreadError::TooLarge);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for site in [Site::ChatGpt, Site::Claude, Site::DeepSeek, Site::Perplexity, Site::Grok, Site::Copilot, Site::Gemini]
    {
        assert_eq!(parse_thread(&site, "c", std::slice::from_ref(&deep)).unwrap_err(), ThreadError::ShapeChanged);
    }
    let deep_gemini = gemini_reply(Some(&deep));
    assert_eq!(parse_thread(&Site::Gemini, "c", &[deep_gemini]).unwrap_err(), ThreadError::ShapeChanged);
    let deep_inside = format!(
        r#"{{"uuid": "c", "chat_messages": [{{"uuid": "m", "sender": "human", "text": "hi", "extra": {}1{}}}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_eq!(parse_thread(&Site::Claude, "c", &[deep_inside]).unwrap_err(), ThreadError::ShapeChanged);
}

#[test]
fn cyclic_parent_chains_are_refused() {
    let chatgpt = r#"{"conversation_id": "c", "current_node": "a", "mapping": {
        "a": {"id": "a", "parent": "b", "children": ["b"], "message": {"id": "a", "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["A"]}}},
        "b": {"id": "b", "parent": "a", "children": ["a"], "message": {"id": "b", "author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["B"]}}}}}"#;
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[chatgpt.into()]).unwrap_err(), ThreadError::ShapeChanged);
    let claude = r#"{"uuid": "c", "current_leaf_message_uuid": "a", "chat_messages": [
        {"uuid": "a", "parent_message_uuid": "b", "sender": "human", "text": "A"},
        {"uuid": "b", "parent_message_uuid": "a", "sender": "assistant", "text": "B"}]}"#;
    assert_eq!(parse_thread(&Site::Claude, "c", &[claude.into()]).unwrap_err(), ThreadError::ShapeChanged);
    let deepseek = r#"{"code": 0, "data": {"biz_code": 0, "biz_data": {"chat_session": {"id": "c", "current_message_id": 1},
        "chat_messages": [{"message_id": 1, "parent_id": 1, "role": "USER", "content": "A"},
                          {"message_id": 2, "parent_id": 1, "role": "ASSISTANT", "content": "B"}]}}}"#;
    // A message that is its own parent is a root, not a cycle.
    let c = parse_thread(&Site::DeepSeek, "c", &[deepseek.into()]).unwrap().conversation;
    assert_eq!(texts(&c.messages), ["A"]);
    let grok = r#"{"responses": [
        {"responseId": "a", "parentResponseId": "b", "sender": "human", "message": "A", "createTime": "2026-01-01T00:00:01Z"},
        {"responseId": "b", "parentResponseId": "a", "sender": "assistant", "message": "B", "createTime": "2026-01-01T00:00:02Z"}]}"#;
    assert_eq!(parse_thread(&Site::Grok, "c", &[grok.into()]).unwrap_err(), ThreadError::ShapeChanged);
}

#[test]
fn a_cursor_that_repeats_is_refused_rather_than_followed_forever() {
    let page = r#"{"messages": [{"id": "m", "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi"]}}],
        "page_info": {"has_previous_page": true, "start_cursor": "same"}}"#;
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[page.into()]).unwrap().more.as_deref(), Some("same"));
    assert_eq!(parse_thread(&Site::ChatGpt, "c", &[page.into(), page.into()]).unwrap_err(), ThreadError::ShapeChanged);
    let copilot =
        r#"{"results": [{"id": "1", "author": "human", "content": [{"type": "text", "text": "hi"}]}], "next": "n"}"#;
    assert_eq!(
        parse_thread(&Site::Copilot, "c", &[copilot.into(), copilot.into()]).unwrap_err(),
        ThreadError::ShapeChanged
    );
    let perplexity = r#"{"entries": [], "has_next_page": true}"#;
    assert_eq!(parse_thread(&Site::Perplexity, "c", &[perplexity.into()]).unwrap_err(), ThreadError::NoTurns);
}

/// The synthetic replies of tests/fixtures/live/make.mjs (what the end-to-end tests
/// serve) read back whole, page by page. Skipped when `node` is not installed.
#[test]
fn make_mjs_replies_read_back_as_the_whole_conversation() {
    let dir = format!("{}/tests/fixtures/live", env!("CARGO_MANIFEST_DIR"));
    let script = r#"
        import { threadReplies } from './make.mjs';
        const out = {};
        for (const [name, site, opts] of [['chatgpt-mapping', 'chatgpt', {}], ['chatgpt-messages', 'chatgpt', { chatgptShape: 'messages' }],
            ['claude', 'claude', {}], ['deepseek', 'deepseek', {}], ['perplexity', 'perplexity', {}], ['grok', 'grok', {}], ['copilot', 'copilot', {}],
            ['gemini', 'gemini', {}]]) {
          out[name] = threadReplies(site, 'conv-200', 200, opts).bodies;
        }
        process.stdout.write(JSON.stringify(out));
    "#;
    let output =
        match std::process::Command::new("node").current_dir(&dir).args(["--input-type=module", "-e", script]).output()
        {
            Ok(output) if output.status.success() => output,
            Ok(output) => panic!("make.mjs failed: {}", String::from_utf8_lossy(&output.stderr)),
            Err(_) => {
                eprintln!("node not found: make.mjs not checked");
                return;
            }
        };
    let all: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_slice(&output.stdout).unwrap();
    for (name, bodies) in &all {
        let site = Site::from(name.split('-').next().unwrap().to_owned());
        for n in 1..bodies.len() {
            let part = parse_thread(&site, "conv-200", &bodies[..n]).unwrap();
            assert!(part.more.is_some(), "{name}: more after {n} of {} replies", bodies.len());
        }
        let read = parse_thread(&site, "conv-200", bodies).unwrap();
        assert_eq!(read.more, None, "{name}");
        let m = &read.conversation.messages;
        assert_eq!(m.len(), 200, "{name}");
        for (i, msg) in m.iter().enumerate() {
            let k = i / 2 + 1;
            assert_eq!(msg.role, if i % 2 == 0 { U } else { A }, "{name} {i}");
            let prefix = if i % 2 == 0 { format!("Question {k} about ") } else { format!("Answer {k} about ") };
            assert!(msg.markdown.starts_with(&prefix), "{name} {i}: {}", msg.markdown);
            assert!(msg.turn_id.is_some(), "{name} {i}");
            // Gemini gives one time a turn, the prompt's: its answer carries that time.
            let sent = if site == Site::Gemini { i - i % 2 } else { i };
            assert_eq!(msg.provenance.first_seen, (1_788_000_000 + 30 * sent as i64) * 1000, "{name} {i}");
        }
    }
    assert_eq!(all["chatgpt-messages"].len(), 10);
    assert_eq!(all["perplexity"].len(), 2);
    assert_eq!(all["grok"].len(), 2);
    assert_eq!(all["gemini"].len(), 10, "100 turns, 10 a page");
}

#[test]
fn a_reply_for_another_conversation_is_refused_on_every_site() {
    for (site, names) in [
        (Site::ChatGpt, &["chatgpt-mapping.json"][..]),
        (Site::ChatGpt, &["chatgpt-messages.json"][..]),
        (Site::Claude, &["claude-tree.json"][..]),
        (Site::DeepSeek, &["deepseek-history.json"][..]),
        (Site::Perplexity, &["perplexity-thread.json"][..]),
        (Site::Grok, &["grok-meta.json", "grok-response-node.json", "grok-load-responses.json"][..]),
        (Site::Gemini, &["gemini-batchexecute.txt", "gemini-batchexecute-older.txt"][..]),
    ] {
        assert_eq!(read(site.clone(), "not-this-one", names).unwrap_err(), ThreadError::OtherConversation, "{site:?}");
    }
    let copilot = r#"{"conversationId": "other", "results": []}"#;
    assert_eq!(parse_thread(&Site::Copilot, "mine", &[copilot.into()]).unwrap_err(), ThreadError::OtherConversation);
}
