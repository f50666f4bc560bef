//! The document table: for each document number, what a query filters and ranks on
//! (site, role, time, length) and what a hit names (message and conversation ids).
//!
//! Document numbers only grow: a replaced or deleted document keeps its number,
//! marked deleted, so postings never need renumbering.

use super::codec::{self, Bad, Reader};
use super::postings::FxMap;

/// `conv` of a document whose ids are not loaded yet (persisted index).
pub const UNKNOWN: u32 = u32::MAX;

#[derive(Default, Debug, Clone)]
pub struct DocTable {
    pub ids: Vec<Box<str>>,
    pub conv: Vec<u32>,
    pub site: Vec<u16>,
    pub role: Vec<u8>,
    pub ts: Vec<i64>,
    pub len: Vec<u32>,
    deleted: Vec<u64>,
    pub convs: Vec<Box<str>>,
    conv_map: FxMap<Box<str>, u32>,
    conv_docs: Vec<Vec<u32>>,
    /// Message id to document, built when first needed (loading does not pay for it).
    id_map: FxMap<Box<str>, u32>,
    id_map_stale: bool,
    pub sites: Vec<Box<str>>,
    pub roles: Vec<Box<str>>,
    pub live: u32,
    pub total_len: u64,
}

fn intern<T: TryFrom<usize>>(table: &mut Vec<Box<str>>, value: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    let i = match table.iter().position(|s| &**s == value) {
        Some(i) => i,
        None => {
            table.push(value.into());
            table.len() - 1
        }
    };
    T::try_from(i).unwrap_or_else(|_| T::try_from(0).expect("0 fits"))
}

impl DocTable {
    pub fn slots(&self) -> u32 {
        self.len.len() as u32
    }

    #[inline]
    pub fn is_live(&self, doc: u32) -> bool {
        (doc as usize) < self.len.len()
            && self.deleted.get(doc as usize / 64).is_none_or(|w| w & (1 << (doc % 64)) == 0)
    }

    pub fn avg_len(&self) -> f32 {
        if self.live == 0 {
            1.0
        } else {
            (self.total_len as f32 / self.live as f32).max(1.0)
        }
    }

    pub fn site_code(&self, site: &str) -> Option<u16> {
        self.sites.iter().position(|s| &**s == site).map(|i| i as u16)
    }

    pub fn role_code(&self, role: &str) -> Option<u8> {
        self.roles.iter().position(|s| &**s == role).map(|i| i as u8)
    }

    pub fn doc_of(&mut self, id: &str) -> Option<u32> {
        if self.id_map_stale {
            self.id_map_stale = false;
            let mut map = FxMap::default();
            for d in 0..self.slots() {
                if self.is_live(d) && self.conv[d as usize] != UNKNOWN {
                    map.insert(self.ids[d as usize].clone(), d);
                }
            }
            self.id_map = map;
        }
        self.id_map.get(id).copied()
    }

    pub fn conversation_docs(&self, conversation: &str) -> Vec<u32> {
        match self.conv_map.get(conversation) {
            Some(&c) => self.conv_docs[c as usize].iter().copied().filter(|&d| self.is_live(d)).collect(),
            None => Vec::new(),
        }
    }

    /// Appends a live document; returns its number.
    pub fn push(&mut self, id: &str, conversation: &str, site: &str, role: &str, ts: i64, len: u32) -> u32 {
        let doc = self.slots();
        // Filters compare lowercased names (`site:Claude` finds "claude").
        let site = intern::<u16>(&mut self.sites, &site.trim().to_ascii_lowercase());
        let role = intern::<u8>(&mut self.roles, &role.trim().to_ascii_lowercase());
        self.len.push(len);
        self.site.push(site);
        self.role.push(role);
        self.ts.push(ts);
        self.ids.push(Box::from(""));
        self.conv.push(UNKNOWN);
        self.set_ids(doc, id, conversation);
        self.live += 1;
        self.total_len += len as u64;
        doc
    }

    /// Names a document (when its id chunk is loaded, or when it is added).
    pub fn set_ids(&mut self, doc: u32, id: &str, conversation: &str) {
        self.name(doc, id, conversation);
        if self.is_live(doc) && !self.id_map_stale {
            self.id_map.insert(id.into(), doc);
        }
    }

    fn name(&mut self, doc: u32, id: &str, conversation: &str) {
        let c = match self.conv_map.get(conversation) {
            Some(&c) => c,
            None => {
                let c = self.convs.len() as u32;
                self.convs.push(conversation.into());
                self.conv_map.insert(conversation.into(), c);
                self.conv_docs.push(Vec::new());
                c
            }
        };
        self.conv[doc as usize] = c;
        self.conv_docs[c as usize].push(doc);
        self.ids[doc as usize] = id.into();
    }

    pub fn conversation_of(&self, doc: u32) -> &str {
        match self.conv.get(doc as usize) {
            Some(&c) if c != UNKNOWN => &self.convs[c as usize],
            _ => "",
        }
    }

    /// Marks a document deleted (its postings stay until they are rewritten).
    pub fn delete(&mut self, doc: u32) {
        if !self.is_live(doc) {
            return;
        }
        let w = doc as usize / 64;
        if self.deleted.len() <= w {
            self.deleted.resize(w + 1, 0);
        }
        self.deleted[w] |= 1 << (doc % 64);
        self.live -= 1;
        self.total_len -= self.len[doc as usize] as u64;
        let id = &self.ids[doc as usize];
        if !self.id_map_stale && self.id_map.get(id) == Some(&doc) {
            self.id_map.remove(id);
        }
    }

    /// Deletes the live documents of a conversation; returns how many.
    pub fn remove_conversation(&mut self, conversation: &str) -> usize {
        let docs = self.conversation_docs(conversation);
        for &d in &docs {
            self.delete(d);
        }
        docs.len()
    }

    pub fn deleted_docs(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.slots()).filter(|&d| !self.is_live(d))
    }

    /// The table's head: counts, the site and role names, the deleted documents.
    ///
    /// ```text
    /// head := slots:varint live:varint total_len:varint64
    ///         site_count:varint site:bytes* role_count:varint role:bytes*
    ///         deleted_count:varint { doc_delta:varint }*   (ascending, first from 0)
    /// ```
    pub fn encode_head(&self, out: &mut Vec<u8>) {
        codec::put_u32(out, self.slots());
        codec::put_u32(out, self.live);
        codec::put_u64(out, self.total_len);
        for table in [&self.sites, &self.roles] {
            codec::put_u32(out, table.len() as u32);
            for s in table {
                codec::put_bytes(out, s.as_bytes());
            }
        }
        let deleted: Vec<u32> = self.deleted_docs().collect();
        codec::put_u32(out, deleted.len() as u32);
        let mut prev = 0;
        for d in deleted {
            codec::put_u32(out, d - prev);
            prev = d;
        }
    }

    /// Reads a head into an empty table with `slots` unnamed documents whose
    /// attributes are zero until [`DocTable::decode_attrs`] fills them. The table is
    /// allocated before the documents are read: a head claiming more than `max_slots`
    /// (or 2^27) documents is refused, so a few hostile bytes cannot ask for gigabytes.
    pub fn decode_head(r: &mut Reader<'_>, max_slots: usize) -> Result<DocTable, Bad> {
        let slots = r.u32()?;
        if slots as usize > max_slots.min(1 << 27) {
            return Err("too many documents");
        }
        let live = r.u32()?;
        let total_len = r.u64()?;
        let mut t = DocTable { live, total_len, ..Default::default() };
        for which in 0..2 {
            let n = r.count()?;
            for _ in 0..n {
                let s = r.str()?;
                if which == 0 {
                    t.sites.push(s.into())
                } else {
                    t.roles.push(s.into())
                }
            }
        }
        let n = slots as usize;
        t.len = vec![0; n];
        t.site = vec![0; n];
        t.role = vec![0; n];
        t.ts = vec![0; n];
        t.ids = vec![Box::from(""); n];
        t.conv = vec![UNKNOWN; n];
        t.deleted = vec![0; n.div_ceil(64)];
        let count = r.count()?;
        let mut d = 0u32;
        for i in 0..count {
            let delta = r.u32()?;
            d = d.checked_add(delta).ok_or("bad deleted list")?;
            if d >= slots || (i > 0 && delta == 0) {
                return Err("bad deleted list");
            }
            t.deleted[d as usize / 64] |= 1 << (d % 64);
        }
        if live as usize + count != n {
            return Err("document counts disagree");
        }
        Ok(t)
    }

    /// Attributes of documents `from..to`:
    /// `{ len:varint site:varint role:varint ts_delta:zigzag-varint64 }*`, where
    /// `ts_delta` is the time minus the previous document's (the first's minus 0):
    /// messages mostly arrive in time order, so this takes 2-3 bytes, not 6.
    pub fn encode_attrs(&self, from: u32, to: u32, out: &mut Vec<u8>) {
        let mut prev = 0i64;
        for d in from as usize..to as usize {
            codec::put_u32(out, self.len[d]);
            codec::put_u32(out, self.site[d] as u32);
            codec::put_u32(out, self.role[d] as u32);
            codec::put_i64(out, self.ts[d].wrapping_sub(prev));
            prev = self.ts[d];
        }
    }

    pub fn decode_attrs(&mut self, from: u32, to: u32, r: &mut Reader<'_>) -> Result<(), Bad> {
        if to > self.slots() || from > to {
            return Err("document range outside the table");
        }
        let mut prev = 0i64;
        for d in from as usize..to as usize {
            self.len[d] = r.u32()?;
            let site = r.u32()?;
            let role = r.u32()?;
            if site as usize >= self.sites.len().max(1) || role as usize >= self.roles.len().max(1) {
                return Err("unknown site or role");
            }
            self.site[d] = site as u16;
            self.role[d] = role as u8;
            prev = prev.wrapping_add(r.i64()?);
            self.ts[d] = prev;
        }
        Ok(())
    }

    /// Ids of documents `from..to`: `{ id:bytes conversation_id:bytes }*`.
    pub fn encode_ids(&self, from: u32, to: u32, out: &mut Vec<u8>) {
        for d in from..to {
            codec::put_bytes(out, self.ids[d as usize].as_bytes());
            codec::put_bytes(out, self.conversation_of(d).as_bytes());
        }
    }

    /// Ids of documents `from..to`, compactly: see [`IdWriter`].
    pub fn encode_ids_compact(&self, from: u32, to: u32, out: &mut Vec<u8>) {
        let mut w = IdWriter::default();
        for d in from..to {
            w.put(&self.ids[d as usize], self.conversation_of(d), out);
        }
    }

    pub fn decode_ids_compact(&mut self, from: u32, to: u32, r: &mut Reader<'_>) -> Result<(), Bad> {
        if to > self.slots() || from > to {
            return Err("document range outside the table");
        }
        let mut ids = IdReader::default();
        for d in from..to {
            let (id, conv) = ids.next(r)?;
            self.name(d, &id, conv);
        }
        self.id_map_stale = true;
        Ok(())
    }

    pub fn decode_ids(&mut self, from: u32, to: u32, r: &mut Reader<'_>) -> Result<(), Bad> {
        if to > self.slots() || from > to {
            return Err("document range outside the table");
        }
        for d in from..to {
            let id = r.str()?;
            let conv = r.str()?;
            self.name(d, id, conv);
        }
        self.id_map_stale = true;
        Ok(())
    }
}

/// An id chunk kept as read (version 1 or compact), its documents named only when a
/// query's hits need them: naming every document of the chunks a query touches (up to
/// 70 chunks of 1,024 at 100k messages) cost a cold query most of its time.
pub struct RawIds {
    version: u8,
    /// The chunk's bytes after its header.
    body: Vec<u8>,
    count: u32,
}

impl RawIds {
    /// Checks the chunk's `count` documents (as [`DocTable::decode_ids`] or
    /// [`DocTable::decode_ids_compact`] would read them) and keeps its bytes.
    pub fn check(version: u8, count: u32, plain: &[u8], body_at: usize) -> Result<Self, Bad> {
        let body = plain.get(body_at..).ok_or("truncated")?;
        let mut r = Reader::new(body);
        let mut ids = IdReader::default();
        for _ in 0..count {
            if version == 1 {
                r.str()?;
                r.str()?;
            } else {
                ids.skip(&mut r)?;
            }
        }
        r.end()?;
        Ok(RawIds { version, body: body.to_vec(), count })
    }

    /// `(message id, conversation id)` of the chunk's `at`-th document.
    pub fn name(&self, at: u32) -> Result<(String, String), Bad> {
        if at >= self.count {
            return Err("document outside its id chunk");
        }
        let mut r = Reader::new(&self.body);
        if self.version == 1 {
            for _ in 0..at {
                r.str()?;
                r.str()?;
            }
            return Ok((r.str()?.to_owned(), r.str()?.to_owned()));
        }
        let mut ids = IdReader::default();
        for _ in 0..at {
            ids.skip(&mut r)?;
        }
        let (id, conv) = ids.next(&mut r)?;
        Ok((id, conv.to_owned()))
    }

    /// Names every document of the chunk, documents `from..` of `docs`.
    pub fn name_all(&self, docs: &mut DocTable, from: u32) -> Result<(), Bad> {
        let mut r = Reader::new(&self.body);
        let to = from + self.count;
        if self.version == 1 {
            docs.decode_ids(from, to, &mut r)
        } else {
            docs.decode_ids_compact(from, to, &mut r)
        }
    }
}

/// Message and conversation ids, compactly: a conversation's id is written once for a
/// run of its documents, and a message id of the form `<conversation id>:<position>`
/// (every message of the vault) as its position.
///
/// ```text
/// ids  := { head:varint64 [conversation_id:bytes] [id:bytes] }*
/// head := position_plus_1 << 1 | new_conversation
/// ```
/// `new_conversation` (1): the conversation id follows, and holds for the next
/// documents until another follows (the first document always has it).
/// `position_plus_1` > 0: the id is the conversation id, `:`, then `position` in
/// decimal; 0: the id follows as bytes.
#[derive(Default)]
pub struct IdWriter<'a> {
    conv: Option<&'a str>,
}

impl<'a> IdWriter<'a> {
    pub fn put(&mut self, id: &str, conv: &'a str, out: &mut Vec<u8>) {
        let new = self.conv != Some(conv);
        let position = id
            .strip_prefix(conv)
            .and_then(|p| p.strip_prefix(':'))
            .filter(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
            .filter(|p| *p == "0" || !p.starts_with('0'))
            .and_then(|p| p.parse::<u64>().ok());
        codec::put_u64(out, position.map_or(0, |p| p + 1) << 1 | new as u64);
        if new {
            codec::put_bytes(out, conv.as_bytes());
            self.conv = Some(conv);
        }
        if position.is_none() {
            codec::put_bytes(out, id.as_bytes());
        }
    }
}

/// Reads what [`IdWriter`] wrote, one document at a time: `(id, conversation id)`.
#[derive(Default)]
pub struct IdReader<'a> {
    conv: Option<&'a str>,
}

impl<'a> IdReader<'a> {
    pub fn next(&mut self, r: &mut Reader<'a>) -> Result<(String, &'a str), Bad> {
        let (position, conv) = self.head(r)?;
        let id = match position {
            None => r.str()?.to_owned(),
            Some(p) => format!("{conv}:{p}"),
        };
        Ok((id, conv))
    }

    /// Reads past one document, checking it as [`IdReader::next`] does, naming nothing.
    pub fn skip(&mut self, r: &mut Reader<'a>) -> Result<(), Bad> {
        if self.head(r)?.0.is_none() {
            r.str()?;
        }
        Ok(())
    }

    /// The document's position (`None`: its id follows as bytes) and conversation id.
    fn head(&mut self, r: &mut Reader<'a>) -> Result<(Option<u64>, &'a str), Bad> {
        let head = r.u64()?;
        if head & 1 == 1 {
            self.conv = Some(r.str()?);
        }
        let conv = self.conv.ok_or("no conversation")?;
        match head >> 1 {
            0 => Ok((None, conv)),
            p if p <= 1_000_000_000 => Ok((Some(p - 1), conv)),
            _ => Err("position out of range"),
        }
    }
}
