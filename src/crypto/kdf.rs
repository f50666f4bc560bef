//! Passphrase to key-encryption key: Argon2id with parameters stored beside the vault.
//!
//! Parameters are checked whenever they are read, so a vault (or an export file) whose
//! stored parameters were lowered by someone with the disk is refused instead of being
//! opened with a weak derivation. The floor is OWASP's minimum for Argon2id
//! (m = 19 MiB, t = 2, p = 1); the ceiling stops a hostile file (an archive header, a
//! vault meta record) from asking for gigabytes of memory or minutes of work.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::primitives::KEY_LEN;
use super::CryptoError;

pub const SALT_LEN: usize = 16;
pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
pub const MIN_ITERATIONS: u32 = 2;
// The ceiling is what a person's own settings could ever be, not what Argon2 allows.
// The vault page and the archive export never choose parameters (they take the
// default, 64 MiB x 3); only the message API's `kdf` of `vault.create` and
// `vault.changePassphrase` can, and it is refused past this too. 256 MiB x 10 passes
// is 13 times the default's work: a few seconds in wasm on a slow machine, and an
// allocation a browser tab can make. The old ceiling (1 GiB x 64, 340 times the
// default) let a file ask for minutes. Lanes do not make the single-threaded wasm
// faster; 4 covers what native tools tuned for a person's machine would pick.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;
pub const MAX_ITERATIONS: u32 = 10;
pub const MAX_PARALLELISM: u32 = 4;

/// Argon2id cost parameters (memory in KiB, iterations, lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    #[serde(rename = "mKiB")]
    pub memory_kib: u32,
    #[serde(rename = "t")]
    pub iterations: u32,
    #[serde(rename = "p")]
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: about 150-200 ms in wasm on the machines we measured.
    fn default() -> Self {
        KdfParams { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 }
    }
}

impl KdfParams {
    /// The weakest parameters still accepted (OWASP's floor), for tests and slow devices.
    pub const MINIMUM: KdfParams = KdfParams { memory_kib: MIN_MEMORY_KIB, iterations: MIN_ITERATIONS, parallelism: 1 };

    /// Refuses parameters below the floor or above the ceiling.
    ///
    /// # Errors
    /// [`CryptoError::WeakKdf`] naming the parameter at fault.
    pub fn check(&self) -> Result<(), CryptoError> {
        if self.memory_kib < MIN_MEMORY_KIB {
            return Err(CryptoError::WeakKdf(format!(
                "memory {} KiB is below the minimum of {MIN_MEMORY_KIB} KiB",
                self.memory_kib
            )));
        }
        if self.iterations < MIN_ITERATIONS {
            return Err(CryptoError::WeakKdf(format!(
                "{} iterations is below the minimum of {MIN_ITERATIONS}",
                self.iterations
            )));
        }
        if self.parallelism == 0 {
            return Err(CryptoError::WeakKdf("parallelism must be at least 1".into()));
        }
        if self.memory_kib > MAX_MEMORY_KIB || self.iterations > MAX_ITERATIONS || self.parallelism > MAX_PARALLELISM {
            return Err(CryptoError::WeakKdf("parameters are beyond what this device allows".into()));
        }
        Ok(())
    }
}

/// Derives the 32-byte key-encryption key from a passphrase.
///
/// # Errors
/// [`CryptoError::WeakKdf`] for parameters outside the allowed range; [`CryptoError::Kdf`]
/// if Argon2 itself fails.
pub fn derive_kek(
    passphrase: &str,
    salt: &[u8; SALT_LEN],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, CryptoError> {
    params.check()?;
    let argon_params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(KEY_LEN))
        .map_err(|_| CryptoError::Kdf)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon.hash_password_into(passphrase.as_bytes(), salt, out.as_mut()).map_err(|_| CryptoError::Kdf)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_parameters_are_refused_when_read() {
        let weak_memory = KdfParams { memory_kib: 8 * 1024, ..KdfParams::MINIMUM };
        let weak_time = KdfParams { iterations: 1, ..KdfParams::MINIMUM };
        let zero_lanes = KdfParams { parallelism: 0, ..KdfParams::MINIMUM };
        let absurd = KdfParams { memory_kib: u32::MAX, ..KdfParams::MINIMUM };
        for p in [weak_memory, weak_time, zero_lanes, absurd] {
            assert!(matches!(p.check(), Err(CryptoError::WeakKdf(_))), "{p:?}");
            assert!(matches!(derive_kek("pw", &[0; 16], &p), Err(CryptoError::WeakKdf(_))));
        }
        assert!(KdfParams::MINIMUM.check().is_ok());
        let d = KdfParams::default();
        assert!(d.check().is_ok());
        assert!(d.memory_kib >= 64 * 1024 && d.iterations >= 3 && d.parallelism == 1);
    }

    #[test]
    fn a_file_cannot_ask_for_more_work_than_a_person_could_set() {
        use crate::archive::format::{decode_header, Header, WRAPPED_KEY_LEN};
        use crate::archive::ArchiveError;
        let ceiling =
            KdfParams { memory_kib: MAX_MEMORY_KIB, iterations: MAX_ITERATIONS, parallelism: MAX_PARALLELISM };
        assert!(ceiling.check().is_ok());
        // At most 256 MiB x 10 passes: about 13 times the default's work.
        let work = |p: &KdfParams| u64::from(p.memory_kib) * u64::from(p.iterations);
        assert!(work(&ceiling) <= 14 * work(&KdfParams::default()), "{ceiling:?}");
        let beyond = [
            KdfParams { memory_kib: MAX_MEMORY_KIB + 1, ..ceiling },
            KdfParams { iterations: MAX_ITERATIONS + 1, ..ceiling },
            KdfParams { parallelism: MAX_PARALLELISM + 1, ..ceiling },
            KdfParams { memory_kib: 1024 * 1024, iterations: 64, parallelism: 1 }, // minutes of Argon2
        ];
        let header =
            |params| Header { params, salt: [1; 16], prefix: [2; 7], wrapped_key: [3; WRAPPED_KEY_LEN] }.encode();
        for p in beyond {
            assert!(matches!(p.check(), Err(CryptoError::WeakKdf(_))), "{p:?}");
            // An archive's header is refused as it is read, before any derivation.
            assert!(matches!(decode_header(&header(p)), Err(ArchiveError::WeakKdf(_))), "{p:?}");
        }
        assert!(decode_header(&header(ceiling)).is_ok());
    }

    #[test]
    fn the_same_passphrase_and_salt_give_the_same_key() {
        let p = KdfParams::MINIMUM;
        let a = derive_kek("correct horse", &[7; 16], &p).unwrap();
        let b = derive_kek("correct horse", &[7; 16], &p).unwrap();
        let c = derive_kek("correct horse", &[8; 16], &p).unwrap();
        let d = derive_kek("correct horsf", &[7; 16], &p).unwrap();
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
        assert_ne!(*a, *d);
    }
}
