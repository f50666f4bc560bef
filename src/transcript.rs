//! One conversation as a Markdown document, for "Save as Markdown".

use crate::model::{Conversation, Role};

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "User",
        Role::Assistant => "Assistant",
        Role::System => "System",
        Role::Tool => "Tool",
    }
}

/// A readable Markdown transcript: a title, where it comes from, then each turn under a
/// heading naming its role. Turn text is kept as it was captured.
pub fn to_markdown(conv: &Conversation) -> String {
    let title = if conv.title.trim().is_empty() { "Untitled conversation" } else { conv.title.trim() };
    let mut out = format!("# {}\n\n", title.replace('\n', " "));
    out.push_str(&format!("- Site: {}\n", conv.site.as_str()));
    if !conv.url.is_empty() {
        out.push_str(&format!("- Address: <{}>\n", conv.url));
    }
    if let Some(model) = &conv.model {
        out.push_str(&format!("- Model: {model}\n"));
    }
    out.push_str(&format!("- Messages: {}\n", conv.messages.len()));
    for m in &conv.messages {
        out.push_str(&format!("\n## {}\n\n{}\n", role_name(m.role), m.markdown.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Site};

    #[test]
    fn a_transcript_names_its_source_and_each_turn() {
        let conv = Conversation {
            site: Site::Claude,
            conversation_id: "c".into(),
            title: "Plans".into(),
            url: "https://claude.ai/chat/c".into(),
            model: None,
            created_at: 0,
            updated_at: 0,
            messages: vec![Message::new(Role::User, "hi"), Message::new(Role::Assistant, "```rs\nfn main() {}\n```")],
        };
        let md = to_markdown(&conv);
        assert!(md.starts_with("# Plans\n"));
        assert!(md.contains("- Address: <https://claude.ai/chat/c>"));
        assert!(md.contains("## User\n\nhi\n"));
        assert!(md.contains("## Assistant\n\n```rs\nfn main() {}\n```\n"));
    }
}
