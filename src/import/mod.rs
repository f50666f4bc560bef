//! Official data exports of AI sites (ChatGPT, Claude) into conversations.
