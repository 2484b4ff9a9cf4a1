//! Space accounting: which pages are in use and which are free (roughly what a defragmentation
//! would give back).
//! With a persisted freelist its ids are the free pages; without one (etcd's default) every
//! page not reachable from the active meta is free.

use super::db::Db;
use super::freelist::read_freelist;
use super::tree::Bucket;
use super::tree::Entry;
use super::walk::{walk_bucket, walk_bucket_visiting, PageSet, TreeStats, Visitor};
use crate::cancel::Cancel;
use crate::error::Result;
use serde::Serialize;

/// Per top-level bucket statistics plus the whole file's page balance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub page_size: u64,
    pub high_water_mark: u64,
    /// Data pages reachable from the active meta (bucket trees, the root's own tree included).
    pub reachable_pages: u64,
    pub free_pages: u64,
    /// true when the meta names a freelist page; false when free pages were found by reachability.
    pub freelist_persisted: bool,
    /// Pages of the freelist page run itself (0 when not persisted).
    pub freelist_pages: u64,
    /// The root bucket's own tree: its entries are the top-level buckets.
    pub root: TreeStats,
    pub buckets: Vec<BucketSpace>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketSpace {
    #[serde(skip)]
    pub name: Vec<u8>,
    #[serde(flatten)]
    pub stats: TreeStats,
}

impl Space {
    /// Bytes of free pages: roughly what a defragmentation gives back. Not a bound either way:
    /// a rebuilt file abandons a page or two of its own, and repacking can also save pages
    /// (etcdutl defrag of the 3.5.1 sample, 13 pages free, returned 12).
    pub fn free_bytes(&self) -> u64 {
        self.free_pages.saturating_mul(self.page_size)
    }
    /// Logical size minus free pages (etcd's "db size in use").
    pub fn in_use_bytes(&self) -> u64 {
        self.high_water_mark.saturating_sub(self.free_pages).saturating_mul(self.page_size)
    }
}

/// Walks every tree reachable from the active meta once.
pub fn measure(db: &Db<'_>) -> Result<Space> {
    measure_with(db, |_, bucket, seen, stats| walk_bucket(db, bucket, seen, stats, true))
}

/// [`measure`], stopping with [`crate::error::Error::Interrupted`] soon after `cancel` is
/// cancelled (it is checked every few thousand entries of each bucket).
pub fn measure_cancellable(db: &Db<'_>, cancel: &Cancel) -> Result<Space> {
    measure_with(db, |_, bucket, seen, stats| walk_bucket_visiting(db, bucket, seen, stats, true, &mut Checking { cancel, entries: 0 }))
}

/// A visitor that only checks a cancel token now and then.
struct Checking<'c> {
    cancel: &'c Cancel,
    entries: u64,
}

impl Visitor<'_> for Checking<'_> {
    fn entry(&mut self, _: &Entry<'_>) -> Result<()> {
        self.entries += 1;
        if self.entries % 4096 == 0 {
            self.cancel.check()?;
        }
        Ok(())
    }
}

/// [`measure`], each top-level bucket (in key order, with its name) walked by `walk`, which must
/// walk it whole, nested buckets included: a reader of every entry walks it with its visitor
/// and so reads the file once for both.
pub fn measure_with<'a>(db: &Db<'a>, mut walk: impl FnMut(&'a [u8], &Bucket<'a>, &mut PageSet, &mut TreeStats) -> Result<()>) -> Result<Space> {
    let hwm = db.high_water_mark();
    let mut seen = PageSet::new(hwm);
    seen.insert(0);
    seen.insert(1);
    let root = db.root();
    let mut root_stats = TreeStats::default();
    walk_bucket(db, &root, &mut seen, &mut root_stats, false)?;
    let mut buckets = Vec::new();
    for entry in root.iter(db) {
        let entry = entry?;
        if !entry.is_bucket() {
            continue;
        }
        let bucket = Bucket::from_element(db, entry.page, &entry.element)?;
        let mut stats = TreeStats::default();
        walk(entry.key(), &bucket, &mut seen, &mut stats)?;
        buckets.push(BucketSpace { name: entry.key().to_vec(), stats });
    }
    let reachable = seen.len() - 2;
    let (persisted, free_pages, freelist_pages) = match read_freelist(db)? {
        Some(ids) => {
            let run = u64::from(db.page(db.meta().freelist)?.overflow) + 1;
            (true, ids.len() as u64, run)
        }
        None => (false, hwm.saturating_sub(2 + reachable), 0),
    };
    Ok(Space {
        page_size: db.page_size() as u64,
        high_water_mark: hwm,
        reachable_pages: reachable,
        free_pages,
        freelist_persisted: persisted,
        freelist_pages,
        root: root_stats,
        buckets,
    })
}
