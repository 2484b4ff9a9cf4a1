//! The persisted freelist page. One page layout, two ways of storing the count: in the header
//! when below 0xFFFF, else 0xFFFF in the header and the real count as the body's first u64.
//! etcd on Linux never persists the freelist (meta freelist = u64::MAX); free pages are then found
//! by reachability (see `walk`).
//!
//! Readers take the list whole or not at all ([`read_freelist`]); `check` reads every entry and
//! judges each ([`list_freelist`]), as bbolt's check does.

use super::db::Db;
use super::layout::*;
use super::walk::PageSet;
use crate::error::Result;

/// Every entry of the freelist page, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The freelist page and the pages of its run.
    pub page: u64,
    pub run_pages: u64,
    /// (file offset of the entry, page id listed), in the page's order.
    pub entries: Vec<(u64, u64)>,
}

/// The freelist page of the active meta, every entry as stored (ids unchecked), or `None` when
/// not persisted. An error when the page itself cannot hold the list it claims.
pub fn list_freelist(db: &Db<'_>) -> Result<Option<Listing>> {
    let id = db.meta().freelist;
    if id == NO_FREELIST {
        return Ok(None);
    }
    let page = db.page(id)?;
    if page.flags != FREELIST_PAGE {
        return Err(db.corrupt(
            id,
            page.offset + PAGE_FLAGS as u64,
            format!("meta names page {id} as the freelist but it is a {} page (flags 0x{:02x})", page_type_name(page.flags), page.flags),
        ));
    }
    let (count, body) = if page.count == FREELIST_COUNT_OVERFLOW {
        let n = u64_at(page.bytes, PAGE_HEADER_SIZE).unwrap_or_default();
        (n, PAGE_HEADER_SIZE + 8)
    } else {
        (u64::from(page.count), PAGE_HEADER_SIZE)
    };
    let room = ((page.bytes.len() - body.min(page.bytes.len())) / 8) as u64;
    if count > room {
        return Err(db.corrupt(
            id,
            page.offset + PAGE_COUNT as u64,
            format!("freelist claims {count} page ids but its {}-byte run holds at most {room}", page.bytes.len()),
        ));
    }
    // `count` is bounded by the page run, which is bounded by the file.
    let entries = (0..count as usize)
        .map(|i| {
            let at = body + i * 8;
            (page.offset + at as u64, u64_at(page.bytes, at).unwrap_or_default())
        })
        .collect();
    Ok(Some(Listing { page: id, run_pages: u64::from(page.overflow) + 1, entries }))
}

/// Page ids listed on the freelist page of the active meta, or `None` when not persisted. A
/// list naming a page outside the data pages, or a page twice, is an error.
pub fn read_freelist(db: &Db<'_>) -> Result<Option<Vec<u64>>> {
    let Some(listing) = list_freelist(db)? else { return Ok(None) };
    let hwm = db.high_water_mark();
    let mut ids = Vec::with_capacity(listing.entries.len());
    let mut listed = PageSet::new(hwm);
    for (i, &(at, pid)) in listing.entries.iter().enumerate() {
        if pid < 2 || pid >= hwm {
            return Err(db.corrupt(listing.page, at, format!("freelist entry {i} names page {pid}, outside the data pages 2..{hwm}")));
        }
        // bbolt refuses to free a page twice ("page already freed"); a list that does cannot
        // be counted.
        if !listed.insert(pid) {
            return Err(db.corrupt(listing.page, at, format!("freelist entry {i} names page {pid} again: page already freed")));
        }
        ids.push(pid);
    }
    Ok(Some(ids))
}
