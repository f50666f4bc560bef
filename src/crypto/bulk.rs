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

/// One sealed record to open: its store, its key and its envelope.
pub struct ToOpen<'a> {
    pub store: &'a str,
    pub key: &'a str,
    pub sealed: &'a [u8],
}

/// Seals and opens records in bulk; holds the browser's handle of the record key once made
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

    /// The plaintext of each record, in order, or why it does not open: the same
    /// answers as [`DataKey::open_record`], which gives every failure's reason (in the
    /// browser, WebCrypto opens the records and any that it refuses is opened again by
    /// the Rust code, which names the fault).
    pub async fn open_all(&self, data: &DataKey, items: &[ToOpen<'_>]) -> Vec<Result<Vec<u8>, CryptoError>> {
        #[cfg(target_arch = "wasm32")]
        if let Ok(opened) = self.open_in_webcrypto(data, items).await {
            return opened
                .into_iter()
                .zip(items)
                .map(|(plain, item)| plain.map_or_else(|| data.open_record(item.store, item.key, item.sealed), Ok))
                .collect();
        }
        items.iter().map(|item| data.open_record(item.store, item.key, item.sealed)).collect()
    }
}

#[cfg(target_arch = "wasm32")]
impl BulkSealer {
    /// The browser's AES-GCM and the record key in it, imported on first use.
    async fn webcrypto_key(
        &self,
        data: &DataKey,
    ) -> Result<(web_sys::SubtleCrypto, web_sys::CryptoKey), wasm_bindgen::JsValue> {
        use js_sys::{Array, Uint8Array};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        let subtle = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())?.dyn_into::<web_sys::Crypto>()?.subtle();
        if let Some(key) = self.webcrypto.borrow().clone() {
            return Ok((subtle, key));
        }
        let raw = Uint8Array::from(&data.record_key()[..]);
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let imported = JsFuture::from(subtle.import_key_with_str("raw", &raw, "AES-GCM", false, &usages)?).await;
        raw.fill(0, 0, raw.length());
        let key: web_sys::CryptoKey = imported?.dyn_into()?;
        *self.webcrypto.borrow_mut() = Some(key.clone());
        Ok((subtle, key))
    }

    /// Opens each record with WebCrypto: `None` for one it refused (or that is not a
    /// v1 envelope), for the Rust code to say why. Public for the tests that check it.
    ///
    /// # Errors
    /// Whatever WebCrypto threw for the whole call.
    pub async fn open_in_webcrypto(
        &self,
        data: &DataKey,
        items: &[ToOpen<'_>],
    ) -> Result<Vec<Option<Vec<u8>>>, wasm_bindgen::JsValue> {
        use super::primitives::{NONCE_LEN, TAG_LEN};
        use js_sys::{Array, Uint8Array};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        let (subtle, key) = self.webcrypto_key(data).await?;
        let pending = Array::new();
        for item in items {
            let sealed = item.sealed;
            let promise: wasm_bindgen::JsValue =
                if sealed.len() >= 1 + NONCE_LEN + TAG_LEN && sealed[0] == envelope::VERSION_1 {
                    let params = gcm_params(&sealed[1..1 + NONCE_LEN], item.store, item.key);
                    subtle.decrypt_with_object_and_u8_array(&params, &key, &sealed[1 + NONCE_LEN..])?.into()
                } else {
                    wasm_bindgen::JsValue::NULL // not an envelope WebCrypto can open
                };
            pending.push(&promise);
        }
        let settled = JsFuture::from(js_sys::Promise::all_settled(&pending)).await?.dyn_into::<Array>()?;
        let mut out = Vec::with_capacity(items.len());
        for i in 0..items.len() {
            let result = settled.get(i as u32);
            let value = js_sys::Reflect::get(&result, &"value".into())?;
            out.push(match value.dyn_into::<js_sys::ArrayBuffer>() {
                Ok(buffer) => {
                    let view = Uint8Array::new(&buffer.into());
                    let plain = view.to_vec();
                    view.fill(0, 0, view.length()); // no plaintext left behind in the JS heap
                    Some(plain)
                }
                Err(_) => None, // refused, or the NULL placeholder
            });
        }
        Ok(out)
    }

    /// As [`BulkSealer::seal_all`], with WebCrypto only (no fallback): for tests that
    /// check its envelopes.
    ///
    /// # Errors
    /// Whatever WebCrypto threw.
    pub async fn seal_in_webcrypto(
        &self,
        data: &DataKey,
        items: &[ToSeal<'_>],
    ) -> Result<Vec<Vec<u8>>, wasm_bindgen::JsValue> {
        use super::make_random;
        use super::primitives::NONCE_LEN;
        use js_sys::{Array, ArrayBuffer, Uint8Array};
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;

        let (subtle, key) = self.webcrypto_key(data).await?;
        let mut nonces = Vec::with_capacity(items.len());
        let pending = Array::new();
        for item in items {
            let mut nonce = [0u8; NONCE_LEN];
            make_random(&mut nonce).map_err(|_| wasm_bindgen::JsValue::from_str("no randomness"))?;
            let params = gcm_params(&nonce, item.store, item.key);
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

/// WebCrypto's AES-GCM parameters for a record: its nonce, its slot's associated data
/// (as `envelope::record_aad`), a 16-byte tag. Copied into JS arrays, so that nothing
/// points into wasm memory when it grows.
#[cfg(target_arch = "wasm32")]
fn gcm_params(nonce: &[u8], store: &str, key: &str) -> web_sys::AesGcmParams {
    use js_sys::Uint8Array;
    let params = web_sys::AesGcmParams::new_with_u8_array("AES-GCM", &Uint8Array::from(nonce));
    params.set_additional_data_u8_array(&Uint8Array::from(&envelope::record_aad(store, key)[..]));
    params.set_tag_length(128);
    params
}
