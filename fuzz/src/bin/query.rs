//! AFL entry point of the `query` target (see fuzz/src/targets/sql.rs and docs/fuzzing.md).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        etcdscope_fuzz::targets::sql::query(data);
    });
}
