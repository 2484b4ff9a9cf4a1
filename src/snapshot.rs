//! An opened input, the one thing every view takes: the source file, its bbolt db, etcd's
//! backend and MVCC store, and, on first use, the Kubernetes catalogue learned from the CRDs
//! the input holds. Opening reads the meta pages, the `meta` bucket and the ends of the `key`
//! bucket only; everything else is read when a view asks. `diff` opens two.

use crate::bolt::Db;
use crate::error::Result;
use crate::etcd::lease::{read_lease_bucket, read_leases, Lease, LeaseBucket};
use crate::etcd::members::{read_membership, Membership};
use crate::etcd::{Backend, KeyRange, Store};
use crate::k8s::crd::resource_from_crd;
use crate::k8s::decoder::{Decoded, Decoder};
use crate::k8s::key::{normalize_prefix, Catalog};
use crate::source::Source;
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

pub struct Snapshot<'a> {
    source: &'a Source,
    store: Store<'a>,
    /// Catalogues learned so far, per etcd prefix (a process normally uses one).
    catalogs: Mutex<Vec<(String, Arc<Catalog>)>>,
}

impl<'a> Snapshot<'a> {
    pub fn open(source: &'a Source) -> Result<Snapshot<'a>> {
        let store = Store::open(Backend::new(source.db()?))?;
        Ok(Snapshot { source, store, catalogs: Mutex::new(Vec::new()) })
    }

    pub fn source(&self) -> &'a Source {
        self.source
    }

    pub fn store(&self) -> &Store<'a> {
        &self.store
    }

    pub fn backend(&self) -> &Backend<'a> {
        self.store.backend()
    }

    pub fn db(&self) -> &Db<'a> {
        self.store.db()
    }

    /// The bbolt file read, as errors name it.
    pub fn file(&self) -> &Arc<Path> {
        self.db().file()
    }

    pub fn membership(&self) -> Result<Membership> {
        read_membership(self.backend())
    }

    /// The leases etcd would have on starting from this file.
    pub fn leases(&self) -> Result<Vec<Lease>> {
        read_leases(self.backend())
    }

    /// The leases etcd would have, and the entries of the `lease` bucket it would not take as
    /// they are (a key that is not its lease's ID, an ID held twice, a key etcd never reads).
    pub fn lease_bucket(&self) -> Result<LeaseBucket> {
        read_lease_bucket(self.backend())
    }

    /// The built-in resources plus every custom resource defined by a CRD stored under
    /// `etcd_prefix` at any retained revision (the newest retained definition of each CRD key
    /// wins), so objects of a CRD deleted later are still recognised at older revisions.
    /// Learned once per prefix.
    pub fn catalog(&self, decoder: &Decoder, etcd_prefix: &str) -> Result<Arc<Catalog>> {
        let prefix = normalize_prefix(etcd_prefix);
        let mut cache = self.catalogs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, c)) = cache.iter().find(|(p, _)| *p == prefix) {
            return Ok(c.clone());
        }
        let catalog = Arc::new(self.learn_catalog(decoder, &prefix)?);
        cache.push((prefix, catalog.clone()));
        Ok(catalog)
    }

    fn learn_catalog(&self, decoder: &Decoder, prefix: &str) -> Result<Catalog> {
        let mut catalog = Catalog::built_in();
        let crds = KeyRange::prefix(format!("{prefix}/apiextensions.k8s.io/customresourcedefinitions/").as_bytes());
        let mut newest_put = HashMap::default();
        for entry in self.store.revisions(Some(&crds), 0..=i64::MAX) {
            let entry = entry?;
            if !entry.tombstone {
                newest_put.insert(entry.key, entry);
            }
        }
        let mut definitions: Vec<_> = newest_put.into_values().collect();
        definitions.sort_unstable_by(|a, b| a.key.cmp(b.key));
        for entry in definitions {
            let kv = entry.kv(self.file())?;
            if let Decoded::Object { json, .. } = decoder.decode_at(kv.key, kv.value, None) {
                if let Some(info) = json.value().ok().as_ref().and_then(resource_from_crd) {
                    catalog.add(info);
                }
            }
        }
        Ok(catalog)
    }
}
