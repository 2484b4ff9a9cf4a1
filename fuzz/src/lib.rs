//! etcdscope's fuzz targets. The targets themselves live in `targets/` (no AFL dependency) so
//! that the main crate's `tests/fuzz_replay.rs` replays every corpus and crash file through the
//! same code; `src/bin/<target>.rs` wraps each in `afl::fuzz!`.

pub mod targets;
