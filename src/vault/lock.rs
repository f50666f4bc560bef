//! Lock and keys: creating the vault, unlocking it (passphrase or session key),
//! locking, the passphrase change and wiping. Reads and writes the meta record.

use std::rc::Rc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::limits::{check_new_passphrase, MAX_PASSPHRASE_BYTES};
use super::recent_list::recent_list_put;
use super::records::{MetaRecord, META_FORMAT, META_KEY, PRIVATE_KEY_SLOT};
use super::{random_error, Unlocked, Vault};
use crate::crypto::bulk::BulkSealer;
use crate::crypto::kdf::{derive_kek, KdfParams, SALT_LEN};
use crate::crypto::keys::DataKey;
use crate::crypto::make_random;
use crate::crypto::sealed_box::BoxKeyPair;
use crate::crypto::CryptoError;
use crate::error::VaultError;
use crate::model::Site;
use crate::store::{Op, Store, StoreName};

impl<S: Store> Vault<S> {
    pub(super) async fn read_meta(&self) -> Result<Option<MetaRecord>, VaultError> {
        let Some(bytes) = self.store.get(StoreName::Meta, META_KEY).await? else {
            return Ok(None);
        };
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let version: Version =
            serde_json::from_slice(&bytes).map_err(|_| VaultError::Damaged("the vault's settings record".into()))?;
        if version.format > META_FORMAT {
            return Err(VaultError::NewerVersion);
        }
        let meta: MetaRecord =
            serde_json::from_slice(&bytes).map_err(|_| VaultError::Damaged("the vault's settings record".into()))?;
        meta.kdf.check().map_err(kdf_error)?;
        Ok(Some(meta))
    }

    async fn write_meta(&self, meta: &MetaRecord) -> Result<(), VaultError> {
        let value = serde_json::to_vec(meta).expect("meta serialises");
        self.store.apply(vec![Op::Put { store: StoreName::Meta, key: META_KEY.into(), value }]).await?;
        Ok(())
    }

    /// Creates the vault and leaves it unlocked.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`] if there is one; [`VaultError::InvalidInput`] for a
    /// passphrase that is too short; [`VaultError::WeakKdf`] for unsafe parameters.
    pub async fn create(&self, passphrase: &str, params: KdfParams, now: i64) -> Result<(), VaultError> {
        check_new_passphrase(passphrase)?;
        params.check().map_err(kdf_error)?;
        if self.read_meta().await?.is_some() {
            return Err(VaultError::AlreadyExists);
        }
        let mut salt = [0u8; SALT_LEN];
        make_random(&mut salt).map_err(random_error)?;
        let kek = derive_kek(passphrase, &salt, &params).map_err(kdf_error)?;
        let data = DataKey::make().map_err(random_error)?;
        let box_pair = BoxKeyPair::make().map_err(random_error)?;
        let sealed_private = data
            .seal_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, box_pair.secret_bytes().as_ref())
            .map_err(random_error)?;
        let meta = MetaRecord {
            format: META_FORMAT,
            kdf: params,
            salt: B64.encode(salt),
            wrapped_key: B64.encode(data.wrap(&kek).map_err(random_error)?),
            public_key: B64.encode(box_pair.public),
            sealed_private_key: B64.encode(sealed_private),
            created_at: now,
        };
        self.write_meta(&meta).await?;
        let keys = Rc::new(Unlocked { data, box_pair, sealer: BulkSealer::new() });
        // An empty vault's recent list is known: empty. Every write keeps it from here.
        self.write(&keys, vec![recent_list_put(&[])]).await?;
        *self.unlocked.borrow_mut() = Some(keys);
        Ok(())
    }

    /// Unlocks with the passphrase.
    ///
    /// # Errors
    /// [`VaultError::WrongPassphrase`], [`VaultError::NoVault`], or
    /// [`VaultError::Damaged`] when the stored key material was changed.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let salt: [u8; SALT_LEN] =
            decode_b64(&meta.salt)?.try_into().map_err(|_| VaultError::Damaged("the vault's salt".into()))?;
        if passphrase.len() > MAX_PASSPHRASE_BYTES {
            return Err(VaultError::WrongPassphrase);
        }
        let kek = derive_kek(passphrase, &salt, &meta.kdf).map_err(kdf_error)?;
        let data = DataKey::unwrap(&kek, &decode_b64(&meta.wrapped_key)?).map_err(|e| match e {
            CryptoError::Decrypt => VaultError::WrongPassphrase,
            other => VaultError::damaged("the vault's wrapped key", other),
        })?;
        self.finish_unlock(&meta, data)
    }

    /// Unlocks with a data key kept in the browser's session storage (a restarted
    /// service worker). The key is checked against the stored private key.
    pub async fn unlock_with_key(&self, raw: &[u8]) -> Result<(), VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let raw: [u8; 32] =
            raw.try_into().map_err(|_| VaultError::InvalidInput("a session key has 32 bytes".into()))?;
        self.finish_unlock(&meta, DataKey::from_bytes(raw))
    }

    fn finish_unlock(&self, meta: &MetaRecord, data: DataKey) -> Result<(), VaultError> {
        let secret = Zeroizing::new(
            data.open_record(StoreName::Meta.as_str(), PRIVATE_KEY_SLOT, &decode_b64(&meta.sealed_private_key)?)
                .map_err(|e| VaultError::damaged("the vault's private key", e))?,
        );
        let secret: [u8; 32] =
            secret.as_slice().try_into().map_err(|_| VaultError::Damaged("the vault's private key".into()))?;
        let box_pair = BoxKeyPair::from_secret_bytes(secret);
        if B64.encode(box_pair.public) != meta.public_key {
            return Err(VaultError::Damaged("the vault's public key".into()));
        }
        *self.unlocked.borrow_mut() = Some(Rc::new(Unlocked { data, box_pair, sealer: BulkSealer::new() }));
        Ok(())
    }

    pub fn lock(&self) {
        self.unlocked.borrow_mut().take();
        self.last_captured.borrow_mut().take();
        self.index.borrow_mut().take();
    }

    /// The raw data key, to keep in memory-only session storage while unlocked.
    pub fn session_key(&self) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        Ok(self.keys()?.data.to_bytes())
    }

    /// The vault's public key (for sealing captures while locked).
    pub async fn public_key(&self) -> Result<[u8; 32], VaultError> {
        let meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        decode_b64(&meta.public_key)?.try_into().map_err(|_| VaultError::Damaged("the vault's public key".into()))
    }

    /// Re-wraps the data key under a new passphrase; no record is re-encrypted.
    pub async fn change_passphrase(&self, old: &str, new: &str, params: KdfParams) -> Result<(), VaultError> {
        check_new_passphrase(new)?;
        params.check().map_err(kdf_error)?;
        self.unlock(old).await?;
        let keys = self.keys()?;
        let mut meta = self.read_meta().await?.ok_or(VaultError::NoVault)?;
        let mut salt = [0u8; SALT_LEN];
        make_random(&mut salt).map_err(random_error)?;
        let kek = derive_kek(new, &salt, &params).map_err(kdf_error)?;
        meta.kdf = params;
        meta.salt = B64.encode(salt);
        meta.wrapped_key = B64.encode(keys.data.wrap(&kek).map_err(random_error)?);
        // With sync set up, the folder's copy of this record is marked for rewriting in
        // the same write (the next sync puts it there).
        let value = serde_json::to_vec(&meta).expect("meta serialises");
        let mut ops = vec![Op::Put { store: StoreName::Meta, key: META_KEY.into(), value }];
        ops.extend(self.meta_stale_op().await?);
        self.store.apply(ops).await?;
        Ok(())
    }

    /// The opaque id under which a site's conversation is stored.
    pub fn conversation_key(&self, site: &Site, conversation_id: &str) -> Result<String, VaultError> {
        Ok(self.keys()?.data.derive_store_key(&[site.as_str(), conversation_id]))
    }

    /// Erases the whole vault (every store) and locks; the next status is "new".
    pub async fn wipe(&self) -> Result<(), VaultError> {
        let ops = StoreName::ALL.iter().map(|&store| Op::DeletePrefix { store, prefix: String::new() }).collect();
        self.store.apply(ops).await?;
        self.lock();
        Ok(())
    }
}

fn decode_b64(s: &str) -> Result<Vec<u8>, VaultError> {
    B64.decode(s).map_err(|_| VaultError::Damaged("the vault's settings record".into()))
}

pub(super) fn kdf_error(e: CryptoError) -> VaultError {
    match e {
        CryptoError::WeakKdf(why) => VaultError::WeakKdf(why),
        other => VaultError::damaged("the key derivation", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::vault::test_support::{conversation, raw_record, reopened, unlocked, PASS};
    use crate::vault::VaultState;
    use pollster::block_on;

    fn meta_json(vault: &Vault<MemoryStore>) -> String {
        String::from_utf8(raw_record(vault, StoreName::Meta, "vault").unwrap()).unwrap()
    }

    #[test]
    fn a_new_vault_goes_through_create_lock_unlock() {
        let vault = Vault::new(MemoryStore::new());
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
        block_on(vault.create(PASS, KdfParams::MINIMUM, 1)).unwrap();
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::Unlocked);
        let id = block_on(vault.put_conversation(&conversation("c1", &["hello", "world"]))).unwrap();
        vault.lock();
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::Locked);
        assert_eq!(block_on(vault.get_conversation(&id)), Err(VaultError::Locked));
        assert_eq!(block_on(vault.unlock("wrong passphrase!")), Err(VaultError::WrongPassphrase));
        assert!(!vault.is_unlocked());
        block_on(vault.unlock(PASS)).unwrap();
        let back = block_on(vault.get_conversation(&id)).unwrap();
        assert_eq!(back, conversation("c1", &["hello", "world"]));
        let status = block_on(vault.status()).unwrap();
        assert_eq!((status.conversations, status.messages), (1, 2));
    }

    #[test]
    fn creating_twice_is_refused_and_keeps_the_first_vault() {
        let vault = unlocked();
        let id = block_on(vault.put_conversation(&conversation("c1", &["a"]))).unwrap();
        assert_eq!(block_on(vault.create("another passphrase", KdfParams::MINIMUM, 2)), Err(VaultError::AlreadyExists));
        vault.lock();
        block_on(vault.unlock(PASS)).unwrap();
        assert!(block_on(vault.get_conversation(&id)).is_ok());
    }

    #[test]
    fn short_passphrases_and_weak_parameters_are_refused_at_creation() {
        let vault = Vault::new(MemoryStore::new());
        assert!(matches!(block_on(vault.create("short", KdfParams::MINIMUM, 1)), Err(VaultError::InvalidInput(_))));
        let weak = KdfParams { memory_kib: 1024, ..KdfParams::MINIMUM };
        assert!(matches!(block_on(vault.create(PASS, weak, 1)), Err(VaultError::WeakKdf(_))));
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
    }

    #[test]
    fn lowered_kdf_parameters_on_disk_are_refused() {
        let vault = unlocked();
        vault.lock();
        let lowered = meta_json(&vault).replace("\"mKiB\":19456", "\"mKiB\":8");
        vault.store().put_raw(StoreName::Meta, "vault", lowered.into_bytes());
        assert!(matches!(block_on(vault.unlock(PASS)), Err(VaultError::WeakKdf(_))));
    }

    #[test]
    fn a_newer_meta_format_says_update_and_changes_nothing() {
        let vault = unlocked();
        vault.lock();
        let newer = meta_json(&vault).replace("\"format\":1", "\"format\":2");
        vault.store().put_raw(StoreName::Meta, "vault", newer.clone().into_bytes());
        assert_eq!(block_on(vault.unlock(PASS)), Err(VaultError::NewerVersion));
        assert_eq!(block_on(vault.create(PASS, KdfParams::MINIMUM, 1)), Err(VaultError::NewerVersion));
        assert_eq!(meta_json(&vault), newer);
    }

    #[test]
    fn changing_the_passphrase_rewraps_only_the_key() {
        let vault = unlocked();
        let id = block_on(vault.put_conversation(&conversation("c", &["kept"]))).unwrap();
        let records_before: Vec<_> =
            vault.store().raw().into_iter().filter(|(s, _, _)| *s != StoreName::Meta).collect();
        assert_eq!(
            block_on(vault.change_passphrase("not the passphrase", "new passphrase 123", KdfParams::MINIMUM)),
            Err(VaultError::WrongPassphrase)
        );
        block_on(vault.change_passphrase(PASS, "new passphrase 123", KdfParams::MINIMUM)).unwrap();
        let records_after: Vec<_> = vault.store().raw().into_iter().filter(|(s, _, _)| *s != StoreName::Meta).collect();
        assert_eq!(records_before, records_after);
        vault.lock();
        assert_eq!(block_on(vault.unlock(PASS)), Err(VaultError::WrongPassphrase));
        block_on(vault.unlock("new passphrase 123")).unwrap();
        assert_eq!(block_on(vault.get_conversation(&id)).unwrap().messages[0].markdown, "kept");
    }

    #[test]
    fn the_session_key_unlocks_a_fresh_instance_and_a_wrong_one_does_not() {
        let vault = unlocked();
        let id = block_on(vault.put_conversation(&conversation("c", &["t"]))).unwrap();
        let key = vault.session_key().unwrap();
        let fresh = reopened(&vault);
        assert!(matches!(block_on(fresh.unlock_with_key(&[7; 32])), Err(VaultError::Damaged(_))));
        assert!(!fresh.is_unlocked());
        block_on(fresh.unlock_with_key(key.as_ref())).unwrap();
        assert!(block_on(fresh.get_conversation(&id)).is_ok());
    }

    #[test]
    fn wiping_erases_every_record_and_leaves_a_new_vault() {
        let vault = unlocked();
        block_on(vault.put_conversation(&conversation("c", &["x"]))).unwrap();
        block_on(vault.wipe()).unwrap();
        assert!(vault.store().raw().is_empty());
        assert_eq!(block_on(vault.status()).unwrap().state, VaultState::New);
    }
}
