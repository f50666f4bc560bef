//! Which AI site an address belongs to, and the conversation id in it.
//!
//! The background decides a content script's site and conversation from the address
//! the browser reports for the sender's tab, never from the message. The content
//! scripts' adapters (extension/sites/*.js) carry the same patterns for the page side;
//! tests/node/sites.test.mjs checks that both agree.

use serde::Serialize;

use crate::model::Site;

/// `pattern` lists path segments; `*` matches any one segment, `{id}` captures the id
/// (further segments may follow). A last element `?name` reads the id from the query
/// parameter `name` instead, on the page whose path is exactly the segments before it.
/// `scope` is the path prefix a shared host (x.com) counts under; empty for a whole host.
struct SiteRule {
    site: Site,
    hosts: &'static [&'static str],
    scope: &'static [&'static str],
    patterns: &'static [&'static [&'static str]],
}

fn rules() -> [SiteRule; 9] {
    [
        SiteRule {
            site: Site::ChatGpt,
            hosts: &["chatgpt.com", "chat.openai.com"],
            scope: &[],
            patterns: &[&["c", "{id}"], &["g", "*", "c", "{id}"]],
        },
        SiteRule { site: Site::Claude, hosts: &["claude.ai"], scope: &[], patterns: &[&["chat", "{id}"]] },
        SiteRule {
            site: Site::Gemini,
            hosts: &["gemini.google.com"],
            scope: &[],
            patterns: &[
                &["app", "{id}"],
                &["gem", "*", "{id}"],
                &["u", "*", "app", "{id}"],
                &["u", "*", "gem", "*", "{id}"],
            ],
        },
        SiteRule {
            site: Site::Perplexity,
            hosts: &["www.perplexity.ai", "perplexity.ai"],
            scope: &[],
            patterns: &[&["search", "{id}"]],
        },
        SiteRule {
            site: Site::Grok,
            hosts: &["grok.com"],
            scope: &[],
            patterns: &[&["c", "{id}"], &["*", "c", "{id}"], &["chat", "{id}"], &["?rid"]],
        },
        // Grok inside X: only x.com/i/grok is Grok; the rest of X is no AI site.
        SiteRule {
            site: Site::Grok,
            hosts: &["x.com"],
            scope: &["i", "grok"],
            patterns: &[&["i", "grok", "?conversation"]],
        },
        SiteRule {
            site: Site::DeepSeek,
            hosts: &["chat.deepseek.com"],
            scope: &[],
            patterns: &[&["a", "*", "s", "{id}"]],
        },
        SiteRule {
            site: Site::Copilot,
            hosts: &["copilot.microsoft.com"],
            scope: &[],
            patterns: &[&["chats", "{id}"]],
        },
        SiteRule { site: Site::Mistral, hosts: &["chat.mistral.ai"], scope: &[], patterns: &[&["chat", "{id}"]] },
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
    let query = rest[path_end..].strip_prefix('?').map_or("", |q| q.split('#').next().unwrap_or(""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for rule in rules() {
        if !rule.hosts.contains(&host.as_str()) || !segments.starts_with(rule.scope) {
            continue;
        }
        // The id, and the query parameter it came from (None: from the path).
        let found = rule.patterns.iter().find_map(|pattern| {
            if let Some((param, fixed)) =
                pattern.split_last().and_then(|(last, fixed)| Some((last.strip_prefix('?')?, fixed)))
            {
                let id = query_value(query, param).filter(|id| segments == fixed && valid_id(id))?;
                return Some((id, Some(param)));
            }
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
            id.filter(|id| valid_id(id)).map(|id| (id, None))
        });
        // An id read from the query stays in the conversation's address: it is the page.
        let url = match found {
            Some((id, Some(param))) => format!("https://{host}{path}?{param}={id}"),
            _ => format!("https://{host}{path}"),
        };
        return Some(SitePage { site: rule.site, url, conversation_id: found.map(|(id, _)| id.to_owned()) });
    }
    None
}

/// The first raw (undecoded) value of `name` in a query string.
fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| pair.split_once('=').filter(|(key, _)| *key == name).map(|(_, value)| value))
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
            (
                "https://claude.ai/chat/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab",
                "claude",
                "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab",
            ),
            ("https://gemini.google.com/app/6b2d1a9c3e", "gemini", "6b2d1a9c3e"),
            ("https://www.perplexity.ai/search/what-is-rust-Ab3_xY", "perplexity", "what-is-rust-Ab3_xY"),
            ("https://perplexity.ai/search/q-1", "perplexity", "q-1"),
            ("https://grok.com/c/5f6e", "grok", "5f6e"),
            ("https://grok.com/chat/7a8b-9c", "grok", "7a8b-9c"),
            ("https://grok.com/en/c/5f6e-77", "grok", "5f6e-77"),
            ("https://grok.com/?rid=d41c-8e02", "grok", "d41c-8e02"),
            ("https://grok.com/?ref=x&rid=d41c#top", "grok", "d41c"),
            ("https://x.com/i/grok?conversation=1949223611530703142", "grok", "1949223611530703142"),
            ("https://chat.deepseek.com/a/chat/s/abc123", "deepseek", "abc123"),
            ("https://chat.deepseek.com/a/search/s/ab-12", "deepseek", "ab-12"),
            ("https://copilot.microsoft.com/chats/XyZ9", "copilot", "XyZ9"),
            ("https://chat.mistral.ai/chat/9a8b7c", "mistral", "9a8b7c"),
        ];
        for (url, site, conv) in cases {
            assert_eq!(id(url), Some((site.to_owned(), conv.to_owned())), "{url}");
        }
        assert_eq!(parse_url("https://chatgpt.com/c/abc?x=1").unwrap().url, "https://chatgpt.com/c/abc");
        // An id from the query keeps only that parameter in the address.
        assert_eq!(
            parse_url("https://x.com/i/grok?x=1&conversation=19492#y").unwrap().url,
            "https://x.com/i/grok?conversation=19492"
        );
        assert_eq!(parse_url("https://grok.com/?rid=d41c&utm=z").unwrap().url, "https://grok.com/?rid=d41c");
    }

    #[test]
    fn only_the_grok_pages_of_x_com_are_an_ai_site() {
        let page = parse_url("https://x.com/i/grok").unwrap();
        assert_eq!((page.site, page.conversation_id), (Site::Grok, None));
        assert_eq!(parse_url("https://x.com/i/grok/share/abc").unwrap().site, Site::Grok);
        for url in [
            "https://x.com/",
            "https://x.com/home",
            "https://x.com/elonmusk/status/123?conversation=456",
            "https://x.com/i/grokker?conversation=456",
            "https://x.com/i/bookmarks?conversation=456",
            "https://x.com/grok?conversation=456",
        ] {
            assert_eq!(parse_url(url), None, "{url}");
        }
        // The conversation parameter counts on /i/grok itself, not below it nor elsewhere on grok.com.
        assert_eq!(parse_url("https://x.com/i/grok/share/abc?conversation=456").unwrap().conversation_id, None);
        assert_eq!(parse_url("https://grok.com/c?rid=abc").unwrap().conversation_id, None);
        assert_eq!(parse_url("https://x.com/i/grok?conversation=bad%20id").unwrap().conversation_id, None);
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
