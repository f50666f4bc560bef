//! An in-memory Store for native tests, with fault injection to prove that a failed
//! write changes nothing.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use super::{prefix_end, Op, Store, StoreError, StoreName};

#[derive(Default)]
pub struct MemoryStore {
    data: RefCell<BTreeMap<(StoreName, String), Vec<u8>>>,
    fail_writes: Cell<Option<StoreError>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `apply` fail with `err` (as a full disk would).
    pub fn fail_next_write(&self, err: StoreError) {
        self.fail_writes.set(Some(err));
    }

    /// Every record as stored, for tests that inspect raw bytes.
    pub fn raw(&self) -> Vec<(StoreName, String, Vec<u8>)> {
        self.data.borrow().iter().map(|((s, k), v)| (*s, k.clone(), v.clone())).collect()
    }

    /// Overwrites one raw record, for tests that damage or move records.
    pub fn put_raw(&self, store: StoreName, key: &str, value: Vec<u8>) {
        self.data.borrow_mut().insert((store, key.to_owned()), value);
    }
}

impl Store for MemoryStore {
    async fn get(&self, store: StoreName, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.data.borrow().get(&(store, key.to_owned())).cloned())
    }

    async fn get_prefix(&self, store: StoreName, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let data = self.data.borrow();
        let range = (store, prefix.to_owned())..(store, prefix_end(prefix));
        Ok(data.range(range).map(|((_, k), v)| (k.clone(), v.clone())).collect())
    }

    async fn count(&self, store: StoreName) -> Result<u32, StoreError> {
        Ok(self.data.borrow().keys().filter(|(s, _)| *s == store).count() as u32)
    }

    async fn apply(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        if let Some(err) = self.fail_writes.take() {
            return Err(err);
        }
        if !Op::all_sealed(&ops) {
            return Err(StoreError::Write("a record was not sealed".into()));
        }
        let mut data = self.data.borrow_mut();
        for op in ops {
            match op {
                Op::Put { store, key, value } => {
                    data.insert((store, key), value);
                }
                Op::Delete { store, key } => {
                    data.remove(&(store, key));
                }
                Op::Seal { .. } => unreachable!("refused above"),
                Op::DeletePrefix { store, prefix } => {
                    let range = (store, prefix.clone())..(store, prefix_end(&prefix));
                    let doomed: Vec<_> = data.range(range).map(|(k, _)| k.clone()).collect();
                    for k in doomed {
                        data.remove(&k);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl MemoryStore {
    pub(crate) fn data_for_tests(&self) -> std::cell::RefMut<'_, BTreeMap<(StoreName, String), Vec<u8>>> {
        self.data.borrow_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Plain;
    use pollster::block_on;

    #[test]
    fn a_batch_with_a_record_not_yet_sealed_is_refused_whole() {
        let store = MemoryStore::new();
        let ops = vec![
            Op::Put { store: StoreName::Meta, key: "a".into(), value: b"sealed".to_vec() },
            Op::Seal { store: StoreName::Conversations, key: "b".into(), plain: Plain(b"plain text".to_vec().into()) },
        ];
        assert!(matches!(block_on(store.apply(ops)), Err(StoreError::Write(_))));
        assert!(store.data_for_tests().is_empty(), "nothing of the batch was written");
        // Its plaintext never shows in a debug print either.
        let op = Op::Seal { store: StoreName::Meta, key: "k".into(), plain: Plain(b"secret words".to_vec().into()) };
        assert!(!format!("{op:?}").contains("secret"));
    }
}
