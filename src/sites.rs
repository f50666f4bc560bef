//! Which AI site an address belongs to, and the conversation id in it.
//!
//! The background decides a content script's site and conversation from the address
//! the browser reports for the sender's tab, never from the message. The content
//! scripts' adapters (extension/sites/*.js) carry the same patterns for the page side;
//! tests/node/sites.test.mjs checks that both agree.

use serde::Serialize;

use crate::model::Site;

/// `pattern` lists path segments; `*` matches any one segment, `{id}` captures the id.
struct SiteRule {
    site: Site,
    hosts: &'static [&'static str],
    patterns: &'static [&'static [&'static str]],
}

fn rules() -> [SiteRule; 8] {
    [
        SiteRule { site: Site::ChatGpt, hosts: &["chatgpt.com", "chat.openai.com"], patterns: &[&["c", "{id}"], &["g", "*", "c", "{id}"]] },
        SiteRule { site: Site::Claude, hosts: &["claude.ai"], patterns: &[&["chat", "{id}"]] },
        SiteRule {
            site: Site::Gemini,
            hosts: &["gemini.google.com"],
            patterns: &[&["app", "{id}"], &["gem", "*", "{id}"], &["u", "*", "app", "{id}"], &["u", "*", "gem", "*", "{id}"]],
        },
        SiteRule { site: Site::Perplexity, hosts: &["www.perplexity.ai", "perplexity.ai"], patterns: &[&["search", "{id}"]] },
        SiteRule { site: Site::Grok, hosts: &["grok.com"], patterns: &[&["c", "{id}"]] },
        SiteRule { site: Site::DeepSeek, hosts: &["chat.deepseek.com"], patterns: &[&["a", "chat", "s", "{id}"]] },
        SiteRule { site: Site::Copilot, hosts: &["copilot.microsoft.com"], patterns: &[&["chats", "{id}"]] },
        SiteRule { site: Site::Mistral, hosts: &["chat.mistral.ai"], patterns: &[&["chat", "{id}"]] },
    ]
}

/// The site of an address and, on a conversation page, the conversation's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SitePage {
    pub site: Site,
    pub conversation_id: Option<String>,
    /// The conversation's address without query or fragment.
    pub url: String,
}

fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses an `https://` address; None for any other site or scheme.
pub fn parse_url(url: &str) -> Option<SitePage> {
    let rest = url.strip_prefix("https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    if host.contains('@') || host.contains(':') {
        return None;
    }
    let path_end = rest[end..].find(['?', '#']).map_or(rest.len(), |i| end + i);
    let path = &rest[end..path_end];
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for rule in rules() {
        if !rule.hosts.contains(&host.as_str()) {
            continue;
        }
        let conversation_id = rule.patterns.iter().find_map(|pattern| {
            if segments.len() < pattern.len() {
                return None;
            }
            let mut id = None;
            for (want, got) in pattern.iter().zip(&segments) {
                match *want {
                    "*" => {}
                    "{id}" => id = Some(*got),
                    literal if literal == *got => {}
                    _ => return None,
                }
            }
            id.filter(|id| valid_id(id)).map(str::to_owned)
        });
        return Some(SitePage { site: rule.site, url: format!("https://{host}{path}"), conversation_id });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(url: &str) -> Option<(String, String)> {
        parse_url(url).and_then(|p| p.conversation_id.map(|id| (p.site.as_str().to_owned(), id)))
    }

    #[test]
    fn each_site_s_conversation_addresses_give_site_and_id() {
        let cases = [
            ("https://chatgpt.com/c/6789-abcd?model=x#y", "chatgpt", "6789-abcd"),
            ("https://chatgpt.com/g/g-123-helper/c/abc-1", "chatgpt", "abc-1"),
            ("https://claude.ai/chat/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab", "claude", "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"),
            ("https://gemini.google.com/app/6b2d1a9c3e", "gemini", "6b2d1a9c3e"),
            ("https://www.perplexity.ai/search/what-is-rust-Ab3_xY", "perplexity", "what-is-rust-Ab3_xY"),
            ("https://perplexity.ai/search/q-1", "perplexity", "q-1"),
            ("https://grok.com/c/5f6e", "grok", "5f6e"),
            ("https://chat.deepseek.com/a/chat/s/abc123", "deepseek", "abc123"),
            ("https://copilot.microsoft.com/chats/XyZ9", "copilot", "XyZ9"),
            ("https://chat.mistral.ai/chat/9a8b7c", "mistral", "9a8b7c"),
        ];
        for (url, site, conv) in cases {
            assert_eq!(id(url), Some((site.to_owned(), conv.to_owned())), "{url}");
        }
        assert_eq!(parse_url("https://chatgpt.com/c/abc?x=1").unwrap().url, "https://chatgpt.com/c/abc");
    }

    #[test]
    fn other_pages_of_a_site_have_no_conversation() {
        let page = parse_url("https://chatgpt.com/").unwrap();
        assert_eq!((page.site, page.conversation_id), (Site::ChatGpt, None));
        assert_eq!(parse_url("https://claude.ai/new").unwrap().conversation_id, None);
        assert_eq!(parse_url("https://chatgpt.com/c/bad%20id").unwrap().conversation_id, None);
    }

    #[test]
    fn look_alike_and_insecure_addresses_are_not_sites() {
        for url in [
            "http://chatgpt.com/c/abc",
            "https://chatgpt.com.evil.example/c/abc",
            "https://evil.example/chatgpt.com/c/abc",
            "https://user@chatgpt.com/c/abc",
            "https://chatgpt.com:8443/c/abc",
            "chrome-extension://x/vault.html",
            "",
        ] {
            assert_eq!(parse_url(url), None, "{url}");
        }
    }
}
