//! Search: tokenizer, inverted index, query parser, snippets, persisted segments.
