//! Little building blocks of every search byte format: LEB128 varints (7 bits a
//! byte, low bits first, high bit set on every byte but the last), zigzag for signed
//! numbers, length-prefixed byte strings, and a bounds-checked reader that never
//! panics on damaged input.

pub fn put_u32(buf: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub fn put_u64(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub fn put_i64(buf: &mut Vec<u8>, v: i64) {
    put_u64(buf, ((v << 1) ^ (v >> 63)) as u64);
}

pub fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(buf, bytes.len() as u32);
    buf.extend_from_slice(bytes);
}

/// Decodes a varint at `*at` in hot loops; `None` at the end or on a damaged varint.
#[inline(always)]
pub fn get_u32(buf: &[u8], at: &mut usize) -> Option<u32> {
    let b = *buf.get(*at)?;
    *at += 1;
    if b < 0x80 {
        return Some(b as u32);
    }
    let mut v = (b & 0x7f) as u32;
    let mut shift = 7;
    loop {
        let b = *buf.get(*at)?;
        *at += 1;
        if shift > 28 {
            return None;
        }
        v |= ((b & 0x7f) as u32) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
}

/// A reader over untrusted bytes: every method fails instead of panicking.
pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub at: usize,
}

/// What a decoder reports: a static description of where the bytes were wrong.
pub type Bad = &'static str;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    /// Checks the 4-byte magic and the version byte.
    pub fn header(&mut self, magic: &[u8; 4], version: u8) -> Result<(), Bad> {
        if self.take(4)? != magic {
            return Err("wrong magic");
        }
        match self.u8()? {
            v if v == version => Ok(()),
            _ => Err("unknown version"),
        }
    }

    /// Checks the 4-byte magic and returns the version byte, one of `1..=newest`.
    pub fn header_upto(&mut self, magic: &[u8; 4], newest: u8) -> Result<u8, Bad> {
        if self.take(4)? != magic {
            return Err("wrong magic");
        }
        match self.u8()? {
            v if (1..=newest).contains(&v) => Ok(v),
            _ => Err("unknown version"),
        }
    }

    pub fn u8(&mut self) -> Result<u8, Bad> {
        let b = *self.buf.get(self.at).ok_or("truncated")?;
        self.at += 1;
        Ok(b)
    }

    pub fn u32(&mut self) -> Result<u32, Bad> {
        get_u32(self.buf, &mut self.at).ok_or("bad varint")
    }

    pub fn u64(&mut self) -> Result<u64, Bad> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("bad varint")
    }

    pub fn i64(&mut self) -> Result<i64, Bad> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A count of items that each take at least one byte: bounded by what is left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }

    pub fn count(&mut self) -> Result<usize, Bad> {
        let n = self.u32()? as usize;
        if n > self.buf.len() - self.at {
            return Err("count larger than the data");
        }
        Ok(n)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or("truncated")?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Ok(out)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], Bad> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub fn str(&mut self) -> Result<&'a str, Bad> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "text is not UTF-8")
    }

    pub fn end(&self) -> Result<(), Bad> {
        if self.at == self.buf.len() {
            Ok(())
        } else {
            Err("trailing bytes")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_their_edges() {
        let mut buf = Vec::new();
        for v in [0u32, 127, 128, 16383, 16384, u32::MAX] {
            put_u32(&mut buf, v);
        }
        put_i64(&mut buf, -1_700_000_000_000);
        let mut r = Reader::new(&buf);
        for v in [0u32, 127, 128, 16383, 16384, u32::MAX] {
            assert_eq!(r.u32().unwrap(), v);
        }
        assert_eq!(r.i64().unwrap(), -1_700_000_000_000);
        r.end().unwrap();
        assert_eq!(get_u32(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], &mut 0), None);
    }
}
