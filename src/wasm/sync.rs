//! `#[wasm_bindgen]` exports of the vault's sync facet (see `crate::vault` `sync`):
//! conversions only. Objects to write cross as `{name, bytes}` (`bytes` a
//! `Uint8Array`); sequence numbers and epochs as numbers (whole, below 2^53).

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::{err, from_js, now, to_js, WasmVault};
use crate::error::VaultError;
use crate::vault::{LockRenewal, LockStep, SyncObject, SyncServer};

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(target, &JsValue::from_str(key), value).map(|_| ())
}

/// `{name, bytes}`.
fn object(o: SyncObject) -> Result<JsValue, JsValue> {
    let out = Object::new();
    set(&out, "name", &JsValue::from_str(&o.name))?;
    set(&out, "bytes", &Uint8Array::from(o.bytes.as_slice()).into())?;
    Ok(out.into())
}

/// A sequence number or epoch from JS: a whole number from 0 to 2^53.
fn number(value: f64, what: &str) -> Result<u64, JsValue> {
    if value.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&value) {
        Ok(value as u64)
    } else {
        Err(err(VaultError::InvalidInput(format!("{what} must be a whole number."))))
    }
}

#[wasm_bindgen]
impl WasmVault {
    /// `syncSetup(label)`: `{meta: {name, bytes}, device: {name, bytes}}`, to write with
    /// `If-None-Match: *`.
    #[wasm_bindgen(js_name = syncSetup)]
    pub async fn sync_setup(&self, label: String) -> Result<JsValue, JsValue> {
        let setup = self.inner.sync_setup(&label, now()).await.map_err(err)?;
        let out = Object::new();
        set(&out, "meta", &object(setup.meta)?)?;
        set(&out, "device", &object(setup.device)?)?;
        Ok(out.into())
    }

    /// `syncJoin(metaBytes, passphrase, label, slot)`: this device's record `{name, bytes}`
    /// for `slot`; the vault is created and left unlocked.
    #[wasm_bindgen(js_name = syncJoin)]
    pub async fn sync_join(
        &self,
        meta: Vec<u8>,
        passphrase: String,
        label: String,
        slot: u32,
    ) -> Result<JsValue, JsValue> {
        object(self.inner.sync_join(&meta, &passphrase, &label, slot, now()).await.map_err(err)?)
    }

    /// `syncDeviceRecord(slot?)`: this device's record, in `slot` when given.
    #[wasm_bindgen(js_name = syncDeviceRecord)]
    pub async fn sync_device_record(&self, slot: Option<u32>) -> Result<JsValue, JsValue> {
        object(self.inner.sync_device_record(slot, now()).await.map_err(err)?)
    }

    /// Whether sync is set up here (works while locked).
    #[wasm_bindgen(js_name = syncConfigured)]
    pub async fn sync_configured(&self) -> Result<bool, JsValue> {
        self.inner.sync_configured().await.map_err(err)
    }

    /// `syncStatus()`: `{device, slot, label, pushed, outbox, pending, metaStale, applied,
    /// epoch, sinceSnapshot, snapshotAt, devices: [{device, label, lastSeen, head, applied,
    /// own}]}` or null.
    #[wasm_bindgen(js_name = syncStatus)]
    pub async fn sync_status(&self) -> Result<JsValue, JsValue> {
        match self.inner.sync_status().await.map_err(err)? {
            Some(status) => to_js(&status),
            None => Ok(JsValue::NULL),
        }
    }

    /// `syncSetServer({url, username, password})`: kept sealed in the sync record.
    #[wasm_bindgen(js_name = syncSetServer)]
    pub async fn sync_set_server(&self, server: JsValue) -> Result<(), JsValue> {
        let server: SyncServer = from_js(server, "the sync server")?;
        self.inner.sync_set_server(server).await.map_err(err)
    }

    /// `syncServer()`: `{url, username, password}` or null.
    #[wasm_bindgen(js_name = syncServer)]
    pub async fn sync_server(&self) -> Result<JsValue, JsValue> {
        match self.inner.sync_server().await.map_err(err)? {
            Some(server) => to_js(&server),
            None => Ok(JsValue::NULL),
        }
    }

    /// `syncNames(slot, epoch)`: `[deviceRecordName, snapshotName]`.
    #[wasm_bindgen(js_name = syncNames)]
    pub async fn sync_names(&self, slot: u32, epoch: f64) -> Result<Vec<String>, JsValue> {
        let (device, snapshot) = self.inner.sync_names(slot, number(epoch, "The epoch")?).await.map_err(err)?;
        Ok(vec![device, snapshot])
    }

    /// `syncSegmentName(device, seq)`.
    #[wasm_bindgen(js_name = syncSegmentName)]
    pub async fn sync_segment_name(&self, device: String, seq: f64) -> Result<String, JsValue> {
        self.inner.sync_segment_name(&device, number(seq, "The segment number")?).await.map_err(err)
    }

    /// `syncNoteDevice(slot, bytes)`: `{device, label, head, applied, own}`.
    #[wasm_bindgen(js_name = syncNoteDevice)]
    pub async fn sync_note_device(&self, slot: u32, bytes: Vec<u8>) -> Result<JsValue, JsValue> {
        to_js(&self.inner.sync_note_device(slot, &bytes).await.map_err(err)?)
    }

    /// `syncKeepDevices(slots)`: the slots whose device records were found; devices
    /// listed in other slots are no longer listed.
    #[wasm_bindgen(js_name = syncKeepDevices)]
    pub async fn sync_keep_devices(&self, slots: Vec<u32>) -> Result<(), JsValue> {
        self.inner.sync_keep_devices(&slots).await.map_err(err)
    }

    /// `syncApplySegment(device, seq, bytes)`: `{outcome: "applied", written, deleted}`,
    /// `{outcome: "alreadyApplied"}` or `{outcome: "gap", expected}`.
    #[wasm_bindgen(js_name = syncApplySegment)]
    pub async fn sync_apply_segment(&self, device: String, seq: f64, bytes: Vec<u8>) -> Result<JsValue, JsValue> {
        let seq = number(seq, "The segment number")?;
        to_js(&self.inner.sync_apply_segment(&device, seq, &bytes).await.map_err(err)?)
    }

    /// `syncCheckMissing(device)`: throws `{code: "damaged"}` for a truncated history.
    #[wasm_bindgen(js_name = syncCheckMissing)]
    pub async fn sync_check_missing(&self, device: String) -> Result<(), JsValue> {
        self.inner.sync_check_missing(&device).await.map_err(err)
    }

    /// `syncMetaUpdate(current)`: after a passphrase change, the meta object to write
    /// over the folder's (`current`: its bytes), or null when the folder's is current.
    #[wasm_bindgen(js_name = syncMetaUpdate)]
    pub async fn sync_meta_update(&self, current: Vec<u8>) -> Result<JsValue, JsValue> {
        match self.inner.sync_meta_update(&current).await.map_err(err)? {
            Some(meta) => object(meta),
            None => Ok(JsValue::NULL),
        }
    }

    /// `syncPreparePush()`: the segment to write (`If-None-Match: *`), or null.
    #[wasm_bindgen(js_name = syncPreparePush)]
    pub async fn sync_prepare_push(&self) -> Result<JsValue, JsValue> {
        match self.inner.sync_prepare_push(now()).await.map_err(err)? {
            Some(segment) => object(segment),
            None => Ok(JsValue::NULL),
        }
    }

    /// `syncSealNext()`: while the segment `syncPreparePush` gave uploads, the one after
    /// it (to write the same way once that one is confirmed), or null.
    #[wasm_bindgen(js_name = syncSealNext)]
    pub async fn sync_seal_next(&self) -> Result<JsValue, JsValue> {
        match self.inner.sync_seal_next(now()).await.map_err(err)? {
            Some(segment) => object(segment),
            None => Ok(JsValue::NULL),
        }
    }

    /// `syncConfirmPush()`: this device's record naming the new head (`If-Match`).
    #[wasm_bindgen(js_name = syncConfirmPush)]
    pub async fn sync_confirm_push(&self) -> Result<JsValue, JsValue> {
        object(self.inner.sync_confirm_push(now()).await.map_err(err)?)
    }

    /// `syncLock(current)`: `current` is `{bytes, etag}` or null; gives `{take: {name,
    /// ifMatch, bytes}}` (`ifMatch` null: `If-None-Match: *`) or `{wait: until}`.
    #[wasm_bindgen(js_name = syncLock)]
    pub async fn sync_lock(&self, current: JsValue) -> Result<JsValue, JsValue> {
        let read = if current.is_null() || current.is_undefined() {
            None
        } else {
            let bytes = Reflect::get(&current, &JsValue::from_str("bytes"))?;
            let etag = Reflect::get(&current, &JsValue::from_str("etag"))?.as_string().unwrap_or_default();
            Some((Uint8Array::new(&bytes).to_vec(), etag))
        };
        let step = self.inner.sync_lock(read.as_ref().map(|(b, e)| (b.as_slice(), e.as_str())), now()).await;
        let out = Object::new();
        match step.map_err(err)? {
            LockStep::Take { name, if_match, bytes } => {
                let take = Object::new();
                set(&take, "name", &JsValue::from_str(&name))?;
                set(&take, "ifMatch", &if_match.map_or(JsValue::NULL, |e| JsValue::from_str(&e)))?;
                set(&take, "bytes", &Uint8Array::from(bytes.as_slice()).into())?;
                set(&out, "take", &take.into())?;
            }
            LockStep::Wait { until } => set(&out, "wait", &JsValue::from_f64(until as f64))?,
        }
        Ok(out.into())
    }

    /// `syncRenewLock(held, current)`: `held` the lock's bytes this device wrote last;
    /// `current` undefined (not read), null (none in the folder) or `{bytes, etag}`.
    /// Gives `{step: "notDue" | "due" | "lost"}` or `{step: "renew", name, ifMatch, bytes}`.
    #[wasm_bindgen(js_name = syncRenewLock)]
    pub async fn sync_renew_lock(&self, held: Vec<u8>, current: JsValue) -> Result<JsValue, JsValue> {
        let read = if current.is_undefined() {
            None
        } else if current.is_null() {
            Some(None)
        } else {
            let bytes = Reflect::get(&current, &JsValue::from_str("bytes"))?;
            let etag = Reflect::get(&current, &JsValue::from_str("etag"))?.as_string().unwrap_or_default();
            Some(Some((Uint8Array::new(&bytes).to_vec(), etag)))
        };
        let current = read.as_ref().map(|r| r.as_ref().map(|(b, e)| (b.as_slice(), e.as_str())));
        let out = Object::new();
        let step = match self.inner.sync_renew_lock(&held, current, now()).await.map_err(err)? {
            LockRenewal::NotDue => "notDue",
            LockRenewal::Due => "due",
            LockRenewal::Lost => "lost",
            LockRenewal::Renew { name, if_match, bytes } => {
                set(&out, "name", &JsValue::from_str(&name))?;
                set(&out, "ifMatch", &JsValue::from_str(&if_match))?;
                set(&out, "bytes", &Uint8Array::from(bytes.as_slice()).into())?;
                "renew"
            }
        };
        set(&out, "step", &JsValue::from_str(step))?;
        Ok(out.into())
    }

    /// `syncMakeSnapshot(epoch)`: `{name, bytes, obsolete: [name]}`.
    #[wasm_bindgen(js_name = syncMakeSnapshot)]
    pub async fn sync_make_snapshot(&self, epoch: f64) -> Result<JsValue, JsValue> {
        let (snapshot, obsolete) =
            self.inner.sync_make_snapshot(number(epoch, "The epoch")?, now()).await.map_err(err)?;
        let out = object(snapshot)?;
        set(out.unchecked_ref(), "obsolete", &to_js(&obsolete)?)?;
        Ok(out)
    }

    /// `syncApplySnapshot(epoch, bytes)`: as `syncApplySegment`.
    #[wasm_bindgen(js_name = syncApplySnapshot)]
    pub async fn sync_apply_snapshot(&self, epoch: f64, bytes: Vec<u8>) -> Result<JsValue, JsValue> {
        let epoch = number(epoch, "The epoch")?;
        to_js(&self.inner.sync_apply_snapshot(epoch, &bytes).await.map_err(err)?)
    }

    /// `syncLeave()`: this device stops syncing; nothing else changes here.
    #[wasm_bindgen(js_name = syncLeave)]
    pub async fn sync_leave(&self) -> Result<(), JsValue> {
        self.inner.sync_leave().await.map_err(err)
    }
}
