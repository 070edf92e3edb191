//! What the store remembers of authentication, so that a request is authenticated without a
//! round trip to the database: the tenant each stored token opens, the owner of each stored
//! access key, the tenants themselves (by tenant id and by identity store id), and the uses of
//! the credentials not yet written.
//!
//! The store keeps it right (`sql/auth_cache.rs`): its own writes that end or change what is
//! cached (deleting a token, an access key or a tenant, turning provisioning on or off) clear
//! it as soon as they commit (`invalidate`); those of other processes on the same database
//! (another instance, the command line) are counted by triggers in the database (migration
//! `0007`), and the store reads the count before it trusts the cache when it last read it more
//! than `CHECK_INTERVAL` ago (`fresh_epoch`, `checked`). Only what the database holds is
//! cached, never the absence of a credential or a tenant: made-up tokens do not grow it, and
//! each kind of entry is capped at `CAPACITY`.
//!
//! A read of the database that began before the cache was cleared must not fill it again
//! with what it read: every clearing starts a new epoch, and a read is kept only in the epoch
//! it began in (`keep_credential`, `keep_tenant`).
//!
//! The use of a credential is recorded at most once per `LAST_USED_RESOLUTION_MS`, in memory
//! (`used`); the store writes the recorded uses in one batch, `FLUSH_DELAY` after the first
//! (`take_uses`), before it lists credentials, and when it closes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::{LAST_USED_RESOLUTION_MS, Tenant, TenantInfo};

/// How long the cache is trusted after the store last read the count of changes.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// How long the first recorded use waits before the uses are written.
pub const FLUSH_DELAY: Duration = Duration::from_secs(2);

/// The most entries of each kind; a cache that is full is cleared. Deployments hold far
/// fewer credentials and tenants.
const CAPACITY: usize = 4096;

/// The kinds of credentials, each in a table of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A SCIM access token, by the hex of its hash.
    Token,
    /// An AWS access key, by its id.
    AccessKey,
}

/// What a tenant is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKey {
    Id,
    IdentityStore,
}

/// What a stored credential opens. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub tenant: Tenant,
    /// An access key's secret (Signature V4 verifies with it); `None` for a token.
    pub secret: Option<String>,
    /// When a token expires; `i64::MAX` for an access key.
    pub expires_ms: i64,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("tenant", &self.tenant)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

struct Entry {
    credential: Credential,
    /// The use last written or recorded.
    last_used_ms: Option<i64>,
}

type CredentialKey = (Kind, String);

#[derive(Default)]
struct Entries {
    /// Bumped by every clearing.
    epoch: u64,
    /// When the count of changes was last read, and what it was.
    checked: Option<(Instant, i64)>,
    /// Kind → key → what it opens: a request looks its credential up by a borrowed key.
    credentials: HashMap<Kind, HashMap<String, Entry>>,
    tenants: HashMap<String, TenantInfo>,
    /// Identity store id → tenant id.
    identity_stores: HashMap<String, String>,
}

impl Entries {
    fn clear(&mut self) {
        self.epoch += 1;
        self.credentials.clear();
        self.tenants.clear();
        self.identity_stores.clear();
    }
}

#[derive(Default)]
struct Uses {
    /// The uses recorded and not yet written: credential → when.
    pending: HashMap<CredentialKey, i64>,
    /// Whether a write of them is on its way.
    scheduled: bool,
}

#[derive(Default)]
pub struct AuthCache {
    entries: RwLock<Entries>,
    uses: Mutex<Uses>,
}

/// Whether a use at `now_ms` is to be recorded after one at `last_used_ms`.
fn due(last_used_ms: Option<i64>, now_ms: i64) -> bool {
    last_used_ms.is_none_or(|t| now_ms - t >= LAST_USED_RESOLUTION_MS)
}

impl AuthCache {
    /// The current epoch, if the count of changes was read less than `CHECK_INTERVAL`
    /// before `now`; `None` when the cache must not be trusted before it is read again.
    pub fn fresh_epoch(&self, now: Instant) -> Option<u64> {
        let entries = self.entries.read().expect("auth cache lock");
        let (at, _) = entries.checked?;
        (now.saturating_duration_since(at) < CHECK_INTERVAL).then_some(entries.epoch)
    }

    /// Takes note of the count of changes read at `at` (taken before the read began): the
    /// cache is cleared if it changed. Answers the epoch reads may fill it in.
    pub fn checked(&self, at: Instant, changes: i64) -> u64 {
        let mut entries = self.entries.write().expect("auth cache lock");
        if entries.checked.is_some_and(|(_, seen)| seen != changes) {
            entries.clear();
        }
        entries.checked = Some((at, changes));
        entries.epoch
    }

    /// Forgets everything cached: a write that ends or changes a credential or a tenant has
    /// committed.
    pub fn invalidate(&self) {
        self.entries.write().expect("auth cache lock").clear();
    }

    /// A cached credential and the use last recorded of it.
    pub fn credential(&self, kind: Kind, key: &str) -> Option<(Credential, Option<i64>)> {
        let entries = self.entries.read().expect("auth cache lock");
        let entry = entries.credentials.get(&kind)?.get(key)?;
        Some((entry.credential.clone(), entry.last_used_ms))
    }

    /// Keeps a credential read from the database in `epoch`, unless the cache was cleared
    /// since.
    pub fn keep_credential(
        &self,
        epoch: u64,
        kind: Kind,
        key: &str,
        credential: Credential,
        last_used_ms: Option<i64>,
    ) {
        let mut entries = self.entries.write().expect("auth cache lock");
        if entries.epoch != epoch {
            return;
        }
        let credentials = entries.credentials.entry(kind).or_default();
        if credentials.len() >= CAPACITY {
            credentials.clear();
        }
        let entry = Entry {
            credential,
            last_used_ms,
        };
        credentials.insert(key.to_owned(), entry);
    }

    /// Records a use of a credential at `now_ms`, unless one was recorded (`last_used_ms`, or
    /// in the cache since) within `LAST_USED_RESOLUTION_MS`.
    pub fn used(&self, kind: Kind, key: &str, last_used_ms: Option<i64>, now_ms: i64) {
        if !due(last_used_ms, now_ms) {
            return;
        }
        {
            let mut entries = self.entries.write().expect("auth cache lock");
            let cached = entries.credentials.get_mut(&kind);
            if let Some(entry) = cached.and_then(|c| c.get_mut(key)) {
                if !due(entry.last_used_ms, now_ms) {
                    return;
                }
                entry.last_used_ms = Some(now_ms);
            }
        }
        let mut uses = self.uses.lock().expect("auth cache lock");
        let when = uses.pending.entry((kind, key.to_owned())).or_insert(now_ms);
        *when = (*when).max(now_ms);
    }

    /// Whether recorded uses wait for a write that is not yet on its way; if so, it is now.
    pub fn flush_wanted(&self) -> bool {
        let mut uses = self.uses.lock().expect("auth cache lock");
        let wanted = !uses.pending.is_empty() && !uses.scheduled;
        uses.scheduled |= wanted;
        wanted
    }

    /// Whether uses were recorded and not yet taken.
    pub fn has_uses(&self) -> bool {
        !self
            .uses
            .lock()
            .expect("auth cache lock")
            .pending
            .is_empty()
    }

    /// The uses recorded since the last call, to write.
    pub fn take_uses(&self) -> Vec<(Kind, String, i64)> {
        let mut uses = self.uses.lock().expect("auth cache lock");
        uses.scheduled = false;
        uses.pending
            .drain()
            .map(|((kind, key), when)| (kind, key, when))
            .collect()
    }

    /// A cached tenant.
    pub fn tenant(&self, by: TenantKey, value: &str) -> Option<TenantInfo> {
        let entries = self.entries.read().expect("auth cache lock");
        let tenant_id = match by {
            TenantKey::Id => value,
            TenantKey::IdentityStore => entries.identity_stores.get(value)?,
        };
        entries.tenants.get(tenant_id).cloned()
    }

    /// Keeps a tenant read from the database in `epoch`, unless the cache was cleared since.
    pub fn keep_tenant(&self, epoch: u64, info: &TenantInfo) {
        let mut entries = self.entries.write().expect("auth cache lock");
        if entries.epoch != epoch {
            return;
        }
        if entries.tenants.len() >= CAPACITY {
            entries.tenants.clear();
            entries.identity_stores.clear();
        }
        let tenant = &info.tenant;
        entries
            .identity_stores
            .insert(tenant.identity_store_id.clone(), tenant.tenant_id.clone());
        entries
            .tenants
            .insert(tenant.tenant_id.clone(), info.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(expires_ms: i64) -> Credential {
        Credential {
            tenant: Tenant::generate(),
            secret: None,
            expires_ms,
        }
    }

    fn info() -> TenantInfo {
        TenantInfo {
            tenant: Tenant::generate(),
            is_default: false,
            created_ms: 0,
        }
    }

    #[test]
    fn the_cache_is_trusted_for_an_interval_after_each_check() {
        let cache = AuthCache::default();
        let start = Instant::now();
        assert_eq!(cache.fresh_epoch(start), None, "never checked");
        let epoch = cache.checked(start, 7);
        assert_eq!(cache.fresh_epoch(start + CHECK_INTERVAL / 2), Some(epoch));
        assert_eq!(cache.fresh_epoch(start + CHECK_INTERVAL), None);
    }

    #[test]
    fn a_change_counted_elsewhere_clears_the_cache() {
        let cache = AuthCache::default();
        let now = Instant::now();
        let epoch = cache.checked(now, 1);
        cache.keep_credential(epoch, Kind::Token, "h", credential(10), None);
        let t = info();
        cache.keep_tenant(epoch, &t);
        assert_eq!(cache.checked(now, 1), epoch, "same count, same cache");
        assert!(cache.credential(Kind::Token, "h").is_some());
        let next = cache.checked(now, 2);
        assert_ne!(next, epoch);
        assert!(cache.credential(Kind::Token, "h").is_none());
        assert!(cache.tenant(TenantKey::Id, &t.tenant.tenant_id).is_none());
        let store_id = &t.tenant.identity_store_id;
        assert!(cache.tenant(TenantKey::IdentityStore, store_id).is_none());
    }

    #[test]
    fn a_read_from_before_a_clearing_is_not_kept() {
        let cache = AuthCache::default();
        let epoch = cache.checked(Instant::now(), 0);
        cache.invalidate();
        cache.keep_credential(epoch, Kind::AccessKey, "k", credential(i64::MAX), None);
        cache.keep_tenant(epoch, &info());
        assert!(cache.credential(Kind::AccessKey, "k").is_none());
        let epoch = cache.checked(Instant::now(), 0);
        let t = info();
        cache.keep_tenant(epoch, &t);
        let store_id = &t.tenant.identity_store_id;
        assert_eq!(cache.tenant(TenantKey::IdentityStore, store_id), Some(t));
    }

    #[test]
    fn uses_are_recorded_once_per_resolution_and_written_in_one_batch() {
        let cache = AuthCache::default();
        let epoch = cache.checked(Instant::now(), 0);
        cache.keep_credential(epoch, Kind::Token, "h", credential(i64::MAX), Some(1_000));
        cache.used(Kind::Token, "h", Some(1_000), 2_000);
        assert!(
            !cache.flush_wanted(),
            "within the resolution of the last use"
        );
        let later = 1_000 + LAST_USED_RESOLUTION_MS;
        cache.used(Kind::Token, "h", Some(1_000), later);
        cache.used(Kind::Token, "h", Some(1_000), later + 1);
        cache.used(Kind::AccessKey, "k", None, later + 2);
        assert!(cache.flush_wanted());
        assert!(!cache.flush_wanted(), "one write at a time");
        let mut uses = cache.take_uses();
        uses.sort_by_key(|u| u.2);
        assert_eq!(
            uses,
            vec![
                (Kind::Token, "h".to_owned(), later),
                (Kind::AccessKey, "k".to_owned(), later + 2),
            ]
        );
        assert_eq!(cache.credential(Kind::Token, "h").unwrap().1, Some(later));
        assert!(cache.take_uses().is_empty());
        assert!(!cache.flush_wanted());
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = AuthCache::default();
        let epoch = cache.checked(Instant::now(), 0);
        for i in 0..=CAPACITY {
            cache.keep_credential(epoch, Kind::Token, &i.to_string(), credential(1), None);
        }
        assert!(cache.credential(Kind::Token, "0").is_none());
        let last = CAPACITY.to_string();
        assert!(cache.credential(Kind::Token, &last).is_some());
    }
}
