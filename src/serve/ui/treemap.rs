//! The squarified treemap layout (Bruls, Huijing and van Wijk, 2000) the space view draws: a
//! rectangle cut into one tile per value, each tile's area proportional to its value, tiles as
//! close to squares as the greedy row rule makes them. Pure arithmetic, no drawing: the view
//! turns tiles into SVG.
//!
//! Values are cut largest first into rows along the shorter side of what is left; a row grows
//! while adding the next value does not worsen its worst aspect ratio. Each row, and each tile
//! in a row, ends where the one before it ends, so tiles never overlap and the last ones fill
//! the rectangle exactly (floating-point error lands in no gap). A zero value gets a tile with
//! no area at the rectangle's corner; no input panics (empty, all zero, `u64::MAX`, millions).

/// An axis-aligned rectangle: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    pub fn area(&self) -> f64 {
        self.w * self.h
    }

    fn right(&self) -> f64 {
        self.x + self.w
    }

    fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// A rectangle with no area at this one's top-left corner.
    fn corner(&self) -> Rect {
        Rect { x: self.x, y: self.y, w: 0.0, h: 0.0 }
    }
}

/// One tile per value, in the order of `values`, cutting `bounds` (whose width and height are
/// finite and not negative; anything else gives empty tiles).
pub fn squarify(values: &[u64], bounds: Rect) -> Vec<Rect> {
    let mut tiles = vec![bounds.corner(); values.len()];
    let usable = [bounds.x, bounds.y, bounds.w, bounds.h].iter().all(|v| v.is_finite()) && bounds.w > 0.0 && bounds.h > 0.0;
    let total: u128 = values.iter().map(|&v| u128::from(v)).sum();
    if !usable || total == 0 {
        return tiles;
    }
    // Largest first; ties in input order so the layout is the same on every run.
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| values[i] > 0).collect();
    order.sort_by(|&a, &b| values[b].cmp(&values[a]).then(a.cmp(&b)));
    let scale = bounds.area() / total as f64;
    let areas: Vec<f64> = order.iter().map(|&i| values[i] as f64 * scale).collect();
    let mut free = bounds;
    let mut start = 0;
    while start < order.len() {
        let end = row_end(&areas, start, free.w.min(free.h));
        let last_row = end == order.len();
        free = place_row(&order[start..end], &areas[start..end], free, last_row, &mut tiles);
        start = end;
    }
    tiles
}

/// Where the row starting at `start` ends: it takes values while the worst aspect ratio of its
/// tiles, laid along a side of length `side`, does not get worse.
fn row_end(areas: &[f64], start: usize, side: f64) -> usize {
    let mut row = RowStats::default();
    let mut end = start;
    while end < areas.len() {
        let grown = row.with(areas[end]);
        if end > start && grown.worst(side) > row.worst(side) {
            break;
        }
        row = grown;
        end += 1;
    }
    end
}

/// The sum, smallest and largest area of a row.
#[derive(Debug, Clone, Copy, Default)]
struct RowStats {
    sum: f64,
    min: f64,
    max: f64,
}

impl RowStats {
    fn with(self, area: f64) -> RowStats {
        if self.sum == 0.0 {
            return RowStats { sum: area, min: area, max: area };
        }
        RowStats { sum: self.sum + area, min: self.min.min(area), max: self.max.max(area) }
    }

    /// The worst (largest) aspect ratio of the row's tiles along a side of length `side`.
    fn worst(&self, side: f64) -> f64 {
        let (s2, w2) = (self.sum * self.sum, side * side);
        if s2 == 0.0 || w2 == 0.0 || self.min == 0.0 {
            return f64::INFINITY;
        }
        (w2 * self.max / s2).max(s2 / (w2 * self.min))
    }
}

/// Lays the row along the shorter side of `free` and returns what is left of it. The last row
/// takes all that is left, so rounding leaves no gap.
fn place_row(indexes: &[usize], areas: &[f64], free: Rect, last_row: bool, tiles: &mut [Rect]) -> Rect {
    let sum: f64 = areas.iter().sum();
    let vertical = free.w >= free.h; // a column at the left, tiles stacked top to bottom
    let (along, across) = if vertical { (free.h, free.w) } else { (free.w, free.h) };
    let thickness = if last_row { across } else { (sum / along).clamp(0.0, across) };
    let (start, stop) = if vertical { (free.y, free.bottom()) } else { (free.x, free.right()) };
    let mut done = 0.0;
    let mut from = start;
    for (k, (&i, &a)) in indexes.iter().zip(areas).enumerate() {
        done += a;
        let to = if k + 1 == areas.len() { stop } else { (start + along * (done / sum)).clamp(from, stop) };
        tiles[i] = if vertical { Rect::new(free.x, from, thickness, to - from) } else { Rect::new(from, free.y, to - from, thickness) };
        from = to;
    }
    if vertical {
        Rect::new(free.x + thickness, free.y, (free.w - thickness).max(0.0), free.h)
    } else {
        Rect::new(free.x, free.y + thickness, free.w, (free.h - thickness).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Rect = Rect { x: 10.0, y: 20.0, w: 1000.0, h: 600.0 };

    /// A small deterministic generator, so the random cases are the same on every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn overlap(a: &Rect, b: &Rect) -> f64 {
        let w = (a.right().min(b.right()) - a.x.max(b.x)).max(0.0);
        let h = (a.bottom().min(b.bottom()) - a.y.max(b.y)).max(0.0);
        w * h
    }

    /// Every property the view relies on, for one input.
    fn assert_sound(values: &[u64], bounds: Rect) {
        let tiles = squarify(values, bounds);
        assert_eq!(tiles.len(), values.len());
        let total: f64 = values.iter().map(|&v| v as f64).sum();
        let eps = 1e-6 * bounds.area().max(1.0);
        for (t, &v) in tiles.iter().zip(values) {
            assert!(t.w >= 0.0 && t.h >= 0.0 && t.x.is_finite() && t.y.is_finite(), "{t:?}");
            assert!(t.x >= bounds.x - 1e-9 && t.y >= bounds.y - 1e-9, "{t:?} starts outside {bounds:?}");
            assert!(t.right() <= bounds.right() + 1e-6 && t.bottom() <= bounds.bottom() + 1e-6, "{t:?} ends outside {bounds:?}");
            if v == 0 {
                assert_eq!(t.area(), 0.0, "a zero value has no area");
            } else {
                let expected = v as f64 / total * bounds.area();
                assert!((t.area() - expected).abs() <= eps.max(expected * 1e-6), "value {v}: area {} expected {expected}", t.area());
            }
        }
        let covered: f64 = tiles.iter().map(Rect::area).sum();
        if total > 0.0 {
            assert!((covered - bounds.area()).abs() <= eps, "the tiles cover {covered} of {}", bounds.area());
        }
        if tiles.len() <= 400 {
            for (i, a) in tiles.iter().enumerate() {
                for b in &tiles[i + 1..] {
                    assert!(overlap(a, b) <= eps, "{a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn areas_are_proportional_and_tiles_neither_overlap_nor_leave_the_bounds() {
        assert_sound(&[6, 6, 4, 3, 2, 2, 1], Rect::new(0.0, 0.0, 6.0, 4.0));
        assert_sound(&[1], BOUNDS);
        assert_sound(&[5, 5], BOUNDS);
        assert_sound(&[1_000_000, 1, 1, 1], BOUNDS);
        assert_sound(&[7; 300], BOUNDS);
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            let n = 1 + (rng.next() % 120) as usize;
            let spread = 1 + rng.next() % [10, 1_000, 1 << 40][round % 3];
            let values: Vec<u64> = (0..n).map(|_| if rng.next() % 7 == 0 { 0 } else { rng.next() % spread }).collect();
            let bounds = Rect::new(0.0, 0.0, 1.0 + (rng.next() % 2000) as f64, 1.0 + (rng.next() % 2000) as f64);
            assert_sound(&values, bounds);
        }
    }

    #[test]
    fn the_classic_example_gives_the_papers_rows() {
        // Bruls et al.'s figure: 6 6 4 3 2 2 1 in a 6 × 4 rectangle.
        let tiles = squarify(&[6, 6, 4, 3, 2, 2, 1], Rect::new(0.0, 0.0, 6.0, 4.0));
        let close = |a: Rect, b: Rect| (a.x - b.x).abs() + (a.y - b.y).abs() + (a.w - b.w).abs() + (a.h - b.h).abs() < 1e-9;
        assert!(close(tiles[0], Rect::new(0.0, 0.0, 3.0, 2.0)), "{:?}", tiles[0]);
        assert!(close(tiles[1], Rect::new(0.0, 2.0, 3.0, 2.0)), "{:?}", tiles[1]);
        // Equal values come out as squares or close to them.
        for t in squarify(&[1; 16], Rect::new(0.0, 0.0, 400.0, 400.0)) {
            assert!((t.w / t.h).max(t.h / t.w) < 1.5, "{t:?}");
        }
    }

    #[test]
    fn zero_values_empty_input_and_odd_bounds_never_panic() {
        assert!(squarify(&[], BOUNDS).is_empty());
        assert!(squarify(&[0, 0, 0], BOUNDS).iter().all(|t| t.area() == 0.0));
        assert_sound(&[0, 3, 0, 1], BOUNDS);
        for bounds in
            [Rect::new(0.0, 0.0, 0.0, 10.0), Rect::new(0.0, 0.0, -5.0, 10.0), Rect::new(f64::NAN, 0.0, 10.0, 10.0), Rect::new(0.0, 0.0, f64::INFINITY, 1.0)]
        {
            let tiles = squarify(&[1, 2, 3], bounds);
            assert!(tiles.iter().all(|t| t.area() == 0.0 || t.area().is_nan()), "{bounds:?}: {tiles:?}");
        }
    }

    #[test]
    fn huge_values_and_huge_counts_stay_exact_enough() {
        assert_sound(&[u64::MAX, u64::MAX, u64::MAX, 1], BOUNDS);
        assert_sound(&[u64::MAX; 50], BOUNDS);
        // A level of 200 000 keys: linear time, every tile inside, areas proportional.
        let values: Vec<u64> = (0..200_000u64).map(|i| 1 + (i * 7919) % 10_000).collect();
        assert_sound(&values, BOUNDS);
        // One giant among many tiny ones: the tiny ones keep a (tiny) area, never a negative one.
        let mut values = vec![1u64; 100_000];
        values.push(1 << 50);
        assert_sound(&values, BOUNDS);
    }
}
