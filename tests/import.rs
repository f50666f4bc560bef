//! Importing the official ChatGPT and Claude exports, with real export files.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

use threadkeeper::import::{parse_chatgpt, parse_claude, parse_export, read_export, ImportError};
use threadkeeper::{Conversation, Role, Site};

const REAL: &str = "tests/fixtures/real";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{REAL}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Counts this thread's heap bytes, to see what an import holds at its peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Every byte asked for, freed or not: the work of copying.
    static ASKED: Cell<usize> = const { Cell::new(0) };
}

fn note(change: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + change);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
    if change > 0 {
        let _ = ASKED.try_with(|asked| asked.set(asked.get() + change as usize));
    }
}

// SAFETY: every call is passed on to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `f` returns, and the most heap it held at once on this thread, in bytes.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let out = f();
    (out, (PEAK.with(Cell::get) - start).max(0) as usize)
}

/// What `f` returns, and how many heap bytes it asked for on this thread in all.
fn heap_asked<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = ASKED.with(Cell::get);
    let out = f();
    (out, ASKED.with(Cell::get) - start)
}

fn roles(c: &Conversation) -> Vec<Role> {
    c.messages.iter().map(|m| m.role).collect()
}

fn count(c: &Conversation, role: Role) -> usize {
    c.messages.iter().filter(|m| m.role == role).count()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

#[test]
fn a_2023_chatgpt_export_follows_the_current_branch_and_keeps_the_other_as_a_version() {
    let chats = parse_export(&fixture("chatgpt/export-conversations-2023.json"), "conversations.json").unwrap();
    assert_eq!(chats.len(), 2);

    let oscar = &chats[0];
    assert_eq!(oscar.site, Site::ChatGpt);
    assert_eq!(oscar.title, "Oscar for Rental Webshop");
    assert_eq!(oscar.url, "https://chatgpt.com/c/65e5bb56-a41c-407c-8e90-6261edbed4fa");
    assert_eq!(oscar.model.as_deref(), Some("gpt-4-browsing"));
    assert_eq!(oscar.created_at, 1_686_142_873_878);
    // 27 nodes on the current branch; the empty system message is left out.
    assert_eq!(oscar.messages.len(), 26);
    assert_eq!((count(oscar, Role::User), count(oscar, Role::Assistant), count(oscar, Role::Tool)), (4, 13, 9));
    assert_eq!(count(oscar, Role::System), 0);
    assert!(oscar.messages[0].markdown.starts_with("Can you read the documentation at: https://django-oscar"));
    assert!(oscar.messages[25].markdown.starts_with("Zeker, hier is het advies vertaald"));
    assert_eq!(
        roles(oscar)[20..],
        [Role::User, Role::Assistant, Role::User, Role::Assistant, Role::User, Role::Assistant]
    );

    // The branch point: the first answer was regenerated; the abandoned attempt,
    // with its own browsing, is kept as an earlier version of the turn.
    let first_answer = &oscar.messages[1];
    assert!(first_answer.markdown.contains("I'll start by opening the provided URL"));
    assert_eq!(first_answer.versions.len(), 1);
    let old = &first_answer.versions[0];
    assert!(old.starts_with("```\n# Let's start by opening the provided URL"));
    assert!(old.contains("Oscar is used in production by sites with more than 20 million products"));
    assert_eq!(oscar.messages.iter().map(|m| m.versions.len()).sum::<usize>(), 1);

    // Browsing: the tool's calls in code fences, its pages and quotes as quoted tool output.
    assert_eq!(first_answer.metadata.get("toolCall").map(String::as_str), Some("browser"));
    let page = &oscar.messages[2];
    assert_eq!(page.role, Role::Tool);
    assert!(page.markdown.starts_with("> URL: https://django-oscar.readthedocs.io/en/stable/"));
    assert!(oscar.messages[4].markdown.starts_with("> Oscar is an e-commerce framework"));
    for m in &oscar.messages {
        assert_eq!(m.provenance.source.as_deref(), Some("import:chatgpt"));
        assert_eq!(m.provenance.url.as_deref(), Some(oscar.url.as_str()));
        assert!(m.turn_id.is_some());
    }

    let radio = &chats[1];
    assert_eq!(radio.title, "How to Use Radio");
    assert_eq!(radio.messages.len(), 16);
    assert_eq!((count(radio, Role::User), count(radio, Role::Assistant), count(radio, Role::Tool)), (2, 7, 7));
    assert_eq!(radio.messages[4].markdown, "Yes");
    assert!(radio.messages[15].markdown.starts_with("Apologies, but as an AI model developed by OpenAI"));
}

#[test]
fn a_2026_chatgpt_conversation_keeps_reasoning_beside_the_answer_not_in_it() {
    let parsed = parse_chatgpt(&fixture("chatgpt/backend-conversation-2026.json")).unwrap();
    assert_eq!(parsed.skipped, 0);
    let chat = &parsed.conversations[0];
    assert_eq!(chat.conversation_id, "chatgpt-fixture-conversation");
    assert_eq!(chat.model.as_deref(), Some("gpt-5-6-pro"));
    assert_eq!(roles(chat), [Role::User, Role::Assistant, Role::Tool, Role::Assistant]);

    let question = &chat.messages[0];
    assert_eq!(question.markdown, "Analyze the attached fixture and create an artifact.\n\n[image]");
    assert_eq!(question.metadata["attachments"], "input.txt");

    assert_eq!(chat.messages[1].markdown, "```\n{\"query\":\"fixture evidence\"}\n```");
    assert_eq!(chat.messages[2].markdown, "> Privacy-safe tool result.");

    let answer = &chat.messages[3];
    assert_eq!(answer.markdown, "Final answer. [Download artifact](sandbox:/mnt/data/fixture-result.zip)\n\n[image]");
    assert_eq!(answer.metadata["thoughts"], "Privacy-safe reasoning trace.");
    assert_eq!(answer.metadata["reasoningRecap"], "Privacy-safe reasoning summary.");
    assert_eq!(answer.versions, ["Superseded answer."]);
    assert_eq!(answer.provenance.model.as_deref(), Some("gpt-5-6-pro"));
    for m in &chat.messages {
        assert!(!m.markdown.contains("reasoning"), "reasoning leaked into {:?}", m.markdown);
        assert!(!m.markdown.contains("Preserve structured provider evidence"), "custom instructions imported");
    }
}

#[test]
fn a_2024_claude_export_is_put_back_in_time_order() {
    let parsed = parse_claude(&fixture("claude/export-conversations-2024.json")).unwrap();
    let chat = &parsed.conversations[0];
    assert_eq!(chat.site, Site::Claude);
    assert_eq!(chat.title, "LLM Pricing Calculator");
    assert_eq!(chat.url, "https://claude.ai/chat/91098bc8-f2c4-427b-b71b-1e25efa2e871");
    assert_eq!(chat.messages.len(), 20);
    for (i, m) in chat.messages.iter().enumerate() {
        assert_eq!(m.role, if i % 2 == 0 { Role::User } else { Role::Assistant }, "message {i}");
        assert_eq!(m.provenance.source.as_deref(), Some("import:claude"));
    }
    let times: Vec<i64> = chat.messages.iter().map(|m| m.provenance.first_seen).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // In the file, this request comes first; in time it is the fourth.
    assert!(chat.messages[0].markdown.starts_with("Built me an artifact with no react"));
    assert!(chat.messages[6].markdown.starts_with("Add a onkeyup event too"));
    assert_eq!(chat.messages[6].metadata["attachments"].lines().count(), 5);
    assert!(chat.messages[7]
        .markdown
        .starts_with("Certainly! I'll update the calculator to include the onkeyup event"));
    assert!(chat.messages[19].markdown.contains("trim unnecessary trailing zeros"));

    // <antThinking> is reasoning, kept aside; the artifact stays in the answer.
    let first_answer = &chat.messages[1];
    assert!(!first_answer.markdown.contains("antThinking"));
    assert!(first_answer.metadata["thinking"].starts_with("This request is suitable for an artifact"));
    assert!(first_answer.markdown.contains("<antArtifact"));
    assert!(!first_answer.markdown.contains("\n\n\n"));
}

#[test]
fn a_trimmed_claude_export_gives_its_two_turns() {
    let chats = parse_export(&fixture("claude/export-example-2024.json"), "conversations.json").unwrap();
    assert_eq!(chats.len(), 1);
    let chat = &chats[0];
    assert_eq!(chat.title, "Bash Command for OpenAI API");
    assert_eq!(roles(chat), [Role::User, Role::Assistant]);
    assert_eq!(chat.messages[0].markdown, "Turn this into a bash command");
    assert_eq!(chat.messages[0].metadata["attachments"], "CleanShot 20241017 at 22.29.542x.png");
    assert!(chat.messages[1].markdown.starts_with("To turn this into a bash command"));
    assert_eq!(chat.created_at, 1_729_229_410_325);
}

#[test]
fn newer_claude_content_blocks_are_read_with_thinking_aside() {
    let json = br#"[{"uuid": "u1", "name": "Blocks", "created_at": "2025-05-01T10:00:00Z",
      "chat_messages": [
        {"uuid": "m2", "sender": "assistant", "created_at": "2025-05-01T10:00:05Z", "text": "",
         "content": [
           {"type": "thinking", "thinking": "Let me look this up."},
           {"type": "tool_use", "name": "web_search", "input": {"query": "kettle temperature"}},
           {"type": "tool_result", "name": "web_search", "content": [{"type": "text", "text": "80 degrees for green tea"}]},
           {"type": "text", "text": "Use water at about 80 \u00b0C."}]},
        {"uuid": "m1", "sender": "human", "created_at": "2025-05-01T10:00:01Z", "text": "",
         "content": [{"type": "text", "text": "How hot for green tea?"}]}]}]"#;
    let chats = parse_export(json, "conversations.json").unwrap();
    let chat = &chats[0];
    assert_eq!(roles(chat), [Role::User, Role::Assistant]);
    assert_eq!(chat.messages[0].markdown, "How hot for green tea?");
    let answer = &chat.messages[1];
    assert_eq!(answer.metadata["thinking"], "Let me look this up.");
    assert!(!answer.markdown.contains("Let me look this up"));
    assert!(answer.markdown.contains("`web_search`\n\n```json\n{\n  \"query\": \"kettle temperature\"\n}\n```"));
    assert!(answer.markdown.contains("> 80 degrees for green tea"));
    assert!(answer.markdown.ends_with("Use water at about 80 °C."));
}

#[test]
fn chatgpt_nodes_without_children_are_linked_from_their_parents() {
    let mut value: serde_json::Value =
        serde_json::from_slice(&fixture("chatgpt/export-conversations-2023.json")).unwrap();
    for conv in value.as_array_mut().unwrap() {
        for node in conv["mapping"].as_object_mut().unwrap().values_mut() {
            node.as_object_mut().unwrap().remove("children");
        }
    }
    let stripped = serde_json::to_vec(&value).unwrap();
    let original = parse_export(&fixture("chatgpt/export-conversations-2023.json"), "").unwrap();
    assert_eq!(parse_export(&stripped, "").unwrap(), original);

    // Without current_node either, the newest branch is followed.
    for conv in value.as_array_mut().unwrap() {
        conv.as_object_mut().unwrap().remove("current_node");
    }
    let chats = parse_export(&serde_json::to_vec(&value).unwrap(), "").unwrap();
    assert_eq!(chats[0].messages.len(), 26);
    assert_eq!(chats[0].messages[1].versions.len(), 1);
}

#[test]
fn hidden_chatgpt_messages_are_left_out() {
    let json = br#"{"id": "h1", "title": "Hidden", "current_node": "b", "mapping": {
      "r": {"message": null, "parent": null, "children": ["a"]},
      "a": {"parent": "r", "children": ["b"], "message": {"id": "a", "author": {"role": "system"},
            "content": {"content_type": "text", "parts": ["You are ChatGPT"]},
            "metadata": {"is_visually_hidden_from_conversation": true}}},
      "b": {"parent": "a", "children": [], "message": {"id": "b", "author": {"role": "user"},
            "content": {"content_type": "text", "parts": ["hello"]}, "metadata": {}}}}}"#;
    let chats = parse_export(json, "conversation.json").unwrap();
    assert_eq!(roles(&chats[0]), [Role::User]);
}

#[test]
fn an_export_zip_is_read_whole_and_sharded() {
    let chatgpt = fixture("chatgpt/export-conversations-2023.json");
    let expected = parse_export(&chatgpt, "conversations.json").unwrap();

    let zip = zip_of(&[("chat.html", b"<html></html>"), ("conversations.json", &chatgpt), ("user.json", b"{}")]);
    assert_eq!(parse_export(&zip, "export.zip").unwrap(), expected);

    // The newer layout: conversations-000.json, -001.json..., in number order.
    let value: Vec<serde_json::Value> = serde_json::from_slice(&chatgpt).unwrap();
    let shard0 = serde_json::to_vec(&value[..1]).unwrap();
    let shard1 = serde_json::to_vec(&value[1..]).unwrap();
    let sharded = zip_of(&[("conversations-001.json", &shard1), ("conversations-000.json", &shard0)]);
    assert_eq!(parse_export(&sharded, "export.zip").unwrap(), expected);

    let claude = fixture("claude/export-conversations-2024.json");
    let zip = zip_of(&[("users.json", b"[{\"uuid\": \"x\", \"full_name\": \"A\"}]"), ("conversations.json", &claude)]);
    assert_eq!(parse_export(&zip, "data-2024.zip").unwrap(), parse_export(&claude, "").unwrap());
}

#[test]
fn wrong_files_are_named_for_what_they_are() {
    let not = |bytes: &[u8]| parse_export(bytes, "file").unwrap_err();
    assert_eq!(not(b"hello, I am a text file"), ImportError::NotAnExport);
    assert_eq!(not(b""), ImportError::NotAnExport);
    assert_eq!(not(b"[{\"uuid\": \"x\", \"full_name\": \"Someone\"}]"), ImportError::NotAnExport);
    assert_eq!(not(&zip_of(&[("photo.png", b"\x89PNG")])), ImportError::NotAnExport);

    let archive =
        threadkeeper::archive::seal_archive(&[], "pw", threadkeeper::crypto::kdf::KdfParams::MINIMUM).unwrap();
    assert_eq!(not(&archive), ImportError::IsArchive);

    let broken = not(b"[{\"uuid\": \"secret words\", \"chat_messages\": [");
    assert_eq!(broken.code(), "damaged_export");
    assert!(!broken.to_string().contains("secret"), "{broken}");

    let zip = zip_of(&[("conversations.json", &fixture("claude/export-example-2024.json"))]);
    assert_eq!(not(&zip[..zip.len() / 2]).code(), "damaged_export");

    // A Claude file given to the ChatGPT reader.
    assert_eq!(parse_chatgpt(&fixture("claude/export-example-2024.json")).unwrap_err(), ImportError::NotAnExport);
    assert_eq!(parse_claude(&fixture("chatgpt/backend-conversation-2026.json")).unwrap_err(), ImportError::NotAnExport);
}

#[test]
fn a_zip_bomb_is_refused_before_it_fills_memory() {
    let mut bomb = Vec::with_capacity(24 << 20);
    bomb.extend_from_slice(b"[\"");
    bomb.resize(24 << 20, b' ');
    let zip = zip_of(&[("conversations.json", &bomb)]);
    assert!(zip.len() < 200 << 10, "the bomb compresses well: {}", zip.len());
    assert_eq!(parse_export(&zip, "export.zip").unwrap_err().code(), "too_large");
}

#[test]
fn an_export_zip_is_inflated_one_file_at_a_time() {
    // Six shards of 256 KiB: each a conversation and whitespace that compresses only
    // about four times (within the ratio guard). Inflated together they would be
    // 1.5 MiB at once; one at a time, a little over 256 KiB.
    const SHARD: usize = 256 << 10;
    let mut seed = 7u32;
    let shards: Vec<(String, Vec<u8>)> = (0..6)
        .map(|n| {
            let mut json = format!(
                r#"[{{"uuid": "c{n}", "name": "Shard", "chat_messages": [{{"sender": "human", "text": "hi"}}]}}"#
            )
            .into_bytes();
            while json.len() < SHARD - 1 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                json.push(b" \t\r\n"[(seed >> 30) as usize]);
            }
            json.push(b']');
            (format!("conversations-{n:03}.json"), json)
        })
        .collect();
    let entries: Vec<(&str, &[u8])> = shards.iter().map(|(name, json)| (name.as_str(), json.as_slice())).collect();
    let zip = zip_of(&entries);
    assert!(zip.len() < 6 * SHARD / 3, "{}", zip.len());

    let (chats, peak) = peak_heap(|| parse_export(&zip, "export.zip").unwrap());
    assert_eq!(
        chats.iter().map(|c| c.conversation_id.as_str()).collect::<Vec<_>>(),
        ["c0", "c1", "c2", "c3", "c4", "c5"]
    );
    assert!(peak < 2 * SHARD, "the import held {peak} bytes at once");
}

#[test]
fn one_unreadable_conversation_does_not_spoil_the_others() {
    let json = br#"[{"uuid": "ok", "name": "Fine", "chat_messages": [{"sender": "human", "text": "hi"}]},
                    {"uuid": 42, "chat_messages": "not a list"}]"#;
    let parsed = read_export(json, "conversations.json").unwrap();
    assert_eq!(parsed.conversations.len(), 1);
    assert_eq!(parsed.skipped, 1);
}

/// A ChatGPT conversation whose `mapping` is built from `(id, parent, children, role)`.
fn chatgpt_mapping(current: &str, nodes: &[(String, Option<String>, Vec<String>, &str)]) -> Vec<u8> {
    let mapping: serde_json::Map<String, serde_json::Value> = nodes
        .iter()
        .map(|(id, parent, children, role)| {
            let node = serde_json::json!({"parent": parent, "children": children, "message": {
                "id": id, "author": {"role": role}, "create_time": 1_700_000_000.0,
                "content": {"content_type": "text", "parts": [format!("message {id}")]}}});
            (id.clone(), node)
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"id": "hostile", "current_node": current, "mapping": mapping})).unwrap()
}

#[test]
fn a_chatgpt_branch_listed_under_every_turn_is_rendered_once() {
    // 400 turns, each listing as its other child the same branch of 400 messages. Each
    // node is rendered once; rendered again under every turn it would be 160,000
    // messages of text (versions 40 times the size of the file).
    let (turns, branch) = (400, 400);
    let mut nodes = Vec::new();
    for i in 0..turns {
        let next = if i + 1 < turns { vec![format!("t{}", i + 1), "b0".to_owned()] } else { vec![] };
        let parent = (i > 0).then(|| format!("t{}", i - 1));
        nodes.push((format!("t{i}"), parent, next, if i % 2 == 0 { "user" } else { "assistant" }));
    }
    for i in 0..branch {
        let next = if i + 1 < branch { vec![format!("b{}", i + 1)] } else { vec![] };
        let parent = Some(if i == 0 { "t0".to_owned() } else { format!("b{}", i - 1) });
        nodes.push((format!("b{i}"), parent, next, if i % 2 == 0 { "assistant" } else { "user" }));
    }
    let json = chatgpt_mapping(&format!("t{}", turns - 1), &nodes);
    let chat = &parse_chatgpt(&json).unwrap().conversations[0];
    assert_eq!(chat.messages.len(), turns);
    let text: usize = chat.messages.iter().flat_map(|m| m.versions.iter().chain([&m.markdown])).map(String::len).sum();
    assert!(text < json.len(), "{text} bytes of text from a file of {}", json.len());
    let versions: Vec<&String> = chat.messages.iter().flat_map(|m| &m.versions).collect();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].starts_with("message b0\n\n**user:**\n\nmessage b1"));
    assert!(versions[0].ends_with("message b399"));
}

#[test]
fn chatgpt_versions_waiting_for_their_turn_are_not_moved_at_every_turn() {
    // 2,000 answers in a row, each with a tool message beside it: the tool versions wait
    // for a tool turn that never comes and go to the last answer. Sorted out again at
    // every turn, the waiting list would be copied 2,000 times (quadratic).
    let turns = 2000;
    let mut nodes = vec![("t0".to_owned(), None, vec!["t1".to_owned()], "user")];
    for i in 1..=turns {
        let next = if i < turns { vec![format!("t{}", i + 1), format!("x{}", i + 1)] } else { vec![] };
        nodes.push((format!("t{i}"), Some(format!("t{}", i - 1)), next, "assistant"));
        if i > 1 {
            nodes.push((format!("x{i}"), Some(format!("t{}", i - 1)), vec![], "tool"));
        }
    }
    let json = chatgpt_mapping(&format!("t{turns}"), &nodes);
    let (parsed, asked) = heap_asked(|| parse_chatgpt(&json).unwrap());
    let chat = &parsed.conversations[0];
    assert_eq!(chat.messages.len(), turns + 1);
    let last = chat.messages.last().unwrap();
    assert_eq!(last.versions.len(), turns - 1);
    assert_eq!((last.versions[0].as_str(), last.versions[turns - 2].as_str()), ("> message x2", "> message x2000"));
    assert!(asked < 40 * json.len(), "{asked} bytes asked for, reading a file of {}", json.len());
}

/// The write path's limits run while the file is read, before anything is written: a
/// conversation the vault would refuse is left out and counted, an oversized message
/// is cut with the marker capture uses.
#[test]
fn an_export_breaking_the_vaults_limits_is_fitted_while_it_is_read() {
    let long_id = "x".repeat(600);
    let big = "y".repeat(9 * 1024 * 1024);
    let json = format!(
        r#"[{{"uuid": "{long_id}", "name": "Bad id", "created_at": "2024-10-18T05:30:10Z",
             "chat_messages": [{{"sender": "human", "text": "hi", "created_at": "2024-10-18T05:30:20Z"}}]}},
            {{"uuid": "ok1", "name": "Big", "created_at": "2024-10-18T05:30:10Z",
             "chat_messages": [{{"sender": "human", "text": "{big}", "created_at": "2024-10-18T05:30:20Z"}}]}}]"#
    );
    let read = threadkeeper::import::read_export(json.as_bytes(), "conversations.json").unwrap();
    assert_eq!(read.skipped, 1, "the conversation with a 600-byte id is left out and counted");
    assert_eq!(read.conversations.len(), 1);
    let text = &read.conversations[0].messages[0].markdown;
    assert!(text.len() <= 8 * 1024 * 1024 && text.ends_with("[Threadkeeper: this message was cut at 8 MiB]"));
}
