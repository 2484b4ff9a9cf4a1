//! A small bbolt writer for the structure-aware targets: buckets (nested, inline or on pages),
//! leaf and branch pages with overflow runs, an optional freelist page and two meta pages with
//! correct FNV-1a checksums, laid out as docs/format/bbolt.md describes. What it writes is valid
//! unless the recipe asks for damage, so most fuzz inputs open and are walked to the leaves.

use super::recipe::Recipe;
use etcdscope::bolt::layout::*;
use etcdscope::bolt::meta::fnv1a64;

/// What a bucket holds, before it is written.
#[derive(Debug, Clone, Default)]
pub struct BucketSpec {
    pub entries: Vec<(Vec<u8>, Item)>,
    /// Write the bucket inline in its parent's leaf (only for nested buckets).
    pub inline: bool,
    pub sequence: u64,
    /// Entries per leaf page (at least 1) and children per branch page (at least 2).
    pub leaf_max: usize,
    pub fanout: usize,
}

#[derive(Debug, Clone)]
pub enum Item {
    Value(Vec<u8>),
    Bucket(BucketSpec),
    /// A nested bucket element whose value is these bytes as they are (a crafted inline bucket).
    RawBucket(Vec<u8>),
}

impl BucketSpec {
    pub fn new() -> BucketSpec {
        BucketSpec { leaf_max: 4, fanout: 3, ..BucketSpec::default() }
    }

    /// Sorts the entries by key and drops repeated keys (bbolt keys are unique), first wins.
    pub fn normalize(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.entries.dedup_by(|b, a| a.0 == b.0);
    }
}

/// How the metas and the file end are written; the recipe may ask for a damaged file.
#[derive(Debug, Clone)]
pub struct MetaPlan {
    /// Transaction ids of meta 0 and meta 1; the higher valid one is active.
    pub txids: [u64; 2],
    /// The meta that points at an older, smaller root (a free page) rather than the real one.
    pub stale: Option<usize>,
    pub persist_freelist: bool,
    /// Free pages to leave between the trees.
    pub free_pages: usize,
    /// Applied to the fields before the checksum is computed (so they validate).
    pub root_override: Option<u64>,
    pub hwm_delta: i64,
    pub freelist_override: Option<u64>,
    pub page_size_override: Option<u32>,
    /// Checksums left wrong, per meta.
    pub bad_checksum: [bool; 2],
    /// Byte damage after everything is written: (offset, xor).
    pub damage: Vec<(usize, u8)>,
    /// Page pointers (branch children, bucket roots) redirected after everything is written:
    /// (which pointer, new page id). Makes shared pages, cycles, pointers to metas or past the
    /// end, the damage tree walks must refuse.
    pub retarget: Vec<(usize, u64)>,
    /// Bytes cut off the end (a truncated copy) or added (zeros).
    pub truncate: usize,
    pub extra: usize,
}

impl MetaPlan {
    pub fn clean() -> MetaPlan {
        MetaPlan {
            txids: [2, 3],
            stale: None,
            persist_freelist: false,
            free_pages: 0,
            root_override: None,
            hwm_delta: 0,
            freelist_override: None,
            page_size_override: None,
            bad_checksum: [false; 2],
            damage: Vec::new(),
            retarget: Vec::new(),
            truncate: 0,
            extra: 0,
        }
    }

    /// Mostly clean (zeros, as past the recipe's end, are clean); now and then a meta field, a checksum or a byte of the file goes wrong.
    pub fn from_recipe(r: &mut Recipe<'_>) -> MetaPlan {
        let mut p = MetaPlan::clean();
        p.txids = [u64::from(r.u8()), u64::from(r.u8())];
        p.persist_freelist = r.below(4) == 3;
        p.free_pages = r.below(4);
        if r.below(4) == 3 {
            p.stale = Some(r.below(2));
        }
        let damage = r.u8();
        if damage >= 0xd0 {
            match damage % 8 {
                0 => p.root_override = Some(u64::from(r.u8())),
                1 => p.hwm_delta = i64::from(r.u8() as i8),
                2 => p.freelist_override = Some(if r.bool() { u64::from(r.u8()) } else { u64::MAX - u64::from(r.u8()) }),
                3 => p.page_size_override = Some(*r.pick(&[0u32, 256, 512, 1024, 4096, 8192, 1 << 16, 3000, u32::MAX])),
                4 => p.bad_checksum[r.below(2)] = true,
                5 => p.truncate = r.below(700),
                6 => p.extra = r.below(600),
                7 if r.bool() => {
                    for _ in 0..1 + r.below(2) {
                        p.retarget.push((r.below(64), u64::from(r.u8() % 24)));
                    }
                }
                _ => {
                    for _ in 0..1 + r.below(4) {
                        p.damage.push((r.u32() as usize, r.u8()));
                    }
                }
            }
        }
        p
    }
}

/// A bbolt file being written, page by page.
pub struct BoltWriter {
    pub ps: usize,
    buf: Vec<u8>,
}

type Element = (u32, Vec<u8>, Vec<u8>);

impl BoltWriter {
    pub fn new(ps: usize) -> BoltWriter {
        BoltWriter { ps, buf: vec![0; 2 * ps] }
    }

    fn next_id(&self) -> u64 {
        (self.buf.len() / self.ps) as u64
    }

    /// Appends a page run holding `node` (header included) and returns its id.
    fn alloc(&mut self, mut node: Vec<u8>, flags: u16, count: usize) -> u64 {
        let id = self.next_id();
        let pages = node.len().div_ceil(self.ps).max(1);
        node.resize(pages * self.ps, 0);
        node[PAGE_ID..PAGE_ID + 8].copy_from_slice(&id.to_le_bytes());
        node[PAGE_FLAGS..PAGE_FLAGS + 2].copy_from_slice(&flags.to_le_bytes());
        node[PAGE_COUNT..PAGE_COUNT + 2].copy_from_slice(&(count as u16).to_le_bytes());
        node[PAGE_OVERFLOW..PAGE_OVERFLOW + 4].copy_from_slice(&((pages - 1) as u32).to_le_bytes());
        self.buf.extend_from_slice(&node);
        id
    }

    /// A page nothing points to (what etcd leaves behind without a persisted freelist).
    pub fn free_page(&mut self) -> u64 {
        let node = vec![0u8; PAGE_HEADER_SIZE];
        self.alloc(node, LEAF_PAGE, 0)
    }

    /// Writes a bucket's tree (nested buckets first) and returns the bucket header value:
    /// root page id and sequence, followed by the inline page for an inline bucket.
    pub fn bucket(&mut self, spec: &BucketSpec) -> Vec<u8> {
        let mut elements: Vec<Element> = Vec::with_capacity(spec.entries.len());
        for (key, item) in &spec.entries {
            match item {
                Item::Value(v) => elements.push((0, key.clone(), v.clone())),
                Item::Bucket(b) => elements.push((BUCKET_LEAF_FLAG, key.clone(), self.bucket(b))),
                Item::RawBucket(v) => elements.push((BUCKET_LEAF_FLAG, key.clone(), v.clone())),
            }
        }
        let mut header = Vec::with_capacity(BUCKET_HEADER_SIZE);
        if spec.inline {
            header.extend_from_slice(&0u64.to_le_bytes());
            header.extend_from_slice(&spec.sequence.to_le_bytes());
            let mut page = leaf_node(&elements);
            page[PAGE_FLAGS..PAGE_FLAGS + 2].copy_from_slice(&LEAF_PAGE.to_le_bytes());
            page[PAGE_COUNT..PAGE_COUNT + 2].copy_from_slice(&(elements.len() as u16).to_le_bytes());
            header.extend_from_slice(&page);
            return header;
        }
        let root = self.tree(&elements, spec.leaf_max.max(1), spec.fanout.max(2));
        header.extend_from_slice(&root.to_le_bytes());
        header.extend_from_slice(&spec.sequence.to_le_bytes());
        header
    }

    /// Leaves of `leaf_max` elements, then branch levels of `fanout` children; the root's id.
    fn tree(&mut self, elements: &[Element], leaf_max: usize, fanout: usize) -> u64 {
        let mut level: Vec<(Vec<u8>, u64)> = Vec::new();
        if elements.is_empty() {
            let id = self.alloc(leaf_node(&[]), LEAF_PAGE, 0);
            return id;
        }
        for chunk in elements.chunks(leaf_max) {
            let id = self.alloc(leaf_node(chunk), LEAF_PAGE, chunk.len());
            level.push((chunk[0].1.clone(), id));
        }
        while level.len() > 1 {
            let mut up = Vec::new();
            for chunk in level.chunks(fanout) {
                let id = self.alloc(branch_node(chunk), BRANCH_PAGE, chunk.len());
                up.push((chunk[0].0.clone(), id));
            }
            level = up;
        }
        level[0].1
    }

    /// A freelist page listing `ids`.
    fn freelist(&mut self, ids: &[u64]) -> u64 {
        let mut node = vec![0u8; PAGE_HEADER_SIZE];
        for id in ids {
            node.extend_from_slice(&id.to_le_bytes());
        }
        self.alloc(node, FREELIST_PAGE, ids.len())
    }

    /// Writes the root bucket (whose entries are the top-level buckets), the metas, and applies
    /// the plan's damage. Returns the file's bytes.
    pub fn finish(mut self, root: &BucketSpec, plan: &MetaPlan) -> Vec<u8> {
        let mut free = Vec::new();
        // An older root left behind: a stale meta may point at it.
        let old_root = self.tree(&[], 1, 2);
        free.push(old_root);
        for _ in 0..plan.free_pages {
            free.push(self.free_page());
        }
        let mut root_spec = root.clone();
        root_spec.inline = false;
        let header = self.bucket(&root_spec);
        let root_id = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let freelist = if plan.persist_freelist { self.freelist(&free) } else { NO_FREELIST };
        let hwm = self.next_id();
        for slot in 0..2 {
            let root = if plan.stale == Some(slot) { old_root } else { root_id };
            let root = plan.root_override.unwrap_or(root);
            let hwm = hwm.saturating_add_signed(plan.hwm_delta);
            let freelist = plan.freelist_override.unwrap_or(freelist);
            let ps = plan.page_size_override.unwrap_or(self.ps as u32);
            let m = meta_page(slot as u64, ps, root, freelist, hwm, plan.txids[slot], plan.bad_checksum[slot]);
            let at = slot * self.ps;
            self.buf[at..at + m.len()].copy_from_slice(&m);
        }
        let ps = self.ps;
        let mut buf = self.buf;
        let pointers = page_pointers(&buf, ps);
        for &(which, to) in &plan.retarget {
            if !pointers.is_empty() {
                let at = pointers[which % pointers.len()];
                buf[at..at + 8].copy_from_slice(&to.to_le_bytes());
            }
        }
        for &(offset, xor) in &plan.damage {
            if !buf.is_empty() {
                let at = offset % buf.len();
                buf[at] ^= xor.max(1);
            }
        }
        buf.truncate(buf.len().saturating_sub(plan.truncate));
        buf.resize(buf.len() + plan.extra, 0);
        buf
    }
}

/// File offsets of every page pointer in the data pages: branch elements' children and the
/// root ids of non-inline nested buckets.
fn page_pointers(buf: &[u8], ps: usize) -> Vec<usize> {
    let rd16 = |at: usize| u16::from_le_bytes([buf[at], buf[at + 1]]);
    let rd32 = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
    let mut out = Vec::new();
    let mut page = 2;
    while (page + 1) * ps <= buf.len() {
        let base = page * ps;
        let (flags, count, overflow) = (rd16(base + PAGE_FLAGS), rd16(base + PAGE_COUNT) as usize, rd32(base + PAGE_OVERFLOW) as usize);
        let end = (base + (overflow + 1) * ps).min(buf.len());
        for i in 0..count {
            let e = base + PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
            if e + LEAF_ELEMENT_SIZE > end {
                break;
            }
            if flags == BRANCH_PAGE {
                out.push(e + BRANCH_CHILD);
            } else if flags == LEAF_PAGE && rd32(e + LEAF_FLAGS) & BUCKET_LEAF_FLAG != 0 {
                let value = e + rd32(e + LEAF_POS) as usize + rd32(e + LEAF_KSIZE) as usize;
                let root = buf.get(value..value + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
                if root.is_some_and(|r| r != 0) {
                    out.push(value);
                }
            }
        }
        page += overflow + 1;
    }
    out
}

/// A leaf node: header (flags and count filled in by `alloc`), element records, keys and values.
fn leaf_node(elements: &[Element]) -> Vec<u8> {
    let mut node = vec![0u8; PAGE_HEADER_SIZE + elements.len() * LEAF_ELEMENT_SIZE];
    for (i, (flags, key, value)) in elements.iter().enumerate() {
        let e = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
        let pos = (node.len() - e) as u32;
        node[e + LEAF_FLAGS..e + LEAF_FLAGS + 4].copy_from_slice(&flags.to_le_bytes());
        node[e + LEAF_POS..e + LEAF_POS + 4].copy_from_slice(&pos.to_le_bytes());
        node[e + LEAF_KSIZE..e + LEAF_KSIZE + 4].copy_from_slice(&(key.len() as u32).to_le_bytes());
        node[e + LEAF_VSIZE..e + LEAF_VSIZE + 4].copy_from_slice(&(value.len() as u32).to_le_bytes());
        node.extend_from_slice(key);
        node.extend_from_slice(value);
    }
    node
}

fn branch_node(children: &[(Vec<u8>, u64)]) -> Vec<u8> {
    let mut node = vec![0u8; PAGE_HEADER_SIZE + children.len() * BRANCH_ELEMENT_SIZE];
    for (i, (key, child)) in children.iter().enumerate() {
        let e = PAGE_HEADER_SIZE + i * BRANCH_ELEMENT_SIZE;
        let pos = (node.len() - e) as u32;
        node[e + BRANCH_POS..e + BRANCH_POS + 4].copy_from_slice(&pos.to_le_bytes());
        node[e + BRANCH_KSIZE..e + BRANCH_KSIZE + 4].copy_from_slice(&(key.len() as u32).to_le_bytes());
        node[e + BRANCH_CHILD..e + BRANCH_CHILD + 8].copy_from_slice(&child.to_le_bytes());
        node.extend_from_slice(key);
    }
    node
}

/// The first `META_END` bytes of a meta page.
pub fn meta_page(id: u64, page_size: u32, root: u64, freelist: u64, hwm: u64, txid: u64, bad_checksum: bool) -> Vec<u8> {
    let mut m = vec![0u8; META_END];
    m[PAGE_ID..PAGE_ID + 8].copy_from_slice(&id.to_le_bytes());
    m[PAGE_FLAGS..PAGE_FLAGS + 2].copy_from_slice(&META_PAGE.to_le_bytes());
    m[META_MAGIC..META_MAGIC + 4].copy_from_slice(&MAGIC.to_le_bytes());
    m[META_VERSION..META_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
    m[META_PAGE_SIZE..META_PAGE_SIZE + 4].copy_from_slice(&page_size.to_le_bytes());
    m[META_ROOT + BUCKET_ROOT..META_ROOT + BUCKET_ROOT + 8].copy_from_slice(&root.to_le_bytes());
    m[META_FREELIST..META_FREELIST + 8].copy_from_slice(&freelist.to_le_bytes());
    m[META_HWM..META_HWM + 8].copy_from_slice(&hwm.to_le_bytes());
    m[META_TXID..META_TXID + 8].copy_from_slice(&txid.to_le_bytes());
    let sum = fnv1a64(&m[META_MAGIC..META_CHECKSUM]) ^ u64::from(bad_checksum);
    m[META_CHECKSUM..META_CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
    m
}

/// Keys bbolt files written by etcd hold, to make nested lookups by name hit.
const KEY_PALETTE: &[&[u8]] = &[
    b"key",
    b"meta",
    b"lease",
    b"members",
    b"members_removed",
    b"cluster",
    b"alarm",
    b"auth",
    b"authUsers",
    b"authRoles",
    b"consistent_index",
    b"term",
    b"confState",
    b"a",
    b"b",
    b"\xff",
    b"\x00",
];

/// A generic bucket from the recipe: keys from a palette, the recipe or a counter; values of any
/// size (some spill into overflow pages); nested buckets, inline or not, a few levels deep.
pub fn bucket_from_recipe(r: &mut Recipe<'_>, depth: usize, ps: usize) -> BucketSpec {
    let mut spec = BucketSpec::new();
    spec.inline = depth > 0 && r.below(3) == 0;
    spec.sequence = u64::from(r.u8());
    spec.leaf_max = 1 + r.below(6);
    spec.fanout = 2 + r.below(4);
    let n = r.below(if depth == 0 { 6 } else { 16 });
    for i in 0..n {
        let tag = r.u8();
        let mut key = match tag & 3 {
            0 => r.pick(KEY_PALETTE).to_vec(),
            1 => r.bytes(12).to_vec(),
            2 => format!("k{i:03}").into_bytes(),
            _ => {
                let mut k = u64::from(r.u8()).to_be_bytes().to_vec();
                k.push(b'_');
                k.extend_from_slice(&u64::from(r.u8() % 3).to_be_bytes());
                if r.below(4) == 0 {
                    k.push(b't');
                }
                k
            }
        };
        if key.is_empty() {
            key.push(tag);
        }
        let nested = depth < 3 && (if depth == 0 { tag & 0x30 != 0 } else { tag & 0x30 == 0x30 });
        let item = if nested { Item::Bucket(bucket_from_recipe(r, depth + 1, ps)) } else { Item::Value(value_from_recipe(r, ps)) };
        spec.entries.push((key, item));
    }
    spec.normalize();
    if spec.entries.len() > 1 && r.below(24) == 23 {
        // Keys out of order, which bbolt never writes: cursors and seeks must not trust them.
        let i = r.below(spec.entries.len());
        spec.entries.swap(0, i.max(1));
    }
    spec
}

fn value_from_recipe(r: &mut Recipe<'_>, ps: usize) -> Vec<u8> {
    match r.below(8) {
        0 => Vec::new(),
        6 => {
            // Larger than a page: the leaf spills into overflow pages.
            let len = ps * (1 + r.below(2)) + usize::from(r.u8());
            let fill = r.u8();
            vec![fill; len]
        }
        7 => r.bytes(255).to_vec(),
        _ => r.bytes(24).to_vec(),
    }
}

pub const PAGE_SIZES: [usize; 4] = [512, 1024, 2048, 4096];

/// A whole bbolt file from the recipe.
pub fn file_from_recipe(r: &mut Recipe<'_>) -> Vec<u8> {
    let ps = PAGE_SIZES[r.below(PAGE_SIZES.len())];
    let plan = MetaPlan::from_recipe(r);
    let root = bucket_from_recipe(r, 0, ps);
    BoltWriter::new(ps).finish(&root, &plan)
}

/// The value of an inline bucket nesting `levels` inline buckets whose two elements share one
/// value, the next level (the overlapping-value recipe): keys "\0k" (the last byte of element
/// 1's record, always 0, then "k") and "k" are distinct and sorted, only the values repeat. A
/// walk without the overlap guard visits the innermost level 2^levels times.
pub fn shared_inline_value(levels: usize) -> Vec<u8> {
    let put16 = |b: &mut [u8], at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let per_level = BUCKET_HEADER_SIZE + PAGE_HEADER_SIZE + 2 * LEAF_ELEMENT_SIZE + 1;
    let k_at = PAGE_HEADER_SIZE + 2 * LEAF_ELEMENT_SIZE;
    let mut value = Vec::with_capacity((levels + 1) * per_level);
    for level in 0..levels {
        let next_level = (levels - level - 1) * per_level + BUCKET_HEADER_SIZE + PAGE_HEADER_SIZE;
        value.extend_from_slice(&[0u8; BUCKET_HEADER_SIZE]);
        let mut node = vec![0u8; k_at + 1];
        put16(&mut node, PAGE_FLAGS, LEAF_PAGE);
        put16(&mut node, PAGE_COUNT, 2);
        for (i, ksize) in [(0, 2usize), (1, 1)] {
            let e = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
            put32(&mut node, e + LEAF_FLAGS, BUCKET_LEAF_FLAG);
            put32(&mut node, e + LEAF_POS, (k_at + 1 - ksize - e) as u32);
            put32(&mut node, e + LEAF_KSIZE, ksize as u32);
            put32(&mut node, e + LEAF_VSIZE, next_level as u32);
        }
        node[k_at] = b'k';
        value.extend_from_slice(&node);
    }
    value.extend_from_slice(&[0u8; BUCKET_HEADER_SIZE]);
    let mut empty = vec![0u8; PAGE_HEADER_SIZE];
    put16(&mut empty, PAGE_FLAGS, LEAF_PAGE);
    value.extend_from_slice(&empty);
    value
}

/// Damage a recipe may ask of a whole file, the kinds a salvage meets: `kind` 0 none; 1 one page
/// zeroed; 2 two pages zeroed; 3 cut short (anywhere, often mid-page); 4 a page zeroed and the
/// file cut; 5 a few bytes flipped; else none. Pages and positions come from the recipe.
pub fn damage(r: &mut Recipe<'_>, file: &mut Vec<u8>, kind: u8) {
    let ps = u32::from_le_bytes(file.get(META_PAGE_SIZE..META_PAGE_SIZE + 4).and_then(|b| b.try_into().ok()).unwrap_or([0; 4])) as usize;
    let ps = if PAGE_SIZES.contains(&ps) { ps } else { 4096 };
    let pages = file.len() / ps;
    let zero = |r: &mut Recipe<'_>, file: &mut Vec<u8>| {
        if pages > 2 {
            let p = 2 + r.below(pages - 2);
            file[p * ps..(p + 1) * ps].fill(0);
        }
    };
    match kind {
        1 => zero(r, file),
        2 => {
            zero(r, file);
            zero(r, file);
        }
        3 => {
            let keep = 2 * ps + r.below(file.len().saturating_sub(2 * ps).max(1));
            file.truncate(keep.min(file.len()));
        }
        4 => {
            zero(r, file);
            let keep = file.len() - r.below(file.len() / 2 + 1);
            file.truncate(keep.max(2 * ps).min(file.len()));
        }
        5 => {
            for _ in 0..1 + r.below(6) {
                if !file.is_empty() {
                    let at = r.u32() as usize % file.len();
                    file[at] ^= r.u8().max(1);
                }
            }
        }
        _ => {}
    }
}
