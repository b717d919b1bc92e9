//! The ledger's secrets and what is done with them (ring): sealing personal fields under a key
//! per contact, keyed lookup hashes of emails, signed links for the preference centre and
//! unsubscribe, and Ed25519 signatures on consent receipts (compact JWS, published as a JWKS).
//!
//! Two secrets live in one file beside the stores, never in them: the master key (every other
//! symmetric key is derived from it) and the receipt signing key. A copy of the database alone
//! reads no contact.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::secret::hex;

const FILE_HEADER: &str = "tillit-ledger-keys v1";

/// The ledger's keys. Loaded once at start-up.
pub struct LedgerKeys {
    master: LessSafeKey,
    lookup: hmac::Key,
    links: hmac::Key,
    agents: hmac::Key,
    signer: Ed25519KeyPair,
    kid: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for LedgerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl LedgerKeys {
    /// Reads the key file, or creates it (mode 0600) with fresh keys when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<LedgerKeys, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => LedgerKeys::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = LedgerKeys::generate_file()?;
                match crate::secret::write_private(path, &text) {
                    Ok(()) => LedgerKeys::parse(&text),
                    // Another process (the server, a CLI command) created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let theirs = std::fs::read_to_string(path)
                            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                        LedgerKeys::parse(&theirs)
                    }
                    Err(e) => Err(format!("cannot create {}: {e}", path.display())),
                }
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The text of a new key file.
    pub fn generate_file() -> Result<String, String> {
        let rng = SystemRandom::new();
        let mut master = [0u8; 32];
        rng.fill(&mut master).map_err(|_| "no randomness available".to_owned())?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| "cannot generate a signing key".to_owned())?;
        Ok(format!("{FILE_HEADER}\nmaster {}\nsigning {}\n", hex(&master), hex(pkcs8.as_ref())))
    }

    pub fn parse(text: &str) -> Result<LedgerKeys, String> {
        let mut lines = text.lines();
        if lines.next() != Some(FILE_HEADER) {
            return Err("not a Tillit ledger key file".into());
        }
        let mut master = None;
        let mut signing = None;
        for line in lines {
            match line.split_once(' ') {
                Some(("master", v)) => master = Some(unhex(v)?),
                Some(("signing", v)) => signing = Some(unhex(v)?),
                _ => {}
            }
        }
        let master = master.ok_or("the master key is missing")?;
        let signing = signing.ok_or("the signing key is missing")?;
        if master.len() != 32 {
            return Err("the master key must be 32 bytes".into());
        }
        let signer = Ed25519KeyPair::from_pkcs8(&signing).map_err(|e| format!("bad signing key: {e}"))?;
        let derive = |label: &[u8]| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &master), label);
        let seal_key = derive(b"tillit ledger: contact keys");
        let kid = hex(&ring::digest::digest(&ring::digest::SHA256, signer.public_key().as_ref()).as_ref()[..8]);
        Ok(LedgerKeys {
            master: aead_key(seal_key.as_ref())?,
            lookup: hmac::Key::new(hmac::HMAC_SHA256, derive(b"tillit ledger: email lookup").as_ref()),
            links: hmac::Key::new(hmac::HMAC_SHA256, derive(b"tillit ledger: signed links").as_ref()),
            agents: hmac::Key::new(hmac::HMAC_SHA256, derive(b"tillit ledger: user agents").as_ref()),
            signer,
            kid,
            rng: SystemRandom::new(),
        })
    }

    /// A fresh key for one contact, and that key sealed under the master key.
    pub fn new_contact_key(&self) -> Result<([u8; 32], Vec<u8>), String> {
        let mut key = [0u8; 32];
        self.rng.fill(&mut key).map_err(|_| "no randomness available".to_owned())?;
        let sealed = self.seal(&self.master, &key, b"contact key")?;
        Ok((key, sealed))
    }

    pub fn open_contact_key(&self, sealed: &[u8]) -> Result<[u8; 32], String> {
        let key = open(&self.master, sealed, b"contact key")?;
        key.try_into().map_err(|_| "a contact key has the wrong length".to_owned())
    }

    /// Seals a contact's fields under their key; `bound_to` (their public id) is authenticated
    /// too, so sealed fields cannot be moved to another contact.
    pub fn seal_fields(&self, key: &[u8; 32], plaintext: &[u8], bound_to: &str) -> Result<Vec<u8>, String> {
        self.seal(&aead_key(key)?, plaintext, bound_to.as_bytes())
    }

    pub fn open_fields(&self, key: &[u8; 32], sealed: &[u8], bound_to: &str) -> Result<Vec<u8>, String> {
        open(&aead_key(key)?, sealed, bound_to.as_bytes())
    }

    fn seal(&self, key: &LessSafeKey, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| "no randomness available".to_owned())?;
        let mut out = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out)
            .map_err(|_| "cannot encrypt".to_owned())?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// Seals a short secret under the ledger key itself (the address of an open request, kept
    /// only until the request closes); `context` is authenticated with it.
    pub fn seal_secret(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, String> {
        self.seal(&self.master, plaintext, context.as_bytes())
    }

    pub fn open_secret(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, String> {
        open(&self.master, sealed, context.as_bytes())
    }

    /// The lookup hash of a (normalised) email on a site.
    pub fn email_lookup(&self, site_id: u32, email: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.lookup);
        ctx.update(&site_id.to_le_bytes());
        ctx.update(email.as_bytes());
        hex(ctx.sign().as_ref())
    }

    /// A keyed hash of a user agent: evidence that can be compared, never read back.
    pub fn agent_hash(&self, user_agent: &str) -> String {
        hex(&hmac::sign(&self.agents, user_agent.as_bytes()).as_ref()[..16])
    }

    /// `payload.tag`, URL-safe.
    pub fn sign_link(&self, payload: &str) -> String {
        let tag = hmac::sign(&self.links, payload.as_bytes());
        format!("{}.{}", B64.encode(payload), B64.encode(&tag.as_ref()[..18]))
    }

    /// The payload of a link made by [`LedgerKeys::sign_link`], if the tag is right.
    pub fn open_link(&self, link: &str) -> Option<String> {
        let (payload, tag) = link.split_once('.')?;
        let payload = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let tag = B64.decode(tag).ok()?;
        let expected = hmac::sign(&self.links, payload.as_bytes());
        // Constant-time comparison of the truncated tag.
        let ok = tag.len() == 18 && bool::from(expected.as_ref()[..18].ct_eq(&tag));
        ok.then_some(payload)
    }

    /// Compact JWS (EdDSA) of a JSON payload.
    pub fn sign_jws(&self, payload: &Value) -> String {
        let header = json!({"alg": "EdDSA", "kid": self.kid, "typ": "consent-receipt+jwt"});
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
        let sig = self.signer.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.as_ref()))
    }

    /// The payload of a JWS signed by this key; `None` when the signature does not verify.
    pub fn verify_jws(&self, jws: &str) -> Option<Value> {
        verify_jws(self.signer.public_key().as_ref(), jws)
    }

    /// The public signing key as a JSON Web Key Set (RFC 8037 OKP key).
    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
            "x": B64.encode(self.signer.public_key().as_ref()),
        }]})
    }
}

/// Verifies a compact EdDSA JWS against a raw Ed25519 public key; returns its payload.
pub fn verify_jws(public_key: &[u8], jws: &str) -> Option<Value> {
    let (input, sig) = jws.rsplit_once('.')?;
    let sig = B64.decode(sig).ok()?;
    UnparsedPublicKey::new(&ED25519, public_key).verify(input.as_bytes(), &sig).ok()?;
    let (_, payload) = input.split_once('.')?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

fn aead_key(bytes: &[u8]) -> Result<LessSafeKey, String> {
    Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| "bad AES key".to_owned())?))
}

fn open(key: &LessSafeKey, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() < NONCE_LEN {
        return Err("sealed data is too short".into());
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_owned())?;
    let mut buf = data.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| "cannot decrypt".to_owned())?;
    Ok(plain.to_vec())
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16).map_err(|_| "bad hex".to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> LedgerKeys {
        LedgerKeys::parse(&LedgerKeys::generate_file().unwrap()).unwrap()
    }

    #[test]
    fn fields_are_sealed_per_contact_and_bound_to_them() {
        let k = keys();
        let (key, sealed_key) = k.new_contact_key().unwrap();
        assert_eq!(k.open_contact_key(&sealed_key).unwrap(), key);
        let sealed = k.seal_fields(&key, b"{\"email\":\"a@b.c\"}", "c1").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"a@b.c"));
        assert_eq!(k.open_fields(&key, &sealed, "c1").unwrap(), b"{\"email\":\"a@b.c\"}");
        assert!(k.open_fields(&key, &sealed, "c2").is_err(), "bound to the contact");
        let (other, _) = k.new_contact_key().unwrap();
        assert!(k.open_fields(&other, &sealed, "c1").is_err(), "another contact's key opens nothing");
        assert!(keys().open_contact_key(&sealed_key).is_err(), "another install's master opens nothing");
    }

    #[test]
    fn links_and_receipts_verify_only_untouched() {
        let k = keys();
        let link = k.sign_link("pref:abc:123");
        assert_eq!(k.open_link(&link).as_deref(), Some("pref:abc:123"));
        let forged = format!("{}.{}", B64.encode("pref:abd:123"), link.split_once('.').unwrap().1);
        assert_eq!(k.open_link(&forged), None);
        assert_eq!(keys().open_link(&link), None);

        let jws = k.sign_jws(&json!({"a": 1}));
        assert_eq!(k.verify_jws(&jws), Some(json!({"a": 1})));
        let x = k.jwks()["keys"][0]["x"].as_str().unwrap().to_owned();
        assert_eq!(verify_jws(&B64.decode(x).unwrap(), &jws), Some(json!({"a": 1})));
        let (head, _) = jws.split_once('.').unwrap();
        let tampered = jws.replacen(&jws[head.len() + 1..head.len() + 5], "AAAA", 1);
        assert_eq!(k.verify_jws(&tampered), None);
    }

    #[test]
    fn lookups_are_keyed_per_site() {
        let k = keys();
        assert_eq!(k.email_lookup(1, "a@b.c"), k.email_lookup(1, "a@b.c"));
        assert_ne!(k.email_lookup(1, "a@b.c"), k.email_lookup(2, "a@b.c"));
        assert_ne!(k.email_lookup(1, "a@b.c"), keys().email_lookup(1, "a@b.c"));
    }
}
