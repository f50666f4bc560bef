//! Sealing every record of one write at once.
//!
//! Natively each record goes through [`envelope::seal`]. In the browser the AES-GCM runs
//! in WebCrypto, the browser's own AES (hardware instructions), several times faster
//! than this crate's AES compiled to wasm, with all of a write's records in flight
//! together. Both make the same v1 envelope (`envelope.rs`: version, fresh random nonce,
//! ciphertext and tag) under the record key with the record's associated data, so
//! either opens with [`DataKey::open_record`]; the wasm tests check that WebCrypto's
//! envelopes open that way. If WebCrypto fails for any reason, the records are sealed
//! here instead: a write never depends on it.

use super::envelope;
use super::keys::DataKey;
use super::CryptoError;

/// One record to seal: its store, its key and its plaintext.
pub struct ToSeal<'a> {
    pub store: &'a str,
    pub key: &'a str,
    pub plain: &'a [u8],
}

/// Seals records in bulk; holds the browser's handle of the record key once made
/// (a non-extractable `CryptoKey`), so make one per unlocked data key.
#[derive(Default)]
pub struct BulkSealer {
    #[cfg(target_arch = "wasm32")]
    webcrypto: std::cell::RefCell<Option<web_sys::CryptoKey>>,
}

impl BulkSealer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The envelope of each record, in order, under `data`'s record key.
    ///
    /// # Errors
    /// Only when the platform has no secure randomness.
    pub async fn seal_all(&self, data: &DataKey, items: &[ToSeal<'_>]) -> Result<Vec<Vec<u8>>, CryptoError> {
        #[cfg(target_arch = "wasm32")]
        if let Ok(sealed) = self.seal_in_webcrypto(data, items).await {
            return Ok(sealed);
        }
        items
            .iter()
            .map(|item| envelope::seal(data.record_key(), &envelope::record_aad(item.store, item.key), item.plain))
            .collect()
    }
}

#[cfg(target_arch = "wasm32")]
impl BulkSealer {
    /// As [`BulkSealer::seal_all`], with WebCrypto only (no fallback): for tests that
    /// check its envelopes.
    ///
    /// # Errors
    /// Whatever WebCrypto threw.
    pub async fn seal_in_webcrypto(&self, data: &DataKey, items: &[ToSeal<'_>]) -> Result<Vec<Vec<u8>>, wasm_bindgen::JsValue> {
        use super::make_random;
        use super::primitives::NONCE_LEN;
        use js_sys::{Array, ArrayBuffer, Uint8Array};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        let subtle = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?
            .dyn_into::<web_sys::Crypto>()?
            .subtle();
        let cached = self.webcrypto.borrow().clone();
        let key = match cached {
            Some(key) => key,
            None => {
                let raw = Uint8Array::from(&data.record_key()[..]);
                let usages = Array::of1(&"encrypt".into());
                let imported = JsFuture::from(subtle.import_key_with_str("raw", &raw, "AES-GCM", false, &usages)?).await;
                raw.fill(0, 0, raw.length());
                let key: web_sys::CryptoKey = imported?.dyn_into()?;
                *self.webcrypto.borrow_mut() = Some(key.clone());
                key
            }
        };
        let mut nonces = Vec::with_capacity(items.len());
        let pending = Array::new();
        for item in items {
            let mut nonce = [0u8; NONCE_LEN];
            make_random(&mut nonce).map_err(|_| wasm_bindgen::JsValue::from_str("no randomness"))?;
            let params = web_sys::AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(&nonce[..]));
            params.set_additional_data_u8_array(&Uint8Array::from(&envelope::record_aad(item.store, item.key)[..]));
            params.set_tag_length(128);
            let promise: js_sys::Promise = subtle.encrypt_with_object_and_u8_array(&params, &key, item.plain)?;
            pending.push(promise.as_ref());
            nonces.push(nonce);
        }
        let sealed = JsFuture::from(js_sys::Promise::all(&pending)).await?.dyn_into::<Array>()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, nonce) in nonces.iter().enumerate() {
            let body = Uint8Array::new(&sealed.get(i as u32).dyn_into::<ArrayBuffer>()?.into());
            let mut envelope = Vec::with_capacity(1 + NONCE_LEN + body.length() as usize);
            envelope.push(envelope::VERSION_1);
            envelope.extend_from_slice(nonce);
            let start = envelope.len();
            envelope.resize(start + body.length() as usize, 0);
            body.copy_to(&mut envelope[start..]);
            out.push(envelope);
        }
        Ok(out)
    }
}
